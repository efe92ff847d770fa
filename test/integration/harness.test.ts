import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { Kafka, logLevel, kafkaJsIdleTimerMended, requestQueuePrototype } from '../harness/kafkajs.ts';
import type { RequestQueue } from '../harness/kafkajs.ts';
import type { Admin, Consumer, Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../harness/binaries.ts';
import { startKafkaMock, uniqueName } from '../harness/kafka.ts';
import type { KafkaMock } from '../harness/kafka.ts';
import { freePort } from '../harness/ports.ts';
import { startRedis } from '../harness/redis.ts';
import type { RedisServer } from '../harness/redis.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Closes whatever a test opened, in reverse order, even when the test failed half-way. */
class Cleanup {
  private readonly steps: (() => Promise<unknown>)[] = [];
  add<T extends { disconnect(): Promise<void> }>(client: T): T {
    this.steps.push(() => client.disconnect());
    return client;
  }
  push(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      await step().catch((err: unknown) => errors.push(err));
    }
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
  }
}

/** Settings every consumer in these tests uses; see the notes on the mock's group coordinator below. */
const CONSUMER_DEFAULTS = {
  // The mock broker holds an empty fetch for its full max wait; keep it short so loops stay responsive.
  maxWaitTimeInMs: 50,
  // The mock delays a group's first join by 3 s and any later rebalance by sessionTimeout - 1 s; a
  // sessionTimeout below ~3.5 s expires members before their first join completes (they never join).
  sessionTimeout: 6_000,
  heartbeatInterval: 500,
} as const;

interface Received {
  partition: number;
  offset: string;
  key: string;
  seq: number;
}

function isTcpPortOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('kafka mock cluster (3 brokers) with KafkaJS', () => {
  const topic = uniqueName('harness-orders');
  let mock: KafkaMock;
  let kafka: Kafka;
  const cleanup = new Cleanup();

  beforeAll(async () => {
    mock = await startKafkaMock({ brokers: 3, topics: [{ name: topic, partitions: 3 }] });
    kafka = new Kafka({ clientId: 'harness-test', brokers: mock.brokers, logLevel: logLevel.NOTHING });
  });
  afterEach(() => cleanup.run());
  afterAll(() => mock?.stop());

  it("KafkaJS's request queues arm no timer while idle (mended in test/harness/kafkajs.ts)", async () => {
    expect(kafkaJsIdleTimerMended()).toBe(true);
    const producer: Producer = cleanup.add(kafka.producer());
    const idleTopic = uniqueName('harness-idle');
    await mock.createTopic(idleTopic, 1);
    await producer.connect();
    await producer.send({ topic: idleTopic, messages: [{ key: 'pkg-idle', value: 'idle' }] });
    await sleep(100);
    const original = requestQueuePrototype.checkPendingRequests;
    let checks = 0;
    requestQueuePrototype.checkPendingRequests = function (this: RequestQueue, ...args: unknown[]) {
      checks += 1;
      original.apply(this, args);
    };
    try {
      await sleep(500);
    } finally {
      requestQueuePrototype.checkPendingRequests = original;
    }
    // Unmended, every open connection checks its empty queue once a millisecond: ~500 each here.
    expect(checks).toBeLessThan(50);
  });

  it('exposes one bootstrap address per broker', () => {
    expect(mock.brokers).toHaveLength(3);
    for (const b of mock.brokers) expect(b).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('a second consumer in the group resumes exactly after the offsets the first one committed', async () => {
    const producer: Producer = cleanup.add(kafka.producer());
    const admin: Admin = cleanup.add(kafka.admin());
    await Promise.all([producer.connect(), admin.connect()]);

    const messages = (from: number, to: number): { key: string; value: string }[] =>
      Array.from({ length: to - from }, (_, i) => ({
        key: `pkg-${(from + i) % 10}`,
        value: String(from + i),
      }));
    await producer.send({ topic, messages: messages(0, 50) });
    const written = await admin.fetchTopicOffsets(topic);
    expect(written.reduce((sum, p) => sum + Number(p.high), 0)).toBe(50);

    const groupId = uniqueName('harness-group');
    const consume = async (sink: Received[]): Promise<Consumer> => {
      const consumer = cleanup.add(kafka.consumer({ groupId, ...CONSUMER_DEFAULTS }));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          sink.push({
            partition,
            offset: message.offset,
            key: message.key?.toString() ?? '',
            seq: Number(message.value?.toString()),
          });
        },
      });
      return consumer;
    };

    const first: Received[] = [];
    const consumer1 = await consume(first);
    await waitFor('first consumer to read 50 messages', () => first.length >= 50);
    expect(first.map((m) => m.seq).sort((a, b) => a - b)).toEqual([...Array(50).keys()]);
    // Same key → same partition, in production order.
    const byKey = new Map<string, Received[]>();
    for (const m of first) byKey.set(m.key, [...(byKey.get(m.key) ?? []), m]);
    for (const ofKey of byKey.values()) {
      expect(new Set(ofKey.map((m) => m.partition)).size).toBe(1);
      expect(ofKey.map((m) => m.seq)).toEqual([...ofKey.map((m) => m.seq)].sort((a, b) => a - b));
    }

    // Commit only what was processed up to seq 29: a prefix of every partition (one ordered send).
    const commits = new Map<number, number>();
    for (const m of first) {
      if (m.seq < 30)
        commits.set(m.partition, Math.max(commits.get(m.partition) ?? -1, Number(m.offset) + 1));
    }
    const toCommit = [...commits].map(([partition, offset]) => ({
      topic,
      partition,
      offset: String(offset),
    }));
    await consumer1.commitOffsets(toCommit);
    const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
    for (const { partition, offset } of toCommit) {
      expect(fetched?.partitions.find((p) => p.partition === partition)?.offset).toBe(offset);
    }
    // autoCommit: false really means nothing else gets committed, not even on disconnect.
    await consumer1.disconnect();

    await producer.send({ topic, messages: messages(50, 70) });

    const second: Received[] = [];
    await consume(second);
    await waitFor('second consumer to read 40 messages', () => second.length >= 40);
    await sleep(500); // anything re-read would show up by now
    expect(second.map((m) => m.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 40 }, (_, i) => 30 + i),
    );
  });

  it('creates a topic at runtime that clients can use immediately', async () => {
    const runtimeTopic = uniqueName('harness-runtime');
    await mock.createTopic(runtimeTopic, 2);
    await expect(mock.createTopic(runtimeTopic, 2)).rejects.toThrow(/already exists/i);

    const admin = cleanup.add(kafka.admin());
    const producer = cleanup.add(kafka.producer({ allowAutoTopicCreation: false }));
    await Promise.all([admin.connect(), producer.connect()]);
    const metadata = await admin.fetchTopicMetadata({ topics: [runtimeTopic] });
    expect(metadata.topics[0]?.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1]);

    await producer.send({
      topic: runtimeTopic,
      messages: [
        { partition: 0, value: 'zero' },
        { partition: 1, value: 'one' },
      ],
    });

    const seen: string[] = [];
    const consumer = cleanup.add(
      kafka.consumer({ groupId: uniqueName('harness-runtime'), ...CONSUMER_DEFAULTS }),
    );
    await consumer.connect();
    await consumer.subscribe({ topic: runtimeTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push(`${partition}:${message.value?.toString()}`);
      },
    });
    await waitFor('both runtime-topic messages', () => seen.length >= 2);
    expect(seen.sort()).toEqual(['0:zero', '1:one']);
  });
});

describe('kafka mock broker down/up (1 broker)', () => {
  let mock: KafkaMock;
  const cleanup = new Cleanup();

  beforeAll(async () => {
    mock = await startKafkaMock({ brokers: 1 });
  });
  afterEach(() => cleanup.run());
  afterAll(() => mock?.stop());

  it('refuses producers while down and serves them again once up', async () => {
    const topic = uniqueName('harness-outage');
    await mock.createTopic(topic, 1);
    // Retries must be bounded on the Kafka client: a producer's own `retry` only covers the produce
    // request, while reconnecting and refreshing metadata retry with the client's (default ~18 s) policy.
    const client = (retries: number): Kafka =>
      new Kafka({
        clientId: 'harness-outage',
        brokers: mock.brokers,
        logLevel: logLevel.NOTHING,
        connectionTimeout: 1_000,
        requestTimeout: 5_000,
        retry: { retries, initialRetryTime: 100, maxRetryTime: 300 },
      });
    const admin = cleanup.add(client(5).admin());
    const failFast = cleanup.add(client(2).producer());
    const patient = cleanup.add(client(30).producer());
    await Promise.all([admin.connect(), failFast.connect(), patient.connect()]);
    await failFast.send({ topic, messages: [{ value: 'before' }] });

    await mock.brokerDown(1);
    // The listener is closed while down: connections are refused (not hung), so this fails in ~1 s.
    await expect(failFast.send({ topic, messages: [{ value: 'lost' }] })).rejects.toThrow(
      /ECONNREFUSED|connect/i,
    );

    // A send that is still retrying when the broker comes back completes.
    const pending = patient.send({ topic, messages: [{ value: 'during' }] });
    await sleep(300);
    await mock.brokerUp(1);
    await pending;
    await failFast.send({ topic, messages: [{ value: 'after' }] });

    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets).toEqual([expect.objectContaining({ partition: 0, low: '0', high: '3' })]);
  });

  it('rejects bad broker ids and bad topic specs', async () => {
    await expect(mock.brokerDown(2)).rejects.toThrow(/out of range/);
    await expect(mock.createTopic('bad name', 1)).rejects.toThrow(/invalid topic/);
    await expect(mock.createTopic(uniqueName('t'), 0)).rejects.toThrow(/invalid topic/);
  });
});

describe('redis-server', () => {
  const servers: RedisServer[] = [];
  const clients: Redis[] = [];
  const client = async (server: RedisServer): Promise<Redis> => {
    const redis = new Redis(server.url, {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    clients.push(redis);
    await redis.connect();
    return redis;
  };
  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  it('starts, answers PING, restarts empty on the same port, and stops', async () => {
    const server = await startRedis();
    servers.push(server);
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);

    const before = await client(server);
    expect(await before.ping()).toBe('PONG');
    await before.set('k', 'v');
    expect(await before.get('k')).toBe('v');
    before.disconnect();

    await server.restart();
    const after = await client(server);
    expect(await after.ping()).toBe('PONG');
    expect(await after.get('k')).toBeNull(); // no persistence by default
    after.disconnect();

    await server.stop();
    expect(await isTcpPortOpen(server.port)).toBe(false);
  });

  it('keeps data across restart with appendonly', async () => {
    const server = await startRedis({ appendonly: true });
    servers.push(server);
    const before = await client(server);
    await before.set('durable', 'yes');
    before.disconnect();

    await server.restart();
    const after = await client(server);
    expect(await after.get('durable')).toBe('yes');
  });

  it('runs several servers side by side on distinct ports', async () => {
    const started = await Promise.all([startRedis(), startRedis(), startRedis()]);
    servers.push(...started);
    expect(new Set(started.map((s) => s.port)).size).toBe(3);
  });
});

describe('harness helpers', () => {
  it('requireBinary resolves installed tools and names the apt package for missing ones', () => {
    expect(requireBinary('redis-server')).toMatch(/\/redis-server$/);
    expect(() => requireBinary('surely-not-installed-xyz')).toThrow(
      /apt-get install -y surely-not-installed-xyz/,
    );
  });

  it('freePort returns a bindable port', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(await isTcpPortOpen(port)).toBe(false);
  });

  it('uniqueName yields distinct Kafka-safe names', () => {
    const names = new Set(Array.from({ length: 100 }, () => uniqueName('a b/c')));
    expect(names.size).toBe(100);
    for (const n of names) expect(n).toMatch(/^[a-zA-Z0-9._-]+$/);
  });
});
