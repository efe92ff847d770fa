/**
 * A lane: everything one customer's deliveries go through. Lanes share nothing but the store, so a
 * customer that is slow, hanging, failing or unreachable only ever fills its own lane.
 *
 * The one-home rule (what keeps per-package order through crashes, rebalances and store errors):
 *   For each package, its pending statuses form one queue in record order, and that queue lives in one
 *   home at a time — this lane's memory, or the store. A move between homes is all-or-nothing for the
 *   package; while a store write about a package is under way, its new arrivals wait behind it; only the
 *   queue's head is ever out.
 *
 *   arrival ─▶ its package's home: memory queue ─────────────────▶ head out ─▶ 2xx / dead: next goes
 *                                │ (retry, slow, breaker open,       │
 *                                │  paused, more than it can drain)  └ failed: the package moves
 *                                ▼                                        to the store, head due later
 *              the store's list (a new package goes there when the lane cannot take it) ─▶ claimed head
 *              out ─▶ settled in the store ─▶ the next head becomes due
 *
 * An arrival whose package has nothing here and whose shard may hold parked work asks the store first
 * (append behind the parked work, or not there). A memory delivery is settled for the commit point when
 * delivered, dead-lettered, or once its move to the store landed. Store writes carry the shard owner's
 * epoch (`store-link.ts`): a stale owner's write is refused and it drops the shard's work.
 */
import type { CustomerConfig } from '../config/customers.ts';
import type { Clock } from '../clock.ts';
import { Alarm, systemClock } from '../clock.ts';
import type { Outcome } from '../delivery/outcome.ts';
import { retryDelay } from '../delivery/retry-schedule.ts';
import { TokenBucket } from '../delivery/rate-limit.ts';
import type { Sender } from '../delivery/http-sender.ts';
import type { ParkedDelivery, RetryStore } from '../store/port.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Logger } from '../observe/logger.ts';
import type { DeliveryObserver, DeliveryStep, ParkReason } from '../observe/delivery-events.ts';
import { NO_OBSERVER } from '../observe/delivery-events.ts';
import { safeUrl } from '../observe/logger.ts';
import { BREAKER_GAUGE, Breaker } from './breaker.ts';
import type { BreakerState } from './breaker.ts';
import { ModeMachine } from './lane-mode.ts';
import type { LaneMode } from './lane-mode.ts';
import { DrainRate, budget, chooseMoves, placeNew, saturated } from './intake-policy.ts';
import type { LaneLoad, MoveReason } from './intake-policy.ts';
import { LatencyWindow } from './latency-window.ts';
import { PackageQueues, packageKey } from './package-queues.ts';
import type { TakenPackage } from './package-queues.ts';
import { ParkedWork } from './parked-work.ts';
import { ShardGone, StoreLink } from './store-link.ts';
import { attempt } from './attempt.ts';
import type { AttemptResult } from './attempt.ts';

export type Settlement = 'delivered' | 'dead' | 'parked';

export interface MemoryDelivery extends ParkedDelivery {
  /** Called exactly once, when this delivery no longer needs its Kafka offset held. */
  onSettled: (how: Settlement) => void;
}

export interface LaneDeps {
  customer: CustomerConfig;
  sender: Sender;
  store: RetryStore;
  metrics: Metrics;
  log: Logger;
  /** Told about every step of every delivery (the delivery log, the live stream). */
  observer?: DeliveryObserver;
  clock?: Clock;
  random?: () => number;
  /** Work the customer cannot take within this long is parked in the store. Default 2000 ms. */
  parkAfterMs?: number;
  /** How often the parked count is read from the store (the gauge, work parked by others). Default 1000 ms. */
  refreshMs?: number;
  /** Another process owns this shard now (a store write was refused): its work here was dropped. */
  onFenced?: (shard: string, ownerGeneration: number | null) => void;
}

export interface LaneSnapshot {
  id: string;
  url: string;
  mode: LaneMode;
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

/** One request in flight. */
interface Out {
  d: ParkedDelivery;
  from: 'memory' | 'store';
  /** A memory head being moved to the store: resolves true when it now belongs to the store. */
  moving: Promise<boolean> | null;
  /** Its shard went away: the answer changes nothing here. */
  dropped: boolean;
  startedAt: number;
}

/** A package whose home is being decided or changed by a store write; its arrivals wait behind it. */
interface Limbo {
  shard: string;
  /** What the write is about (the asking delivery, or the package being moved), then arrivals, in order. */
  items: MemoryDelivery[];
}

const SPILL_EVERY_MS = 250;
const MAX_REPLAY_PAGE = 500;

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
  private readonly deps: LaneDeps;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly observer: DeliveryObserver;
  private readonly parkAfterMs: number;
  private readonly mode: ModeMachine;
  private readonly breaker: Breaker;
  private readonly rate: DrainRate;
  private readonly bucket: TokenBucket | null;
  private readonly latency = new LatencyWindow(1024);
  private readonly link: StoreLink;
  private readonly queues = new PackageQueues<MemoryDelivery>();
  private readonly parked = new ParkedWork();
  private readonly limbo = new Map<string, Limbo>();
  private limboCount = 0;
  private readonly outs = new Map<string, Out>();
  private inflight = 0;
  private parkedTotal = 0;
  private readonly abort = new AbortController();
  private readonly writes = new Set<Promise<unknown>>();
  private roomWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private pumpQueued = false;
  private drainQueued = false;
  private preferStore = false;
  private readonly pumpAlarm: Alarm;
  private readonly drainAlarm: Alarm;
  private readonly breakerAlarm: Alarm;
  private readonly wakeAlarm: Alarm;
  private readonly spillAlarm: Alarm;
  private readonly refreshAlarm: Alarm;
  private refreshing = false;

  constructor(deps: LaneDeps) {
    this.deps = deps;
    this.cfg = deps.customer;
    this.id = deps.customer.id;
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? Math.random;
    this.log = deps.log.child({ customer: this.id });
    this.observer = deps.observer ?? NO_OBSERVER;
    this.parkAfterMs = deps.parkAfterMs ?? 2000;
    this.breaker = new Breaker(this.cfg.breaker);
    this.rate = new DrainRate(this.cfg.concurrency, this.cfg.ratePerSecond);
    this.bucket = this.cfg.ratePerSecond ? new TokenBucket(this.cfg.ratePerSecond, this.clock.now()) : null;
    this.mode = new ModeMachine((from, to) => this.modeChanged(from, to));
    this.link = new StoreLink({
      customer: this.id,
      store: deps.store,
      clock: this.clock,
      log: this.log,
      random: this.random,
      onError: (op, err) => {
        deps.metrics.storeErrors.inc({ op });
        this.log.warn({ op, err: (err as Error).message }, 'store call failed; the work is kept and retried');
      },
      onFenced: (shard, generation) => {
        deps.metrics.fenced.inc();
        this.dropShard(shard);
        deps.onFenced?.(shard, generation);
      },
    });
    this.pumpAlarm = new Alarm(this.clock, () => this.pump());
    this.drainAlarm = new Alarm(this.clock, () => void this.drain());
    this.breakerAlarm = new Alarm(this.clock, () => this.breakerTick());
    this.wakeAlarm = new Alarm(this.clock, () => this.wake());
    this.spillAlarm = new Alarm(this.clock, () => this.spill());
    this.refreshAlarm = new Alarm(this.clock, () => void this.refresh());
    this.refreshAlarm.at(this.clock.now() + (deps.refreshMs ?? 1000));
    deps.metrics.circuitState.set({ customer: this.id }, 0);
    this.gauges();
  }

  // ───────────────────────────── load ─────────────────────────────

  /** Deliveries held in memory: queued or out, waiting for a store write, claimed from the store. */
  get held(): number {
    return this.queues.size + this.limboCount + this.parked.claimedCount;
  }

  /** Every delivery this lane holds (queued, out, waiting for a write, claimed), by delivery id: for tests. */
  heldDeliveries(): string[] {
    const ids: string[] = [];
    for (const v of this.queues.views()) ids.push(...this.queues.itemsOf(v.key).map((d) => d.deliveryId));
    for (const l of this.limbo.values()) ids.push(...l.items.map((d) => d.deliveryId));
    ids.push(...this.parked.claimedIds());
    for (const id of this.outs.keys()) ids.push(id);
    return ids;
  }

  private load(): LaneLoad {
    // The oldest request in flight is the first in `outs` (a Map keeps insertion order).
    const first = this.outs.values().next();
    const oldestOut = first.done ? 0 : this.clock.now() - first.value.startedAt;
    const perSecond = this.rate.perSecond(oldestOut);
    return {
      mode: this.mode.mode,
      held: this.held,
      cap: this.cfg.maxInMemory,
      concurrency: this.cfg.concurrency,
      drainable: (perSecond * this.parkAfterMs) / 1000,
    };
  }

  /**
   * Should fetching wait for this lane? When it is full and will empty within PARK_AFTER_MS (a slow lane
   * parks instead and never makes fetching wait), or it holds twice `maxInMemory` (the store is refusing
   * the work it would park).
   */
  get saturated(): boolean {
    if (!this.mode.accepts) return false;
    if (this.held >= 2 * this.cfg.maxInMemory) return true;
    return this.held >= this.cfg.maxInMemory && saturated(this.load());
  }

  whenRoom(): Promise<void> {
    if (!this.saturated) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private roomMaybe(): void {
    if (this.roomWaiters.length === 0 || this.saturated) return;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  // ───────────────────────────── intake ─────────────────────────────

  /** Take a delivery. Never waits for the customer; the pipeline asked `saturated` before. */
  accept(d: MemoryDelivery): void {
    if (!this.mode.accepts) throw new Error(`lane ${this.id} is stopping`);
    this.emit(d, { kind: 'accepted' });
    this.route(d, false);
    this.gauges();
  }

  /** Send `d` to its package's home. `absent`: the store just said its package has nothing parked. */
  private route(d: MemoryDelivery, absent: boolean): void {
    const key = packageKey(d);
    const waiting = this.limbo.get(key);
    if (waiting) {
      waiting.items.push(d);
      this.limboCount += 1;
      return;
    }
    if (this.queues.has(key)) return this.toMemory(d);
    if (!absent && this.parked.mayHaveParked(d.shard)) return this.ask(key, d);
    if (placeNew(this.load()) === 'memory') return this.toMemory(d);
    this.moveNew(key, d);
  }

  private toMemory(d: MemoryDelivery): void {
    this.queues.push(d);
    this.pumpSoon();
    this.spillSoon();
  }

  private enterLimbo(key: string, shard: string, items: readonly MemoryDelivery[]): Limbo {
    // A copy: arrivals join `l.items`, never the array the store write is about.
    const l: Limbo = { shard, items: [...items] };
    this.limbo.set(key, l);
    this.limboCount += items.length;
    return l;
  }

  /** Leave limbo: returns the arrivals that waited behind `first` deliveries (they are routed again). */
  private leaveLimbo(key: string, l: Limbo, first: number): MemoryDelivery[] {
    this.limbo.delete(key);
    this.limboCount -= l.items.length;
    return l.items.slice(first);
  }

  /** The shard may hold parked work: append behind it, or learn the package has none. */
  private ask(key: string, d: MemoryDelivery): void {
    const l = this.enterLimbo(key, d.shard, [d]);
    this.track(
      this.link.ask(plain(d)).then(
        (parked) => {
          if (this.limbo.get(key) !== l) return; // dropped meanwhile
          const rest = this.leaveLimbo(key, l, 1);
          if (parked) {
            this.settleMemory(d, 'parked', 'behind', null);
            for (const r of rest) this.route(r, false);
          } else {
            this.route(d, true);
            for (const r of rest) this.route(r, false);
          }
          this.roomMaybe();
        },
        (err: unknown) => this.unlessGone(err),
      ),
    );
  }

  /** A new package goes straight to the store (the lane cannot take it now). */
  private moveNew(key: string, d: MemoryDelivery): void {
    const why: ParkReason =
      this.mode.mode === 'paused' ? 'paused' : this.mode.mode === 'open' ? 'breaker_open' : 'capacity';
    const now = this.clock.now();
    const l = this.enterLimbo(key, d.shard, [d]);
    this.track(
      this.link
        .move(d.shard, { orderingKey: d.orderingKey, items: [plain(d)], dueAt: now, headClaimed: false })
        .then(
          () => {
            if (this.limbo.get(key) !== l) return;
            const rest = this.leaveLimbo(key, l, 1);
            this.parked.touched(d.shard, now);
            this.settleMemory(d, 'parked', why, now);
            for (const r of rest) this.route(r, false);
            this.drainSoon();
            this.roomMaybe();
          },
          (err: unknown) => {
            if (err instanceof ShardGone || this.limbo.get(key) !== l) return;
            // The store refused: the package lives in memory after all (bounded by the hard cap).
            const all = this.leaveLimbo(key, l, 0);
            for (const r of all) this.toMemory(r);
          },
        ),
    );
  }

  // ───────────────────────────── moves to the store ─────────────────────────────

  /** Every SPILL_EVERY_MS while memory holds work: move whatever the customer cannot take now. */
  private spill(): void {
    if (this.queues.packages === 0) return;
    this.spillAlarm.at(this.clock.now() + SPILL_EVERY_MS);
    const views = [...this.queues.views()].filter((v) => !this.settlingHeads.has(v.key));
    const moves = chooseMoves(views, this.load(), this.clock.now(), this.parkAfterMs);
    for (const m of moves) this.move(m.key, m.why);
  }

  private spillSoon(): void {
    this.spillAlarm.at(this.clock.now() + SPILL_EVERY_MS);
  }

  /** Heads whose outcome is being written (a dead letter): not movable. */
  private readonly settlingHeads = new Set<string>();

  /** Move a memory package to the store, whole; its head may be out (it becomes a claimed head there). */
  private move(key: string, why: MoveReason): void {
    const taken = this.queues.take(key);
    if (!taken) return;
    const head = taken.items[0]!;
    const shard = head.shard;
    const out = taken.out ? this.outs.get(head.deliveryId) : undefined;
    if (taken.out && !out) {
      // Its answer is being acted on right now (it should have been skipped as settling): leave it.
      this.queues.restore(taken);
      this.log.error({ key }, 'lane: a package with an answered head was chosen to move; left in memory');
      return;
    }
    const l = this.enterLimbo(key, shard, taken.items);
    const now = this.clock.now();
    let done: (toStore: boolean) => void = () => {};
    if (out) out.moving = new Promise<boolean>((r) => (done = r));
    const dueAt = taken.retryAt ?? now;
    this.track(
      this.link
        .move(shard, {
          orderingKey: head.orderingKey,
          items: taken.items.map(plain),
          dueAt,
          headClaimed: taken.out,
        })
        .then(
          () => {
            if (this.limbo.get(key) !== l) return done(false);
            const rest = this.leaveLimbo(key, l, taken.items.length);
            if (out) this.parked.adopt(plain(head));
            this.parked.touched(shard, taken.out ? null : dueAt);
            taken.items.forEach((d, i) => this.settleMemory(d, 'parked', why, i === 0 ? dueAt : now));
            done(true);
            for (const r of rest) this.route(r, false);
            this.drainSoon();
            this.roomMaybe();
          },
          (err: unknown) => {
            if (err instanceof ShardGone || this.limbo.get(key) !== l) return done(false);
            this.restore(key, l, taken);
            done(false);
          },
        ),
    );
  }

  /** A move failed: the package is back in memory as it was, with what arrived meanwhile behind it. */
  private restore(key: string, l: Limbo, taken: TakenPackage<MemoryDelivery>): void {
    const rest = this.leaveLimbo(key, l, taken.items.length);
    this.queues.restore(taken, rest);
    this.pumpSoon();
    this.spillSoon();
    if (taken.retryAt !== null) this.wakeAlarm.at(taken.retryAt);
  }

  // ───────────────────────────── sending ─────────────────────────────

  private pumpSoon(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private pump(): void {
    if (!this.mode.sends) return;
    const now = this.clock.now();
    while (this.inflight < this.cfg.concurrency && this.breaker.mayStart(now)) {
      const out = this.nextOut(now);
      if (!out) break;
      if (this.bucket) {
        const wait = this.bucket.take(now);
        if (wait > 0) {
          this.putBack(out);
          this.pumpAlarm.at(now + wait);
          break;
        }
      }
      this.send(out);
    }
    this.drainSoon();
  }

  /** Memory and parked work take turns. */
  private nextOut(now: number): Out | null {
    this.preferStore = !this.preferStore;
    const order = this.preferStore ? (['store', 'memory'] as const) : (['memory', 'store'] as const);
    for (const from of order) {
      const d = from === 'memory' ? this.queues.next(now) : this.parked.next();
      if (d) return { d, from, moving: null, dropped: false, startedAt: now };
    }
    return null;
  }

  private putBack(out: Out): void {
    if (out.from === 'memory') this.queues.putBack(out.d as MemoryDelivery);
    else this.parked.putBack(out.d);
  }

  private send(out: Out): void {
    this.inflight += 1;
    this.outs.set(out.d.deliveryId, out);
    this.emit(out.d, { kind: 'sending', attempt: out.d.attempts + 1 });
    this.gauges();
    this.spillSoon();
    void attempt(out.d, {
      sender: this.deps.sender,
      breaker: this.breaker,
      clock: this.clock,
      signal: this.abort.signal,
    }).then((res) => this.answered(out, res));
  }

  private answered(out: Out, res: AttemptResult): void {
    this.inflight -= 1;
    this.outs.delete(out.d.deliveryId);
    // From its answer until its outcome is acted on, a memory head is not movable.
    const key = packageKey(out.d);
    if (out.from === 'memory' && !out.dropped) this.settlingHeads.add(key);
    if (this.inflight === 0) this.notifyIdle();
    this.breakerTick();
    this.gauges();
    if (res.aborted) {
      // Cut by shutdown: not an attempt. It goes back where it now lives.
      const back = (toStore: boolean) => {
        this.settlingHeads.delete(key);
        if (!toStore && !out.dropped) this.putBack(out);
      };
      if (out.moving) void out.moving.then(back);
      else back(false);
      return;
    }
    const { outcome, durationMs } = res;
    const d = out.d;
    const m = this.deps.metrics;
    m.attempts.inc({ customer: this.id, result: outcome.result });
    m.attemptDuration.observe({ customer: this.id }, durationMs / 1000);
    this.latency.add(durationMs);
    this.rate.observe(durationMs);
    this.emit(d, {
      kind: 'attempted',
      attempt: d.attempts + 1,
      result: outcome.result,
      httpStatus: outcome.status,
      durationMs,
      detail: outcome.detail,
    });
    this.pump(); // the slot is free before the store hears the outcome
    if (out.dropped) {
      this.settlingHeads.delete(key);
      return;
    }
    if (outcome.decision === 'delivered') {
      m.deliveries.inc({ customer: this.id, outcome: 'delivered' });
      const now = this.clock.now();
      this.emit(d, {
        kind: 'delivered',
        attempts: d.attempts + 1,
        endToEndMs: d.commitTsMs === null ? null : Math.max(0, now - d.commitTsMs),
      });
      if (d.commitTsMs !== null)
        m.endToEnd.observe({ customer: this.id }, Math.max(0, now - d.commitTsMs) / 1000);
    }
    if (out.moving) {
      void out.moving.then((toStore) => {
        if (!out.dropped) this.settle(out, toStore ? 'store' : 'memory', outcome);
      });
    } else this.settle(out, out.from, outcome);
  }

  /** Act on an answered attempt, where its delivery now lives. */
  private settle(out: Out, home: 'memory' | 'store', outcome: Outcome): void {
    const d = out.d;
    const attempts = d.attempts + 1;
    const failed = { ...plain(d), attempts, lastError: outcome.detail };
    const plan =
      outcome.decision === 'retry' ? retryDelay(attempts, outcome, this.cfg.retry, this.random) : null;
    const dead =
      outcome.decision === 'dead'
        ? `permanent failure: ${outcome.detail}`
        : plan?.giveUp
          ? `gave up after ${attempts} attempts; last: ${outcome.detail}`
          : null;
    if (dead === null || home === 'store') this.settlingHeads.delete(packageKey(d));
    if (home === 'memory') {
      const md = d as MemoryDelivery;
      if (outcome.decision === 'delivered') {
        this.queues.done(md);
        this.settleMemory(md, 'delivered', null, null);
      } else if (dead !== null) {
        this.deadLetterMemory(md, failed, dead);
      } else if (plan && !plan.giveUp) {
        md.attempts = attempts;
        md.lastError = outcome.detail;
        const dueAt = this.clock.now() + plan.delayMs;
        this.queues.defer(md, dueAt);
        this.wakeAlarm.at(dueAt);
        this.move(packageKey(md), 'retry');
      }
      this.pumpSoon();
      return;
    }
    const now = this.clock.now();
    const op =
      outcome.decision === 'delivered'
        ? ({ op: 'complete', delivery: d } as const)
        : dead !== null
          ? ({ op: 'dead', delivery: failed, reason: dead } as const)
          : ({
              op: 'reschedule',
              delivery: failed,
              dueAt: now + (plan && !plan.giveUp ? plan.delayMs : 0),
            } as const);
    this.parked.settling(d);
    this.track(
      this.link.settle(d.shard, op).then(
        () => {
          this.parked.release(d);
          this.parked.touched(d.shard, op.op === 'reschedule' ? op.dueAt : now);
          if (op.op === 'dead') this.deadLettered(failed, op.reason);
          if (op.op === 'reschedule') this.emit(d, { kind: 'parked', why: 'retry', dueAt: op.dueAt });
          this.drainSoon();
          this.roomMaybe();
          this.gauges();
        },
        (err: unknown) => this.unlessGone(err),
      ),
    );
  }

  /** The head stays settling (not movable, not sent) until its dead letter is written. */
  private deadLetterMemory(d: MemoryDelivery, failed: ParkedDelivery, reason: string): void {
    const key = packageKey(d);
    this.track(
      this.link.deadLetter(failed, reason).then(
        () => {
          this.settlingHeads.delete(key);
          this.queues.done(d);
          this.deadLettered(failed, reason);
          this.settleMemory(d, 'dead', null, null);
          this.pumpSoon();
        },
        (err: unknown) => {
          this.settlingHeads.delete(key);
          this.unlessGone(err);
        },
      ),
    );
  }

  private deadLettered(d: ParkedDelivery, reason: string): void {
    this.log.warn(
      { event: 'dead_letter', eventId: d.eventId, attempts: d.attempts, reason },
      'delivery dead-lettered',
    );
    this.deps.metrics.deliveries.inc({ customer: this.id, outcome: 'dead_lettered' });
    this.emit(d, { kind: 'dead', attempts: d.attempts, reason });
  }

  /** A memory delivery no longer holds its offset. */
  private settleMemory(
    d: MemoryDelivery,
    how: 'delivered' | 'dead' | 'parked',
    why: ParkReason | null,
    dueAt: number | null,
  ): void {
    if (how === 'parked') this.emit(d, { kind: 'parked', why: why ?? 'capacity', dueAt });
    try {
      d.onSettled(how);
    } catch (err) {
      this.log.error({ err }, 'settle callback failed');
    }
    this.roomMaybe();
    this.gauges();
  }

  private unlessGone(err: unknown): void {
    if (err instanceof ShardGone) return;
    this.log.error({ err }, 'unexpected lane failure');
  }

  private track(p: Promise<unknown>): void {
    this.writes.add(p);
    void p.finally(() => this.writes.delete(p));
  }

  // ───────────────────────────── parked work ─────────────────────────────

  private drainSoon(): void {
    if (this.drainQueued) return;
    this.drainQueued = true;
    queueMicrotask(() => {
      this.drainQueued = false;
      void this.drain();
    });
  }

  /** Claim due heads of parked packages while there is room (two rounds of concurrency ahead). */
  private async drain(): Promise<void> {
    if (!this.mode.sends) return;
    const now = this.clock.now();
    let room = Math.min(2 * this.cfg.concurrency - this.parked.readyCount, budget(this.load()) - this.held);
    if (this.breaker.state(now) === 'half-open') room = Math.min(room, this.parked.readyCount === 0 ? 1 : 0);
    const shards = room > 0 ? this.parked.dueShards(now) : [];
    if (shards.length === 0) {
      const next = this.parked.earliestDue();
      if (room > 0 && next !== null) this.drainAlarm.at(next);
      return;
    }
    const share = Math.max(1, Math.ceil(room / shards.length));
    await Promise.all(
      shards.map(async (shard) => {
        this.parked.startClaim(shard);
        let res = null;
        try {
          res = await this.link.claim(shard, share);
        } catch (err) {
          if (err instanceof ShardGone) return;
        }
        if (this.parked.endClaim(shard, res, this.clock.now() + 1000).length > 0) this.pumpSoon();
      }),
    );
    this.gauges();
    const next = this.parked.earliestDue();
    if (next !== null) this.drainAlarm.at(Math.max(next, this.clock.now()));
  }

  private wake(): void {
    const next = this.queues.wake(this.clock.now());
    if (next !== null) this.wakeAlarm.at(next);
    this.pumpSoon();
  }

  /** Every second: the parked count (the gauge) and shards with work parked by someone else (a replay). */
  private async refresh(): Promise<void> {
    this.refreshAlarm.at(this.clock.now() + (this.deps.refreshMs ?? 1000));
    if (this.refreshing || !this.mode.accepts) return;
    this.refreshing = true;
    try {
      this.parkedTotal = await this.deps.store.parkedCount(this.id);
      this.deps.metrics.retryQueueDepth.set({ customer: this.id }, this.parkedTotal);
      for (const shard of this.link.ownedShards) {
        const before = this.parked.writesOf(shard);
        this.parked.refreshed(shard, await this.deps.store.parkedCount(this.id, shard), before);
      }
      this.drainSoon();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not read the parked count');
    } finally {
      this.refreshing = false;
    }
  }

  // ───────────────────────────── ownership ─────────────────────────────

  /**
   * A partition assigned to this process: take it over in the store (the previous owner is fenced).
   * `generation`: the group generation of the assignment, when the source knows it.
   */
  async assign(shard: string, generation: number | null = null): Promise<void> {
    if (this.link.owns(shard)) return;
    const parked = await this.link.takeOver(shard, generation);
    this.parked.addShard(shard, parked);
    if (parked > 0) this.drainSoon();
  }

  /**
   * Partitions taken away. With `graceMs`, requests of theirs in flight get that long to finish first.
   * Then their work here is dropped, unsettled: the new owner reads it again from Kafka, and takes their
   * parked work over (claims here end with its takeover).
   */
  async revoke(shards: string[], graceMs = 0): Promise<void> {
    const set = new Set(shards);
    if (graceMs > 0) {
      const until = this.clock.now() + graceMs;
      while (this.clock.now() < until && [...this.outs.values()].some((o) => set.has(o.d.shard))) {
        await new Promise<void>((r) => this.clock.after(20, r));
      }
    }
    for (const s of shards) {
      this.link.forget(s);
      this.dropShard(s);
    }
  }

  private dropShard(shard: string): void {
    let dropped = 0;
    for (const v of [...this.queues.views()]) {
      if (v.shard !== shard) continue;
      const taken = this.queues.take(v.key)!;
      for (const d of taken.items) this.emit(d, { kind: 'dropped' });
      dropped += taken.items.length;
    }
    for (const [key, l] of [...this.limbo]) {
      if (l.shard !== shard) continue;
      this.leaveLimbo(key, l, 0).forEach((d) => this.emit(d, { kind: 'dropped' }));
      dropped += l.items.length;
    }
    for (const d of this.parked.removeShard(shard)) this.emit(d, { kind: 'dropped' });
    for (const o of this.outs.values()) if (o.d.shard === shard) o.dropped = true;
    for (const key of [...this.settlingHeads])
      if (key.startsWith(`${shard}\u0000`)) this.settlingHeads.delete(key);
    if (dropped > 0)
      this.log.info(
        { event: 'dropped', shard, dropped },
        'partition left: its unsent work is the next owner’s',
      );
    this.roomMaybe();
    this.gauges();
  }

  // ───────────────────────────── modes ─────────────────────────────

  private modeChanged(from: LaneMode, to: LaneMode): void {
    this.log.info({ event: 'mode', from, to }, `lane ${to}`);
    if (to === 'running') {
      this.pumpSoon();
      this.drainSoon();
    }
    // Never from inside the transition: the caller may be halfway through an answer or a move.
    if (to === 'open' || to === 'paused') queueMicrotask(() => this.spill());
    queueMicrotask(() => this.roomMaybe());
  }

  private breakerTick(): void {
    const now = this.clock.now();
    const state = this.breaker.state(now);
    this.deps.metrics.circuitState.set({ customer: this.id }, BREAKER_GAUGE[state]);
    if (state === 'open') {
      if (this.mode.mode === 'running')
        this.log.warn({ event: 'breaker_open' }, 'circuit opened: deliveries wait');
      this.mode.breakerOpened();
      this.breakerAlarm.at(this.breaker.reopensAt()!);
    } else {
      this.mode.breakerAllows();
      if (state === 'half-open') this.pumpSoon();
    }
  }

  setPaused(paused: boolean): void {
    if (paused) this.mode.pause();
    else this.mode.resume(this.breaker.state(this.clock.now()) === 'open');
  }

  get isPaused(): boolean {
    return this.mode.operatorPaused;
  }

  /** A rebalance started: nothing new goes out until the assignment is known. */
  hold(): void {
    this.mode.hold();
  }

  release(): void {
    this.mode.release();
  }

  /** Dead letters back into the lane (each on its own, with a fresh attempt budget), page by page. */
  async replay(ids?: string[]): Promise<number> {
    let n = 0;
    for (let page = 0; ; page++) {
      const batch = ids ? ids.slice(page * MAX_REPLAY_PAGE, (page + 1) * MAX_REPLAY_PAGE) : null;
      if (batch && batch.length === 0) break;
      const now = this.clock.now();
      const r = await this.deps.store.replayDeadLetters(this.id, batch, now, MAX_REPLAY_PAGE);
      for (const x of r.replayed) {
        this.emit(x.delivery, { kind: 'replayed' });
        this.parked.touched(x.delivery.shard, now);
      }
      n += r.replayed.length;
      if (!batch && (r.remaining === 0 || r.replayed.length === 0)) break;
    }
    this.drainSoon();
    return n;
  }

  async discard(ids: string[]): Promise<number> {
    const listed = await this.deps.store.listDeadLetters(this.id, 0, 1_000_000);
    const wanted = new Set(ids);
    const gone = await this.deps.store.discardDeadLetters(this.id, ids);
    for (const x of listed.items) if (wanted.has(x.id)) this.emit(x.delivery, { kind: 'discarded' });
    return gone;
  }

  /**
   * Graceful stop: nothing new goes out; in-flight requests get until `deadline`, then are aborted (not
   * charged); store writes under way get until the deadline too. Queued memory work stays unsettled: its
   * offsets were never committed and the next owner reads it again.
   */
  async stop(deadline: number): Promise<void> {
    if (!this.mode.accepts) return;
    this.mode.stop();
    for (const a of [
      this.pumpAlarm,
      this.drainAlarm,
      this.breakerAlarm,
      this.wakeAlarm,
      this.spillAlarm,
      this.refreshAlarm,
    ])
      a.cancel();
    const left = () => Math.max(0, deadline - this.clock.now());
    if (this.inflight > 0) {
      const idle = new Promise<void>((r) => this.idleWaiters.push(r));
      if ((await within(this.clock, idle, left())) === 'timeout') {
        this.log.warn({ inflight: this.inflight }, 'shutdown deadline: aborting in-flight requests');
        this.abort.abort(new Error('shutdown'));
        if (this.inflight > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
      }
    }
    await within(this.clock, Promise.allSettled([...this.writes]), Math.max(left(), 1000));
    this.link.close();
    this.mode.stopped();
    for (const w of this.roomWaiters) w();
    this.roomWaiters = [];
    await this.deps.sender.close();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  // ───────────────────────────── reporting ─────────────────────────────

  private emit(d: ParkedDelivery, step: DeliveryStep): void {
    this.observer.delivery({
      at: this.clock.now(),
      customer: this.id,
      eventId: d.eventId,
      packageId: d.orderingKey,
      label: d.label ?? null,
      ...step,
    });
  }

  private gauges(): void {
    this.deps.metrics.inflight.set({ customer: this.id }, this.inflight);
    this.deps.metrics.pending.set({ customer: this.id }, this.held);
  }

  snapshot(): LaneSnapshot {
    return {
      id: this.id,
      url: safeUrl(this.cfg.url),
      mode: this.mode.mode,
      paused: this.mode.operatorPaused,
      limits: {
        concurrency: this.cfg.concurrency,
        ratePerSecond: this.cfg.ratePerSecond,
        timeoutMs: this.cfg.timeoutMs,
        maxInMemory: this.cfg.maxInMemory,
        retry: this.cfg.retry,
        breaker: this.cfg.breaker,
      },
      inflight: this.inflight,
      pending: this.held,
      parked: this.parkedTotal,
      breaker: this.breaker.state(this.clock.now()),
      recent: this.latency.summary(),
    };
  }
}

async function within(clock: Clock, p: Promise<unknown>, ms: number): Promise<'done' | 'timeout'> {
  let timer: { cancel(): void } | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = clock.after(ms, () => r('timeout'))));
  const res = await Promise.race([p.then(() => 'done' as const), timeout]);
  timer?.cancel();
  return res;
}
