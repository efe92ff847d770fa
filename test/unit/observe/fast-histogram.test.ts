/**
 * FastHistogram writes what prom-client's Histogram writes for the same observations: the whole
 * exposition text, bucket by bucket, including values on a bound, beyond the last bound, zero and
 * several label values; and it refuses what prom-client refuses (a value that is not a finite number).
 */
import { describe, expect, it } from 'vitest';
import { Histogram, Registry } from 'prom-client';
import { FastHistogram } from '../../../src/observe/fast-histogram.ts';

const BUCKETS = [0.005, 0.01, 0.1, 0.5, 1, 5, 300];

function pair() {
  const theirs = new Registry();
  const ours = new Registry();
  const reference = new Histogram({
    name: 'x_seconds',
    help: 'Help text.',
    labelNames: ['customer'],
    buckets: BUCKETS,
    registers: [theirs],
  });
  const fast = new FastHistogram('x_seconds', 'Help text.', 'customer', BUCKETS, [ours]);
  return { theirs, ours, reference, fast };
}

describe('FastHistogram against prom-client', () => {
  it.each<[string, [string, number][]]>([
    ['nothing observed', []],
    ['one value inside', [['c1', 0.042]]],
    ['values on the bounds', BUCKETS.map((b): [string, number] => ['c1', b])],
    [
      'beyond the last bound, and zero',
      [
        ['c1', 1000],
        ['c1', 0],
        ['c1', 300.0001],
      ],
    ],
    [
      'several customers, interleaved',
      [
        ['c1', 0.003],
        ['c2', 2],
        ['c1', 0.2],
        ['c3', 0.0099],
        ['c2', 0.01],
        ['c1', 7],
      ],
    ],
  ])('%s: the same exposition text', async (_, observations) => {
    const { theirs, ours, reference, fast } = pair();
    for (const [customer, v] of observations) {
      reference.observe({ customer }, v);
      fast.observe({ customer }, v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(JSON.stringify(await ours.getMetricsAsJSON())).toBe(
      JSON.stringify(await theirs.getMetricsAsJSON()),
    );
  });

  it('many random values: the same text', async () => {
    const { theirs, ours, reference, fast } = pair();
    let seed = 7;
    const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 5000; i++) {
      const customer = `c${Math.floor(rnd() * 3)}`;
      const v = rnd() ** 4 * 400;
      reference.observe({ customer }, v);
      fast.observe({ customer }, v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('refuses a value that is not a finite number, as prom-client does', () => {
    const { reference, fast } = pair();
    expect(() => reference.observe({ customer: 'c1' }, Number.NaN)).toThrow(TypeError);
    expect(() => fast.observe({ customer: 'c1' }, Number.NaN)).toThrow(TypeError);
    expect(() => fast.observe({ customer: 'c1' }, Infinity)).toThrow(/not a finite number/);
  });

  it('reset forgets every series', async () => {
    const { ours, fast } = pair();
    fast.observe({ customer: 'c1' }, 1);
    fast.reset();
    expect(await ours.metrics()).not.toMatch(/c1/);
  });
});
