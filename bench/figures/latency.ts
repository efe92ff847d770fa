/**
 * Added latency at 1,000 events/s to customer-1 answering at once (latency 0), KAFKA_MAX_WAIT_MS=10.
 *
 * Two measures, both reported:
 *  - integrator-internal (the target's subject): bench/probe.ts inside the integrator process, per delivery
 *    (settled 2xx − batch handed to the pipeline) − (response headers − request headers written): decode,
 *    routing, lane queueing, signing, pool, response handling — without Kafka and without the HTTP round trip.
 *  - end-to-end: answer written at the mock − source.ts_ms (set when the bench hands the event to its
 *    producer) − the mock's own median answer time. This includes the producer → broker hop and the test
 *    broker's fetch wait (it answers an empty fetch only at the max wait, up to 10 ms here), whole ms.
 */
import { join } from 'node:path';
import type { Row } from '../table.ts';
import { percentile, sortedCopy, summarize } from '../table.ts';
import { EventStream, producePaced } from '../load.ts';
import { launchIntegrator, sleep } from '../world.ts';
import type { World } from '../world.ts';
import type { ProbeReport } from '../probe.ts';
import { summariseProfileDir } from '../profile.ts';
import { endToEnd, mockCustomer, waitUnique } from './common.ts';
import type { BenchMode, FigureResult } from './common.ts';

const RATE = 1000;

interface Rep {
  internalP50: number;
  internalP99: number;
  queueP50: number;
  queueP99: number;
  pipelineP50: number;
  pipelineP99: number;
  laneP50: number;
  laneP99: number;
  postP50: number;
  postP99: number;
  httpP50: number;
  e2eP50: number;
  e2eP99: number;
  customerP50: number;
  loopP99: number;
  cpuShare: number;
  samples: number;
  lost: number;
  connects: number;
}

async function runOnce(
  world: World,
  settings: { warmupMs: number; measureMs: number },
  tag: string,
  nodeArgs: string[] = [],
  maxWaitMs = 10,
): Promise<Rep> {
  const { mocks } = world;
  await mocks.resetStats();
  const run = await world.topic(4);
  const integrator = await launchIntegrator({
    env: world.env(run, [mockCustomer(mocks, 'customer-1')], { KAFKA_MAX_WAIT_MS: String(maxWaitMs) }),
    probe: true,
    nodeArgs,
  });
  try {
    await integrator.assigned();
    const stream = new EventStream(`lat-${tag}`, { 'customer-1': 1 }, 5000);
    const producing = producePaced(world.producer, run.topic, stream, RATE);
    // Warm-up: at least warmupMs, then until the lane has been caught up (nothing parked, < 50 pending)
    // for two seconds in a row: a cold integrator (tsx, JIT) falls behind at first and parks its backlog.
    await sleep(settings.warmupMs);
    let calm = 0;
    const warmLimit = Date.now() + 60_000;
    while (calm < 4 && Date.now() < warmLimit) {
      const [pending, parked] = await Promise.all([
        integrator.metric('integrator_pending_deliveries'),
        integrator.metric('integrator_retry_queue_depth'),
      ]);
      calm = pending < 50 && parked === 0 ? calm + 1 : 0;
      await sleep(500);
    }
    const from = Date.now();
    await integrator.probe({ type: 'reset' });
    await sleep(settings.measureMs);
    const report = await integrator.probe<ProbeReport>({ type: 'report' });
    const to = Date.now();
    const stats = await producing.stop();
    const want = stats.produced.get('customer-1') ?? 0;
    const got = await waitUnique(mocks, 'customer-1', want, 60_000);
    const ledger = await mocks.stats('customer-1');
    const customerP50 = ledger.latencyMs.p50 ?? 0;
    const { deliveries } = await mocks.deliveries('customer-1');
    const e2e = endToEnd(deliveries, from, to).map((x) => x - customerP50);
    const p = (xs: number[], q: number): number => percentile(sortedCopy(xs), q);
    return {
      internalP50: p(report.added, 0.5),
      internalP99: p(report.added, 0.99),
      queueP50: p(report.queue, 0.5),
      queueP99: p(report.queue, 0.99),
      pipelineP50: p(report.pipeline, 0.5),
      pipelineP99: p(report.pipeline, 0.99),
      laneP50: p(report.lane, 0.5),
      laneP99: p(report.lane, 0.99),
      postP50: p(report.post, 0.5),
      postP99: p(report.post, 0.99),
      httpP50: p(report.http, 0.5),
      e2eP50: percentile(e2e, 0.5),
      e2eP99: percentile(e2e, 0.99),
      customerP50,
      loopP99: report.loopDelay.p99,
      cpuShare: report.cpuMs / report.windowMs,
      samples: report.added.length,
      connects: report.connects,
      lost: Math.max(0, want - got.unique),
    };
  } finally {
    await integrator.stop();
  }
}

export async function addedLatency(world: World, mode: BenchMode): Promise<FigureResult> {
  const settings = mode.quick
    ? { reps: 1, warmupMs: 2000, measureMs: 3000 }
    : { reps: 3, warmupMs: 3000, measureMs: 20_000 };
  await world.mocks.setBehavior('customer-1', { latencyMs: 0, jitterMs: 0 });
  const reps: Rep[] = [];
  const small: Rep[] = [];
  const notes: string[] = [];
  const f = (x: number): string => x.toFixed(2);
  try {
    for (let r = 0; r < settings.reps; r++) {
      const x = await runOnce(world, settings, `r${r}`);
      reps.push(x);
      mode.log(
        `added latency rep ${r + 1}/${settings.reps}: internal p50 ${f(x.internalP50)} / p99 ${f(x.internalP99)} ms (queue p50 ${f(x.queueP50)} p99 ${f(x.queueP99)} of which batch→Lane.accept p50 ${f(x.pipelineP50)} p99 ${f(x.pipelineP99)}, Lane.accept→request created p50 ${f(x.laneP50)} p99 ${f(x.laneP99)}, after 2xx p50 ${f(x.postP50)} p99 ${f(x.postP99)}, http p50 ${f(x.httpP50)}), e2e−customer p50 ${f(x.e2eP50)} / p99 ${f(x.e2eP99)} ms, loop delay p99 ${f(x.loopP99)} ms, CPU ${(x.cpuShare * 100).toFixed(0)}% of a core, ${x.samples} samples, ${x.connects} new connections, lost ${x.lost}`,
      );
    }
    // Diagnostic (full mode): the test broker answers only at the fetch's max wait, so records arrive in
    // bursts of ~rate × maxWait that the integrator works through one by one. A 2 ms max wait makes the
    // bursts ~5× smaller, closer to a real broker that answers as soon as data arrives.
    if (!mode.quick) {
      for (let r = 0; r < settings.reps; r++) {
        const x = await runOnce(world, settings, `w2-${r}`, [], 2);
        small.push(x);
        mode.log(
          `added latency, KAFKA_MAX_WAIT_MS=2, rep ${r + 1}/${settings.reps}: internal p50 ${f(x.internalP50)} / p99 ${f(x.internalP99)} ms (batch→Lane.accept p50 ${f(x.pipelineP50)} p99 ${f(x.pipelineP99)}), e2e−customer p50 ${f(x.e2eP50)} / p99 ${f(x.e2eP99)} ms, CPU ${(x.cpuShare * 100).toFixed(0)}% of a core`,
        );
      }
    }
    if (mode.profileDir) {
      const dir = join(mode.profileDir, 'latency');
      await runOnce(world, settings, 'prof', ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
      const summary = await summariseProfileDir(dir, 25);
      mode.log(`added latency under --cpu-prof:\n${summary}`);
      notes.push(`profiled repetition, profile in ${dir}:\n${summary}`);
    }
  } finally {
    await world.mocks.resetBehavior('customer-1');
  }
  const col = (k: keyof Rep): number[] => reps.map((x) => x[k]);
  const med = (k: keyof Rep): string => f(summarize(col(k)).median);
  const rows: Row[] = [
    {
      figure: 'added latency',
      metric: 'integrator-internal p50 (probe, excl. HTTP round trip)',
      samples: col('internalP50'),
      unit: 'ms',
      digits: 2,
      target: { cmp: '<=', bound: 1 },
      targetText: '≤ 1 ms',
      note: `batch → request on the wire p50 ${med('queueP50')} ms (→ Lane.accept ${med('pipelineP50')} ms); after the 2xx ${med('postP50')} ms`,
    },
    {
      figure: 'added latency',
      metric: 'integrator-internal p99 (probe, excl. HTTP round trip)',
      samples: col('internalP99'),
      unit: 'ms',
      digits: 2,
      target: { cmp: '<=', bound: 5 },
      targetText: '≤ 5 ms',
      note: `batch → wire p99 ${med('queueP99')} ms (→ Lane.accept ${med('pipelineP99')} ms); after the 2xx ${med('postP99')} ms; event-loop delay p99 ${med('loopP99')} ms`,
    },
    {
      figure: 'added latency',
      metric: 'end-to-end − customer time p50 (incl. broker fetch wait ≤ 10 ms)',
      samples: col('e2eP50'),
      unit: 'ms',
      digits: 1,
      target: null,
      targetText: '(p50 ≤ 1 ms)',
      note: `whole-ms clock; customer's own p50 ${med('customerP50')} ms`,
    },
    {
      figure: 'added latency',
      metric: 'end-to-end − customer time p99 (incl. broker fetch wait ≤ 10 ms)',
      samples: col('e2eP99'),
      unit: 'ms',
      digits: 1,
      target: null,
      targetText: '(p99 ≤ 5 ms)',
    },
  ];
  if (small.length > 0) {
    rows.push(
      {
        figure: 'added latency',
        metric: 'diagnostic: integrator-internal p50 with KAFKA_MAX_WAIT_MS=2 (smaller fetch bursts)',
        samples: small.map((x) => x.internalP50),
        unit: 'ms',
        digits: 2,
        target: null,
        targetText: '',
        note: `batch → Lane.accept ${f(summarize(small.map((x) => x.pipelineP50)).median)} ms; CPU ${(summarize(small.map((x) => x.cpuShare)).median * 100).toFixed(0)}% of a core`,
      },
      {
        figure: 'added latency',
        metric: 'diagnostic: integrator-internal p99 with KAFKA_MAX_WAIT_MS=2',
        samples: small.map((x) => x.internalP99),
        unit: 'ms',
        digits: 2,
        target: null,
        targetText: '',
        note: `e2e − customer p50 ${f(summarize(small.map((x) => x.e2eP50)).median)} ms, p99 ${f(summarize(small.map((x) => x.e2eP99)).median)} ms`,
      },
    );
  }
  notes.unshift(
    `${RATE} events/s on 4 partitions to customer-1 (latency 0, concurrency 16), KAFKA_MAX_WAIT_MS=10; warm-up ≥ ${settings.warmupMs / 1000} s and until nothing is parked and < 50 pending for 2 s, then ${settings.measureMs / 1000} s measured; ${settings.reps} repetition(s). End-to-end percentiles come from the mock's delivery list (its last 10,000 deliveries within the window).`,
  );
  return { rows, notes, raw: reps };
}
