/** Shared wiring for end-to-end tests: a mock Kafka cluster, a Redis, producers, receivers. */
import { expect } from 'vitest';
import { Kafka, logLevel } from '../harness/kafkajs.ts';
import type { Producer } from 'kafkajs';
import { startKafkaMock, uniqueName } from '../harness/kafka.ts';
import type { KafkaMock } from '../harness/kafka.ts';
import type { Receiver } from '../harness/receiver.ts';

export const SECRET_A = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
export const SECRET_B = 'whsec_YVdiei3QehZusGHArXkh8FwpFRCkGcyn';
export const SECRET_C = 'whsec_NwzQsjRtQwnQ5iQyo5dzqqGhYAlKgVlr';

export interface KafkaWorld {
  mock: KafkaMock;
  kafka: Kafka;
  producer: Producer;
  /** A fresh topic (and group name) for one test. */
  topic(partitions?: number): Promise<{ topic: string; groupId: string }>;
  committed(topic: string, groupId: string): Promise<Map<number, bigint>>;
  close(): Promise<void>;
}

export async function kafkaWorld(): Promise<KafkaWorld> {
  const mock = await startKafkaMock({ brokers: 1 });
  const kafka = new Kafka({ clientId: 'test', brokers: mock.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();
  return {
    mock,
    kafka,
    producer,
    async topic(partitions = 3) {
      const topic = uniqueName('dbserver1.public.package_status');
      await mock.createTopic(topic, partitions);
      return { topic, groupId: uniqueName('group') };
    },
    async committed(topic, groupId) {
      const res = await admin.fetchOffsets({ groupId, topics: [topic] });
      return new Map(res[0]!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
    },
    async close() {
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
      await mock.stop();
    },
  };
}

/** High watermarks per partition (the offset after the last message). */
export async function endOffsets(world: KafkaWorld, topic: string): Promise<Map<number, bigint>> {
  const admin = world.kafka.admin();
  await admin.connect();
  try {
    const res = await admin.fetchTopicOffsets(topic);
    return new Map(res.map((p) => [p.partition, BigInt(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the group's committed offset equals the end of every partition of the topic. */
export async function waitCommittedToEnd(
  world: KafkaWorld,
  topic: string,
  groupId: string,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const ends = await endOffsets(world, topic);
  const start = Date.now();
  for (;;) {
    const c = await world.committed(topic, groupId);
    if ([...ends].every(([p, end]) => c.get(p) === end)) return;
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every package's 2xx deliveries arrived in commit order (the row id grows with each change). */
export function expectOrderedPerPackage(r: Receiver): void {
  const byPkg = new Map<string, number[]>();
  for (const d of r.delivered()) {
    const pkg = String(d.body.data.package_id);
    const list = byPkg.get(pkg) ?? [];
    list.push(Number(d.body.data.id));
    byPkg.set(pkg, list);
  }
  for (const [pkg, ids] of byPkg) expect(ids, `order of ${pkg}`).toEqual([...ids].sort((x, y) => x - y));
}
