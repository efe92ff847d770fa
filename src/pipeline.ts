/**
 * The path of one Kafka record: decode → identify → route → one delivery per customer lane, with the
 * record's offset held until every one of its deliveries is settled. The commit loop turns settled
 * prefixes into Kafka commits. Nothing here waits for a customer.
 */
import type { SourceRecord, BatchContext } from './intake/source.ts';
import { toRoutable } from './routing/decode.ts';
import { compileMatch, route } from './routing/match.ts';
import type { Route } from './routing/match.ts';
import type { Lane, Settlement } from './lanes/lane.ts';
import { OffsetTracker } from './commit/offset-tracker.ts';
import type { PartitionTracker } from './commit/offset-tracker.ts';
import type { RetryStore } from './store/port.ts';
import { POISON_VALUE_MAX } from './store/port.ts';
import type { Metrics } from './observe/metrics.ts';
import type { Logger } from './observe/logger.ts';
import type { CustomerConfig } from './config/customers.ts';
import type { DeliveryObserver } from './observe/delivery-events.ts';
import { NO_OBSERVER } from './observe/delivery-events.ts';

/** Lanes' intake backlog above which fetching waits (store writes are slower than Kafka reads). */
const BACKLOG_LIMIT = 20_000;

export interface SettleListener {
  (info: { customer: string; eventId: string; how: Settlement; shard: string; offset: string }): void;
}

export class Pipeline {
  readonly offsets = new OffsetTracker();
  private readonly routes: Route<Lane>[];
  private readonly assigned = new Map<string, Promise<void>>();
  private readonly lastTracked = new Map<string, bigint>();
  private readonly outboxTopics: ReadonlySet<string>;

  constructor(
    private readonly lanes: Lane[],
    customers: CustomerConfig[],
    private readonly store: RetryStore,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly onSettle?: SettleListener,
    private readonly observer: DeliveryObserver = NO_OBSERVER,
    /** OUTBOX_TOPICS: records of these topics are decoded as outbox events, the rest as Debezium changes. */
    outboxTopics: readonly string[] = [],
  ) {
    this.outboxTopics = new Set(outboxTopics);
    const byId = new Map(lanes.map((l) => [l.id, l]));
    this.routes = customers.map((c) => ({ target: byId.get(c.id)!, matches: compileMatch(c.match) }));
  }

  /** Make sure every lane has taken over this shard (learned its parked work) before any record of it. */
  ensureAssigned(shard: string): Promise<void> {
    let p = this.assigned.get(shard);
    if (!p) {
      p = Promise.all(this.lanes.map((l) => l.assign([shard]))).then(() => undefined);
      this.assigned.set(shard, p);
      p.catch(() => this.assigned.delete(shard));
    }
    return p;
  }

  private holdTimer: NodeJS.Timeout | null = null;

  /**
   * A rebalance started: lanes hold their unsent work until the assignment says what is still ours.
   * Returns true for the first signal of this rebalance.
   */
  onRebalancing(maxHoldMs: number): boolean {
    const first = this.holdTimer === null;
    for (const l of this.lanes) l.hold();
    if (this.holdTimer) clearTimeout(this.holdTimer);
    // Never hold forever: if no assignment comes (the consumer crashed and restarts), go on.
    this.holdTimer = setTimeout(() => this.releaseHold(), maxHoldMs);
    this.holdTimer.unref();
    return first;
  }

  private releaseHold(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    for (const l of this.lanes) l.release();
  }

  /** A new assignment: partitions we lost are revoked in every lane and forgotten by the offset tracker. */
  async onAssignment(assigned: { topic: string; partition: number }[]): Promise<void> {
    const keep = new Set(assigned.map((a) => OffsetTracker.key(a.topic, a.partition)));
    const lost = [...this.assigned.keys()].filter((s) => !keep.has(s));
    this.log.info({ assigned: [...keep], revoked: lost }, 'partition assignment');
    if (lost.length > 0) {
      for (const s of lost) {
        this.assigned.delete(s);
        this.lastTracked.delete(s);
      }
      this.offsets.retain(keep);
      await Promise.all(this.lanes.map((l) => l.revoke(lost)));
    }
    // Take over every assigned partition now, not at its first record: parked work of a partition with
    // nothing new to read must still be delivered.
    await Promise.all([...keep].map((s) => this.ensureAssigned(s)));
    this.releaseHold();
  }

  async handleBatch(records: SourceRecord[], ctx: BatchContext): Promise<void> {
    const shard = OffsetTracker.key(ctx.topic, ctx.partition);
    await this.ensureAssigned(shard);
    let lastBeat = this.now();
    for (const record of records) {
      if (!ctx.isRunning()) return;
      if (this.lanes.some((l) => l.backlog > BACKLOG_LIMIT)) {
        while (this.lanes.some((l) => l.backlog > BACKLOG_LIMIT / 2) && ctx.isRunning()) {
          await new Promise((r) => setTimeout(r, 50));
          await ctx.heartbeat().catch(() => {});
        }
      }
      this.handle(record);
      ctx.resolveOffset(record.offset);
      if (this.now() - lastBeat > 1000) {
        lastBeat = this.now();
        await ctx.heartbeat().catch(() => {});
      }
    }
  }

  /** One record, synchronously: after this returns, its deliveries are in the lanes' hands. */
  handle(record: SourceRecord): void {
    const { topic, partition } = record;
    const shard = OffsetTracker.key(topic, partition);
    const offset = BigInt(record.offset);
    const last = this.lastTracked.get(shard);
    if (last !== undefined && offset <= last) return; // re-fetched after a rejoin: already in our hands
    this.lastTracked.set(shard, offset);
    const tracker = this.offsets.partition(topic, partition);
    this.metrics.eventsConsumed.inc({ topic });

    const result = toRoutable(record, { outboxTopics: this.outboxTopics, now: this.now });
    if (result.kind === 'ignored') {
      this.metrics.eventsIgnored.inc({ topic, reason: result.reason });
      tracker.track(offset, 0);
      return;
    }
    if (result.kind === 'poison') {
      this.poison(record, result.code, result.reason, tracker, offset);
      return;
    }
    const { eventId: id, orderingKey, body, label, commitTsMs } = result.routable;
    const targets = route(this.routes, result.routable.fields);
    tracker.track(offset, targets.length);
    const now = this.now();
    this.observer.change({
      at: now,
      eventId: id,
      packageId: orderingKey,
      type: result.routable.type,
      label,
      occurredAt: commitTsMs,
      source: { topic, partition, offset: record.offset },
      customers: targets.map((l) => l.id),
      body,
    });
    if (targets.length === 0) return;
    for (const lane of targets) {
      lane.accept({
        deliveryId: `${lane.id}/${id}`,
        eventId: id,
        customer: lane.id,
        shard,
        orderingKey,
        body,
        commitTsMs,
        attempts: 0,
        lastError: null,
        firstSeenAt: now,
        label,
        onSettled: (how) => {
          tracker.settle(offset);
          this.onSettle?.({ customer: lane.id, eventId: id, how, shard, offset: record.offset });
        },
      });
    }
  }

  private poison(
    record: SourceRecord,
    code: string,
    reason: string,
    tracker: PartitionTracker,
    offset: bigint,
  ): void {
    const { topic, partition } = record;
    this.metrics.poison.inc({ topic, reason: code });
    this.log.warn(
      { event: 'poison', topic, partition, offset: record.offset, reason },
      'poison message skipped',
    );
    tracker.track(offset, 1);
    const value = record.value ? record.value.toString('utf8').slice(0, POISON_VALUE_MAX) : null;
    const save = (): Promise<void> =>
      this.store.recordPoison({
        topic,
        partition,
        offset: record.offset,
        reason,
        key: record.key ? record.key.toString('utf8').slice(0, 4096) : null,
        value,
        at: this.now(),
      });
    const attempt = (n: number): void => {
      save().then(
        () => tracker.settle(offset),
        (err: unknown) => {
          this.log.error({ err, attempt: n }, 'could not store a poison message; retrying');
          setTimeout(() => attempt(n + 1), Math.min(5000, 100 * 2 ** n)).unref();
        },
      );
    };
    attempt(0);
  }
}
