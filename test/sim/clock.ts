/**
 * Virtual time for the simulation. The core reads time and sets timers only through its `Clock`, so here
 * a whole schedule of crashes and outages runs in milliseconds, and the same seed replays it exactly.
 *
 * `SimClock.run` takes the earliest timer, moves time to it, runs it, then lets every promise job that
 * follows settle before the next timer (one real macrotask turn: nothing in the simulated world uses real
 * timers or real I/O, so that is enough for all of them).
 */
import type { Clock, Timer } from '../../src/clock.ts';

interface Entry {
  at: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class SimClock implements Clock {
  private t: number;
  private seq = 0;
  private heap: Entry[] = [];
  /** Timers run so far (a cost figure). */
  steps = 0;
  private sameInstant = 0;

  constructor(start = 1_800_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): Timer {
    const e: Entry = {
      at: this.t + Math.max(0, Number.isFinite(ms) ? ms : 0),
      seq: this.seq++,
      fn,
      live: true,
    };
    this.push(e);
    return { cancel: () => (e.live = false) };
  }

  /** Run timers while their time is ≤ `until` and `more()` says go on. Returns the time reached. */
  async run(until: number, more: () => boolean = () => true): Promise<number> {
    await settle();
    while (this.heap.length > 0 && more()) {
      const e = this.heap[0]!;
      if (e.at > until) break;
      this.pop();
      if (!e.live) continue;
      if (e.at > this.t) this.sameInstant = 0;
      else if (++this.sameInstant > 100_000) {
        // Work that reschedules itself without time passing would hang the world: it is a livelock.
        throw new Error(
          `livelock: more than 100000 timers ran at virtual time ${this.t} without time moving`,
        );
      }
      this.t = Math.max(this.t, e.at);
      this.steps += 1;
      e.fn();
      await settle();
    }
    if (this.t < until && more()) this.t = until;
    return this.t;
  }

  get pending(): number {
    return this.heap.filter((e) => e.live).length;
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

/**
 * One process's view of the clock: when the process dies, its timers stop firing and new ones are never
 * set (a SIGKILLed process runs no more code).
 */
export class ProcessClock implements Clock {
  dead = false;
  constructor(private readonly sim: SimClock) {}
  now(): number {
    return this.sim.now();
  }
  after(ms: number, fn: () => void): Timer {
    if (this.dead) return { cancel: () => {} };
    return this.sim.after(ms, () => {
      if (!this.dead) fn();
    });
  }
}
