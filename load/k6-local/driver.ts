/**
 * Runs a k6 scenario shape (k6/lib/shapes.js) from Node against a tracking API on this machine: the
 * arrival-rate schedule, package journeys over undici, the mocks' behaviour changes at their times, and a
 * k6-like summary. Deliberately bounded: loopback targets only, a hard cap on iterations and on duration.
 *
 *   const summary = await runLocalScenario({ scenario: 'steady', baseUrl: 'http://127.0.0.1:3000', durationSeconds: 3 });
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, request } from 'undici';
import { createRng } from '../generator/random.ts';
import { loadShapes } from './k6-lib.ts';
import type { Scenario } from './k6-lib.ts';
import { runJourney } from './journey.ts';
import { arrivalTimes } from './schedule.ts';
import { summarize, thresholdFailures } from './stats.ts';
import type { LatencySummary, RequestSample } from './stats.ts';

export const MAX_DURATION_SECONDS = 1800;
export const DEFAULT_MAX_ITERATIONS = 100_000;
/** Without --duration a local run is cut to this, since the k6 shapes last minutes. */
export const DEFAULT_LOCAL_DURATION_SECONDS = 60;
const GRACEFUL_STOP_MS = 30_000;

export interface LocalRunOptions {
  /** A name from k6/lib/shapes.js (steady, spike, slow-customer, breaker, soak) or a scenario object. */
  scenario: string | Scenario;
  /** The tracking API, e.g. http://127.0.0.1:3000. Must be loopback. */
  baseUrl: string;
  /** The mock customers, for the scenario's behaviour changes; without it they are skipped. Loopback. */
  mocksUrl?: string;
  /** The whole scenario is scaled to last this long (default: min(shape, 60 s)); capped at 30 min. */
  durationSeconds?: number;
  maxIterations?: number;
  customers?: readonly string[];
  seed?: number;
  signal?: AbortSignal;
}

export interface ActionOutcome {
  label: string;
  atSeconds: number;
  /** HTTP status, 0 for a network error, null when skipped (no mocksUrl). */
  status: number | null;
}

export interface LocalRunSummary {
  scenario: string;
  durationSeconds: number;
  elapsedSeconds: number;
  iterations: { scheduled: number; started: number; completed: number; failed: number; dropped: number };
  http: LatencySummary;
  byEndpoint: Record<string, LatencySummary>;
  actions: ActionOutcome[];
  thresholdFailures: string[];
}

export function assertLoopback(url: string, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${what}: not a URL: ${url}`);
  }
  const host = parsed.hostname;
  const loopback = host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
  if (!loopback || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new Error(
      `${what} must be an http(s) URL on this machine (127.0.0.1 / localhost / [::1]), got ${url}`,
    );
  }
  return parsed;
}

async function resolveScenario(options: LocalRunOptions): Promise<Scenario> {
  const shapes = await loadShapes();
  let scenario: Scenario;
  if (typeof options.scenario === 'string') {
    const found = shapes.scenarios[options.scenario];
    if (!found) {
      throw new Error(
        `unknown scenario '${options.scenario}' (known: ${Object.keys(shapes.scenarios).join(', ')})`,
      );
    }
    scenario = found;
  } else {
    scenario = options.scenario;
  }
  const duration = Math.min(
    options.durationSeconds ??
      Math.min(shapes.loadDurationSeconds(scenario.load), DEFAULT_LOCAL_DURATION_SECONDS),
    MAX_DURATION_SECONDS,
  );
  return shapes.scaleScenario(scenario, duration);
}

async function applyAction(
  mocksUrl: URL,
  customer: string,
  behavior: Record<string, number>,
): Promise<number> {
  try {
    const res = await request(new URL(`/customers/${encodeURIComponent(customer)}/behavior`, mocksUrl), {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(behavior),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    await res.body.dump();
    return res.statusCode;
  } catch {
    return 0;
  }
}

export async function runLocalScenario(options: LocalRunOptions): Promise<LocalRunSummary> {
  const base = assertLoopback(options.baseUrl, 'baseUrl');
  const mocks = options.mocksUrl === undefined ? null : assertLoopback(options.mocksUrl, 'mocksUrl');
  const scenario = await resolveScenario(options);
  const maxIterations = Math.min(options.maxIterations ?? DEFAULT_MAX_ITERATIONS, DEFAULT_MAX_ITERATIONS);
  const arrivals = arrivalTimes(scenario.load, maxIterations);
  const durationSeconds =
    scenario.load.executor === 'constant-arrival-rate'
      ? scenario.load.durationSeconds
      : scenario.load.stages.reduce((s, x) => s + x.durationSeconds, 0);
  const maxVUs = scenario.load.maxVUs;

  const samples: RequestSample[] = [];
  const stop = new AbortController();
  const onOuterAbort = (): void => stop.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const client = new Pool(base.origin, { connections: maxVUs, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const rng = createRng(options.seed ?? 1);
  const ctx = {
    client,
    basePath: base.pathname.replace(/\/$/, ''),
    rng,
    customers: options.customers ?? ['customer-1', 'customer-2', 'customer-3'],
    record: (s: RequestSample) => samples.push(s),
    signal: stop.signal,
  };

  const counts = { scheduled: arrivals.length, started: 0, completed: 0, failed: 0, dropped: 0 };
  const startedAt = performance.now();
  const elapsed = (): number => (performance.now() - startedAt) / 1000;

  const actionOutcomes: ActionOutcome[] = [];
  const actionRuns = scenario.actions.map(async (action) => {
    if (mocks === null) {
      actionOutcomes.push({ label: action.label, atSeconds: action.atSeconds, status: null });
      return;
    }
    const wait = action.atSeconds - elapsed();
    if (wait > 0) await sleep(wait * 1000, undefined, { signal: stop.signal }).catch(() => undefined);
    if (stop.signal.aborted) return;
    const status = await applyAction(mocks, action.customer, action.behavior);
    actionOutcomes.push({ label: action.label, atSeconds: action.atSeconds, status });
  });

  const running = new Set<Promise<void>>();
  let sequence = 0;
  try {
    for (const at of arrivals) {
      if (stop.signal.aborted) break;
      const wait = at - elapsed();
      if (wait > 0) await sleep(wait * 1000, undefined, { signal: stop.signal }).catch(() => undefined);
      if (stop.signal.aborted || elapsed() > durationSeconds + 1) break;
      if (running.size >= maxVUs) {
        counts.dropped++;
        continue;
      }
      counts.started++;
      const iteration = runJourney(ctx, ++sequence).then(
        (ok) => {
          if (ok) counts.completed++;
          else counts.failed++;
        },
        () => {
          counts.failed++;
        },
      );
      running.add(iteration);
      void iteration.finally(() => running.delete(iteration));
    }
    // Like k6's gracefulStop: iterations under way may finish, for a while.
    const graceful = sleep(GRACEFUL_STOP_MS, undefined, { signal: stop.signal }).catch(() => undefined);
    await Promise.race([Promise.allSettled([...running]), graceful]);
  } finally {
    stop.abort();
    options.signal?.removeEventListener('abort', onOuterAbort);
    await Promise.allSettled([...running, ...actionRuns]);
    await client.close();
  }

  const byEndpoint: Record<string, LatencySummary> = {};
  for (const name of new Set(samples.map((s) => s.name))) {
    byEndpoint[name] = summarize(samples.filter((s) => s.name === name));
  }
  const http = summarize(samples);
  return {
    scenario: scenario.name,
    durationSeconds,
    elapsedSeconds: elapsed(),
    iterations: counts,
    http,
    byEndpoint,
    actions: actionOutcomes.sort((a, b) => a.atSeconds - b.atSeconds),
    thresholdFailures: thresholdFailures(http, scenario.thresholds),
  };
}

function ms(n: number): string {
  return Number.isNaN(n) ? '-' : `${n.toFixed(1)} ms`;
}

/** A k6-like text summary. */
export function formatSummary(s: LocalRunSummary): string {
  const lines = [
    `scenario ${s.scenario}: ${s.durationSeconds.toFixed(1)} s of load, ${s.elapsedSeconds.toFixed(1)} s in all`,
    `iterations  scheduled ${s.iterations.scheduled}  started ${s.iterations.started}  completed ${s.iterations.completed}` +
      `  failed ${s.iterations.failed}  dropped ${s.iterations.dropped}`,
    `requests    ${s.http.count}  errors ${s.http.errors} (${(s.http.errorRate * 100).toFixed(2)} %)` +
      `  p50 ${ms(s.http.p50)}  p95 ${ms(s.http.p95)}  p99 ${ms(s.http.p99)}  max ${ms(s.http.max)}`,
  ];
  for (const [name, e] of Object.entries(s.byEndpoint)) {
    lines.push(
      `  ${name.padEnd(30)} ${String(e.count).padStart(7)}  p50 ${ms(e.p50)}  p95 ${ms(e.p95)}  p99 ${ms(e.p99)}`,
    );
  }
  for (const a of s.actions) {
    lines.push(
      `action @${a.atSeconds.toFixed(1)} s  ${a.label}: ${a.status === null ? 'skipped (no --mocks-url)' : `HTTP ${a.status}`}`,
    );
  }
  lines.push(
    s.thresholdFailures.length === 0
      ? 'thresholds  passed'
      : `thresholds  FAILED: ${s.thresholdFailures.join('; ')}`,
  );
  return lines.join('\n');
}
