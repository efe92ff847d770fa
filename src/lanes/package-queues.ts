/**
 * Per-package order inside one lane (pure, no I/O, no clock). Deliveries of one package (shard + ordering
 * key) form a FIFO; only its head may be out, and packages take turns in a ready queue.
 *
 *   push ──▶ [idle package: ready]        next() ──▶ head out (package busy)
 *   done(head) ──▶ more queued? ready again : package gone
 *   putBack(head) ──▶ ready again, at the front (no attempt was made)
 *   take / takeStale / takeWaiting ──▶ deliveries leave memory (to the store, or dropped)
 *
 * `parkedBehind` marks a package whose later deliveries were parked in the store while it still had
 * memory work: they must wait until the memory work is gone.
 */
export interface Keyed {
  shard: string;
  orderingKey: string;
  firstSeenAt: number;
}

interface Pkg<T> {
  key: string;
  queue: T[];
  busy: boolean;
  parkedBehind: boolean;
}

export interface TakenPackage<T> {
  items: T[];
  /** The first item is out (in flight) right now. */
  busy: boolean;
  parkedBehind: boolean;
}

export function packageKey(d: Keyed): string {
  return `${d.shard}\u0000${d.orderingKey}`;
}

export class PackageQueues<T extends Keyed> {
  private readonly pkgs = new Map<string, Pkg<T>>();
  private ready: Pkg<T>[] = [];
  private items = 0;

  /** Deliveries held (queued and out). */
  get size(): number {
    return this.items;
  }

  get readyCount(): number {
    return this.ready.length;
  }

  has(d: Keyed): boolean {
    return this.pkgs.has(packageKey(d));
  }

  /** May `d` join its package in memory? (It has one, and nothing of it was parked behind.) */
  canAppend(d: Keyed): boolean {
    const p = this.pkgs.get(packageKey(d));
    return p !== undefined && !p.parkedBehind;
  }

  push(d: T): void {
    const key = packageKey(d);
    let p = this.pkgs.get(key);
    if (!p) {
      p = { key, queue: [], busy: false, parkedBehind: false };
      this.pkgs.set(key, p);
    }
    p.queue.push(d);
    this.items += 1;
    if (p.queue.length === 1 && !p.busy) this.ready.push(p);
  }

  markParkedBehind(d: Keyed): void {
    const p = this.pkgs.get(packageKey(d));
    if (p) p.parkedBehind = true;
  }

  /** The next package's head; its package is busy until done / putBack / take. */
  next(): T | null {
    const p = this.ready.shift();
    if (!p) return null;
    p.busy = true;
    return p.queue[0]!;
  }

  putBack(d: T): void {
    const p = this.pkgs.get(packageKey(d));
    if (!p || p.queue[0] !== d) return;
    p.busy = false;
    this.ready.unshift(p);
  }

  /** The head was settled. `gone`: the package has no more memory work; `parkedBehind`: it has store work. */
  done(d: T, requeue = true): { gone: boolean; parkedBehind: boolean } {
    const p = this.pkgs.get(packageKey(d));
    if (!p || p.queue[0] !== d) return { gone: !p, parkedBehind: p?.parkedBehind ?? false };
    p.queue.shift();
    this.items -= 1;
    p.busy = false;
    if (p.queue.length > 0) {
      if (requeue) this.ready.push(p);
      return { gone: false, parkedBehind: p.parkedBehind };
    }
    this.pkgs.delete(p.key);
    return { gone: true, parkedBehind: p.parkedBehind };
  }

  /** Remove `d`'s whole package (its head included, out or not), in order. */
  take(d: Keyed): T[] {
    const p = this.pkgs.get(packageKey(d));
    if (!p) return [];
    this.remove([p]);
    return p.queue;
  }

  /** Remove every package whose oldest delivery arrived at or before `cutoff` (and that `eligible` allows). */
  takeStale(cutoff: number, eligible: (head: T, busy: boolean) => boolean = () => true): TakenPackage<T>[] {
    const stale = [...this.pkgs.values()].filter(
      (p) => p.queue.length > 0 && p.queue[0]!.firstSeenAt <= cutoff && eligible(p.queue[0]!, p.busy),
    );
    this.remove(stale);
    return stale.map((p) => ({ items: p.queue, busy: p.busy, parkedBehind: p.parkedBehind }));
  }

  /** Undo a take (the store write failed): the packages return as they were. */
  restore(taken: TakenPackage<T>[]): void {
    for (const t of taken) {
      const first = t.items[0];
      if (!first) continue;
      const p: Pkg<T> = {
        key: packageKey(first),
        queue: t.items,
        busy: t.busy,
        parkedBehind: t.parkedBehind,
      };
      this.pkgs.set(p.key, p);
      this.items += t.items.length;
      if (!p.busy) this.ready.push(p);
    }
  }

  /**
   * Remove the deliveries that are waiting (not out) in packages whose head matches `which`, in package
   * order. A busy package keeps its head; with `markBehind` it is marked parkedBehind.
   */
  takeWaiting(which: (d: T) => boolean, markBehind: boolean): T[] {
    const out: T[] = [];
    for (const p of [...this.pkgs.values()]) {
      const head = p.queue[0];
      if (!head || !which(head)) continue;
      const waiting = p.busy ? p.queue.splice(1) : p.queue.splice(0);
      if (waiting.length === 0) continue;
      this.items -= waiting.length;
      out.push(...waiting);
      if (!p.busy) this.pkgs.delete(p.key);
      else if (markBehind) p.parkedBehind = true;
    }
    this.ready = this.ready.filter((p) => this.pkgs.has(p.key) && p.queue.length > 0 && !p.busy);
    return out;
  }

  private remove(pkgs: Pkg<T>[]): void {
    if (pkgs.length === 0) return;
    const gone = new Set(pkgs);
    for (const p of pkgs) {
      this.pkgs.delete(p.key);
      this.items -= p.queue.length;
    }
    this.ready = this.ready.filter((p) => !gone.has(p));
  }
}
