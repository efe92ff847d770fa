/**
 * `npm run demo` with KAFKA_BROKERS and REDIS_URL: the generator produces to Kafka (a real Kafka-protocol
 * broker), the integrator consumes it with its KafkaJS source and parks in Redis. Same claims as the
 * in-memory run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafkaMock, uniqueName } from '../harness/kafka.ts';
import type { KafkaMock } from '../harness/kafka.ts';
import { startRedis } from '../harness/redis.ts';
import type { RedisServer } from '../harness/redis.ts';
import { runDemo } from './run-demo.ts';

describe('npm run demo with KAFKA_BROKERS and REDIS_URL', () => {
  let kafka: KafkaMock;
  let redis: RedisServer;
  const topic = uniqueName('demo');

  beforeAll(async () => {
    kafka = await startKafkaMock({ topics: [{ name: topic, partitions: 3 }] });
    redis = await startRedis();
  });

  afterAll(async () => {
    await kafka?.stop();
    await redis?.stop();
  });

  it('goes through Kafka and Redis, and the fast customers still get everything quickly', async () => {
    const run = await runDemo(['--duration', '20'], {
      KAFKA_BROKERS: kafka.brokers.join(','),
      KAFKA_TOPICS: topic,
      KAFKA_GROUP_ID: uniqueName('demo-group'),
      KAFKA_MAX_WAIT_MS: '50',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniqueName('demo'),
    });
    expect(run.code).toBe(0);
    const s = run.summary;
    expect(s.source).toContain(`Kafka ${kafka.brokers.join(',')} topic ${topic}`);
    expect(s.store).toBe(`redis (${redis.url})`);
    for (const id of ['customer-1', 'customer-3']) {
      const c = s.customers.find((x) => x.id === id)!;
      expect(c.sent).toBeGreaterThan(40);
      expect(c.delivered).toBe(c.sent);
      expect(c.e2e.p99Ms).toBeLessThan(1000);
      expect(c.integrator?.delivered).toBe(c.sent);
    }
    const slow = s.customers.find((x) => x.id === 'customer-2')!;
    expect(slow.sent).toBeGreaterThan(40);
    expect(slow.delivered < slow.sent || (slow.inflight ?? 0) > 0).toBe(true);
    // Customer-2's backlog is parked in Redis, not held in memory.
    expect(slow.parked).toBeGreaterThan(0);
    expect(s.verdict.outcome).toBe('isolated');
  }, 90_000);
});
