/**
 * The outbox source end to end (README "Outbox source"): records shaped as Debezium's outbox EventRouter
 * writes them — in every value shape — go through a real Kafka-protocol broker and come out as signed
 * webhooks whose id is the outbox id; a record without an `id` header is poison, listed and counted, and
 * skipped without holding back what follows; each aggregate's events arrive in order, through retries.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Message } from 'kafkajs';
import { startReceiver } from '../harness/receiver.ts';
import type { Receiver } from '../harness/receiver.ts';
import { startIntegrator } from '../harness/integrator.ts';
import { uniqueName } from '../harness/kafka.ts';
import { changeValue, keyOf, row } from '../harness/events.ts';
import { SECRET_A, SECRET_B, kafkaWorld, waitCommittedToEnd } from './setup.ts';
import type { KafkaWorld } from './setup.ts';

const TOKEN = 'outbox-admin-token';
const PACKAGES = ['PKG-OB-1', 'PKG-OB-2', 'PKG-OB-3', 'PKG-OB-4', 'PKG-OB-5', 'PKG-OB-6'];
const STATUSES = ['Package Posted', 'In Transit', 'In Transit', 'Out for Delivery', 'Package Delivered'];

let world: KafkaWorld;
let one: Receiver;
let two: Receiver;
beforeAll(async () => {
  world = await kafkaWorld();
  // The second status of every package fails once (503): the rest of that package must wait behind its retry.
  const flaky = (req: { body: { data: Record<string, unknown> } }, attempt: number) =>
    req.body.data.seq === 2 && attempt === 1 ? { status: 503 } : { status: 200, delayMs: Math.random() * 20 };
  one = await startReceiver({ secret: SECRET_A, handler: flaky });
  two = await startReceiver({ secret: SECRET_B, handler: flaky });
});
afterAll(async () => {
  await one?.close();
  await two?.close();
  await world?.close();
});

interface Sent {
  id: string;
  packageId: string;
  eventType: string | null;
  payload: Record<string, unknown>;
}

/** The value shapes the EventRouter can produce, by converter settings. */
const SHAPES = {
  /** JsonConverter, schemas off, payload column not expanded: a JSON string holding the JSON. */
  jsonString: (p: object) => JSON.stringify(JSON.stringify(p)),
  /** StringConverter, or `table.expand.json.payload=true` with schemas off: the object itself. */
  expanded: (p: object) => JSON.stringify(p),
  /** JsonConverter, schemas on, not expanded: the string inside the envelope. */
  envelopeString: (p: object) =>
    JSON.stringify({
      schema: { type: 'string', optional: true, name: 'io.debezium.data.Json', version: 1 },
      payload: JSON.stringify(p),
    }),
  /** JsonConverter, schemas on, expanded: the object inside the envelope with its inferred schema. */
  envelopeExpanded: (p: object) =>
    JSON.stringify({
      schema: {
        type: 'struct',
        name: 'payload',
        optional: true,
        fields: Object.keys(p).map((field) => ({ type: 'string', optional: true, field })),
      },
      payload: p,
    }),
};
const shapeNames = Object.keys(SHAPES) as (keyof typeof SHAPES)[];

it('delivers EventRouter records in every value shape as signed webhooks with the outbox id; poison without id is skipped; order per aggregate holds', async () => {
  const { topic: changesTopic, groupId } = await world.topic(3);
  const outboxTopic = uniqueName('outbox.event.package');
  await world.mock.createTopic(outboxTopic, 3);

  const sent: Sent[] = [];
  const messages: Message[] = [];
  let n = 0;
  for (let step = 0; step < STATUSES.length; step++) {
    for (const [i, packageId] of PACKAGES.entries()) {
      const payload = {
        package_id: packageId,
        customer_id: i % 2 === 0 ? 'customer-1' : 'customer-2',
        status: STATUSES[step]!,
        seq: step + 1,
      };
      const id = randomUUID();
      const shape = shapeNames[n++ % shapeNames.length]!;
      // Keys as JsonConverter writes a string key, with schemas for some packages. One connector uses one
      // converter, so an aggregate's key bytes (and so its partition) never change.
      const key =
        i % 3 === 0
          ? JSON.stringify({ schema: { type: 'string', optional: false }, payload: packageId })
          : JSON.stringify(packageId);
      const eventType =
        step === 0 ? null : step === STATUSES.length - 1 ? 'package.delivered' : 'package.moved';
      messages.push({
        key,
        value: SHAPES[shape](payload),
        headers: { id, ...(eventType ? { eventType } : {}) },
        timestamp: String(Date.now() - 1000),
      });
      sent.push({ id, packageId, eventType, payload });
    }
    // Poison between two good records of the same aggregate: no id header.
    if (step === 1) {
      messages.push({
        key: JSON.stringify('PKG-OB-1'),
        value: SHAPES.expanded({ customer_id: 'customer-1' }),
        headers: { eventType: 'package.moved' },
      });
    }
  }
  // A tombstone (ignored) and, on the Debezium topic, an ordinary change: both sources side by side.
  messages.push({ key: JSON.stringify('PKG-OB-2'), value: null, headers: { id: randomUUID() } });
  await world.producer.send({ topic: outboxTopic, messages });
  await world.producer.send({
    topic: changesTopic,
    messages: [
      { key: keyOf('PKG-DBZ-1'), value: changeValue(row('PKG-DBZ-1', 'customer-1', 'Package Posted', 0)) },
    ],
  });

  const integrator = await startIntegrator({
    brokers: world.mock.brokers,
    topic: changesTopic,
    groupId,
    customers: [
      { id: 'customer-1', url: one.url, secret: SECRET_A, retry: { baseDelayMs: 50, maxDelayMs: 200 } },
      { id: 'customer-2', url: two.url, secret: SECRET_B, retry: { baseDelayMs: 50, maxDelayMs: 200 } },
    ],
    env: { OUTBOX_TOPICS: outboxTopic, ADMIN_TOKEN: TOKEN },
  });
  try {
    const forOne = sent.filter((s) => s.payload.customer_id === 'customer-1');
    const forTwo = sent.filter((s) => s.payload.customer_id === 'customer-2');
    await one.waitFor(() => one.delivered().length >= forOne.length + 1, 60_000, 'customer-1 deliveries');
    await two.waitFor(() => two.delivered().length >= forTwo.length, 60_000, 'customer-2 deliveries');
    await waitCommittedToEnd(
      world,
      outboxTopic,
      groupId,
      30_000,
      'commit point at the end of the outbox topic',
    );

    // Routing by the payload's customer_id; each outbox event delivered exactly once (2xx) and signed.
    const outboxAtOne = one
      .delivered()
      .filter((r) => r.body.source && (r.body.source as { topic: string }).topic === outboxTopic);
    expect(outboxAtOne.map((r) => r.id).sort()).toEqual(forOne.map((s) => s.id).sort());
    expect(
      two
        .delivered()
        .map((r) => r.id)
        .sort(),
    ).toEqual(forTwo.map((s) => s.id).sort());
    for (const r of [...one.requests, ...two.requests]) expect(r.signatureOk).toBe(true);

    const byId = new Map(sent.map((s) => [s.id, s]));
    for (const r of [...outboxAtOne, ...two.delivered()]) {
      const s = byId.get(r.id)!;
      expect(r.body.id).toBe(r.id); // webhook-id = body id = outbox id
      expect(r.body.type).toBe(s.eventType ?? outboxTopic);
      expect(r.body.data).toEqual(s.payload);
      expect(r.body.source).toMatchObject({ topic: outboxTopic, aggregateId: s.packageId });
      expect(typeof (r.body.source as { offset: string }).offset).toBe('string');
    }
    // The Debezium change of the same run went its usual way.
    const change = one.delivered().find((r) => r.body.type === 'package_status.created');
    expect(change?.body.data.package_id).toBe('PKG-DBZ-1');

    // Order per aggregate: each package's first 2xx deliveries in seq order, through the 503 retries.
    for (const receiver of [one, two]) {
      const seqs = new Map<string, number[]>();
      for (const r of receiver.delivered()) {
        if (r.body.data.seq === undefined) continue;
        const pkg = String(r.body.data.package_id);
        seqs.set(pkg, [...(seqs.get(pkg) ?? []), Number(r.body.data.seq)]);
      }
      for (const [pkg, list] of seqs) expect(list, pkg).toEqual([1, 2, 3, 4, 5]);
    }
    expect(one.requests.filter((r) => r.status === 503).length).toBe(3);

    // Poison: recorded with its position and reason, listed by the admin endpoint, counted by reason.
    const listed = await fetch(`${integrator.url()}/poison`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(listed.status).toBe(200);
    const poison = (await listed.json()) as {
      total: number;
      items: { topic: string; reason: string; key: string; value: string }[];
    };
    expect(poison.total).toBe(1);
    expect(poison.items[0]).toMatchObject({ topic: outboxTopic, key: JSON.stringify('PKG-OB-1') });
    expect(poison.items[0]!.reason).toMatch(/`id` header/);
    const metric = await integrator.metrics.registry.getSingleMetricAsString(
      'integrator_poison_messages_total',
    );
    expect(metric).toContain(
      `integrator_poison_messages_total{topic="${outboxTopic}",reason="missing_id"} 1`,
    );
    const ignored = await integrator.metrics.registry.getSingleMetricAsString(
      'integrator_events_ignored_total',
    );
    expect(ignored).toContain(`topic="${outboxTopic}",reason="tombstone"`);
  } finally {
    await integrator.stop();
  }
});
