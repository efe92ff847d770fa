/**
 * The path of one Kafka record: decode → route → one delivery per customer lane, with the record's offset
 * held until every one of its deliveries is settled (the commit point never passes unsettled work).
 *
 * Back-pressure: before a record is handed over, every lane it routes to must have room. Only a healthy
 * lane that is full makes fetching wait (it will empty within PARK_AFTER_MS); a slow or broken lane parks
 * instead, so it never holds up the others.
 *
 * Ownership: a partition's work is taken over in every lane when it is assigned (which fences the previous
 * owner's store writes) and dropped, unsettled, when it is revoked or when a lane's write is refused as
 * stale. A fenced partition this process still owns (its group generation is newer than the fencing
 * owner's, or the source has no generations and the assignment outlived a session timeout) is read
 * again from its committed offset and taken over anew.
 */
import type { Clock } from './clock.ts';
import { systemClock, sleep, within } from './clock.ts';
import type { SourceRecord, BatchContext, TopicPartition } from './intake/source.ts';
import { toRoutable } from './routing/decode.ts';
import type { Decoded } from './routing/decode.ts';
import { compileMatch, route } from './routing/match.ts';
import type { Route } from './routing/match.ts';
import type { Lane } from './lanes/lane.ts';
import { OffsetTracker } from './commit/offset-tracker.ts';
import type { RetryStore } from './store/port.ts';
import { POISON_VALUE_MAX } from './store/port.ts';
import type { Metrics } from './observe/metrics.ts';
import type { Logger } from './report/logger.ts';
import type { CustomerConfig } from './config/customers.ts';
import type { DeliveryObserver } from './report/delivery-events.ts';
import { NO_OBSERVER } from './report/delivery-events.ts';

export interface PipelineDeps {
  lanes: Lane[];
  customers: CustomerConfig[];
  store: RetryStore;
  metrics: Metrics;
  log: Logger;
  clock?: Clock;
  observer?: DeliveryObserver;
  /** Topics read as outbox EventRouter records (README "Outbox source"). */
  outboxTopics?: readonly string[];
  /** Read a partition again from its committed offset (the source's `rewind`). */
  rewind?: (tp: TopicPartition) => Promise<void>;
  /** Without group generations: how long a fenced partition must stay assigned here before it is taken back. */
  fenceRetryMs?: number;
}

export class Pipeline {
  readonly offsets = new OffsetTracker();
  private readonly lanes: Lane[];
  private readonly routes: Route<Lane>[];
  private readonly clock: Clock;
  private readonly observer: DeliveryObserver;
  /** Shards taken over in every lane (or being taken over). */
  private readonly taken = new Map<string, Promise<void>>();
  private readonly lastTracked = new Map<string, bigint>();
  private readonly fenced = new Set<string>();
  /** Revokes under way, per shard. */
  private readonly revoking = new Map<string, Promise<void>>();
  /** The source's latest assignment and its generation. */
  private assignment = new Set<string>();
  private generation: number | null = null;
  private assignments = 0;
  private holdTimer: { cancel(): void } | null = null;
  private readonly outboxTopics: ReadonlySet<string>;

  constructor(private readonly deps: PipelineDeps) {
    this.lanes = deps.lanes;
    this.clock = deps.clock ?? systemClock;
    this.observer = deps.observer ?? NO_OBSERVER;
    this.outboxTopics = new Set(deps.outboxTopics ?? []);
    const byId = new Map(deps.lanes.map((l) => [l.id, l]));
    this.routes = deps.customers.map((c) => ({ target: byId.get(c.id)!, matches: compileMatch(c.match) }));
  }

  // ───────────────────────────── ownership ─────────────────────────────

  /** Every lane takes the shard over (learns its parked work, fences the previous owner) before its records. */
  ensureTaken(shard: string): Promise<void> {
    let p = this.taken.get(shard);
    if (!p) {
      const generation = this.generation;
      // A revoke of this shard still under way ends first (it forgets what the lanes held of it).
      const before = this.revoking.get(shard) ?? Promise.resolve();
      const taking = before.then(() =>
        Promise.all(this.lanes.map((l) => l.assign(shard, generation))).then(() => undefined),
      );
      p = taking;
      this.taken.set(shard, taking);
      // Given up before the store answered (revoked meanwhile): forget the attempt.
      taking.catch(() => {
        if (this.taken.get(shard) === taking) this.taken.delete(shard);
      });
    }
    return p;
  }

  /** How many assignments have been handled: a rebalance signal tells which it was raised after. */
  get assignmentsSeen(): number {
    return this.assignments;
  }

  /**
   * A rebalance started: lanes send nothing new until the assignment says what is still ours. Returns
   * true for the first signal of this rebalance.
   *
   * `asOf`: the assignments seen when the evidence arose (a commit refused for a rebalance answers after it
   * was sent). If an assignment has been handled since, that rebalance has ended: the signal is ignored
   * (holding on it would stop sending until `maxHoldMs`, with no assignment coming to release it).
   * Repeated signals never extend a hold past `maxHoldMs` after its first.
   */
  onRebalancing(maxHoldMs: number, asOf: number = this.assignments): boolean {
    if (asOf !== this.assignments) return false;
    const first = this.holdTimer === null;
    for (const l of this.lanes) l.hold();
    // Never hold forever: if no assignment comes (the consumer crashed and restarts), go on.
    if (first) this.holdTimer = this.clock.after(maxHoldMs, () => this.releaseHold());
    return first;
  }

  private releaseHold(): void {
    this.holdTimer?.cancel();
    this.holdTimer = null;
    for (const l of this.lanes) l.release();
  }

  /** Partitions about to go (a client that says so before): finish their requests briefly, then drop them. */
  async onRevoking(revoked: TopicPartition[], graceMs: number): Promise<void> {
    const shards = revoked.map((tp) => OffsetTracker.key(tp.topic, tp.partition));
    await this.letGo(shards, graceMs);
  }

  /** A new assignment: partitions lost are dropped everywhere; the others are taken over now. */
  async onAssignment(assigned: TopicPartition[], generation: number | null = null): Promise<void> {
    this.assignments += 1;
    this.generation = generation;
    const keep = new Set(assigned.map((a) => OffsetTracker.key(a.topic, a.partition)));
    this.assignment = keep;
    const lost = [...this.taken.keys()].filter((s) => !keep.has(s));
    this.deps.log.info({ assigned: [...keep], revoked: lost, generation }, 'partition assignment');
    if (lost.length > 0) await this.letGo(lost, 0);
    // A fenced partition that is assigned again is taken over afresh, from its committed offset.
    for (const s of [...this.fenced]) if (keep.has(s)) await this.recover(s);
    // Take over every partition now, not at its first record: parked work of a partition with nothing new
    // to read must still be delivered.
    await Promise.all([...keep].map((s) => this.ensureTaken(s).catch(() => {})));
    this.releaseHold();
  }

  /**
   * Give partitions up, completely: no new record of theirs is taken in, requests under way get `graceMs`,
   * then every lane drops their work and their offsets are forgotten. A revoke always completes; if the
   * same partition is assigned again meanwhile, its takeover waits for this to end (`ensureTaken`).
   */
  private async letGo(shards: string[], graceMs: number): Promise<void> {
    for (const s of shards) this.taken.delete(s);
    const done = Promise.all(this.lanes.map((l) => l.revoke(shards, graceMs))).then(() =>
      this.forget(shards),
    );
    for (const s of shards) this.revoking.set(s, done);
    try {
      await done;
    } finally {
      for (const s of shards) if (this.revoking.get(s) === done) this.revoking.delete(s);
    }
  }

  private forget(shards: string[]): void {
    for (const s of shards) {
      this.taken.delete(s);
      this.lastTracked.delete(s);
      this.fenced.delete(s);
    }
    this.offsets.forget(new Set(shards));
  }

  /** A lane's write was refused: another process took `shard` over. Drop it everywhere; maybe take it back. */
  onFenced(shard: string, ownerGeneration: number | null): void {
    if (this.fenced.has(shard) || !this.taken.has(shard)) return;
    this.fenced.add(shard);
    this.deps.log.warn(
      { shard, ownerGeneration, generation: this.generation },
      'partition fenced by another owner',
    );
    for (const l of this.lanes) void l.revoke([shard]);
    this.taken.delete(shard);
    this.lastTracked.delete(shard);
    this.offsets.forget(new Set([shard]));
    const ours = this.generation !== null && ownerGeneration !== null && ownerGeneration < this.generation;
    if (ours) {
      // The fencing takeover belongs to an older assignment than ours (it arrived late): take it back now.
      void this.recover(shard);
      return;
    }
    // Otherwise we are most likely the stale one: a new assignment will tell. Without generations, a
    // partition still ours after a session timeout (a stale member has learned of its loss by then) is
    // taken back.
    if (this.generation !== null) return;
    const seen = this.assignments;
    this.clock.after(this.deps.fenceRetryMs ?? 60_000, () => {
      if (this.assignments === seen && this.fenced.has(shard) && this.assignment.has(shard))
        void this.recover(shard);
    });
  }

  private async recover(shard: string): Promise<void> {
    if (!this.fenced.has(shard)) return;
    const i = shard.lastIndexOf(':');
    const tp = { topic: shard.slice(0, i), partition: Number(shard.slice(i + 1)) };
    for (;;) {
      try {
        await this.deps.rewind?.(tp);
        break;
      } catch (err) {
        this.deps.log.warn(
          { shard, err: (err as Error).message },
          'could not rewind a fenced partition; retrying',
        );
        await sleep(this.clock, 1000);
        if (!this.assignment.has(shard)) return;
      }
    }
    this.fenced.delete(shard);
    await this.ensureTaken(shard).catch(() => {});
  }

  // ───────────────────────────── records ─────────────────────────────

  async handleBatch(records: SourceRecord[], ctx: BatchContext): Promise<void> {
    const shard = OffsetTracker.key(ctx.topic, ctx.partition);
    if (this.fenced.has(shard)) return;
    try {
      await this.ensureTaken(shard);
    } catch {
      return; // given up meanwhile: nothing of this batch is ours
    }
    // The source learns the last handled offset once, when the batch ends (the next batch starts after
    // it), and only while the batch is still current: after a rewind or a revoke it is not ours to move.
    let handled: string | null = null;
    try {
      await this.handleRecords(records, ctx, shard, (offset) => (handled = offset));
    } finally {
      if (handled !== null && ctx.isRunning()) ctx.resolveOffset(handled);
    }
  }

  private async handleRecords(
    records: SourceRecord[],
    ctx: BatchContext,
    shard: string,
    handled: (offset: string) => void,
  ): Promise<void> {
    let lastBeat = this.clock.now();
    for (const record of records) {
      if (!ctx.isRunning() || this.fenced.has(shard)) return;
      const decoded = toRoutable(record, { outboxTopics: this.outboxTopics, now: () => this.clock.now() });
      const targets = decoded.kind === 'routable' ? route(this.routes, decoded.routable.fields) : [];
      for (const lane of targets) {
        while (lane.saturated && ctx.isRunning()) {
          // The wait's timer is cleared as soon as room comes (one per record of a backlog otherwise
          // lives on for a second: garbage that outlives the young generation).
          await within(this.clock, lane.whenRoom(), 1000);
          await ctx.heartbeat().catch(() => {});
        }
      }
      if (!ctx.isRunning() || this.fenced.has(shard) || !this.taken.has(shard)) return;
      this.handle(record, decoded, targets);
      handled(record.offset);
      if (this.clock.now() - lastBeat > 1000) {
        lastBeat = this.clock.now();
        await ctx.heartbeat().catch(() => {});
      }
    }
  }

  /** One decoded record, synchronously: after this returns, its deliveries are in the lanes' hands. */
  handle(record: SourceRecord, decoded: Decoded, targets: Lane[]): void {
    const { topic, partition } = record;
    const shard = OffsetTracker.key(topic, partition);
    const offset = BigInt(record.offset);
    const last = this.lastTracked.get(shard);
    if (last !== undefined && offset <= last) return; // fetched again after a rejoin: already in our hands
    this.lastTracked.set(shard, offset);
    const tracker = this.offsets.partition(topic, partition);
    this.deps.metrics.eventsConsumed.inc({ topic });

    if (decoded.kind === 'ignored') {
      this.deps.metrics.eventsIgnored.inc({ topic, reason: decoded.reason });
      tracker.track(offset, 0);
      return;
    }
    if (decoded.kind === 'poison') {
      tracker.track(offset, 1);
      this.poison(record, decoded.code, decoded.reason, () => tracker.settle(offset));
      return;
    }
    const r = decoded.routable;
    const now = this.clock.now();
    tracker.track(offset, targets.length);
    this.observer.change({
      at: now,
      eventId: r.eventId,
      packageId: r.orderingKey,
      type: r.type,
      label: r.label,
      occurredAt: r.commitTsMs,
      source: { topic, partition, offset: record.offset },
      customers: targets.map((l) => l.id),
      body: r.body,
    });
    if (targets.length === 0) this.deps.metrics.eventsUnrouted.inc({ topic });
    for (const lane of targets) {
      lane.accept({
        deliveryId: `${lane.id}/${r.eventId}`,
        eventId: r.eventId,
        customer: lane.id,
        shard,
        orderingKey: r.orderingKey,
        body: r.body,
        commitTsMs: r.commitTsMs,
        attempts: 0,
        lastError: null,
        firstSeenAt: now,
        label: r.label,
        onSettled: () => tracker.settle(offset),
      });
    }
  }

  /** Poison: logged, counted, kept in the store (retried until it lands), then its offset is settled. */
  private poison(record: SourceRecord, code: string, reason: string, settle: () => void): void {
    const { topic, partition } = record;
    this.deps.metrics.poison.inc({ topic, reason: code });
    this.deps.log.warn(
      { event: 'poison', topic, partition, offset: record.offset, reason },
      'poison message skipped',
    );
    const entry = {
      topic,
      partition,
      offset: record.offset,
      reason,
      key: record.key ? record.key.toString('utf8').slice(0, 1024) : null,
      value: record.value ? record.value.toString('utf8').slice(0, POISON_VALUE_MAX) : null,
      at: this.clock.now(),
    };
    const attempt = (n: number): void => {
      this.deps.store.recordPoison(entry).then(settle, (err: unknown) => {
        this.deps.metrics.storeErrors.inc({ op: 'recordPoison' });
        this.deps.log.error({ err, attempt: n }, 'could not store a poison message; retrying');
        this.clock.after(Math.min(5000, 100 * 2 ** n), () => attempt(n + 1));
      });
    };
    attempt(0);
  }
}
