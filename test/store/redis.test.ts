import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRetryStore } from '../../src/store/redis.ts';
import { startRedis } from '../harness/redis.ts';
import type { RedisServer } from '../harness/redis.ts';
import { limitsConformance, limitsRequest, storeConformance, delivery } from './conformance.ts';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis({ appendonly: true });
});
afterAll(async () => {
  await server?.stop();
});

storeConformance(
  'redis',
  async (limits, onTrimmed) =>
    new RedisRetryStore(server.url, {
      prefix: `t${Math.random().toString(36).slice(2, 8)}`,
      ...(limits ? { limits } : {}),
      ...(onTrimmed ? { onTrimmed } : {}),
    }),
);

// Every holder on a connection of its own, to one prefix.
limitsConformance('redis', async () => {
  const prefix = `l${Math.random().toString(36).slice(2, 8)}`;
  return { client: async () => new RedisRetryStore(server.url, { prefix }) };
});

describe('RedisRetryStore durability', () => {
  it('parked work survives a Redis restart (appendonly) and the client reconnects by itself', async () => {
    const store = new RedisRetryStore(server.url, { prefix: 'durable' });
    const d = delivery({ customer: 'durable-c' });
    const { epoch } = await store.takeOver('durable-c', 'topic:0', 0, null);
    const ref = { customer: 'durable-c', shard: 'topic:0', epoch };
    await store.park(ref, [{ orderingKey: d.orderingKey, items: [d], dueAt: 0, headClaimed: false }]);
    await server.restart();
    expect((await store.claim(ref, 0, 1)).heads).toEqual([d]);
    await store.close();
  });

  it('reads the eviction policy and AOF settings that decide what a Redis crash can lose', async () => {
    const store = new RedisRetryStore(server.url, { prefix: 'dur' });
    expect(await store.durability()).toEqual({
      evictionPolicy: 'noeviction',
      aof: true,
      appendfsync: 'everysec',
    });
    await store.close();
  });

  it('the shared limits and a pause survive a Redis restart (appendonly)', async () => {
    const store = new RedisRetryStore(server.url, { prefix: 'durable-limits' });
    const req = limitsRequest({ customer: 'c', holder: 'A', want: 10, ratePerSecond: 2, tokens: 2 });
    await store.setPaused('c', { reason: 'by ops', at: 5 });
    expect(await store.syncLimits(req, 0)).toMatchObject({ permits: 10, tokens: 2 });
    await server.restart();
    const other = new RedisRetryStore(server.url, { prefix: 'durable-limits' });
    expect(await other.syncLimits({ ...req, holder: 'B' }, 1)).toMatchObject({
      permits: 0,
      tokens: 0,
      paused: { reason: 'by ops', at: 5 },
    });
    await store.close();
    await other.close();
  });
});
