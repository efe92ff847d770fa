/**
 * Scale out (README "Running several integrators"): three integrators in one group on 12 partitions, one
 * Redis. A backlog waits on the topic before they are split: `FAST` events for customer-1 (the mock, no
 * latency, concurrency 64 for the group), 300 for scale-a (a receiver here that answers in 200 ms,
 * concurrency 6) and 400 for scale-b (40 per second, answers at once, concurrency 32).
 *
 * - deliveries/s: customer-1's first → last 2xx in the mock's ledger, in total; per integrator, that rate
 *   times its share of the deliveries (its `integrator_deliveries_total{customer-1,delivered}`);
 * - store round trips for limits per delivery: Σ `integrator_limits_syncs_total{customer-1}` over the three
 *   ÷ customer-1's deliveries (a fast customer without a rate limit should need a renewal now and then, not a
 *   round trip per request);
 * - CPU per delivery: Σ `integrator_process_cpu_seconds_total` over the three, from the backlog's production
 *   to customer-1's last delivery, ÷ every delivery (all customers) made by then;
 * - the limits held for the group: scale-a's most requests open at once (counted by its receiver from
 *   arrival to answer), scale-b's most requests arriving within any 5 s.
 * Each repetition runs the same load on one integrator first, for the ratio.
 */
import type { Row } from '../table.ts';
import { summarize } from '../table.ts';
import { EventStream, produceAll } from '../load.ts';
import type { KafkaMessage } from '../../test/harness/events.ts';
import { splitEvenly } from '../../test/harness/integrator.ts';
import { maxInWindow, openCounter, startReceiver } from '../../test/harness/receiver.ts';
import type { Receiver } from '../../test/harness/receiver.ts';
import { launchIntegrator, sleep, until } from '../world.ts';
import type { World } from '../world.ts';
import { mockCustomer } from './common.ts';
import type { BenchMode, FigureResult } from './common.ts';

const REPLICAS = 3;
const PARTITIONS = 12;
const FAST_CONCURRENCY = 64;
const A_CONCURRENCY = 6;
const A_ANSWER_MS = 200;
const A_EVENTS = 300;
const B_RATE = 40;
const B_CONCURRENCY = 32;
const B_EVENTS = 400;
const WINDOW_MS = 5000;
const B_WINDOW_BOUND = B_RATE * (WINDOW_MS / 1000) + B_RATE;
const SECRET_A = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SECRET_B = 'whsec_YVdiei3QehZusGHArXkh8FwpFRCkGcyn';

interface Rep {
  totalRate: number;
  perReplicaRate: number[];
  syncsPerDelivery: number;
  syncs: number;
  cpuMsPerDelivery: number;
  maxOpenA: number;
  maxWindowB: number;
  lost: number;
  seconds: number;
}

const uniqueIds = (r: Receiver): number => new Set(r.delivered().map((d) => d.id)).size;

function events(prefix: string, customer: string, n: number): { customer: string; message: KafkaMessage }[] {
  const stream = new EventStream(prefix, { [customer]: 1 }, Math.ceil(n / 4));
  return Array.from({ length: n }, () => stream.next());
}

async function rep(
  world: World,
  fast: number,
  replicasN: number,
  tag: string,
  mode: BenchMode,
): Promise<Rep> {
  const { mocks } = world;
  await mocks.resetStats();
  const openA = openCounter(A_ANSWER_MS);
  const a = await startReceiver({ secret: SECRET_A, handler: openA.handler });
  const b = await startReceiver({ secret: SECRET_B });
  const run = await world.topic(PARTITIONS);
  const env = world.env(run, [
    mockCustomer(mocks, 'customer-1', { concurrency: FAST_CONCURRENCY }),
    { id: 'scale-a', url: a.url, secret: SECRET_A, concurrency: A_CONCURRENCY, timeoutMs: 5000 },
    {
      id: 'scale-b',
      url: b.url,
      secret: SECRET_B,
      concurrency: B_CONCURRENCY,
      ratePerSecond: B_RATE,
      timeoutMs: 5000,
    },
  ]);
  const replicas = await Promise.all(Array.from({ length: replicasN }, () => launchIntegrator({ env })));
  try {
    await until(
      () =>
        splitEvenly(
          replicas.map((r) => r.output()),
          PARTITIONS,
        ),
      60_000,
      `the ${replicasN} integrator(s) to split the partitions`,
    );
    const cpu = () => Promise.all(replicas.map((r) => r.metric('integrator_process_cpu_seconds_total')));
    const delivered = () =>
      Promise.all(
        replicas.map((r) =>
          r.metric('integrator_deliveries_total', 'customer="customer-1",outcome="delivered"'),
        ),
      );
    const syncs = async () =>
      (
        await Promise.all(
          replicas.map((r) => r.metric('integrator_limits_syncs_total', 'customer="customer-1"')),
        )
      ).reduce((x, y) => x + y, 0);

    const fastEvents = events(`so-${tag}`, 'customer-1', fast);
    const aEvents = events(`so-${tag}`, 'scale-a', A_EVENTS);
    const bEvents = events(`so-${tag}`, 'scale-b', B_EVENTS);
    // scale-a and scale-b spread through the backlog, so every partition (and replica) has some of each.
    const all: typeof fastEvents = [];
    const every = Math.max(1, Math.floor(fast / (A_EVENTS + B_EVENTS)));
    let ia = 0;
    let ib = 0;
    fastEvents.forEach((e, k) => {
      all.push(e);
      if (k % every === 0) {
        if (ia < aEvents.length) all.push(aEvents[ia++]!);
        if (ib < bEvents.length) all.push(bEvents[ib++]!);
      }
    });
    all.push(...aEvents.slice(ia), ...bEvents.slice(ib));

    const [cpu0, del0, syncs0] = [await cpu(), await delivered(), await syncs()];
    const t0 = Date.now();
    await produceAll(world.producer, run.topic, all);
    for (;;) {
      const s = await mocks.stats('customer-1');
      if (s.unique >= fast) break;
      if (Date.now() - t0 > 300_000) throw new Error(`scaleout: only ${s.unique}/${fast} after 300 s`);
      await sleep(20);
    }
    const [perAtLast, syncs1, cpu1] = [await delivered(), await syncs(), await cpu()];
    // CPU over the catch-up, for every delivery made in it (scale-a and scale-b go on a little longer).
    const deliveredInCatchUp = fast + uniqueIds(a) + uniqueIds(b);
    await until(
      () => uniqueIds(a) >= A_EVENTS && uniqueIds(b) >= B_EVENTS,
      120_000,
      'scale-a and scale-b delivered',
    );
    const { deliveries } = await mocks.deliveries('customer-1');
    const times = deliveries.map((d) => Date.parse(d.receivedAt)).sort((x, y) => x - y);
    const span = Math.max(1, times.at(-1)! - times[0]!);
    const unique = (await mocks.stats('customer-1')).unique;
    const fastDelivered = perAtLast.reduce((x, y) => x + y, 0) - del0.reduce((x, y) => x + y, 0);
    const cpuMs = (cpu1.reduce((x, y) => x + y, 0) - cpu0.reduce((x, y) => x + y, 0)) * 1000;
    const result: Rep = {
      totalRate: (fast * 1000) / span,
      // Each integrator's share of customer-1's deliveries (its own counter) times the rate of the whole.
      perReplicaRate: perAtLast.map(
        (n, k) => ((n - del0[k]!) / Math.max(1, fastDelivered)) * ((fast * 1000) / span),
      ),
      syncs: syncs1 - syncs0,
      syncsPerDelivery: (syncs1 - syncs0) / Math.max(1, fastDelivered),
      cpuMsPerDelivery: cpuMs / deliveredInCatchUp,
      maxOpenA: openA.max(),
      maxWindowB: maxInWindow(b, WINDOW_MS),
      lost: Math.max(0, fast - unique) + (A_EVENTS - uniqueIds(a)) + (B_EVENTS - uniqueIds(b)),
      seconds: span / 1000,
    };
    mode.log(
      `scaleout ${tag}, ${replicasN} integrator(s): ${result.totalRate.toFixed(0)} deliveries/s in total (${result.perReplicaRate.map((x) => x.toFixed(0)).join(' / ')} per replica), ${result.syncs} limit syncs for ${fastDelivered} deliveries of customer-1 (${result.syncsPerDelivery.toFixed(4)} per delivery), ${result.cpuMsPerDelivery.toFixed(3)} ms CPU per delivery; scale-a max open ${result.maxOpenA}, scale-b max ${result.maxWindowB} per 5 s`,
    );
    return result;
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    await a.close();
    await b.close();
  }
}

export async function scaleout(world: World, mode: BenchMode): Promise<FigureResult> {
  const s = mode.quick ? { reps: 1, fast: 3000 } : { reps: 2, fast: 12_000 };
  await world.mocks.setBehavior('customer-1', { latencyMs: 0, jitterMs: 0 });
  const reps: Rep[] = [];
  const ones: Rep[] = [];
  try {
    for (let r = 0; r < s.reps; r++) {
      // The same load on one integrator first: what three add (or cost) is read against it.
      ones.push(await rep(world, s.fast, 1, `r${r}`, mode));
      reps.push(await rep(world, s.fast, REPLICAS, `r${r}`, mode));
    }
  } finally {
    await world.mocks.resetBehavior('customer-1');
  }
  const med = (xs: number[]): number => summarize(xs).median;
  const rows: Row[] = [
    {
      figure: 'scale out',
      metric: `deliveries/s, ${REPLICAS} integrators together (customer-1, catch-up)`,
      samples: reps.map((x) => x.totalRate),
      unit: '/s',
      digits: 0,
      target: null,
      targetText: '',
      note: `${s.fast} waiting on ${PARTITIONS} partitions, concurrency ${FAST_CONCURRENCY} for the group; ${med(reps.map((x) => x.seconds)).toFixed(1)} s first → last delivery`,
    },
    {
      figure: 'scale out',
      metric: `deliveries/s, ${REPLICAS} integrators ÷ one integrator (same load, customer-1)`,
      samples: reps.map((x, k) => x.totalRate / ones[k]!.totalRate),
      unit: '',
      digits: 2,
      target: null,
      targetText: '',
      note: `one integrator: ${med(ones.map((x) => x.totalRate)).toFixed(0)} deliveries/s, ${med(ones.map((x) => x.cpuMsPerDelivery)).toFixed(3)} ms CPU and ${med(ones.map((x) => x.syncsPerDelivery)).toFixed(4)} limit syncs per delivery`,
    },
    {
      figure: 'scale out',
      metric: 'deliveries/s per integrator (customer-1)',
      samples: reps.flatMap((x) => x.perReplicaRate),
      unit: '/s',
      digits: 0,
      target: null,
      targetText: '',
      note: reps.map((x) => x.perReplicaRate.map((v) => v.toFixed(0)).join(' / ')).join('; '),
    },
    {
      figure: 'scale out',
      metric: 'store round trips for limits per delivery (customer-1, no rate limit)',
      samples: reps.map((x) => x.syncsPerDelivery),
      unit: '',
      digits: 4,
      target: { cmp: '<=', bound: 0.1 },
      targetText: '≤ 0.1',
      note: `${med(reps.map((x) => x.syncs)).toFixed(0)} syncs (integrator_limits_syncs_total, ${REPLICAS} integrators)`,
    },
    {
      figure: 'scale out',
      metric: `integrator CPU per delivery (${REPLICAS} integrators, catch-up, every customer)`,
      samples: reps.map((x) => x.cpuMsPerDelivery),
      unit: 'ms',
      digits: 3,
      target: null,
      targetText: '',
    },
    {
      figure: 'scale out',
      metric: `scale-a: most requests open at once (concurrency ${A_CONCURRENCY}, ${REPLICAS} integrators)`,
      samples: reps.map((x) => x.maxOpenA),
      unit: '',
      digits: 0,
      target: { cmp: '<=', bound: A_CONCURRENCY },
      targetText: `≤ ${A_CONCURRENCY}`,
    },
    {
      figure: 'scale out',
      metric: `scale-b: most requests in any ${WINDOW_MS / 1000} s (${B_RATE}/s, ${REPLICAS} integrators)`,
      samples: reps.map((x) => x.maxWindowB),
      unit: '',
      digits: 0,
      target: { cmp: '<=', bound: B_WINDOW_BOUND },
      targetText: `≤ ${B_WINDOW_BOUND}`,
      note: `${B_RATE} × ${WINDOW_MS / 1000} s + one second of burst`,
    },
    {
      figure: 'scale out',
      metric: 'events lost (every customer)',
      samples: reps.map((x) => x.lost),
      unit: '',
      digits: 0,
      target: { cmp: '==', bound: 0 },
      targetText: '= 0',
    },
  ];
  return {
    rows,
    notes: [
      `${REPLICAS} integrators (one group, one Redis), after the same run on one integrator, split ${PARTITIONS} partitions before a backlog is produced: ${s.fast} events for customer-1 (latency 0, concurrency ${FAST_CONCURRENCY}), ${A_EVENTS} for scale-a (${A_ANSWER_MS} ms, concurrency ${A_CONCURRENCY}) and ${B_EVENTS} for scale-b (${B_RATE}/s, concurrency ${B_CONCURRENCY}) spread through it; rate from the mock's first to last 2xx, per integrator that rate times its share of the deliveries (its own counter); ${s.reps} repetition(s).`,
    ],
    raw: { three: reps, one: ones },
  };
}
