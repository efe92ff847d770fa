import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRetryStore } from '../../src/store/redis.ts';
import { startRedis } from '../harness/redis.ts';
import type { RedisServer } from '../harness/redis.ts';
import { storeConformance, delivery } from './conformance.ts';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis({ appendonly: true });
});
afterAll(async () => {
  await server?.stop();
});

storeConformance(
  'redis',
  async () => new RedisRetryStore(server.url, `t${Math.random().toString(36).slice(2, 8)}`),
);

describe('RedisRetryStore durability', () => {
  it('parked work survives a Redis restart (appendonly) and the client reconnects by itself', async () => {
    const store = new RedisRetryStore(server.url, 'durable');
    const d = delivery({ customer: 'durable-c' });
    await store.park([{ delivery: d, dueAt: 0 }]);
    await server.restart();
    expect(await store.claimDue('durable-c', 'topic:0', 0, 1, 100)).toEqual([d]);
    await store.close();
  });
});
