/**
 * The Kafka adapter of the Source port against the test broker: each promise of `source.ts` in turn —
 * headers, assignment before records, revocation awaited before a partition moves, commit of exactly what
 * it is told (and nothing on its own), rewind to the committed offset, pause, ping, stop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaSource } from '../../src/intake/kafka-source.ts';
import type { Source, SourceHandlers, SourceRecord, TopicPartition } from '../../src/intake/source.ts';
import { createLogger } from '../../src/report/logger.ts';
import { kafkaWorld } from '../e2e/setup.ts';
import type { KafkaWorld } from '../e2e/setup.ts';
import { eventually } from '../harness/integrator.ts';

let world: KafkaWorld;
const sources: Source[] = [];
beforeAll(async () => {
  world = await kafkaWorld();
});
afterAll(async () => {
  for (const s of sources) await s.stop().catch(() => {});
  await world?.close();
});

function source(topic: string, groupId: string): Source {
  const s = createKafkaSource({
    brokers: world.mock.brokers,
    topics: [topic],
    groupId,
    clientId: 'kafka-source-test',
    sessionTimeoutMs: 6000,
    maxWaitMs: 50,
    log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
  });
  sources.push(s);
  return s;
}

interface Journal {
  events: string[];
  records: SourceRecord[];
  assigned: TopicPartition[];
  handlers: SourceHandlers;
}

/** Handlers that resolve every record and write down, in order, what happened. */
function journal(
  opts: { onRevoking?: (tps: TopicPartition[]) => Promise<void>; resolve?: boolean } = {},
): Journal {
  const j: Journal = {
    events: [],
    records: [],
    assigned: [],
    handlers: {
      async onAssignment(assigned) {
        j.assigned = assigned;
        j.events.push(
          `assigned ${assigned
            .map((a) => a.partition)
            .sort()
            .join(',')}`,
        );
      },
      async onRevoking(revoked) {
        j.events.push(
          `revoking ${revoked
            .map((a) => a.partition)
            .sort()
            .join(',')}`,
        );
        await opts.onRevoking?.(revoked);
        j.events.push(
          `revoked ${revoked
            .map((a) => a.partition)
            .sort()
            .join(',')}`,
        );
      },
      async onBatch(records, ctx) {
        j.events.push(`batch ${ctx.partition}`);
        for (const r of records) {
          if (!ctx.isRunning()) return;
          j.records.push(r);
          if (opts.resolve !== false) ctx.resolveOffset(r.offset);
        }
      },
    },
  };
  return j;
}

const offsetsOf = (j: Journal, partition: number): number[] =>
  j.records.filter((r) => r.partition === partition).map((r) => Number(r.offset));

describe('Kafka source (confluent client) on the test broker', () => {
  it('hands over records with key, value, headers and timestamp, after the assignment', async () => {
    const { topic, groupId } = await world.topic(2);
    await world.producer.send({
      topic,
      messages: [
        { key: 'PKG-1', value: 'v1', headers: { id: 'evt-1', eventType: 'PackageMoved' }, partition: 0 },
        { key: null, value: null, partition: 1 },
      ],
    });
    const j = journal();
    await source(topic, groupId).start(j.handlers);
    await eventually(() => j.records.length === 2, 20_000, 'both records');
    expect(j.events[0]).toBe('assigned 0,1');
    const withHeaders = j.records.find((r) => r.partition === 0)!;
    expect(withHeaders.key?.toString()).toBe('PKG-1');
    expect(withHeaders.value?.toString()).toBe('v1');
    expect(Buffer.from(withHeaders.headers!['id']!).toString()).toBe('evt-1');
    expect(Buffer.from(withHeaders.headers!['eventType']!).toString()).toBe('PackageMoved');
    expect(Number(withHeaders.timestamp)).toBeGreaterThan(Date.now() - 60_000);
    const tombstone = j.records.find((r) => r.partition === 1)!;
    expect(tombstone).toMatchObject({ key: null, value: null, offset: '0' });
  });

  it('commits exactly what it is told and nothing on its own', async () => {
    const { topic, groupId } = await world.topic(2);
    await world.producer.send({
      topic,
      messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 2 })),
    });
    const s = source(topic, groupId);
    const j = journal();
    await s.start(j.handlers);
    await eventually(() => j.records.length === 10, 20_000, 'ten records');
    // Read and resolved, but not committed: the group has no offsets.
    expect([...(await world.committed(topic, groupId)).values()]).toEqual([-1n, -1n]);
    await s.commit([{ topic, partition: 0, offset: '3' }]);
    const c = await world.committed(topic, groupId);
    expect(c.get(0)).toBe(3n);
    expect(c.get(1)).toBe(-1n);
    await s.stop();
    // Stopping commits nothing either.
    expect(await world.committed(topic, groupId)).toEqual(c);
  });

  it('rewind reads a partition again from its committed offset', async () => {
    const { topic, groupId } = await world.topic(1);
    await world.producer.send({
      topic,
      messages: Array.from({ length: 6 }, (_, i) => ({ key: 'k', value: `v${i}` })),
    });
    const s = source(topic, groupId);
    const j = journal();
    await s.start(j.handlers);
    await eventually(() => j.records.length === 6, 20_000, 'six records');
    await s.commit([{ topic, partition: 0, offset: '4' }]);
    await s.rewind({ topic, partition: 0 });
    await eventually(() => j.records.length === 8, 20_000, 'offsets 4 and 5 again');
    expect(offsetsOf(j, 0)).toEqual([0, 1, 2, 3, 4, 5, 4, 5]);
  });

  it('rewind without a committed offset starts from the beginning', async () => {
    const { topic, groupId } = await world.topic(1);
    await world.producer.send({
      topic,
      messages: [
        { key: 'k', value: 'a' },
        { key: 'k', value: 'b' },
      ],
    });
    const s = source(topic, groupId);
    const j = journal();
    await s.start(j.handlers);
    await eventually(() => j.records.length === 2, 20_000, 'two records');
    await s.rewind({ topic, partition: 0 });
    await eventually(() => j.records.length === 4, 20_000, 'both again');
    expect(offsetsOf(j, 0)).toEqual([0, 1, 0, 1]);
  });

  it('a second member: the first hears onRevoking, awaited, before the partitions are handed over', async () => {
    const { topic, groupId } = await world.topic(4);
    let releaseRevoke!: () => void;
    const revokeHeld = new Promise<void>((r) => (releaseRevoke = r));
    const first = journal({ onRevoking: () => revokeHeld });
    await source(topic, groupId).start(first.handlers);
    expect(first.assigned).toHaveLength(4);

    const second = journal();
    const secondStarted = source(topic, groupId).start(second.handlers);
    await eventually(() => first.events.some((e) => e.startsWith('revoking')), 30_000, 'revocation');
    // While the first member holds its revocation, the second gets nothing of what is being revoked.
    await new Promise((r) => setTimeout(r, 1500));
    expect(second.assigned).toEqual([]);
    releaseRevoke();
    await secondStarted;
    await eventually(() => second.assigned.length > 0, 30_000, 'the second member gets partitions');
    const moved = first.events
      .find((e) => e.startsWith('revoked'))!
      .slice('revoked '.length)
      .split(',');
    expect(second.assigned.map((a) => String(a.partition)).sort()).toEqual(moved);
    // Cooperative: the first keeps the rest, and no partition is owned twice.
    await eventually(() => first.assigned.length + second.assigned.length === 4, 30_000, 'full coverage');
    const owners = [...first.assigned, ...second.assigned].map((a) => a.partition).sort();
    expect(owners).toEqual([0, 1, 2, 3]);
  });

  it('pause: no batch is handed out after it', async () => {
    const { topic, groupId } = await world.topic(1);
    const s = source(topic, groupId);
    const j = journal();
    await s.start(j.handlers);
    await world.producer.send({ topic, messages: [{ key: 'k', value: 'before' }] });
    await eventually(() => j.records.length === 1, 20_000, 'the first record');
    s.pause();
    await world.producer.send({ topic, messages: [{ key: 'k', value: 'after' }] });
    await new Promise((r) => setTimeout(r, 1500));
    expect(j.records.map((r) => r.value?.toString())).toEqual(['before']);
  });

  it('ping answers while the broker is up and fails while it is down', async () => {
    const { topic, groupId } = await world.topic(1);
    const s = source(topic, groupId);
    await s.start(journal().handlers);
    await s.ping(2000);
    await world.mock.brokerDown(1);
    try {
      await expect(s.ping(1000)).rejects.toThrow();
    } finally {
      await world.mock.brokerUp(1);
    }
    await eventually(
      () =>
        s.ping(1000).then(
          () => true,
          () => false,
        ),
      20_000,
      'ping after the broker is back',
    );
  });
});
