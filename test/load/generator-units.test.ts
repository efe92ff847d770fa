import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CUSTOMERS,
  DEFAULT_DELETES,
  DEFAULT_QUANTITY,
  DEFAULT_RATE,
  DEFAULT_UPDATES,
  parseGeneratorArgs,
} from '../../load/generator/args.ts';
import { buildCancels, buildInsert, buildReroutes } from '../../load/generator/insert.ts';
import { buildJourney, journeyProblems, packageId, planJourney } from '../../load/generator/journey.ts';
import type { ChangeOdds } from '../../load/generator/journey.ts';
import { JourneyMixer } from '../../load/generator/mixer.ts';
import { defaultBatchSize, Pacer } from '../../load/generator/pacer.ts';
import { formatProgress, progressReporter } from '../../load/generator/progress.ts';
import type { GeneratorProgress } from '../../load/generator/generator.ts';
import { createRng } from '../../load/generator/random.ts';
import { STATUS } from '../../load/package-status.ts';
import type { PackageStatusInsert } from '../../load/package-status.ts';

function mixerOf(quantity: number, concurrency: number, seed = 1, odds?: ChangeOdds): JourneyMixer {
  const rng = createRng(seed);
  let n = 0;
  return new JourneyMixer({
    rng,
    concurrency,
    nextJourney: () =>
      n >= quantity
        ? null
        : planJourney(rng, { packageId: packageId('PKG', ++n), customerId: 'customer-1' }, odds),
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
        const { rows, reroutes, cancels } = mixer.nextBatch(max);
        expect(rows.length).toBeGreaterThan(0);
        expect(rows.length).toBeLessThanOrEqual(max);
        expect(reroutes).toEqual([]);
        expect(cancels).toEqual([]);
        expect(new Set(rows.map((r) => r.package_id)).size).toBe(rows.length); // one step per package per batch
        for (const row of rows) seen.set(row.package_id, [...(seen.get(row.package_id) ?? []), row]);
      }
      expect(mixer.nextBatch(max)).toEqual({ rows: [], reroutes: [], cancels: [] });
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
    expect(new Set(first.rows.map((r) => r.package_id)).size).toBe(5);
  });

  it('hands out each reroute and cancellation with the step it follows; a cancelled package writes nothing more', () => {
    const mixer = mixerOf(300, 40, 7, { reroute: 0.5, cancel: 0.2 });
    const table = new Map<string, PackageStatusInsert[]>(); // what package_status holds, change by change
    let reroutes = 0;
    let cancels = 0;
    while (!mixer.done) {
      const batch = mixer.nextBatch(16);
      for (const row of batch.rows) {
        expect(
          table.has(row.package_id) || row.status === STATUS.posted,
          `${row.package_id} was cancelled`,
        ).toBe(true);
        table.set(row.package_id, [...(table.get(row.package_id) ?? []), { ...row }]);
      }
      for (const r of batch.reroutes) {
        const rows = table.get(r.packageId)!;
        expect(batch.rows.some((row) => row.package_id === r.packageId)).toBe(true);
        rows[rows.length - 1]!.next_address = r.to;
        reroutes++;
      }
      for (const id of batch.cancels) {
        expect(batch.rows.some((row) => row.package_id === id)).toBe(true);
        expect(table.get(id)!.at(-1)!.status).not.toBe(STATUS.delivered);
        table.delete(id);
        cancels++;
      }
    }
    expect(mixer.started).toBe(300);
    expect(mixer.completed).toBe(300);
    expect(mixer.cancelled).toBe(cancels);
    // Around the odds (binomial, n = 300; a reroute is dropped when the package is cancelled before it).
    expect(cancels).toBeGreaterThan(30);
    expect(cancels).toBeLessThan(95);
    expect(reroutes).toBeGreaterThan(90);
    expect(reroutes).toBeLessThan(160);
    expect(table.size).toBe(300 - cancels);
    // What is left is whole journeys, their address chains intact through the reroutes.
    for (const rows of table.values()) expect(journeyProblems(rows)).toEqual([]);
  });

  it('rejects a concurrency below 1', () => {
    expect(() => mixerOf(1, 0)).toThrow(RangeError);
  });
});

describe('planJourney', () => {
  it('without changes: the journey of the same seed, untouched', () => {
    const spec = { packageId: 'PKG-1', customerId: 'customer-1' };
    expect(planJourney(createRng(5), spec)).toEqual({
      steps: buildJourney(createRng(5), spec),
      reroute: null,
      cancel: null,
    });
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'seed %i: a reroute goes on to a hub the journey does not pass, and the next step starts there',
    (seed) => {
      const plan = planJourney(
        createRng(seed),
        { packageId: 'PKG-1', customerId: 'c' },
        { reroute: 1, cancel: 0 },
      );
      const { after, to } = plan.reroute!;
      expect(plan.steps[after + 1]).toMatchObject({ status: STATUS.inTransit, actual_address: to });
      expect(to).toMatch(/^Sorting Facility, /);
      expect(plan.steps.filter((s) => s.actual_address === to)).toHaveLength(1);
      // Before the UPDATE the written step still points at the old hub; after it the chain holds.
      expect(journeyProblems(plan.steps)).toHaveLength(1);
      const updated = plan.steps.map((s, i) => (i === after ? { ...s, next_address: to } : s));
      expect(journeyProblems(updated)).toEqual([]);
    },
  );

  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'seed %i: a cancellation comes after the first step and before delivery, after any reroute',
    (seed) => {
      const plan = planJourney(
        createRng(seed),
        { packageId: 'PKG-1', customerId: 'c' },
        { reroute: 1, cancel: 1 },
      );
      const { after } = plan.cancel!;
      expect(after).toBeGreaterThanOrEqual(0);
      expect(after).toBeLessThanOrEqual(plan.steps.length - 2);
      if (plan.reroute) expect(plan.reroute.after).toBeLessThan(after);
    },
  );
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
    expect(() => buildReroutes([])).toThrow(RangeError);
    expect(() => buildCancels([])).toThrow(RangeError);
  });

  it('reroutes and cancellations: one statement each, the package ids as arrays', () => {
    expect(
      buildReroutes([
        { packageId: 'A', to: 'hub X' },
        { packageId: 'B', to: 'hub Y' },
      ]).values,
    ).toEqual([
      ['A', 'B'],
      ['hub X', 'hub Y'],
    ]);
    expect(buildCancels(['A', 'C'])).toEqual({
      text: 'DELETE FROM package_status WHERE package_id = ANY($1::text[])',
      values: [['A', 'C']],
    });
  });
});

describe('parseGeneratorArgs', () => {
  const defaults = { seed: 99, runTag: 'RUN1' };

  it('takes the defaults', () => {
    expect(parseGeneratorArgs([], defaults)).toEqual({
      kind: 'run',
      args: {
        quantity: DEFAULT_QUANTITY,
        changes: { reroute: DEFAULT_UPDATES, cancel: DEFAULT_DELETES },
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

  it('-Q N as the seed pipeline takes it (default 10), and the shares of updates and deletes', () => {
    expect(DEFAULT_QUANTITY).toBe(10);
    expect(parseGeneratorArgs(['-Q', '25'], defaults)).toMatchObject({ kind: 'run', args: { quantity: 25 } });
    expect(parseGeneratorArgs(['-Q25'], defaults)).toMatchObject({ kind: 'run', args: { quantity: 25 } });
    expect(parseGeneratorArgs(['--updates', '0', '--deletes=0.25'], defaults)).toMatchObject({
      kind: 'run',
      args: { changes: { reroute: 0, cancel: 0.25 } },
    });
  });

  it.each([
    [['--quantity', '0'], /--quantity must be a positive integer/],
    [['-Q', 'ten'], /--quantity must be a positive integer/],
    [['--updates', '1.5'], /--updates must be a number from 0 to 1/],
    [['--deletes=-0.1'], /--deletes must be a number from 0 to 1/],
    [['--deletes', ''], /--deletes must be a number from 0 to 1/],
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

const progressOf = (over: Partial<GeneratorProgress>): GeneratorProgress => ({
  quantity: 10,
  packagesStarted: 6,
  packagesCompleted: 5,
  packagesCancelled: 0,
  events: 30,
  inserted: 30,
  updated: 0,
  deleted: 0,
  batches: 3,
  elapsedMs: 2000,
  ...over,
});

describe('formatProgress', () => {
  it.each([
    [progressOf({}), '[###############...............] 5/10 packages · 30 events · 15.0 ev/s · 2.0 s'],
    [
      progressOf({
        quantity: null,
        packagesStarted: 70,
        packagesCompleted: 6,
        events: 100,
        inserted: 100,
        elapsedMs: 4000,
      }),
      '6 packages delivered, 64 on the road · 100 events · 25.0 ev/s · 4.0 s',
    ],
    [
      progressOf({ packagesCancelled: 1, events: 34, inserted: 28, updated: 2, deleted: 4 }),
      '[###############...............] 5/10 packages (1 cancelled) · 34 events (28 inserted, 2 updated, 4 deleted) · 17.0 ev/s · 2.0 s',
    ],
    [
      progressOf({
        quantity: null,
        packagesStarted: 9,
        packagesCompleted: 6,
        packagesCancelled: 2,
        updated: 1,
        events: 31,
      }),
      '4 packages delivered (2 cancelled), 3 on the road · 31 events (30 inserted, 1 updated, 0 deleted) · 15.5 ev/s · 2.0 s',
    ],
  ])('%j', (progress, line) => {
    expect(formatProgress(progress)).toBe(line);
  });
});

describe('progressReporter', () => {
  function sink(isTTY: boolean) {
    const out: string[] = [];
    return { stream: { isTTY, write: (s: string) => (out.push(s), true) }, out };
  }

  it('not on a terminal: a plain line every lineIntervalMs, then the last state once', () => {
    let t = 0;
    const { stream, out } = sink(false);
    const reporter = progressReporter(stream, { lineIntervalMs: 5000, now: () => t });
    for (t = 0; t <= 12_000; t += 1000) reporter.update(progressOf({ elapsedMs: t }));
    expect(out.map((l) => /· ([\d.]+) s$/m.exec(l)?.[1])).toEqual(['5.0', '10.0']);
    expect(out.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
    reporter.finish(progressOf({ elapsedMs: 12_500, packagesCompleted: 10 }));
    expect(out).toHaveLength(3);
    expect(out[2]).toMatch(/10\/10 packages .* 12\.5 s\n$/);
  });

  it('on a terminal: one line redrawn in place', () => {
    let t = 0;
    const { stream, out } = sink(true);
    const reporter = progressReporter(stream, { intervalMs: 100, now: () => t });
    for (t = 0; t < 1000; t += 50) reporter.update(progressOf({ elapsedMs: t }));
    expect(out.length).toBe(10);
    expect(out.every((l) => l.startsWith('\r') && l.endsWith('\u001b[K'))).toBe(true);
    const last = progressOf({ elapsedMs: 1000 });
    reporter.finish(last);
    expect(out.slice(-2)).toEqual([`\r${formatProgress(last)}\u001b[K`, '\n']);
  });
});
