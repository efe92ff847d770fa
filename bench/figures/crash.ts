/**
 * Crash loop: 100 events/s to customer-1 (10 ms, concurrency 16) on 8 partitions, Redis store. The
 * integrator is started, allowed to deliver ≥ 100 events and to catch up with the backlog its restart left
 * (a rejoin after a SIGKILL takes ~10 s: the dead member's 6 s session, then the rebalance), then SIGKILLed
 * at a random moment within the next 300 ms — 20 times (quick: 3).
 *
 * Right after each kill the uncommitted records (high watermark − committed offset, all partitions) are
 * read; the killed process can have delivered without committing at most min(those, what it delivered
 * since it started). Add what it held just before the kill (its claimed parked heads are handed out again by
 * the next takeover though their offsets were committed): that is its "in-flight window", summed over the
 * kills. After the last kill, producing stops and a last integrator drains everything: the wait goes on
 * while deliveries keep arriving (30 s without one ends it; 600 s at most), so a slow machine's longer
 * drain is not counted as loss.
 * Lost = produced − unique delivered (the mock's ledger, by webhook-id); duplicates = 2xx for an id
 * already answered, compared with the sum of the windows.
 */
import type { Row } from '../table.ts';
import { EventStream, producePaced } from '../load.ts';
import { launchIntegrator, sleep, uncommitted, until } from '../world.ts';
import type { World } from '../world.ts';
import { drainEnd, FAST_DRAIN_STALL_MS, mockCustomer, waitUnique } from './common.ts';
import type { BenchMode, FigureResult } from './common.ts';

const RATE = 100;
/** The last integrator's drain (waitUnique): ends after 30 s without a new delivery, or at 600 s. */
const DRAIN = { stallMs: FAST_DRAIN_STALL_MS, capMs: 600_000 };

export async function crashLoop(world: World, mode: BenchMode): Promise<FigureResult> {
  const kills = mode.quick ? 3 : 20;
  const { mocks } = world;
  await mocks.setBehavior('customer-1', { latencyMs: 10, jitterMs: 0 });
  await mocks.resetStats();
  const run = await world.topic(8);
  const env = world.env(run, [mockCustomer(mocks, 'customer-1', { concurrency: 16 })]);
  const producing = producePaced(
    world.producer,
    run.topic,
    new EventStream('crash', { 'customer-1': 1 }, 2000),
    RATE,
  );
  let window = 0;
  const perKill: {
    delivered: number;
    uncommitted: number;
    inflight: number;
    window: number;
    restartMs: number;
  }[] = [];
  let result: Awaited<ReturnType<typeof waitUnique>>;
  let produced: number;
  try {
    for (let k = 0; k < kills; k++) {
      const t = Date.now();
      const before = (await mocks.stats('customer-1')).received;
      const integrator = await launchIntegrator({ env });
      try {
        // Mid-stream, and caught up with the backlog the restart left (so lag stays far below the mock
        // broker's per-partition retention): ≥ 100 new deliveries and within 50 of what was produced.
        await until(
          async () => {
            const s = await mocks.stats('customer-1');
            return s.received >= before + 100 && s.unique >= producing.stats.total - 50;
          },
          60_000,
          `deliveries after restart ${k + 1}`,
        );
        const restartMs = Date.now() - t;
        await sleep(Math.random() * 300);
        // What the process holds now may reach the customer without its outcome being recorded: a parked
        // head it claimed (out, or answered and not yet settled in the store) is handed out again by the
        // next takeover though its Kafka offset was committed. `pending` counts everything it holds.
        const inflight = await integrator.metric('integrator_pending_deliveries');
        await integrator.kill();
        const o = await world.offsets(run.topic, run.groupId);
        const u = uncommitted(o);
        const delivered = (await mocks.stats('customer-1')).received;
        // Only this incarnation's deliveries of records past the committed offsets can come again.
        const w = Math.min(u, delivered - before) + inflight;
        window += w;
        perKill.push({ delivered, uncommitted: u, inflight, window: w, restartMs });
        mode.log(
          `crash loop kill ${k + 1}/${kills}: ${delivered} delivered so far (${delivered - before} by this process), ${u} records uncommitted at the kill, ${inflight} deliveries held, window ${w}, ${(restartMs / 1000).toFixed(1)} s from start to caught up`,
        );
      } finally {
        await integrator.kill();
      }
    }
    produced = (await producing.stop()).produced.get('customer-1') ?? 0;
    const last = await launchIntegrator({ env });
    try {
      result = await waitUnique(mocks, 'customer-1', produced, DRAIN);
    } finally {
      await last.stop();
    }
  } finally {
    await producing.stop();
    await mocks.resetBehavior('customer-1');
  }
  const lost = Math.max(0, produced - result.unique);
  mode.log(
    `crash loop: produced ${produced}, unique delivered ${result.unique}, duplicates ${result.duplicates}, in-flight window ${window}, out of order ${result.outOfOrder}`,
  );
  const rows: Row[] = [
    {
      figure: 'crash loop',
      metric: `events lost after ${kills} SIGKILLs`,
      samples: [lost],
      unit: '',
      digits: 0,
      target: { cmp: '==', bound: 0 },
      targetText: '= 0',
      note: [`${produced} produced, ${result.unique} delivered`, drainEnd(result, produced, DRAIN)]
        .filter(Boolean)
        .join('; '),
    },
    {
      figure: 'crash loop',
      metric: 'first-delivery order violations (per package)',
      samples: [result.outOfOrder],
      unit: '',
      digits: 0,
      target: { cmp: '==', bound: 0 },
      targetText: '= 0',
    },
    {
      figure: 'crash loop',
      metric: 'duplicates ÷ in-flight window',
      samples: [window === 0 ? (result.duplicates === 0 ? 0 : Infinity) : result.duplicates / window],
      unit: '',
      digits: 3,
      target: { cmp: '<=', bound: 1 },
      targetText: '≤ 1',
      note: `${result.duplicates} duplicates, window ${window}`,
    },
  ];
  return {
    rows,
    notes: [
      `${RATE} events/s to customer-1 (10 ms, concurrency 16) on 8 partitions; ${kills} SIGKILLs, each ≤ 300 ms after the restarted integrator delivered ≥ 100 and caught up to within 50 of the producer; in-flight window per kill = min(high watermark − committed, deliveries by the killed process) + the deliveries it held just before the kill; a last integrator drains; one run.`,
    ],
    raw: { perKill, produced, ...result },
  };
}
