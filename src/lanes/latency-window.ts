/** The last N attempt durations, for "recent p50/p99" in /customers. Fixed memory. */
export class LatencyWindow {
  private readonly values: Float64Array;
  private next = 0;
  private size = 0;

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
  }

  add(ms: number): void {
    this.values[this.next] = ms;
    this.next = (this.next + 1) % this.values.length;
    this.size = Math.min(this.size + 1, this.values.length);
  }

  summary(): { count: number; p50Ms: number | null; p99Ms: number | null } {
    if (this.size === 0) return { count: 0, p50Ms: null, p99Ms: null };
    const sorted = Array.from(this.values.subarray(0, this.size)).sort((a, b) => a - b);
    return { count: this.size, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
  }
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}
