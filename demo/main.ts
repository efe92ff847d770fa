/**
 * `npm run demo`: the product in one command, on a machine with nothing but Node.
 *
 *   generator ──Debezium-shaped records──▶ source (in-memory topic, or Kafka with KAFKA_BROKERS)
 *     ──▶ integrator (decoder, per-customer lanes, store: memory, or Redis with REDIS_URL)
 *     ──signed webhooks──▶ mock customers (in-process: customer-1 300 ms, customer-2 30 s, customer-3 300 ms)
 *
 * A live view per customer every second, then a summary with a verdict and, as the very last line of
 * stdout, `DEMO_SUMMARY <json>` for scripts. Options: demo/args.ts; documentation: demo/README.md.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { loadConfig as loadMockConfig, startMockCustomers } from '../mock-customers/index.ts';
import type { MockCustomers } from '../mock-customers/index.ts';
import { loadConfig } from '../src/config/config.ts';
import { createIntegrator } from '../src/app.ts';
import type { Integrator } from '../src/app.ts';
import { MemorySource } from '../src/intake/memory-source.ts';
import { librdkafkaSecurity } from '../src/intake/kafka-source.ts';
import { createLogger } from '../src/report/logger.ts';
import type { Logger } from '../src/report/logger.ts';
import { USAGE, generationWindowMs, parseDemoArgs } from './args.ts';
import type { DemoArgs } from './args.ts';
import { runDemoGenerator } from './generator.ts';
import type { ChangeRecord } from './generator.ts';
import { buildSummary, roleOf, samplesFromLedger } from './summary.ts';
import type { CustomerObservation, DemoSummary, HistogramBucket } from './summary.ts';
import { redraw, renderFrame, screenRows, renderPlainLine, renderSummary, summaryLine } from './view.ts';
import type { Frame } from './view.ts';

const VIRTUAL_CUSTOMERS_FILE = '(demo: the mock customers)';

function fail(message: string, code = 1): never {
  console.error(`demo: ${message}`);
  process.exit(code);
}

function env(name: string): string | undefined {
  const v = process.env[name]?.trim();
  return v ? v : undefined;
}

async function startMocks(args: DemoArgs): Promise<MockCustomers> {
  const mockConfig = loadMockConfig(
    { ...process.env, PORT: env('MOCK_PORT') ?? '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' },
    (path) => readFileSync(path, 'utf8'),
  );
  if (!mockConfig.ok)
    fail(`invalid mock customers configuration:\n  - ${mockConfig.problems.join('\n  - ')}`, 2);
  return startMockCustomers({
    port: mockConfig.value.port,
    host: '127.0.0.1',
    customers: mockConfig.value.customers,
    // Keep every delivery of the run: the summary's latencies are computed from them.
    deliveryLogLimit: Math.max(10_000, Math.ceil(args.rate * args.durationS * 1.5) + 1000),
  });
}

interface Wiring {
  integrator: Integrator;
  /** The console's admin token: ADMIN_TOKEN, or one made up for this run. */
  token: string;
  sourceName: string;
  storeName: string;
  publish: (records: ChangeRecord[]) => Promise<void>;
  close: () => Promise<void>;
}

async function wire(args: DemoArgs, mocks: MockCustomers, log: Logger): Promise<Wiring> {
  const brokers = env('KAFKA_BROKERS');
  const redisUrl = env('REDIS_URL');
  const token = env('ADMIN_TOKEN') ?? `demo-${randomBytes(12).toString('hex')}`;
  const customersJson = JSON.stringify({
    customers: mocks.customers.map((c) => ({ id: c.id, url: c.url, secret: c.secret })),
  });
  const result = loadConfig(
    {
      ...process.env,
      KAFKA_BROKERS: brokers ?? 'in-process:9092',
      KAFKA_GROUP_ID: env('KAFKA_GROUP_ID') ?? 'package-status-integrator-demo',
      RETRY_STORE: env('RETRY_STORE') ?? (redisUrl ? 'redis' : 'memory'),
      REDIS_KEY_PREFIX: env('REDIS_KEY_PREFIX') ?? 'psi-demo',
      CUSTOMERS_FILE: VIRTUAL_CUSTOMERS_FILE,
      PORT: env('PORT') ?? '0',
      HOST: env('HOST') ?? '127.0.0.1',
      LOG_LEVEL: env('LOG_LEVEL') ?? 'error',
      // customer-2 keeps requests open for 30 s; the demo does not wait for them when it ends.
      SHUTDOWN_DEADLINE_MS: env('SHUTDOWN_DEADLINE_MS') ?? '1000',
      // The console (README "For operators"): an admin token for this run, the embedded delivery log.
      ADMIN_TOKEN: token,
    },
    (path) => {
      if (path === VIRTUAL_CUSTOMERS_FILE) return customersJson;
      throw new Error(`unexpected file ${path}`);
    },
  );
  if (!result.ok) fail(`invalid configuration:\n  - ${result.problems.join('\n  - ')}`, 2);
  const config = result.config;
  const topic = config.kafka.topics[0]!;
  const storeName = config.store.kind === 'redis' ? `redis (${config.store.url})` : 'memory';

  if (!brokers) {
    const source = new MemorySource({
      topic,
      partitions: args.partitions,
      onError: (err, where) => log.error({ err, ...where }, 'batch failed; retrying'),
    });
    const integrator = createIntegrator(config, { log, source });
    return {
      integrator,
      token,
      sourceName: `in-memory topic ${topic} (${args.partitions} partitions)`,
      storeName,
      publish: async (records) => {
        for (const r of records) source.publish({ key: r.key, value: r.value });
      },
      close: async () => {},
    };
  }

  const integrator = createIntegrator(config, { log });
  const kafka = new KafkaJS.Kafka({
    kafkaJS: {
      clientId: 'package-status-demo-generator',
      brokers: config.kafka.brokers,
      logLevel: KafkaJS.logLevel.ERROR,
    },
    // The integrator's own SASL / TLS settings, so the demo runs against a managed cluster too.
    ...librdkafkaSecurity(config.security.kafka),
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      await admin.createTopics({ topics: [{ topic, numPartitions: args.partitions }] });
    }
  } catch (err) {
    console.error(`demo: could not make sure topic ${topic} exists (${(err as Error).message}); going on`);
  } finally {
    await admin.disconnect().catch(() => {});
  }
  // Kafka's own keyed partitioning (murmur2 of the key), exactly as the Debezium connector's producer does.
  const producer: KafkaJS.Producer = kafka.producer({ partitioner: 'murmur2_random' });
  await producer.connect();
  return {
    integrator,
    token,
    sourceName: `Kafka ${config.kafka.brokers.join(',')} topic ${topic} (group ${config.kafka.groupId})`,
    storeName,
    publish: async (records) => {
      await producer.send({ topic, messages: records.map((r) => ({ key: r.key, value: r.value })) });
    },
    close: () => producer.disconnect(),
  };
}

async function histogramOf(integrator: Integrator): Promise<Map<string, HistogramBucket[]>> {
  const out = new Map<string, HistogramBucket[]>();
  const metric = await integrator.metrics.endToEnd.get();
  for (const v of metric.values) {
    if (v.metricName !== 'integrator_end_to_end_seconds_bucket') continue;
    const labels: Partial<Record<string, string | number>> = v.labels;
    const customer = String(labels['customer']);
    const le = Number(labels['le']);
    if (!out.has(customer)) out.set(customer, []);
    out.get(customer)!.push({ le, count: v.value });
  }
  return out;
}

async function deliveriesOf(integrator: Integrator): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  const metric = await integrator.metrics.deliveries.get();
  for (const v of metric.values) {
    const customer = String(v.labels['customer']);
    const outcome = String(v.labels['outcome']);
    out.set(customer, { ...out.get(customer), [outcome]: v.value });
  }
  return out;
}

async function main(): Promise<void> {
  const parsed = parseDemoArgs(process.argv.slice(2), randomInt(0, 2 ** 31));
  if (parsed.kind === 'help') {
    console.log(USAGE);
    return;
  }
  if (parsed.kind === 'invalid') fail(`${parsed.problems.join('\n  ')}\n\n${USAGE}`, 2);
  const args = parsed.args;
  const tty = process.stdout.isTTY === true;
  const log = createLogger(env('LOG_LEVEL') ?? 'error', process.stderr);
  const runTag = Date.now().toString(36);
  const packagePrefix = `DEMO-${runTag}`;

  const mocks = await startMocks(args);
  const wiring = await wire(args, mocks, log);
  const { integrator } = wiring;
  await integrator.start();
  const metricsUrl = `${integrator.url()}/metrics`;
  const mockLatency = (id: string): number => {
    const b = mocks.behavior(id);
    return b.latencyDistribution ? b.latencyDistribution.p50Ms : b.latencyMs;
  };

  // The token rides in the URL's fragment: the browser never sends it to the server; the console keeps it
  // for the tab and removes it from the address bar.
  console.log(`console:            ${integrator.url()}/console#token=${wiring.token}`);
  console.log(`integrator metrics: ${metricsUrl}   (also /healthz, /readyz; the API with the token)`);
  console.log(`mock customers:     ${mocks.url}/stats`);
  console.log(
    `running ${args.durationS} s at ${args.rate} events/s` +
      (args.packages === null ? '' : `, at most ${args.packages} packages`) +
      ` (seed ${args.seed}, packages ${packagePrefix}-…)`,
  );

  const sent = new Map<string, number>(mocks.customers.map((c) => [c.id, 0]));
  const generation = new AbortController();
  const startedAt = Date.now();
  let generationEndedAt: number | null = null;
  const generator = runDemoGenerator({
    customers: mocks.customers.map((c) => c.id),
    rate: args.rate,
    packages: args.packages,
    seed: args.seed,
    packagePrefix,
    publish: wiring.publish,
    signal: generation.signal,
    onSent: (customer, n) => sent.set(customer, (sent.get(customer) ?? 0) + n),
  }).then(
    (r) => {
      generationEndedAt ??= Date.now();
      return r;
    },
    (err: unknown) => {
      generationEndedAt ??= Date.now();
      console.error(`demo: the generator stopped: ${(err as Error).message}`);
      return null;
    },
  );

  const observe = async (): Promise<CustomerObservation[]> => {
    const lanes = new Map(integrator.lanes.map((l) => [l.id, l.snapshot()]));
    const histograms = await histogramOf(integrator);
    const deliveries = await deliveriesOf(integrator);
    return mocks.customers.map((c): CustomerObservation => {
      const lane = lanes.get(c.id);
      const counts = deliveries.get(c.id) ?? {};
      return {
        id: c.id,
        mockLatencyMs: mockLatency(c.id),
        sent: sent.get(c.id) ?? 0,
        samples: samplesFromLedger(mocks.ledger(c.id).deliveries, `${packagePrefix}-`),
        lane: lane
          ? { inflight: lane.inflight, pending: lane.pending, parked: lane.parked, breaker: lane.breaker }
          : null,
        integrator: {
          delivered: counts['delivered'] ?? 0,
          deadLettered: counts['dead_lettered'] ?? 0,
          endToEnd: histograms.get(c.id) ?? [],
        },
      };
    });
  };

  const summarize = async (): Promise<DemoSummary> =>
    buildSummary({
      source: wiring.sourceName,
      store: wiring.storeName,
      durationS: Math.round((Date.now() - startedAt) / 1000),
      rate: args.rate,
      metricsUrl,
      generation: { startedAt, endedAt: generationEndedAt ?? Date.now() },
      observations: await observe(),
    });

  let drawnRows = 0;
  let drawing = false;
  const draw = async (): Promise<void> => {
    if (drawing) return;
    drawing = true;
    try {
      const s = await summarize();
      const frame: Frame = {
        elapsedS: (Date.now() - startedAt) / 1000,
        durationS: args.durationS,
        generating: generationEndedAt === null,
        rate: args.rate,
        source: wiring.sourceName,
        store: wiring.storeName,
        metricsUrl,
        mocksUrl: mocks.url,
        customers: s.customers,
      };
      if (tty) {
        const lines = renderFrame(frame);
        process.stdout.write(redraw(drawnRows, lines));
        drawnRows = screenRows(lines, process.stdout.columns);
      } else {
        console.log(renderPlainLine(frame));
      }
    } finally {
      drawing = false;
    }
  };

  const stopGenerating = setTimeout(() => generation.abort(), generationWindowMs(args.durationS));
  const ticker = setInterval(() => void draw(), 1000);
  let endNow: () => void = () => {};
  const ended = new Promise<void>((resolve) => (endNow = resolve));
  const endTimer = setTimeout(() => endNow(), args.durationS * 1000);
  // npm and tsx pass Ctrl-C on to the script as well, so one Ctrl-C can arrive two or three times in a row:
  // only a second one a moment later means "quit now, no summary".
  let interruptedAt: number | null = null;
  process.on('SIGINT', () => {
    if (interruptedAt !== null && Date.now() - interruptedAt > 1000) process.exit(130);
    interruptedAt ??= Date.now();
    endNow();
  });
  process.on('SIGTERM', () => endNow());

  await ended;
  clearTimeout(endTimer);
  clearTimeout(stopGenerating);
  clearInterval(ticker);
  const cutShort = generationEndedAt === null;
  generation.abort();
  await generator;
  while (drawing) await new Promise((r) => setTimeout(r, 10));
  if (cutShort) {
    // Ended before the generator's own stop (Ctrl-C): give the fast customers the drain time they would
    // have had, so the summary compares what was sent with what could be delivered.
    console.log('\nstopped generating; letting the fast customers take what was sent (up to 3 s)…');
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      const observed = await observe();
      if (observed.every((o) => roleOf(o.mockLatencyMs) === 'slow' || o.samples.length >= o.sent)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const summary = await summarize();
  if (tty) process.stdout.write('\n');
  console.log(renderSummary(summary).join('\n'));
  console.log(summaryLine(summary));

  // customer-2's requests are still open: give them a second, then cut them (they are parked, not lost).
  const forced = setTimeout(() => {
    console.error('demo: shutdown took too long; exiting');
    process.exit(0);
  }, 10_000);
  forced.unref();
  await integrator.stop().catch((err: unknown) => console.error(`demo: integrator stop: ${String(err)}`));
  await wiring.close().catch(() => {});
  await mocks.close();
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error('demo: failed:', err);
  process.exit(1);
});
