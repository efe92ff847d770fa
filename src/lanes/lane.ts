/**
 * A lane: everything one customer's deliveries go through. Lanes share nothing, so a customer that is
 * slow, hanging, failing or unreachable only ever fills its own lane.
 *
 * Per package (ordering key) within a shard, at most one delivery is in flight and the rest wait behind it:
 *
 *   accept ─▶ memory queue ─▶ in flight ─┬─ 2xx / permanent 4xx ─▶ settled; next of the package goes
 *               │  (memory full, or      ├─ retryable ─▶ parked in the store at the FRONT of the package's
 *               │   package has parked   │               list (with the rest of its memory queue), due later
 *               ▼   work)                └─ breaker open / shutdown ─▶ back where it was, no attempt charged
 *            parked (store) ─▶ claimed when due and the package has nothing in memory ─▶ in flight ─▶ …
 *
 * A memory delivery is "settled" for the commit point when delivered, dead-lettered, or once its parking
 * write is acknowledged; parked work no longer holds the Kafka offset. Memory holds at most `maxInMemory`
 * deliveries (queued + in flight) per lane; the rest lives in the store.
 */
import { setMaxListeners } from 'node:events';
import type { CustomerConfig } from '../config/customers.ts';
import type { Outcome } from '../delivery/outcome.ts';
import { classify } from '../delivery/outcome.ts';
import { retryDelay } from '../delivery/retry-schedule.ts';
import { TokenBucket } from '../delivery/rate-limit.ts';
import type { Sender } from '../delivery/http-sender.ts';
import type { ParkedDelivery, RetryStore } from '../store/port.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Logger } from '../observe/logger.ts';
import type { DeliveryObserver, DeliveryStep } from '../observe/delivery-events.ts';
import { NO_OBSERVER } from '../observe/delivery-events.ts';
import {
  BREAKER_GAUGE,
  CountedFailure,
  createBreaker,
  isBreakerRejection,
  mayDispatch,
  stateOf,
} from './breaker.ts';
import type { BreakerState } from './breaker.ts';
import { LatencyWindow } from './latency-window.ts';
import { PackageQueues, packageKey } from './package-queues.ts';

export type Settlement = 'delivered' | 'dead' | 'parked';

export interface MemoryDelivery extends ParkedDelivery {
  /** Called exactly once, when this delivery no longer needs its Kafka offset held. */
  onSettled: (how: Settlement) => void;
}

/**
 * One delivery on its way out. `source` says who settles it: memory (its Kafka offset) or the store (its
 * parked head). A long-running memory request is checkpointed into the store and becomes a store item.
 */
interface Item {
  source: 'memory' | 'store';
  d: ParkedDelivery | MemoryDelivery;
  /** Set while the item is being checkpointed into the store; outcomes wait for it. */
  checkpoint?: Promise<void>;
  /** Its outcome is being recorded: too late to checkpoint it. */
  settling?: boolean;
}

export interface LaneDeps {
  customer: CustomerConfig;
  sender: Sender;
  store: RetryStore;
  metrics: Metrics;
  log: Logger;
  /** Told about every step of every delivery (the delivery log, the live stream). */
  observer?: DeliveryObserver;
  now?: () => number;
  random?: () => number;
  /** How often parked shards are polled for due work. */
  pollMs?: number;
  /**
   * A delivery still in memory (queued or in flight) after this long is parked durably, so that a slow
   * customer never holds the Kafka commit point for long. Default 2000 ms.
   */
  parkAfterMs?: number;
}

export interface LaneSnapshot {
  id: string;
  url: string;
  paused: boolean;
  limits: {
    concurrency: number;
    ratePerSecond: number | null;
    timeoutMs: number;
    maxInMemory: number;
    retry: CustomerConfig['retry'];
    breaker: CustomerConfig['breaker'];
  };
  inflight: number;
  pending: number;
  parked: number;
  breaker: BreakerState;
  recent: { count: number; p50Ms: number | null; p99Ms: number | null };
}

const INTAKE_BATCH = 512;
const SKIP_BUSY_MS = 50;

function plain(d: ParkedDelivery): ParkedDelivery {
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

export class Lane {
  readonly id: string;
  private readonly cfg: CustomerConfig;
  private readonly store: RetryStore;
  private readonly sender: Sender;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly observer: DeliveryObserver;
  private readonly random: () => number;
  private readonly pollMs: number;
  private readonly parkAfterMs: number;
  private spilling = false;
  private readonly breaker;
  private readonly bucket: TokenBucket | null;
  private readonly latency = new LatencyWindow(1024);

  private readonly queues = new PackageQueues<MemoryDelivery>();
  /** Package key → its memory head's item while in flight. */
  private readonly memInflight = new Map<string, Item>();
  private readonly storeReady: ParkedDelivery[] = [];
  private readonly intake: MemoryDelivery[] = [];
  private intakeRunning = false;
  private memCount = 0;
  private inflight = 0;
  private readonly inflightItems = new Set<Item>();

  private readonly owned = new Set<string>();
  private readonly parkedShards = new Set<string>();
  private readonly parkGeneration = new Map<string, number>();
  private claiming = false;
  private parkedTotal = 0;

  private paused = false;
  /** A rebalance is under way: nothing new goes out until the new assignment is known. */
  private held = false;
  private stopping = false;
  private closed = false;
  private readonly abort = new AbortController();
  private pumpTimer: NodeJS.Timeout | null = null;
  private readonly pollTimer: NodeJS.Timeout;
  private idleWaiters: (() => void)[] = [];

  constructor(deps: LaneDeps) {
    this.cfg = deps.customer;
    this.id = deps.customer.id;
    this.store = deps.store;
    this.sender = deps.sender;
    this.metrics = deps.metrics;
    this.log = deps.log.child({ customer: this.id });
    this.now = deps.now ?? Date.now;
    this.observer = deps.observer ?? NO_OBSERVER;
    this.random = deps.random ?? Math.random;
    this.pollMs = deps.pollMs ?? 200;
    this.parkAfterMs = deps.parkAfterMs ?? 2000;
    this.bucket = this.cfg.ratePerSecond ? new TokenBucket(this.cfg.ratePerSecond, this.now()) : null;
    // One listener per in-flight request on the shared shutdown signal.
    setMaxListeners(0, this.abort.signal);
    this.breaker = createBreaker(this.cfg.breaker, this.id, (run) => run());
    const gauge = () =>
      this.metrics.circuitState.set({ customer: this.id }, BREAKER_GAUGE[stateOf(this.breaker)]);
    this.breaker.on('open', () => {
      gauge();
      this.log.warn({ event: 'breaker_open' }, 'circuit opened: deliveries wait');
    });
    this.breaker.on('halfOpen', () => {
      gauge();
      this.pump();
    });
    this.breaker.on('close', () => {
      gauge();
      this.log.info({ event: 'breaker_closed' }, 'circuit closed');
      this.pump();
    });
    gauge();
    this.metrics.pending.set({ customer: this.id }, 0);
    this.metrics.inflight.set({ customer: this.id }, 0);
    this.pollTimer = setInterval(() => this.poll(), this.pollMs);
    this.pollTimer.unref();
  }

  // ───────────────────────────── intake ─────────────────────────────

  /** Take a delivery. Never blocks on this customer's speed; at worst it waits for a store write. */
  accept(d: MemoryDelivery): void {
    if (this.stopping) throw new Error(`lane ${this.id} is stopping`);
    this.emit(d, { kind: 'accepted' });
    if (this.intake.length === 0 && !this.intakeRunning && this.memCount < this.cfg.maxInMemory) {
      // Fast path: nothing of this package can be in the store.
      if (this.queues.canAppend(d) || (!this.queues.has(d) && !this.parkedShards.has(d.shard))) {
        this.enqueue(d);
        return;
      }
    }
    this.intake.push(d);
    void this.runIntake();
  }

  private emit(d: ParkedDelivery, step: DeliveryStep): void {
    this.observer.delivery({
      at: this.now(),
      customer: this.id,
      eventId: d.eventId,
      packageId: d.orderingKey,
      label: d.label ?? null,
      ...step,
    });
  }

  /** Deliveries waiting for a store decision (the caller may hold back fetching while this is high). */
  get backlog(): number {
    return this.intake.length;
  }

  private enqueue(d: MemoryDelivery): void {
    this.queues.push(d);
    this.setMem(+1);
    if (this.queues.readyCount > 0) this.pump();
  }

  private setMem(delta: number): void {
    this.memCount += delta;
    this.metrics.pending.set({ customer: this.id }, this.memCount);
  }

  /** Decide, in arrival order, where each waiting delivery goes: memory, or the store. */
  private async runIntake(): Promise<void> {
    if (this.intakeRunning) return;
    this.intakeRunning = true;
    try {
      while (this.intake.length > 0) {
        const batch = this.intake.splice(0, INTAKE_BATCH);
        const toPark: MemoryDelivery[] = [];
        const candidates: MemoryDelivery[] = [];
        const candidateKeys = new Set<string>();
        for (const d of batch) {
          const key = packageKey(d);
          const room = this.memCount < this.cfg.maxInMemory;
          if (candidateKeys.has(key)) candidates.push(d);
          else if (this.queues.canAppend(d) && room) this.enqueue(d);
          else if (this.queues.has(d)) {
            this.queues.markParkedBehind(d);
            toPark.push(d);
          } else if (this.parkedShards.has(d.shard)) {
            candidateKeys.add(key);
            candidates.push(d);
          } else if (room) this.enqueue(d);
          else toPark.push(d);
        }
        if (candidates.length > 0) {
          const appended = await this.store.appendIfParked(candidates.map(plain), this.now());
          const parkedNow = new Set<string>();
          candidates.forEach((d, i) => {
            const key = packageKey(d);
            if (appended[i]) {
              this.emit(d, { kind: 'parked', why: 'capacity', dueAt: null });
              return this.settleMemory(d, 'parked', false);
            }
            const room = this.memCount < this.cfg.maxInMemory;
            const inMemory = this.queues.has(d);
            if (parkedNow.has(key) || (inMemory && !this.queues.canAppend(d))) toPark.push(d);
            else if (inMemory && room) this.enqueue(d);
            else if (inMemory) {
              this.queues.markParkedBehind(d);
              toPark.push(d);
            } else if (room) this.enqueue(d);
            else {
              parkedNow.add(key);
              toPark.push(d);
            }
          });
        }
        if (toPark.length > 0) await this.parkBack(toPark);
      }
    } catch (err) {
      this.log.error({ err }, 'intake failed; deliveries stay unsettled and will be re-read');
    } finally {
      this.intakeRunning = false;
    }
  }

  /** Park at the back of their package lists, due now (they are waiting for capacity, not for a retry). */
  private async parkBack(items: MemoryDelivery[]): Promise<void> {
    const now = this.now();
    for (const d of items) this.bumpGeneration(d.shard);
    await this.store.park(items.map((d) => ({ delivery: plain(d), dueAt: now })));
    for (const d of items) {
      this.parkedShards.add(d.shard);
      this.emit(d, { kind: 'parked', why: 'capacity', dueAt: now });
      this.settleMemory(d, 'parked', false);
    }
  }

  private bumpGeneration(shard: string): void {
    this.parkGeneration.set(shard, (this.parkGeneration.get(shard) ?? 0) + 1);
  }

  /** `wasCounted`: the delivery had been counted in memory (enqueued). */
  private settleMemory(d: MemoryDelivery, how: Settlement, wasCounted = true): void {
    if (wasCounted) this.setMem(-1);
    try {
      d.onSettled(how);
    } catch (err) {
      this.log.error({ err }, 'settle callback failed');
    }
  }

  // ───────────────────────────── dispatch ─────────────────────────────

  private breakerState(): BreakerState {
    return stateOf(this.breaker);
  }

  private canDispatch(): boolean {
    return (
      !this.paused &&
      !this.held &&
      !this.stopping &&
      this.inflight < this.cfg.concurrency &&
      mayDispatch(this.breakerState(), this.breaker.pendingClose)
    );
  }

  private nextItem(): Item | null {
    // Alternate fairly between fresh work and parked work that became due.
    const preferStore = this.storeReady.length > 0 && (this.queues.readyCount === 0 || this.random() < 0.5);
    if (preferStore) return { source: 'store', d: this.storeReady.shift()! };
    const d = this.queues.next();
    if (!d) return null;
    const item: Item = { source: 'memory', d };
    this.memInflight.set(packageKey(d), item);
    return item;
  }

  private pushBack(item: Item): void {
    if (item.source === 'store') this.storeReady.unshift(item.d);
    else {
      this.memInflight.delete(packageKey(item.d));
      this.queues.putBack(item.d as MemoryDelivery);
    }
  }

  pump(): void {
    if (this.closed) return;
    while (this.canDispatch()) {
      const item = this.nextItem();
      if (!item) break;
      if (this.bucket) {
        const wait = this.bucket.take(this.now());
        if (wait > 0) {
          this.pushBack(item);
          this.schedulePump(wait);
          break;
        }
      }
      this.inflight += 1;
      this.inflightItems.add(item);
      this.metrics.inflight.set({ customer: this.id }, this.inflight);
      void this.attempt(item);
    }
    if (this.parkedShards.size > 0 && !this.stopping && !this.paused) void this.drain();
  }

  private schedulePump(ms: number): void {
    if (this.pumpTimer) return;
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = null;
      this.pump();
    }, ms);
    this.pumpTimer.unref();
  }

  private async send(d: ParkedDelivery): Promise<Outcome> {
    try {
      return await this.breaker.fire(async () => {
        const report = await this.sender.send({ id: d.eventId, body: d.body }, this.abort.signal);
        const outcome = classify(report, this.now());
        if (outcome.breakerFailure) throw new CountedFailure(outcome);
        return outcome;
      });
    } catch (err) {
      if (err instanceof CountedFailure) return err.outcome;
      if (isBreakerRejection(err)) {
        return {
          result: 'breaker_open',
          decision: 'retry',
          breakerFailure: false,
          status: null,
          retryAfterMs: null,
          detail: 'circuit open',
        };
      }
      throw err;
    }
  }

  private async attempt(item: Item): Promise<void> {
    const d = item.d;
    const started = this.now();
    this.emit(d, { kind: 'sending', attempt: d.attempts + 1 });
    let outcome: Outcome;
    try {
      outcome = await this.send(d);
    } catch (err) {
      outcome = {
        result: 'network',
        decision: 'retry',
        breakerFailure: true,
        status: null,
        retryAfterMs: null,
        detail: `unexpected: ${(err as Error).message}`,
      };
    }
    item.settling = true;
    if (item.checkpoint) await item.checkpoint.catch(() => {});
    const finished = this.now();
    const aborted = this.abort.signal.aborted && outcome.result === 'network';
    try {
      if (outcome.result === 'breaker_open' || aborted) {
        // A shutdown abort is not an attempt; a breaker rejection is counted as one refused.
        if (outcome.result === 'breaker_open')
          this.metrics.attempts.inc({ customer: this.id, result: 'breaker_open' });
        await this.giveBack(item);
        return;
      }
      this.metrics.attempts.inc({ customer: this.id, result: outcome.result });
      this.emit(d, {
        kind: 'attempted',
        attempt: d.attempts + 1,
        result: outcome.result,
        httpStatus: outcome.status,
        durationMs: finished - started,
        detail: outcome.detail,
      });
      this.metrics.attemptDuration.observe({ customer: this.id }, (finished - started) / 1000);
      this.latency.add(finished - started);
      const attempted = {
        ...plain(d),
        attempts: d.attempts + 1,
        lastError: outcome.decision === 'delivered' ? d.lastError : outcome.detail,
      };
      if (outcome.decision === 'delivered') {
        if (d.commitTsMs !== null) {
          this.metrics.endToEnd.observe({ customer: this.id }, Math.max(0, finished - d.commitTsMs) / 1000);
        }
        this.metrics.deliveries.inc({ customer: this.id, outcome: 'delivered' });
        this.emit(d, {
          kind: 'delivered',
          attempts: attempted.attempts,
          endToEndMs: d.commitTsMs === null ? null : Math.max(0, finished - d.commitTsMs),
        });
        await this.finish(item, 'delivered');
      } else if (outcome.decision === 'dead') {
        await this.deadLetter(item, attempted, `permanent failure: ${outcome.detail}`);
      } else {
        const plan = retryDelay(attempted.attempts, outcome, this.cfg.retry, this.random);
        if (plan.giveUp) {
          await this.deadLetter(
            item,
            attempted,
            `gave up after ${attempted.attempts} attempts; last: ${outcome.detail}`,
          );
        } else {
          this.log.debug(
            {
              event: 'retry',
              eventId: d.eventId,
              attempts: attempted.attempts,
              delayMs: plan.delayMs,
              detail: outcome.detail,
            },
            'delivery will be retried',
          );
          this.emit(d, { kind: 'parked', why: 'retry', dueAt: finished + plan.delayMs });
          await this.retryLater(item, attempted, finished + plan.delayMs);
        }
      }
    } catch (err) {
      this.log.error(
        { err, eventId: d.eventId },
        'failed to record an outcome; the delivery will be retried',
      );
    } finally {
      this.inflight -= 1;
      this.inflightItems.delete(item);
      this.metrics.inflight.set({ customer: this.id }, this.inflight);
      if (this.inflight === 0) this.notifyIdle();
      this.pump();
    }
  }

  /** Delivered or dead: the package's next delivery may go. */
  private async finish(item: Item, how: 'delivered' | 'dead'): Promise<void> {
    if (item.source === 'store') {
      if (how === 'delivered') await this.store.complete(item.d, this.now());
      this.setMem(-1);
      return;
    }
    this.memInflight.delete(packageKey(item.d));
    const after = this.queues.done(item.d as MemoryDelivery, !this.stopping);
    this.settleMemory(item.d as MemoryDelivery, how);
    // Its parked tail may go now that nothing of the package is left in memory.
    if (after.gone && after.parkedBehind) void this.drain();
  }

  private async deadLetter(item: Item, d: ParkedDelivery, reason: string): Promise<void> {
    const now = this.now();
    this.log.warn(
      { event: 'dead_letter', eventId: d.eventId, attempts: d.attempts, reason },
      'delivery dead-lettered',
    );
    if (item.source === 'store') await this.store.deadLetterHead(d, reason, now);
    else await this.store.addDeadLetter(d, reason, now);
    this.metrics.deliveries.inc({ customer: this.id, outcome: 'dead_lettered' });
    this.emit(d, { kind: 'dead', attempts: d.attempts, reason });
    await this.finish(item, 'dead');
  }

  private async retryLater(item: Item, d: ParkedDelivery, dueAt: number): Promise<void> {
    if (item.source === 'store') {
      await this.store.reschedule(d, dueAt);
      this.setMem(-1);
      return;
    }
    // The head and everything queued behind it move to the store, in order, in front of anything already
    // parked for this package: the package now waits for the retry as a whole.
    this.memInflight.delete(packageKey(item.d));
    const all = this.queues.take(item.d);
    const rest = all.slice(1);
    this.bumpGeneration(d.shard);
    this.parkedShards.add(d.shard);
    await this.store.park([{ delivery: d, dueAt }, ...rest.map((r) => ({ delivery: plain(r), dueAt }))], {
      front: true,
    });
    for (const r of all) this.settleMemory(r, 'parked');
  }

  /**
   * Park packages whose oldest delivery has been in memory longer than `parkAfterMs`: the whole package
   * moves to the front of its store list, the in-flight head already claimed (leased). Their offsets are
   * then settled, so the commit point moves on while the requests run their course.
   */
  private async spill(): Promise<void> {
    if (this.spilling || this.stopping || this.held || this.closed) return;
    const cutoff = this.now() - this.parkAfterMs;
    const victims = this.queues.takeStale(
      cutoff,
      (head, busy) => !busy || this.memInflight.get(packageKey(head))?.settling !== true,
    );
    if (victims.length === 0) return;
    this.spilling = true;
    const inflightOf = new Map(
      victims.filter((v) => v.busy).map((v) => [v, this.memInflight.get(packageKey(v.items[0]!))!]),
    );
    for (const v of inflightOf.keys()) this.memInflight.delete(packageKey(v.items[0]!));
    try {
      const now = this.now();
      const leaseUntil = now + this.cfg.timeoutMs * 2 + 5000;
      const items: { delivery: ParkedDelivery; dueAt: number; leased?: boolean }[] = [];
      const queued: MemoryDelivery[] = [];
      const checkpointed: Item[] = [];
      for (const v of victims) {
        const [head, ...rest] = v.items;
        const out = inflightOf.get(v);
        if (out) {
          items.push({ delivery: plain(head!), dueAt: leaseUntil, leased: true });
          checkpointed.push(out);
        } else {
          items.push({ delivery: plain(head!), dueAt: now });
          queued.push(head!);
        }
        items.push(...rest.map((d) => ({ delivery: plain(d), dueAt: now })));
        queued.push(...rest);
        this.bumpGeneration(head!.shard);
        this.parkedShards.add(head!.shard);
      }
      const write = this.store.park(items, { front: true });
      for (const item of checkpointed) {
        item.checkpoint = write.then(() => {
          item.source = 'store';
          (item.d as MemoryDelivery).onSettled('parked');
        });
      }
      await write;
      for (const d of queued) {
        this.emit(d, { kind: 'parked', why: 'slow', dueAt: now });
        this.settleMemory(d, 'parked');
      }
      for (const item of checkpointed) this.emit(item.d, { kind: 'parked', why: 'slow', dueAt: null });
      this.log.debug(
        { event: 'spill', packages: victims.length, deliveries: items.length },
        'slow work parked',
      );
    } catch (err) {
      // Nothing was parked: put the packages back as they were (the write is all-or-nothing per shard).
      this.queues.restore(victims);
      for (const [v, out] of inflightOf) this.memInflight.set(packageKey(v.items[0]!), out);
      this.log.error({ err }, 'parking slow work failed; it stays in memory');
    } finally {
      this.spilling = false;
    }
  }

  /** No attempt was made (breaker open) or it was cut by shutdown: put it back without charging it. */
  private async giveBack(item: Item): Promise<void> {
    if (item.source === 'store') {
      await this.store.release(item.d, this.now());
      this.setMem(-1);
      return;
    }
    if (this.stopping) {
      this.memInflight.delete(packageKey(item.d));
      const all = this.queues.take(item.d);
      await this.store.park(
        all.map((r) => ({ delivery: plain(r), dueAt: this.now() })),
        { front: true },
      );
      for (const r of all) this.settleMemory(r, 'parked');
      return;
    }
    this.pushBack(item);
  }

  // ───────────────────────────── parked work ─────────────────────────────

  /** Claim due heads of parked packages while there is room. */
  private async drain(): Promise<void> {
    if (this.claiming || this.stopping || this.paused || this.held || this.closed) return;
    if (!mayDispatch(this.breakerState(), this.breaker.pendingClose)) return;
    // Keep up to two rounds of the lane's concurrency claimed ahead, so requests never wait for a claim's
    // round trip to the store (claimed heads count against the memory bound like any held delivery).
    const room = Math.min(
      2 * this.cfg.concurrency - this.storeReady.length,
      this.cfg.maxInMemory - this.memCount,
    );
    if (room <= 0) return;
    this.claiming = true;
    let claimed = 0;
    try {
      const leaseMs = this.cfg.timeoutMs * 2 + 5000;
      for (const shard of [...this.parkedShards]) {
        if (!this.owned.has(shard)) continue;
        const generation = this.parkGeneration.get(shard) ?? 0;
        const items = await this.store.claimDue(this.id, shard, this.now(), room - claimed, leaseMs);
        for (const d of items) {
          if (this.queues.has(d)) {
            // Its package still has older work in memory: that goes first.
            await this.store.release(d, this.now() + SKIP_BUSY_MS);
            continue;
          }
          this.storeReady.push(d);
          this.setMem(+1);
          claimed += 1;
        }
        if (items.length === 0 && (this.parkGeneration.get(shard) ?? 0) === generation) {
          const left = await this.store.parkedCount(this.id, shard);
          if (left === 0 && (this.parkGeneration.get(shard) ?? 0) === generation)
            this.parkedShards.delete(shard);
        }
        if (claimed >= room) break;
      }
    } catch (err) {
      this.log.error({ err }, 'claiming parked deliveries failed; will try again');
    } finally {
      this.claiming = false;
    }
    if (claimed > 0) this.pump();
  }

  private poll(): void {
    void this.spill();
    if (this.parkedShards.size > 0) void this.drain();
    void this.refreshParked();
  }

  private refreshing = false;
  private lastRefresh = 0;

  /** Every second: the parked count from the store (the gauge), and shards parked by someone else (replay, a peer). */
  private async refreshParked(force = false): Promise<void> {
    const now = this.now();
    if (this.refreshing || (!force && now - this.lastRefresh < 1000) || this.closed) return;
    this.refreshing = true;
    this.lastRefresh = now;
    try {
      this.parkedTotal = await this.store.parkedCount(this.id);
      this.metrics.retryQueueDepth.set({ customer: this.id }, this.parkedTotal);
      if (this.parkedTotal > 0) {
        for (const shard of this.owned) {
          if (this.parkedShards.has(shard)) continue;
          if ((await this.store.parkedCount(this.id, shard)) > 0) this.parkedShards.add(shard);
        }
      }
    } catch (err) {
      this.log.warn({ err }, 'could not read the parked count');
    } finally {
      this.refreshing = false;
    }
  }

  // ───────────────────────────── ownership ─────────────────────────────

  /** Partitions newly assigned to this process: end a previous owner's leases, learn what is parked. */
  async assign(shards: string[]): Promise<void> {
    for (const shard of shards) {
      if (this.owned.has(shard)) continue;
      this.owned.add(shard);
      await this.store.takeOver(this.id, shard, this.now());
      if ((await this.store.parkedCount(this.id, shard)) > 0) this.parkedShards.add(shard);
    }
    await this.refreshParked(true);
    this.pump();
  }

  /**
   * Partitions taken away. Their queued memory work is dropped, not parked: none of it is settled, so its
   * offsets were never committed and the new owner reads it again from Kafka (parking it would deliver it
   * twice). In-flight requests finish on their own; what is parked stays for the new owner.
   */
  async revoke(shards: string[]): Promise<void> {
    const set = new Set(shards);
    for (const s of shards) {
      this.owned.delete(s);
      this.parkedShards.delete(s);
    }
    const taken = this.queues.takeWaiting((d) => set.has(d.shard), false);
    for (const d of taken) this.emit(d, { kind: 'dropped' });
    const dropped = taken.length;
    if (dropped > 0) {
      this.setMem(-dropped);
      this.log.info(
        { event: 'revoked', shards, dropped },
        'partitions revoked; their unsent work is left to the new owner',
      );
    }
  }

  /** Move every queued (not in-flight) memory delivery matching `which` to the front of its package list. */
  private async parkQueued(which: (d: ParkedDelivery) => boolean): Promise<void> {
    // Front of each package's list, in order (takeWaiting returns them package by package).
    const settled = this.queues.takeWaiting(which, true);
    const now = this.now();
    const items = settled.map((d) => ({ delivery: plain(d), dueAt: now }));
    if (items.length > 0) {
      await this.store.park(items, { front: true });
      for (const d of settled) {
        this.emit(d, { kind: 'parked', why: 'stopping', dueAt: now });
        this.settleMemory(d, 'parked');
      }
    }
  }

  // ───────────────────────────── control ─────────────────────────────

  setPaused(paused: boolean): void {
    this.paused = paused;
    this.log.info({ event: paused ? 'paused' : 'resumed' }, paused ? 'lane paused' : 'lane resumed');
    if (!paused) this.pump();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * A rebalance started: send nothing new (and park nothing) until the assignment is known. Work that
   * stays unsent is re-read by whichever member gets its partition, so holding it avoids sending it twice.
   */
  hold(): void {
    this.held = true;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.pump();
  }

  /** Dead letters back into the lane, at the tail of their packages, with a fresh attempt budget. */
  async replay(ids?: string[]): Promise<number> {
    const dead = await this.store.takeDeadLetters(this.id, ids);
    if (dead.length === 0) return 0;
    const now = this.now();
    await this.store.park(
      dead.map((x) => ({
        delivery: { ...x.delivery, attempts: 0, lastError: `replayed: ${x.reason}` },
        dueAt: now,
      })),
    );
    for (const x of dead) {
      this.emit(x.delivery, { kind: 'replayed' });
      this.bumpGeneration(x.delivery.shard);
      this.parkedShards.add(x.delivery.shard);
    }
    this.pump();
    return dead.length;
  }

  async discard(ids: string[]): Promise<number> {
    const listed = await this.store.listDeadLetters(this.id, 0, 1_000_000);
    const gone = await this.store.discardDeadLetters(this.id, ids);
    const wanted = new Set(ids);
    for (const x of listed.items) if (wanted.has(x.id)) this.emit(x.delivery, { kind: 'discarded' });
    return gone;
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Graceful stop: no new requests; queued memory work is parked at once; in-flight requests get until
   * `deadline` to finish, then are aborted and parked (the customer may see them again: at-least-once).
   */
  async stop(deadline: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.pollTimer);
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    while (this.intakeRunning || this.intake.length > 0) {
      await new Promise((r) => setTimeout(r, 5));
      if (!this.intakeRunning && this.intake.length > 0) void this.runIntake();
    }
    await this.parkQueued(() => true);
    for (const d of this.storeReady.splice(0)) {
      await this.store.release(d, this.now());
      this.setMem(-1);
    }
    if (this.inflight > 0) {
      const idle = new Promise<void>((r) => this.idleWaiters.push(r));
      const left = Math.max(0, deadline - this.now());
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), left)));
      const result = await Promise.race([idle.then(() => 'idle' as const), timedOut]);
      clearTimeout(timer);
      if (result === 'timeout') {
        this.log.warn(
          { inflight: this.inflight },
          'shutdown deadline: aborting in-flight requests and parking them',
        );
        this.abort.abort(new Error('shutdown'));
        if (this.inflight > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
      }
    }
    this.closed = true;
    this.breaker.shutdown();
    await this.sender.close();
  }

  snapshot(): LaneSnapshot {
    return {
      id: this.id,
      url: this.cfg.url,
      paused: this.paused,
      limits: {
        concurrency: this.cfg.concurrency,
        ratePerSecond: this.cfg.ratePerSecond,
        timeoutMs: this.cfg.timeoutMs,
        maxInMemory: this.cfg.maxInMemory,
        retry: this.cfg.retry,
        breaker: this.cfg.breaker,
      },
      inflight: this.inflight,
      pending: this.memCount,
      parked: this.parkedTotal,
      breaker: this.breakerState(),
      recent: this.latency.summary(),
    };
  }
}
