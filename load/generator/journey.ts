/**
 * One package's journey as the rows a carrier would write, in order:
 *
 *   Package Posted     sender's address   → origin sorting facility
 *   In Transit × hops  facility           → next facility  (…the last one → the destination's delivery station)
 *   Out for Delivery   delivery station   → recipient's address
 *   Package Delivered  recipient's address → (none)
 *
 * Invariant: each step's `next_address` is the following step's `actual_address`; the last has none.
 * Pure: the randomness comes from the injected seeded RNG.
 */
import { CITIES, deliveryStation, sortingFacility, streetAddress } from './addresses.ts';
import type { City } from './addresses.ts';
import type { Rng } from './random.ts';
import { STATUS } from '../package-status.ts';
import type { PackageStatusInsert } from '../package-status.ts';

export const MIN_HOPS = 1;
export const MAX_HOPS = 12;
/** Hops drawn when the caller does not fix them. */
export const DEFAULT_HOPS_RANGE = [2, 5] as const;

export interface JourneySpec {
  packageId: string;
  customerId: string;
  /** Number of 'In Transit' steps; drawn from DEFAULT_HOPS_RANGE when absent. */
  hops?: number;
}

/** `PKG-000123` style tracking codes: prefix + zero-padded sequence number. */
export function packageId(prefix: string, sequence: number): string {
  return `${prefix}-${String(sequence).padStart(6, '0')}`;
}

function distinctCities(rng: Rng, count: number, exclude: readonly City[]): City[] {
  const pool = CITIES.filter((c) => !exclude.includes(c));
  const chosen: City[] = [];
  while (chosen.length < count && pool.length > 0) {
    const index = rng.int(0, pool.length - 1);
    chosen.push(pool.splice(index, 1)[0] as City);
  }
  return chosen;
}

export function buildJourney(rng: Rng, spec: JourneySpec): PackageStatusInsert[] {
  const hops = spec.hops ?? rng.int(DEFAULT_HOPS_RANGE[0], DEFAULT_HOPS_RANGE[1]);
  if (!Number.isInteger(hops) || hops < MIN_HOPS || hops > MAX_HOPS) {
    throw new RangeError(`hops must be an integer in [${MIN_HOPS}, ${MAX_HOPS}], got ${hops}`);
  }
  const [origin, destination] = distinctCities(rng, 2, []) as [City, City];
  // The facilities in transit: the origin's, then regional hubs, then the destination's (when hops allow).
  const regional = distinctCities(rng, Math.max(0, hops - 2), [origin, destination]);
  const facilities = [origin, ...regional, ...(hops >= 2 ? [destination] : [])].map(sortingFacility);

  const places = [
    streetAddress(rng, origin),
    ...facilities,
    deliveryStation(destination),
    streetAddress(rng, destination),
  ];
  const statuses = [
    STATUS.posted,
    ...facilities.map(() => STATUS.inTransit),
    STATUS.outForDelivery,
    STATUS.delivered,
  ];
  return statuses.map((status, i) => ({
    package_id: spec.packageId,
    customer_id: spec.customerId,
    status,
    actual_address: places[i] as string,
    next_address: places[i + 1] ?? null,
  }));
}

/** Per package, the chance that it is rerouted once (an UPDATE) and that it is cancelled (its rows DELETEd). */
export interface ChangeOdds {
  reroute: number;
  cancel: number;
}

export const NO_CHANGES: ChangeOdds = { reroute: 0, cancel: 0 };

/**
 * A journey and what happens to it besides its inserts, like the seed web-shop's updater (customers added,
 * some changing their address, a few deleted):
 *
 * - reroute: once step `after` is written, it is UPDATEd to go on to another hub (`to`) instead; the next
 *   step already starts there, so the chain of addresses holds in the table.
 * - cancel: once step `after` is written, the package is called off: its rows are DELETEd and no later step
 *   is written.
 */
export interface JourneyPlan {
  steps: PackageStatusInsert[];
  reroute: { after: number; to: string } | null;
  cancel: { after: number } | null;
}

export function planJourney(rng: Rng, spec: JourneySpec, odds: ChangeOdds = NO_CHANGES): JourneyPlan {
  const steps = buildJourney(rng, spec);
  // Draw only for odds in use, so journeys without changes stay those of the same seed without them.
  const cancel = odds.cancel > 0 && rng.next() < odds.cancel ? { after: rng.int(0, steps.length - 2) } : null;
  let reroute: JourneyPlan['reroute'] = null;
  if (odds.reroute > 0 && rng.next() < odds.reroute) {
    // A step whose next stop is a hub (the following step is In Transit), written before any cancellation.
    const last = cancel === null ? steps.length - 2 : cancel.after - 1;
    const candidates = steps.flatMap((_, k) =>
      k <= last && steps[k + 1]?.status === STATUS.inTransit ? [k] : [],
    );
    const used = new Set(steps.map((step) => step.actual_address));
    const hubs = CITIES.map(sortingFacility).filter((hub) => !used.has(hub));
    if (candidates.length > 0 && hubs.length > 0) {
      const after = candidates[rng.int(0, candidates.length - 1)] as number;
      const to = rng.pick(hubs);
      steps[after + 1] = { ...(steps[after + 1] as PackageStatusInsert), actual_address: to };
      reroute = { after, to };
    }
  }
  return { steps, reroute, cancel };
}

/** Problems that make a sequence of rows an invalid journey (empty when valid). Used by tests and checks. */
export function journeyProblems(rows: readonly PackageStatusInsert[]): string[] {
  const problems: string[] = [];
  if (rows.length < 4) problems.push(`a journey has at least 4 steps, got ${rows.length}`);
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (first && first.status !== STATUS.posted) problems.push(`first status is '${first.status}'`);
  if (last && last.status !== STATUS.delivered) problems.push(`last status is '${last.status}'`);
  if (last && last.next_address !== null) problems.push('the last step has a next_address');
  const secondLast = rows[rows.length - 2];
  if (secondLast && secondLast.status !== STATUS.outForDelivery) {
    problems.push(`the step before delivery is '${secondLast.status}'`);
  }
  rows.slice(1, -2).forEach((row, i) => {
    if (row.status !== STATUS.inTransit) problems.push(`step ${i + 2} is '${row.status}', not In Transit`);
  });
  rows.forEach((row, i) => {
    if (row.package_id !== first?.package_id || row.customer_id !== first.customer_id) {
      problems.push(`step ${i + 1} belongs to another package or customer`);
    }
    const next = rows[i + 1];
    if (next && row.next_address !== next.actual_address) {
      problems.push(`step ${i + 1}'s next_address is not step ${i + 2}'s actual_address`);
    }
  });
  return problems;
}
