import { describe, expect, it } from 'vitest';
import {
  DrainRate,
  budget,
  chooseMoves,
  healthy,
  placeNew,
  refill,
  saturated,
} from '../../../src/lanes/intake-policy.ts';
import type { LaneLoad, PackageView } from '../../../src/lanes/intake-policy.ts';

const load = (over: Partial<LaneLoad> = {}): LaneLoad => ({
  mode: 'running',
  held: 0,
  cap: 1000,
  concurrency: 16,
  drainable: 5000,
  processBusy: false,
  oldestOutMs: 0,
  parkAfterMs: 2000,
  verdict: null,
  ...over,
});

describe('DrainRate (Little’s law)', () => {
  it.each<[number[], number, number | null, number]>([
    [[], 0, null, 16_000], // nothing seen: 1 ms floor
    [[10], 0, null, 1600],
    [[10], 2000, null, 8], // a request out for 2 s bounds the latency from below
    [[100, 100, 100], 0, 50, 50], // capped by ratePerSecond
    [[30_000], 0, null, 16 / 30],
  ])('durations %j, oldest out %d ms, rate %s → %d/s', (durations, oldest, rate, expected) => {
    const r = new DrainRate(16, rate);
    for (const d of durations) r.observe(d);
    expect(r.perSecond(oldest)).toBeCloseTo(expected, 5);
  });
});

describe('refill: the room that wakes a pipeline waiting on a full lane', () => {
  it.each<[number, number, number]>([
    [1000, 64, 64], // concurrency bounds it
    [1000, 500, 250], // a quarter of the memory
    [100, 64, 25],
    [3, 64, 1], // never below one
    [1, 1, 1],
    [1000, 1, 1],
  ])('maxInMemory %d, concurrency %d → %d', (cap, concurrency, expected) => {
    expect(refill(cap, concurrency)).toBe(expected);
  });
});

describe('intake decisions', () => {
  it.each<[string, Partial<LaneLoad>, boolean, number, boolean, 'memory' | 'store']>([
    // name, load, healthy, budget, saturated, placeNew
    ['fast lane, room', { held: 10 }, true, 1000, false, 'memory'],
    ['fast lane, full: fetching waits', { held: 1000 }, true, 1000, true, 'memory'],
    ['slow lane (drains 20 in time), room', { drainable: 20, held: 5 }, false, 20, false, 'memory'],
    ['slow lane, over what it drains: store', { drainable: 20, held: 20 }, false, 20, false, 'store'],
    ['slow lane, full: parks, never waits', { drainable: 20, held: 1500 }, false, 20, false, 'store'],
    ['budget is at least the concurrency', { drainable: 2, held: 10 }, false, 16, false, 'memory'],
    ['breaker open: store', { mode: 'open', held: 0 }, true, 1000, false, 'store'],
    ['paused: store', { mode: 'paused' }, true, 1000, false, 'store'],
    ['held for a rebalance: memory', { mode: 'held', drainable: 1 }, false, 16, false, 'memory'],
    ['held and full: waits', { mode: 'held', held: 1000, drainable: 1 }, false, 16, true, 'memory'],
    // The process is saturated: latencies are its own, so a lane with young requests keeps its backlog in
    // Kafka (fetching waits) instead of parking it, which would add work to the process.
    [
      'process busy, young requests, full: waits',
      { processBusy: true, drainable: 300, held: 1000, oldestOutMs: 120 },
      true,
      300,
      true,
      'memory',
    ],
    [
      'process busy, over budget: memory',
      { processBusy: true, drainable: 300, held: 400, oldestOutMs: 1999 },
      true,
      300,
      false,
      'memory',
    ],
    [
      'process busy, a request out for PARK_AFTER_MS: slow, parks',
      { processBusy: true, drainable: 20, held: 20, oldestOutMs: 2000 },
      false,
      20,
      false,
      'store',
    ],
    [
      'a settled verdict overrides the instant: still healthy (a doubt within its grace)',
      { drainable: 20, held: 1000, verdict: 'healthy' },
      true,
      20,
      true,
      'memory',
    ],
    [
      'a settled verdict overrides the instant: still unhealthy (recovering within its grace)',
      { drainable: 5000, held: 1000, verdict: 'unhealthy' },
      false,
      1000,
      false,
      'store',
    ],
    [
      'process calm, same young requests: parks beyond what it drains',
      { processBusy: false, drainable: 300, held: 400, oldestOutMs: 120 },
      false,
      300,
      false,
      'store',
    ],
  ])('%s', (_name, over, h, b, s, place) => {
    const l = load(over);
    expect([healthy(l), budget(l), saturated(l), placeNew(l)]).toEqual([h, b, s, place]);
  });
});

describe('chooseMoves: which memory packages go to the store', () => {
  const now = 10_000;
  const pkg = (key: string, over: Partial<PackageView> = {}): PackageView => ({
    key,
    size: 1,
    outSince: null,
    retryAt: null,
    headSeenAt: now - 100,
    newestSeenAt: now - 100,
    ...over,
  });

  it.each<[string, PackageView[], Partial<LaneLoad>, [string, string][]]>([
    ['nothing to move in a healthy lane', [pkg('a'), pkg('b', { outSince: now - 500 })], {}, []],
    ['a request out longer than PARK_AFTER_MS', [pkg('a', { outSince: now - 2000 })], {}, [['a', 'slow']]],
    ['a head waiting too long in memory', [pkg('a', { headSeenAt: now - 2500 })], {}, [['a', 'slow']]],
    [
      'a retry waiting in memory (its move failed before)',
      [pkg('a', { retryAt: now + 500 })],
      {},
      [['a', 'retry']],
    ],
    [
      'breaker open: everything not out; out ones only when slow',
      [pkg('a'), pkg('b', { outSince: now - 10 }), pkg('c', { outSince: now - 3000 })],
      { mode: 'open' },
      [
        ['a', 'breaker_open'],
        ['c', 'slow'],
      ],
    ],
    ['paused', [pkg('a')], { mode: 'paused' }, [['a', 'paused']]],
    ['held: nothing moves', [pkg('a', { outSince: 0 })], { mode: 'held' }, []],
    [
      'unhealthy and over budget: the newest go first until within budget',
      [
        pkg('old', { size: 10, newestSeenAt: 1 }),
        pkg('mid', { size: 10, newestSeenAt: 2 }),
        pkg('new', { size: 10, newestSeenAt: 3 }),
      ],
      { drainable: 16, held: 30 },
      [
        ['new', 'capacity'],
        ['mid', 'capacity'],
      ],
    ],
    [
      'healthy and over budget: nothing (fetching waits instead)',
      [pkg('a', { size: 2000 })],
      { held: 2000 },
      [],
    ],
    [
      'process busy, healthy lane: neither capacity moves nor old queued heads (they wait for the process)',
      [pkg('young', { size: 10, newestSeenAt: 9_900, headSeenAt: 9_900 }), pkg('stale', { headSeenAt: 1 })],
      { drainable: 16, held: 30, processBusy: true, oldestOutMs: 100 },
      [],
    ],
    [
      'process busy, but a request out for long: the customer is slow, old heads and capacity go',
      [
        pkg('out', { outSince: 7_000 }),
        pkg('young', { size: 10, newestSeenAt: 9_900, headSeenAt: 9_900 }),
        pkg('stale', { headSeenAt: 1 }),
      ],
      { drainable: 16, held: 30, processBusy: true, oldestOutMs: 2_000 },
      [
        ['out', 'slow'],
        ['stale', 'slow'],
        ['young', 'capacity'],
      ],
    ],
  ])('%s', (_name, pkgs, over, expected) => {
    const moves = chooseMoves(pkgs, load(over), now, 2000);
    expect(moves.map((m) => [m.key, m.why])).toEqual(expected);
  });
});
