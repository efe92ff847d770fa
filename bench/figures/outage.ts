/**
 * Outages mid-stream, nobody intervening: 200 events/s on 4 partitions; after a while the broker goes
 * down for 20 s (the mock cluster's `down`, then `up`; quick: 5 s), or redis-server is stopped for 10 s
 * and started again on the same port with its AOF (quick: 3 s). Producing goes on throughout (the bench's
 * producer retries until acknowledged; only acknowledged events count). Then producing stops and the
 * same integrator must deliver everything by itself: the wait goes on while deliveries keep arriving (30 s
 * without one ends it, the drain limit caps it), so a slow machine's longer drain is not counted as loss.
 *
 * Redis write errors: the same, but redis-server stays up and refuses writes — its `maxmemory` is set just
 * above what it uses, under `noeviction`, so every write is answered "OOM command not allowed" (as a full
 * Redis does), for 6 s (quick: 3 s), then the limit is lifted. Nobody restarts the integrator.
 *
 * Broker: customer-1 (10 ms). Redis: customer-1 (10 ms) and customer-3 (10 ms, 20 % answered 503, so its
 * retries go through Redis all the time). Lost = produced − unique delivered − dead-lettered, per customer;
 * order violations = first deliveries of a package's status before an earlier status's (the mock's ledger).
 */
import { Redis } from 'ioredis';
import type { Row } from '../table.ts';
import { EventStream, producePaced } from '../load.ts';
import { launchIntegrator, sleep } from '../world.ts';
import type { World } from '../world.ts';
import { drainEnd, FAST_DRAIN_STALL_MS, mockCustomer, waitUnique } from './common.ts';
import type { BenchMode, FigureResult } from './common.ts';

type Kind = 'broker' | 'redis' | 'redis-oom';

/** Redis refuses writes: maxmemory just above what it uses, noeviction (a full Redis). */
async function fillRedis(url: string): Promise<() => Promise<void>> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  const info = await r.info('memory');
  const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? '0');
  await r.config('SET', 'maxmemory-policy', 'noeviction');
  await r.config('SET', 'maxmemory', String(used + 64 * 1024));
  return async () => {
    await r.config('SET', 'maxmemory', '0');
    r.disconnect();
  };
}

async function outage(world: World, mode: BenchMode, kind: Kind): Promise<FigureResult> {
  const settings = mode.quick
    ? {
        beforeMs: 2000,
        downMs: kind === 'broker' ? 5000 : 3000,
        afterMs: 2000,
        resumeLimitMs: 90_000,
        drainMs: 300_000,
      }
    : {
        beforeMs: 5000,
        downMs: kind === 'broker' ? 20_000 : kind === 'redis' ? 10_000 : 6000,
        afterMs: 10_000,
        resumeLimitMs: 120_000,
        drainMs: 600_000,
      };
  const { mocks } = world;
  const ids = kind === 'broker' ? ['customer-1'] : ['customer-1', 'customer-3'];
  let lift: (() => Promise<void>) | null = null;
  let violations = 0;
  for (const id of ids) await mocks.setBehavior(id, { latencyMs: 10, jitterMs: 0 });
  if (kind !== 'broker') await mocks.setBehavior('customer-3', { errorRate: 0.2, errorStatus: 503 });
  await mocks.resetStats();
  const run = await world.topic(4);
  const customers = ids.map((id) =>
    mockCustomer(mocks, id, {
      concurrency: 8,
      retry: { maxAttempts: 50, baseDelayMs: 200, maxDelayMs: 1000 },
      breaker: { errorThresholdPercentage: 90, volumeThreshold: 50, windowMs: 10_000, resetTimeoutMs: 1000 },
    }),
  );
  const integrator = await launchIntegrator({ env: world.env(run, customers) });
  const mix = Object.fromEntries(ids.map((id) => [id, 1]));
  let resumeMs = Number.NaN;
  let drainMs = Number.NaN;
  const lostBy: Record<string, number> = {};
  const detail: string[] = [];
  const outOfOrder: string[] = [];
  let warnings: string[];
  try {
    await integrator.assigned();
    const producing = producePaced(world.producer, run.topic, new EventStream(`out-${kind}`, mix, 2000), 200);
    await sleep(settings.beforeMs);
    if (kind === 'broker') await world.kafkaMock.brokerDown(1);
    else if (kind === 'redis') await world.redis.stop();
    else lift = await fillRedis(world.redis.url);
    mode.log(`${kind} outage: down for ${settings.downMs / 1000} s`);
    await sleep(settings.downMs);
    const atDown = (await mocks.stats('customer-1')).received;
    if (kind === 'broker') await world.kafkaMock.brokerUp(1);
    else if (kind === 'redis') await world.redis.restart();
    else await lift?.();
    const upAt = Date.now();
    mode.log(`${kind} outage: up again`);
    // Resumed = customer-1 gets a delivery it had not had when the outage ended.
    for (;;) {
      if ((await mocks.stats('customer-1')).received > atDown) {
        resumeMs = Date.now() - upAt;
        break;
      }
      if (Date.now() - upAt > settings.resumeLimitMs) break;
      await sleep(100);
    }
    await sleep(Math.max(0, settings.afterMs - (Date.now() - upAt)));
    const stats = await producing.stop();
    for (const id of ids) {
      const want = stats.produced.get(id) ?? 0;
      // As long as deliveries keep arriving (customer-3's retries take a while on a slow machine), up to
      // the drain limit; 30 s without one ends the wait.
      const limit = {
        stallMs: FAST_DRAIN_STALL_MS,
        capMs: Math.max(10_000, settings.drainMs - (Date.now() - upAt)),
      };
      const got = await waitUnique(mocks, id, want, limit);
      const dead = await integrator.metric(
        'integrator_deliveries_total',
        `customer="${id}",outcome="dead_lettered"`,
      );
      lostBy[id] = Math.max(0, want - got.unique - dead);
      violations += got.outOfOrder;
      if (got.outOfOrder > 0) {
        // Keep the evidence: every delivery of the packages the ledger judged out of order, and what the
        // integrator logged at warn and above.
        const { deliveries } = await mocks.deliveries(id);
        const pkgs = new Set(deliveries.filter((d) => d.outOfOrder).map((d) => d.packageId));
        for (const pkg of pkgs) {
          const seq = deliveries
            .filter((d) => d.packageId === pkg)
            .map(
              (d) =>
                `#${d.position} at ${d.receivedAt.slice(11, 23)}${d.duplicate ? ' dup' : ''}${d.outOfOrder ? ' OUT-OF-ORDER' : ''}`,
            );
          mode.log(`${kind} outage: ${id} package ${pkg}: ${seq.join(', ')}`);
          outOfOrder.push(`${pkg}: ${seq.join(', ')}`);
        }
      }
      detail.push(
        `${id}: ${want} produced, ${got.unique} delivered, ${dead} dead-lettered, ${got.duplicates} duplicates, ${got.outOfOrder} out of order${lostBy[id] > 0 ? ` (${drainEnd(got, want - dead, limit)})` : ''}`,
      );
    }
    if (Object.values(lostBy).every((n) => n === 0)) drainMs = Date.now() - upAt;
    warnings = integrator
      .output()
      .split('\n')
      .filter((l) => /"level":(40|50|60)/.test(l))
      .map((l) => l.slice(0, 400));
    mode.log(
      `${kind} outage: resumed ${(resumeMs / 1000).toFixed(1)} s after up; ${detail.join('; ')}; failed producer sends ${stats.failedSends}`,
    );
  } finally {
    await lift?.().catch(() => {});
    await integrator.stop();
    for (const id of ids) await mocks.resetBehavior(id);
  }
  const lost = Object.values(lostBy).reduce((a, b) => a + b, 0);
  const figure =
    kind === 'broker' ? 'broker outage' : kind === 'redis' ? 'Redis outage' : 'Redis write errors';
  const rows: Row[] = [
    {
      figure,
      metric: `events lost (${settings.downMs / 1000} s ${kind === 'redis-oom' ? 'refusing writes' : 'down'})`,
      samples: [lost],
      unit: '',
      digits: 0,
      target: { cmp: '==', bound: 0 },
      targetText: '= 0',
      note: detail.join('; '),
    },
    {
      figure,
      metric: 'first-delivery order violations (per package)',
      samples: [violations],
      unit: '',
      digits: 0,
      target: { cmp: '==', bound: 0 },
      targetText: '= 0',
      note: outOfOrder.slice(0, 3).join('; '),
    },
    {
      figure,
      metric: 'first delivery after it is back',
      samples: [resumeMs / 1000],
      unit: 's',
      digits: 1,
      target: { cmp: '<=', bound: 60 },
      targetText: 'resumes by itself (≤ 60 s)',
      note: Number.isNaN(drainMs)
        ? 'not everything delivered within the drain limit'
        : `everything delivered ${(drainMs / 1000).toFixed(1)} s after it was back`,
    },
  ];
  return {
    rows,
    notes: [
      `200 events/s on 4 partitions${kind !== 'broker' ? ' to customer-1 and customer-3 (20 % 503, retries parked in Redis; retry 200 ms–1 s, 50 attempts)' : ' to customer-1'} (10 ms, concurrency 8); ${settings.beforeMs / 1000} s, then ${kind === 'broker' ? 'the broker down' : kind === 'redis' ? 'redis-server stopped' : 'Redis refusing every write (maxmemory reached, noeviction)'} for ${settings.downMs / 1000} s, then producing ${settings.afterMs / 1000} s more; drain: until ${FAST_DRAIN_STALL_MS / 1000} s pass without a delivery, at most ${settings.drainMs / 1000} s; one run, the same integrator throughout.`,
    ],
    raw: { resumeMs, drainMs, lostBy, detail, outOfOrder, warnings },
  };
}

export const brokerOutage = (world: World, mode: BenchMode): Promise<FigureResult> =>
  outage(world, mode, 'broker');
export const redisOutage = (world: World, mode: BenchMode): Promise<FigureResult> =>
  outage(world, mode, 'redis');
export const redisWriteErrors = (world: World, mode: BenchMode): Promise<FigureResult> =>
  outage(world, mode, 'redis-oom');
