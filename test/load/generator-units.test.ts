import { describe, expect, it } from 'vitest';
import { DEFAULT_CUSTOMERS, DEFAULT_RATE, parseGeneratorArgs } from '../../load/generator/args.ts';
import { buildInsert } from '../../load/generator/insert.ts';
import { buildJourney, journeyProblems, packageId } from '../../load/generator/journey.ts';
import { JourneyMixer } from '../../load/generator/mixer.ts';
import { defaultBatchSize, Pacer } from '../../load/generator/pacer.ts';
import { formatProgress } from '../../load/generator/progress.ts';
import { createRng } from '../../load/generator/random.ts';
import type { PackageStatusInsert } from '../../load/package-status.ts';

function mixerOf(quantity: number, concurrency: number, seed = 1): JourneyMixer {
  const rng = createRng(seed);
  let n = 0;
  return new JourneyMixer({
    rng,
    concurrency,
    nextJourney: () =>
      n >= quantity
        ? null
        : buildJourney(rng, { packageId: packageId('PKG', ++n), customerId: 'customer-1' }),
  });
}

describe('JourneyMixer', () => {
  it.each([
    [1, 1, 1],
    [10, 4, 3],
    [50, 64, 10],
    [200, 16, 16],
  ])(
    '%i packages, %i on the road, batches of %i: every step once, in order',
    (quantity, concurrency, max) => {
      const mixer = mixerOf(quantity, concurrency);
      const seen = new Map<string, PackageStatusInsert[]>();
      while (!mixer.done) {
        const batch = mixer.nextBatch(max);
        expect(batch.length).toBeGreaterThan(0);
        expect(batch.length).toBeLessThanOrEqual(max);
        expect(new Set(batch.map((r) => r.package_id)).size).toBe(batch.length); // one step per package per batch
        for (const row of batch) seen.set(row.package_id, [...(seen.get(row.package_id) ?? []), row]);
      }
      expect(mixer.nextBatch(max)).toEqual([]);
      expect(mixer.started).toBe(quantity);
      expect(mixer.completed).toBe(quantity);
      expect(seen.size).toBe(quantity);
      // Each package's rows came out in journey order (posted → … → delivered, addresses chained).
      for (const rows of seen.values()) expect(journeyProblems(rows)).toEqual([]);
    },
  );

  it('interleaves packages instead of writing one journey after the other', () => {
    const mixer = mixerOf(20, 20);
    const first = mixer.nextBatch(5);
    expect(new Set(first.map((r) => r.package_id)).size).toBe(5);
  });

  it('rejects a concurrency below 1', () => {
    expect(() => mixerOf(1, 0)).toThrow(RangeError);
  });
});

describe('Pacer', () => {
  it.each([
    // rate, [events, now] reservations, expected waits
    [
      10,
      [
        [1, 0],
        [1, 0],
        [1, 0],
      ],
      [0, 100, 200],
    ],
    [
      100,
      [
        [10, 0],
        [10, 50],
        [10, 100],
      ],
      [0, 50, 100],
    ],
    // behind schedule by less than a second: sends at once
    [
      100,
      [
        [10, 0],
        [10, 500],
        [10, 500],
      ],
      [0, 0, 0],
    ],
    // 5 s behind: catches up by at most 1 s worth, not by a flood
    [
      10,
      [
        [1, 0],
        [1, 5000],
        [1, 5000],
      ],
      [0, 0, 100],
    ],
  ] as [number, [number, number][], number[]][])('at %i/s', (rate, reservations, waits) => {
    const pacer = new Pacer(rate);
    expect(reservations.map(([n, now]) => pacer.reserve(n, now))).toEqual(waits);
  });

  it.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY])('rejects rate %s', (rate) => {
    expect(() => new Pacer(rate)).toThrow(RangeError);
  });

  it.each([
    [1, 1],
    [20, 2],
    [100, 10],
    [100_000, 500],
  ])('batch size at %i/s is %i', (rate, size) => {
    expect(defaultBatchSize(rate)).toBe(size);
  });
});

describe('buildInsert', () => {
  const row = (id: string, next: string | null): PackageStatusInsert => ({
    package_id: id,
    customer_id: 'customer-1',
    status: 'In Transit',
    actual_address: `at ${id}`,
    next_address: next,
  });

  it('numbers the placeholders row by row, in order', () => {
    const statement = buildInsert([row('A', 'x'), row('B', null)]);
    expect(statement.text).toBe(
      'INSERT INTO package_status (package_id, customer_id, status, actual_address, next_address) ' +
        'VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)',
    );
    expect(statement.values).toEqual([
      'A',
      'customer-1',
      'In Transit',
      'at A',
      'x',
      'B',
      'customer-1',
      'In Transit',
      'at B',
      null,
    ]);
  });

  it('refuses an empty batch', () => {
    expect(() => buildInsert([])).toThrow(RangeError);
  });
});

describe('parseGeneratorArgs', () => {
  const defaults = { seed: 99, runTag: 'RUN1' };

  it('takes the defaults', () => {
    expect(parseGeneratorArgs(['--quantity', '10'], defaults)).toEqual({
      kind: 'run',
      args: {
        quantity: 10,
        rate: DEFAULT_RATE,
        customers: DEFAULT_CUSTOMERS,
        hops: null,
        seed: 99,
        batchSize: null,
        prefix: 'PKG-RUN1',
      },
    });
  });

  it('reads every option', () => {
    const parsed = parseGeneratorArgs(
      ['--quantity=5', '--rate', '2.5', '--customers', 'customer-1,acme', '--hops', '3', '--seed=-4'],
      defaults,
    );
    expect(parsed).toMatchObject({
      kind: 'run',
      args: { quantity: 5, rate: 2.5, customers: ['customer-1', 'acme'], hops: 3, seed: -4 },
    });
    expect(parseGeneratorArgs(['--forever', '--prefix', 'PKG'], defaults)).toMatchObject({
      kind: 'run',
      args: { quantity: null, prefix: 'PKG' },
    });
  });

  it.each([
    [[], /--quantity N \(or --forever\) is required/],
    [['--quantity', '0'], /--quantity must be a positive integer/],
    [['--quantity', '3', '--forever'], /either --quantity or --forever/],
    [['--quantity', '3', '--rate', '0'], /--rate must be a positive number/],
    [['--quantity', '3', '--customers', 'Customer 1'], /'Customer 1' is not a customer id/],
    [['--quantity', '3', '--hops', '99'], /--hops must be at most/],
    [['--quantity', '3', '--bogus'], /Unknown option '--bogus'/],
  ])('%j is refused', (argv, problem) => {
    const parsed = parseGeneratorArgs(argv, defaults);
    expect(parsed.kind).toBe('invalid');
    expect(parsed.kind === 'invalid' ? parsed.problems.join('\n') : '').toMatch(problem);
  });

  it('reports every problem at once', () => {
    const parsed = parseGeneratorArgs(['--quantity', 'x', '--rate=-1', '--hops', '0'], defaults);
    expect(parsed.kind === 'invalid' ? parsed.problems : []).toHaveLength(3);
  });
});

describe('formatProgress', () => {
  it.each([
    [
      { quantity: 10, packagesStarted: 6, packagesCompleted: 5, events: 30, batches: 3, elapsedMs: 2000 },
      '[###############...............] 5/10 packages · 30 events · 15.0 ev/s · 2.0 s',
    ],
    [
      {
        quantity: null,
        packagesStarted: 70,
        packagesCompleted: 6,
        events: 100,
        batches: 10,
        elapsedMs: 4000,
      },
      '6 packages delivered, 64 on the road · 100 events · 25.0 ev/s · 4.0 s',
    ],
  ])('%j', (progress, line) => {
    expect(formatProgress(progress)).toBe(line);
  });
});
