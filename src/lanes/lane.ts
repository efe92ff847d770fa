/**
 * A lane: everything one customer's deliveries go through. Lanes share nothing but the store, so a
 * customer that is slow, hanging, failing or unreachable only ever fills its own lane.
 *
 * The parts, each owning its state:
 *   homes.ts       where pending work lives (memory or the store: the one-home rule), moves between them
 *   dispatch.ts    the requests out, and acting on their answers
 *   parked-work.ts what this lane knows of its parked work, and the heads it claimed from the store
 *   claims.ts      bringing parked work back (claims, the parked count, operator replays)
 *   store-link.ts  the store writes, fenced by the shard owner's epoch, batched, retried on error
 *   lane-mode.ts   the mode (running, open, paused, held, stopping, stopped) that says what may happen
 *   limits.ts      the customer's limits, shared by the group's integrators, leased from the store
 *   health.ts      the lane's drain rate and health verdict;  process-load.ts: is the process the bottleneck?
 *   intake-policy.ts, package-queues.ts: the pure decisions
 * This file composes them: the lane's load and back-pressure, ownership of partitions, modes, shutdown,
 * and what it reports.
 */
import type { CustomerConfig } from '../config/customers.ts';
import { type Clock, systemClock, within } from '../clock.ts';
import type { ParkedDelivery } from '../store/port.ts';
import type { Logger } from '../report/logger.ts';
import { type DeliveryObserver, type DeliveryStep, NO_OBSERVER } from '../report/delivery-events.ts';
import { BREAKER_GAUGE } from '../store/limits.ts';
import { LaneLimits } from './limits.ts';
import { type LaneMode, ModeMachine } from './lane-mode.ts';
import { type LaneLoad, budget, refill, saturated } from './intake-policy.ts';
import { LaneHealth } from './health.ts';
import { LatencyWindow } from './latency-window.ts';
import { ParkedWork } from './parked-work.ts';
import { StoreLink } from './store-link.ts';
import { Claims } from './claims.ts';
import { Homes } from './homes.ts';
import { Dispatcher } from './dispatch.ts';
import type { MemoryDelivery, Settlement } from './delivery.ts';
import { type LaneDeps, type LaneSnapshot, Waiters, snapshotOf } from './lane-types.ts';

export type { MemoryDelivery, Settlement, LaneDeps, LaneSnapshot };

export class Lane {
  readonly id: string;
  private readonly cfg: CustomerConfig;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly observer: DeliveryObserver;
  private readonly parkAfterMs: number;
  private readonly mode: ModeMachine;
  private readonly limits: LaneLimits;
  private readonly health: LaneHealth;
  private readonly latency = new LatencyWindow(1024);
  private readonly link: StoreLink;
  private readonly parked = new ParkedWork();
  private readonly homes: Homes;
  private readonly dispatch: Dispatcher;
  private readonly claims: Claims;
  private readonly writes = new Set<Promise<unknown>>();
  private readonly roomWaiters = new Waiters();
  private readonly idleWaiters = new Waiters();
  private pumpQueued = false;

  constructor(private readonly deps: LaneDeps) {
    this.cfg = deps.customer;
    this.id = deps.customer.id;
    this.clock = deps.clock ?? systemClock;
    const random = deps.random ?? Math.random;
    this.log = deps.log.child({ customer: this.id });
    this.observer = deps.observer ?? NO_OBSERVER;
    this.parkAfterMs = deps.parkAfterMs ?? 2000;
    this.health = new LaneHealth(this.cfg, this.parkAfterMs);
    this.mode = new ModeMachine((from, to) => this.modeChanged(from, to));
    const base = { clock: this.clock, log: this.log, random, metrics: deps.metrics };
    this.link = new StoreLink({
      ...base,
      customer: this.id,
      store: deps.store,
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
    this.limits = new LaneLimits({
      ...base,
      cfg: this.cfg,
      store: deps.store,
      holder: deps.holder ?? 'local',
      leaseMs: deps.leaseMs,
      tokenFreshMs: deps.tokenFreshMs,
      demand: () => ({
        out: this.dispatch.inflight,
        ready: this.mode.sends ? this.dispatch.readyCount() : 0,
      }),
      granted: () => this.followLimits(),
      cutOff: () => this.dispatch.cutAll(new Error('lease on the shared limits lost')),
    });
    const track = (p: Promise<unknown>) => {
      this.writes.add(p);
      void p.finally(() => this.writes.delete(p));
    };
    this.homes = new Homes({
      ...base,
      link: this.link,
      parked: this.parked,
      parkAfterMs: this.parkAfterMs,
      load: () => this.load(),
      outOf: (id) => this.dispatch.outs.get(id),
      wentToStore: (d, why, dueAt) => {
        this.emit(d, { kind: 'parked', why, dueAt });
        this.settle(d, 'parked');
      },
      changed: () => this.changed(),
      dropped: (ds) => {
        for (const d of ds) this.emit(d, { kind: 'dropped' });
        this.changed();
      },
      track,
    });
    this.dispatch = new Dispatcher({
      ...base,
      cfg: this.cfg,
      sender: deps.sender,
      limits: this.limits,
      homes: this.homes,
      parked: this.parked,
      link: this.link,
      sends: () => this.mode.sends,
      emit: (d, step) => this.emit(d, step),
      took: (ms) => {
        this.latency.add(ms);
        this.health.took(ms);
      },
      settled: (d, how) => this.settle(d, how),
      changed: () => {
        this.claims.soon();
        this.roomMaybe();
      },
      track,
      idle: () => this.idleWaiters.wake(),
    });
    this.claims = new Claims({
      ...base,
      customer: this.id,
      store: deps.store,
      link: this.link,
      parked: this.parked,
      refreshMs: deps.refreshMs ?? 1000,
      room: () => this.claimRoom(),
      claimed: () => this.pumpSoon(),
      active: () => this.mode.accepts,
      emit: (d, step) => this.emit(d, step),
    });
    deps.metrics.circuitState.set({ customer: this.id }, 0);
    deps.metrics.beforeScrape.add(this.gauges);
    this.limits.begin();
  }

  // ───────────────────────────── load and back-pressure ─────────────────────────────

  /** Deliveries held in memory: queued or out, waiting for a store write, claimed from the store. */
  get held(): number {
    return this.homes.size + this.parked.claimedCount;
  }

  /** What the lane believes about its parked work: for tests and traces. */
  describeParked(): string {
    return `${this.parked.describe()} mode=${this.mode.mode} room=${this.claimRoom()}`;
  }

  /** Every delivery this lane holds (queued, out, waiting for a write, claimed), by delivery id: for tests. */
  heldDeliveries(): string[] {
    return [...this.homes.ids(), ...this.parked.claimedIds(), ...this.dispatch.outs.keys()];
  }

  /** The lane as the intake policy sees it, holding `extra` more deliveries than it does. */
  private load(extra = 0): LaneLoad {
    const now = this.clock.now();
    const { mode } = this.mode;
    const { maxInMemory: cap, concurrency } = this.cfg;
    const oldestOutMs = this.dispatch.oldestOutMs(now);
    const processBusy = this.deps.processBusy?.() ?? false;
    const held = this.held + extra;
    return this.health.load({ mode, held, cap, concurrency, oldestOutMs, processBusy }, now);
  }

  /**
   * Should fetching wait for this lane? When it is full and will empty within PARK_AFTER_MS (a slow lane
   * parks instead and never makes fetching wait), or it holds twice `maxInMemory` (the store is refusing
   * the work it would park).
   */
  get saturated(): boolean {
    return this.fullWith(0);
  }

  private fullWith(extra: number): boolean {
    if (!this.mode.accepts) return false;
    const held = this.held + extra;
    if (held >= 2 * this.cfg.maxInMemory) return true;
    return held >= this.cfg.maxInMemory && saturated(this.load(extra));
  }

  /** Resolves when a refill fits (`refill` in intake-policy.ts) or the lane stops being saturated. */
  whenRoom(): Promise<void> {
    return this.saturated ? this.roomWaiters.wait() : Promise.resolve();
  }

  private roomMaybe(): void {
    const fits = refill(this.cfg.maxInMemory, this.cfg.concurrency) - 1;
    if (this.roomWaiters.size > 0 && !this.fullWith(fits)) this.roomWaiters.wake();
  }

  /** Take a delivery. Never waits for the customer; the pipeline asked `saturated` before. */
  accept(d: MemoryDelivery): void {
    if (!this.mode.accepts) throw new Error(`lane ${this.id} is stopping`);
    this.emit(d, { kind: 'accepted' });
    // A partition not (or no longer) ours: its records are the owner's to deliver.
    if (!this.link.owns(d.shard)) return this.emit(d, { kind: 'dropped' });
    this.homes.route(d);
  }

  /** A memory delivery no longer holds its offset (delivered, dead-lettered, or now in the store). */
  private settle(d: MemoryDelivery, how: Settlement): void {
    try {
      d.onSettled(how);
    } catch (err) {
      this.log.error({ err }, 'settle callback failed');
    }
    this.roomMaybe();
  }

  /** Something changed that may let work go out, be claimed, or make room. */
  private changed(): void {
    this.pumpSoon();
    this.claims.soon();
    this.roomMaybe();
  }

  private pumpSoon(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.dispatch.pump();
    });
  }

  /** Parked heads to claim now: two rounds of concurrency ahead, within the budget; one probe when half-open. */
  private claimRoom(): number {
    if (!this.mode.sends || this.limits.mode !== 'leased') return 0;
    const room = Math.min(2 * this.cfg.concurrency - this.parked.readyCount, budget(this.load()) - this.held);
    if (this.limits.breaker === 'half-open') return Math.min(room, this.parked.readyCount === 0 ? 1 : 0);
    return room;
  }

  // ───────────────────────────── ownership ─────────────────────────────

  /**
   * A partition assigned to this process: take it over in the store (the previous owner is fenced).
   * `generation`: the group generation of the assignment, when the source knows it.
   */
  async assign(shard: string, generation: number | null = null): Promise<void> {
    if (this.link.owns(shard)) return;
    // Rejects with ShardGone when the partition is given up before the store answers.
    const parked = await this.link.takeOver(shard, generation);
    this.parked.addShard(shard, parked);
    if (parked > 0) this.claims.soon();
  }

  /**
   * Partitions taken away. With `graceMs`, requests of theirs in flight get that long to finish first.
   * Then their work here is dropped, unsettled: the new owner reads it again from Kafka, and takes their
   * parked work over (claims here end with its takeover).
   */
  async revoke(shards: string[], graceMs = 0): Promise<void> {
    const set = new Set(shards);
    const until = this.clock.now() + graceMs;
    while (this.clock.now() < until && [...this.dispatch.outs.values()].some((o) => set.has(o.d.shard))) {
      await new Promise<void>((r) => this.clock.after(20, r));
    }
    for (const s of shards) {
      this.link.forget(s);
      this.dropShard(s);
    }
  }

  private dropShard(shard: string): void {
    const dropped = [...this.homes.drop(shard), ...this.parked.removeShard(shard)];
    for (const d of dropped) this.emit(d, { kind: 'dropped' });
    this.dispatch.dropShard(shard);
    const log = { event: 'dropped', shard, dropped: dropped.length };
    if (dropped.length > 0) this.log.info(log, 'partition left: its unsent work is the next owner’s');
    this.roomMaybe();
  }

  // ───────────────────────────── modes ─────────────────────────────

  private modeChanged(from: LaneMode, to: LaneMode): void {
    this.log.info({ event: 'mode', from, to }, `lane ${to}`); // acted on later: the caller may be mid-answer
    queueMicrotask(() => {
      if (to === 'open' || to === 'paused') this.homes.spill();
      this.changed();
    });
  }

  /** The shared limits answered (or the lease ran out): the mode follows the shared breaker and pause. */
  private followLimits(): void {
    const state = this.limits.breaker;
    this.deps.metrics.circuitState.set({ customer: this.id }, BREAKER_GAUGE[state]);
    if (state === 'open' && this.mode.mode === 'running')
      this.log.warn({ event: 'breaker_open' }, 'circuit opened: deliveries wait');
    this.mode.follow(state, this.limits.paused !== null);
    this.dispatch.pump();
  }

  /** The operator pauses or resumes the customer for every integrator of the group (kept in the store). */
  async setPaused(paused: boolean, reason: string | null = null): Promise<void> {
    await this.limits.setPaused(paused ? { reason, at: this.clock.now() } : null);
  }

  /** A rebalance started: nothing new goes out until the assignment is known. */
  hold(): void {
    this.mode.hold();
  }

  release(): void {
    this.mode.release();
  }

  /** Dead letters back into the lane (each on its own, with a fresh attempt budget), page by page. */
  replay(ids?: string[]): Promise<number> {
    return this.claims.replay(ids);
  }

  /** Delete dead letters for good; returns how many there were. */
  discard(ids: string[]): Promise<number> {
    return this.claims.discard(ids);
  }

  /**
   * Graceful stop: nothing new goes out; in-flight requests get until `deadline`, then are aborted (not
   * charged); store writes under way get until the deadline too. Queued memory work stays unsettled: its
   * offsets were never committed and the next owner reads it again.
   */
  async stop(deadline: number): Promise<void> {
    if (!this.mode.accepts) return;
    this.mode.stop();
    this.homes.stop();
    this.claims.stop();
    const left = () => Math.max(0, deadline - this.clock.now());
    if (this.dispatch.inflight > 0) {
      const idle = this.idleWaiters.wait();
      if ((await within(this.clock, idle, left())) === 'timeout') {
        this.log.warn({ inflight: this.dispatch.inflight }, 'shutdown deadline: aborting in-flight requests');
        this.dispatch.cutAll(new Error('shutdown'));
        if (this.dispatch.inflight > 0) await this.idleWaiters.wait();
      }
    }
    await within(this.clock, Promise.allSettled([...this.writes]), Math.max(left(), 1000));
    const released = this.limits.release().catch((err: unknown) => this.log.warn({ err }, 'permits kept'));
    await within(this.clock, released, Math.max(left(), 1000)); // not given back: they lapse with the lease
    this.link.close();
    this.mode.stopped();
    this.roomWaiters.wake();
    this.gauges();
    this.deps.metrics.beforeScrape.delete(this.gauges);
    await this.deps.sender.close();
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

  /** Read when /metrics is scraped. */
  private readonly gauges = (): void => {
    this.deps.metrics.inflight.set({ customer: this.id }, this.dispatch.inflight);
    this.deps.metrics.pending.set({ customer: this.id }, this.held);
  };

  snapshot(): LaneSnapshot {
    return snapshotOf(this.cfg, {
      mode: this.mode,
      limits: this.limits,
      inflight: this.dispatch.inflight,
      pending: this.held,
      parked: this.claims.parkedTotal,
      recent: this.latency.summary(),
    });
  }
}
