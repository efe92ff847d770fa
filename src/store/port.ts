/**
 * The durable retry/park store: one port, two adapters (memory for tests and the demo, Redis in
 * production), one conformance suite (test/store/conformance.ts) that both must pass. Lanes never touch
 * Redis directly.
 *
 * Model, per customer and shard (a Kafka topic-partition):
 *   - each package (ordering key) that has parked work owns a FIFO list of deliveries; only its head may be
 *     in flight, which is what keeps one package's statuses in order across retries and restarts;
 *   - a due-queue orders packages by the time their head may be tried again (now, or a retry time);
 *   - claiming a head leases it (its package leaves the due-queue until the lease ends), so a crashed
 *     claimer's work becomes due again by itself after the lease;
 *   - a head is settled by exactly one of complete / reschedule / release / deadLetter, each of which is a
 *     no-op when the head is no longer the one claimed (a duplicate claimer lost the race).
 * Dead letters are kept per customer with their reason until replayed. Poison messages are kept, capped.
 */
export interface ParkedDelivery {
  /** `<customer>/<event id>`: one delivery of one change to one customer. */
  deliveryId: string;
  eventId: string;
  customer: string;
  /** `<topic>:<partition>` the change came from. */
  shard: string;
  /** The package id: deliveries with the same key are sent one at a time, in order. */
  orderingKey: string;
  body: string;
  /** Commit time of the change in the database, for end-to-end latency. */
  commitTsMs: number | null;
  /** Attempts made so far. */
  attempts: number;
  lastError: string | null;
  firstSeenAt: number;
  /** A short label for logs and the console (the package status), or null. */
  label?: string | null;
}

export interface DeadLetter {
  id: string;
  delivery: ParkedDelivery;
  reason: string;
  deadAt: number;
}

export interface PoisonRecord {
  topic: string;
  partition: number;
  offset: string;
  reason: string;
  key: string | null;
  /** The raw value, cut at 64 KiB. */
  value: string | null;
  at: number;
}

export interface ParkItem {
  delivery: ParkedDelivery;
  /** When its package becomes due, if this item starts a new package list. */
  dueAt: number;
  /**
   * With `front` only: the item is in flight right now. It becomes its package's head already claimed,
   * leased until `dueAt`, and is settled later through complete / reschedule / deadLetterHead like any
   * claimed head. This is how a long request stops holding the Kafka commit point.
   */
  leased?: boolean;
}

export interface RetryStore {
  /**
   * Append to the tail of each item's package list, in the order given; a package that had no list becomes
   * due at its first item's `dueAt`. With `front`, the items go before what the package already has (still
   * in the order given) and the package becomes due at its first item's `dueAt`: used when work that was in
   * memory (older than anything parked for its package) has to move to the store.
   */
  park(items: ParkItem[], opts?: { front?: boolean }): Promise<void>;
  /** Append each delivery whose package already has parked work; says which were appended. */
  appendIfParked(items: ParkedDelivery[], now: number): Promise<boolean[]>;
  /** Heads of up to `limit` due, unleased packages of one shard, leased until `now + leaseMs`. */
  claimDue(
    customer: string,
    shard: string,
    now: number,
    limit: number,
    leaseMs: number,
  ): Promise<ParkedDelivery[]>;
  /** The head was delivered: remove it; the package's next delivery (if any) is due now. */
  complete(delivery: ParkedDelivery, now: number): Promise<void>;
  /** The head failed and will be retried: store its new attempt count / error, due at `dueAt`. */
  reschedule(delivery: ParkedDelivery, dueAt: number): Promise<void>;
  /** Give the claim back without an attempt (breaker open, paused, shutting down). */
  release(delivery: ParkedDelivery, dueAt: number): Promise<void>;
  /** The head is dead: move it to the customer's dead letters; the package's next delivery is due now. */
  deadLetterHead(delivery: ParkedDelivery, reason: string, now: number): Promise<void>;
  /** A delivery that never was parked goes straight to the dead letters. */
  addDeadLetter(delivery: ParkedDelivery, reason: string, now: number): Promise<void>;
  /** Take over a shard (partition assigned): leases of a previous owner end now. */
  takeOver(customer: string, shard: string, now: number): Promise<void>;
  /** Parked deliveries of a customer (all shards), or of one shard. */
  parkedCount(customer: string, shard?: string): Promise<number>;
  listDeadLetters(
    customer: string,
    offset: number,
    limit: number,
  ): Promise<{ total: number; items: DeadLetter[] }>;
  /** Remove dead letters (all, or the given ids) and return them, for replay. */
  takeDeadLetters(customer: string, ids?: string[]): Promise<DeadLetter[]>;
  /** Delete the given dead letters for good; returns how many there were. */
  discardDeadLetters(customer: string, ids: string[]): Promise<number>;
  recordPoison(record: PoisonRecord): Promise<void>;
  /** Poison messages, newest first. */
  listPoison(offset: number, limit: number): Promise<{ total: number; items: PoisonRecord[] }>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const POISON_KEEP = 10_000;
export const POISON_VALUE_MAX = 64 * 1024;
