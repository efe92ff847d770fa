/**
 * Crash loop: 200 events/s to customer-1 (10 ms, concurrency 8) on 4 partitions, Redis store. The
 * integrator is started, allowed to deliver ≥ 100 events, then SIGKILLed at a random moment within the
 * next 300 ms — 20 times (quick: 3). Right after each kill the uncommitted records (high watermark −
 * committed offset, all partitions) are read; the killed process can have delivered without committing at
 * most min(those, what it delivered since it started): its "in-flight window", summed over the kills.
 * After the last kill, producing stops and a last integrator drains everything.
 * Lost = produced − unique delivered (the mock's ledger, by webhook-id); duplicates = 2xx for an id
 * already answered, compared with the sum of the windows.
 */
import type { Row } from '../table.ts';
import { EventStream, producePaced } from '../load.ts';
import { SECRETS, launchIntegrator, sleep, uncommitted, until } from '../world.ts';
import type { World } from '../world.ts';
import { waitUnique } from './common.ts';
import type { BenchMode, FigureResult } from './common.ts';

export async function crashLoop(world: World, mode: BenchMode): Promise<FigureResult> {
  const kills = mode.quick ? 3 : 20;
  const { mocks } = world;
  await mocks.setBehavior('customer-1', { latencyMs: 10, jitterMs: 0 });
  await mocks.resetStats();
  const run = await world.topic(4);
  const env = world.env(run, [
    { id: 'customer-1', url: mocks.url('customer-1'), secret: SECRETS['customer-1']!, concurrency: 8 },
  ]);
  const producing = producePaced(
    world.producer,
    run.topic,
    new EventStream('crash', { 'customer-1': 1 }, 2000),
    200,
  );
  let window = 0;
  const perKill: { delivered: number; uncommitted: number; window: number; restartMs: number }[] = [];
  let result = { unique: 0, received: 0, duplicates: 0, outOfOrder: 0, timedOut: true };
  let produced = 0;
  try {
    for (let k = 0; k < kills; k++) {
      const t = Date.now();
      const before = (await mocks.stats('customer-1')).received;
      const integrator = await launchIntegrator({ env });
      try {
        await until(
          async () => (await mocks.stats('customer-1')).received >= before + 100,
          60_000,
          `deliveries after restart ${k + 1}`,
        );
        const restartMs = Date.now() - t;
        await sleep(Math.random() * 300);
        await integrator.kill();
        const o = await world.offsets(run.topic, run.groupId);
        const u = uncommitted(o);
        const delivered = (await mocks.stats('customer-1')).received;
        // Only this incarnation's deliveries of records past the committed offsets can come again.
        const w = Math.min(u, delivered - before);
        window += w;
        perKill.push({ delivered, uncommitted: u, window: w, restartMs });
        mode.log(
          `crash loop kill ${k + 1}/${kills}: ${delivered} delivered so far (${delivered - before} by this process), ${u} records uncommitted at the kill, window ${w}, ${(restartMs / 1000).toFixed(1)} s from start to 100 more deliveries`,
        );
      } finally {
        await integrator.kill();
      }
    }
    produced = (await producing.stop()).produced.get('customer-1') ?? 0;
    const last = await launchIntegrator({ env });
    try {
      result = await waitUnique(mocks, 'customer-1', produced, 120_000);
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
      note: `${produced} produced, ${result.unique} delivered`,
    },
    {
      figure: 'crash loop',
      metric: 'duplicates ÷ in-flight window',
      samples: [window === 0 ? (result.duplicates === 0 ? 0 : Infinity) : result.duplicates / window],
      unit: '',
      digits: 3,
      target: { cmp: '<=', bound: 1 },
      targetText: '≤ 1',
      note: `${result.duplicates} duplicates, window ${window}; ${result.outOfOrder} out of order`,
    },
  ];
  return {
    rows,
    notes: [
      `200 events/s to customer-1 (10 ms, concurrency 8) on 4 partitions; ${kills} SIGKILLs, each ≤ 300 ms after ≥ 100 new deliveries; in-flight window per kill = min(high watermark − committed, deliveries by the killed process); a last integrator drains; one run.`,
    ],
    raw: { perKill, produced, ...result },
  };
}
