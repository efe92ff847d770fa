/**
 * Sending, and acting on answers. One request per package at most (the head), within what the customer's
 * shared limits allow (`limits.ts`: permits, rate tokens, breaker); memory heads and claimed store heads take turns.
 *
 *   head ─▶ out ─▶ answered: the slot is free at once ─▶ where does the delivery live now?
 *     memory: 2xx → done, next of the package │ retry → the package moves to the store │ dead → dead letter
 *     store:  2xx → complete │ retry → reschedule │ dead → dead letter   (one batched store write)
 *     (a memory head moved while out lives in the store once its move landed)
 *
 * This part owns the requests out. A store write that fails is retried (`store-link.ts`): the delivery
 * stays held meanwhile, never dropped. A request whose shard is given up keeps its slot until it ends:
 * never more than `concurrency` requests open, even when the shard comes back and the same delivery goes
 * out again.
 */
import type { Clock } from '../clock.ts';
import type { CustomerConfig } from '../config/customers.ts';
import type { Outcome } from '../delivery/outcome.ts';
import { retryDelay } from '../delivery/retry-schedule.ts';
import type { Sender } from '../delivery/http-sender.ts';
import type { ParkedDelivery } from '../store/port.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Logger } from '../report/logger.ts';
import type { DeliveryStep } from '../report/delivery-events.ts';
import type { LaneLimits } from './limits.ts';
import { attempt } from './attempt.ts';
import type { AttemptResult } from './attempt.ts';
import type { Homes } from './homes.ts';
import type { ParkedWork } from './parked-work.ts';
import { ShardGone } from './store-link.ts';
import type { StoreLink } from './store-link.ts';
import { packageKey } from './package-queues.ts';
import { plain } from './delivery.ts';
import type { MemoryDelivery, Out } from './delivery.ts';

export interface DispatchDeps {
  cfg: CustomerConfig;
  sender: Sender;
  /** The customer's limits shared by the group's integrators: may a request start? */
  limits: LaneLimits;
  clock: Clock;
  random: () => number;
  log: Logger;
  metrics: Metrics;
  homes: Homes;
  parked: ParkedWork;
  link: StoreLink;
  /** May requests go out now (the lane's mode)? */
  sends(): boolean;
  emit(d: ParkedDelivery, step: DeliveryStep): void;
  /** An attempt took this long (the lane's rate estimate and latency window). */
  took(durationMs: number): void;
  /** A memory delivery was delivered or dead-lettered: its offset may go. */
  settled(d: MemoryDelivery, how: 'delivered' | 'dead'): void;
  /** Something may be claimable / room may have come. */
  changed(): void;
  track(p: Promise<unknown>): void;
  /** Nothing is out any more. */
  idle(): void;
}

export class Dispatcher {
  /** Requests out for work this lane holds, by delivery id, oldest first (a Map keeps insertion order). */
  readonly outs = new Map<string, Out>();
  /**
   * Requests still out for work of a shard given up: no longer this lane's work, but each still holds a
   * connection at the customer and one of its `concurrency` slots until it ends. The next owner — this lane
   * again, after a fence and a takeover — may send the same delivery meanwhile, so these are kept apart.
   */
  private readonly gone = new Set<Out>();
  /** Cuts every request out (shutdown deadline, a lost lease); replaced after each cut. */
  private cut = new AbortController();
  private preferStore = false;

  constructor(private readonly x: DispatchDeps) {}

  get inflight(): number {
    return this.outs.size + this.gone.size;
  }

  /** Age of the oldest request out (a lower bound on the customer's latency right now). */
  oldestOutMs(now: number): number {
    const first = this.outs.values().next();
    return first.done ? 0 : now - first.value.startedAt;
  }

  pump(): void {
    if (!this.x.sends()) return;
    const now = this.x.clock.now();
    while (this.x.limits.mayStart(now, this.inflight)) {
      const out = this.nextOut(now);
      if (!out) break;
      this.send(out);
    }
    this.x.limits.poke();
    this.x.changed();
  }

  /** Memory heads and claimed store heads take turns. */
  private nextOut(now: number): Out | null {
    this.preferStore = !this.preferStore;
    const order = this.preferStore ? (['store', 'memory'] as const) : (['memory', 'store'] as const);
    for (const from of order) {
      const d = from === 'memory' ? this.x.homes.queues.next(now) : this.x.parked.next();
      if (d) return { d, from, moving: null, dropped: false, startedAt: now };
    }
    return null;
  }

  /** Heads that could go now (an upper bound: the queues may hold stale entries). */
  readyCount(): number {
    return this.x.homes.queues.readyCount + this.x.parked.readyCount;
  }

  private putBack(out: Out): void {
    if (out.from === 'memory') this.x.homes.queues.putBack(out.d as MemoryDelivery);
    else this.x.parked.putBack(out.d);
  }

  private send(out: Out): void {
    this.outs.set(out.d.deliveryId, out);
    this.x.emit(out.d, { kind: 'sending', attempt: out.d.attempts + 1 });
    this.x.homes.spillSoon();
    void attempt(out.d, {
      sender: this.x.sender,
      breaker: this.x.limits,
      clock: this.x.clock,
      signal: this.cut.signal,
    }).then((res) => this.answered(out, res));
  }

  /** Abort every request out: each comes back as not an attempt and goes back in its place. */
  cutAll(reason: Error): void {
    const cut = this.cut;
    this.cut = new AbortController();
    cut.abort(reason);
  }

  /** The shard went away: answers of its requests change nothing here. */
  dropShard(shard: string): void {
    for (const [id, o] of this.outs) {
      if (o.d.shard !== shard) continue;
      o.dropped = true;
      this.outs.delete(id);
      this.gone.add(o);
    }
  }

  private answered(out: Out, res: AttemptResult): void {
    if (out.dropped) this.gone.delete(out);
    else this.outs.delete(out.d.deliveryId);
    const key = packageKey(out.d);
    if (out.from === 'memory' && !out.dropped) this.x.homes.settlingStarts(key);
    if (this.inflight === 0) this.x.idle();
    if (res.aborted) {
      // Cut (shutdown deadline, a lost lease): not an attempt. It goes back where it now lives — in the
      // store, a head moved there while out is this lane's claimed head: ready again, never stranded.
      const back = (toStore: boolean) => {
        // A dropped request's package may be this lane's again, under a new owner: leave its state alone.
        if (out.dropped) return;
        this.x.homes.settlingEnds(key);
        if (toStore) this.x.parked.putBack(out.d);
        else this.putBack(out);
      };
      if (out.moving) void out.moving.then(back);
      else back(false);
      return;
    }
    const { outcome, durationMs } = res;
    const d = out.d;
    const customer = this.x.cfg.id;
    this.x.metrics.attempts.inc({ customer, result: outcome.result });
    this.x.metrics.attemptDuration.observe({ customer }, durationMs / 1000);
    this.x.took(durationMs);
    this.x.emit(d, {
      kind: 'attempted',
      attempt: d.attempts + 1,
      result: outcome.result,
      httpStatus: outcome.status,
      durationMs,
      detail: outcome.detail,
    });
    this.pump(); // the slot is free before the store hears the outcome
    if (out.dropped) return; // its shard's settling marks went with the shard (`Homes.drop`)
    if (outcome.decision === 'delivered') {
      const now = this.x.clock.now();
      const e2e = d.commitTsMs === null ? null : Math.max(0, now - d.commitTsMs);
      this.x.metrics.deliveries.inc({ customer, outcome: 'delivered' });
      this.x.emit(d, { kind: 'delivered', attempts: d.attempts + 1, endToEndMs: e2e });
      if (e2e !== null) this.x.metrics.endToEnd.observe({ customer }, e2e / 1000);
    }
    if (out.moving) {
      void out.moving.then((toStore) => {
        if (!out.dropped) this.act(out, toStore ? 'store' : 'memory', outcome);
      });
    } else this.act(out, out.from, outcome);
  }

  /** Act on an answered attempt, where its delivery now lives. */
  private act(out: Out, home: 'memory' | 'store', outcome: Outcome): void {
    const d = out.d;
    const attempts = d.attempts + 1;
    const failed = { ...plain(d), attempts, lastError: outcome.detail };
    const plan =
      outcome.decision === 'retry' ? retryDelay(attempts, outcome, this.x.cfg.retry, this.x.random) : null;
    const dead =
      outcome.decision === 'dead'
        ? `permanent failure: ${outcome.detail}`
        : plan?.giveUp
          ? `gave up after ${attempts} attempts; last: ${outcome.detail}`
          : null;
    if (dead === null || home === 'store') this.x.homes.settlingEnds(packageKey(d));
    if (home === 'memory') {
      const md = d as MemoryDelivery;
      if (outcome.decision === 'delivered') {
        this.x.homes.queues.done(md);
        this.x.settled(md, 'delivered');
      } else if (dead !== null) {
        this.deadLetterMemory(md, failed, dead);
      } else if (plan && !plan.giveUp) {
        md.attempts = attempts;
        md.lastError = outcome.detail;
        this.x.homes.retryLater(md, this.x.clock.now() + plan.delayMs);
      }
      this.pump();
      return;
    }
    const now = this.x.clock.now();
    const retryAt = now + (plan && !plan.giveUp ? plan.delayMs : 0);
    const op =
      outcome.decision === 'delivered'
        ? ({ op: 'complete', delivery: d } as const)
        : dead !== null
          ? ({ op: 'dead', delivery: failed, reason: dead } as const)
          : ({ op: 'reschedule', delivery: failed, dueAt: retryAt } as const);
    this.x.parked.settling(d);
    this.x.track(
      this.x.link.settle(d.shard, op).then(
        () => {
          this.x.parked.release(d);
          this.x.parked.touched(d.shard, op.op === 'reschedule' ? op.dueAt : now);
          if (op.op === 'dead') this.deadLettered(failed, op.reason);
          if (op.op === 'reschedule') this.x.emit(d, { kind: 'parked', why: 'retry', dueAt: op.dueAt });
          this.x.changed();
        },
        (err: unknown) => this.unlessGone(err),
      ),
    );
  }

  /** The head stays settling (not movable, not sent) until its dead letter is written. */
  private deadLetterMemory(d: MemoryDelivery, failed: ParkedDelivery, reason: string): void {
    const key = packageKey(d);
    this.x.track(
      this.x.link.deadLetter(failed, reason).then(
        () => {
          this.x.homes.settlingEnds(key);
          this.x.homes.queues.done(d);
          this.deadLettered(failed, reason);
          this.x.settled(d, 'dead');
          this.pump();
        },
        (err: unknown) => {
          this.x.homes.settlingEnds(key);
          this.unlessGone(err);
        },
      ),
    );
  }

  private deadLettered(d: ParkedDelivery, reason: string): void {
    this.x.log.warn(
      { event: 'dead_letter', eventId: d.eventId, attempts: d.attempts, reason },
      'delivery dead-lettered',
    );
    this.x.metrics.deliveries.inc({ customer: this.x.cfg.id, outcome: 'dead_lettered' });
    this.x.emit(d, { kind: 'dead', attempts: d.attempts, reason });
  }

  private unlessGone(err: unknown): void {
    if (!(err instanceof ShardGone)) this.x.log.error({ err }, 'unexpected lane failure');
  }
}
