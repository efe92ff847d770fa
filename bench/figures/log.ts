/**
 * The delivery log's cost on the hot path: the same runs with the log off (DELIVERY_LOG=off) and on (the
 * default: embedded SQLite in its worker thread), alternated within each repetition so that both see the
 * same machine. Target: within 5 % on throughput and on added latency.
 *
 *  - throughput: the integrator and its log started (the log up), N/3 events to warm up, then N events for
 *    customer-1 produced at once; customer-1 answers at once; deliveries/s between 10 % and 90 % of N (as
 *    the throughput figure).
 *  - added latency: 1,000 events/s, integrator-internal p50/p99 from bench/probe.ts (as the latency figure),
 *    measured after a warm-up and once the log is up.
 *  - a full log: the throughput runs once more with the log's directory already at its row cap (100,000
 *    rows per table, src/log/sqlite.ts), as it is once an integrator has run for a while.
 * Also reported: records written and dropped by the log, CPU per delivery, resident memory.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { Row } from '../table.ts';
import { percentile, sortedCopy, steadyRate, summarize } from '../table.ts';
import { EventStream, produceAll, producePaced } from '../load.ts';
import { launchIntegrator, sleep, until } from '../world.ts';
import type { IntegratorProcess, World } from '../world.ts';
import type { ProbeReport } from '../probe.ts';
import { mockCustomer, waitUnique } from './common.ts';
import { DEFAULT_MAX_ROWS, fullLogTemplate } from './log-fill.ts';
import type { FullLog } from './log-fill.ts';
import type { BenchMode, FigureResult } from './common.ts';

const CONCURRENCY = 32;
const RATE = 1000;

/** off: DELIVERY_LOG=off · on: the default log, empty at start · full: the default log at its row cap. */
type Variant = 'off' | 'on' | 'full';

interface ThroughputRun {
  rate: number;
  cpuMsPerDelivery: number;
  /** The log's own thread alone (NaN with the log off, or where /proc has no threads). */
  logThreadMsPerDelivery: number;
  written: number;
  dropped: number;
  rssMb: number;
}

interface LatencyRun {
  p50: number;
  p99: number;
  written: number;
  dropped: number;
}

async function start(
  world: World,
  run: Awaited<ReturnType<World['topic']>>,
  variant: Variant,
  probe: boolean,
  full: FullLog | null,
) {
  const integrator = await launchIntegrator({
    env: world.env(run, [mockCustomer(world.mocks, 'customer-1', { concurrency: CONCURRENCY })], {
      DELIVERY_LOG: variant === 'off' ? 'off' : 'on',
      ...(variant === 'full'
        ? { DELIVERY_LOG_DIR: full!.copy(), DELIVERY_LOG_MAX_ROWS: String(full!.rows) }
        : {}),
      KAFKA_MAX_WAIT_MS: '10',
    }),
    probe,
  });
  await integrator.assigned();
  if (variant !== 'off') {
    await until(
      async () => (await integrator.metric('integrator_delivery_log_up')) === 1,
      60_000,
      'the delivery log',
    );
  }
  return integrator;
}

const CLOCK_TICKS_PER_S = 100; // USER_HZ, 100 on Linux

/** CPU seconds of the thread of process `pid` named `name` (Linux /proc; NaN elsewhere or if none). */
function threadCpuSeconds(pid: number | undefined, name: string): number {
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      if (readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() !== name) continue;
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // Fields after "(comm)": state is the 3rd field of the line, utime the 14th and stime the 15th.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS_PER_S;
    }
  } catch {
    // not Linux, or the process is gone
  }
  return Number.NaN;
}

/**
 * Waits until the log holds nothing unwritten: its ring empty and its written count still for 2 s (longer
 * than the writer thread may hold a batch, which the ring no longer counts); at most 60 s.
 */
async function logSettled(i: IntegratorProcess): Promise<void> {
  let last = -1;
  let still = 0;
  for (const until = Date.now() + 60_000; still < 8 && Date.now() < until;) {
    const [written, buffered] = await Promise.all([
      i.metric('integrator_delivery_log_written_total'),
      i.metric('integrator_delivery_log_buffered'),
    ]);
    still = written === last && buffered === 0 ? still + 1 : 0;
    last = written;
    await sleep(250);
  }
}

async function logCounts(i: IntegratorProcess): Promise<{ written: number; dropped: number }> {
  return {
    written: await i.metric('integrator_delivery_log_written_total'),
    dropped: await i.metric('integrator_delivery_log_dropped_total'),
  };
}

async function throughputRun(
  world: World,
  events: number,
  variant: Variant,
  tag: string,
  full: FullLog | null,
): Promise<ThroughputRun> {
  await world.mocks.resetStats();
  const run = await world.topic(8);
  const integrator = await start(world, run, variant, false, full);
  try {
    const stream = new EventStream(`log-${tag}`, { 'customer-1': 1 }, Math.ceil(events / 5));
    // Warm-up, the same for both: a third as many events, delivered before the measured ones go out (the
    // JIT of the integrator and, with the log, of its writer thread).
    const warm = Math.ceil(events / 3);
    await produceAll(
      world.producer,
      run.topic,
      Array.from({ length: warm }, () => stream.next()),
    );
    await waitUnique(world.mocks, 'customer-1', warm, 120_000);
    await world.mocks.resetStats();
    const list = Array.from({ length: events }, () => stream.next());
    // The log's thread lags behind the deliveries (it runs at the lowest priority), so its CPU is taken
    // from here until it has written the last record: all of its work for these events, retention included.
    await logSettled(integrator);
    const log0 = threadCpuSeconds(integrator.child.pid, 'delivery-log');
    const producing = produceAll(world.producer, run.topic, list);
    const points: { t: number; count: number }[] = [];
    const t0 = Date.now();
    let cpu10 = Number.NaN;
    let cpu90 = Number.NaN;
    let n10 = 0;
    let n90 = 0;
    let rss = 0;
    for (;;) {
      const s = await world.mocks.stats('customer-1');
      points.push({ t: Date.now(), count: s.received });
      if (Number.isNaN(cpu10) && s.received >= events * 0.1) {
        cpu10 = await integrator.metric('integrator_process_cpu_seconds_total');
        n10 = s.received;
      }
      if (Number.isNaN(cpu90) && s.received >= events * 0.9) {
        cpu90 = await integrator.metric('integrator_process_cpu_seconds_total');
        n90 = s.received;
        rss = await integrator.metric('integrator_process_resident_memory_bytes');
      }
      if (s.unique >= events) break;
      if (Date.now() - t0 > 300_000) throw new Error(`log figure: only ${s.unique}/${events} delivered`);
      await sleep(100);
    }
    await producing;
    await logSettled(integrator);
    const log1 = threadCpuSeconds(integrator.child.pid, 'delivery-log');
    return {
      rate: steadyRate(points, events),
      cpuMsPerDelivery: ((cpu90 - cpu10) * 1000) / Math.max(1, n90 - n10),
      logThreadMsPerDelivery: ((log1 - log0) * 1000) / events,
      rssMb: rss / 2 ** 20,
      ...(await logCounts(integrator)),
    };
  } finally {
    await integrator.stop();
  }
}

async function latencyRun(
  world: World,
  settings: { warmupMs: number; measureMs: number; calmMs: number },
  variant: Variant,
  tag: string,
): Promise<LatencyRun> {
  await world.mocks.resetStats();
  const run = await world.topic(4);
  const integrator = await start(world, run, variant, true, null);
  try {
    const stream = new EventStream(`loglat-${tag}`, { 'customer-1': 1 }, 5000);
    const producing = producePaced(world.producer, run.topic, stream, RATE);
    await sleep(settings.warmupMs);
    let calm = 0;
    const warmLimit = Date.now() + settings.calmMs;
    while (calm < 4 && Date.now() < warmLimit) {
      const [pending, parked] = await Promise.all([
        integrator.metric('integrator_pending_deliveries'),
        integrator.metric('integrator_retry_queue_depth'),
      ]);
      calm = pending < 50 && parked === 0 ? calm + 1 : 0;
      await sleep(500);
    }
    await integrator.probe({ type: 'reset' });
    await sleep(settings.measureMs);
    const report = await integrator.probe<ProbeReport>({ type: 'report' });
    const stats = await producing.stop();
    await waitUnique(world.mocks, 'customer-1', stats.produced.get('customer-1') ?? 0, 60_000);
    await sleep(1500);
    const sorted = sortedCopy(report.added);
    return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), ...(await logCounts(integrator)) };
  } finally {
    await integrator.stop();
  }
}

export async function deliveryLogCost(world: World, mode: BenchMode): Promise<FigureResult> {
  const settings = mode.quick
    ? { reps: 1, events: 900, warmupMs: 1000, measureMs: 2000, calmMs: 5000 }
    : { reps: 3, events: 30_000, warmupMs: 3000, measureMs: 15_000, calmMs: 60_000 };
  await world.mocks.setBehavior('customer-1', { latencyMs: 0, jitterMs: 0 });
  const tp: Record<Variant, ThroughputRun[]> = { off: [], on: [], full: [] };
  const lat: Record<'off' | 'on', LatencyRun[]> = { off: [], on: [] };
  // --quick: a small cap, so that its run too starts full and deletes a row for each it writes.
  const full = await fullLogTemplate(mode.quick ? 2000 : DEFAULT_MAX_ROWS);
  try {
    for (let r = 0; r < settings.reps; r++) {
      // Alternate which goes first, so a drift of the machine does not favour one side.
      const order: Variant[] = r % 2 === 0 ? ['off', 'on', 'full'] : ['full', 'on', 'off'];
      for (const v of order) tp[v].push(await throughputRun(world, settings.events, v, `${v}${r}`, full));
      // --quick (what npm test runs, within a time budget): the throughput runs only.
      if (!mode.quick)
        for (const v of order)
          if (v !== 'full') lat[v].push(await latencyRun(world, settings, v, `${v}${r}`));
      const t = (v: Variant) => tp[v].at(-1)!;
      const l = (v: 'off' | 'on') => lat[v].at(-1);
      mode.log(
        `delivery log rep ${r + 1}/${settings.reps}: throughput off ${t('off').rate.toFixed(0)}/s vs on ${t('on').rate.toFixed(0)}/s (${(t('on').rate / t('off').rate).toFixed(3)}) vs full ${t('full').rate.toFixed(0)}/s (${(t('full').rate / t('off').rate).toFixed(3)}), CPU/delivery ${t('off').cpuMsPerDelivery.toFixed(3)} vs ${t('on').cpuMsPerDelivery.toFixed(3)} vs ${t('full').cpuMsPerDelivery.toFixed(3)} ms (log thread ${t('on').logThreadMsPerDelivery.toFixed(3)} vs ${t('full').logThreadMsPerDelivery.toFixed(3)}), RSS ${t('off').rssMb.toFixed(0)} vs ${t('on').rssMb.toFixed(0)} vs ${t('full').rssMb.toFixed(0)} MB, log wrote ${t('on').written} dropped ${t('on').dropped}, full wrote ${t('full').written} dropped ${t('full').dropped}` +
          (l('off') && l('on')
            ? `; added latency p50 ${l('off')!.p50.toFixed(2)} vs ${l('on')!.p50.toFixed(2)} ms, p99 ${l('off')!.p99.toFixed(2)} vs ${l('on')!.p99.toFixed(2)} ms, log wrote ${l('on')!.written} dropped ${l('on')!.dropped}`
            : ''),
      );
    }
  } finally {
    await world.mocks.resetBehavior('customer-1');
    full.remove();
  }
  /** Each repetition's `on` ÷ its `off`, by `f`. */
  const ratio = <T>(off: T[], on: T[], f: (x: T) => number): number[] => on.map((x, i) => f(x) / f(off[i]!));
  const med = (xs: number[]): string => summarize(xs).median.toFixed(2);
  const latencyRows: Row[] = [
    {
      figure: 'delivery log',
      metric: 'integrator-internal p50 with the log ÷ without (1,000 events/s)',
      samples: ratio(lat.off, lat.on, (x) => x.p50),
      unit: '',
      digits: 3,
      target: { cmp: '<=', bound: 1.05 },
      targetText: '≤ 1.05',
      note: `${med(lat.on.map((x) => x.p50))} vs ${med(lat.off.map((x) => x.p50))} ms`,
    },
    {
      figure: 'delivery log',
      metric: 'integrator-internal p99 with the log ÷ without (1,000 events/s)',
      samples: ratio(lat.off, lat.on, (x) => x.p99),
      unit: '',
      digits: 3,
      target: { cmp: '<=', bound: 1.05 },
      targetText: '≤ 1.05',
      note: `${med(lat.on.map((x) => x.p99))} vs ${med(lat.off.map((x) => x.p99))} ms; log records dropped at 1,000/s: ${summarize(lat.on.map((x) => x.dropped)).median.toFixed(0)}`,
    },
  ];
  const rows: Row[] = [
    {
      figure: 'delivery log',
      metric: 'throughput with the log ÷ without (zero-latency receiver)',
      samples: ratio(tp.off, tp.on, (x) => x.rate),
      unit: '',
      digits: 3,
      target: { cmp: '>=', bound: 0.95 },
      targetText: '≥ 0.95',
      note: `${summarize(tp.on.map((x) => x.rate)).median.toFixed(0)} vs ${summarize(tp.off.map((x) => x.rate)).median.toFixed(0)} deliveries/s; log records dropped at full speed: ${summarize(tp.on.map((x) => x.dropped)).median.toFixed(0)} of ${summarize(tp.on.map((x) => x.written + x.dropped)).median.toFixed(0)}`,
    },
    {
      figure: 'delivery log',
      metric: `throughput with a full log (${full.rows.toLocaleString('en-US')} rows) ÷ without`,
      samples: ratio(tp.off, tp.full, (x) => x.rate),
      unit: '',
      digits: 3,
      target: { cmp: '>=', bound: 0.95 },
      targetText: '≥ 0.95',
      note: `${summarize(tp.full.map((x) => x.rate)).median.toFixed(0)} deliveries/s; each row written deletes the oldest; log records dropped: ${summarize(tp.full.map((x) => x.dropped)).median.toFixed(0)} of ${summarize(tp.full.map((x) => x.written + x.dropped)).median.toFixed(0)}`,
    },
    ...(mode.quick ? [] : latencyRows),
    ...(['on', 'full'] as const).flatMap((v): Row[] => [
      {
        figure: 'delivery log',
        metric: `CPU per delivery of the log's own thread, ${v === 'on' ? 'young' : 'full'} log`,
        samples: tp[v].map((x) => x.logThreadMsPerDelivery).filter((x) => Number.isFinite(x)),
        unit: 'ms',
        digits: 3,
        target: null,
        targetText: '',
        note: 'thread `delivery-log` (/proc/<pid>/task): from the first measured event until the log has written the last',
      },
      {
        figure: 'delivery log',
        metric: `CPU per delivery with ${v === 'on' ? 'the' : 'a full'} log − without`,
        samples: tp[v].map((x, i) => x.cpuMsPerDelivery - tp.off[i]!.cpuMsPerDelivery),
        unit: 'ms',
        digits: 3,
        target: null,
        targetText: '',
        note: 'whole process: main thread + the log worker (SQLite)',
      },
      {
        figure: 'delivery log',
        metric: `resident memory with ${v === 'on' ? 'the' : 'a full'} log − without`,
        samples: tp[v].map((x, i) => x.rssMb - tp.off[i]!.rssMb),
        unit: 'MB',
        digits: 0,
        target: null,
        targetText: '',
        note: 'the log worker thread and SQLite (node:sqlite) in the integrator process',
      },
    ]),
  ];
  return {
    rows,
    notes: [
      `off = DELIVERY_LOG=off, on = the default embedded log (SQLite in a temp directory, its worker thread at the lowest CPU priority), full = the same log started from a copy of a directory already holding ${full.rows.toLocaleString('en-US')} rows per table (its cap, DELIVERY_LOG_MAX_ROWS); ${settings.reps} repetition(s), each off, on and full in alternating order; throughput: ${settings.events} events produced once both the integrator and its log are up and ${Math.ceil(settings.events / 3)} warm-up events are delivered, customer-1 latency 0, concurrency ${CONCURRENCY}; latency (not in --quick): ${RATE} events/s, warm-up ≥ ${settings.warmupMs / 1000} s, ${settings.measureMs / 1000} s measured.`,
    ],
    raw: { throughput: tp, latency: lat },
  };
}
