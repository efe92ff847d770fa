/**
 * Random schedules for the simulation (fast-check arbitraries, so a failure shrinks to a small one):
 * 1–3 customers with small limits (so that parking, back-pressure and the breaker all happen), 1–3
 * partitions, packages with up to 4 statuses produced in order, a few poison records, and faults —
 * crashes, graceful stops and second members (rebalances, with stale owners), store error replies and
 * stalls, one process cut off from the shared limits (lanes must stop sending when their lease runs out),
 * customers turning slow, failing or hanging, operator pauses, a process short of CPU; leases from short (300 ms) to the default.
 * One schedule in four is a busy pair of processes sharing the limits of slow customers with few permits,
 * one of the processes cut off from the limits for a while.
 */
import fc from 'fast-check';
import type { Behaviour } from './customers.ts';
import type { CustomerSpec, Fault, RecordSpec, Schedule } from './world.ts';

const behaviour = (steps: number): fc.Arbitrary<Behaviour> =>
  fc.record({
    latencyMs: fc
      .tuple(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 0, max: 400 }))
      .map(([a, b]) => [a, a + b] as [number, number]),
    fail: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.6, noNaN: true })),
    rateLimited: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.2, noNaN: true })),
    hang: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.15, noNaN: true })),
    lateOk: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.15, noNaN: true })),
    refuseSteps: fc.subarray(
      Array.from({ length: steps }, (_, i) => i),
      { maxLength: 1 },
    ),
  });

const customer = (i: number, steps: number): fc.Arbitrary<CustomerSpec> =>
  fc.record({
    id: fc.constant(`customer-${i}`),
    matchAll: fc.boolean().map((b) => b && i === 0),
    concurrency: fc.integer({ min: 1, max: 4 }),
    maxInMemory: fc.integer({ min: 1, max: 12 }),
    timeoutMs: fc.integer({ min: 30, max: 400 }),
    ratePerSecond: fc.oneof(fc.constant(null), fc.integer({ min: 5, max: 100 })),
    retry: fc.record({
      maxAttempts: fc.integer({ min: 2, max: 6 }),
      baseDelayMs: fc.integer({ min: 5, max: 100 }),
      maxDelayMs: fc.integer({ min: 100, max: 600 }),
    }),
    breaker: fc.record({
      errorThresholdPercentage: fc.integer({ min: 20, max: 80 }),
      volumeThreshold: fc.integer({ min: 2, max: 8 }),
      windowMs: fc.integer({ min: 200, max: 2000 }),
      resetTimeoutMs: fc.integer({ min: 20, max: 600 }),
    }),
    behaviour: behaviour(steps),
  });

const STEPS = 4;
const SPAN_MS = 6000;

const records = (customers: number, maxPackages = 14): fc.Arbitrary<RecordSpec[]> =>
  fc
    .array(
      fc.record({
        owner: fc.integer({ min: 0, max: customers - 1 }),
        times: fc.array(fc.integer({ min: 0, max: SPAN_MS }), { minLength: 1, maxLength: STEPS }),
      }),
      { minLength: 1, maxLength: maxPackages },
    )
    .chain((pkgs) =>
      fc
        .array(
          fc.record({ at: fc.integer({ min: 0, max: SPAN_MS }), pkg: fc.integer({ min: 900, max: 905 }) }),
          {
            maxLength: 2,
          },
        )
        .map((poison) => {
          const out: RecordSpec[] = [];
          pkgs.forEach((p, pkg) =>
            [...p.times]
              .sort((a, b) => a - b)
              .forEach((at, step) => out.push({ at: at + step, pkg, owner: p.owner, step })),
          );
          for (const x of poison) out.push({ at: x.at, pkg: x.pkg, owner: 0, step: 0, poison: true });
          return out.sort((a, b) => a.at - b.at);
        }),
    );

const fault = (customers: number): fc.Arbitrary<Fault> => {
  const at = fc.integer({ min: 0, max: SPAN_MS + 2000 });
  const who = fc.constantFrom<0 | 1>(0, 1);
  return fc.oneof(
    {
      arbitrary: fc.record({
        at,
        kind: fc.constantFrom('crash' as const, 'start' as const, 'stop' as const),
        who,
      }),
      weight: 4,
    },
    {
      arbitrary: fc.record({
        at,
        kind: fc.constant('storeDown' as const),
        forMs: fc.integer({ min: 50, max: 3000 }),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        at,
        kind: fc.constant('storeStall' as const),
        forMs: fc.integer({ min: 50, max: 3000 }),
        stallMs: fc.integer({ min: 5, max: 600 }),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        at,
        kind: fc.constant('limitsDown' as const),
        forMs: fc.integer({ min: 50, max: 8000 }),
        who: fc.constantFrom<0 | 1>(0, 1),
        hang: fc.boolean(),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        at,
        kind: fc.constant('behaviour' as const),
        customer: fc.integer({ min: 0, max: customers - 1 }),
        behaviour: behaviour(STEPS),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        at,
        kind: fc.constant('pause' as const),
        customer: fc.integer({ min: 0, max: customers - 1 }),
        forMs: fc.integer({ min: 50, max: 3000 }),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        at,
        kind: fc.constant('busy' as const),
        forMs: fc.integer({ min: 200, max: 8000 }),
        who: fc.constantFrom<0 | 1>(0, 1),
      }),
      weight: 1,
    },
  );
};

const churn: fc.Arbitrary<Fault> = fc.record({
  at: fc.integer({ min: 0, max: SPAN_MS + 2000 }),
  kind: fc.constantFrom('crash' as const, 'start' as const, 'start' as const, 'stop' as const),
  who: fc.constantFrom<0 | 1>(0, 1),
});

/**
 * Two processes sharing the customers' limits from the start, busy (up to 40 packages), one of them cut
 * off from the limits for a while: where a process that sent without a lease would overrun the customer.
 */
const shared = (n: number): fc.Arbitrary<Fault[]> =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 500 }),
      fc.record({
        at: fc.integer({ min: 500, max: 4000 }),
        kind: fc.constant('limitsDown' as const),
        forMs: fc.integer({ min: 1500, max: 8000 }),
        who: fc.constantFrom<0 | 1>(0, 1),
        hang: fc.boolean(),
      }),
      fc.array(fault(n), { maxLength: 3 }),
    )
    .map(([startAt, cut, more]) =>
      [{ at: startAt, kind: 'start' as const, who: 1 as const }, cut, ...more].sort((a, b) => a.at - b.at),
    );

export const schedules: fc.Arbitrary<Schedule> = fc
  .integer({ min: 1, max: 3 })
  .chain((n) =>
    fc.oneof(
      { arbitrary: schedule(n, records(n), faults(n)), weight: 3 },
      { arbitrary: schedule(n, records(n, 40), shared(n), slow), weight: 1 },
    ),
  );

const faults = (n: number): fc.Arbitrary<Fault[]> =>
  fc
    .tuple(fc.array(fault(n), { maxLength: 8 }), fc.array(churn, { maxLength: 6 }))
    .map(([fs, cs]) => [...fs, ...cs].sort((a, b) => a.at - b.at));

/** Few permits, long requests: two processes' requests overlap whenever both send. */
const slow = (c: CustomerSpec): CustomerSpec => ({
  ...c,
  concurrency: Math.min(c.concurrency, 2),
  behaviour: { ...c.behaviour, latencyMs: [150, 450] },
});

function schedule(
  n: number,
  records: fc.Arbitrary<RecordSpec[]>,
  faults: fc.Arbitrary<Fault[]>,
  tweak: (c: CustomerSpec) => CustomerSpec = (c) => c,
): fc.Arbitrary<Schedule> {
  return fc.record({
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    partitions: fc.integer({ min: 1, max: 3 }),
    parkAfterMs: fc.integer({ min: 20, max: 600 }),
    revokeHook: fc.boolean(),
    generations: fc.boolean(),
    maxNoticeMs: fc.oneof(
      fc.constant(0),
      fc.integer({ min: 0, max: 1500 }),
      fc.integer({ min: 0, max: 300 }),
    ),
    leaseMs: fc.oneof(fc.constant(6000), fc.integer({ min: 300, max: 3000 })),
    customers: fc.tuple(...Array.from({ length: n }, (_, i) => customer(i, STEPS).map(tweak))),
    records,
    // Faults of every kind, plus membership churn: a second member joining, members crashing, stopping and
    // coming back (rebalances, with stale owners when maxNoticeMs > 0).
    faults,
  });
}
