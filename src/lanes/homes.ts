/**
 * Where a lane's pending work lives — the one-home rule:
 *
 *   For each package, its pending statuses form one queue in record order, and that queue lives in one
 *   home at a time: this lane's memory, or the store. A move between homes is all-or-nothing for the
 *   package; while a store write about a package is under way (the package is in limbo), its new arrivals
 *   wait behind it, in order; only the queue's head is ever out.
 *
 *   arrival ─▶ limbo? wait behind the write
 *           ─▶ its package is in memory? join its queue
 *           ─▶ its shard may hold parked work? ask the store: appended behind it │ not there → as new
 *           ─▶ new: memory when the lane can take it, else a new package in the store
 *   memory ──(slow, retry, breaker open, paused, more than the lane drains in time)──▶ store, whole
 *           (a head out becomes the store's claimed head; if the store refuses, the package stays)
 *
 * This part owns the memory queues, limbo, and which memory heads are settling (their answer is being
 * acted on, so they are not movable). It never sends: it tells the lane when there is something to send.
 */
import type { Clock } from '../clock.ts';
import { Alarm } from '../clock.ts';
import type { Logger } from '../report/logger.ts';
import type { ParkReason } from '../report/delivery-events.ts';
import { PackageQueues, packageKey } from './package-queues.ts';
import type { TakenPackage } from './package-queues.ts';
import type { ParkedWork } from './parked-work.ts';
import { ShardGone } from './store-link.ts';
import type { StoreLink } from './store-link.ts';
import { chooseMoves, placeNew } from './intake-policy.ts';
import type { LaneLoad, MoveReason } from './intake-policy.ts';
import { plain } from './delivery.ts';
import type { MemoryDelivery, Out } from './delivery.ts';

/** A package whose home is being decided or changed by a store write; its arrivals wait behind it. */
interface Limbo {
  shard: string;
  /** What the write is about (the asking delivery, or the package being moved), then arrivals, in order. */
  items: MemoryDelivery[];
}

export interface HomesDeps {
  link: StoreLink;
  parked: ParkedWork;
  clock: Clock;
  log: Logger;
  parkAfterMs: number;
  load(): LaneLoad;
  /** The request out for this delivery, if any. */
  outOf(deliveryId: string): Out | undefined;
  /** A memory delivery now lives in the store: its offset may go. */
  wentToStore(d: MemoryDelivery, why: ParkReason, dueAt: number | null): void;
  /** Something may be ready to send / to claim / room may have come. */
  changed(): void;
  /** Deliveries let go with their shard (not settled: the next owner reads them again). */
  dropped(ds: MemoryDelivery[]): void;
  /** Keep track of a store write (shutdown waits for it). */
  track(p: Promise<unknown>): void;
}

const SPILL_EVERY_MS = 250;

export class Homes {
  readonly queues = new PackageQueues<MemoryDelivery>();
  private readonly limbo = new Map<string, Limbo>();
  private limboCount = 0;
  /** Memory heads whose answer is being acted on (or whose dead letter is being written): not movable. */
  private readonly settling = new Set<string>();
  private readonly spillAlarm: Alarm;
  private readonly wakeAlarm: Alarm;

  constructor(private readonly h: HomesDeps) {
    this.spillAlarm = new Alarm(h.clock, () => this.spill());
    this.wakeAlarm = new Alarm(h.clock, () => this.wake());
  }

  /** Deliveries in memory: queued or out, or waiting in limbo. */
  get size(): number {
    return this.queues.size + this.limboCount;
  }

  ids(): string[] {
    const ids: string[] = [];
    for (const v of this.queues.views()) ids.push(...this.queues.itemsOf(v.key).map((d) => d.deliveryId));
    for (const l of this.limbo.values()) ids.push(...l.items.map((d) => d.deliveryId));
    return ids;
  }

  // ── arrivals ──

  /** Send `d` to its package's home. `absent`: the store just said its package has nothing parked. */
  route(d: MemoryDelivery, absent = false): void {
    const key = packageKey(d);
    const waiting = this.limbo.get(key);
    if (waiting) {
      waiting.items.push(d);
      this.limboCount += 1;
      return;
    }
    if (this.queues.has(key)) return this.toMemory(d);
    if (!absent && this.h.parked.mayHaveParked(d.shard)) return this.ask(key, d);
    if (placeNew(this.h.load()) === 'memory') return this.toMemory(d);
    this.moveNew(key, d);
  }

  private toMemory(d: MemoryDelivery): void {
    this.queues.push(d);
    this.spillSoon();
    this.h.changed();
  }

  private enter(key: string, shard: string, items: readonly MemoryDelivery[]): Limbo {
    // A copy: arrivals join `l.items`, never the array the store write is about.
    const l: Limbo = { shard, items: [...items] };
    this.limbo.set(key, l);
    this.limboCount += items.length;
    return l;
  }

  /** Leave limbo: returns the arrivals that waited behind the first `first` deliveries. */
  private leave(key: string, l: Limbo, first: number): MemoryDelivery[] {
    this.limbo.delete(key);
    this.limboCount -= l.items.length;
    return l.items.slice(first);
  }

  /** The shard may hold parked work: append behind it, or learn the package has none. */
  private ask(key: string, d: MemoryDelivery): void {
    const l = this.enter(key, d.shard, [d]);
    this.h.track(
      this.h.link.ask(plain(d)).then(
        (parked) => {
          if (this.limbo.get(key) !== l) return; // dropped meanwhile
          const rest = this.leave(key, l, 1);
          if (parked) this.h.wentToStore(d, 'behind', null);
          else this.route(d, true);
          for (const r of rest) this.route(r);
          this.h.changed();
        },
        (err: unknown) => this.failed(key, l, err),
      ),
    );
  }

  /** A new package goes straight to the store (the lane cannot take it now). */
  private moveNew(key: string, d: MemoryDelivery): void {
    const mode = this.h.load().mode;
    const why: ParkReason = mode === 'paused' ? 'paused' : mode === 'open' ? 'breaker_open' : 'capacity';
    const now = this.h.clock.now();
    const l = this.enter(key, d.shard, [d]);
    this.h.track(
      this.h.link
        .move(d.shard, { orderingKey: d.orderingKey, items: [plain(d)], dueAt: now, headClaimed: false })
        .then(
          () => {
            if (this.limbo.get(key) !== l) return;
            const rest = this.leave(key, l, 1);
            this.h.parked.touched(d.shard, now);
            this.h.wentToStore(d, why, now);
            for (const r of rest) this.route(r);
            this.h.changed();
          },
          (err: unknown) => {
            if (err instanceof ShardGone || this.limbo.get(key) !== l) return this.failed(key, l, err);
            // The store refused: the package lives in memory after all (bounded by the lane's hard cap).
            for (const r of this.leave(key, l, 0)) this.toMemory(r);
          },
        ),
    );
  }

  // ── moves to the store ──

  spillSoon(): void {
    this.spillAlarm.at(this.h.clock.now() + SPILL_EVERY_MS);
  }

  /** Every SPILL_EVERY_MS while memory holds work: move whatever the customer cannot take now. */
  spill(): void {
    if (this.queues.packages === 0) return;
    this.spillSoon();
    const views = [...this.queues.views()].filter((v) => !this.settling.has(v.key));
    for (const m of chooseMoves(views, this.h.load(), this.h.clock.now(), this.h.parkAfterMs))
      this.move(m.key, m.why);
  }

  /** Move a memory package to the store, whole; its head may be out (it becomes a claimed head there). */
  move(key: string, why: MoveReason): void {
    const taken = this.queues.take(key);
    if (!taken) return;
    const head = taken.items[0]!;
    const shard = head.shard;
    const out = taken.out ? this.h.outOf(head.deliveryId) : undefined;
    if (taken.out && !out) {
      // Its answer is being acted on right now (it should have been skipped as settling): leave it.
      this.queues.restore(taken);
      this.h.log.error({ key }, 'lane: a package with an answered head was chosen to move; left in memory');
      return;
    }
    const l = this.enter(key, shard, taken.items);
    const now = this.h.clock.now();
    let done: (toStore: boolean) => void = () => {};
    if (out) out.moving = new Promise<boolean>((r) => (done = r));
    const dueAt = taken.retryAt ?? now;
    this.h.track(
      this.h.link
        .move(shard, {
          orderingKey: head.orderingKey,
          items: taken.items.map(plain),
          dueAt,
          headClaimed: taken.out,
        })
        .then(
          () => {
            if (this.limbo.get(key) !== l) return done(false);
            const rest = this.leave(key, l, taken.items.length);
            if (out) this.h.parked.adopt(plain(head));
            this.h.parked.touched(shard, taken.out ? null : dueAt);
            taken.items.forEach((d, i) => this.h.wentToStore(d, why, i === 0 ? dueAt : now));
            done(true);
            for (const r of rest) this.route(r);
            this.h.changed();
          },
          (err: unknown) => {
            if (err instanceof ShardGone || this.limbo.get(key) !== l) {
              this.failed(key, l, err);
              return done(false);
            }
            this.restore(key, l, taken);
            done(false);
          },
        ),
    );
  }

  /** A move failed: the package is back in memory as it was, with what arrived meanwhile behind it. */
  private restore(key: string, l: Limbo, taken: TakenPackage<MemoryDelivery>): void {
    this.queues.restore(taken, this.leave(key, l, taken.items.length));
    if (taken.retryAt !== null) this.wakeAlarm.at(taken.retryAt);
    this.spillSoon();
    this.h.changed();
  }

  // ── heads answered (the dispatcher acts; this part keeps the queues right) ──

  /** From its answer until its outcome is acted on, a memory head is not movable. */
  settlingStarts(key: string): void {
    this.settling.add(key);
  }

  settlingEnds(key: string): void {
    this.settling.delete(key);
  }

  /** A memory head failed and will be tried again at `dueAt`: its package moves to the store, whole. */
  retryLater(d: MemoryDelivery, dueAt: number): void {
    this.queues.defer(d, dueAt);
    this.wakeAlarm.at(dueAt);
    this.move(packageKey(d), 'retry');
  }

  private wake(): void {
    const next = this.queues.wake(this.h.clock.now());
    if (next !== null) this.wakeAlarm.at(next);
    this.h.changed();
  }

  /** The shard went away: everything of it here is dropped, unsettled (the next owner reads it again). */
  drop(shard: string): MemoryDelivery[] {
    const dropped: MemoryDelivery[] = [];
    for (const v of [...this.queues.views()])
      if (v.shard === shard) dropped.push(...this.queues.take(v.key)!.items);
    for (const [key, l] of [...this.limbo]) if (l.shard === shard) dropped.push(...this.leave(key, l, 0));
    for (const key of [...this.settling]) if (key.startsWith(`${shard}\u0000`)) this.settling.delete(key);
    return dropped;
  }

  stop(): void {
    this.spillAlarm.cancel();
    this.wakeAlarm.cancel();
  }

  /**
   * A write about a package in limbo failed for good: its shard is gone (revoked or fenced). What waited
   * in limbo is dropped with the shard (the next owner reads it again); anything else is a bug, said loudly.
   */
  private failed(key: string, l: Limbo, err: unknown): void {
    if (!(err instanceof ShardGone)) {
      this.h.log.error({ err }, 'unexpected lane failure');
      return;
    }
    if (this.limbo.get(key) === l) this.h.dropped(this.leave(key, l, 0));
  }
}
