/** Latency percentiles: nearest-rank over a bounded window of the most recent samples. */

/**
 * Nearest-rank percentile of an ascending array: the smallest value such that at least p% of the values
 * are ≤ it. `p` in (0, 100]; an empty array gives 0.
 */
export function percentile(sortedAscending: ArrayLike<number>, p: number): number {
  const n = sortedAscending.length;
  if (n === 0) return 0;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  return sortedAscending[nearestRank(n, p) - 1] ?? 0;
}

/** The 1-based nearest rank of percentile `p` among `n` values (n ≥ 1). */
function nearestRank(n: number, p: number): number {
  return Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
}

export interface LatencySummary {
  /** Answers measured since the last reset (all of them, not only the window). */
  count: number;
  p50: number;
  p90: number;
  p99: number;
  /** Largest since the last reset. */
  max: number;
}

/**
 * Keeps the most recent `capacity` samples in a ring; percentiles are computed over that window, `count`
 * and `max` over everything since the last reset.
 *
 * Samples are kept as counts per 0.01 ms (the resolution the summary reports), so a summary walks the
 * distinct values instead of sorting the window: rounding is monotonic, so the k-th smallest rounded value is
 * the rounded k-th smallest sample, and the answer is what sorting would give. Sorting 100,000 samples took
 * ~15 ms per `/stats`; the bench polls it every 20–100 ms while it measures, on the cores the integrator
 * under measurement uses (a fast customer's window holds a few hundred distinct values).
 */
export class LatencyWindow {
  /** The window, in hundredths of a ms. */
  private readonly samples: Float64Array;
  /** Samples in the window per value (hundredths of a ms). */
  private readonly counts = new Map<number, number>();
  private next = 0;
  private filled = 0;
  private count = 0;
  private max = 0;

  constructor(readonly capacity = 100_000) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be ≥ 1, got ${capacity}`);
    this.samples = new Float64Array(capacity);
  }

  add(value: number): void {
    const unit = Math.round(value * 100);
    if (this.filled === this.capacity) {
      const old = this.samples[this.next]!;
      const left = this.counts.get(old)! - 1;
      if (left === 0) this.counts.delete(old);
      else this.counts.set(old, left);
    }
    this.samples[this.next] = unit;
    this.counts.set(unit, (this.counts.get(unit) ?? 0) + 1);
    this.next = (this.next + 1) % this.capacity;
    this.filled = Math.min(this.capacity, this.filled + 1);
    this.count += 1;
    if (value > this.max) this.max = value;
  }

  summary(): LatencySummary {
    const [p50, p90, p99] = this.ranked([50, 90, 99]);
    return { count: this.count, p50: p50!, p90: p90!, p99: p99!, max: round(this.max) };
  }

  /** Nearest-rank percentiles (ascending `ps`) of the window, in ms; 0 when empty. */
  private ranked(ps: number[]): number[] {
    const n = this.filled;
    if (n === 0) return ps.map(() => 0);
    const ranks = ps.map((p) => nearestRank(n, p));
    if (this.counts.size * 4 > n) {
      // Mostly distinct values (a wide jitter): sorting the window's numbers is quicker than sorting keys.
      const sorted = this.samples.slice(0, n).sort();
      return ranks.map((r) => sorted[r - 1]! / 100);
    }
    const out: number[] = [];
    let seen = 0;
    for (const unit of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(unit)!;
      while (out.length < ranks.length && ranks[out.length]! <= seen) out.push(unit / 100);
      if (out.length === ranks.length) break;
    }
    return out;
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
