/**
 * Slow customer: customer-2 answers in 30 s (the mock default) with concurrency 16 (the default) and
 * always has more work than it can take (5 events/s for it, 1,000 packages; most of it parked in Redis).
 * The ideal is concurrency ÷ latency deliveries/s. After the first 2xx, the mock's 2xx count is read at
 * the edges of consecutive windows one latency long; each window gives one ratio. Quick mode scales the
 * latency to 2 s (same shape, 15× shorter).
 */
import type { Row } from '../table.ts';
import { EventStream, producePaced } from '../load.ts';
import { launchIntegrator, sleep, until } from '../world.ts';
import type { World } from '../world.ts';
import { mockCustomer } from './common.ts';
import type { BenchMode, FigureResult } from './common.ts';

const CONCURRENCY = 16;

export async function slowCustomer(world: World, mode: BenchMode): Promise<FigureResult> {
  const settings = mode.quick
    ? { latencyMs: 2000, windows: 3, rate: 30 }
    : { latencyMs: 30_000, windows: 4, rate: 5 };
  const { mocks } = world;
  await mocks.setBehavior('customer-2', { latencyMs: settings.latencyMs, jitterMs: 0 });
  await mocks.resetStats();
  const run = await world.topic(4);
  const integrator = await launchIntegrator({
    env: world.env(run, [mockCustomer(mocks, 'customer-2', { concurrency: CONCURRENCY })], {
      SHUTDOWN_DEADLINE_MS: '1000',
    }),
  });
  const ideal = CONCURRENCY / (settings.latencyMs / 1000);
  const ratios: number[] = [];
  let parked: number;
  const producing = producePaced(
    world.producer,
    run.topic,
    new EventStream('slow', { 'customer-2': 1 }, 1000),
    settings.rate,
    100,
  );
  try {
    await integrator.assigned();
    await until(
      async () => (await mocks.stats('customer-2')).received > 0,
      settings.latencyMs * 3,
      'first 2xx',
    );
    // Start mid-way between waves so no window edge sits on one.
    await sleep(settings.latencyMs / 6);
    let prev = (await mocks.stats('customer-2')).received;
    let prevAt = Date.now();
    for (let w = 0; w < settings.windows; w++) {
      await sleep(Math.max(0, settings.latencyMs - (Date.now() - prevAt)));
      const now = (await mocks.stats('customer-2')).received;
      const at = Date.now();
      const rate = ((now - prev) * 1000) / (at - prevAt);
      ratios.push(rate / ideal);
      mode.log(
        `slow customer window ${w + 1}/${settings.windows}: ${now - prev} deliveries in ${((at - prevAt) / 1000).toFixed(1)} s = ${rate.toFixed(3)}/s, ideal ${ideal.toFixed(3)}/s, ratio ${(rate / ideal).toFixed(3)}`,
      );
      prev = now;
      prevAt = at;
    }
    parked = await integrator.metric('integrator_retry_queue_depth', 'customer="customer-2"');
  } finally {
    await producing.stop();
    await integrator.stop();
    await mocks.resetBehavior('customer-2');
  }
  const rows: Row[] = [
    {
      figure: 'slow customer',
      metric: `deliveries/s to a ${settings.latencyMs / 1000} s customer ÷ (${CONCURRENCY} ÷ ${settings.latencyMs / 1000} s)`,
      samples: ratios,
      unit: '',
      digits: 3,
      target: { cmp: '>=', bound: 0.95 },
      targetText: '≥ 0.95',
      note: `ideal ${ideal.toFixed(3)}/s; ${parked} of its deliveries parked in Redis at the end; n = windows of one latency`,
    },
  ];
  return {
    rows,
    notes: [
      `customer-2 at ${settings.latencyMs / 1000} s, concurrency ${CONCURRENCY}, fed ${settings.rate} events/s (1,000 packages); after its first 2xx and a sixth of a latency, ${settings.windows} consecutive windows of one latency each; one run (the windows are the repetitions).`,
    ],
    raw: { ratios, ideal },
  };
}
