/**
 * A lane's writes to the store, one shard at a time, each carrying the epoch this process got when it took
 * the shard over. It batches what one turn of the event loop asks for into one store call per shard and
 * kind, and it keeps the work when the store fails:
 *
 * - settles, appends and dead letters are retried with backoff (jittered, up to 5 s) until they land, the
 *   shard is fenced, or the shard is given up (revoked): a store error never drops, duplicates or leaves a
 *   package busy for good; delivery resumes by itself when the store answers again;
 * - moves (memory → store) are tried once: on failure the caller keeps the package in memory;
 * - a write refused as stale (another process took the shard over since) fences the shard: every pending
 *   write of it fails with `ShardGone`, and `onFenced` tells the lane to drop the shard's work.
 */
import type { Clock } from '../clock.ts';
import { sleep } from '../clock.ts';
import type {
  ClaimResult,
  MovePackage,
  ParkedDelivery,
  RetryStore,
  SettleOp,
  ShardRef,
} from '../store/port.ts';
import { StaleEpochError } from '../store/port.ts';
import type { Logger } from '../report/logger.ts';

/** The shard is no longer this lane's (revoked, or fenced by a newer owner): the write was not made. */
export class ShardGone extends Error {
  constructor(readonly shard: string) {
    super(`shard ${shard} is no longer owned here`);
  }
}

interface Waiter<R> {
  resolve(r: R): void;
  reject(err: unknown): void;
}

/** Items asked for during one turn of the event loop, written in one call. */
class Batch<T, R> {
  private items: T[] = [];
  private waiters: Waiter<R>[] = [];
  private scheduled = false;

  constructor(private readonly flush: (items: T[]) => Promise<R[]>) {}

  add(item: T): Promise<R> {
    this.items.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.run());
    }
    return new Promise<R>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private run(): void {
    const items = this.items;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    this.scheduled = false;
    this.flush(items).then(
      (results) => waiters.forEach((w, i) => w.resolve(results[i]!)),
      (err: unknown) => waiters.forEach((w) => w.reject(err)),
    );
  }
}

interface ShardLink {
  ref: ShardRef;
  settles: Batch<SettleOp, void>;
  asks: Batch<ParkedDelivery, boolean>;
  moves: Batch<MovePackage, void>;
}

export interface StoreLinkDeps {
  customer: string;
  store: RetryStore;
  clock: Clock;
  log: Logger;
  random: () => number;
  /** A store call failed (the lane counts it); `op` names the call. */
  onError: (op: string, err: unknown) => void;
  /** A write was refused as stale: another process owns the shard now (taken over with that generation). */
  onFenced: (shard: string, ownerGeneration: number | null) => void;
}

const MAX_BACKOFF_MS = 5000;

export class StoreLink {
  private readonly shards = new Map<string, ShardLink>();
  /** Takeovers under way (retried through a store outage); `forget` cancels them. */
  private readonly joining = new Map<string, { cancelled: boolean }>();
  private closed = false;

  constructor(private readonly deps: StoreLinkDeps) {}

  owns(shard: string): boolean {
    return this.shards.has(shard);
  }

  get ownedShards(): string[] {
    return [...this.shards.keys()];
  }

  /** Take the shard over (retried until it lands or the lane closes); returns how much is parked in it. */
  async takeOver(shard: string, generation: number | null): Promise<number> {
    const { store, customer, clock } = this.deps;
    const token = { cancelled: false };
    this.joining.set(shard, token);
    let epoch: number;
    let parked: number;
    try {
      ({ epoch, parked } = await this.retry('takeOver', shard, token, () =>
        store.takeOver(customer, shard, clock.now(), generation),
      ));
    } finally {
      if (this.joining.get(shard) === token) this.joining.delete(shard);
    }
    if (token.cancelled) {
      // The partition was given up while the takeover waited for the store: it is not ours. (If the
      // takeover landed after the next owner's, that owner is fenced and takes it back; see pipeline.ts.)
      this.deps.log.warn({ shard }, 'a takeover landed after its partition was given up; not taking it');
      throw new ShardGone(shard);
    }
    const ref: ShardRef = { customer, shard, epoch };
    this.shards.set(shard, {
      ref,
      settles: new Batch((ops) =>
        this.retry('settle', shard, ref, () => store.settle(ref, ops, clock.now())).then(() =>
          ops.map(() => undefined),
        ),
      ),
      asks: new Batch((items) =>
        this.retry('appendIfParked', shard, ref, () => store.appendIfParked(ref, items)),
      ),
      moves: new Batch((pkgs) =>
        this.once('park', shard, ref, () => store.park(ref, pkgs)).then(() => pkgs.map(() => undefined)),
      ),
    });
    return parked;
  }

  /** Forget the shard: its pending writes fail with `ShardGone` (they are retried no more). */
  forget(shard: string): void {
    this.shards.delete(shard);
    const pending = this.joining.get(shard);
    if (pending) pending.cancelled = true;
  }

  // Every call answers through its promise, never by throwing: a shard gone rejects with ShardGone.

  /** Append behind the package's parked work if it has some; true = parked. */
  ask(d: ParkedDelivery): Promise<boolean> {
    return this.with(d.shard, (l) => l.asks.add(d));
  }

  /** Move a package to the store (one try). */
  move(shard: string, pkg: MovePackage): Promise<void> {
    return this.with(shard, (l) => l.moves.add(pkg));
  }

  settle(shard: string, op: SettleOp): Promise<void> {
    return this.with(shard, (l) => l.settles.add(op));
  }

  deadLetter(d: ParkedDelivery, reason: string): Promise<void> {
    return this.with(d.shard, (l) =>
      this.retry('addDeadLetter', d.shard, l.ref, () =>
        this.deps.store.addDeadLetter(l.ref, d, reason, this.deps.clock.now()),
      ),
    );
  }

  /** One claim (not retried: the lane claims again later). */
  claim(shard: string, limit: number): Promise<ClaimResult> {
    return this.with(shard, (l) =>
      this.once('claim', shard, l.ref, () => this.deps.store.claim(l.ref, this.deps.clock.now(), limit)),
    );
  }

  private with<R>(shard: string, fn: (l: ShardLink) => Promise<R>): Promise<R> {
    const l = this.shards.get(shard);
    return l ? fn(l) : Promise.reject(new ShardGone(shard));
  }

  close(): void {
    this.closed = true;
  }

  /** Is `ref` still the shard's current link? (A takeover: is it still wanted?) */
  private current(shard: string, ref: ShardRef | { cancelled: boolean }): boolean {
    if ('cancelled' in ref) return !this.closed && !ref.cancelled;
    return this.shards.get(shard)?.ref === ref;
  }

  private async once<R>(op: string, shard: string, ref: ShardRef, run: () => Promise<R>): Promise<R> {
    try {
      return await run();
    } catch (err) {
      throw this.failed(op, shard, ref, err);
    }
  }

  private async retry<R>(
    op: string,
    shard: string,
    ref: ShardRef | { cancelled: boolean },
    run: () => Promise<R>,
  ): Promise<R> {
    for (let n = 0; ; n++) {
      if (!this.current(shard, ref)) throw new ShardGone(shard);
      try {
        return await run();
      } catch (err) {
        const e = this.failed(op, shard, ref, err);
        if (e instanceof ShardGone) throw e;
        const base = Math.min(MAX_BACKOFF_MS, 50 * 2 ** Math.min(n, 10));
        await sleep(this.deps.clock, base / 2 + (this.deps.random() * base) / 2);
      }
    }
  }

  /** Classify a failed store call: stale → fence the shard; anything else is counted and retried by the caller. */
  private failed(op: string, shard: string, ref: ShardRef | { cancelled: boolean }, err: unknown): unknown {
    if (err instanceof StaleEpochError) {
      if ('epoch' in ref && this.current(shard, ref)) {
        this.shards.delete(shard);
        this.deps.log.warn(
          { event: 'fenced', shard, epoch: ref.epoch },
          'another integrator took this partition over: its work here is dropped',
        );
        this.deps.onFenced(shard, err.ownerGeneration);
      }
      return new ShardGone(shard);
    }
    this.deps.onError(op, err);
    return err;
  }
}
