/**
 * Isolation: the fast customers' (customer-1, customer-3: the mock's 300 ms) end-to-end p99 while
 * customer-2 is 30 s slow / hangs / refuses connections, divided by the same p99 in a run without
 * customer-2 (its events still on the topic, routed to nobody), measured back to back in each repetition.
 */
import type { Row } from '../table.ts';
import { percentile, summarize } from '../table.ts';
import { EventStream, producePaced } from '../load.ts';
import { SECRETS, launchIntegrator, sleep } from '../world.ts';
import type { World } from '../world.ts';
import type { TestCustomer } from '../../test/harness/integrator.ts';
import { refusingUrl } from '../../test/harness/receiver.ts';
import { endToEnd, mockCustomer, waitUnique } from './common.ts';
import type { BenchMode, FigureResult } from './common.ts';

type Customer2 = 'absent' | 'slow' | 'hang' | 'refuse';
const MODES: Customer2[] = ['absent', 'slow', 'hang', 'refuse'];
const FAST = ['customer-1', 'customer-3'];

interface ModeRun {
  mode: Customer2;
  p50: number;
  p99: number;
  samples: number;
  fastLost: number;
}

async function runMode(world: World, mode: Customer2, settings: Settings, tag: string): Promise<ModeRun> {
  const { mocks } = world;
  await mocks.resetBehavior('customer-1');
  await mocks.resetBehavior('customer-3');
  await mocks.resetBehavior('customer-2');
  if (mode === 'hang') await mocks.setBehavior('customer-2', { hangRate: 1 });
  await mocks.resetStats();
  const run = await world.topic(4);
  const customers: TestCustomer[] = FAST.map((id) => mockCustomer(mocks, id, { concurrency: 64 }));
  if (mode !== 'absent') {
    customers.push({
      id: 'customer-2',
      url: mode === 'refuse' ? await refusingUrl() : mocks.url('customer-2'),
      secret: SECRETS['customer-2']!,
    });
  }
  const integrator = await launchIntegrator({
    env: world.env(run, customers, { SHUTDOWN_DEADLINE_MS: '1000' }),
  });
  try {
    await integrator.assigned();
    const stream = new EventStream(
      `iso-${tag}-${mode}`,
      { 'customer-1': 1, 'customer-2': 1, 'customer-3': 1 },
      2000,
    );
    const started = Date.now();
    const producing = producePaced(world.producer, run.topic, stream, settings.rate);
    await sleep(settings.warmupMs + settings.measureMs);
    const stats = await producing.stop();
    const measuredFrom = started + settings.warmupMs;
    let lat: number[] = [];
    let fastLost = 0;
    for (const id of FAST) {
      const want = stats.produced.get(id) ?? 0;
      const got = await waitUnique(mocks, id, want, 60_000);
      fastLost += Math.max(0, want - got.unique);
      const { deliveries } = await mocks.deliveries(id);
      lat = lat.concat(endToEnd(deliveries, measuredFrom));
    }
    lat.sort((a, b) => a - b);
    return { mode, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), samples: lat.length, fastLost };
  } finally {
    await integrator.stop();
  }
}

interface Settings {
  reps: number;
  rate: number;
  warmupMs: number;
  measureMs: number;
}

export async function isolation(world: World, mode: BenchMode): Promise<FigureResult> {
  const settings: Settings = mode.quick
    ? { reps: 1, rate: 300, warmupMs: 1000, measureMs: 2500 }
    : { reps: 3, rate: 300, warmupMs: 2000, measureMs: 15_000 };
  const reps: ModeRun[][] = [];
  for (let r = 0; r < settings.reps; r++) {
    const runs: ModeRun[] = [];
    for (const m of MODES) {
      const res = await runMode(world, m, settings, `r${r}`);
      mode.log(
        `isolation rep ${r + 1}/${settings.reps} customer-2 ${m}: fast p50 ${res.p50} ms, p99 ${res.p99} ms (${res.samples} samples, lost ${res.fastLost})`,
      );
      runs.push(res);
    }
    reps.push(runs);
    await world.mocks.resetBehavior('customer-2');
  }
  const ratio = (m: Customer2): number[] =>
    reps.map((runs) => runs.find((x) => x.mode === m)!.p99 / runs.find((x) => x.mode === 'absent')!.p99);
  const label: Record<Exclude<Customer2, 'absent'>, string> = {
    slow: 'fast p99 ratio, customer-2 at 30 s',
    hang: 'fast p99 ratio, customer-2 hanging',
    refuse: 'fast p99 ratio, customer-2 refusing connections',
  };
  const rows: Row[] = (['slow', 'hang', 'refuse'] as const).map((m) => ({
    figure: 'isolation',
    metric: label[m],
    samples: ratio(m),
    unit: '',
    digits: 3,
    target: { cmp: '<=', bound: 1.05 },
    targetText: '≤ 1.05',
    note: `p99 ${summarize(reps.map((runs) => runs.find((x) => x.mode === m)!.p99)).median} ms vs ${summarize(reps.map((runs) => runs.find((x) => x.mode === 'absent')!.p99)).median} ms without`,
  }));
  const lost = reps.flat().reduce((n, x) => n + x.fastLost, 0);
  rows.push({
    figure: 'isolation',
    metric: 'fast customers: events lost (all modes)',
    samples: [lost],
    unit: '',
    digits: 0,
    target: { cmp: '==', bound: 0 },
    targetText: '= 0',
  });
  return {
    rows,
    notes: [
      `${settings.rate} events/s for ${(settings.warmupMs + settings.measureMs) / 1000} s per mode (1/3 each customer, 2,000 packages each), first ${settings.warmupMs / 1000} s not measured; fast customers 300 ms (mock default), concurrency 64; customer-2 default policy (concurrency 16, timeout 60 s); ${settings.reps} repetition(s), each absent→slow→hang→refuse with a fresh integrator, topic and group.`,
    ],
    raw: reps,
  };
}
