/**
 * What the demo measured, and what it means. Pure: the numbers come in (mock ledgers, lane snapshots,
 * integrator metrics), a summary and a verdict go out.
 *
 * End-to-end latency of a delivery = when the mock customer answered 2xx (`receivedAt` in its ledger) minus
 * the change's commit time (`occurredAt` of the webhook, which is Debezium's `source.ts_ms`): the same span
 * as the integrator's `integrator_end_to_end_seconds`, measured exactly instead of in histogram buckets.
 */

/** A customer is "slow" (expected to back up, not expected to catch up) from this answer time on. */
export const SLOW_LATENCY_MS = 5000;
/**
 * How much the end-to-end p99 of a fast customer may exceed its own answer time and still count as
 * "not slowed down": the integrator's own work plus waiting behind the previous step of the same package
 * (one package's events go one at a time, in order).
 */
export const OVERHEAD_BUDGET_MS = 700;

export interface LatencySample {
  /** Commit time of the change, ms since epoch. */
  committedAt: number;
  /** Commit → 2xx, ms. */
  e2eMs: number;
}

export interface LatencyStats {
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

/** The fields of a mock ledger delivery this module reads. */
export interface LedgerDelivery {
  packageId: string | null;
  occurredAt: string | null;
  receivedAt: string;
  duplicate: boolean;
}

export interface LaneView {
  inflight: number;
  pending: number;
  parked: number;
  breaker: string;
}

/** One cumulative histogram bucket: `count` observations ≤ `le` seconds. */
export interface HistogramBucket {
  le: number;
  count: number;
}

export interface IntegratorView {
  delivered: number;
  deadLettered: number;
  /** integrator_end_to_end_seconds buckets of this customer (cumulative, +Inf included). */
  endToEnd: HistogramBucket[];
}

export interface CustomerObservation {
  id: string;
  /** The mock's configured answer time. */
  mockLatencyMs: number;
  /** Events generated for this customer (published / acknowledged by the broker). */
  sent: number;
  /** First deliveries of this run's events, as the mock recorded them. */
  samples: LatencySample[];
  lane: LaneView | null;
  integrator: IntegratorView | null;
}

export type Role = 'fast' | 'slow';

export interface CustomerSummary {
  id: string;
  role: Role;
  mockLatencyMs: number;
  sent: number;
  delivered: number;
  undelivered: number;
  inflight: number | null;
  pending: number | null;
  parked: number | null;
  breaker: string | null;
  e2e: LatencyStats;
  /** Events committed in the first / second half of the generation window. */
  e2eFirstHalf: LatencyStats;
  e2eSecondHalf: LatencyStats;
  integrator: {
    delivered: number;
    deadLettered: number;
    /** histogram_quantile over integrator_end_to_end_seconds (bucket-interpolated, like Prometheus). */
    e2eP50Ms: number | null;
    e2eP99Ms: number | null;
  } | null;
}

export interface Verdict {
  /** 'isolated': every fast customer kept its pace while a slow one backed up. */
  outcome: 'isolated' | 'not-isolated' | 'inconclusive';
  text: string;
}

export interface DemoSummary {
  source: string;
  store: string;
  durationS: number;
  generatedForS: number;
  rate: number;
  metricsUrl: string;
  customers: CustomerSummary[];
  verdict: Verdict;
}

/** Nearest-rank percentile of an ascending array (p in (0, 100]); null when empty. */
export function percentile(sortedAscending: readonly number[], p: number): number | null {
  const n = sortedAscending.length;
  if (n === 0) return null;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * n);
  return sortedAscending[Math.min(n, Math.max(1, rank)) - 1]!;
}

export function latencyStats(values: readonly number[]): LatencyStats {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length === 0 ? null : sorted[sorted.length - 1]!,
  };
}

/**
 * This run's first deliveries out of a mock ledger: duplicates and other runs' packages (a Kafka topic
 * may hold older events) left out, unreadable times skipped.
 */
export function samplesFromLedger(
  deliveries: readonly LedgerDelivery[],
  packagePrefix: string,
): LatencySample[] {
  const out: LatencySample[] = [];
  for (const d of deliveries) {
    if (d.duplicate || d.packageId === null || !d.packageId.startsWith(packagePrefix)) continue;
    if (d.occurredAt === null) continue;
    const committedAt = Date.parse(d.occurredAt);
    const receivedAt = Date.parse(d.receivedAt);
    if (Number.isNaN(committedAt) || Number.isNaN(receivedAt)) continue;
    out.push({ committedAt, e2eMs: Math.max(0, receivedAt - committedAt) });
  }
  return out;
}

/**
 * Prometheus' histogram_quantile: find the bucket holding rank q·total, interpolate linearly inside it
 * (the first bucket starts at 0). Returns seconds; null without observations. A rank in the +Inf bucket
 * gives the highest finite bound.
 */
export function histogramQuantile(buckets: readonly HistogramBucket[], q: number): number | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.length === 0 ? 0 : sorted[sorted.length - 1]!.count;
  if (total === 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return prevLe;
      const inBucket = b.count - prevCount;
      if (inBucket === 0) return b.le;
      return prevLe + (b.le - prevLe) * ((rank - prevCount) / inBucket);
    }
    prevLe = Number.isFinite(b.le) ? b.le : prevLe;
    prevCount = b.count;
  }
  return prevLe;
}

function ms(seconds: number | null): number | null {
  return seconds === null ? null : Math.round(seconds * 1000);
}

export function roleOf(mockLatencyMs: number): Role {
  return mockLatencyMs >= SLOW_LATENCY_MS ? 'slow' : 'fast';
}

export function summarizeCustomer(
  obs: CustomerObservation,
  generation: { startedAt: number; endedAt: number },
): CustomerSummary {
  const split = generation.startedAt + (generation.endedAt - generation.startedAt) / 2;
  const all = obs.samples.map((s) => s.e2eMs);
  const first = obs.samples.filter((s) => s.committedAt < split).map((s) => s.e2eMs);
  const second = obs.samples.filter((s) => s.committedAt >= split).map((s) => s.e2eMs);
  const delivered = obs.samples.length;
  return {
    id: obs.id,
    role: roleOf(obs.mockLatencyMs),
    mockLatencyMs: obs.mockLatencyMs,
    sent: obs.sent,
    delivered,
    undelivered: Math.max(0, obs.sent - delivered),
    inflight: obs.lane?.inflight ?? null,
    pending: obs.lane?.pending ?? null,
    parked: obs.lane?.parked ?? null,
    breaker: obs.lane?.breaker ?? null,
    e2e: latencyStats(all),
    e2eFirstHalf: latencyStats(first),
    e2eSecondHalf: latencyStats(second),
    integrator: obs.integrator
      ? {
          delivered: obs.integrator.delivered,
          deadLettered: obs.integrator.deadLettered,
          e2eP50Ms: ms(histogramQuantile(obs.integrator.endToEnd, 0.5)),
          e2eP99Ms: ms(histogramQuantile(obs.integrator.endToEnd, 0.99)),
        }
      : null,
  };
}

/** Why a fast customer does not count as unaffected; null when it is fine. */
export function fastProblem(c: CustomerSummary): string | null {
  if (c.sent === 0) return `${c.id} was sent no events`;
  if (c.delivered < c.sent) return `${c.id} delivered ${c.delivered} of ${c.sent}`;
  const budget = c.mockLatencyMs + OVERHEAD_BUDGET_MS;
  if (c.e2e.p99Ms !== null && c.e2e.p99Ms > budget) {
    return `${c.id}'s p99 was ${c.e2e.p99Ms} ms, above ${budget} ms (its ${c.mockLatencyMs} ms answer time + ${OVERHEAD_BUDGET_MS} ms)`;
  }
  return null;
}

/** Still working through its backlog at the end: events not delivered yet, or requests still open. */
export function stillDraining(c: CustomerSummary): boolean {
  return c.undelivered > 0 || (c.inflight ?? 0) > 0;
}

function list(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function msText(v: number | null): string {
  return v === null ? '–' : `${v} ms`;
}

function secondsText(msValue: number): string {
  return msValue >= 1000 ? `${+(msValue / 1000).toFixed(1)} s` : `${msValue} ms`;
}

export function verdictOf(customers: readonly CustomerSummary[]): Verdict {
  const fast = customers.filter((c) => c.role === 'fast');
  const slow = customers.filter((c) => c.role === 'slow');
  if (fast.length === 0 || slow.length === 0) {
    return {
      outcome: 'inconclusive',
      text:
        `nothing to compare: ${fast.length} fast and ${slow.length} slow customer(s) ` +
        `(slow = answering in ${secondsText(SLOW_LATENCY_MS)} or more)`,
    };
  }
  const problems = fast.map(fastProblem).filter((p): p is string => p !== null);
  const slowText = list(
    slow.map(
      (c) =>
        `${c.id} took ${secondsText(c.mockLatencyMs)} per request and had delivered ${c.delivered} of ${c.sent}` +
        (stillDraining(c) ? ` (${c.undelivered} still waiting, ${c.inflight ?? 0} in flight)` : ''),
    ),
  );
  if (problems.length > 0) {
    return { outcome: 'not-isolated', text: `NOT ISOLATED: ${problems.join('; ')}; meanwhile ${slowText}.` };
  }
  const sentFast = fast.reduce((n, c) => n + c.sent, 0);
  const perFast = list(
    fast.map(
      (c) =>
        `${c.id} p50 ${msText(c.e2e.p50Ms)} / p99 ${msText(c.e2e.p99Ms)} for a ${secondsText(c.mockLatencyMs)} answer ` +
        `(p99 first half ${msText(c.e2eFirstHalf.p99Ms)} → second half ${msText(c.e2eSecondHalf.p99Ms)})`,
    ),
  );
  const fastIds = list(fast.map((c) => c.id));
  return {
    outcome: 'isolated',
    text:
      `ISOLATED: ${fastIds} did not slow down — all ${sentFast} of their events delivered, end-to-end ` +
      `${perFast} — while ${slowText}.`,
  };
}

export function buildSummary(input: {
  source: string;
  store: string;
  durationS: number;
  rate: number;
  metricsUrl: string;
  generation: { startedAt: number; endedAt: number };
  observations: readonly CustomerObservation[];
}): DemoSummary {
  const customers = input.observations.map((o) => summarizeCustomer(o, input.generation));
  return {
    source: input.source,
    store: input.store,
    durationS: input.durationS,
    generatedForS: Math.round((input.generation.endedAt - input.generation.startedAt) / 100) / 10,
    rate: input.rate,
    metricsUrl: input.metricsUrl,
    customers,
    verdict: verdictOf(customers),
  };
}
