/**
 * The source port: where records come from. The Kafka adapter (`kafka-source.ts`) and the in-process
 * `MemorySource` (demo, tests, the simulation) implement it; the pipeline never sees a Kafka client.
 *
 * What the pipeline relies on:
 * - `onBatch` gets one partition's records in offset order, never two batches of one partition at once;
 *   the next batch starts after the last offset passed to `ctx.resolveOffset` (records not resolved are
 *   handed out again). Awaiting inside `onBatch` is how the pipeline holds back fetching (back-pressure).
 * - `onAssignment` gets the full assignment after every rebalance, before any record of a new partition.
 * - `onRevoking` (when the client can) is awaited before partitions are given up; the pipeline stops
 *   sending their work there. Clients without such a hook report the loss through the next `onAssignment`.
 * - Nothing is committed but what `commit` is told; `rewind` reads a partition again from its committed
 *   offset (used when the store says another member now owns it, see `pipeline.ts`).
 */
export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Kafka record headers (the outbox EventRouter puts the event id in `id`). Absent = none. */
  headers?: Record<string, Buffer | string | undefined>;
  /** The record's timestamp (ms since epoch, as text), when the client reports it. */
  timestamp?: string;
}

export interface BatchContext {
  topic: string;
  partition: number;
  /** Keep group membership alive during long waits (e.g. a store outage, back-pressure). */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or the batch went stale (rebalance). */
  isRunning(): boolean;
  /** Tell the client this record is in our hands, so the next fetch starts after it. Not a commit. */
  resolveOffset(offset: string): void;
}

export interface AssignmentInfo {
  /** The consumer group generation this assignment belongs to, when the client reports it. */
  generation?: number;
}

export interface SourceHandlers {
  onBatch(records: SourceRecord[], ctx: BatchContext): Promise<void>;
  /** The full assignment after a (re)join. */
  onAssignment(assigned: TopicPartition[], info?: AssignmentInfo): Promise<void>;
  /** Partitions about to be given up; awaited before the client lets them go (clients that can). */
  onRevoking?(revoked: TopicPartition[]): Promise<void>;
  /** The group started rebalancing: partitions may move; an assignment follows. */
  onRebalancing?(): void;
  /** The consumer stopped for good (a non-retriable error): the process should exit and be restarted. */
  onFatal?(err: Error): void;
}

/**
 * A commit the broker refused because the group is rebalancing or the member's generation has ended. It
 * tells of a rebalance that is under way, or that has already ended if an assignment arrived since the
 * commit was sent (the answer travels behind it).
 */
export class RebalanceRefusal extends Error {
  override readonly name = 'RebalanceRefusal';
}

export interface Source {
  start(handlers: SourceHandlers): Promise<void>;
  commit(offsets: (TopicPartition & { offset: string })[]): Promise<void>;
  /** Fetch this partition again from its committed offset (the records after it are handed out again). */
  rewind(tp: TopicPartition): Promise<void>;
  ping(timeoutMs: number): Promise<void>;
  /** Stop fetching; batches under way finish; membership and commits still work. */
  pause(): void;
  stop(): Promise<void>;
}
