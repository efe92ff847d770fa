/** Request statistics of a local run, in k6's terms (p(95) with linear interpolation, error rate). Pure. */
import type { Scenario } from './k6-lib.ts';

export interface RequestSample {
  name: string;
  status: number;
  durationMs: number;
  /** false for a non-2xx answer or a network error (status 0). */
  ok: boolean;
}

export interface LatencySummary {
  count: number;
  errors: number;
  errorRate: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** The p-quantile (0..1) of ascending values, interpolating between the closest ranks; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const position = (sorted.length - 1) * p;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const a = sorted[lower] as number;
  const b = sorted[upper] as number;
  return a + (b - a) * (position - lower);
}

export function summarize(samples: readonly RequestSample[]): LatencySummary {
  const sorted = samples.map((s) => s.durationMs).sort((a, b) => a - b);
  const errors = samples.filter((s) => !s.ok).length;
  return {
    count: samples.length,
    errors,
    errorRate: samples.length === 0 ? 0 : errors / samples.length,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    max: sorted.length === 0 ? NaN : (sorted[sorted.length - 1] as number),
  };
}

/** The HTTP thresholds the k6 script sets, checked against a local run; each failure as a sentence. */
export function thresholdFailures(summary: LatencySummary, thresholds: Scenario['thresholds']): string[] {
  const failures: string[] = [];
  if (summary.count === 0) failures.push('no requests were made');
  if (summary.p95 >= thresholds.httpP95Ms)
    failures.push(`p(95) ${summary.p95.toFixed(1)} ms ≥ ${thresholds.httpP95Ms} ms`);
  if (summary.p99 >= thresholds.httpP99Ms)
    failures.push(`p(99) ${summary.p99.toFixed(1)} ms ≥ ${thresholds.httpP99Ms} ms`);
  if (summary.errorRate >= thresholds.httpErrorRate && summary.errors > 0) {
    failures.push(
      `error rate ${(summary.errorRate * 100).toFixed(2)} % ≥ ${thresholds.httpErrorRate * 100} %`,
    );
  }
  return failures;
}
