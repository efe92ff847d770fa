/**
 * Breaker, retries and order, end to end through the broker, with real HTTP receivers scripted per call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver } from '../harness/receiver.ts';
import type { Receiver } from '../harness/receiver.ts';
import { eventually, startIntegrator } from '../harness/integrator.ts';
import { changeValue, journeys, keyOf, row } from '../harness/events.ts';
import { SECRET_A, SECRET_B, expectOrderedPerPackage, kafkaWorld } from './setup.ts';
import type { KafkaWorld } from './setup.ts';

let world: KafkaWorld;
const receivers: Receiver[] = [];
beforeAll(async () => {
  world = await kafkaWorld();
});
afterAll(async () => {
  for (const r of receivers) await r.close();
  await world?.close();
});

async function receiver(secret: string, handler?: Parameters<typeof startReceiver>[0]['handler']) {
  const r = await startReceiver({ secret, handler });
  receivers.push(r);
  return r;
}

const unique = (r: Receiver) => new Set(r.delivered().map((d) => d.id));

describe('circuit breaker', () => {
  it('B answering 500 opens its breaker; A is unaffected; when B recovers it receives everything that waited', async () => {
    const { topic, groupId } = await world.topic(2);
    let bHealthy = false;
    const a = await receiver(SECRET_A);
    const b = await receiver(SECRET_B, () => (bHealthy ? { status: 200 } : { status: 500 }));
    const integrator = await startIntegrator({
      brokers: world.mock.brokers,
      topic,
      groupId,
      customers: [
        { id: 'customer-a', url: a.url, secret: SECRET_A },
        {
          id: 'customer-b',
          url: b.url,
          secret: SECRET_B,
          concurrency: 4,
          retry: { maxAttempts: 1000, baseDelayMs: 50, maxDelayMs: 200 },
          breaker: {
            errorThresholdPercentage: 50,
            volumeThreshold: 5,
            windowMs: 10_000,
            resetTimeoutMs: 1500,
          },
        },
      ],
    });
    try {
      const bEvents = journeys('customer-b', 20, { prefix: 'brk-b' }).messages;
      await world.producer.send({ topic, messages: bEvents });
      const lane = integrator.lanes.find((l) => l.id === 'customer-b')!;
      await eventually(() => lane.snapshot().breaker === 'open', 30_000, 'B breaker open');
      // Requests already out when it opened still arrive; count from when none is left in flight.
      await eventually(() => lane.snapshot().inflight === 0, 5000, 'B requests in flight answered');
      const failedWhileOpen = b.requests.length;
      // While open (1.5 s), nothing is sent to B, and A's traffic flows.
      const aEvents = journeys('customer-a', 20, { prefix: 'brk-a' }).messages;
      await world.producer.send({ topic, messages: aEvents });
      await a.waitFor(() => unique(a).size === aEvents.length, 30_000, 'all of A');
      expect(b.requests.length).toBeLessThanOrEqual(failedWhileOpen + 1); // at most one half-open probe
      const metrics = await integrator.metrics.registry.getSingleMetricAsString('integrator_circuit_state');
      expect(metrics).toMatch(/customer="customer-b"} [12]/);

      bHealthy = true;
      await b.waitFor(() => unique(b).size === bEvents.length, 60_000, 'all of B after recovery');
      expect(lane.snapshot().breaker).toBe('closed');
      expectOrderedPerPackage(b);
      expect((await integrator.store.listDeadLetters('customer-b', 0, 10)).total).toBe(0);
      // Waiting while open was not charged as attempts: 1000 max attempts is far, but check the count of
      // 5xx attempts equals the failed requests B actually saw.
      const attempts = await integrator.metrics.registry.getSingleMetricAsString(
        'integrator_delivery_attempts_total',
      );
      const fivexx = Number(/customer="customer-b",result="5xx"} (\d+)/.exec(attempts)?.[1] ?? 0);
      expect(fivexx).toBe(b.requests.filter((r) => r.status === 500).length);
    } finally {
      await integrator.stop();
    }
  });
});

describe('retries and dead letters', () => {
  it('429 + Retry-After is respected; 400 is dead-lettered at once; maxAttempts ends in a dead letter', async () => {
    const { topic, groupId } = await world.topic(1);
    const a = await receiver(SECRET_A, (req, attempt) => {
      const kind = String(req.body.data.package_id);
      if (kind === 'PKG-429' && req.body.data.status === 'Package Posted' && attempt === 1) {
        return { status: 429, headers: { 'retry-after': '2' } };
      }
      if (kind === 'PKG-400') return { status: 400 };
      if (kind === 'PKG-500') return { status: 500 };
      return { status: 200 };
    });
    const integrator = await startIntegrator({
      brokers: world.mock.brokers,
      topic,
      groupId,
      customers: [
        {
          id: 'customer-a',
          url: a.url,
          secret: SECRET_A,
          retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 10_000 },
          breaker: {
            errorThresholdPercentage: 100,
            volumeThreshold: 1000,
            windowMs: 10_000,
            resetTimeoutMs: 1000,
          },
        },
      ],
    });
    try {
      const send = (pkg: string, status: string) =>
        world.producer.send({
          topic,
          messages: [{ key: keyOf(pkg), value: changeValue(row(pkg, 'customer-a', status, 0)) }],
        });
      await send('PKG-429', 'Package Posted');
      await send('PKG-400', 'Package Posted');
      await send('PKG-500', 'Package Posted');
      await send('PKG-429', 'In Transit'); // waits behind the 429'd one
      await send('PKG-OK', 'Package Posted');

      await a.waitFor(
        () =>
          a
            .delivered()
            .some((d) => d.body.data.package_id === 'PKG-429' && d.body.data.status === 'In Transit'),
        30_000,
        'PKG-429 done',
      );
      const tries = a.requests.filter((r) => r.body.data.package_id === 'PKG-429');
      expect(tries.map((t) => [t.body.data.status, t.status])).toEqual([
        ['Package Posted', 429],
        ['Package Posted', 200],
        ['In Transit', 200],
      ]);
      expect(tries[1]!.at - tries[0]!.answeredAt!).toBeGreaterThanOrEqual(1900);

      await eventually(
        async () => (await integrator.store.listDeadLetters('customer-a', 0, 10)).total === 2,
        30_000,
        'two dead letters',
      );
      const dead = (await integrator.store.listDeadLetters('customer-a', 0, 10)).items;
      const d400 = dead.find((d) => d.reason.includes('HTTP 400'))!;
      const d500 = dead.find((d) => d.reason.includes('gave up'))!;
      expect(d400.reason).toMatch(/^permanent failure: HTTP 400/);
      expect(d400.delivery.attempts).toBe(1);
      expect(d500.reason).toMatch(/gave up after 3 attempts; last: HTTP 500/);
      expect(a.requests.filter((r) => r.body.data.package_id === 'PKG-400')).toHaveLength(1);
      expect(a.requests.filter((r) => r.body.data.package_id === 'PKG-500')).toHaveLength(3);
      expect(unique(a).has(a.requests.find((r) => r.body.data.package_id === 'PKG-OK')!.id)).toBe(true);
      const m = await integrator.metrics.registry.getSingleMetricAsString('integrator_deliveries_total');
      expect(m).toMatch(/customer="customer-a",outcome="dead_lettered"} 2/);
    } finally {
      await integrator.stop();
    }
  });
});

describe('order', () => {
  it('concurrency 16 and 30% failures: every package still arrives in commit order, each status once', async () => {
    const { topic, groupId } = await world.topic(4);
    let n = 0;
    const a = await receiver(SECRET_A, () => {
      n += 1;
      // Deterministic 30%: requests 1, 4, 7, … fail (500), with a little latency so requests overlap.
      return n % 10 < 3 ? { status: 500, delayMs: 5 } : { status: 200, delayMs: 5 };
    });
    const integrator = await startIntegrator({
      brokers: world.mock.brokers,
      topic,
      groupId,
      customers: [
        {
          id: 'customer-a',
          url: a.url,
          secret: SECRET_A,
          concurrency: 16,
          retry: { maxAttempts: 50, baseDelayMs: 20, maxDelayMs: 200 },
          breaker: {
            errorThresholdPercentage: 90,
            volumeThreshold: 1000,
            windowMs: 10_000,
            resetTimeoutMs: 200,
          },
        },
      ],
    });
    try {
      const { messages } = journeys('customer-a', 60, {
        prefix: 'ord',
        statuses: [
          'Package Posted',
          'In Transit',
          'In Transit',
          'In Transit',
          'Out for Delivery',
          'Package Delivered',
        ],
      });
      await world.producer.send({ topic, messages });
      await a.waitFor(() => unique(a).size === messages.length, 60_000, 'every status');
      expectOrderedPerPackage(a);
      expect(a.delivered()).toHaveLength(messages.length); // each status delivered once
      expect(a.requests.filter((r) => r.status === 500).length).toBeGreaterThan(messages.length * 0.2);
    } finally {
      await integrator.stop();
    }
  });
});
