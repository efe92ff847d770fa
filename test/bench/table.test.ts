/** The bench's pure pieces: statistics, target checks, table rendering and the profile bucketing. */
import { describe, expect, it } from 'vitest';
import {
  TABLE_HEADER,
  formatValue,
  median,
  meets,
  parseTable,
  percentile,
  renderTable,
  slope,
  steadyRate,
  summarize,
  verdictOf,
} from '../../bench/table.ts';
import type { Row, Target } from '../../bench/table.ts';
import { bucketOf, summariseProfile } from '../../bench/profile.ts';

describe('percentile (nearest rank)', () => {
  const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  it.each([
    [0, 1],
    [0.1, 1],
    [0.5, 5],
    [0.9, 9],
    [0.99, 10],
    [1, 10],
  ])('q=%s → %s', (q, want) => expect(percentile(xs, q)).toBe(want));
  it('empty → NaN', () => expect(percentile([], 0.5)).toBeNaN());
});

describe('median / summarize', () => {
  it.each([
    [[3], 3],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
  ])('median(%j) = %s', (xs, want) => expect(median(xs)).toBe(want));
  it('min, max, n; NaN samples ignored', () => {
    expect(summarize([2, Number.NaN, 9, 4])).toEqual({ median: 4, min: 2, max: 9, n: 3 });
    expect(summarize([]).n).toBe(0);
  });
});

describe('slope', () => {
  it.each([
    [[0, 1, 2, 3], [5, 5, 5, 5], 0],
    [[0, 1, 2, 3], [1, 3, 5, 7], 2],
    [[0, 10, 20], [100, 90, 80], -1],
  ])('%j / %j → %s', (xs, ys, want) => expect(slope(xs, ys)).toBeCloseTo(want));
  it('one point → NaN', () => expect(slope([1], [1])).toBeNaN());
});

describe('meets', () => {
  it.each<[number, Target, boolean]>([
    [1.05, { cmp: '<=', bound: 1.05 }, true],
    [1.051, { cmp: '<=', bound: 1.05 }, false],
    [0.7, { cmp: '>=', bound: 0.7 }, true],
    [255.9, { cmp: '<', bound: 256 }, true],
    [256, { cmp: '<', bound: 256 }, false],
    [0, { cmp: '==', bound: 0 }, true],
    [1, { cmp: '==', bound: 0 }, false],
    [Number.NaN, { cmp: '<=', bound: 1 }, false],
  ])('%s %j → %s', (v, t, want) => expect(meets(v, t)).toBe(want));
});

describe('formatting', () => {
  it('one sample: the value; several: median (min–max)', () => {
    expect(formatValue([0.5], 2, 'ms')).toBe('0.50 ms');
    expect(formatValue([3, 1, 2], 1, '')).toBe('2.0 (1.0–3.0)');
    expect(formatValue([], 1, '')).toBe('n/a');
    expect(formatValue([Infinity], 1, '')).toBe('∞');
  });

  const rows: Row[] = [
    {
      figure: 'isolation',
      metric: 'p99 ratio',
      samples: [1.01, 0.99, 1.03],
      unit: '',
      digits: 3,
      target: { cmp: '<=', bound: 1.05 },
      targetText: '≤ 1.05',
    },
    {
      figure: 'throughput',
      metric: 'ratio | bare',
      samples: [0.5],
      unit: '',
      digits: 2,
      target: { cmp: '>=', bound: 0.7 },
      targetText: '≥ 0.70',
      note: 'a | b',
    },
    { figure: 'x', metric: 'info', samples: [1], unit: 's', digits: 0, target: null, targetText: '' },
  ];

  it('verdicts', () => expect(rows.map(verdictOf)).toEqual(['meets', 'MISSED', 'info']));

  it('renders a markdown table that parses back, pipes escaped', () => {
    const text = renderTable(rows);
    const cells = parseTable(text);
    expect(cells[0]).toEqual(TABLE_HEADER);
    expect(cells).toHaveLength(2 + rows.length);
    for (const line of cells) expect(line).toHaveLength(TABLE_HEADER.length);
    expect(cells[2]).toEqual(['isolation', 'p99 ratio', '1.010 (0.990–1.030)', '3', '≤ 1.05', 'meets', '']);
    expect(cells[3]![1]).toBe('ratio | bare');
    expect(cells[3]![6]).toBe('a | b');
  });
});

describe('steadyRate', () => {
  it('rate between 10 % and 90 % of the total', () => {
    const points = Array.from({ length: 11 }, (_, i) => ({ t: i * 1000, count: i * 100 }));
    expect(steadyRate(points, 1000)).toBeCloseTo(100);
  });
  it('never reached → NaN', () => expect(steadyRate([{ t: 0, count: 1 }], 1000)).toBeNaN());
});

describe('profile summary', () => {
  it.each([
    ['file:///work/main/node_modules/kafkajs/src/x.js', 'f', 'kafkajs'],
    ['file:///work/main/node_modules/@scope/pkg/x.js', 'f', '@scope/pkg'],
    ['node:internal/x', 'f', 'node internals'],
    ['', 'garbage collector', '(garbage collector)'],
  ])('%s → %s', (url, fn, want) => expect(bucketOf(url, fn)).toBe(want));

  it('self time per function from samples and time deltas', () => {
    const s = summariseProfile({
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'hot', url: 'file:///x/node_modules/a/i.js', lineNumber: 9 } },
      ],
      samples: [2, 2, 1],
      timeDeltas: [1000, 3000, 1000],
      startTime: 0,
      endTime: 5000,
    });
    expect(s.totalMs).toBe(5);
    expect(s.functions[0]).toMatchObject({ name: 'hot', ms: 4 });
    expect(s.buckets[0]).toEqual({ bucket: 'a', ms: 4 });
  });
});
