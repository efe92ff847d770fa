/**
 * Composition root: builds the integrator from a validated Config. Everything with I/O is created here and
 * handed down; tests build the same thing with a memory store or their own ports.
 */
import type { Config } from './config/config.ts';
import { createKafkaSource } from './intake/kafka-source.ts';
import type { Source } from './intake/source.ts';
import { Lane } from './lanes/lane.ts';
import { createHttpSender } from './delivery/http-sender.ts';
import type { RetryStore } from './store/port.ts';
import { MemoryRetryStore } from './store/memory.ts';
import { RedisRetryStore } from './store/redis.ts';
import { createMetrics } from './observe/metrics.ts';
import type { Metrics } from './observe/metrics.ts';
import { createLogger, safeUrl } from './observe/logger.ts';
import type { Logger } from './observe/logger.ts';
import { createHttpServer } from './observe/http.ts';
import { Pipeline } from './pipeline.ts';
import type { SettleListener } from './pipeline.ts';
import type { DeliveryObserver } from './observe/delivery-events.ts';
import { fanOut } from './observe/delivery-events.ts';
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
  onSettle?: SettleListener;
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
  /** Graceful: stop fetching, settle or park in-flight work within the deadline, commit, leave the group. */
  stop(): Promise<void>;
  commitNow(): Promise<void>;
}

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
  const store: RetryStore =
    opts.store ??
    (config.store.kind === 'redis'
      ? new RedisRetryStore(config.store.url, config.store.keyPrefix, (err) =>
          log.warn({ err: err.message }, 'redis connection problem'),
        )
      : new MemoryRetryStore());
  const source =
    opts.source ?? createKafkaSource({ ...config.kafka, log: log.child({ component: 'kafka' }) });
  // The operator surface's listeners (README "For operators"): each only enqueues on the delivery path.
  const deliveryLog =
    config.console.log.kind === 'off'
      ? null
      : new DeliveryLog(config.console.log, log.child({ component: 'delivery-log' }), metrics.registry);
  const stream = new EventStream(metrics.registry);
  const stats = new LiveStats();
  const observer = fanOut(
    [...(opts.observer ? [opts.observer] : []), ...(deliveryLog ? [deliveryLog] : []), stream, stats],
    (err) => log.error({ err }, 'a delivery event listener failed'),
  );

  const lanes = config.customers.map(
    (customer) =>
      new Lane({
        customer,
        store,
        metrics,
        log,
        observer,
        parkAfterMs: config.parkAfterMs,
        sender: createHttpSender({
          url: customer.url,
          secret: customer.secret,
          concurrency: customer.concurrency,
          timeoutMs: customer.timeoutMs,
        }),
      }),
  );
  const onSettle: SettleListener | undefined = opts.onSettle;
  const pipeline = new Pipeline(lanes, config.customers, store, metrics, log, Date.now, onSettle, observer);

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
      return { broker: 'ok', store: 'ok' };
    },
  });

  let commitTimer: NodeJS.Timeout | null = null;
  let committing: Promise<void> = Promise.resolve();
  let stopped = false;
  let address = '';

  const commitNow = (): Promise<void> => {
    committing = committing.then(async () => {
      const pending = pipeline.offsets.pendingCommits();
      for (const u of pipeline.offsets.uncommitted()) {
        metrics.uncommitted.set({ topic: u.topic, partition: String(u.partition) }, u.count);
      }
      if (pending.length === 0) return;
      try {
        await source.commit(
          pending.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset.toString() })),
        );
        for (const p of pending) pipeline.offsets.markCommitted(p.topic, p.partition, p.offset);
        metrics.commits.inc({ result: 'ok' });
      } catch (err) {
        metrics.commits.inc({ result: 'error' });
        log.warn({ err: (err as Error).message }, 'offset commit failed; will retry');
      }
    });
    return committing;
  };

  return {
    lanes,
    pipeline,
    store,
    metrics,
    deliveryLog,
    url: () => address,
    commitNow,
    async start() {
      log.info(
        {
          brokers: config.kafka.brokers,
          topics: config.kafka.topics,
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
      deliveryLog?.start();
      address = await http.listen({ port: config.http.port, host: config.http.host });
      commitTimer = setInterval(() => void commitNow(), config.commitIntervalMs);
      await source.start({
        onBatch: (records, ctx) => pipeline.handleBatch(records, ctx),
        onAssignment: (assigned) => pipeline.onAssignment(assigned),
        onFatal: (err) => {
          log.fatal({ err }, 'the Kafka consumer stopped for good');
          opts.onFatal?.(err);
        },
        onRebalancing: () => {
          // Commit what is settled while the generation is still ours (a real broker accepts commits while
          // the group prepares to rebalance): less for the next owner to read again.
          if (pipeline.onRebalancing(Math.max(30_000, config.kafka.sessionTimeoutMs * 2))) void commitNow();
        },
      });
      log.info({ http: address, console: `${address}/console` }, 'integrator started');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      log.info('integrator stopping: no new fetches; settling in-flight work');
      const deadline = Date.now() + config.shutdownDeadlineMs;
      source.pause();
      await Promise.all(lanes.map((l) => l.stop(deadline)));
      if (commitTimer) clearInterval(commitTimer);
      await commitNow();
      await source.stop().catch((err: unknown) => log.warn({ err }, 'kafka disconnect failed'));
      stream.close();
      await http.close();
      await deliveryLog?.close();
      await store.close();
      log.info('integrator stopped');
    },
  };
}
