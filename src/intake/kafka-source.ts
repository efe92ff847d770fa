/**
 * The Kafka adapter of the Source port (`source.ts`), on Confluent's client (`@confluentinc/kafka-javascript`:
 * librdkafka underneath, its KafkaJS-compatible API on top; why this client: docs/KAFKA-CLIENTS.md).
 *
 * What it adds to the client, and why:
 * - Nothing is committed but what `commit` is told: auto-commit is off, and resolving an offset only moves
 *   the fetch position (librdkafka's offset store is never committed on its own).
 * - Partitions are handed over through librdkafka's rebalance callback, which the client awaits: the
 *   pipeline hears `onRevoking` before partitions are given up and `onAssignment` (the full assignment)
 *   before any record of a new one is fetched. The group generation is not exposed by this client, so
 *   `onAssignment` gets no `generation`.
 * - A batch is current while its partition is still ours and was not rewound since the batch began: each
 *   owned partition carries an epoch, bumped on revoke and on rewind, that `isRunning()` compares.
 *
 * Partition state, per topic-partition (one epoch number, absent = not owned):
 *
 *   not owned ──assign──▶ owned(e) ──rewind──▶ owned(e+1)
 *        ▲                   │
 *        └──────revoke───────┘   (batches begun under an older epoch report isRunning() = false)
 */
import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Logger } from '../report/logger.ts';
import { RebalanceRefusal } from './source.ts';
import type { Source, SourceHandlers, SourceRecord, TopicPartition } from './source.ts';
import type { KafkaSecurity } from '../config/security.ts';

export type { Source, SourceRecord, BatchContext, SourceHandlers } from './source.ts';

export interface KafkaSourceOptions {
  brokers: string[];
  topics: string[];
  groupId: string;
  clientId: string;
  sessionTimeoutMs: number;
  maxWaitMs: number;
  log: Logger;
  /** SASL / TLS (README "Configuration"); absent = plaintext. */
  security?: KafkaSecurity;
  partitionsConsumedConcurrently?: number;
}

/** librdkafka's rebalance callback codes (`RdKafka.CODES.ERRORS`). */
const ASSIGN_PARTITIONS = -175;
const REVOKE_PARTITIONS = -174;
/** Broker answers to a commit that say the group is rebalancing. */
const REBALANCE_IN_PROGRESS = 27;
const ILLEGAL_GENERATION = 22;

type Headers = Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined;

function headersOf(h: Headers): SourceRecord['headers'] {
  if (!h) return undefined;
  const out: NonNullable<SourceRecord['headers']> = {};
  for (const [k, v] of Object.entries(h)) out[k] = Array.isArray(v) ? v[0] : v;
  return out;
}

/**
 * librdkafka's properties for SASL / TLS. Certificates are always verified, host names included
 * (librdkafka's defaults, restated so that no other default can creep in). Without a CA file, the system's
 * trusted roots (`probe`).
 */
export function librdkafkaSecurity(sec: KafkaSecurity): Record<string, string | boolean> {
  const props: Record<string, string | boolean> = {};
  if (sec.tls === null && sec.sasl === null) return props;
  props['security.protocol'] = sec.sasl ? (sec.tls ? 'sasl_ssl' : 'sasl_plaintext') : 'ssl';
  if (sec.sasl) {
    props['sasl.mechanisms'] = sec.sasl.mechanism;
    props['sasl.username'] = sec.sasl.username;
    props['sasl.password'] = sec.sasl.password.reveal();
  }
  if (sec.tls) {
    props['enable.ssl.certificate.verification'] = true;
    props['ssl.endpoint.identification.algorithm'] = 'https';
    props['ssl.ca.location'] = sec.tls.caFile ?? 'probe';
    if (sec.tls.certFile) props['ssl.certificate.location'] = sec.tls.certFile;
    if (sec.tls.keyFile) props['ssl.key.location'] = sec.tls.keyFile;
    if (sec.tls.keyPassword) props['ssl.key.password'] = sec.tls.keyPassword.reveal();
  }
  return props;
}

const key = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

/** The client's logger interface onto pino; librdkafka's own log lines come through here too. */
function clientLogger(log: Logger): KafkaJS.Logger {
  const logger: KafkaJS.Logger = {
    error: (message, extra) => log.error({ kafka: extra }, `kafka: ${message}`),
    warn: (message, extra) => log.warn({ kafka: extra }, `kafka: ${message}`),
    info: (message, extra) => log.debug({ kafka: extra }, `kafka: ${message}`),
    debug: (message, extra) => log.trace({ kafka: extra }, `kafka: ${message}`),
    namespace: () => logger,
    setLogLevel: () => {},
  };
  return logger;
}

/** The parts of librdkafka's rebalance callback this adapter uses. */
interface RebalanceFns {
  assignmentLost(): boolean;
}

/** The underlying node-rdkafka client: its error events and librdkafka's commit results. */
interface InternalClient {
  on(event: 'event.error', listener: (err: Error & { isFatal?: boolean }) => void): void;
  on(event: 'offset.commit', listener: (err: (Error & { code?: number }) | null) => void): void;
}

/** How long a commit may wait for the broker's answer before it counts as failed (the pipeline retries). */
const COMMIT_ACK_TIMEOUT_MS = 15_000;

/**
 * The client's `commitOffsets` resolves once librdkafka has queued the commit, not when the broker took it;
 * the broker's answer comes later through librdkafka's offset-commit callback, in the order the commits
 * were sent. A commit here resolves on that answer and fails on its error (a request error or, when some
 * partitions failed, the last partition error), so the pipeline never marks as committed what the broker
 * refused.
 */
class CommitAcks {
  private readonly waiting: { settle: (err: Error | null) => void }[] = [];

  /** Call before queueing a commit; the promise settles with the broker's answer to it. */
  expect(): { answer: Promise<void>; cancel: () => void } {
    let timer: NodeJS.Timeout | undefined;
    let entry!: { settle: (err: Error | null) => void };
    const answer = new Promise<void>((resolve, reject) => {
      entry = {
        settle: (err) => {
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        },
      };
      timer = setTimeout(() => {
        this.remove(entry);
        reject(new Error(`the broker did not answer the offset commit within ${COMMIT_ACK_TIMEOUT_MS} ms`));
      }, COMMIT_ACK_TIMEOUT_MS);
    });
    this.waiting.push(entry);
    return { answer, cancel: () => (this.remove(entry), clearTimeout(timer)) };
  }

  /** librdkafka's offset-commit callback: answers the oldest commit still waiting. */
  answered(err: Error | null): void {
    this.waiting.shift()?.settle(err);
  }

  private remove(entry: { settle: (err: Error | null) => void }): void {
    const i = this.waiting.indexOf(entry);
    if (i >= 0) this.waiting.splice(i, 1);
  }
}

export function createKafkaSource(opts: KafkaSourceOptions): Source {
  const log = opts.log;
  const kafka = new KafkaJS.Kafka({
    kafkaJS: {
      clientId: opts.clientId,
      brokers: opts.brokers,
      // The client's info lines (connections, rebalances) at our debug level, its debug lines at trace.
      logLevel: log.isLevelEnabled('trace')
        ? KafkaJS.logLevel.DEBUG
        : log.isLevelEnabled('debug')
          ? KafkaJS.logLevel.INFO
          : KafkaJS.logLevel.WARN,
      logger: clientLogger(log),
    },
    ...(opts.security ? librdkafkaSecurity(opts.security) : {}),
  });

  const owned = new Map<string, { tp: TopicPartition; epoch: number }>();
  let nextEpoch = 1;
  let handlers: SourceHandlers | undefined;
  let paused = false;
  let stopping = false;
  let connected = false;
  let admin: KafkaJS.Admin | undefined;
  const acks = new CommitAcks();
  // start() resolves once the group has handed us our first assignment (a consumer that has not joined
  // consumes nothing), or rejects if the consumer fails for good first.
  let joined!: { resolve: () => void; reject: (err: Error) => void };
  const firstAssignment = new Promise<void>((resolve, reject) => (joined = { resolve, reject }));
  firstAssignment.catch(() => {});

  const assignment = (): TopicPartition[] => [...owned.values()].map((o) => o.tp);

  const rebalance = async (
    err: { code: number },
    tps: TopicPartition[],
    fns: RebalanceFns,
  ): Promise<void> => {
    const h = handlers;
    if (!h) return;
    const list = tps.map(({ topic, partition }) => ({ topic, partition }));
    if (err.code === ASSIGN_PARTITIONS) {
      // Eager protocols hand over the whole assignment, cooperative ones only what is added.
      if ((consumer as unknown as { rebalanceProtocol(): string }).rebalanceProtocol() === 'EAGER')
        owned.clear();
      for (const tp of list) owned.set(key(tp), { tp, epoch: nextEpoch++ });
      // Awaited before the client assigns: no record of a new partition is fetched before this resolves.
      await h
        .onAssignment(assignment())
        .catch((e: unknown) => log.error({ err: e }, 'assignment handling failed'));
      joined.resolve();
    } else if (err.code === REVOKE_PARTITIONS) {
      for (const tp of list) owned.delete(key(tp));
      if (stopping) return; // stop(): everything was settled or parked before the consumer closes
      h.onRebalancing?.();
      if (fns.assignmentLost()) log.warn({ lost: list }, 'partitions lost (session timed out or fenced)');
      await h.onRevoking?.(list).catch((e: unknown) => log.error({ err: e }, 'revocation handling failed'));
    }
  };

  const consumer = kafka.consumer({
    kafkaJS: {
      groupId: opts.groupId,
      fromBeginning: true,
      autoCommit: false,
      sessionTimeout: opts.sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.min(3000, Math.floor(opts.sessionTimeoutMs / 3))),
      // librdkafka's max.poll.interval.ms: how long a partition's batch may block before the member is
      // considered gone (the pipeline blocks in back-pressure and during store outages).
      rebalanceTimeout: Math.max(opts.sessionTimeoutMs, 60_000),
      maxWaitTimeInMs: opts.maxWaitMs,
      minBytes: 1,
      maxBytes: 8 * 1024 * 1024,
      partitionAssigners: [KafkaJS.PartitionAssigners.cooperativeSticky],
    },
    'js.consumer.max.batch.size': 500,
    // The client keeps 1.5 s of consumption per worker as JS objects by default: thousands of messages
    // that outlive the young generation and are collected the expensive way. 250 ms still covers a fetch.
    'js.consumer.max.cache.size.per.worker.ms': 250,
    // librdkafka prefetches up to 64 MB by default; the pipeline's back-pressure keeps a backlog in Kafka,
    // so a smaller read-ahead (still two 8 MB fetches) costs no throughput and saves resident memory.
    'queued.max.messages.kbytes': 16_384,
    rebalance_cb: (err: { code: number }, tps: TopicPartition[], fns: RebalanceFns) =>
      rebalance(err, tps, fns),
  });

  return {
    async start(h) {
      handlers = h;
      await consumer.connect();
      connected = true;
      const internal = (consumer as unknown as { _getInternalClient(): InternalClient })._getInternalClient();
      internal.on('offset.commit', (err) => acks.answered(err));
      internal.on('event.error', (err) => {
        if (err.isFatal === true && !stopping) {
          log.error({ err }, 'kafka consumer failed for good');
          joined.reject(err);
          h.onFatal?.(err);
        }
      });
      await consumer.subscribe({ topics: opts.topics });
      await consumer.run({
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 4,
        eachBatch: async ({ batch, resolveOffset }) => {
          const { topic, partition } = batch;
          const tp = key(batch); // isRunning() is asked several times per record
          const epoch = owned.get(tp)?.epoch;
          if (paused || stopping || epoch === undefined) return; // not ours, or no longer fetching
          const records: SourceRecord[] = batch.messages.map((m) => ({
            topic,
            partition,
            offset: m.offset,
            key: m.key ?? null,
            value: m.value,
            headers: headersOf(m.headers as Headers),
            timestamp: m.timestamp === '' ? undefined : m.timestamp,
          }));
          await h.onBatch(records, {
            topic,
            partition,
            // librdkafka heartbeats from its own thread; nothing to do here.
            heartbeat: async () => {},
            isRunning: () => !stopping && owned.get(tp)?.epoch === epoch,
            resolveOffset,
          });
        },
      });
      await firstAssignment;
    },
    async commit(offsets) {
      if (offsets.length === 0) return;
      // Only partitions we own can be committed (the broker refuses the others). Refusing here also keeps
      // librdkafka's rejoin moving: after a lost assignment it waits until no commit is in flight, and a
      // commit sent for a partition we lost would only wait for a coordinator that no longer knows us.
      const notOwned = offsets.filter((o) => !owned.has(key(o)));
      if (notOwned.length > 0) {
        throw new Error(
          `not committed: ${notOwned.map((o) => `${o.topic}[${o.partition}]`).join(', ')} not assigned to this member`,
        );
      }
      const ack = acks.expect();
      try {
        await consumer.commitOffsets(
          offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
        );
      } catch (err) {
        ack.cancel(); // not queued: no answer will come for it
        throw err;
      }
      try {
        await ack.answer;
      } catch (err) {
        // The broker may say a rebalance is under way before the revoke callback does; the committer
        // tells the pipeline, which knows whether an assignment has ended that rebalance since.
        const code = (err as { code?: unknown }).code;
        if (code === REBALANCE_IN_PROGRESS || code === ILLEGAL_GENERATION)
          throw new RebalanceRefusal((err as Error).message, { cause: err });
        throw err;
      }
    },
    async rewind(tp) {
      const [committed] = await consumer.committed([{ topic: tp.topic, partition: tp.partition }], 10_000);
      const at = committed?.offset;
      // No committed offset yet: from the beginning, as the subscription does (auto.offset.reset=earliest).
      const offset = at === undefined || Number(at) < 0 ? '-2' : at;
      const entry = owned.get(key(tp));
      if (entry) entry.epoch = nextEpoch++;
      consumer.seek({ topic: tp.topic, partition: tp.partition, offset });
    },
    async ping(timeoutMs) {
      if (!connected) throw new Error('the Kafka consumer is not connected');
      if (!admin) {
        admin = consumer.dependentAdmin();
        await admin.connect();
      }
      await admin.listTopics({ timeout: timeoutMs });
    },
    pause() {
      paused = true;
      const tps = assignment();
      if (connected && tps.length > 0) {
        consumer.pause(tps.map(({ topic, partition }) => ({ topic, partitions: [partition] })));
      }
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      joined.resolve(); // a start() still waiting for the group gives up waiting
      if (admin) await admin.disconnect().catch(() => {});
      if (connected) await consumer.disconnect();
      connected = false;
    },
  };
}
