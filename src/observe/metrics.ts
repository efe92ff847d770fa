/** Prometheus metrics, names and labels as the README's "Reading the metrics" lists them. One registry per integrator instance. */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { FastHistogram } from './fast-histogram.ts';

// Dense where webhook latencies live (tens to hundreds of ms), then up to 5 minutes for slow customers.
const LATENCY_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10,
  15, 20, 30, 45, 60, 90, 120, 300,
];

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'integrator_' });
  const registers = [registry];
  /** Gauges kept by their owners as plain numbers and read when scraped (not set on every delivery). */
  const beforeScrape = new Set<() => void>();
  const refresh = (): void => {
    for (const f of beforeScrape) f();
  };
  return {
    registry,
    beforeScrape,
    eventsConsumed: new Counter({
      name: 'integrator_events_consumed_total',
      help: 'Kafka records consumed (every record, including ignored and poison ones).',
      labelNames: ['topic'],
      registers,
    }),
    eventsIgnored: new Counter({
      name: 'integrator_events_ignored_total',
      help: 'Records skipped on purpose: tombstones, heartbeats, transaction metadata, truncates.',
      labelNames: ['topic', 'reason'],
      registers,
    }),
    eventsUnrouted: new Counter({
      name: 'integrator_events_unrouted_total',
      help: 'Changes that matched no customer (decoded, routed to nobody).',
      labelNames: ['topic'],
      registers,
    }),
    poison: new Counter({
      name: 'integrator_poison_messages_total',
      help: 'Records that could not be decoded: recorded with their reason and skipped.',
      labelNames: ['topic', 'reason'],
      registers,
    }),
    deliveries: new Counter({
      name: 'integrator_deliveries_total',
      help: 'Deliveries settled for good.',
      labelNames: ['customer', 'outcome'],
      registers,
    }),
    attempts: new Counter({
      name: 'integrator_delivery_attempts_total',
      help: 'HTTP attempts (and breaker rejections) by result.',
      labelNames: ['customer', 'result'],
      registers,
    }),
    attemptDuration: new FastHistogram(
      'integrator_attempt_duration_seconds',
      'Duration of one HTTP attempt.',
      'customer',
      LATENCY_BUCKETS,
      registers,
    ),
    endToEnd: new FastHistogram(
      'integrator_end_to_end_seconds',
      "From the change's commit in the database (source.ts_ms) to the customer's 2xx.",
      'customer',
      LATENCY_BUCKETS,
      registers,
    ),
    eventLoopUtilization: new Gauge({
      name: 'integrator_event_loop_utilization',
      help: 'Share of the last second the event loop was busy; at 0.9 and above the integrator is the bottleneck and lanes keep a healthy backlog in Kafka.',
      registers,
    }),
    inflight: new Gauge({
      name: 'integrator_inflight_requests',
      help: 'HTTP requests in flight.',
      labelNames: ['customer'],
      registers,
      collect: refresh,
    }),
    pending: new Gauge({
      name: 'integrator_pending_deliveries',
      help: 'Deliveries accepted and not yet settled (in memory).',
      labelNames: ['customer'],
      registers,
      collect: refresh,
    }),
    retryQueueDepth: new Gauge({
      name: 'integrator_retry_queue_depth',
      help: 'Deliveries parked durably (waiting for a retry or for capacity).',
      labelNames: ['customer'],
      registers,
    }),
    circuitState: new Gauge({
      name: 'integrator_circuit_state',
      help: 'Circuit breaker: 0 closed, 1 half-open, 2 open.',
      labelNames: ['customer'],
      registers,
    }),
    uncommitted: new Gauge({
      name: 'integrator_uncommitted_messages',
      help: 'Records fetched whose deliveries are not all settled yet (commit point lag).',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    storeErrors: new Counter({
      name: 'integrator_store_errors_total',
      help: 'Store calls that failed (the work is kept and the call retried), by operation.',
      labelNames: ['op'],
      registers,
    }),
    trimmed: new Counter({
      name: 'integrator_store_trimmed_total',
      help: 'Dead letters and poison messages removed to keep them within their bounds (count and age).',
      labelNames: ['what'],
      registers,
    }),
    fenced: new Counter({
      name: 'integrator_partitions_fenced_total',
      help: 'Partitions whose store writes were refused because another integrator took them over.',
      registers,
    }),
    parked: new Counter({
      name: 'integrator_deliveries_parked_total',
      help: 'Deliveries moved to the store, by customer and why (retry, slow, capacity, breaker_open, paused, behind).',
      labelNames: ['customer', 'reason'],
      registers,
    }),
    limitSyncs: new Counter({
      name: 'integrator_limits_syncs_total',
      help: "Store round trips for a customer's shared limits (lease renewals and on-demand syncs).",
      labelNames: ['customer'],
      registers,
    }),
    permitsHeld: new Gauge({
      name: 'integrator_limits_permits',
      help: "Permits this integrator holds of the customer's concurrency (shared by the group's integrators).",
      labelNames: ['customer'],
      registers,
    }),
    commits: new Counter({
      name: 'integrator_offset_commits_total',
      help: 'Offset commits by result.',
      labelNames: ['result'],
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
