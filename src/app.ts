/**
 * Composition root: builds the integrator from a validated Config. Everything with I/O is created here and
 * handed down; tests build the same thing with a memory store or their own ports.
 */
import type { Config } from './config/config.ts';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import { createKafkaSource } from './intake/kafka-source.ts';
import type { Source } from './intake/source.ts';
import type { Lane } from './lanes/lane.ts';
import { createHttpSender } from './delivery/http-sender.ts';
import type { RetryStore } from './store/port.ts';
import { MemoryRetryStore } from './store/memory.ts';
import { RedisRetryStore } from './store/redis.ts';
import { redisConnectionOptions } from './store/redis-connection.ts';
import { checkDurability } from './store/durability.ts';
import { createMetrics } from './observe/metrics.ts';
import type { Metrics } from './observe/metrics.ts';
import { createLogger, safeUrl } from './report/logger.ts';
import type { Logger } from './report/logger.ts';
import { NotReadyError, createHttpServer } from './observe/http.ts';
import type { Pipeline } from './pipeline.ts';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createCore } from './core.ts';
import { ProcessLoad } from './lanes/process-load.ts';
import type { DeliveryObserver } from './report/delivery-events.ts';
import { fanOut } from './report/delivery-events.ts';
import { DeliveryLog } from './log/delivery-log.ts';
import { EventStream } from './observe/stream.ts';
import { Access } from './observe/auth.ts';
import { LiveStats } from './console/live-stats.ts';

export interface IntegratorOptions {
  /** Called when the integrator cannot go on (the Kafka consumer gave up): stop and exit non-zero. */
  onFatal?: (err: Error) => void;
  log?: Logger;
  store?: RetryStore;
  source?: Source;
  metrics?: Metrics;
  clock?: Clock;
  /** Told about every change and every step of every delivery. */
  observer?: DeliveryObserver;
}

export interface Integrator {
  readonly lanes: Lane[];
  readonly pipeline: Pipeline;
  readonly store: RetryStore;
  readonly metrics: Metrics;
  /** The delivery log (null with DELIVERY_LOG=off). */
  readonly deliveryLog: DeliveryLog | null;
  /** Address of the HTTP server once started. */
  url(): string;
  start(): Promise<void>;
  /** Graceful: stop fetching, let in-flight work finish within the deadline, commit, leave the group. */
  stop(): Promise<void>;
  commitNow(): Promise<void>;
}

/** The store refuses a setting that can lose parked work: not a transient problem, a configuration one. */
export class UnsafeStoreError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]);
}

export function createIntegrator(config: Config, opts: IntegratorOptions = {}): Integrator {
  const log = opts.log ?? createLogger(config.logLevel);
  const metrics = opts.metrics ?? createMetrics();
  const clock = opts.clock ?? systemClock;
  const onTrimmed = (what: 'dead_letter' | 'poison', n: number) => metrics.trimmed.inc({ what }, n);
  const store: RetryStore =
    opts.store ??
    (config.store.kind === 'redis'
      ? new RedisRetryStore(config.store.url, {
          connection: redisConnectionOptions(config.store.url, config.security.redis),
          prefix: config.store.keyPrefix,
          limits: config.limits,
          onTrimmed,
          onError: (err) => log.warn({ err: err.message }, 'redis connection problem'),
        })
      : new MemoryRetryStore(config.limits, onTrimmed));
  const source =
    opts.source ??
    createKafkaSource({
      ...config.kafka,
      security: config.security.kafka,
      log: log.child({ component: 'kafka' }),
    });
  // The operator surface's listeners (README "For operators"): each only enqueues on the delivery path.
  const deliveryLog =
    config.console.log.kind === 'off'
      ? null
      : new DeliveryLog(config.console.log, log.child({ component: 'delivery-log' }), metrics.registry);
  const stream = new EventStream(metrics.registry);
  const stats = new LiveStats();
  const observers: DeliveryObserver[] = [
    ...(opts.observer ? [opts.observer] : []),
    ...(deliveryLog ? [deliveryLog] : []),
    stream,
    stats,
    {
      change() {},
      delivery(e) {
        if (e.kind === 'parked') metrics.parked.inc({ customer: e.customer, reason: e.why });
      },
    },
  ];
  const observer = fanOut(observers, (err) => log.error({ err }, 'a delivery event listener failed'));

  const processLoad = new ProcessLoad();
  const core = createCore({
    processBusy: () => processLoad.busy,
    config,
    source,
    store,
    clock,
    log,
    metrics,
    observer,
    onFatal: opts.onFatal,
    sender: (customer) =>
      createHttpSender({
        url: customer.url,
        secret: customer.secret,
        concurrency: customer.concurrency,
        timeoutMs: customer.timeoutMs,
      }),
  });
  const { lanes, pipeline, committer } = core;

  const http = createHttpServer({
    lanes,
    store,
    metrics,
    access: new Access(config.adminToken, config.console.readToken),
    log: deliveryLog,
    stream,
    stats,
    checkReady: async () => {
      await withTimeout(store.ping(), 1000, 'the retry store');
      await source.ping(2000);
      // A lane whose lease on its customer's shared limits ran out sends nothing (its work is kept).
      const lost = lanes.filter((l) => l.snapshot().shared.lease === 'lost').map((l) => l.id);
      if (lost.length > 0)
        throw new NotReadyError(
          `lease on the shared limits lost (the store does not answer limits syncs): ${lost.join(', ')}`,
          { leaseLost: lost },
        );
      return { broker: 'ok', store: 'ok' };
    },
  });

  let stopped = false;
  let address = '';
  let stopSampling = () => {};

  return {
    lanes,
    pipeline,
    store,
    metrics,
    deliveryLog,
    url: () => address,
    commitNow: () => committer.commitNow(),
    async start() {
      log.info(
        {
          brokers: config.kafka.brokers,
          topics: config.kafka.topics,
          outboxTopics: config.outboxTopics,
          groupId: config.kafka.groupId,
          store: config.store.kind,
          deliveryLog: config.console.log.kind,
          customers: config.customers.map((c) => ({
            id: c.id,
            url: safeUrl(c.url),
            concurrency: c.concurrency,
          })),
        },
        'integrator starting',
      );
      if (config.store.kind === 'redis') {
        const verdict = checkDurability(await withTimeout(store.durability(), 10_000, 'the retry store'));
        for (const w of verdict.warnings) log.warn({ event: 'store_durability' }, w);
        if (verdict.refuse) throw new UnsafeStoreError(verdict.refuse);
      }
      deliveryLog?.start();
      stopSampling = sampleEventLoop(processLoad, (u, changed) => {
        metrics.eventLoopUtilization.set(u);
        if (changed)
          log.info(
            { event: 'process_load', mode: processLoad.mode, utilization: Number(u.toFixed(2)) },
            processLoad.busy
              ? 'the integrator is short of CPU: lanes keep a healthy backlog in Kafka'
              : 'the integrator has CPU to spare again',
          );
      });
      address = await http.listen({ port: config.http.port, host: config.http.host });
      await core.start();
      log.info({ http: address, console: `${address}/console` }, 'integrator started');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      log.info('integrator stopping: no new fetches; settling in-flight work');
      await core.stop().catch((err: unknown) => log.warn({ err }, 'stopping the consumer failed'));
      stopSampling();
      stream.close();
      await http.close();
      await deliveryLog?.close();
      await store.close();
      log.info('integrator stopped');
    },
  };
}

/** Feeds the event loop's utilization and delay, once a second, to the lanes' judgment of the process's load. */
function sampleEventLoop(
  load: ProcessLoad,
  report: (utilization: number, changed: boolean) => void,
): () => void {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let last = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const u = Math.min(1, Math.max(0, performance.eventLoopUtilization(now, last).utilization));
    last = now;
    // The histogram counts the sampling timer's own resolution: what is beyond it is lateness.
    const lateMs = Math.max(0, delay.percentile(50) / 1e6 - 10);
    delay.reset();
    const before = load.mode;
    load.sample(u, lateMs);
    report(u, load.mode !== before);
  }, 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    delay.disable();
  };
}
