import { describe, expect, it } from 'vitest';
import {
  applyBehaviorPatch,
  BASE_BEHAVIOR,
  BehaviorValidationError,
  decide,
  mergeBehavior,
  parseBehaviorPatch,
  sampleLatencyMs,
  sampleLogNormalMs,
} from '../../mock-customers/behavior.ts';
import type { Behavior, Decision, RateVerdict } from '../../mock-customers/behavior.ts';
import { percentile } from '../../mock-customers/percentiles.ts';
import { seededRandom } from './helpers.ts';

const constant = (value: number) => () => value;
const allowed: RateVerdict = { allowed: true };

describe('parseBehaviorPatch / applyBehaviorPatch', () => {
  it.each([
    [{ errorRate: 1.5 }, { errorRate: 'must be between 0 and 1' }],
    [{ errorRate: -0.1 }, { errorRate: 'must be between 0 and 1' }],
    [{ errorRate: 'x' }, { errorRate: 'must be a number between 0 and 1' }],
    [{ hangRate: 2 }, { hangRate: 'must be between 0 and 1' }],
    [{ latencyMs: -1 }, { latencyMs: 'must be ≥ 0' }],
    [{ jitterMs: 'slow' }, { jitterMs: 'must be a number of milliseconds' }],
    [{ errorStatus: 200 }, { errorStatus: 'must be an HTTP status between 400 and 599' }],
    [{ errorStatus: 500.5 }, { errorStatus: 'must be an HTTP status between 400 and 599' }],
    [{ rateLimitPerSecond: 0 }, { rateLimitPerSecond: 'must be a positive number or null' }],
    [{ errorRetryAfterSeconds: -3 }, { errorRetryAfterSeconds: 'must be ≥ 0' }],
    [{ latencyDistribution: { p50Ms: 100, p99Ms: 50 } }, { 'latencyDistribution.p99Ms': 'must be ≥ p50Ms' }],
    [{ latencyDistribution: { p50Ms: 0, p99Ms: 50 } }, { 'latencyDistribution.p50Ms': 'must be > 0' }],
    [
      { latencyDistribution: { p50Ms: 10 } },
      { 'latencyDistribution.p99Ms': 'must be a number of milliseconds' },
    ],
    [{ latencyMS: 3 }, { latencyMS: 'is not a known knob' }],
    [[], { '(body)': 'must be a JSON object of knobs' }],
    [null, { '(body)': 'must be a JSON object of knobs' }],
  ])('rejects %j naming the field', (input, fields) => {
    expect(applyBehaviorPatch(BASE_BEHAVIOR, input)).toEqual({ ok: false, fields });
  });

  it('reports every bad field at once', () => {
    const result = parseBehaviorPatch({ errorRate: 3, resetRate: -1, nope: true });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(Object.keys(result.fields).sort()).toEqual(['errorRate', 'nope', 'resetRate']);
  });

  it('merges a partial update and leaves other knobs alone', () => {
    const current: Behavior = { ...BASE_BEHAVIOR, latencyMs: 300, errorRate: 0.1 };
    const result = applyBehaviorPatch(current, { errorRate: 0.5, rateLimitPerSecond: 10 });
    expect(result).toEqual({ ok: true, behavior: { ...current, errorRate: 0.5, rateLimitPerSecond: 10 } });
  });

  it('accepts null to clear the nullable knobs', () => {
    const current: Behavior = {
      ...BASE_BEHAVIOR,
      rateLimitPerSecond: 5,
      latencyDistribution: { p50Ms: 10, p99Ms: 20 },
      errorRetryAfterSeconds: 3,
    };
    const result = applyBehaviorPatch(current, {
      rateLimitPerSecond: null,
      latencyDistribution: null,
      errorRetryAfterSeconds: null,
    });
    expect(result).toEqual({ ok: true, behavior: BASE_BEHAVIOR });
  });

  it('refuses rates that add up past 1, naming the knobs being changed', () => {
    const current: Behavior = { ...BASE_BEHAVIOR, errorRate: 0.6 };
    const result = applyBehaviorPatch(current, { hangRate: 0.5 });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(Object.keys(result.fields)).toEqual(['hangRate']);
      expect(result.fields['hangRate']).toMatch(/must not exceed 1 \(would be 1\.1\)/);
    }
    expect(applyBehaviorPatch(current, { hangRate: 0.4 }).ok).toBe(true);
  });

  it('mergeBehavior throws a BehaviorValidationError carrying the fields', () => {
    expect(() => mergeBehavior(BASE_BEHAVIOR, { errorRate: 7 })).toThrow(BehaviorValidationError);
    try {
      mergeBehavior(BASE_BEHAVIOR, { errorRate: 7 });
    } catch (error) {
      expect((error as BehaviorValidationError).fields).toEqual({ errorRate: 'must be between 0 and 1' });
    }
  });
});

describe('decide', () => {
  const mixed: Behavior = {
    ...BASE_BEHAVIOR,
    latencyMs: 50,
    resetRate: 0.1,
    hangRate: 0.1,
    goneRate: 0.1,
    errorRate: 0.2,
    errorStatus: 503,
    errorRetryAfterSeconds: 4,
  };

  it.each<[number, Decision]>([
    [0, { kind: 'reset' }],
    [0.0999, { kind: 'reset' }],
    [0.1, { kind: 'hang' }],
    [0.1999, { kind: 'hang' }],
    [0.2, { kind: 'gone', status: 410, delayMs: 50 }],
    [0.31, { kind: 'error', status: 503, retryAfterSeconds: 4, delayMs: 50 }],
    [0.4999, { kind: 'error', status: 503, retryAfterSeconds: 4, delayMs: 50 }],
    [0.5, { kind: 'ok', status: 200, delayMs: 50 }],
    [0.9999, { kind: 'ok', status: 200, delayMs: 50 }],
  ])('draw %f → %j', (draw, expected) => {
    expect(decide(mixed, allowed, constant(draw))).toEqual(expected);
  });

  it('answers 429 before drawing anything when the limiter refuses', () => {
    const random = () => {
      throw new Error('must not draw');
    };
    expect(decide(mixed, { allowed: false, retryAfterSeconds: 2 }, random)).toEqual({
      kind: 'rate_limited',
      status: 429,
      retryAfterSeconds: 2,
    });
  });

  it('rate 0 never and rate 1 always picks the outcome', () => {
    expect(decide(BASE_BEHAVIOR, allowed, constant(0)).kind).toBe('ok');
    expect(decide({ ...BASE_BEHAVIOR, errorRate: 1 }, allowed, constant(0.99999)).kind).toBe('error');
    expect(decide({ ...BASE_BEHAVIOR, goneRate: 1 }, allowed, constant(0.99999)).kind).toBe('gone');
  });

  it('error rate is the share of errors over many draws', () => {
    const random = seededRandom(42);
    const behavior = { ...BASE_BEHAVIOR, errorRate: 0.25 };
    let errors = 0;
    for (let i = 0; i < 20_000; i += 1) if (decide(behavior, allowed, random).kind === 'error') errors += 1;
    expect(errors / 20_000).toBeGreaterThan(0.235);
    expect(errors / 20_000).toBeLessThan(0.265);
  });
});

describe('latency sampling', () => {
  it.each([
    [0, 100],
    [0.5, 200],
    [0.99999, 300],
  ])('latency 200 ± 100 with draw %f → %f', (draw, expected) => {
    expect(sampleLatencyMs({ ...BASE_BEHAVIOR, latencyMs: 200, jitterMs: 100 }, constant(draw))).toBeCloseTo(
      expected,
      1,
    );
  });

  it('jitter never makes latency negative', () => {
    expect(sampleLatencyMs({ ...BASE_BEHAVIOR, latencyMs: 10, jitterMs: 100 }, constant(0))).toBe(0);
  });

  it('log-normal fitted to p50/p99 reproduces them', () => {
    const random = seededRandom(7);
    const samples = Float64Array.from({ length: 40_000 }, () =>
      sampleLogNormalMs({ p50Ms: 100, p99Ms: 1000 }, random),
    ).sort();
    expect(percentile(samples, 50)).toBeGreaterThan(95);
    expect(percentile(samples, 50)).toBeLessThan(105);
    expect(percentile(samples, 99)).toBeGreaterThan(850);
    expect(percentile(samples, 99)).toBeLessThan(1150);
  });

  it('a distribution wins over latencyMs; p50 = p99 is a constant', () => {
    const behavior = { ...BASE_BEHAVIOR, latencyMs: 5000, latencyDistribution: { p50Ms: 40, p99Ms: 40 } };
    expect(sampleLatencyMs(behavior, seededRandom(1))).toBe(40);
  });
});
