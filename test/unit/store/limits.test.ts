import { describe, expect, it } from 'vitest';
import {
  checkPaused,
  decideLimits,
  emptyLimitsState,
  releaseLimitsState,
  viewLimits,
} from '../../../src/store/limits.ts';
import type { LimitsState } from '../../../src/store/limits.ts';
import type { LimitsGrant, LimitsRequest } from '../../../src/store/port.ts';
import { POLICY, limitsRequest } from '../../store/conformance.ts';

const req = (holder: string, over: Partial<LimitsRequest> = {}): LimitsRequest =>
  limitsRequest({ customer: 'c', holder, ...over });

type Step = [holder: string, now: number, over?: Partial<LimitsRequest>];

/** Threads one customer's state through the syncs; returns every grant and the final state. */
function run(steps: Step[], from?: LimitsState): { grants: LimitsGrant[]; state: LimitsState | undefined } {
  let state = from;
  const grants = steps.map(([holder, now, over]) => {
    const r = decideLimits(state, req(holder, over), now);
    state = r.state;
    return r.grant;
  });
  return { grants, state };
}

const permits = (steps: Step[]) => run(steps).grants.map((g) => g.permits);
const sumPermits = (s: LimitsState | undefined) => (s?.holders ?? []).reduce((n, h) => n + h.permits, 0);

describe('decideLimits: permits (a leased fair semaphore)', () => {
  it.each<[string, Step[], number[]]>([
    ['one holder gets what it wants', [['A', 0, { want: 3 }]], [3]],
    ['one holder gets at most concurrency', [['A', 0, { want: 30 }]], [10]],
    ['a holder that wants nothing gets nothing', [['A', 0]], [0]],
    [
      'two holders wanting little both get it',
      [
        ['A', 0, { want: 4 }],
        ['B', 1, { want: 4 }],
      ],
      [4, 4],
    ],
    [
      'a latecomer waits while the first is not starved, then the first shrinks to its share',
      [
        ['A', 0, { want: 10 }],
        ['B', 1, { want: 10 }],
        ['A', 2, { want: 10, inUse: 10 }],
        ['A', 3, { want: 10, inUse: 3 }],
        ['B', 4, { want: 10 }],
        ['A', 5, { want: 10, inUse: 5 }],
        ['B', 6, { want: 10, inUse: 5 }],
      ],
      [10, 0, 10, 5, 5, 5, 5],
    ],
    [
      'three holders settle at floor(10 / 3) each, shrinking only as requests finish',
      [
        ['A', 0, { want: 10 }],
        ['B', 0, { want: 10 }],
        ['A', 0, { want: 10 }],
        ['B', 0, { want: 10 }],
        ['C', 0, { want: 10 }],
        ['A', 1, { want: 10, inUse: 5 }],
        ['B', 1, { want: 10, inUse: 4 }],
        ['A', 2, { want: 10, inUse: 1 }],
        ['C', 2, { want: 10 }],
        ['B', 3, { want: 10, inUse: 0 }],
        ['C', 3, { want: 10 }],
      ],
      [10, 0, 5, 5, 0, 5, 4, 3, 3, 3, 3],
    ],
    [
      'a holder wanting less than its share leaves the rest to a starved one',
      [
        ['A', 0, { want: 10 }],
        ['B', 0, { want: 2 }],
        ['A', 0, { want: 10, inUse: 0 }],
        ['B', 0, { want: 2 }],
        ['A', 0, { want: 10 }],
      ],
      [10, 0, 5, 2, 8],
    ],
    [
      'a holder whose want drops to 0 lets the others have everything',
      [
        ['A', 0, { want: 10 }],
        ['B', 0, { want: 10 }],
        ['A', 0, { want: 10 }],
        ['B', 0, { want: 10 }],
        ['A', 0, { want: 0 }],
        ['B', 0, { want: 10 }],
      ],
      [10, 0, 5, 5, 0, 10],
    ],
    [
      'the starved fair share is at least one even with more holders than concurrency',
      [
        ['A', 0, { want: 2, concurrency: 2 }],
        ['B', 0, { want: 2, concurrency: 2 }],
        ['C', 0, { want: 2, concurrency: 2 }],
        ['A', 0, { want: 2, concurrency: 2, inUse: 0 }],
        ['B', 0, { want: 2, concurrency: 2 }],
        ['C', 0, { want: 2, concurrency: 2 }],
      ],
      [2, 0, 0, 1, 1, 0],
    ],
  ])('%s', (_name, steps, expected) => {
    expect(permits(steps)).toEqual(expected);
  });

  it('keeps at least the requests out (inUse), even above its share or a lowered concurrency', () => {
    const { grants, state } = run([
      ['A', 0, { want: 10 }],
      ['B', 0, { want: 10 }],
      ['A', 1, { want: 10, inUse: 8 }],
      // The customers file lowered concurrency to 4: A keeps its 8 out, B gets nothing until they finish.
      ['B', 2, { want: 4, concurrency: 4 }],
      ['A', 3, { want: 4, inUse: 6, concurrency: 4 }],
      ['A', 4, { want: 4, inUse: 1, concurrency: 4 }],
      ['B', 5, { want: 4, concurrency: 4 }],
    ]);
    expect(grants.map((g) => g.permits)).toEqual([10, 0, 8, 0, 6, 2, 2]);
    expect(sumPermits(state)).toBe(4);
  });

  it("a holder's permits come back when its lease ends (expiresAt ≤ now), not before", () => {
    const { grants, state } = run([
      ['A', 0, { want: 10, leaseMs: 1000 }],
      ['B', 999, { want: 10 }],
      ['B', 1000, { want: 10 }],
    ]);
    expect(grants.map((g) => g.permits)).toEqual([10, 0, 10]);
    expect(state!.holders.map((h) => h.holder)).toEqual(['B']);
    expect(grants.map((g) => g.holders)).toEqual([1, 2, 1]);
  });

  it('release gives the permits back at once', () => {
    const { state } = run([
      ['A', 0, { want: 10 }],
      ['B', 0, { want: 10 }],
    ]);
    const after = run([['B', 1, { want: 10 }]], releaseLimitsState(state, 'A'));
    expect(after.grants[0]!.permits).toBe(10);
    expect(releaseLimitsState(undefined, 'A')).toBeUndefined();
  });

  it('never sums above concurrency while holders respect their grants (seeded random walk)', () => {
    let state: LimitsState | undefined;
    const grantOf = new Map<string, number>();
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      const holder = `H${rnd(4)}`;
      const inUse = rnd((grantOf.get(holder) ?? 0) + 1);
      const r = decideLimits(state, req(holder, { want: inUse + rnd(8), inUse, leaseMs: 50 }), i);
      state = r.state;
      grantOf.set(holder, r.grant.permits);
      expect(sumPermits(state)).toBeLessThanOrEqual(10);
    }
  });

  it('is pure: the state passed in is not changed', () => {
    const { state } = run([['A', 0, { want: 5, ratePerSecond: 2, tokens: 1, failures: 1 }]]);
    const before = JSON.stringify(state);
    decideLimits(state, req('B', { want: 5, ratePerSecond: 2, tokens: 2, failures: 3 }), 10);
    releaseLimitsState(state, 'A');
    expect(JSON.stringify(state)).toBe(before);
  });
});

describe('decideLimits: rate (one token bucket per customer)', () => {
  const r = (over: Partial<LimitsRequest>) => ({ ratePerSecond: 5, ...over });

  it('starts full (one second of burst) and grants no more than asked', () => {
    expect(run([['A', 0, r({ tokens: 2 })]]).grants[0]).toMatchObject({ tokens: 2, nextTokenAt: null });
    expect(run([['A', 0, r({ tokens: 9 })]]).grants[0]).toMatchObject({ tokens: 5, nextTokenAt: 200 });
  });

  it('refills continuously and says when the next whole token is there', () => {
    const { grants } = run([
      ['A', 0, r({ tokens: 5 })],
      ['B', 100, r({ tokens: 1 })],
      ['B', 200, r({ tokens: 2 })],
      ['A', 250, r({ tokens: 1 })],
      ['A', 450, r({ tokens: 1 })],
    ]);
    expect(grants.map((g) => [g.tokens, g.nextTokenAt])).toEqual([
      [5, null],
      [0, 200],
      [1, 400],
      [0, 400],
      [1, null],
    ]);
  });

  it('bursts at most capacity after a long idle time; capacity is at least one token', () => {
    expect(
      run([
        ['A', 0, r({ tokens: 5 })],
        ['A', 3_600_000, r({ tokens: 50 })],
      ]).grants[1]!.tokens,
    ).toBe(5);
    const slow = run([
      ['A', 0, { ratePerSecond: 0.5, tokens: 3 }],
      ['A', 1000, { ratePerSecond: 0.5, tokens: 3 }],
      ['A', 2000, { ratePerSecond: 0.5, tokens: 3 }],
    ]).grants;
    expect(slow.map((g) => [g.tokens, g.nextTokenAt])).toEqual([
      [1, 2000],
      [0, 2000],
      [1, 4000],
    ]);
  });

  it('takes unused tokens back, capped at capacity', () => {
    const { grants, state } = run([
      ['A', 0, r({ tokens: 5 })],
      ['A', 0, r({ unusedTokens: 3 })],
      ['B', 0, r({ tokens: 5 })],
      ['A', 0, r({ unusedTokens: 100 })],
    ]);
    expect(grants.map((g) => g.tokens)).toEqual([5, 0, 3, 0]);
    expect(state!.rate!.tokens).toBe(5);
  });

  it('a clock behind the bucket (another process) mints nothing', () => {
    const { grants } = run([
      ['A', 1000, r({ tokens: 5 })],
      ['B', 900, r({ tokens: 1 })],
      ['A', 1000, r({ tokens: 1 })],
      ['A', 1200, r({ tokens: 2 })],
    ]);
    expect(grants.map((g) => g.tokens)).toEqual([5, 0, 0, 1]);
  });

  it('without a rate limit grants what is asked and forgets the bucket', () => {
    const { grants, state } = run([
      ['A', 0, r({ tokens: 5 })],
      ['A', 0, { tokens: 40 }],
    ]);
    expect(grants[1]).toMatchObject({ tokens: 40, nextTokenAt: null });
    expect(state!.rate).toBeNull();
    expect(viewLimits(state, null, 0).tokens).toBeNull();
  });
});

describe('decideLimits: the shared breaker', () => {
  const modes = (steps: Step[]) => run(steps).grants.map((g) => g.breaker);

  it.each<[string, Step[], string]>([
    ['stays closed below the volume threshold', [['A', 0, { failures: 3 }]], 'closed'],
    [
      'opens from the failures of several holders together',
      [
        ['A', 0, { failures: 2 }],
        ['B', 1, { failures: 2 }],
      ],
      'open',
    ],
    ['50 % is not more than 50 %', [['A', 0, { failures: 2, successes: 2 }]], 'closed'],
    [
      'more than 50 % opens',
      [
        ['A', 0, { failures: 1, successes: 1 }],
        ['B', 0, { failures: 2 }],
      ],
      'open',
    ],
    [
      'forgets failures that fell out of the window',
      [
        ['A', 0, { failures: 3 }],
        ['B', 20_000, { failures: 1 }],
      ],
      'closed',
    ],
    [
      'a threshold of 100 % never opens',
      [['A', 0, { failures: 9, breaker: { ...POLICY, threshold: 100 } }]],
      'closed',
    ],
  ])('%s', (_name, steps, last) => {
    expect(modes(steps).at(-1)).toBe(last);
  });

  it('open → half-open at reopensAt; exactly one holder gets the probe; only its report counts', () => {
    const { grants } = run([
      ['A', 0, { failures: 4 }], // 0 open
      ['B', 100, { failures: 9, successes: 9 }], // 1 ignored while open
      ['A', 4999, { wantProbe: true }], // 2 still open
      ['B', 5000, { wantProbe: true }], // 3 half-open: B probes
      ['A', 5001, { wantProbe: true }], // 4 not A
      ['A', 5002, { probe: 'ok', failures: 4 }], // 5 A holds no probe: ignored
      ['B', 5100, { probe: 'failed' }], // 6 open again
      ['A', 10_100, { wantProbe: true }], // 7 A probes
      ['A', 10_200, { probe: 'ok', wantProbe: true }], // 8 closed, window cleared
      ['B', 10_300, { failures: 3 }], // 9 3 failures: below the volume
    ]);
    expect(grants.map((g) => [g.breaker, g.probe, g.reopensAt])).toEqual([
      ['open', false, 5000],
      ['open', false, 5000],
      ['open', false, 5000],
      ['half-open', true, null],
      ['half-open', false, null],
      ['half-open', false, null],
      ['open', false, 10_100],
      ['half-open', true, null],
      ['closed', false, null],
      ['closed', false, null],
    ]);
  });

  it('a probe holder keeps the probe until it reports; abandoned frees the slot', () => {
    const { grants } = run([
      ['A', 0, { failures: 4 }],
      ['A', 5000, { wantProbe: true }],
      ['A', 5001], // its probe is out: it still holds it
      ['B', 5002, { wantProbe: true }],
      ['A', 5003, { probe: 'abandoned' }],
      ['B', 5004, { wantProbe: true }],
    ]);
    expect(grants.map((g) => g.probe)).toEqual([false, true, true, false, false, true]);
  });

  it('the probe of an expired or released holder is free for another', () => {
    const expired = run([
      ['A', 0, { failures: 4 }],
      ['A', 5000, { wantProbe: true, leaseMs: 500 }],
      ['B', 5499, { wantProbe: true }],
      ['B', 5500, { wantProbe: true }],
      ['A', 5600, { probe: 'ok' }], // too late: the probe is B's now
    ]).grants;
    expect(expired.map((g) => [g.breaker, g.probe])).toEqual([
      ['open', false],
      ['half-open', true],
      ['half-open', false],
      ['half-open', true],
      ['half-open', false],
    ]);
    const held = run([
      ['A', 0, { failures: 4 }],
      ['A', 5000, { wantProbe: true }],
    ]).state;
    const released = releaseLimitsState(held, 'A');
    expect(released!.breaker.probe).toBeNull();
    expect(run([['B', 5001, { wantProbe: true }]], released).grants[0]!.probe).toBe(true);
  });
});

describe('viewLimits and the pause', () => {
  it('lists live holders by name, the bucket refilled to now, the breaker read at now, the pause', () => {
    const { state } = run([
      ['B', 0, { want: 2, inUse: 1, ratePerSecond: 4, tokens: 4, failures: 4, leaseMs: 1000 }],
      ['A', 0, { want: 3, ratePerSecond: 4, leaseMs: 2000 }],
      ['C', 0, { ratePerSecond: 4, leaseMs: 500 }],
    ]);
    const paused = { reason: 'ops', at: 3 };
    expect(viewLimits(state, paused, 500)).toEqual({
      holders: [
        { holder: 'A', permits: 3, inUse: 0, expiresAt: 2000 },
        { holder: 'B', permits: 2, inUse: 1, expiresAt: 1000 },
      ],
      tokens: 2,
      breaker: 'open',
      paused,
    });
    expect(viewLimits(state, null, 5000)).toMatchObject({ holders: [], tokens: 4, breaker: 'half-open' });
    expect(viewLimits(undefined, null, 0)).toEqual({
      holders: [],
      tokens: null,
      breaker: 'closed',
      paused: null,
    });
  });

  it('every grant carries the pause it is given', () => {
    const g = decideLimits(emptyLimitsState(), req('A', { want: 1 }), 0, { reason: null, at: 9 }).grant;
    expect(g.paused).toEqual({ reason: null, at: 9 });
  });
});

describe('bad input', () => {
  it.each<[string, Partial<LimitsRequest>, RegExp]>([
    ['negative want', { want: -1 }, /want must be an integer ≥ 0/],
    ['fractional inUse', { inUse: 1.5 }, /inUse must be an integer/],
    ['zero concurrency', { concurrency: 0 }, /concurrency must be an integer ≥ 1/],
    ['no lease', { leaseMs: 0 }, /leaseMs must be > 0/],
    ['a zero rate', { ratePerSecond: 0 }, /ratePerSecond must be > 0 or null/],
    ['a threshold above 100', { breaker: { ...POLICY, threshold: 120 } }, /threshold must be a percentage/],
    ['an unknown probe report', { probe: 'maybe' as never }, /probe must be ok, failed, abandoned or null/],
    ['an empty holder', { holder: '' }, /holder must be a non-empty string/],
  ])('refuses %s', (_name, over, message) => {
    expect(() => decideLimits(undefined, { ...req('A'), ...over }, 0)).toThrow(message);
  });

  it('refuses a time that is not a number, and a malformed pause', () => {
    expect(() => decideLimits(undefined, req('A'), Number.NaN)).toThrow(/now must be a finite number/);
    expect(() => checkPaused({ reason: null, at: Number.POSITIVE_INFINITY })).toThrow(/at/);
    expect(() => checkPaused({ reason: 5 as never, at: 1 })).toThrow(/reason/);
    expect(() => checkPaused(null)).not.toThrow();
  });
});
