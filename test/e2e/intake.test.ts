/**
 * Intake end to end: every Debezium fixture and a handful of poison messages go through a real
 * Kafka-protocol broker; every change event is delivered over HTTP, poison is recorded and skipped, and
 * the commit point reaches the end of every partition.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeRecord } from '../../src/intake/debezium.ts';
import { manifest, recordsOf } from '../fixtures/debezium-fixtures.ts';
import { startReceiver } from '../harness/receiver.ts';
import type { Receiver } from '../harness/receiver.ts';
import { startIntegrator } from '../harness/integrator.ts';
import { changeValue, keyOf, row } from '../harness/events.ts';
import { SECRET_A, kafkaWorld, waitCommittedToEnd } from './setup.ts';
import type { KafkaWorld } from './setup.ts';

let world: KafkaWorld;
let receiver: Receiver;
beforeAll(async () => {
  world = await kafkaWorld();
  receiver = await startReceiver({ secret: SECRET_A });
});
afterAll(async () => {
  await receiver?.close();
  await world?.close();
});

it('delivers every fixture change event, records poison with its position and reason, and commits past both', async () => {
  const { topic, groupId } = await world.topic(3);
  const fixtureRecords = manifest().flatMap((m) => recordsOf(m, topic));
  const expectedChanges = fixtureRecords.filter((r) => decodeRecord(r).kind === 'change').length;
  const poison = [
    { key: keyOf('PKG-P1'), value: '{"before":' },
    { key: keyOf('PKG-P2'), value: '{"op":"x","source":{"table":"t"}}' },
    { key: keyOf('PKG-P3'), value: Buffer.from([0xff, 0xfe, 0x00]).toString('latin1') },
  ];
  // Good package_status events around the poison, on the same keys, so poison sits between them.
  const good = ['PKG-P1', 'PKG-P2', 'PKG-P3'].flatMap((pkg) => [
    { key: keyOf(pkg), value: changeValue(row(pkg, 'customer-1', 'Package Posted', 0)) },
  ]);
  const messages = [
    ...good,
    ...poison,
    ...fixtureRecords.map((r) => ({
      key: r.key === null ? null : String(r.key),
      value: r.value === null ? null : String(r.value),
    })),
    ...good.map((g) => ({
      ...g,
      value: changeValue(row(JSON.parse(g.key).package_id as string, 'customer-1', 'In Transit', 1)),
    })),
  ];
  await world.producer.send({ topic, messages });

  const integrator = await startIntegrator({
    brokers: world.mock.brokers,
    topic,
    groupId,
    customers: [{ id: 'everything', url: receiver.url, secret: SECRET_A, match: '*' }],
  });
  try {
    const total = expectedChanges + good.length * 2;
    await receiver.waitFor(() => receiver.delivered().length >= total, 60_000, `${total} deliveries`);
    await waitCommittedToEnd(world, topic, groupId, 30_000, 'commit point at the end of every partition');
    // Exactly once each here (no failures, no crash), all signed, nothing else.
    const ids = receiver.delivered().map((r) => r.id);
    expect(new Set(ids).size).toBe(total);
    expect(receiver.requests).toHaveLength(total);
    expect(receiver.requests.every((r) => r.signatureOk)).toBe(true);
    expect(receiver.requests.every((r) => r.body.id === r.id)).toBe(true);
    const sent = receiver.requests.map((r) => r.raw).join('\n');
    expect(sent).not.toContain('__debezium_unavailable_value');

    const stored = (await integrator.store.listPoison(0, 100)).items;
    expect(stored).toHaveLength(
      poison.length + fixtureRecords.filter((r) => decodeRecord(r).kind === 'poison').length,
    );
    for (const p of stored) {
      expect(p.topic).toBe(topic);
      expect(p.reason.length).toBeGreaterThan(5);
      expect(Number(p.offset)).toBeGreaterThanOrEqual(0);
    }
    expect(stored.some((p) => p.reason.includes('not valid JSON'))).toBe(true);
    expect(stored.some((p) => p.reason.includes('unknown op'))).toBe(true);
    const metrics = await integrator.metrics.registry.getSingleMetricAsString(
      'integrator_poison_messages_total',
    );
    expect(metrics).toMatch(/reason="invalid_json"/);
    // Per package order held for the good events around the poison.
    for (const pkg of ['PKG-P1', 'PKG-P2', 'PKG-P3']) {
      const statuses = receiver
        .delivered()
        .filter((r) => r.body.data.package_id === pkg)
        .map((r) => r.body.data.status);
      expect(statuses).toEqual(['Package Posted', 'In Transit']);
    }
  } finally {
    await integrator.stop();
  }
});
