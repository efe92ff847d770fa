import { describe, expect, it } from 'vitest';
import {
  OVERHEAD_BUDGET_MS,
  buildSummary,
  fastProblem,
  histogramQuantile,
  latencyStats,
  percentile,
  roleOf,
  samplesFromLedger,
  stillDraining,
  summarizeCustomer,
  verdictOf,
} from '../../demo/summary.ts';
import type { CustomerObservation, CustomerSummary, HistogramBucket } from '../../demo/summary.ts';

describe('percentile (nearest rank)', () => {
  const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  it.each([
    { values: [], p: 50, want: null },
    { values: [7], p: 50, want: 7 },
    { values: [7], p: 99, want: 7 },
    { values: ten, p: 50, want: 5 },
    { values: ten, p: 90, want: 9 },
    { values: ten, p: 99, want: 10 },
    { values: ten, p: 100, want: 10 },
    { values: ten, p: 1, want: 1 },
    { values: [300, 301, 302, 303], p: 50, want: 301 },
  ])('p$p of $values → $want', ({ values, p, want }) => {
    expect(percentile(values, p)).toBe(want);
  });

  it('refuses p outside (0, 100]', () => {
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe('latencyStats', () => {
  it.each([
    { values: [], want: { count: 0, p50Ms: null, p99Ms: null, maxMs: null } },
    { values: [305, 301, 310], want: { count: 3, p50Ms: 305, p99Ms: 310, maxMs: 310 } },
    {
      values: [...Array.from({ length: 99 }, () => 300), 900],
      want: { count: 100, p50Ms: 300, p99Ms: 300, maxMs: 900 },
    },
  ])('$values', ({ values, want }) => {
    expect(latencyStats(values)).toEqual(want);
  });
});

describe('samplesFromLedger', () => {
  const at = (iso: string) => Date.parse(iso);
  it.each([
    {
      name: 'a first delivery of this run',
      d: {
        packageId: 'DEMO-x-000001',
        occurredAt: '2026-11-22T18:00:00.000Z',
        receivedAt: '2026-11-22T18:00:00.305Z',
        duplicate: false,
      },
      want: [{ committedAt: at('2026-11-22T18:00:00.000Z'), e2eMs: 305 }],
    },
    {
      name: 'a duplicate',
      d: {
        packageId: 'DEMO-x-000001',
        occurredAt: '2026-11-22T18:00:00.000Z',
        receivedAt: '2026-11-22T18:00:01.000Z',
        duplicate: true,
      },
      want: [],
    },
    {
      name: "another run's package",
      d: {
        packageId: 'DEMO-y-000001',
        occurredAt: '2026-11-22T18:00:00.000Z',
        receivedAt: '2026-11-22T18:00:01.000Z',
        duplicate: false,
      },
      want: [],
    },
    {
      name: 'no package id',
      d: { packageId: null, occurredAt: '2026-11-22T18:00:00.000Z', receivedAt: 'x', duplicate: false },
      want: [],
    },
    {
      name: 'no commit time',
      d: {
        packageId: 'DEMO-x-1',
        occurredAt: null,
        receivedAt: '2026-11-22T18:00:01.000Z',
        duplicate: false,
      },
      want: [],
    },
    {
      name: 'unreadable time',
      d: {
        packageId: 'DEMO-x-1',
        occurredAt: 'yesterday',
        receivedAt: '2026-11-22T18:00:01.000Z',
        duplicate: false,
      },
      want: [],
    },
    {
      name: 'clock skew never gives a negative latency',
      d: {
        packageId: 'DEMO-x-1',
        occurredAt: '2026-11-22T18:00:01.000Z',
        receivedAt: '2026-11-22T18:00:00.990Z',
        duplicate: false,
      },
      want: [{ committedAt: at('2026-11-22T18:00:01.000Z'), e2eMs: 0 }],
    },
  ])('$name', ({ d, want }) => {
    expect(samplesFromLedger([d], 'DEMO-x-')).toEqual(want);
  });
});

describe('histogramQuantile (as Prometheus)', () => {
  const b = (pairs: [number, number][]): HistogramBucket[] => pairs.map(([le, count]) => ({ le, count }));
  it.each([
    {
      name: 'no observations',
      buckets: b([
        [0.5, 0],
        [Infinity, 0],
      ]),
      q: 0.5,
      want: null,
    },
    { name: 'no buckets', buckets: [], q: 0.5, want: null },
    {
      name: 'all in one bucket: halfway',
      buckets: b([
        [0.25, 0],
        [0.5, 10],
        [Infinity, 10],
      ]),
      q: 0.5,
      want: 0.375,
    },
    {
      name: 'first bucket starts at 0',
      buckets: b([
        [1, 4],
        [Infinity, 4],
      ]),
      q: 0.5,
      want: 0.5,
    },
    {
      name: 'across buckets',
      buckets: b([
        [0.1, 50],
        [0.2, 90],
        [0.4, 100],
        [Infinity, 100],
      ]),
      q: 0.9,
      want: 0.2,
    },
    {
      name: 'p99 in the last finite bucket',
      buckets: b([
        [0.1, 50],
        [0.2, 90],
        [0.4, 100],
        [Infinity, 100],
      ]),
      q: 0.99,
      want: 0.38,
    },
    {
      name: 'rank in +Inf gives the highest finite bound',
      buckets: b([
        [0.1, 1],
        [0.2, 2],
        [Infinity, 10],
      ]),
      q: 0.99,
      want: 0.2,
    },
    {
      name: 'unsorted input',
      buckets: b([
        [Infinity, 10],
        [0.5, 10],
        [0.25, 0],
      ]),
      q: 0.5,
      want: 0.375,
    },
  ])('$name', ({ buckets, q, want }) => {
    const got = histogramQuantile(buckets, q);
    if (want === null) expect(got).toBeNull();
    else expect(got).toBeCloseTo(want, 9);
  });
});

describe('roleOf', () => {
  it.each([
    { latency: 0, role: 'fast' },
    { latency: 300, role: 'fast' },
    { latency: 4999, role: 'fast' },
    { latency: 5000, role: 'slow' },
    { latency: 30_000, role: 'slow' },
  ])('$latency ms → $role', ({ latency, role }) => {
    expect(roleOf(latency)).toBe(role);
  });
});

const T0 = 1_800_000_000_000;

function observation(over: Partial<CustomerObservation> = {}): CustomerObservation {
  return {
    id: 'customer-1',
    mockLatencyMs: 300,
    sent: 4,
    samples: [
      { committedAt: T0 + 1000, e2eMs: 301 },
      { committedAt: T0 + 2000, e2eMs: 305 },
      { committedAt: T0 + 6000, e2eMs: 302 },
      { committedAt: T0 + 9000, e2eMs: 320 },
    ],
    lane: { inflight: 0, pending: 0, parked: 0, breaker: 'closed' },
    integrator: {
      delivered: 4,
      deadLettered: 0,
      endToEnd: [
        { le: 0.25, count: 0 },
        { le: 0.5, count: 4 },
        { le: Infinity, count: 4 },
      ],
    },
    ...over,
  };
}

describe('summarizeCustomer', () => {
  it('splits the samples at the middle of the generation window', () => {
    const s = summarizeCustomer(observation(), { startedAt: T0, endedAt: T0 + 10_000 });
    expect(s).toMatchObject({
      id: 'customer-1',
      role: 'fast',
      sent: 4,
      delivered: 4,
      undelivered: 0,
      e2e: { count: 4, p50Ms: 302, p99Ms: 320, maxMs: 320 },
      e2eFirstHalf: { count: 2, p50Ms: 301, p99Ms: 305 },
      e2eSecondHalf: { count: 2, p50Ms: 302, p99Ms: 320 },
      integrator: { delivered: 4, deadLettered: 0, e2eP50Ms: 375, e2eP99Ms: 498 },
      breaker: 'closed',
    });
  });

  it('without lane or integrator data, says so with nulls', () => {
    const s = summarizeCustomer(observation({ lane: null, integrator: null, samples: [], sent: 3 }), {
      startedAt: T0,
      endedAt: T0 + 10_000,
    });
    expect(s).toMatchObject({
      delivered: 0,
      undelivered: 3,
      inflight: null,
      breaker: null,
      integrator: null,
    });
    expect(s.e2e.p99Ms).toBeNull();
  });
});

function summary(over: Partial<CustomerSummary>): CustomerSummary {
  const stats = { count: 100, p50Ms: 302, p99Ms: 320, maxMs: 330 };
  return {
    id: 'customer-1',
    role: 'fast',
    mockLatencyMs: 300,
    sent: 100,
    delivered: 100,
    undelivered: 0,
    inflight: 0,
    pending: 0,
    parked: 0,
    breaker: 'closed',
    e2e: stats,
    e2eFirstHalf: stats,
    e2eSecondHalf: stats,
    integrator: null,
    ...over,
  };
}

const slow = summary({
  id: 'customer-2',
  role: 'slow',
  mockLatencyMs: 30_000,
  sent: 100,
  delivered: 16,
  undelivered: 84,
  inflight: 16,
  e2e: { count: 16, p50Ms: 30_010, p99Ms: 30_020, maxMs: 30_020 },
});

describe('fastProblem / stillDraining', () => {
  it.each([
    { name: 'all delivered, p99 within budget', c: summary({}), want: null },
    {
      name: 'p99 exactly at the budget',
      c: summary({ e2e: { count: 1, p50Ms: 1, p99Ms: 300 + OVERHEAD_BUDGET_MS, maxMs: 1 } }),
      want: null,
    },
    {
      name: 'p99 above the budget',
      c: summary({ e2e: { count: 1, p50Ms: 1, p99Ms: 301 + OVERHEAD_BUDGET_MS, maxMs: 1 } }),
      want: /p99 was 1001 ms, above 1000 ms/,
    },
    { name: 'some undelivered', c: summary({ delivered: 98, undelivered: 2 }), want: /delivered 98 of 100/ },
    { name: 'nothing sent', c: summary({ sent: 0, delivered: 0 }), want: /was sent no events/ },
  ])('$name', ({ c, want }) => {
    const got = fastProblem(c);
    if (want === null) expect(got).toBeNull();
    else expect(got).toMatch(want);
  });

  it.each([
    { c: slow, want: true },
    { c: summary({ role: 'slow', undelivered: 0, inflight: 3 }), want: true },
    { c: summary({ role: 'slow', undelivered: 0, inflight: 0 }), want: false },
    { c: summary({ role: 'slow', undelivered: 0, inflight: null }), want: false },
  ])('stillDraining #%#', ({ c, want }) => {
    expect(stillDraining(c)).toBe(want);
  });
});

describe('verdictOf', () => {
  it('isolated: the fast ones kept pace while the slow one backed up', () => {
    const v = verdictOf([summary({}), slow, summary({ id: 'customer-3' })]);
    expect(v.outcome).toBe('isolated');
    expect(v.text).toBe(
      'ISOLATED: customer-1 and customer-3 did not slow down — all 200 of their events delivered, end-to-end ' +
        'customer-1 p50 302 ms / p99 320 ms for a 300 ms answer (p99 first half 320 ms → second half 320 ms) and ' +
        'customer-3 p50 302 ms / p99 320 ms for a 300 ms answer (p99 first half 320 ms → second half 320 ms) — ' +
        'while customer-2 took 30 s per request and had delivered 16 of 100 (84 still waiting, 16 in flight).',
    );
  });

  it('not isolated when a fast customer missed events or slowed down', () => {
    const v = verdictOf([
      summary({ delivered: 90, undelivered: 10 }),
      slow,
      summary({ id: 'customer-3', e2e: { count: 1, p50Ms: 900, p99Ms: 5000, maxMs: 5000 } }),
    ]);
    expect(v.outcome).toBe('not-isolated');
    expect(v.text).toMatch(/^NOT ISOLATED: customer-1 delivered 90 of 100; customer-3's p99 was 5000 ms/);
    expect(v.text).toMatch(/meanwhile customer-2 took 30 s per request/);
  });

  it.each([
    { name: 'no slow customer', customers: [summary({}), summary({ id: 'customer-3' })] },
    { name: 'no fast customer', customers: [slow] },
    { name: 'nobody', customers: [] },
  ])('inconclusive with $name', ({ customers }) => {
    const v = verdictOf(customers);
    expect(v.outcome).toBe('inconclusive');
    expect(v.text).toMatch(/nothing to compare/);
  });

  it('a slow customer that caught up is not described as waiting', () => {
    const caughtUp = { ...slow, delivered: 100, undelivered: 0, inflight: 0 };
    expect(verdictOf([summary({}), caughtUp]).text).toMatch(/had delivered 100 of 100\.$/);
  });
});

describe('buildSummary', () => {
  it('puts the run, every customer and the verdict together', () => {
    const s = buildSummary({
      source: 'in-memory topic t (6 partitions)',
      store: 'memory',
      durationS: 20,
      rate: 20,
      metricsUrl: 'http://127.0.0.1:1/metrics',
      generation: { startedAt: T0, endedAt: T0 + 17_049 },
      observations: [
        observation(),
        observation({ id: 'customer-2', mockLatencyMs: 30_000, sent: 5, samples: [] }),
      ],
    });
    expect(s.generatedForS).toBe(17);
    expect(s.customers.map((c) => [c.id, c.role, c.undelivered])).toEqual([
      ['customer-1', 'fast', 0],
      ['customer-2', 'slow', 5],
    ]);
    expect(s.verdict.outcome).toBe('isolated');
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});
