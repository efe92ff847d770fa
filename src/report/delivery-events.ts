/**
 * What happens to changes and deliveries, as the pipeline and the lanes see it. The delivery log, package
 * tracking and the live stream are built from these events; the core never waits for their listeners.
 *
 * Listeners are called synchronously on the delivery path: they must only enqueue (bounded) and return.
 *
 * One delivery (customer × change) goes through:
 *
 *   accepted ─▶ sending(n) ─▶ attempted(n) ─┬─ delivered
 *      │            ▲                       ├─ dead (reason)
 *      │            └──── parked (why) ◀────┴─ (retry / slow / capacity / breaker_open / paused)
 *      └─ parked (capacity …)                replayed ─▶ sending … (an operator put a dead letter back)
 *
 * `dropped` = the partition moved to another integrator before the delivery was settled here; the new
 * owner reads it again (it is not lost, and not settled here).
 */
import type { AttemptResult } from '../delivery/outcome.ts';

export interface ChangeSeen {
  at: number;
  eventId: string;
  /** The ordering key: the package id. */
  packageId: string;
  type: string;
  /** The package status (`row.status`), or the outbox event type; null when there is none. */
  label: string | null;
  /** Commit time at the source (ms since epoch), or null. */
  occurredAt: number | null;
  source: { topic: string; partition: number; offset: string };
  /** Customers it was routed to (none is possible). */
  customers: string[];
  /** The webhook body (exact JSON text). Parse off the hot path only. */
  body: string;
}

export interface DeliveryRef {
  at: number;
  customer: string;
  eventId: string;
  packageId: string;
  label: string | null;
}

/**
 * retry: waiting for its next attempt · slow: the customer did not answer (or the lane could not send it)
 * within PARK_AFTER_MS · capacity: more than the lane can send in time · breaker_open · paused ·
 * behind: its package already had parked work, it waits behind it.
 */
export type ParkReason = 'retry' | 'slow' | 'capacity' | 'breaker_open' | 'paused' | 'behind';

export type DeliveryStep =
  | { kind: 'accepted' }
  | { kind: 'sending'; attempt: number }
  | {
      kind: 'attempted';
      attempt: number;
      result: AttemptResult;
      httpStatus: number | null;
      durationMs: number;
      detail: string;
    }
  | { kind: 'parked'; why: ParkReason; dueAt: number | null }
  | { kind: 'delivered'; attempts: number; endToEndMs: number | null }
  | { kind: 'dead'; attempts: number; reason: string }
  | { kind: 'replayed' }
  | { kind: 'discarded' }
  | { kind: 'dropped' };

export type DeliveryEvent = DeliveryRef & DeliveryStep;

export interface DeliveryObserver {
  change(e: ChangeSeen): void;
  delivery(e: DeliveryEvent): void;
}

export const NO_OBSERVER: DeliveryObserver = { change() {}, delivery() {} };

/** Several observers as one; a listener that throws never reaches the delivery path. */
export function fanOut(observers: DeliveryObserver[], onError: (err: unknown) => void): DeliveryObserver {
  if (observers.length === 0) return NO_OBSERVER;
  return {
    change(e) {
      for (const o of observers) {
        try {
          o.change(e);
        } catch (err) {
          onError(err);
        }
      }
    },
    delivery(e) {
      for (const o of observers) {
        try {
          o.delivery(e);
        } catch (err) {
          onError(err);
        }
      }
    },
  };
}
