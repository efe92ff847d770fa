import { describe, expect, it } from 'vitest';
import { buildJourney, journeyProblems, MAX_HOPS, packageId } from '../../load/generator/journey.ts';
import { createRng } from '../../load/generator/random.ts';
import { STATUS } from '../../load/package-status.ts';
import type { PackageStatusInsert } from '../../load/package-status.ts';

describe('buildJourney', () => {
  it.each([1, 2, 3, 5, MAX_HOPS])(
    'with %i hops: posted, that many In Transit, out for delivery, delivered',
    (hops) => {
      const rows = buildJourney(createRng(7), { packageId: 'PKG-000001', customerId: 'customer-1', hops });
      expect(rows.map((r) => r.status)).toEqual([
        STATUS.posted,
        ...Array<string>(hops).fill(STATUS.inTransit),
        STATUS.outForDelivery,
        STATUS.delivered,
      ]);
      expect(journeyProblems(rows)).toEqual([]);
    },
  );

  it("chains addresses: each step's next_address is the next step's actual_address", () => {
    for (let seed = 0; seed < 200; seed++) {
      const rows = buildJourney(createRng(seed), { packageId: `PKG-${seed}`, customerId: 'customer-2' });
      for (let i = 0; i < rows.length - 1; i++) {
        expect(rows[i]?.next_address).toBe(rows[i + 1]?.actual_address);
      }
      expect(rows.at(-1)?.next_address).toBeNull();
      expect(rows.length).toBeGreaterThanOrEqual(2 + 3);
      expect(rows.length).toBeLessThanOrEqual(5 + 3);
    }
  });

  it('writes real-looking addresses: a street address, then facilities, then a street address', () => {
    const rows = buildJourney(createRng(3), { packageId: 'PKG-000003', customerId: 'customer-3', hops: 3 });
    const streetAddress = /^\d+ [A-Z][a-z]+ [A-Z][a-z]+(, [A-Za-z0-9 ]+)?, [A-Za-z .]+, [A-Z]{2} \d{5}$/;
    expect(rows[0]?.actual_address).toMatch(streetAddress);
    expect(rows[1]?.actual_address).toMatch(/^Sorting Facility, .+, [A-Z]{2} \d{5}$/);
    expect(rows.at(-2)?.actual_address).toMatch(/^Delivery Station, /);
    expect(rows.at(-1)?.actual_address).toMatch(streetAddress);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const spec = { packageId: 'PKG-000009', customerId: 'customer-1' };
    expect(buildJourney(createRng(42), spec)).toEqual(buildJourney(createRng(42), spec));
    expect(buildJourney(createRng(42), spec)).not.toEqual(buildJourney(createRng(43), spec));
  });

  it.each([0, -1, 2.5, MAX_HOPS + 1])('rejects %s hops', (hops) => {
    expect(() => buildJourney(createRng(1), { packageId: 'P', customerId: 'c', hops })).toThrow(RangeError);
  });
});

describe('packageId', () => {
  it.each([
    ['PKG', 1, 'PKG-000001'],
    ['PKG', 123, 'PKG-000123'],
    ['PKG-AB12', 1234567, 'PKG-AB12-1234567'],
  ])('%s + %i → %s', (prefix, n, expected) => {
    expect(packageId(prefix, n)).toBe(expected);
  });
});

describe('journeyProblems', () => {
  const good = buildJourney(createRng(5), { packageId: 'PKG-000005', customerId: 'customer-1', hops: 2 });
  const edit = (i: number, patch: Partial<PackageStatusInsert>): PackageStatusInsert[] =>
    good.map((row, j) => (j === i ? { ...row, ...patch } : row));

  it.each([
    ['a broken address chain', edit(1, { next_address: 'Somewhere else' }), /next_address is not step 3/],
    ['a wrong first status', edit(0, { status: STATUS.inTransit }), /first status/],
    [
      'a next address after delivery',
      edit(good.length - 1, { next_address: 'x' }),
      /last step has a next_address/,
    ],
    ['a step of another package', edit(2, { package_id: 'PKG-OTHER' }), /another package/],
    ['too few steps', good.slice(0, 3), /at least 4 steps/],
  ])('finds %s', (_name, rows, problem) => {
    expect(journeyProblems(rows).join('\n')).toMatch(problem);
  });
});
