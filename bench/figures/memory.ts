/**
 * Memory: 1,000 events/s for 5 minutes (quick: 15 s) on 12 partitions, a third each to customer-1 and
 * customer-3 (20 ms) and to customer-2, which is stuck (hangs every request; timeout 60 s, default
 * policy), so its work piles up parked in Redis. The integrator's RSS (its own process metrics) is read
 * every 10 s (quick: 2 s). "Flat" = the least-squares growth over the run after the first minute (quick:
 * first third), as a share of the mean RSS then.
 */
import type { Row } from '../table.ts';
import { slope } from '../table.ts';
import { EventStream, producePaced } from '../load.ts';
import { launchIntegrator, sleep, uncommitted } from '../world.ts';
import type { IntegratorProcess, World } from '../world.ts';
import { mb, mockCustomer, waitUnique } from './common.ts';
import type { BenchMode, FigureResult } from './common.ts';

/** prom-client's default heap gauge, under either prefix the integrator has used. */
async function heapUsed(integrator: IntegratorProcess): Promise<number> {
  return (
    (await integrator.metric('integrator_nodejs_heap_size_used_bytes')) ||
    (await integrator.metric('integrator_process_nodejs_heap_size_used_bytes'))
  );
}

export async function memory(world: World, mode: BenchMode): Promise<FigureResult> {
  const settings = mode.quick
    ? { durationMs: 15_000, everyMs: 2000, warmupMs: 5000 }
    : { durationMs: 300_000, everyMs: 10_000, warmupMs: 60_000 };
  const { mocks } = world;
  await mocks.setBehavior('customer-1', { latencyMs: 20, jitterMs: 0 });
  await mocks.setBehavior('customer-3', { latencyMs: 20, jitterMs: 0 });
  await mocks.setBehavior('customer-2', { hangRate: 1 });
  await mocks.resetStats();
  const run = await world.topic(12);
  const integrator = await launchIntegrator({
    env: world.env(
      run,
      ['customer-1', 'customer-2', 'customer-3'].map((id) => mockCustomer(mocks, id)),
      { SHUTDOWN_DEADLINE_MS: '1000' },
    ),
    // The probe answers {type:'gc'} with the live heap after a full collection (--expose-gc).
    probe: true,
    nodeArgs: ['--expose-gc'],
  });
  const liveHeap = async (): Promise<number> =>
    (await integrator.probe<{ heapUsed: number }>({ type: 'gc' })).heapUsed;
  let liveStart = Number.NaN;
  let liveEnd: number;
  let liveStartAt = 0;
  let liveEndAt: number;
  const samples: { t: number; rss: number; heap: number }[] = [];
  let lost = 0;
  let lag: number;
  let parked: number;
  let logDropped: number;
  try {
    await integrator.assigned();
    const producing = producePaced(
      world.producer,
      run.topic,
      new EventStream('mem', { 'customer-1': 1, 'customer-2': 1, 'customer-3': 1 }, 5000),
      1000,
    );
    const t0 = Date.now();
    while (Date.now() - t0 < settings.durationMs) {
      const rss = await integrator.metric('integrator_process_resident_memory_bytes');
      const heap = await heapUsed(integrator);
      samples.push({ t: Date.now() - t0, rss, heap });
      if (Number.isNaN(liveStart) && Date.now() - t0 >= settings.warmupMs) {
        liveStart = await liveHeap();
        liveStartAt = Date.now() - t0;
      }
      mode.log(
        `memory t=${((Date.now() - t0) / 1000).toFixed(0)} s: RSS ${mb(rss).toFixed(1)} MB, heap used ${mb(heap).toFixed(1)} MB`,
      );
      await sleep(settings.everyMs - ((Date.now() - t0) % settings.everyMs));
    }
    const rss = await integrator.metric('integrator_process_resident_memory_bytes');
    samples.push({
      t: Date.now() - t0,
      rss,
      heap: await heapUsed(integrator),
    });
    liveEnd = await liveHeap();
    liveEndAt = Date.now() - t0;
    const stats = await producing.stop();
    for (const id of ['customer-1', 'customer-3']) {
      const want = stats.produced.get(id) ?? 0;
      const got = await waitUnique(mocks, id, want, 60_000);
      lost += Math.max(0, want - got.unique);
    }
    await sleep(2000);
    lag = uncommitted(await world.offsets(run.topic, run.groupId));
    parked = await integrator.metric('integrator_retry_queue_depth', 'customer="customer-2"');
    logDropped = await integrator.metric('integrator_delivery_log_dropped_total');
  } finally {
    await integrator.stop();
    for (const id of ['customer-1', 'customer-2', 'customer-3']) await mocks.resetBehavior(id);
  }
  const after = samples.filter((s) => s.t >= settings.warmupMs);
  const meanAfter = after.reduce((a, s) => a + s.rss, 0) / Math.max(1, after.length);
  const growth = slope(
    after.map((s) => s.t),
    after.map((s) => s.rss),
  );
  const span = after.length > 1 ? after.at(-1)!.t - after[0]!.t : 0;
  const growthPct = ((growth * span) / meanAfter) * 100;
  const maxRss = Math.max(...samples.map((s) => s.rss));
  const rows: Row[] = [
    {
      figure: 'memory',
      metric: 'max RSS, customer-2 stuck, 1,000 events/s',
      samples: [mb(maxRss)],
      unit: 'MB',
      digits: 1,
      target: { cmp: '<', bound: 256 },
      targetText: '< 256 MB',
      note: `RSS every ${settings.everyMs / 1000} s over ${settings.durationMs / 1000} s: ${samples.map((s) => mb(s.rss).toFixed(0)).join(' ')}`,
    },
    {
      figure: 'memory',
      metric: `RSS growth after ${settings.warmupMs / 1000} s (linear fit), % of mean`,
      samples: [growthPct],
      unit: '%',
      digits: 1,
      target: { cmp: '<=', bound: 10 },
      targetText: 'flat (≤ 10 %)',
      note: `${((growth * 60_000) / 2 ** 20).toFixed(2)} MB/min; heap used at end ${mb(samples.at(-1)!.heap).toFixed(1)} MB; ${parked} customer-2 deliveries parked; commit lag at end ${lag} records; delivery log records dropped ${logDropped}`,
    },
    {
      figure: 'memory',
      metric: `live heap after a full GC: at the end − after ${settings.warmupMs / 1000} s`,
      samples: [mb(liveEnd - liveStart)],
      unit: 'MB',
      digits: 1,
      target: null,
      targetText: '',
      note: `${mb(liveStart).toFixed(1)} MB at ${(liveStartAt / 1000).toFixed(0)} s → ${mb(liveEnd).toFixed(1)} MB at ${(liveEndAt / 1000).toFixed(0)} s (${((mb(liveEnd - liveStart) * 60_000) / Math.max(1, liveEndAt - liveStartAt)).toFixed(2)} MB/min)`,
    },
    {
      figure: 'memory',
      metric: 'fast customers: events lost',
      samples: [lost],
      unit: '',
      digits: 0,
      target: { cmp: '==', bound: 0 },
      targetText: '= 0',
    },
  ];
  return {
    rows,
    notes: [
      `1,000 events/s for ${settings.durationMs / 1000} s on 12 partitions, 1/3 each to customer-1 and customer-3 (20 ms) and customer-2 (hangs; default policy: concurrency 16, timeout 60 s, maxInMemory 1000); RSS and heap from the integrator's own /metrics every ${settings.everyMs / 1000} s; live heap = heapUsed right after global.gc() (integrator started with --expose-gc and bench/probe.ts), taken twice; one run.`,
    ],
    raw: samples,
  };
}
