/** Latency percentiles: nearest-rank over a bounded window of the most recent samples. */

/**
 * Nearest-rank percentile of an ascending array: the smallest value such that at least p% of the values
 * are ≤ it. `p` in (0, 100]; an empty array gives 0.
 */
export function percentile(sortedAscending: ArrayLike<number>, p: number): number {
  const n = sortedAscending.length;
  if (n === 0) return 0;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * n);
  return sortedAscending[Math.min(n, Math.max(1, rank)) - 1] ?? 0;
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
 */
export class LatencyWindow {
  private readonly samples: Float64Array;
  private next = 0;
  private filled = 0;
  private count = 0;
  private max = 0;

  constructor(readonly capacity = 100_000) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be ≥ 1, got ${capacity}`);
    this.samples = new Float64Array(capacity);
  }

  add(value: number): void {
    this.samples[this.next] = value;
    this.next = (this.next + 1) % this.capacity;
    this.filled = Math.min(this.capacity, this.filled + 1);
    this.count += 1;
    if (value > this.max) this.max = value;
  }

  summary(): LatencySummary {
    const sorted = this.samples.slice(0, this.filled).sort();
    return {
      count: this.count,
      p50: round(percentile(sorted, 50)),
      p90: round(percentile(sorted, 90)),
      p99: round(percentile(sorted, 99)),
      max: round(this.max),
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
