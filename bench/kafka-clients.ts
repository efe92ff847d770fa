/**
 * Consume throughput of the Kafka clients on the test broker (docs/KAFKA-CLIENTS.md, "Method").
 *
 *   npx tsx bench/kafka-clients.ts [--records 30000] [--runs 3]
 *
 * One test broker, one topic of 6 partitions filled with Debezium-sized records (≈600 bytes, 997 keys);
 * 30,000 by default (the unpatched mock broker dropped the oldest records of a partition past 5 MB; ours
 * keeps 64 MB: test/harness/librdkafka-mock.patch).
 * Each run: a fresh consumer group reads every record from the beginning, handing batches to a handler that
 * only resolves offsets (no auto-commit), as the integrator's source does; 4 partitions consumed
 * concurrently. Reported per client: records/s from the first record to the last (the group join is
 * reported apart: the broker's 3 s initial rebalance delay dominates it), and process CPU per 1,000
 * records. @platformatic/kafka is measured only when installed (`npm i --no-save @platformatic/kafka`).
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { Kafka as KafkaJs, logLevel } from 'kafkajs';
import { startKafkaMock, uniqueName } from '../test/harness/kafka.ts';

const { values } = parseArgs({
  options: { records: { type: 'string', default: '30000' }, runs: { type: 'string', default: '3' } },
});
const N = Number(values.records);
const RUNS = Number(values.runs);

interface Run {
  joinMs: number;
  recPerSec: number;
  cpuMsPer1000: number;
}

type Consume = (
  brokers: string[],
  topic: string,
  onRecords: (n: number) => void,
) => Promise<() => Promise<void>>;

const clients: Record<string, Consume> = {
  '@confluentinc/kafka-javascript': async (brokers, topic, onRecords) => {
    const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers, logLevel: KafkaJS.logLevel.NOTHING } });
    const c = kafka.consumer({
      kafkaJS: { groupId: uniqueName('bench'), fromBeginning: true, autoCommit: false, maxWaitTimeInMs: 20 },
      'js.consumer.max.batch.size': 500,
    });
    await c.connect();
    await c.subscribe({ topics: [topic] });
    await c.run({
      partitionsConsumedConcurrently: 4,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        for (const m of batch.messages) resolveOffset(m.offset);
        onRecords(batch.messages.length);
      },
    });
    return () => c.disconnect();
  },
  kafkajs: async (brokers, topic, onRecords) => {
    const kafka = new KafkaJs({ brokers, logLevel: logLevel.NOTHING });
    const c = kafka.consumer({ groupId: uniqueName('bench'), maxWaitTimeInMs: 20 });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 4,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        for (const m of batch.messages) resolveOffset(m.offset);
        onRecords(batch.messages.length);
      },
    });
    return () => c.disconnect();
  },
  '@platformatic/kafka': async (brokers, topic, onRecords) => {
    const require = createRequire(import.meta.url);
    const mod = (await import(require.resolve('@platformatic/kafka'))) as {
      Consumer: new (opts: Record<string, unknown>) => {
        consume(opts: Record<string, unknown>): Promise<NodeJS.EventEmitter & { close(): Promise<void> }>;
        close(): Promise<void>;
      };
    };
    const c = new mod.Consumer({
      groupId: uniqueName('bench'),
      clientId: 'bench',
      bootstrapBrokers: brokers,
      maxWaitTime: 20,
      autocommit: false,
    });
    const stream = await c.consume({ topics: [topic], mode: 'earliest', autocommit: false });
    stream.on('data', () => onRecords(1));
    return async () => {
      await stream.close();
      await c.close();
    };
  },
};

function installed(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

async function fill(brokers: string[], topic: string): Promise<void> {
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers, logLevel: KafkaJS.logLevel.NOTHING } });
  const p = kafka.producer({ 'linger.ms': 5 });
  await p.connect();
  const value = JSON.stringify({
    payload: {
      op: 'c',
      after: { id: 1, package_id: 'PKG-000001', customer_id: 'customer-1', status: 'In Transit' },
      address: 'x'.repeat(400),
      source: { lsn: 24023128, ts_ms: Date.now() },
    },
  });
  for (let i = 0; i < N; i += 1000) {
    const messages = [];
    for (let j = i; j < Math.min(N, i + 1000); j++) messages.push({ key: `PKG-${j % 997}`, value });
    await p.send({ topic, messages });
  }
  await p.disconnect();
}

async function once(consume: Consume, brokers: string[], topic: string): Promise<Run> {
  let count = 0;
  let firstAt = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let cpuAtFirst = cpu0;
  const stop = await consume(brokers, topic, (n) => {
    if (count === 0) {
      firstAt = performance.now();
      cpuAtFirst = process.cpuUsage();
    }
    count += n;
    if (count >= N) resolveDone();
  });
  await done;
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpuAtFirst);
  await stop();
  return {
    joinMs: firstAt - t0,
    recPerSec: count / ((t1 - firstAt) / 1000),
    cpuMsPer1000: ((cpu.user + cpu.system) / 1000 / count) * 1000,
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const mock = await startKafkaMock({ brokers: 1 });
try {
  const topic = uniqueName('bench-clients');
  await mock.createTopic(topic, 6);
  await fill(mock.brokers, topic);
  console.log(`${N} records on 6 partitions; ${RUNS} runs per client; median (min–max)`);
  for (const [name, consume] of Object.entries(clients)) {
    if (!installed(name)) {
      console.log(`${name}: not installed, skipped`);
      continue;
    }
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await once(consume, mock.brokers, topic));
    const show = (f: (r: Run) => number, digits = 0): string =>
      `${median(runs.map(f)).toFixed(digits)} (${Math.min(...runs.map(f)).toFixed(digits)}–${Math.max(...runs.map(f)).toFixed(digits)})`;
    console.log(
      `${name}: ${show((r) => r.recPerSec)} records/s, CPU ${show((r) => r.cpuMsPer1000, 1)} ms per 1000 records, join ${show((r) => r.joinMs)} ms`,
    );
  }
} finally {
  await mock.stop();
}
process.exit(0);
