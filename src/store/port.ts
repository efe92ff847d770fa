/**
 * The durable store of parked work: one port, two adapters (memory for tests and the demo, Redis in
 * production), one conformance suite (test/store/conformance.ts) that both pass. Lanes never touch Redis.
 *
 * Model, per customer and shard (a Kafka topic-partition):
 * - each package (ordering key) with parked work owns a FIFO list of deliveries in record order; only its
 *   head may be out, which keeps one package's statuses in order across retries, crashes and owners;
 * - a package is either due (its head may be claimed at a time: now, or a retry time) or claimed (its head
 *   is in the hands of the partition's owner). A claim ends only when the owner settles the head
 *   (complete / reschedule / release / dead) or when the next owner takes the partition over;
 * - **fencing**: every change to a shard's packages carries the owner's epoch. `takeOver` makes a new epoch
 *   (ending every claim of the previous owner); a write with an older epoch is refused (`StaleEpochError`)
 *   and changes nothing, so a previous owner can never put a stale head in front of the new owner's;
 * - a delivery id is parked at most once: parking or appending a delivery already there is a no-op (a
 *   record read again after a crash does not deliver twice what is parked).
 * Dead letters are kept per customer (bounded by count and age); poison messages globally (bounded).
 */
export interface ParkedDelivery {
  /** `<customer>/<event id>` (a replay adds a suffix): one delivery of one change to one customer. */
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
  /** The raw value, cut at `POISON_VALUE_MAX` bytes. */
  value: string | null;
  at: number;
}

/** The owner's handle on one shard of one customer: writes carry the epoch `takeOver` returned. */
export interface ShardRef {
  customer: string;
  shard: string;
  epoch: number;
}

/** One package moving from memory to the store, whole. */
export interface MovePackage {
  orderingKey: string;
  /** Its pending statuses in record order; `items[0]` is the head. */
  items: ParkedDelivery[];
  /** When the head may be claimed (now, or a retry time). Ignored when `headClaimed`. */
  dueAt: number;
  /** The head is in flight here: it becomes the package's head already claimed by this owner. */
  headClaimed: boolean;
}

export type SettleOp =
  | { op: 'complete'; delivery: ParkedDelivery }
  | { op: 'reschedule'; delivery: ParkedDelivery; dueAt: number }
  | { op: 'release'; delivery: ParkedDelivery; dueAt: number }
  | { op: 'dead'; delivery: ParkedDelivery; reason: string };

export interface ClaimResult {
  /** Heads of due packages, now claimed by this owner. */
  heads: ParkedDelivery[];
  /** When the next package of the shard becomes due (null: nothing more is due, or all is claimed). */
  nextDueAt: number | null;
}

export interface Durability {
  /** Redis `maxmemory-policy`; anything but `noeviction` can drop parked work silently. */
  evictionPolicy: string | null;
  aof: boolean | null;
  appendfsync: string | null;
}

export interface StoreLimits {
  deadLettersMax: number;
  deadLettersMaxAgeMs: number;
  poisonMax: number;
  poisonMaxAgeMs: number;
}

export const DEFAULT_LIMITS: StoreLimits = {
  deadLettersMax: 10_000,
  deadLettersMaxAgeMs: 30 * 24 * 3600_000,
  poisonMax: 10_000,
  poisonMaxAgeMs: 30 * 24 * 3600_000,
};

/** Told when bounded data was trimmed (kept as a metric). */
export type TrimListener = (what: 'dead_letter' | 'poison', count: number) => void;

export class StaleEpochError extends Error {
  readonly code = 'STALE_EPOCH';
  /** `ownerGeneration`: the consumer-group generation the current owner took over with (null: unknown). */
  constructor(
    readonly ref: ShardRef,
    readonly ownerGeneration: number | null,
  ) {
    super(`${ref.customer} ${ref.shard}: epoch ${ref.epoch} is no longer the owner's`);
  }
}

export interface RetryStore {
  /**
   * Become the shard's owner: a new epoch; the previous owner's claims end (their heads are due now).
   * `generation`: the consumer-group generation of the assignment (null when the source has none); it is
   * kept so that a fenced writer can tell an older owner from a newer one.
   */
  takeOver(
    customer: string,
    shard: string,
    now: number,
    generation: number | null,
  ): Promise<{ epoch: number; parked: number }>;
  /**
   * Move packages from memory to the store. Each package's items go in front of what its list already
   * holds (under the one-home rule it holds nothing). Deliveries already parked are skipped.
   */
  park(ref: ShardRef, packages: MovePackage[]): Promise<void>;
  /** Append each delivery to its package's list when the package has one; true = parked (or already was). */
  appendIfParked(ref: ShardRef, items: ParkedDelivery[]): Promise<boolean[]>;
  /** Claim the heads of up to `limit` packages due by `now`. */
  claim(ref: ShardRef, now: number, limit: number): Promise<ClaimResult>;
  /** Settle claimed heads; an op whose delivery is not the claimed head of its package does nothing. */
  settle(ref: ShardRef, ops: SettleOp[], now: number): Promise<void>;
  /** A delivery that was never parked goes straight to the dead letters. */
  addDeadLetter(ref: ShardRef, delivery: ParkedDelivery, reason: string, now: number): Promise<void>;
  /** Parked deliveries of a customer (all shards), or of one shard. */
  parkedCount(customer: string, shard?: string): Promise<number>;
  listDeadLetters(
    customer: string,
    offset: number,
    limit: number,
  ): Promise<{ total: number; items: DeadLetter[] }>;
  /**
   * Put dead letters back (the given ids, or the oldest `limit`), each as a package of its own in its
   * shard, due now, with a fresh attempt budget: atomically per call.
   */
  replayDeadLetters(
    customer: string,
    ids: string[] | null,
    now: number,
    limit: number,
  ): Promise<{ replayed: DeadLetter[]; remaining: number }>;
  /** Delete the given dead letters for good; returns how many there were. */
  discardDeadLetters(customer: string, ids: string[]): Promise<number>;
  recordPoison(record: PoisonRecord): Promise<void>;
  /** Poison messages, newest first. */
  listPoison(offset: number, limit: number): Promise<{ total: number; items: PoisonRecord[] }>;
  /** What a crash of the store could lose (read from its settings). */
  durability(): Promise<Durability>;
  /**
   * Report and renew this holder's share of a customer's limits (see `LimitsRequest`). With nothing stored
   * for the customer yet, the grant is min(want, concurrency) permits, a full bucket, a closed breaker.
   * Throws a clear error for a malformed request (and changes nothing).
   */
  syncLimits(req: LimitsRequest, now: number): Promise<LimitsGrant>;
  /** The holder stops (shutdown): its permits and any probe it held come back at once. */
  releaseLimits(customer: string, holder: string, now: number): Promise<void>;
  /** The operator pauses (with a reason) or resumes (null) a customer, for every holder. */
  setPaused(customer: string, paused: { reason: string | null; at: number } | null): Promise<void>;
  /** The customer's shared limits as they stand (for `/customers` and the console). */
  limitsView(customer: string, now: number): Promise<LimitsView>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const POISON_VALUE_MAX = 4 * 1024;

/** The package of a replayed dead letter: its own, so a replay never waits behind (or holds) newer work. */
export function replayed(letter: DeadLetter, now: number): ParkedDelivery {
  const d = letter.delivery;
  return {
    ...d,
    deliveryId: `${d.customer}/${d.eventId}/replay-${now}`,
    orderingKey: `replay:${d.eventId}:${now}`,
    attempts: 0,
    lastError: `replayed after: ${letter.reason}`,
  };
}

/**
 * Limits shared by the integrators of one group (README "Running several integrators"): a customer's
 * `concurrency`, `ratePerSecond`, breaker and operator pause are the customer's, not each process's.
 * Each process (a holder) calls `syncLimits` per customer: it reports what it uses and what it saw, and
 * gets what it may do until its next sync. One atomic step in the store per call; the decision itself is
 * pure (`store/limits.ts`), so the memory adapter and the Redis script decide identically.
 */
export interface LimitsRequest {
  customer: string;
  /** This process (unique per start). */
  holder: string;
  /** The holder's permits are kept this long after its last sync, then come back to the others. */
  leaseMs: number;
  /** The customer's limits, from this process's customers file. */
  concurrency: number;
  ratePerSecond: number | null;
  breaker: { threshold: number; volumeThreshold: number; windowMs: number; resetTimeoutMs: number };
  /** Permits the holder could use now: requests out + heads ready to go (at most `concurrency`). */
  want: number;
  /** Requests out now: the holder keeps at least these permits. */
  inUse: number;
  /** Rate tokens asked for now (0 without a rate limit or without ready heads). */
  tokens: number;
  /** Tokens granted earlier and not used (at most those): back into the bucket, up to its capacity. */
  unusedTokens: number;
  /**
   * Answers since the last sync that count for the breaker: endpoint failures, and the others (not the
   * probe's: that goes in `probe`). Added to the window together, the threshold checked once per sync;
   * ignored while the shared breaker is open or half-open.
   */
  failures: number;
  successes: number;
  /**
   * How the half-open probe this holder held ended, if it did. Only the probe's holder ends it: a report
   * from a holder that does not hold it (its lease ended, or it was released) changes nothing.
   */
  probe: 'ok' | 'failed' | 'abandoned' | null;
  /**
   * The holder has a head ready and would send the half-open probe. A holder granted the probe keeps it
   * until it reports how it ended; one that will not send it after all reports 'abandoned'.
   */
  wantProbe: boolean;
}

export interface LimitsGrant {
  /**
   * The holder may have this many requests out: ≥ its `inUse`; the holders' sum ≤ `concurrency` (after a
   * lowered `concurrency`, once the requests out above it have finished). While another holder is starved,
   * at most the fair share (concurrency ÷ holders that want permits, at least 1), or `inUse` if more.
   */
  permits: number;
  /** Rate tokens granted now (Infinity-free: without a rate limit it equals `tokens` asked). */
  tokens: number;
  /** When the bucket holds a token again, if fewer were granted than asked; else null. */
  nextTokenAt: number | null;
  /** The customer's breaker, shared. */
  breaker: 'closed' | 'half-open' | 'open';
  /** When an open breaker lets its probe through; null unless open. */
  reopensAt: number | null;
  /** This holder holds the half-open probe (at most one holder does). */
  probe: boolean;
  /** The operator's pause (kept in the store: it holds across processes and restarts). */
  paused: { reason: string | null; at: number } | null;
  /** Holders that have permits or want some, this one included (fair share = concurrency ÷ this). */
  holders: number;
}

export interface LimitsView {
  /** Live holders (lease not expired), by holder id: permits held and requests out, as last reported. */
  holders: { holder: string; permits: number; inUse: number; expiresAt: number }[];
  /** Tokens in the bucket now (null without a rate limit known to the store). */
  tokens: number | null;
  breaker: 'closed' | 'half-open' | 'open';
  paused: { reason: string | null; at: number } | null;
}
