/**
 * One simulated world: the real core (`createCore`: pipeline, lanes, offset tracking, commit loop) in up
 * to two integrator processes, the memory store as the shared "Redis", a simulated Kafka and customers,
 * all on one virtual clock and one seed. It runs a schedule of records and faults, then a quiet period, and
 * keeps what the invariants need: what each customer took in, what was dead-lettered, which duplicates a
 * fault excuses, and the most memory any lane held.
 */
import { createCore } from '../../src/core.ts';
import type { Core } from '../../src/core.ts';
import type { CustomerConfig } from '../../src/config/customers.ts';
import { MemoryRetryStore } from '../../src/store/memory.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { createLogger } from '../../src/report/logger.ts';
import type { DeliveryEvent } from '../../src/report/delivery-events.ts';
import { ProcessClock, SimClock } from './clock.ts';
import { SimBroker, SimConsumer } from './broker.ts';
import { Ledger, SimCustomer } from './customers.ts';
import type { Behaviour } from './customers.ts';
import { processStore } from './faulty-store.ts';
import type { StoreWeather } from './faulty-store.ts';
import { rng } from './random.ts';

export interface CustomerSpec {
  id: string;
  matchAll: boolean;
  concurrency: number;
  maxInMemory: number;
  timeoutMs: number;
  ratePerSecond: number | null;
  retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
  breaker: {
    errorThresholdPercentage: number;
    volumeThreshold: number;
    windowMs: number;
    resetTimeoutMs: number;
  };
  behaviour: Behaviour;
}

export interface RecordSpec {
  at: number;
  pkg: number;
  /** Index of the customer whose package it is (routing by customer_id). */
  owner: number;
  step: number;
  /** A malformed record: poison. */
  poison?: boolean;
}

export type Fault =
  | { at: number; kind: 'crash' | 'start' | 'stop'; who: 0 | 1 }
  | { at: number; kind: 'storeDown'; forMs: number }
  | { at: number; kind: 'storeStall'; forMs: number; stallMs: number }
  | { at: number; kind: 'limitsDown'; forMs: number; who: 0 | 1; hang: boolean }
  | { at: number; kind: 'behaviour'; customer: number; behaviour: Behaviour }
  | { at: number; kind: 'pause'; customer: number; forMs: number }
  /** The process is short of CPU (its lanes then keep a healthy backlog in Kafka: `process-load.ts`). */
  | { at: number; kind: 'busy'; forMs: number; who: 0 | 1 };

export interface Schedule {
  seed: number;
  partitions: number;
  parkAfterMs: number;
  revokeHook: boolean;
  /** The source reports group generations (the store then knows which owner is newer). */
  generations: boolean;
  /** Longest a member takes to hear of a rebalance (a stale owner keeps working meanwhile). */
  maxNoticeMs: number;
  /** The lease on the shared limits (at least the margin plus two renewals: `leaseTiming`). */
  leaseMs: number;
  customers: CustomerSpec[];
  records: RecordSpec[];
  faults: Fault[];
}

export const SESSION_MS = 1000;
const QUIET_LIMIT_MS = 180_000;
/** How long a lane may stay held after its process handled the group's current assignment. */
const HOLD_OUTLIVED_MS = 1000;

/** The identity of one expected delivery. */
export const tupleKey = (customer: string, pkg: string, step: number) => `${customer}|${pkg}|${step}`;

interface Process {
  slot: 0 | 1;
  metrics: ReturnType<typeof createMetrics>;
  clock: ProcessClock;
  consumer: SimConsumer;
  core: Core;
  alive: boolean;
}

export class World {
  readonly clock = new SimClock();
  readonly ledger = new Ledger();
  readonly store: MemoryRetryStore;
  readonly broker: SimBroker;
  readonly weather: StoreWeather = {
    refuseWrites: false,
    refuseLimits: new Map<number, 'refuse' | 'hang'>(),
    stallMs: 0,
  };
  readonly customers: SimCustomer[];
  readonly expected = new Set<string>();
  readonly excused = new Set<string>();
  readonly deadLettered = new Set<string>();
  readonly trace: string[] = [];
  /** `accepted` steps not reported right after the change that lists their customer (the log relies on it). */
  readonly acceptedApart: string[] = [];
  /** Offsets of poison records, per partition. */
  readonly poison: { partition: number; offset: number }[] = [];
  maxHeldOverCap = -Infinity;
  /** Lanes left held after their process's rebalance had ended (its assignment handled), and for how long. */
  readonly holdsOutlived: string[] = [];
  private readonly heldSince: (number | null)[] = [null, null];
  private readonly random: () => number;
  private readonly slots: (Process | null)[] = [null, null];
  private readonly processes: { metrics: ReturnType<typeof createMetrics> }[] = [];
  private readonly byOffset: Map<string, string[]>[] = [];
  private readonly eventTuple = new Map<string, { pkg: string; step: number }>();
  private readonly configs: CustomerConfig[];
  private readonly pauseCalls = new Map<number, Promise<void>>();
  private readonly busyUntil = [0, 0];
  /** Per process, the last change reported and which of its customers have been accepted since. */
  private readonly lastChange: ({ eventId: string; left: Set<string> } | null)[] = [null, null];

  constructor(readonly schedule: Schedule) {
    this.random = rng(schedule.seed);
    this.store = new MemoryRetryStore();
    this.broker = new SimBroker(this.clock, schedule.partitions, (gen) =>
      this.faultHappened(`rebalance g${gen}`),
    );
    this.byOffset = Array.from({ length: schedule.partitions }, () => new Map());
    this.customers = schedule.customers.map(
      (c) => new SimCustomer(c.id, c.behaviour, this.clock, this.ledger, rng(schedule.seed ^ hash(c.id))),
    );
    this.configs = schedule.customers.map((c, i) => ({
      id: c.id,
      url: `http://customer-${i}.invalid/hook`,
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      match: c.matchAll ? '*' : { customer_id: c.id },
      concurrency: c.concurrency,
      ratePerSecond: c.ratePerSecond,
      timeoutMs: c.timeoutMs,
      maxInMemory: c.maxInMemory,
      retry: c.retry,
      breaker: c.breaker,
    }));
  }

  /** Counts of what happened (how much of the core a schedule exercised). */
  readonly stats = new Map<string, number>();
  count(what: string, n = 1): void {
    this.stats.set(what, (this.stats.get(what) ?? 0) + n);
  }

  note(line: string): void {
    this.trace.push(`${String(this.clock.now() - 1_800_000_000_000).padStart(7)} ${line}`);
    if (this.trace.length > Number(process.env.SIM_TRACE ?? 400)) this.trace.shift();
  }

  // ── records ──

  private produce(r: RecordSpec): void {
    const pkg = `PKG-${r.pkg}`;
    const partition = hash(pkg) % this.schedule.partitions;
    if (r.poison) {
      // Half of them are not JSON; the others are well-formed JSON whose commit time no Date can hold.
      const value =
        r.pkg % 2 === 0
          ? '{"op":"c","after":'
          : JSON.stringify({
              op: 'c',
              after: { id: 1, package_id: pkg, customer_id: 'customer-0', status: 'x', step: 0 },
              source: { name: 'dbserver1', table: 'package_status', lsn: 7, ts_ms: 1e20 },
            });
      const offset = this.broker.produce(partition, pkg, value);
      this.poison.push({ partition, offset });
      this.note(`produce poison p${partition}@${offset}`);
      return;
    }
    const owner = this.schedule.customers[r.owner]!.id;
    const row = {
      id: r.pkg * 100 + r.step,
      package_id: pkg,
      customer_id: owner,
      status: `step-${r.step}`,
      step: r.step,
    };
    const value = JSON.stringify({
      before: null,
      after: row,
      source: {
        name: 'dbserver1',
        db: 'logistics',
        schema: 'public',
        table: 'package_status',
        lsn: 1000 + r.pkg * 100 + r.step,
        ts_ms: this.clock.now(),
        snapshot: 'false',
      },
      op: r.step === 0 ? 'c' : 'u',
    });
    const offset = this.broker.produce(partition, pkg, value);
    const routedTo = this.schedule.customers.filter((c) => c.matchAll || c.id === owner).map((c) => c.id);
    const tuples = routedTo.map((c) => tupleKey(c, pkg, r.step));
    for (const t of tuples) this.expected.add(t);
    this.byOffset[partition]!.set(String(offset), tuples);
    this.note(`produce ${pkg}#${r.step} p${partition}@${offset} → ${routedTo.join(',') || 'nobody'}`);
  }

  // ── processes ──

  private startProcess(slot: 0 | 1): void {
    if (this.slots[slot]?.alive) return;
    const clock = new ProcessClock(this.clock);
    const consumer = new SimConsumer(this.broker, clock, {
      noticeMs: () => Math.floor(this.random() * this.schedule.maxNoticeMs),
      maxBatch: 1 + Math.floor(this.random() * 8),
      revokeHook: this.schedule.revokeHook,
      generations: this.schedule.generations,
      onStaleFetch: (p, o) => this.excuseRecord(p, o),
    });
    const metrics = createMetrics({ defaultMetrics: false });
    this.processes.push({ metrics });
    const proc: Process = { slot, clock, consumer, metrics, core: null as unknown as Core, alive: true };
    proc.core = createCore({
      config: {
        customers: this.configs,
        parkAfterMs: this.schedule.parkAfterMs,
        commitIntervalMs: 200,
        shutdownDeadlineMs: 1000,
        outboxTopics: [],
        kafka: { sessionTimeoutMs: SESSION_MS },
      },
      source: consumer,
      store: processStore(
        this.store,
        this.weather,
        this.clock,
        () => proc.alive,
        (l) => this.note(`[${slot}] ${l}`),
        () => this.faultHappened(`fence ${slot}`),
        slot,
      ),
      sender: (c) => this.customers[this.configs.indexOf(c)]!.sender(c.timeoutMs, () => proc.alive),
      clock,
      log: createLogger('silent'),
      metrics,
      observer: {
        change: (e) => {
          this.eventTuple.set(e.eventId, { pkg: e.packageId, step: stepOf(e.body) });
          this.lastChange[slot] = { eventId: e.eventId, left: new Set(e.customers) };
        },
        delivery: (e) => {
          this.checkAccepted(slot, e);
          this.observed(slot, consumer, e);
        },
      },
      random: rng(this.schedule.seed ^ (slot + 1) ^ this.clock.now()),
      holder: `process-${slot}@${this.clock.now()}`,
      leaseMs: this.schedule.leaseMs,
      // The memory store answers at once: a stalled answer's tokens are given back, so the rate is exact.
      tokenFreshMs: 0,
      processBusy: () => this.clock.now() < this.busyUntil[slot],
    });
    this.slots[slot] = proc;
    this.note(`start process ${slot}`);
    void proc.core.start();
  }

  /**
   * The delivery log writes a change's line for its customers' `accepted` steps (src/log/wire.ts): each
   * `accepted` must belong to the last change reported, once per customer it lists (other steps, e.g. a
   * lane sending at once, may come between).
   */
  private checkAccepted(slot: 0 | 1, e: DeliveryEvent): void {
    if (e.kind !== 'accepted') return;
    const last = this.lastChange[slot];
    if (last?.eventId === e.eventId && last.left.delete(e.customer)) return;
    this.acceptedApart.push(`accepted apart from its change: process ${slot} ${e.customer} ${e.eventId}`);
  }

  private observed(slot: number, consumer: SimConsumer, e: DeliveryEvent): void {
    const t = this.eventTuple.get(e.eventId);
    if (!t) return;
    const key = tupleKey(e.customer, t.pkg, t.step);
    if (e.kind === 'dead') this.deadLettered.add(key);
    this.count(
      e.kind === 'parked' ? `parked:${e.why}` : e.kind === 'attempted' ? `attempt:${e.result}` : e.kind,
    );
    // A stale owner's sends may be repeated by the new owner: that is the window a rebalance excuses.
    if (e.kind === 'sending' && consumer.stale) this.excused.add(key);
    const extra =
      e.kind === 'sending'
        ? ` #${e.attempt}`
        : e.kind === 'attempted'
          ? ` ${e.result}`
          : e.kind === 'parked'
            ? ` ${e.why}`
            : '';
    if (e.kind !== 'accepted') this.note(`[${slot}] ${e.kind} ${key}${extra}`);
  }

  private crash(slot: 0 | 1): void {
    const p = this.slots[slot];
    if (!p?.alive) return;
    this.faultHappened(`crash ${slot}`);
    p.alive = false;
    p.clock.dead = true;
    p.consumer.crash(SESSION_MS);
  }

  private stop(slot: 0 | 1): void {
    const p = this.slots[slot];
    if (!p?.alive) return;
    this.faultHappened(`stop ${slot}`);
    void p.core.stop().finally(() => {
      p.alive = false;
      p.clock.dead = true;
    });
  }

  /** A crash, stop or rebalance: what is out or not yet committed now may be delivered twice. */
  private faultHappened(what: string): void {
    this.note(`FAULT ${what}`);
    this.count(`fault:${what.split(' ')[0]}`);
    for (let p = 0; p < this.schedule.partitions; p++) {
      const committed = this.broker.committed[p]!;
      for (const [offset, tuples] of this.byOffset[p]!)
        if (Number(offset) >= committed) for (const t of tuples) this.excused.add(t);
    }
    for (const proc of this.slots) {
      if (!proc?.alive) continue;
      for (const lane of proc.core.lanes) {
        for (const id of lane.heldDeliveries()) {
          const eventId = id.split('/')[1]!;
          const t = this.eventTuple.get(eventId);
          if (t) this.excused.add(tupleKey(lane.id, t.pkg, t.step));
        }
      }
    }
  }

  private excuseRecord(partition: number, offset: number): void {
    for (const t of this.byOffset[partition]!.get(String(offset)) ?? []) this.excused.add(t);
  }

  // ── running ──

  /** One step of the schedule, one snapshot per lane: the memory bound and the rebalance holds. */
  private watch(): boolean {
    for (const p of this.slots) {
      if (!p?.alive) continue;
      let held = false;
      for (const lane of p.core.lanes) {
        const snap = lane.snapshot();
        if (snap.shared.lease === 'lost') this.count('steps with a lease lost');
        // The bound the README states: twice maxInMemory, plus the claims of two rounds of concurrency that
        // may land after intake filled the lane, plus one record per partition in hand.
        const { maxInMemory, concurrency } = snap.limits;
        const bound = 2 * maxInMemory + 2 * concurrency + this.schedule.partitions;
        this.maxHeldOverCap = Math.max(this.maxHeldOverCap, lane.held - bound);
        held ||= snap.mode === 'held';
      }
      this.watchHold(p, held && p.consumer.settledInGroup);
    }
    return true;
  }

  /**
   * A lane holds only while a rebalance is under way for its process: once the process has handled the
   * group's current assignment, a hold must end (a late signal of a rebalance already over would stop
   * sending until the hold's time limit, 30 s or more).
   */
  private watchHold(p: Process, heldAfterRebalance: boolean): void {
    const since = this.heldSince[p.slot];
    if (!heldAfterRebalance) this.heldSince[p.slot] = null;
    else if (since === null) this.heldSince[p.slot] = this.clock.now();
    else if (this.clock.now() - since > HOLD_OUTLIVED_MS && this.holdsOutlived.length < 5) {
      this.holdsOutlived.push(`process ${p.slot}: lanes held since ${since - 1_800_000_000_000}`);
      this.note(`[${p.slot}] lanes still held ${this.clock.now() - since} ms after the rebalance ended`);
      this.heldSince[p.slot] = null;
    }
  }

  async run(): Promise<void> {
    const s = this.schedule;
    this.startProcess(0);
    for (const r of s.records) this.clock.after(r.at, () => this.produce(r));
    const weatherUntil = { down: 0, stall: 0, limits: [0, 0] };
    for (const f of s.faults) {
      this.clock.after(f.at, () => {
        if (f.kind === 'crash') this.crash(f.who);
        else if (f.kind === 'start') this.startProcess(f.who);
        else if (f.kind === 'stop') this.stop(f.who);
        else if (f.kind === 'storeDown') {
          this.note(`store refuses writes for ${f.forMs} ms`);
          this.weather.refuseWrites = true;
          weatherUntil.down = Math.max(weatherUntil.down, this.clock.now() + f.forMs);
          this.clock.after(f.forMs, () => {
            if (this.clock.now() >= weatherUntil.down) this.weather.refuseWrites = false;
          });
        } else if (f.kind === 'storeStall') {
          this.note(`store stalls ${f.stallMs} ms for ${f.forMs} ms`);
          this.weather.stallMs = f.stallMs;
          weatherUntil.stall = Math.max(weatherUntil.stall, this.clock.now() + f.forMs);
          this.clock.after(f.forMs, () => {
            if (this.clock.now() >= weatherUntil.stall) this.weather.stallMs = 0;
          });
        } else if (f.kind === 'limitsDown') {
          this.note(
            `store ${f.hang ? 'ignores' : 'refuses'} process ${f.who}'s limits syncs for ${f.forMs} ms`,
          );
          this.weather.refuseLimits.set(f.who, f.hang ? 'hang' : 'refuse');
          weatherUntil.limits[f.who] = Math.max(weatherUntil.limits[f.who]!, this.clock.now() + f.forMs);
          this.clock.after(f.forMs, () => {
            if (this.clock.now() >= weatherUntil.limits[f.who]!) this.weather.refuseLimits.delete(f.who);
          });
        } else if (f.kind === 'behaviour') {
          this.note(`customer ${f.customer} behaviour changes`);
          this.customers[f.customer]!.behaviour = f.behaviour;
        } else if (f.kind === 'busy') {
          this.note(`process ${f.who} short of CPU for ${f.forMs} ms`);
          this.busyUntil[f.who] = Math.max(this.busyUntil[f.who]!, this.clock.now() + f.forMs);
        } else if (f.kind === 'pause') {
          this.note(`customer ${f.customer} paused for ${f.forMs} ms`);
          this.setPaused(f.customer, true);
          this.clock.after(f.forMs, () => this.setPaused(f.customer, false));
        }
      });
    }
    const start = this.clock.now();
    const lastScheduled = Math.max(
      0,
      ...s.records.map((r) => r.at),
      ...s.faults.map((f) => f.at + ('forMs' in f ? f.forMs : 0)),
    );
    // The schedule, step by step, watching the memory bound.
    await this.clock.run(start + lastScheduled, () => this.watch());
    // Then quiet: faults are over, customers are healthy; one process runs until all is settled.
    this.note('QUIET: faults over, customers healthy');
    for (const c of this.customers)
      c.behaviour = { ...c.behaviour, fail: 0, rateLimited: 0, hang: 0, lateOk: 0, latencyMs: [1, 20] };
    for (let i = 0; i < s.customers.length; i++) this.setPaused(i, false);
    if (!this.slots.some((p) => p?.alive)) this.startProcess(0);
    const quietEnd = this.clock.now() + QUIET_LIMIT_MS;
    while (this.clock.now() < quietEnd && !this.settled()) {
      if (!this.slots.some((p) => p?.alive)) this.startProcess(0);
      await this.clock.run(this.clock.now() + 1000, () => this.watch());
    }
    for (const p of this.slots) {
      if (!p?.alive) continue;
      for (const lane of p.core.lanes) {
        const snap = lane.snapshot();
        this.note(
          `[${p.slot}] END ${lane.id} mode=${snap.mode} held=${lane.held} inflight=${snap.inflight} breaker=${snap.breaker} holds ${lane.heldDeliveries().join(' ')} parked: ${lane.describeParked()}`,
        );
      }
      p.alive = false;
      p.clock.dead = true;
    }
    for (const c of this.schedule.customers)
      this.note(`store: ${c.id} parked ${await this.store.parkedCount(c.id)}`);
    for (const p of this.processes) {
      for (const m of [p.metrics.fenced, p.metrics.storeErrors]) {
        const v = (await m.get()).values.reduce((sum, x) => sum + x.value, 0);
        this.count(m === p.metrics.fenced ? 'fenced' : 'store errors', v);
      }
    }
    const shards = (
      this.store as unknown as {
        shards: Map<
          string,
          { lists: Map<string, { deliveryId: string }[]>; due: Map<string, number>; claimed: Set<string> }
        >;
      }
    ).shards;
    for (const [k, sh] of shards) {
      for (const [pkg, list] of sh.lists) {
        this.note(
          `store ${k.replace('\u0000', ' ')} ${pkg}: ${list.map((d) => d.deliveryId.slice(-6)).join(',')} due=${sh.due.has(pkg) ? sh.due.get(pkg)! - 1_800_000_000_000 : '-'} claimed=${sh.claimed.has(pkg)}`,
        );
      }
    }
  }

  /**
   * The operator's pause, through one running process (the others see it at their next sync). The
   * operator waits for each answer: a pause and the resume after it reach the store in that order.
   */
  private setPaused(customer: number, paused: boolean): void {
    const before = this.pauseCalls.get(customer) ?? Promise.resolve();
    const next = before.then(() => {
      const p = this.slots.find((x) => x?.alive);
      const id = this.schedule.customers[customer]!.id;
      const call = p
        ? p.core.lanes[customer]!.setPaused(paused, 'simulated operator')
        : this.store.setPaused(id, paused ? { reason: null, at: 0 } : null);
      // A store that never answers that process: the operator gives up (the call never reached it).
      const gaveUp = new Promise<void>((_, reject) =>
        this.clock.after(2000, () => reject(new Error('no answer'))),
      );
      return Promise.race([call, gaveUp]).then(
        () => this.note(`customer ${customer} ${paused ? 'paused' : 'resumed'}`),
        () => this.note(`customer ${customer} ${paused ? 'pause' : 'resume'} refused by the store`),
      );
    });
    this.pauseCalls.set(customer, next);
  }

  /**
   * Every expected delivery was taken in by its customer or dead-lettered, and every partition is committed
   * to its end (so every record, poison included, was dealt with).
   */
  settled(): boolean {
    for (let p = 0; p < this.schedule.partitions; p++) {
      if (this.broker.committed[p]! < this.broker.logs[p]!.length) return false;
    }
    const got = new Set(this.ledger.receipts.map((r) => tupleKey(r.customer, r.packageId, r.step)));
    for (const t of this.expected) if (!got.has(t) && !this.deadLettered.has(t)) return false;
    return true;
  }
}

function stepOf(body: string): number {
  return (JSON.parse(body) as { data: { step: number } }).data.step;
}

export function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
