/**
 * A mock customer's behaviour: the knobs (schema, validation, partial updates) and the pure decision
 * "what to do with this request", given the knobs, the rate limiter's verdict and a random source.
 *
 * Outcome rule: a request over the rate limit gets 429 before anything else. Otherwise ONE uniform draw
 * `u` in [0,1) picks the outcome from consecutive slices, so each rate is exactly the share of
 * (non-rate-limited) requests that get that outcome:
 *
 *   [0, resetRate)            → reset  (socket destroyed, no response)
 *   [.., +hangRate)           → hang   (never answered; open until the client gives up)
 *   [.., +goneRate)           → 410 Gone, after the latency
 *   [.., +errorRate)          → errorStatus (default 500), after the latency
 *   [.., 1)                   → 200 {"ok":true}, after the latency
 *
 * hence resetRate + hangRate + goneRate + errorRate must not exceed 1.
 */
import { z } from 'zod';

export type Random = () => number;

export interface LatencyDistribution {
  /** Median latency, ms (> 0). */
  p50Ms: number;
  /** 99th-percentile latency, ms (≥ p50Ms). A log-normal distribution is fitted to the two. */
  p99Ms: number;
}

export interface Behavior {
  /** Fixed latency before answering, ms. Ignored when `latencyDistribution` is set. */
  latencyMs: number;
  /** Uniform ± jitter added to `latencyMs`, ms (result clamped at 0). */
  jitterMs: number;
  /** When set, latency is drawn from a log-normal fitted to p50/p99 instead of latencyMs ± jitterMs. */
  latencyDistribution: LatencyDistribution | null;
  /** Share of requests answered with `errorStatus`. */
  errorRate: number;
  /** Status of injected errors (400–599). */
  errorStatus: number;
  /** When set, injected errors carry `Retry-After: <seconds>`. */
  errorRetryAfterSeconds: number | null;
  /** Share of requests never answered. */
  hangRate: number;
  /** Share of requests whose socket is reset without a response. */
  resetRate: number;
  /** Share of requests answered 410 Gone (permanent); 1 = the endpoint is gone. */
  goneRate: number;
  /** Token bucket (burst = one second's worth, at least 1); above it: 429 + Retry-After. null = unlimited. */
  rateLimitPerSecond: number | null;
}

export type BehaviorPatch = Partial<Behavior>;

/** Field path (e.g. `errorRate`, `latencyDistribution.p99Ms`) → what is wrong with it. */
export type FieldErrors = Record<string, string>;

export type BehaviorResult = { ok: true; behavior: Behavior } | { ok: false; fields: FieldErrors };

export class BehaviorValidationError extends Error {
  readonly code = 'MOCK_INVALID_BEHAVIOR';
  constructor(readonly fields: FieldErrors) {
    super(
      `invalid behavior: ${Object.entries(fields)
        .map(([field, problem]) => `${field} ${problem}`)
        .join('; ')}`,
    );
    this.name = 'BehaviorValidationError';
  }
}

/** Instant 200 for everything: what a customer without configured behaviour gets. */
export const BASE_BEHAVIOR: Readonly<Behavior> = Object.freeze({
  latencyMs: 0,
  jitterMs: 0,
  latencyDistribution: null,
  errorRate: 0,
  errorStatus: 500,
  errorRetryAfterSeconds: null,
  hangRate: 0,
  resetRate: 0,
  goneRate: 0,
  rateLimitPerSecond: null,
});

export const RATE_KNOBS = ['resetRate', 'hangRate', 'goneRate', 'errorRate'] as const;

const MAX_LATENCY_MS = 3_600_000;

const rate = z
  .number({ error: 'must be a number between 0 and 1' })
  .min(0, 'must be between 0 and 1')
  .max(1, 'must be between 0 and 1');

const milliseconds = z
  .number({ error: `must be a number of milliseconds` })
  .min(0, 'must be ≥ 0')
  .max(MAX_LATENCY_MS, `must be ≤ ${MAX_LATENCY_MS}`);

const latencyDistribution = z
  .strictObject({
    p50Ms: z
      .number({ error: 'must be a number of milliseconds' })
      .positive('must be > 0')
      .max(MAX_LATENCY_MS, `must be ≤ ${MAX_LATENCY_MS}`),
    p99Ms: z
      .number({ error: 'must be a number of milliseconds' })
      .positive('must be > 0')
      .max(MAX_LATENCY_MS, `must be ≤ ${MAX_LATENCY_MS}`),
  })
  .superRefine((value, ctx) => {
    if (value.p99Ms < value.p50Ms) {
      ctx.addIssue({ code: 'custom', path: ['p99Ms'], message: 'must be ≥ p50Ms' });
    }
  });

export const behaviorPatchSchema = z
  .strictObject({
    latencyMs: milliseconds,
    jitterMs: milliseconds,
    latencyDistribution: latencyDistribution.nullable(),
    errorRate: rate,
    errorStatus: z
      .number({ error: 'must be an HTTP status between 400 and 599' })
      .int('must be an HTTP status between 400 and 599')
      .min(400, 'must be an HTTP status between 400 and 599')
      .max(599, 'must be an HTTP status between 400 and 599'),
    errorRetryAfterSeconds: z
      .number({ error: 'must be a whole number of seconds or null' })
      .int('must be a whole number of seconds or null')
      .min(0, 'must be ≥ 0')
      .nullable(),
    hangRate: rate,
    resetRate: rate,
    goneRate: rate,
    rateLimitPerSecond: z
      .number({ error: 'must be a positive number or null' })
      .positive('must be a positive number or null')
      .nullable(),
  })
  .partial();

function fieldErrors(issues: readonly z.core.$ZodIssue[]): FieldErrors {
  const fields: FieldErrors = {};
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) fields[[...issue.path, key].join('.')] = 'is not a known knob';
      continue;
    }
    const field = issue.path.length > 0 ? issue.path.join('.') : '(body)';
    fields[field] ??= issue.path.length > 0 ? issue.message : 'must be a JSON object of knobs';
  }
  return fields;
}

/** Validates a partial update (the body of `PUT /customers/:id/behavior`, a file's `behavior`, …). */
export function parseBehaviorPatch(
  input: unknown,
): { ok: true; patch: BehaviorPatch } | { ok: false; fields: FieldErrors } {
  const parsed = behaviorPatchSchema.safeParse(input);
  if (!parsed.success) return { ok: false, fields: fieldErrors(parsed.error.issues) };
  const patch: BehaviorPatch = {};
  for (const [key, value] of Object.entries(parsed.data)) {
    if (value !== undefined) Object.assign(patch, { [key]: value });
  }
  return { ok: true, patch };
}

/** Merges a validated-or-not patch into `current` and checks the rules that span knobs. */
export function applyBehaviorPatch(current: Readonly<Behavior>, input: unknown): BehaviorResult {
  const parsed = parseBehaviorPatch(input);
  if (!parsed.ok) return parsed;
  const next: Behavior = { ...current, ...parsed.patch };
  const total = RATE_KNOBS.reduce((sum, knob) => sum + next[knob], 0);
  if (total > 1 + 1e-9) {
    const named = RATE_KNOBS.filter((knob) => knob in parsed.patch);
    const blamed = named.length > 0 ? named : RATE_KNOBS.filter((knob) => next[knob] > 0);
    const fields: FieldErrors = {};
    for (const knob of blamed) {
      fields[knob] =
        `resetRate + hangRate + goneRate + errorRate must not exceed 1 (would be ${round(total)})`;
    }
    return { ok: false, fields };
  }
  return { ok: true, behavior: next };
}

/** Like applyBehaviorPatch, but throws BehaviorValidationError: for in-process callers. */
export function mergeBehavior(current: Readonly<Behavior>, input: unknown): Behavior {
  const result = applyBehaviorPatch(current, input);
  if (!result.ok) throw new BehaviorValidationError(result.fields);
  return result.behavior;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

// ---------------------------------------------------------------------------------------------------------
// The decision

export type RateVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export type Decision =
  | { kind: 'rate_limited'; status: 429; retryAfterSeconds: number }
  | { kind: 'reset' }
  | { kind: 'hang' }
  | { kind: 'gone'; status: 410; delayMs: number }
  | { kind: 'error'; status: number; retryAfterSeconds: number | null; delayMs: number }
  | { kind: 'ok'; status: 200; delayMs: number };

export type DecisionKind = Decision['kind'];

export function decide(behavior: Readonly<Behavior>, verdict: RateVerdict, random: Random): Decision {
  if (!verdict.allowed) {
    return { kind: 'rate_limited', status: 429, retryAfterSeconds: verdict.retryAfterSeconds };
  }
  const u = random();
  let edge = behavior.resetRate;
  if (u < edge) return { kind: 'reset' };
  edge += behavior.hangRate;
  if (u < edge) return { kind: 'hang' };
  edge += behavior.goneRate;
  if (u < edge) return { kind: 'gone', status: 410, delayMs: sampleLatencyMs(behavior, random) };
  edge += behavior.errorRate;
  if (u < edge) {
    return {
      kind: 'error',
      status: behavior.errorStatus,
      retryAfterSeconds: behavior.errorRetryAfterSeconds,
      delayMs: sampleLatencyMs(behavior, random),
    };
  }
  return { kind: 'ok', status: 200, delayMs: sampleLatencyMs(behavior, random) };
}

/** z such that P(Z ≤ z) = 0.99 for a standard normal Z. */
const Z_99 = 2.3263478740408408;

export function sampleLatencyMs(behavior: Readonly<Behavior>, random: Random): number {
  const distribution = behavior.latencyDistribution;
  if (distribution !== null) return sampleLogNormalMs(distribution, random);
  if (behavior.jitterMs === 0) return behavior.latencyMs;
  return Math.max(0, behavior.latencyMs + (2 * random() - 1) * behavior.jitterMs);
}

/** Log-normal with median p50Ms and 99th percentile p99Ms: exp(μ + σZ), μ = ln p50, σ = ln(p99/p50)/z₉₉. */
export function sampleLogNormalMs(distribution: LatencyDistribution, random: Random): number {
  const mu = Math.log(distribution.p50Ms);
  const sigma = Math.log(distribution.p99Ms / distribution.p50Ms) / Z_99;
  if (sigma === 0) return distribution.p50Ms;
  return Math.min(MAX_LATENCY_MS, Math.exp(mu + sigma * standardNormal(random)));
}

/** Box–Muller; 1 - random() keeps the logarithm's argument in (0, 1]. */
function standardNormal(random: Random): number {
  const u1 = 1 - random();
  const u2 = random();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
