/** Prometheus metrics of one mock-customers instance (own registry: several instances may share a process). */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How a webhook request ended, as the `result` label says it. */
export type RequestResult =
  | 'ok'
  | 'duplicate'
  | 'invalid_signature'
  | 'malformed'
  | 'rate_limited'
  | 'reset'
  | 'hang'
  | 'error'
  | 'gone'
  | 'abandoned';

export interface MockMetrics {
  registry: Registry;
  requests: Counter<'customer' | 'result'>;
  responseSeconds: Histogram<'customer' | 'result'>;
  outOfOrder: Counter<'customer'>;
  openRequests: Gauge<'customer'>;
}

export function createMetrics(): MockMetrics {
  const registry = new Registry();
  return {
    registry,
    requests: new Counter({
      name: 'mock_customer_requests_total',
      help: 'Webhook requests by how they ended (ok = first 2xx of an event id, duplicate = a later 2xx).',
      labelNames: ['customer', 'result'],
      registers: [registry],
    }),
    responseSeconds: new Histogram({
      name: 'mock_customer_response_seconds',
      help: 'Time the mock spent answering a webhook request (arrival to response written).',
      labelNames: ['customer', 'result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    outOfOrder: new Counter({
      name: 'mock_customer_out_of_order_total',
      help: 'First deliveries that arrived after a newer change of the same package.',
      labelNames: ['customer'],
      registers: [registry],
    }),
    openRequests: new Gauge({
      name: 'mock_customer_open_requests',
      help: 'Webhook requests currently open (waiting out latency or hanging).',
      labelNames: ['customer'],
      registers: [registry],
    }),
  };
}
