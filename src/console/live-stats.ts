/**
 * Per-customer counts by the second over the last WINDOW_S seconds, for the console's "deliveries/s" and
 * its small charts (pure apart from the clock it is given). On the delivery path: an index and an
 * increment. Fixed memory: three rings of WINDOW_S integers per customer.
 */
import type { ChangeSeen, DeliveryEvent, DeliveryObserver } from '../report/delivery-events.ts';

export const WINDOW_S = 600;

interface Rings {
  delivered: Int32Array;
  failed: Int32Array;
  dead: Int32Array;
  /** The newest second written (the ring positions after it are stale until written). */
  last: number;
}

export interface SeriesPoint {
  /** Start of the bucket, ms since epoch. */
  t: number;
  delivered: number;
  failed: number;
  dead: number;
}

export class LiveStats implements DeliveryObserver {
  private readonly byCustomer = new Map<string, Rings>();

  constructor(private readonly now: () => number = Date.now) {}

  change(_e: ChangeSeen): void {}

  delivery(e: DeliveryEvent): void {
    let field: 'delivered' | 'failed' | 'dead';
    if (e.kind === 'delivered') field = 'delivered';
    else if (e.kind === 'dead') field = 'dead';
    else if (e.kind === 'attempted' && e.result !== '2xx') field = 'failed';
    else return;
    const r = this.rings(e.customer);
    const s = Math.floor(e.at / 1000);
    this.advance(r, s);
    if (s > r.last - WINDOW_S) r[field][s % WINDOW_S]! += 1;
  }

  private rings(customer: string): Rings {
    let r = this.byCustomer.get(customer);
    if (!r) {
      r = {
        delivered: new Int32Array(WINDOW_S),
        failed: new Int32Array(WINDOW_S),
        dead: new Int32Array(WINDOW_S),
        last: Math.floor(this.now() / 1000),
      };
      this.byCustomer.set(customer, r);
    }
    return r;
  }

  /** Clears the seconds between the newest written and `s`. */
  private advance(r: Rings, s: number): void {
    if (s <= r.last) return;
    const from = Math.max(r.last + 1, s - WINDOW_S + 1);
    for (let x = from; x <= s; x++) {
      const i = x % WINDOW_S;
      r.delivered[i] = 0;
      r.failed[i] = 0;
      r.dead[i] = 0;
    }
    r.last = s;
  }

  /** Deliveries per second over the last `seconds` complete seconds. */
  rate(customer: string, seconds = 10): number {
    const series = this.series(customer, seconds, 1);
    return series.reduce((n, p) => n + p.delivered, 0) / seconds;
  }

  /** `points` buckets of `stepS` seconds, oldest first, ending with the last complete second. */
  series(customer: string, points: number, stepS: number): SeriesPoint[] {
    const r = this.rings(customer);
    const nowS = Math.floor(this.now() / 1000);
    this.advance(r, nowS);
    const end = nowS - 1; // the current second is still filling
    const out: SeriesPoint[] = [];
    for (let p = points - 1; p >= 0; p--) {
      const hi = end - p * stepS;
      const point: SeriesPoint = { t: (hi - stepS + 1) * 1000, delivered: 0, failed: 0, dead: 0 };
      for (let x = hi - stepS + 1; x <= hi; x++) {
        if (x <= nowS - WINDOW_S) continue;
        const i = x % WINDOW_S;
        point.delivered += r.delivered[i]!;
        point.failed += r.failed[i]!;
        point.dead += r.dead[i]!;
      }
      out.push(point);
    }
    return out;
  }
}
