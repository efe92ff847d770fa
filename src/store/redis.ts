/**
 * Redis RetryStore (ioredis). Every state change is one Lua script, so a crash can never leave a delivery
 * half-moved. All keys of one customer share a hash tag (`{customer}`), which keeps each script on one slot.
 *
 *   <p>:{c}:due:<shard>            zset   package → time its head is due (a lease pushes it out)
 *   <p>:{c}:lease:<shard>          hash   package → lease end, for takeover after a crash or rebalance
 *   <p>:{c}:list:<shard>:<pkg>     list   "<deliveryId>\t<json>" in arrival order
 *   <p>:{c}:n:<shard>, <p>:{c}:n   counters of parked deliveries
 *   <p>:{c}:dlq, <p>:{c}:dlqidx    hash + zset of dead letters
 *   <p>:poison                     capped list of poison messages
 */
import { Redis } from 'ioredis';
import type { DeadLetter, ParkItem, ParkedDelivery, PoisonRecord, RetryStore } from './port.ts';
import { POISON_KEEP } from './port.ts';

const PARK = `
local due, nShard, nAll, listPrefix, front = KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2] == 'front'
local lease = KEYS[4]
local i = 3
while i <= #ARGV do
  local pkg, entry, dueAt, leased = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if front then
    redis.call('LPUSH', listPrefix .. pkg, entry)
    redis.call('ZADD', due, dueAt, pkg)
    if leased == '1' then redis.call('HSET', lease, pkg, dueAt) else redis.call('HDEL', lease, pkg) end
  else
    local len = redis.call('RPUSH', listPrefix .. pkg, entry)
    if len == 1 then redis.call('ZADD', due, dueAt, pkg) end
  end
  i = i + 4
end
local n = (#ARGV - 2) / 4
redis.call('INCRBY', nShard, n)
redis.call('INCRBY', nAll, n)
return n`;

const APPEND_IF_PARKED = `
local nShard, nAll, listPrefix = KEYS[1], KEYS[2], ARGV[1]
local out = {}
local added = 0
local i = 2
while i <= #ARGV do
  local key = listPrefix .. ARGV[i]
  if redis.call('EXISTS', key) == 1 then
    redis.call('RPUSH', key, ARGV[i + 1])
    out[#out + 1] = 1
    added = added + 1
  else
    out[#out + 1] = 0
  end
  i = i + 2
end
if added > 0 then
  redis.call('INCRBY', nShard, added)
  redis.call('INCRBY', nAll, added)
end
return out`;

const CLAIM = `
local due, lease, listPrefix = KEYS[1], KEYS[2], ARGV[1]
local now, limit, leaseUntil = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local pkgs = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, limit)
local out = {}
for _, pkg in ipairs(pkgs) do
  local head = redis.call('LINDEX', listPrefix .. pkg, 0)
  if head then
    redis.call('ZADD', due, leaseUntil, pkg)
    redis.call('HSET', lease, pkg, leaseUntil)
    out[#out + 1] = head
  else
    redis.call('ZREM', due, pkg)
    redis.call('HDEL', lease, pkg)
  end
end
return out`;

// Settles the head of a package list if it is still the claimed delivery.
// ARGV: listPrefix, pkg, deliveryId, mode, now|dueAt, [newEntry | deadLetterJson, eventId]
const SETTLE = `
local due, lease, nShard, nAll, dlq, dlqIdx = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local listKey, pkg, id, mode, t = ARGV[1] .. ARGV[2], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local head = redis.call('LINDEX', listKey, 0)
if not head or string.sub(head, 1, #id + 1) ~= id .. '\\t' then return 0 end
redis.call('HDEL', lease, pkg)
if mode == 'reschedule' then
  redis.call('LSET', listKey, 0, ARGV[6])
  redis.call('ZADD', due, t, pkg)
  return 1
end
if mode == 'release' then
  redis.call('ZADD', due, t, pkg)
  return 1
end
redis.call('LPOP', listKey)
redis.call('DECR', nShard)
redis.call('DECR', nAll)
if mode == 'dead' then
  redis.call('HSET', dlq, ARGV[7], ARGV[6])
  redis.call('ZADD', dlqIdx, t, ARGV[7])
end
if redis.call('LLEN', listKey) == 0 then
  redis.call('ZREM', due, pkg)
else
  redis.call('ZADD', due, t, pkg)
end
return 1`;

const TAKE_OVER = `
local due, lease, now = KEYS[1], KEYS[2], ARGV[1]
local pkgs = redis.call('HKEYS', lease)
for _, pkg in ipairs(pkgs) do redis.call('ZADD', due, 'XX', now, pkg) end
redis.call('DEL', lease)
return #pkgs`;

const TAKE_DEAD = `
local dlq, dlqIdx = KEYS[1], KEYS[2]
local ids = ARGV
if #ids == 0 then ids = redis.call('ZRANGE', dlqIdx, 0, -1) end
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('HGET', dlq, id)
  if v then
    out[#out + 1] = v
    redis.call('HDEL', dlq, id)
    redis.call('ZREM', dlqIdx, id)
  end
end
return out`;

type Script = (...args: (string | number)[]) => Promise<unknown>;

function entry(d: ParkedDelivery): string {
  return `${d.deliveryId}\t${JSON.stringify(d)}`;
}

function fromEntry(raw: string): ParkedDelivery {
  return JSON.parse(raw.slice(raw.indexOf('\t') + 1)) as ParkedDelivery;
}

export class RedisRetryStore implements RetryStore {
  readonly redis: Redis;
  private readonly scripts: Record<
    'park' | 'appendIfParked' | 'claim' | 'settle' | 'takeOver' | 'takeDead',
    { numberOfKeys: number; lua: string }
  > = {
    park: { numberOfKeys: 4, lua: PARK },
    appendIfParked: { numberOfKeys: 2, lua: APPEND_IF_PARKED },
    claim: { numberOfKeys: 2, lua: CLAIM },
    settle: { numberOfKeys: 6, lua: SETTLE },
    takeOver: { numberOfKeys: 2, lua: TAKE_OVER },
    takeDead: { numberOfKeys: 2, lua: TAKE_DEAD },
  };

  constructor(
    url: string,
    private readonly prefix = 'psi',
    onError: (err: Error) => void = () => {},
  ) {
    this.redis = new Redis(url, {
      lazyConnect: false,
      maxRetriesPerRequest: null, // an outage waits (backpressure), it never drops a write
      enableAutoPipelining: true,
      retryStrategy: (times) => Math.min(times * 100, 2000),
    });
    this.redis.on('error', onError);
    for (const [name, s] of Object.entries(this.scripts)) this.redis.defineCommand(name, s);
  }

  private run(name: keyof RedisRetryStore['scripts'], ...args: (string | number)[]): Promise<unknown> {
    return (this.redis as unknown as Record<string, Script>)[name]!(...args);
  }

  private k(customer: string): string {
    return `${this.prefix}:{${customer}}`;
  }
  private due(c: string, s: string) {
    return `${this.k(c)}:due:${s}`;
  }
  private lease(c: string, s: string) {
    return `${this.k(c)}:lease:${s}`;
  }
  private listPrefix(c: string, s: string) {
    return `${this.k(c)}:list:${s}:`;
  }
  private nShard(c: string, s: string) {
    return `${this.k(c)}:n:${s}`;
  }
  private nAll(c: string) {
    return `${this.k(c)}:n`;
  }
  private dlq(c: string) {
    return `${this.k(c)}:dlq`;
  }
  private dlqIdx(c: string) {
    return `${this.k(c)}:dlqidx`;
  }

  private groupByShard<T extends { customer: string; shard: string }>(items: { d: T; extra: string[] }[]) {
    const groups = new Map<string, { c: string; s: string; args: string[] }>();
    for (const { d, extra } of items) {
      const key = `${d.customer}\u0000${d.shard}`;
      let g = groups.get(key);
      if (!g) {
        g = { c: d.customer, s: d.shard, args: [] };
        groups.set(key, g);
      }
      g.args.push(...extra);
    }
    return [...groups.values()];
  }

  async park(items: ParkItem[], opts: { front?: boolean } = {}): Promise<void> {
    // For the front, push in reverse so the first item given ends up first (and sets the due time last).
    const ordered = opts.front ? [...items].reverse() : items;
    const groups = this.groupByShard(
      ordered.map(({ delivery: d, dueAt, leased }) => ({
        d,
        extra: [d.orderingKey, entry(d), String(dueAt), leased ? '1' : '0'],
      })),
    );
    await Promise.all(
      groups.map((g) =>
        this.run(
          'park',
          this.due(g.c, g.s),
          this.nShard(g.c, g.s),
          this.nAll(g.c),
          this.lease(g.c, g.s),
          this.listPrefix(g.c, g.s),
          opts.front ? 'front' : 'back',
          ...g.args,
        ),
      ),
    );
  }

  async appendIfParked(items: ParkedDelivery[]): Promise<boolean[]> {
    // Keep answers aligned with the input: one script call per shard, results mapped back by position.
    const byShard = new Map<string, number[]>();
    items.forEach((d, i) => {
      const key = `${d.customer}\u0000${d.shard}`;
      const list = byShard.get(key) ?? [];
      list.push(i);
      byShard.set(key, list);
    });
    const out: boolean[] = new Array<boolean>(items.length).fill(false);
    await Promise.all(
      [...byShard.values()].map(async (indexes) => {
        const first = items[indexes[0]!]!;
        const args = indexes.flatMap((i) => [items[i]!.orderingKey, entry(items[i]!)]);
        const res = (await this.run(
          'appendIfParked',
          this.nShard(first.customer, first.shard),
          this.nAll(first.customer),
          this.listPrefix(first.customer, first.shard),
          ...args,
        )) as number[];
        indexes.forEach((i, j) => (out[i] = res[j] === 1));
      }),
    );
    return out;
  }

  async claimDue(customer: string, shard: string, now: number, limit: number, leaseMs: number) {
    const res = (await this.run(
      'claim',
      this.due(customer, shard),
      this.lease(customer, shard),
      this.listPrefix(customer, shard),
      now,
      limit,
      now + leaseMs,
    )) as string[];
    return res.map(fromEntry);
  }

  private settle(d: ParkedDelivery, mode: string, t: number, ...extra: string[]): Promise<unknown> {
    return this.run(
      'settle',
      this.due(d.customer, d.shard),
      this.lease(d.customer, d.shard),
      this.nShard(d.customer, d.shard),
      this.nAll(d.customer),
      this.dlq(d.customer),
      this.dlqIdx(d.customer),
      this.listPrefix(d.customer, d.shard),
      d.orderingKey,
      d.deliveryId,
      mode,
      t,
      ...extra,
    );
  }

  async complete(d: ParkedDelivery, now: number): Promise<void> {
    await this.settle(d, 'complete', now);
  }
  async reschedule(d: ParkedDelivery, dueAt: number): Promise<void> {
    await this.settle(d, 'reschedule', dueAt, entry(d));
  }
  async release(d: ParkedDelivery, dueAt: number): Promise<void> {
    await this.settle(d, 'release', dueAt);
  }
  async deadLetterHead(d: ParkedDelivery, reason: string, now: number): Promise<void> {
    const dead: DeadLetter = { id: d.eventId, delivery: d, reason, deadAt: now };
    await this.settle(d, 'dead', now, JSON.stringify(dead), d.eventId);
  }

  async addDeadLetter(d: ParkedDelivery, reason: string, now: number): Promise<void> {
    const dead: DeadLetter = { id: d.eventId, delivery: d, reason, deadAt: now };
    await this.redis
      .multi()
      .hset(this.dlq(d.customer), d.eventId, JSON.stringify(dead))
      .zadd(this.dlqIdx(d.customer), now, d.eventId)
      .exec();
  }

  async takeOver(customer: string, shard: string, now: number): Promise<void> {
    await this.run('takeOver', this.due(customer, shard), this.lease(customer, shard), now);
  }

  async parkedCount(customer: string, shard?: string): Promise<number> {
    const v = await this.redis.get(shard === undefined ? this.nAll(customer) : this.nShard(customer, shard));
    return Math.max(0, Number(v ?? 0));
  }

  async listDeadLetters(customer: string, offset: number, limit: number) {
    const [total, ids] = await Promise.all([
      this.redis.zcard(this.dlqIdx(customer)),
      this.redis.zrevrange(this.dlqIdx(customer), offset, offset + limit - 1),
    ]);
    const values = ids.length ? await this.redis.hmget(this.dlq(customer), ...ids) : [];
    const items = values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as DeadLetter);
    return { total, items };
  }

  async takeDeadLetters(customer: string, ids?: string[]): Promise<DeadLetter[]> {
    const res = (await this.run(
      'takeDead',
      this.dlq(customer),
      this.dlqIdx(customer),
      ...(ids ?? []),
    )) as string[];
    return res.map((v) => JSON.parse(v) as DeadLetter);
  }

  async recordPoison(record: PoisonRecord): Promise<void> {
    const key = `${this.prefix}:poison`;
    await this.redis
      .multi()
      .lpush(key, JSON.stringify(record))
      .ltrim(key, 0, POISON_KEEP - 1)
      .exec();
  }

  async discardDeadLetters(customer: string, ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const [removed] = (await this.redis
      .multi()
      .hdel(this.dlq(customer), ...ids)
      .zrem(this.dlqIdx(customer), ...ids)
      .exec()) as [[Error | null, number], [Error | null, number]];
    return removed[1];
  }

  async listPoison(offset: number, limit: number) {
    const key = `${this.prefix}:poison`;
    const [total, raw] = await Promise.all([
      this.redis.llen(key),
      this.redis.lrange(key, offset, offset + limit - 1),
    ]);
    return { total, items: raw.map((r) => JSON.parse(r) as PoisonRecord) };
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
