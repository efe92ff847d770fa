/**
 * The packages whose pending statuses live in this lane's memory (pure, no I/O, no clock): per package a
 * FIFO in record order; only its head may be out, and packages take turns in a ready queue.
 *
 *   push ──▶ idle package: ready                  next() ──▶ head out (the package waits)
 *   done(head) ──▶ more queued? ready : package gone
 *   putBack(head) ──▶ ready again, at the front (no attempt was made)
 *   defer(head, until) ──▶ waiting for a retry in memory (the store could not take it) ──wake(now)──▶ ready
 *   take(key) ──▶ the whole package leaves memory (moved to the store, or dropped with its partition)
 *   restore(taken) ──▶ back as it was (the move failed)
 *
 * A package here has nothing in the store (the lane's one-home rule); `take` moves it whole.
 */
export interface Keyed {
  shard: string;
  orderingKey: string;
  firstSeenAt: number;
}

type State = 'ready' | 'out' | 'waiting' | 'idle';

interface Pkg<T> {
  key: string;
  queue: T[];
  state: State;
  /** When the head went out. */
  outSince: number | null;
  /** A failed head waits in memory until then. */
  retryAt: number | null;
}

export interface TakenPackage<T> {
  key: string;
  items: T[];
  /** The head is out (in flight) right now. */
  out: boolean;
  outSince: number | null;
  retryAt: number | null;
}

export function packageKey(d: Keyed): string {
  return `${d.shard}\u0000${d.orderingKey}`;
}

export class PackageQueues<T extends Keyed> {
  private readonly pkgs = new Map<string, Pkg<T>>();
  private ready: Pkg<T>[] = [];
  private readyHead = 0;
  private items = 0;

  /** Deliveries held (queued and out). */
  get size(): number {
    return this.items;
  }

  get packages(): number {
    return this.pkgs.size;
  }

  get readyCount(): number {
    return this.ready.length - this.readyHead;
  }

  has(key: string): boolean {
    return this.pkgs.has(key);
  }

  push(d: T): void {
    const key = packageKey(d);
    let p = this.pkgs.get(key);
    if (!p) {
      p = { key, queue: [], state: 'idle', outSince: null, retryAt: null };
      this.pkgs.set(key, p);
    }
    p.queue.push(d);
    this.items += 1;
    if (p.state === 'idle') this.makeReady(p, false);
  }

  /** The next ready package's head, now out. */
  next(now: number): T | null {
    while (this.readyHead < this.ready.length) {
      const p = this.ready[this.readyHead++]!;
      if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready = this.ready.slice(this.readyHead);
        this.readyHead = 0;
      }
      // Entries of packages taken or re-queued since are stale: skip them.
      if (this.pkgs.get(p.key) !== p || p.state !== 'ready') continue;
      p.state = 'out';
      p.outSince = now;
      return p.queue[0]!;
    }
    return null;
  }

  /** The head did not go (no slot, no token): ready again, first in line. */
  putBack(d: T): void {
    const p = this.pkgs.get(packageKey(d));
    if (!p || p.queue[0] !== d || p.state !== 'out') return;
    p.outSince = null;
    this.makeReady(p, true);
  }

  /** The head was settled; the package's next goes, or the package is gone. */
  done(d: T): void {
    const p = this.pkgs.get(packageKey(d));
    if (!p || p.queue[0] !== d) return;
    p.queue.shift();
    this.items -= 1;
    p.outSince = null;
    p.retryAt = null;
    if (p.queue.length === 0) {
      this.pkgs.delete(p.key);
      return;
    }
    this.makeReady(p, false);
  }

  /** The head failed and waits in memory until `until` (its move to the store failed). */
  defer(d: T, until: number): void {
    const p = this.pkgs.get(packageKey(d));
    if (!p || p.queue[0] !== d) return;
    p.state = 'waiting';
    p.outSince = null;
    p.retryAt = until;
  }

  /** Waiting heads whose time came are ready again; returns the earliest time still waited for. */
  wake(now: number): number | null {
    let next: number | null = null;
    for (const p of this.pkgs.values()) {
      if (p.state !== 'waiting' || p.retryAt === null) continue;
      if (p.retryAt <= now) this.makeReady(p, false);
      else if (next === null || p.retryAt < next) next = p.retryAt;
    }
    return next;
  }

  /** Remove a whole package (its head included, out or not), in order. */
  take(key: string): TakenPackage<T> | null {
    const p = this.pkgs.get(key);
    if (!p) return null;
    this.pkgs.delete(key);
    this.items -= p.queue.length;
    return { key, items: p.queue, out: p.state === 'out', outSince: p.outSince, retryAt: p.retryAt };
  }

  /** Undo a take (the store refused the move): the package returns as it was, then `more` behind it. */
  restore(taken: TakenPackage<T>, more: T[] = []): void {
    const items = [...taken.items, ...more];
    if (items.length === 0) return;
    const p: Pkg<T> = { key: taken.key, queue: items, state: 'idle', outSince: null, retryAt: null };
    this.pkgs.set(p.key, p);
    this.items += items.length;
    if (taken.out) {
      p.state = 'out';
      p.outSince = taken.outSince;
    } else if (taken.retryAt !== null) {
      p.state = 'waiting';
      p.retryAt = taken.retryAt;
    } else this.makeReady(p, false);
  }

  /** The deliveries of a package, in order. */
  itemsOf(key: string): readonly T[] {
    return this.pkgs.get(key)?.queue ?? [];
  }

  /** Every package, for the spill decision and for dropping a partition. */
  *views(): IterableIterator<{
    key: string;
    shard: string;
    size: number;
    out: boolean;
    outSince: number | null;
    retryAt: number | null;
    headSeenAt: number;
    newestSeenAt: number;
  }> {
    for (const p of this.pkgs.values()) {
      const head = p.queue[0]!;
      yield {
        key: p.key,
        shard: head.shard,
        size: p.queue.length,
        out: p.state === 'out',
        outSince: p.outSince,
        retryAt: p.state === 'waiting' ? p.retryAt : null,
        headSeenAt: head.firstSeenAt,
        newestSeenAt: p.queue[p.queue.length - 1]!.firstSeenAt,
      };
    }
  }

  private makeReady(p: Pkg<T>, front: boolean): void {
    p.state = 'ready';
    p.retryAt = null;
    if (front && this.readyHead > 0) this.ready[--this.readyHead] = p;
    else if (front) this.ready.unshift(p);
    else this.ready.push(p);
  }
}
