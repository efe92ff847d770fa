/**
 * A simulated Kafka: one topic of N partitions, a consumer group with generations, committed offsets, and
 * members that behave like real clients under faults:
 * - a rebalance bumps the generation and reassigns partitions round-robin; each member hears of it after
 *   its own delay, and until then keeps fetching what it had (a stale owner — real brokers let a member
 *   whose session is over go on fetching); commits from an old generation or for a partition the member no
 *   longer owns are refused, as a real coordinator refuses them; the coordinator's answer reaches the
 *   member after a delay, so a refusal for a rebalance may arrive after the assignment that ended it;
 * - a member that crashes leaves the group only after the session timeout (nobody told the broker).
 */
import type { Clock } from '../../src/clock.ts';
import { RebalanceRefusal } from '../../src/intake/source.ts';
import type {
  BatchContext,
  Source,
  SourceHandlers,
  SourceRecord,
  TopicPartition,
} from '../../src/intake/source.ts';

export const TOPIC = 'dbserver1.public.package_status';

interface Rec {
  key: Buffer;
  value: Buffer;
}

export class SimBroker {
  readonly logs: Rec[][];
  readonly committed: number[];
  generation = 0;
  private readonly members: SimConsumer[] = [];
  private assignment = new Map<SimConsumer, number[]>();
  private waiters: (() => void)[][];

  constructor(
    readonly clock: Clock,
    readonly partitions: number,
    private readonly onRebalance: (generation: number) => void = () => {},
  ) {
    this.logs = Array.from({ length: partitions }, () => []);
    this.committed = new Array<number>(partitions).fill(0);
    this.waiters = Array.from({ length: partitions }, () => []);
  }

  produce(partition: number, key: string, value: string): number {
    const log = this.logs[partition]!;
    log.push({ key: Buffer.from(key), value: Buffer.from(value) });
    const w = this.waiters[partition]!;
    this.waiters[partition] = [];
    for (const f of w) f();
    return log.length - 1;
  }

  read(partition: number, from: number, max: number): SourceRecord[] {
    return this.logs[partition]!.slice(from, from + max).map((r, i) => ({
      topic: TOPIC,
      partition,
      offset: String(from + i),
      key: r.key,
      value: r.value,
    }));
  }

  /** Resolve when something is produced to `partition`. */
  wait(partition: number, fn: () => void): void {
    this.waiters[partition]!.push(fn);
  }

  join(m: SimConsumer): void {
    this.members.push(m);
    this.rebalance();
  }

  leave(m: SimConsumer): void {
    const i = this.members.indexOf(m);
    if (i < 0) return;
    this.members.splice(i, 1);
    this.rebalance();
  }

  owner(partition: number): SimConsumer | null {
    for (const [m, ps] of this.assignment) if (ps.includes(partition)) return m;
    return null;
  }

  private rebalance(): void {
    this.generation += 1;
    const gen = this.generation;
    this.assignment = new Map(this.members.map((m) => [m, [] as number[]]));
    for (let p = 0; p < this.partitions; p++) {
      const m = this.members[p % Math.max(1, this.members.length)];
      if (m) this.assignment.get(m)!.push(p);
    }
    this.onRebalance(gen);
    for (const [m, ps] of this.assignment) m.rebalanced(gen, ps);
  }

  commit(m: SimConsumer, generation: number, offsets: (TopicPartition & { offset: string })[]): void {
    if (generation !== this.generation) throw new RebalanceRefusal('ILLEGAL_GENERATION');
    const mine = this.assignment.get(m) ?? [];
    for (const o of offsets)
      if (!mine.includes(o.partition)) throw new Error('NOT_COORDINATOR_FOR_PARTITION');
    for (const o of offsets)
      this.committed[o.partition] = Math.max(this.committed[o.partition]!, Number(o.offset));
  }
}

export interface ConsumerOptions {
  /** How long this member takes to hear of a rebalance (it fetches what it had meanwhile). */
  noticeMs: () => number;
  /** Records per batch. */
  maxBatch: number;
  /** The client offers an awaited revoke hook (a cooperative client) — else only the next assignment says. */
  revokeHook: boolean;
  /** The client reports the group generation with an assignment (KafkaJS-like) or not (Confluent's). */
  generations: boolean;
  /** Told about every record handed to the pipeline while this member is stale (its work may be duplicated). */
  onStaleFetch: (partition: number, offset: number) => void;
}

interface Fetcher {
  partition: number;
  position: number;
  running: boolean;
  epoch: number;
}

export class SimConsumer implements Source {
  private handlers: SourceHandlers | null = null;
  private assigned: number[] = [];
  private generation = 0;
  /** The newest generation the broker has made that this member has not processed yet. */
  private pendingGeneration = 0;
  private readonly fetchers = new Map<number, Fetcher>();
  private stopped = false;
  private paused = false;
  private applying = 0;

  constructor(
    private readonly broker: SimBroker,
    private readonly clock: Clock,
    private readonly opts: ConsumerOptions,
  ) {}

  get stale(): boolean {
    return this.pendingGeneration > this.generation;
  }

  async start(handlers: SourceHandlers): Promise<void> {
    this.handlers = handlers;
    this.broker.join(this);
  }

  /** The broker made a new generation; this member hears of it after its notice delay. */
  rebalanced(generation: number, partitions: number[]): void {
    this.pendingGeneration = generation;
    const delay = this.generation === 0 ? 0 : this.opts.noticeMs();
    this.clock.after(delay, () => void this.apply(generation, partitions));
  }

  /**
   * In the group's current generation with its assignment handled: no rebalance is under way for this
   * member, so nothing should hold its lanes.
   */
  get settledInGroup(): boolean {
    return !this.stopped && this.generation > 0 && !this.stale && this.applying === 0;
  }

  private async apply(generation: number, partitions: number[]): Promise<void> {
    this.applying += 1;
    try {
      await this.applyNow(generation, partitions);
    } finally {
      this.applying -= 1;
    }
  }

  private async applyNow(generation: number, partitions: number[]): Promise<void> {
    if (this.stopped || generation !== this.broker.generation || !this.handlers) return;
    this.handlers.onRebalancing?.();
    const revoked = this.assigned.filter((p) => !partitions.includes(p));
    // Like a real client: a partition being revoked is not fetched any more, and when it comes back it is
    // fetched again from its committed offset.
    for (const p of revoked) this.fetchers.delete(p);
    this.assigned = this.assigned.filter((p) => partitions.includes(p));
    if (this.opts.revokeHook && revoked.length > 0)
      await this.handlers.onRevoking?.(revoked.map((partition) => ({ topic: this.topic, partition })));
    if (this.stopped || generation !== this.broker.generation) return;
    this.generation = generation;
    this.assigned = partitions;
    await this.handlers.onAssignment(
      partitions.map((partition) => ({ topic: this.topic, partition })),
      this.opts.generations ? { generation } : {},
    );
    // A newer assignment may have come while this one was handled: fetch only for the current one.
    if (this.stopped || generation !== this.generation) return;
    for (const p of partitions) {
      if (this.fetchers.has(p)) continue;
      const f: Fetcher = { partition: p, position: this.broker.committed[p]!, running: false, epoch: 0 };
      this.fetchers.set(p, f);
      this.fetch(f);
    }
  }

  private get topic(): string {
    return TOPIC;
  }

  private fetch(f: Fetcher): void {
    if (this.stopped || this.paused || f.running || this.fetchers.get(f.partition) !== f) return;
    const records = this.broker.read(f.partition, f.position, this.opts.maxBatch);
    if (records.length === 0) {
      this.broker.wait(f.partition, () => this.clock.after(1, () => this.fetch(f)));
      return;
    }
    if (this.stale) for (const r of records) this.opts.onStaleFetch(f.partition, Number(r.offset));
    f.running = true;
    const epoch = f.epoch;
    let resolved = -1;
    const ctx: BatchContext = {
      topic: this.topic,
      partition: f.partition,
      heartbeat: async () => {},
      isRunning: () => !this.stopped && this.fetchers.get(f.partition) === f && f.epoch === epoch,
      resolveOffset: (o) => {
        resolved = Math.max(resolved, Number(o));
      },
    };
    void this.handlers!.onBatch(records, ctx).then(
      () => this.fetched(f, epoch, resolved),
      () => this.fetched(f, epoch, resolved),
    );
  }

  private fetched(f: Fetcher, epoch: number, resolved: number): void {
    f.running = false;
    if (f.epoch === epoch && resolved >= f.position) f.position = resolved + 1;
    this.clock.after(resolved >= 0 ? 1 : 20, () => this.fetch(f));
  }

  /** The coordinator decides when the commit arrives; its answer comes back after up to a notice delay. */
  async commit(offsets: (TopicPartition & { offset: string })[]): Promise<void> {
    if (this.stopped) throw new Error('consumer stopped');
    let refused: unknown = null;
    try {
      this.broker.commit(this, this.generation, offsets);
    } catch (err) {
      refused = err;
    }
    await new Promise<void>((r) => this.clock.after(this.opts.noticeMs(), r));
    if (refused) throw refused;
  }

  async rewind(tp: TopicPartition): Promise<void> {
    const f = this.fetchers.get(tp.partition);
    if (!f) return;
    f.epoch += 1;
    f.position = this.broker.committed[tp.partition]!;
    this.fetch(f);
  }

  async ping(): Promise<void> {}

  pause(): void {
    this.paused = true;
  }

  /** Graceful: leave the group now. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.broker.leave(this);
  }

  /** SIGKILL: nothing more runs; the broker notices after the session timeout. */
  crash(sessionTimeoutMs: number): void {
    this.stopped = true;
    this.broker.clock.after(sessionTimeoutMs, () => this.broker.leave(this));
  }
}
