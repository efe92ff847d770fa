/**
 * An in-process `Source` (the port kafka-source.ts implements with KafkaJS): a topic of N partitions held
 * in memory, for the demo and for tests that want the real intake path (decoder, pipeline, offset
 * tracking) without a broker.
 *
 * It behaves like the Kafka consumer the integrator expects:
 * - `publish()` appends a record to the partition Kafka's default partitioner would pick: murmur2 of the
 *   key bytes, positive, modulo the partition count (the Java client's and KafkaJS's DefaultPartitioner),
 *   so the same key always lands in the same partition, in publish order. A null key goes round-robin.
 * - `start()` reports the whole assignment (`onAssignment`), then hands each partition's records to
 *   `onBatch` in offset order, one batch at a time per partition (partitions run concurrently).
 * - The next batch starts after the last offset the handler resolved (`ctx.resolveOffset`), like KafkaJS
 *   with `eachBatchAutoResolve: false`: records not resolved are fetched again. A handler that throws is
 *   retried from there after `retryDelayMs`.
 * - `commit()` only records offsets ("next offset to read", Kafka's convention); `committed()` and
 *   `commitLog()` expose them. Records below both the committed offset and the fetch position are dropped.
 * - `pause()` stops fetching (the batch under way finishes), `resume()` fetches again, `stop()` ends for good
 *   (`ctx.isRunning()` turns false, running batches are awaited).
 */
import type { BatchContext, Source, SourceHandlers, SourceRecord } from './source.ts';

export const DEFAULT_MEMORY_TOPIC = 'dbserver1.public.package_status';

export interface MemorySourceOptions {
  /** Default `dbserver1.public.package_status`. */
  topic?: string;
  /** Default 1. */
  partitions?: number;
  /** Most records handed to one `onBatch`. Default 500. */
  maxBatchSize?: number;
  /** Wait before fetching again after a handler threw or resolved nothing. Default 100 ms. */
  retryDelayMs?: number;
  /** Told about every handler failure (the batch is retried). */
  onError?: (err: unknown, where: { topic: string; partition: number }) => void;
}

export interface PublishInput {
  key: string | Buffer | null;
  value: string | Buffer | null;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

interface PartitionLog {
  readonly partition: number;
  /** records[i] has offset `base + i`. */
  records: SourceRecord[];
  base: number;
  /** Log end: the offset the next published record gets. */
  end: number;
  /** Next offset to fetch. */
  position: number;
  committed: number | null;
  running: Promise<void> | null;
  scheduled: boolean;
  retryTimer: NodeJS.Timeout | null;
  /** Bumped by `rewind`: a batch handed out before it no longer moves the fetch position. */
  epoch: number;
}

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit integer. */
export function murmur2(data: Buffer): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey(key: Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

function toBuffer(b: string | Buffer | null): Buffer | null {
  if (b === null) return null;
  return typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
}

export class MemorySource implements Source {
  readonly topic: string;
  readonly partitions: number;
  private readonly maxBatchSize: number;
  private readonly retryDelayMs: number;
  private readonly onError: MemorySourceOptions['onError'];
  private readonly logs: PartitionLog[];
  private readonly history: TopicPartitionOffset[][] = [];
  private handlers: SourceHandlers | null = null;
  private roundRobin = 0;
  private paused = false;
  private stopped = false;

  constructor(opts: MemorySourceOptions = {}) {
    this.topic = opts.topic ?? DEFAULT_MEMORY_TOPIC;
    this.partitions = opts.partitions ?? 1;
    if (!Number.isInteger(this.partitions) || this.partitions < 1) {
      throw new RangeError(`partitions must be a positive integer, got ${opts.partitions}`);
    }
    this.maxBatchSize = opts.maxBatchSize ?? 500;
    if (!Number.isInteger(this.maxBatchSize) || this.maxBatchSize < 1) {
      throw new RangeError(`maxBatchSize must be a positive integer, got ${opts.maxBatchSize}`);
    }
    this.retryDelayMs = opts.retryDelayMs ?? 100;
    this.onError = opts.onError;
    this.logs = Array.from({ length: this.partitions }, (_, partition) => ({
      partition,
      records: [],
      base: 0,
      end: 0,
      position: 0,
      committed: null,
      running: null,
      scheduled: false,
      retryTimer: null,
      epoch: 0,
    }));
  }

  /** The partition a record with this key goes to (null key: the next round-robin partition). */
  partitionFor(key: string | Buffer | null): number {
    const bytes = toBuffer(key);
    if (bytes === null) {
      const p = this.roundRobin % this.partitions;
      this.roundRobin = (this.roundRobin + 1) % this.partitions;
      return p;
    }
    return partitionForKey(bytes, this.partitions);
  }

  /** Append a record (as a producer would); it is fetched as soon as its partition is free. */
  publish(record: PublishInput): TopicPartitionOffset {
    const log = this.logs[this.partitionFor(record.key)]!;
    const offset = log.end;
    log.records.push({
      topic: this.topic,
      partition: log.partition,
      offset: String(offset),
      key: toBuffer(record.key),
      value: toBuffer(record.value),
    });
    log.end += 1;
    this.schedule(log);
    return { topic: this.topic, partition: log.partition, offset: String(offset) };
  }

  async start(handlers: SourceHandlers): Promise<void> {
    if (this.handlers) throw new Error('memory source already started');
    if (this.stopped) throw new Error('memory source stopped');
    await handlers.onAssignment(this.logs.map((l) => ({ topic: this.topic, partition: l.partition })));
    this.handlers = handlers;
    for (const log of this.logs) this.schedule(log);
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    for (const o of offsets) {
      const log = o.topic === this.topic ? this.logs[o.partition] : undefined;
      if (!log) throw new RangeError(`unknown topic-partition ${o.topic}/${o.partition}`);
      const n = Number(o.offset);
      if (!/^\d+$/.test(o.offset) || !Number.isSafeInteger(n) || n > log.end) {
        throw new RangeError(`offset ${o.offset} is not within ${o.topic}/${o.partition} [0, ${log.end}]`);
      }
    }
    if (offsets.length === 0) return;
    this.history.push(offsets.map((o) => ({ ...o })));
    for (const o of offsets) {
      const log = this.logs[o.partition]!;
      log.committed = Number(o.offset);
      this.trim(log);
    }
  }

  async rewind(tp: { topic: string; partition: number }): Promise<void> {
    const log = tp.topic === this.topic ? this.logs[tp.partition] : undefined;
    if (!log) throw new RangeError(`unknown topic-partition ${tp.topic}/${tp.partition}`);
    log.epoch += 1;
    log.position = log.committed ?? 0;
    this.schedule(log);
  }

  async ping(_timeoutMs: number): Promise<void> {
    if (this.stopped) throw new Error('memory source stopped');
  }

  pause(): void {
    this.paused = true;
  }

  /** Fetch again after `pause()` (not part of the port; KafkaJS has its own `resume`). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const log of this.logs) this.schedule(log);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const log of this.logs) {
      if (log.retryTimer) clearTimeout(log.retryTimer);
      log.retryTimer = null;
    }
    await Promise.all(this.logs.map((l) => l.running));
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** The last committed offset of every partition that has one. */
  committed(): TopicPartitionOffset[] {
    return this.logs
      .filter((l) => l.committed !== null)
      .map((l) => ({ topic: this.topic, partition: l.partition, offset: String(l.committed) }));
  }

  /** Every `commit()` call's offsets, oldest first. */
  commitLog(): readonly TopicPartitionOffset[][] {
    return this.history;
  }

  /** Per partition: log end (next offset to assign) and fetch position (next offset to hand out). */
  partitionStates(): { partition: number; end: string; position: string; committed: string | null }[] {
    return this.logs.map((l) => ({
      partition: l.partition,
      end: String(l.end),
      position: String(l.position),
      committed: l.committed === null ? null : String(l.committed),
    }));
  }

  /** Records published but not yet resolved by the handler, over all partitions. */
  get lag(): number {
    return this.logs.reduce((sum, l) => sum + (l.end - l.position), 0);
  }

  /** Records still held in memory (fetched-and-committed ones are dropped in chunks). */
  get retained(): number {
    return this.logs.reduce((sum, l) => sum + l.records.length, 0);
  }

  private canFetch(log: PartitionLog): boolean {
    return (
      this.handlers !== null &&
      !this.paused &&
      !this.stopped &&
      log.running === null &&
      log.retryTimer === null &&
      log.position < log.end
    );
  }

  /** Fetch on a later turn, so `publish()` never runs the handler inside the caller's stack. */
  private schedule(log: PartitionLog): void {
    if (log.scheduled || !this.canFetch(log)) return;
    log.scheduled = true;
    setImmediate(() => {
      log.scheduled = false;
      this.fetch(log);
    });
  }

  private fetch(log: PartitionLog): void {
    if (!this.canFetch(log)) return;
    const handlers = this.handlers!;
    const from = log.position - log.base;
    const batch = log.records.slice(from, from + this.maxBatchSize);
    const first = log.position;
    const last = first + batch.length - 1;
    let resolved: number | null = null;
    const ctx: BatchContext = {
      topic: this.topic,
      partition: log.partition,
      heartbeat: async () => {},
      isRunning: () => !this.stopped,
      resolveOffset: (offset) => {
        const n = Number(offset);
        if (Number.isSafeInteger(n) && n >= first && n <= last && (resolved === null || n > resolved)) {
          resolved = n;
        }
      },
    };
    let failed = false;
    const epoch = log.epoch;
    log.running = (async () => {
      try {
        await handlers.onBatch(batch, ctx);
      } catch (err) {
        failed = true;
        this.onError?.(err, { topic: this.topic, partition: log.partition });
      }
    })().then(() => {
      log.running = null;
      const current = epoch === log.epoch;
      const progressed = resolved !== null || !current;
      if (resolved !== null && current) log.position = resolved + 1;
      this.trim(log);
      if (this.stopped) return;
      if (failed || !progressed) {
        log.retryTimer = setTimeout(() => {
          log.retryTimer = null;
          this.schedule(log);
        }, this.retryDelayMs);
        return;
      }
      this.schedule(log);
    });
  }

  /** Drop records that are both fetched and committed: nothing will read them again. */
  private trim(log: PartitionLog): void {
    const upTo = Math.min(log.position, log.committed ?? 0);
    if (upTo - log.base > 1024 && log.running === null) {
      log.records.splice(0, upTo - log.base);
      log.base = upTo;
    }
  }
}
