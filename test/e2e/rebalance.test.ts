/**
 * Rebalances: a second integrator joins the group mid-stream, then the first leaves (SIGTERM-style stop).
 * Every event reaches every customer, including work that was parked in Redis by the member that left.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startReceiver } from '../harness/receiver.ts';
import { startIntegrator } from '../harness/integrator.ts';
import type { IntegratorSetup } from '../harness/integrator.ts';
import { journeys } from '../harness/events.ts';
import { startRedis } from '../harness/redis.ts';
import type { RedisServer } from '../harness/redis.ts';
import { SECRET_A, SECRET_B, kafkaWorld } from './setup.ts';
import type { KafkaWorld } from './setup.ts';

let world: KafkaWorld;
let redis: RedisServer;
beforeAll(async () => {
  world = await kafkaWorld();
  redis = await startRedis();
});
afterAll(async () => {
  await world?.close();
  await redis?.stop();
});

it('members join and leave mid-stream: nothing is lost, parked work moves with its partition', async () => {
  const { topic, groupId } = await world.topic(4);
  let bHealthy = false;
  const a = await startReceiver({ secret: SECRET_A, handler: () => ({ status: 200, delayMs: 5 }) });
  const b = await startReceiver({
    secret: SECRET_B,
    handler: () => (bHealthy ? { status: 200 } : { status: 503 }),
  });
  const setup: IntegratorSetup = {
    brokers: world.mock.brokers,
    topic,
    groupId,
    redisUrl: redis.url,
    keyPrefix: groupId,
    customers: [
      { id: 'customer-a', url: a.url, secret: SECRET_A, concurrency: 4 },
      {
        id: 'customer-b',
        url: b.url,
        secret: SECRET_B,
        retry: { maxAttempts: 1000, baseDelayMs: 300, maxDelayMs: 1000 },
        breaker: {
          errorThresholdPercentage: 100,
          volumeThreshold: 100_000,
          windowMs: 10_000,
          resetTimeoutMs: 500,
        },
      },
    ],
  };
  const aEvents = journeys('customer-a', 100, { prefix: 'rb-a' }).messages;
  const bEvents = journeys('customer-b', 20, { prefix: 'rb-b' }).messages;
  const uniqueA = () => new Set(a.delivered().map((d) => d.id)).size;
  const uniqueB = () => new Set(b.delivered().map((d) => d.id)).size;

  const first = await startIntegrator(setup);
  let second: Awaited<ReturnType<typeof startIntegrator>> | null = null;
  try {
    await world.producer.send({ topic, messages: [...aEvents.slice(0, 200), ...bEvents] });
    await a.waitFor(() => uniqueA() >= 50, 30_000, 'first deliveries');
    second = await startIntegrator(setup); // rebalance: partitions split between the two
    await world.producer.send({ topic, messages: aEvents.slice(200, 400) });
    await a.waitFor(() => uniqueA() >= 300, 60_000, 'deliveries while both run');
    await first.stop(); // rebalance: the second takes every partition, and first's parked B work
    await world.producer.send({ topic, messages: aEvents.slice(400) });
    await a.waitFor(() => uniqueA() === aEvents.length, 60_000, 'all of A');
    expect(b.requests.length).toBeGreaterThan(0);
    bHealthy = true;
    await b.waitFor(() => uniqueB() === bEvents.length, 60_000, 'all of B (parked across the rebalances)');
    const dupA = a.delivered().length - uniqueA();
    console.log(
      `rebalance: A ${uniqueA()} unique, ${dupA} duplicates; B ${uniqueB()} unique after ${b.requests.length} requests`,
    );
  } finally {
    await second?.stop();
    await first.stop();
    await a.close();
    await b.close();
  }
});
