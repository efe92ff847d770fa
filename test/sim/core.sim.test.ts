/**
 * Deterministic simulation of the real delivery core (pipeline, lanes, offset tracking, commit loop, the
 * memory store) in one or two processes sharing the customers' limits, under seeded schedules of crashes,
 * rebalances with stale owners, store error replies and stalls, a process cut off from the shared limits,
 * and customers that fail, time out, hang and answer 429. Every schedule is checked against the guarantees
 * (`invariants.ts`). A failure prints its seed, the shrunk schedule and the last SIM_TRACE (80) lines of
 * its trace; `SIM_SEED=<seed> SIM_PATH=<path>` replays it exactly.
 *
 *   npm test                     SIM_RUNS schedules (default 1500)
 *   npm run sim:long             many more (SIM_RUNS=50000)
 */
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { World } from './world.ts';
import { violations } from './invariants.ts';
import { schedules } from './schedules.ts';

const RUNS = Number(process.env.SIM_RUNS ?? 1500);
const totals = new Map<string, number>();

describe('simulation of the delivery core', () => {
  it(
    `keeps every guarantee over ${RUNS} seeded schedules of faults`,
    async () => {
      await fc.assert(
        fc.asyncProperty(schedules, async (schedule) => {
          const world = new World(schedule);
          await world.run();
          const found = await violations(world);
          for (const [k, v] of world.stats) totals.set(k, (totals.get(k) ?? 0) + v);
          totals.set('schedules', (totals.get('schedules') ?? 0) + 1);
          totals.set('receipts', (totals.get('receipts') ?? 0) + world.ledger.receipts.length);
          totals.set(
            'duplicates',
            (totals.get('duplicates') ?? 0) +
              world.ledger.receipts.length -
              new Set(world.ledger.receipts.map((r) => `${r.customer}|${r.eventId}`)).size,
          );
          totals.set(
            'virtual seconds',
            (totals.get('virtual seconds') ?? 0) + Math.round((world.clock.now() - 1_800_000_000_000) / 1000),
          );
          if (found.length > 0) {
            throw new Error(
              `${found.length} violation(s):\n  ${found.slice(0, 12).join('\n  ')}\n` +
                `trace (last lines):\n${world.trace.slice(-Number(process.env.SIM_TRACE ?? 80)).join('\n')}`,
            );
          }
        }),
        {
          numRuns: RUNS,
          ...(process.env.SIM_SEED ? { seed: Number(process.env.SIM_SEED) } : {}),
          ...(process.env.SIM_PATH ? { path: process.env.SIM_PATH } : {}),
          endOnFailure: process.env.SIM_SHRINK === '0',
        },
      );
      if (process.env.SIM_STATS)
        console.log(
          [...totals]
            .sort()
            .map(([k, v]) => `${k}: ${v}`)
            .join('\n'),
        );
    },
    30 * 60_000,
  );
});
