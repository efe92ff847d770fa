/**
 * The delivery core, assembled: lanes (one per customer), the pipeline, the commit loop, wired to a
 * source, a store, senders and a clock. `app.ts` adds the HTTP surface and the production adapters; the
 * simulation test (test/sim/) runs this same assembly on virtual time with simulated ports.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from './clock.ts';
import type { Config } from './config/config.ts';
import type { CustomerConfig } from './config/customers.ts';
import type { Sender } from './delivery/http-sender.ts';
import type { Source } from './intake/source.ts';
import { Lane } from './lanes/lane.ts';
import { Pipeline } from './pipeline.ts';
import { Committer } from './commit/committer.ts';
import type { RetryStore } from './store/port.ts';
import type { Metrics } from './observe/metrics.ts';
import type { Logger } from './report/logger.ts';
import type { DeliveryObserver } from './report/delivery-events.ts';

export interface CoreDeps {
  config: Pick<
    Config,
    'customers' | 'parkAfterMs' | 'commitIntervalMs' | 'shutdownDeadlineMs' | 'outboxTopics'
  > & {
    kafka: Pick<Config['kafka'], 'sessionTimeoutMs'>;
  };
  source: Source;
  store: RetryStore;
  sender: (customer: CustomerConfig) => Sender;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  observer: DeliveryObserver;
  random?: () => number;
  /** This process among the group's integrators (default: host, pid and a random part). */
  holder?: string;
  /** The lease on each customer's shared limits (default `LEASE_MS` of lanes/limits.ts). */
  leaseMs?: number;
  /** See `TOKEN_FRESH_MS` of lanes/limits.ts. */
  tokenFreshMs?: number;
  onFatal?: (err: Error) => void;
  /** Is the process's event loop saturated (`lanes/process-load.ts`)? Default: never. */
  processBusy?: () => boolean;
}

export interface Core {
  readonly lanes: Lane[];
  readonly pipeline: Pipeline;
  readonly committer: Committer;
  /** Subscribe and start consuming. */
  start(): Promise<void>;
  /** Graceful: stop fetching, let in-flight work finish within the deadline, commit, leave the group. */
  stop(): Promise<void>;
}

export function createCore(deps: CoreDeps): Core {
  const { config, source, store, clock, log, metrics, observer } = deps;
  let pipeline: Pipeline | null = null;
  const holder = deps.holder ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  const lanes = config.customers.map(
    (customer) =>
      new Lane({
        customer,
        store,
        metrics,
        log,
        observer,
        clock,
        random: deps.random,
        parkAfterMs: config.parkAfterMs,
        processBusy: deps.processBusy,
        holder,
        leaseMs: deps.leaseMs,
        tokenFreshMs: deps.tokenFreshMs,
        onFenced: (shard, generation) => pipeline?.onFenced(shard, generation),
        sender: deps.sender(customer),
      }),
  );
  const p = new Pipeline({
    lanes,
    customers: config.customers,
    store,
    metrics,
    log,
    clock,
    observer,
    outboxTopics: config.outboxTopics,
    rewind: (tp) => source.rewind(tp),
    fenceRetryMs: config.kafka.sessionTimeoutMs,
  });
  pipeline = p;
  const committer = new Committer({
    offsets: p.offsets,
    source,
    metrics,
    log,
    clock,
    intervalMs: config.commitIntervalMs,
    assignmentsSeen: () => p.assignmentsSeen,
    onRebalanceRefusal: (asOf) => rebalancing(asOf),
  });
  const sessionMs = config.kafka.sessionTimeoutMs;
  const rebalancing = (asOf?: number): void => {
    // Commit what is settled while the generation is still ours (a real broker accepts commits while the
    // group prepares to rebalance): less for the next owner to read again.
    if (p.onRebalancing(Math.max(30_000, sessionMs * 2), asOf)) void committer.commitNow();
  };

  return {
    lanes,
    pipeline: p,
    committer,
    async start() {
      committer.start();
      await source.start({
        onBatch: (records, ctx) => p.handleBatch(records, ctx),
        onAssignment: (assigned, info) => p.onAssignment(assigned, info?.generation ?? null),
        onRevoking: (revoked) => p.onRevoking(revoked, Math.min(5000, sessionMs / 3)),
        onFatal: (err) => {
          log.fatal({ err }, 'the Kafka consumer stopped for good');
          deps.onFatal?.(err);
        },
        onRebalancing: () => rebalancing(),
      });
    },
    async stop() {
      const deadline = clock.now() + config.shutdownDeadlineMs;
      source.pause();
      await Promise.all(lanes.map((l) => l.stop(deadline)));
      committer.stop();
      await committer.commitNow();
      await source.stop();
    },
  };
}
