/**
 * Throughput: N events for customer-1 are on the topic before the integrator starts; customer-1 answers
 * at once (latency 0). Deliveries/s = the mock's 2xx count between 10 % and 90 % of N, polled every 100 ms.
 * Baseline, right after, on the same machine: bench/bare-client.ts (undici Pool of the same size, signed
 * requests of the same size) against the same mock customer. Ratio = integrator ÷ bare, per repetition.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Row } from '../table.ts';
import { steadyRate, summarize } from '../table.ts';
import { EventStream, produceAll } from '../load.ts';
import { SECRETS, launchIntegrator, sleep } from '../world.ts';
import type { World } from '../world.ts';
import { ROOT } from '../../test/harness/integrator.ts';
import { summariseProfileDir } from '../profile.ts';
import type { BenchMode, FigureResult } from './common.ts';

const execFileAsync = promisify(execFile);
const CONCURRENCY = 32;

/** Diagnostic variant: the backlog stays in memory (no intake parking, no spill to Redis). */
const NO_PARKING = { customer: { maxInMemory: 1_000_000 }, env: { PARK_AFTER_MS: '3600000' } };

interface Rep {
  integratorRate: number;
  noParkingRate: number;
  bareRate: number;
  cpuMsPerDelivery: number;
  seconds: number;
}

async function integratorRun(
  world: World,
  events: number,
  tag: string,
  nodeArgs: string[] = [],
  variant: { customer?: Record<string, unknown>; env?: Record<string, string> } = {},
): Promise<{ rate: number; cpuMsPerDelivery: number; seconds: number }> {
  const { mocks } = world;
  await mocks.resetStats();
  const run = await world.topic(8);
  const stream = new EventStream(`tp-${tag}`, { 'customer-1': 1 }, Math.ceil(events / 5));
  const list = Array.from({ length: events }, () => stream.next());
  await produceAll(world.producer, run.topic, list);
  const integrator = await launchIntegrator({
    env: world.env(
      run,
      [
        {
          id: 'customer-1',
          url: mocks.url('customer-1'),
          secret: SECRETS['customer-1']!,
          concurrency: CONCURRENCY,
          ...variant.customer,
        },
      ],
      variant.env,
    ),
    nodeArgs,
  });
  try {
    const points: { t: number; count: number }[] = [];
    const t0 = Date.now();
    let cpuAt10 = Number.NaN;
    let cpuAt90 = Number.NaN;
    let n10 = 0;
    let n90 = 0;
    for (;;) {
      const s = await mocks.stats('customer-1');
      const t = Date.now();
      points.push({ t, count: s.received });
      if (Number.isNaN(cpuAt10) && s.received >= events * 0.1) {
        cpuAt10 = await integrator.metric('integrator_process_cpu_seconds_total');
        n10 = s.received;
      }
      if (Number.isNaN(cpuAt90) && s.received >= events * 0.9) {
        cpuAt90 = await integrator.metric('integrator_process_cpu_seconds_total');
        n90 = s.received;
      }
      if (s.unique >= events) break;
      if (t - t0 > 300_000) throw new Error(`throughput: only ${s.unique}/${events} delivered after 300 s`);
      await sleep(100);
    }
    return {
      rate: steadyRate(points, events),
      cpuMsPerDelivery: ((cpuAt90 - cpuAt10) * 1000) / Math.max(1, n90 - n10),
      seconds: (points.at(-1)!.t - t0) / 1000,
    };
  } finally {
    await integrator.stop();
  }
}

async function bareRun(world: World, requests: number): Promise<number> {
  await world.mocks.resetStats();
  const { stdout } = await execFileAsync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'bench/bare-client.ts'),
      world.mocks.url('customer-1'),
      SECRETS['customer-1']!,
      String(CONCURRENCY),
      String(requests),
    ],
    { cwd: ROOT, timeout: 300_000 },
  );
  const res = JSON.parse(stdout.trim().split('\n').at(-1)!) as { rate: number; failures: number };
  if (res.failures > 0) throw new Error(`bare client: ${res.failures} non-200 answers`);
  return res.rate;
}

export async function throughput(world: World, mode: BenchMode): Promise<FigureResult> {
  const settings = mode.quick
    ? { reps: 1, events: 4000, bare: 4000 }
    : { reps: 3, events: 30_000, bare: 30_000 };
  await world.mocks.setBehavior('customer-1', { latencyMs: 0, jitterMs: 0 });
  const reps: Rep[] = [];
  const notes: string[] = [];
  try {
    for (let r = 0; r < settings.reps; r++) {
      const bareRate = await bareRun(world, settings.bare);
      const i = await integratorRun(world, settings.events, `r${r}`);
      const np = mode.quick ? null : await integratorRun(world, settings.events, `np${r}`, [], NO_PARKING);
      reps.push({
        integratorRate: i.rate,
        noParkingRate: np?.rate ?? Number.NaN,
        bareRate,
        cpuMsPerDelivery: i.cpuMsPerDelivery,
        seconds: i.seconds,
      });
      mode.log(
        `throughput rep ${r + 1}/${settings.reps}: integrator ${i.rate.toFixed(0)}/s (${i.cpuMsPerDelivery.toFixed(3)} ms CPU per delivery), bare ${bareRate.toFixed(0)}/s, ratio ${(i.rate / bareRate).toFixed(3)}${np ? `; without parking ${np.rate.toFixed(0)}/s (${np.cpuMsPerDelivery.toFixed(3)} ms CPU), ratio ${(np.rate / bareRate).toFixed(3)}` : ''}`,
      );
    }
    if (mode.profileDir) {
      const dir = join(mode.profileDir, 'throughput');
      const p = await integratorRun(world, settings.events, 'prof', ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
      const summary = await summariseProfileDir(dir, 25);
      mode.log(`throughput under --cpu-prof: ${p.rate.toFixed(0)}/s\n${summary}`);
      notes.push(
        `profiled repetition (${p.rate.toFixed(0)}/s under --cpu-prof), profile in ${dir}:\n${summary}`,
      );
    }
  } finally {
    await world.mocks.resetBehavior('customer-1');
  }
  const rows: Row[] = [
    {
      figure: 'throughput',
      metric: 'deliveries/s ÷ bare undici→fastify req/s',
      samples: reps.map((x) => x.integratorRate / x.bareRate),
      unit: '',
      digits: 3,
      target: { cmp: '>=', bound: 0.7 },
      targetText: '≥ 0.70',
      note: `${summarize(reps.map((x) => x.integratorRate)).median.toFixed(0)} deliveries/s vs ${summarize(reps.map((x) => x.bareRate)).median.toFixed(0)} req/s bare`,
    },
    {
      figure: 'throughput',
      metric: 'integrator deliveries/s (zero-latency receiver)',
      samples: reps.map((x) => x.integratorRate),
      unit: '/s',
      digits: 0,
      target: null,
      targetText: '',
    },
    {
      figure: 'throughput',
      metric: 'diagnostic: same, backlog kept in memory (maxInMemory 10⁶, PARK_AFTER_MS 1 h) ÷ bare',
      samples: reps.map((x) => x.noParkingRate / x.bareRate).filter((x) => !Number.isNaN(x)),
      unit: '',
      digits: 3,
      target: null,
      targetText: '',
      note: 'what the Redis park/claim path costs under a backlog',
    },
    {
      figure: 'throughput',
      metric: 'integrator CPU per delivery',
      samples: reps.map((x) => x.cpuMsPerDelivery),
      unit: 'ms',
      digits: 3,
      target: null,
      targetText: '',
    },
  ];
  if (mode.quick) rows.splice(2, 1); // the diagnostic variant runs in full mode only
  notes.unshift(
    `${settings.events} events pre-produced on 8 partitions (${Math.ceil(settings.events / 5)} packages × 5 statuses), customer-1 latency 0, concurrency ${CONCURRENCY}; bare: ${settings.bare} signed requests over an undici Pool of ${CONCURRENCY} after a warm-up; ${settings.reps} repetition(s), bare then integrator.`,
  );
  return { rows, notes, raw: reps };
}
