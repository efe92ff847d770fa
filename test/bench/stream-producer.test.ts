/**
 * The throughput figure's streaming producer (bench/stream-producer.ts): events built ahead carry the time
 * they are sent, not the time they were built, in all six of Debezium's time fields; and a paced run puts
 * every event it sent on the broker, each package's statuses in the order they were built.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStream } from '../../bench/load.ts';
import { connectStreamProducer, prepare, stamp } from '../../bench/stream-producer.ts';
import type { StreamProducer } from '../../bench/stream-producer.ts';
import { Kafka, logLevel } from '../harness/kafkajs.ts';
import type { Admin } from 'kafkajs';
import { startKafkaMock, uniqueName } from '../harness/kafka.ts';
import type { KafkaMock } from '../harness/kafka.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Change {
  ts_ms: number;
  ts_us: number;
  ts_ns: number;
  source: { ts_ms: number; ts_us: number; ts_ns: number };
  after: { id: number; package_id: string; status: string };
}

/** Debezium's 19-digit ts_ns loses digits as a JSON number: read the six times from the text. */
function times(text: string): string[] {
  return [...text.matchAll(/"ts_(?:ms|us|ns)":(\d+)/g)].map((m) => m[1]!);
}

describe('prepared events', () => {
  it('are the events the stream would have built, stamped with the time each is sent', () => {
    const prepared = prepare(new EventStream('pp', { 'customer-1': 2, 'customer-2': 1 }, 7), 40);
    const twin = new EventStream('pp', { 'customer-1': 2, 'customer-2': 1 }, 7);
    expect(prepared.count).toBe(40);
    for (let i = 0; i < prepared.count; i++) {
      const at = 1_800_000_000_000 + i * 37;
      const { key, value } = stamp(prepared, i, String(at));
      const expected = twin.next(at).message;
      expect(key.toString()).toBe(expected.key);
      const text = value.toString();
      // The same change, row ids and LSNs apart (each stream counts its own from the module's counters).
      const got = JSON.parse(text) as Change;
      const want = JSON.parse(expected.value!) as Change;
      expect(got.after.package_id).toBe(want.after.package_id);
      expect(got.after.status).toBe(want.after.status);
      expect(times(text)).toEqual([`${at}`, `${at}123`, `${at}123456`, `${at}`, `${at}456`, `${at}456789`]);
      expect(times(text)).toEqual(times(expected.value!));
    }
  });

  it('can be stamped again: the second time wins', () => {
    const prepared = prepare(new EventStream('pp2', { 'customer-1': 1 }, 3), 2);
    stamp(prepared, 1, '1700000000000');
    const { value } = stamp(prepared, 1, '1700000000999');
    expect((JSON.parse(value.toString()) as Change).source.ts_ms).toBe(1_700_000_000_999);
    expect(value.toString()).not.toContain('8888888888888');
  });
});

describe('a paced run against the test broker', () => {
  let mock: KafkaMock;
  let admin: Admin;
  let kafka: Kafka;
  let producer: StreamProducer;

  beforeAll(async () => {
    mock = await startKafkaMock({ brokers: 1 });
    kafka = new Kafka({
      clientId: 'stream-producer-test',
      brokers: mock.brokers,
      logLevel: logLevel.NOTHING,
    });
    admin = kafka.admin();
    await admin.connect();
    producer = await connectStreamProducer(mock.brokers, async (topic) => {
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
    });
  }, 60_000);

  afterAll(async () => {
    await producer?.close();
    await admin?.disconnect();
    await mock?.stop();
  });

  it('puts every event it sent on the broker, each package in order, sent-time stamped', async () => {
    const topic = uniqueName('stream-producer');
    await mock.createTopic(topic, 4);
    const stream = new EventStream('sp', { 'customer-1': 1 }, 50);
    // Fewer prepared than the run sends: the rest are built as they go, and counted as late.
    const prepared = prepare(stream, 300);
    const started = Date.now();
    const run = producer.paced(topic, stream, prepared, 1_000);
    await sleep(600);
    const result = await run.stop();
    const stopped = Date.now();
    expect(result.sent).toBeGreaterThan(300);
    expect(result.total).toBe(result.sent);
    expect(result.late).toBe(result.sent - 300);

    const consumer = kafka.consumer({
      groupId: uniqueName('stream-producer'),
      maxWaitTimeInMs: 50,
      sessionTimeout: 6_000,
      heartbeatInterval: 500,
    });
    const seen: { key: string; id: number; tsMs: number }[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const change = JSON.parse(message.value!.toString()) as Change;
          seen.push({ key: message.key!.toString(), id: change.after.id, tsMs: change.source.ts_ms });
        },
      });
      const deadline = Date.now() + 30_000;
      while (seen.length < result.total && Date.now() < deadline) await sleep(50);
    } finally {
      await consumer.disconnect();
    }
    expect(seen).toHaveLength(result.total);
    for (const s of seen) {
      expect(s.tsMs).toBeGreaterThanOrEqual(started);
      expect(s.tsMs).toBeLessThanOrEqual(stopped);
    }
    const lastId = new Map<string, number>();
    for (const s of seen) {
      expect(s.id).toBeGreaterThan(lastId.get(s.key) ?? 0);
      lastId.set(s.key, s.id);
    }
    expect(lastId.size).toBe(50);
  }, 60_000);
});
