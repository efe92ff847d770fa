/**
 * What every decoded record becomes before routing (pure data): a Debezium change (`webhook.ts`) and an
 * outbox event (`outbox.ts`) alike. Routing reads `fields`; lanes send `body` as it is and keep
 * `orderingKey`'s deliveries in order.
 */
import type { Json } from '../intake/json.ts';

export interface Routable {
  /** The webhook id (`webhook-id` and the body's `id`): stable for the same change. */
  eventId: string;
  /** Deliveries with the same key (per customer) are sent one at a time, in record order: the package id. */
  orderingKey: string;
  /** Top-level fields the customers' `match` rules are checked against. */
  fields: Record<string, Json>;
  /** The exact bytes sent and signed. */
  body: string;
  /** When the change was committed at the source (ms since epoch), for end-to-end latency; null if unknown. */
  commitTsMs: number | null;
  /** The webhook `type`, e.g. `package_status.updated`, or an outbox `eventType`. */
  type: string;
  /** A short human label for logs and the console: the package status, or null. */
  label: string | null;
}
