/**
 * Pure statistics and formatting for `npm run bench`: nearest-rank percentiles, median/min/max over
 * repetitions, target checks and the one markdown table the bench prints. No I/O here (table-tested).
 */

/** Nearest-rank percentile of an ascending array (q in [0, 1]); NaN when empty. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function sortedCopy(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Median (mean of the two middle values for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = sortedCopy(values);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(values: readonly number[]): Summary {
  const finite = values.filter((v) => !Number.isNaN(v));
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), n: finite.length };
}

/** Least-squares slope of y over x (units of y per unit of x); NaN with fewer than two distinct x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return Number.NaN;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i]!;
    sy += ys[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

export type Comparison = '<=' | '>=' | '<' | '>' | '==';

/** A numeric target the median of a row is checked against; `null` = informational row. */
export interface Target {
  cmp: Comparison;
  bound: number;
}

export function meets(value: number, target: Target): boolean {
  if (Number.isNaN(value)) return false;
  switch (target.cmp) {
    case '<=':
      return value <= target.bound;
    case '>=':
      return value >= target.bound;
    case '<':
      return value < target.bound;
    case '>':
      return value > target.bound;
    case '==':
      return value === target.bound;
  }
}

export type Verdict = 'meets' | 'MISSED' | 'info';

export interface Row {
  /** Figure name as in the issue: isolation, throughput, … */
  figure: string;
  /** What this line measures, e.g. "customer-2 at 30 s: p99 ratio". */
  metric: string;
  /** One value per repetition (or per window / kill, as the method says). */
  samples: number[];
  unit: string;
  digits: number;
  /** Checked against the median; null for informational lines. */
  target: Target | null;
  /** How the target reads in the table, e.g. "≤ 1.05". */
  targetText: string;
  /** Short remark shown in the last column (why a target is missed, context numbers). */
  note?: string;
}

export function verdictOf(row: Row): Verdict {
  if (row.target === null) return 'info';
  return meets(summarize(row.samples).median, row.target) ? 'meets' : 'MISSED';
}

export function formatNumber(value: number, digits: number): string {
  if (Number.isNaN(value)) return 'n/a';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '-∞';
  return value.toFixed(digits);
}

/** "1.02 (0.99–1.04)" for several samples, "1.02" for one; the unit follows. */
export function formatValue(samples: readonly number[], digits: number, unit: string): string {
  const s = summarize(samples);
  const u = unit === '' ? '' : ` ${unit}`;
  if (s.n <= 1) return `${formatNumber(s.median, digits)}${u}`;
  return `${formatNumber(s.median, digits)}${u} (${formatNumber(s.min, digits)}–${formatNumber(s.max, digits)})`;
}

export const TABLE_HEADER = ['figure', 'metric', 'median (min–max)', 'n', 'target', 'verdict', 'note'];

export function rowCells(row: Row): string[] {
  return [
    row.figure,
    row.metric,
    formatValue(row.samples, row.digits, row.unit),
    String(summarize(row.samples).n),
    row.targetText,
    verdictOf(row),
    row.note ?? '',
  ];
}

function escapeCell(cell: string): string {
  return cell.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The markdown table: one header, one separator, one line per row. */
export function renderTable(rows: readonly Row[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(escapeCell).join(' | ')} |`;
  return [
    line(TABLE_HEADER),
    line(TABLE_HEADER.map(() => '---')),
    ...rows.map((r) => line(rowCells(r))),
  ].join('\n');
}

/** Splits a rendered table back into cells (for the quick test's well-formedness check). */
export function parseTable(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('|') && l.endsWith('|'))
    .map((l) =>
      l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim().replace(/\\\|/g, '|')),
    );
}

/** Throughput-style rate over the part of a cumulative count curve between two fractions of the total. */
export function steadyRate(
  points: readonly { t: number; count: number }[],
  total: number,
  from = 0.1,
  to = 0.9,
): number {
  const lo = points.find((p) => p.count >= total * from);
  const hi = points.find((p) => p.count >= total * to);
  if (lo === undefined || hi === undefined || hi.t <= lo.t) return Number.NaN;
  return ((hi.count - lo.count) * 1000) / (hi.t - lo.t);
}
