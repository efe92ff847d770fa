/** What the parts of a lane pass between them: a delivery held in memory, and one request out. */
import type { ParkedDelivery } from '../store/port.ts';

export type Settlement = 'delivered' | 'dead' | 'parked';

export interface MemoryDelivery extends ParkedDelivery {
  /** Called exactly once, when this delivery no longer needs its Kafka offset held. */
  onSettled: (how: Settlement) => void;
}

/** One request in flight. */
export interface Out {
  d: ParkedDelivery;
  /** Where its delivery lived when it went out: a memory queue, or a claimed head of the store. */
  from: 'memory' | 'store';
  /** A memory head being moved to the store meanwhile: resolves true once it belongs to the store. */
  moving: Promise<boolean> | null;
  /** Its shard went away: the answer changes nothing here. */
  dropped: boolean;
  startedAt: number;
}

/** The fields the store keeps (no callbacks). */
export function plain(d: ParkedDelivery): ParkedDelivery {
  return {
    deliveryId: d.deliveryId,
    eventId: d.eventId,
    customer: d.customer,
    shard: d.shard,
    orderingKey: d.orderingKey,
    body: d.body,
    commitTsMs: d.commitTsMs,
    attempts: d.attempts,
    lastError: d.lastError,
    firstSeenAt: d.firstSeenAt,
    label: d.label ?? null,
  };
}
