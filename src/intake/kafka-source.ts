/**
 * The Kafka adapter, kept thin on purpose (KafkaJS is unmaintained since 2023; swapping it means rewriting
 * this file only). It hands batches to the pipeline, reports partition assignments, commits what it is
 * told to, and never commits on its own (`autoCommit: false`): the commit point is the pipeline's call.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { Consumer, Admin, IHeaders, LogEntry } from 'kafkajs';
import type { Logger } from '../observe/logger.ts';
import type { Source, SourceRecord } from './source.ts';

export type { Source, SourceRecord, BatchContext, SourceHandlers } from './source.ts';

export interface KafkaSourceOptions {
  brokers: string[];
  topics: string[];
  groupId: string;
  clientId: string;
  sessionTimeoutMs: number;
  maxWaitMs: number;
  log: Logger;
  partitionsConsumedConcurrently?: number;
}

function headersOf(h: IHeaders | undefined): SourceRecord['headers'] {
  if (!h) return undefined;
  const out: NonNullable<SourceRecord['headers']> = {};
  for (const [k, v] of Object.entries(h)) out[k] = Array.isArray(v) ? v[0] : v;
  return out;
}

function kafkaLogger(log: Logger) {
  return () =>
    ({ level, log: entry }: LogEntry) => {
      const { message, ...rest } = entry;
      const payload = { kafka: rest };
      if (level <= logLevel.ERROR) log.error(payload, `kafka: ${message}`);
      else if (level === logLevel.WARN) log.warn(payload, `kafka: ${message}`);
      else log.debug(payload, `kafka: ${message}`);
    };
}

export function createKafkaSource(opts: KafkaSourceOptions): Source {
  const kafka = new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogger(opts.log),
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5000 },
  });
  const heartbeatInterval = Math.max(100, Math.min(3000, Math.floor(opts.sessionTimeoutMs / 3)));
  const consumer: Consumer = kafka.consumer({
    groupId: opts.groupId,
    sessionTimeout: opts.sessionTimeoutMs,
    rebalanceTimeout: Math.max(opts.sessionTimeoutMs, 60_000),
    heartbeatInterval,
    maxWaitTimeInMs: opts.maxWaitMs,
    minBytes: 1,
    maxBytes: 8 * 1024 * 1024,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5000 },
  });
  let admin: Admin | null = null;
  let rebalancing: (() => void) | undefined;

  return {
    async start(handlers) {
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        const assigned = Object.entries(e.payload.memberAssignment).flatMap(([topic, partitions]) =>
          (partitions as number[]).map((partition) => ({ topic, partition })),
        );
        handlers
          .onAssignment(assigned)
          .catch((err: unknown) => opts.log.error({ err }, 'assignment handling failed'));
      });
      rebalancing = handlers.onRebalancing?.bind(handlers);
      consumer.on(consumer.events.REBALANCING, () => handlers.onRebalancing?.());
      consumer.on(consumer.events.CRASH, (e) => {
        opts.log.error({ err: e.payload.error, restart: e.payload.restart }, 'kafka consumer crashed');
        if (!e.payload.restart) handlers.onFatal?.(e.payload.error);
      });
      await consumer.connect();
      for (const topic of opts.topics) await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 4,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          const records: SourceRecord[] = batch.messages.map((m) => ({
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            key: m.key,
            value: m.value,
            headers: headersOf(m.headers),
            timestamp: m.timestamp,
          }));
          await handlers.onBatch(records, {
            topic: batch.topic,
            partition: batch.partition,
            heartbeat,
            isRunning: () => isRunning() && !isStale(),
            resolveOffset,
          });
        },
      });
    },
    async commit(offsets) {
      if (offsets.length === 0) return;
      try {
        await consumer.commitOffsets(offsets);
      } catch (err) {
        // The broker says a rebalance is under way before KafkaJS's next heartbeat does: tell the pipeline
        // now, so that less work is sent that the next owner of a partition would send again.
        const type = (err as { type?: unknown }).type;
        if (type === 'REBALANCE_IN_PROGRESS' || type === 'ILLEGAL_GENERATION') rebalancing?.();
        throw err;
      }
    },
    async rewind({ topic, partition }) {
      admin ??= kafka.admin({ retry: { retries: 0 } });
      await admin.connect();
      const [committed] = await admin.fetchOffsets({ groupId: opts.groupId, topics: [topic] });
      const at = committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
      // No committed offset yet: from the beginning, as the subscription does (fromBeginning).
      consumer.seek({ topic, partition, offset: at === '-1' ? '0' : at });
    },
    async ping(timeoutMs) {
      admin ??= kafka.admin({ retry: { retries: 0 } });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('broker did not answer in time')), timeoutMs);
      });
      try {
        await Promise.race([
          (async () => {
            await admin!.connect();
            await admin!.describeCluster();
          })(),
          timeout,
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    pause() {
      consumer.pause(opts.topics.map((topic) => ({ topic })));
    },
    async stop() {
      await consumer.stop();
      await consumer.disconnect();
      if (admin) await admin.disconnect().catch(() => {});
    },
  };
}
