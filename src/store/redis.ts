/**
 * Redis RetryStore (ioredis). Every change is one Lua script (`redis-scripts.ts`), fenced by the shard
 * owner's epoch. All keys of one customer share a hash tag (`{customer}`), which keeps each script on one
 * slot of a cluster.
 *
 *   <p>:{c}:epoch:<shard>          hash    the owner's epoch (+1 at every takeover) and group generation
 *   <p>:{c}:due:<shard>            zset    package → time its head is due (claimed packages are absent)
 *   <p>:{c}:claimed:<shard>        set     packages whose head the owner holds
 *   <p>:{c}:list:<shard>:<pkg>     list    "<deliveryId>\t<json>" in record order
 *   <p>:{c}:ids:<shard>            set     delivery ids parked (a delivery is parked at most once)
 *   <p>:{c}:n:<shard>, <p>:{c}:n   counters of parked deliveries
 *   <p>:{c}:dlq, <p>:{c}:dlqidx    hash + zset of dead letters (bounded)
 *   <p>:poison                     list of "<at>\t<json>" poison messages (bounded)
 *   <p>:{c}:limits, holders, paused  the limits shared by a group's integrators (`redis-limits.ts`)
 *
 * Errors are not retried here: the lanes retry every write with backoff and keep the work meanwhile. The
 * client queues commands while it reconnects (an outage makes writes wait, never drop them).
 */
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type {
  ClaimResult,
  DeadLetter,
  Durability,
  LimitsGrant,
  LimitsRequest,
  LimitsView,
  MovePackage,
  ParkedDelivery,
  PoisonRecord,
  RetryStore,
  SettleOp,
  ShardRef,
  StoreLimits,
  TrimListener,
} from './port.ts';
import { DEFAULT_LIMITS, StaleEpochError, replayed } from './port.ts';
import {
  ADD_DEAD,
  APPEND_IF_PARKED,
  CLAIM,
  PARK,
  POISON,
  REPLAY,
  SETTLE,
  TAKE_OVER,
} from './redis-scripts.ts';
import { checkLimitsRequest, checkPaused, viewLimits } from './limits.ts';
import type { Paused } from './limits.ts';
import {
  LIMITS_SCRIPTS,
  limitsKeys,
  parseGrant,
  parsePaused,
  stateFromHashes,
  syncArgs,
} from './redis-limits.ts';

const SCRIPTS = {
  takeOver: { numberOfKeys: 5, lua: TAKE_OVER },
  park: { numberOfKeys: 6, lua: PARK },
  appendIfParked: { numberOfKeys: 4, lua: APPEND_IF_PARKED },
  claim: { numberOfKeys: 3, lua: CLAIM },
  settle: { numberOfKeys: 8, lua: SETTLE },
  addDead: { numberOfKeys: 3, lua: ADD_DEAD },
  replay: { numberOfKeys: 3, lua: REPLAY },
  poison: { numberOfKeys: 1, lua: POISON },
  ...LIMITS_SCRIPTS,
};
type ScriptName = keyof typeof SCRIPTS;

function entry(d: ParkedDelivery): string {
  return `${d.deliveryId}\t${JSON.stringify(d)}`;
}

function fromEntry(raw: string): ParkedDelivery {
  return JSON.parse(raw.slice(raw.indexOf('\t') + 1)) as ParkedDelivery;
}

export interface RedisStoreOptions {
  prefix?: string;
  limits?: StoreLimits;
  onError?: (err: Error) => void;
  onTrimmed?: TrimListener;
  /** Complete connection options (host, port, TLS, credentials); when given, `url` is not read. */
  connection?: RedisOptions;
}

export class RedisRetryStore implements RetryStore {
  readonly redis: Redis;
  private readonly prefix: string;
  private readonly limits: StoreLimits;
  private readonly onTrimmed: TrimListener;

  constructor(url: string, opts: RedisStoreOptions = {}) {
    this.prefix = opts.prefix ?? 'psi';
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    this.onTrimmed = opts.onTrimmed ?? (() => {});
    const behaviour: RedisOptions = {
      lazyConnect: false,
      maxRetriesPerRequest: null, // an outage waits (the lanes keep the work), it never drops a write
      enableAutoPipelining: true,
      retryStrategy: (times) => Math.min(times * 100, 2000),
    };
    // Complete connection options (host, TLS, credentials: store/redis-connection.ts) replace the URL.
    this.redis = opts.connection
      ? new Redis({ ...opts.connection, ...behaviour })
      : new Redis(url, behaviour);
    this.redis.on('error', opts.onError ?? (() => {}));
    for (const [name, s] of Object.entries(SCRIPTS)) this.redis.defineCommand(name, s);
  }

  private run(name: ScriptName, ...args: (string | number)[]): Promise<unknown> {
    return (this.redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[name]!(
      ...args,
    );
  }

  /** Runs a fenced script; 'STALE' becomes a StaleEpochError. */
  private async fenced(ref: ShardRef, name: ScriptName, ...args: (string | number)[]): Promise<unknown> {
    const res = await this.run(name, ...args);
    if (Array.isArray(res) && res[0] === 'STALE') {
      const gen = res[1] as string;
      throw new StaleEpochError(ref, gen === '' ? null : Number(gen));
    }
    return res;
  }

  private k(c: string): string {
    return `${this.prefix}:{${c}}`;
  }
  private key(c: string, what: string, s: string): string {
    return `${this.k(c)}:${what}:${s}`;
  }
  private listPrefix(c: string, s: string): string {
    return `${this.k(c)}:list:${s}:`;
  }

  async takeOver(customer: string, shard: string, now: number, generation: number | null) {
    const [epoch, parked] = (await this.run(
      'takeOver',
      this.key(customer, 'epoch', shard),
      this.key(customer, 'due', shard),
      this.key(customer, 'claimed', shard),
      this.key(customer, 'n', shard),
      this.key(customer, 'lease', shard),
      now,
      generation ?? '',
    )) as [number, number];
    return { epoch, parked: Math.max(0, parked) };
  }

  async park(ref: ShardRef, packages: MovePackage[]): Promise<void> {
    const { customer: c, shard: s } = ref;
    const args: (string | number)[] = [];
    for (const p of packages) {
      args.push(p.orderingKey, p.items.length, p.dueAt, p.headClaimed ? '1' : '0');
      for (const d of p.items) args.push(d.deliveryId, entry(d));
    }
    if (args.length === 0) return;
    await this.fenced(
      ref,
      'park',
      this.key(c, 'epoch', s),
      this.key(c, 'due', s),
      this.key(c, 'claimed', s),
      this.key(c, 'ids', s),
      this.key(c, 'n', s),
      `${this.k(c)}:n`,
      ref.epoch,
      this.listPrefix(c, s),
      ...args,
    );
  }

  async appendIfParked(ref: ShardRef, items: ParkedDelivery[]): Promise<boolean[]> {
    if (items.length === 0) return [];
    const { customer: c, shard: s } = ref;
    const res = (await this.fenced(
      ref,
      'appendIfParked',
      this.key(c, 'epoch', s),
      this.key(c, 'ids', s),
      this.key(c, 'n', s),
      `${this.k(c)}:n`,
      ref.epoch,
      this.listPrefix(c, s),
      ...items.flatMap((d) => [d.orderingKey, d.deliveryId, entry(d)]),
    )) as number[];
    return res.map((x) => x === 1);
  }

  async claim(ref: ShardRef, now: number, limit: number): Promise<ClaimResult> {
    const { customer: c, shard: s } = ref;
    const [heads, next] = (await this.fenced(
      ref,
      'claim',
      this.key(c, 'epoch', s),
      this.key(c, 'due', s),
      this.key(c, 'claimed', s),
      ref.epoch,
      this.listPrefix(c, s),
      now,
      limit,
    )) as [string[], string];
    return { heads: heads.map(fromEntry), nextDueAt: next === '' ? null : Number(next) };
  }

  async settle(ref: ShardRef, ops: SettleOp[], now: number): Promise<void> {
    if (ops.length === 0) return;
    const { customer: c, shard: s } = ref;
    const args = ops.flatMap((o) => {
      const d = o.delivery;
      const base = [o.op, d.orderingKey, d.deliveryId];
      if (o.op === 'reschedule') return [...base, o.dueAt, entry(d), ''];
      if (o.op === 'release') return [...base, o.dueAt, '', ''];
      if (o.op === 'dead') return [...base, now, deadLetterJson(d, o.reason, now), d.eventId];
      return [...base, now, '', ''];
    });
    const trimmed = (await this.fenced(
      ref,
      'settle',
      this.key(c, 'epoch', s),
      this.key(c, 'due', s),
      this.key(c, 'claimed', s),
      this.key(c, 'ids', s),
      this.key(c, 'n', s),
      `${this.k(c)}:n`,
      `${this.k(c)}:dlq`,
      `${this.k(c)}:dlqidx`,
      ref.epoch,
      this.listPrefix(c, s),
      now,
      this.limits.deadLettersMax,
      this.limits.deadLettersMaxAgeMs,
      ...args,
    )) as number;
    if (trimmed > 0) this.onTrimmed('dead_letter', trimmed);
  }

  async addDeadLetter(ref: ShardRef, d: ParkedDelivery, reason: string, now: number): Promise<void> {
    const c = ref.customer;
    const trimmed = (await this.fenced(
      ref,
      'addDead',
      this.key(c, 'epoch', ref.shard),
      `${this.k(c)}:dlq`,
      `${this.k(c)}:dlqidx`,
      ref.epoch,
      now,
      this.limits.deadLettersMax,
      this.limits.deadLettersMaxAgeMs,
      d.eventId,
      deadLetterJson(d, reason, now),
    )) as number;
    if (trimmed > 0) this.onTrimmed('dead_letter', trimmed);
  }

  async parkedCount(customer: string, shard?: string): Promise<number> {
    const v = await this.redis.get(
      shard === undefined ? `${this.k(customer)}:n` : this.key(customer, 'n', shard),
    );
    return Math.max(0, Number(v ?? 0));
  }

  async listDeadLetters(customer: string, offset: number, limit: number) {
    const idx = `${this.k(customer)}:dlqidx`;
    const [total, ids] = await Promise.all([
      this.redis.zcard(idx),
      this.redis.zrevrange(idx, offset, offset + limit - 1),
    ]);
    const values = ids.length ? await this.redis.hmget(`${this.k(customer)}:dlq`, ...ids) : [];
    const items = values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as DeadLetter);
    return { total, items };
  }

  async replayDeadLetters(customer: string, ids: string[] | null, now: number, limit: number) {
    const dlq = `${this.k(customer)}:dlq`;
    const idx = `${this.k(customer)}:dlqidx`;
    const chosen = ids ? ids.slice(0, limit) : await this.redis.zrange(idx, 0, String(limit - 1));
    const raws = chosen.length ? await this.redis.hmget(dlq, ...chosen) : [];
    const letters = new Map<string, { raw: string; letter: DeadLetter }>();
    const args: string[] = [];
    chosen.forEach((id, i) => {
      const raw = raws[i];
      if (raw == null) return;
      const letter = JSON.parse(raw) as DeadLetter;
      const d = replayed(letter, now);
      letters.set(id, { raw, letter });
      args.push(id, raw, d.shard, d.orderingKey, d.deliveryId, entry(d));
    });
    const done = args.length
      ? ((await this.run(
          'replay',
          dlq,
          idx,
          `${this.k(customer)}:n`,
          this.k(customer),
          now,
          ...args,
        )) as string[])
      : [];
    const remaining = await this.redis.zcard(idx);
    return { replayed: done.map((id) => letters.get(id)!.letter), remaining };
  }

  async discardDeadLetters(customer: string, ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const [removed] = (await this.redis
      .multi()
      .hdel(`${this.k(customer)}:dlq`, ...ids)
      .zrem(`${this.k(customer)}:dlqidx`, ...ids)
      .exec()) as [[Error | null, number], [Error | null, number]];
    return removed[1];
  }

  async recordPoison(record: PoisonRecord): Promise<void> {
    const trimmed = (await this.run(
      'poison',
      `${this.prefix}:poison`,
      `${record.at}\t${JSON.stringify(record)}`,
      this.limits.poisonMax,
      record.at - this.limits.poisonMaxAgeMs,
    )) as number;
    if (trimmed > 0) this.onTrimmed('poison', trimmed);
  }

  async listPoison(offset: number, limit: number) {
    const key = `${this.prefix}:poison`;
    const [total, raw] = await Promise.all([
      this.redis.llen(key),
      this.redis.lrange(key, offset, offset + limit - 1),
    ]);
    return { total, items: raw.map((r) => JSON.parse(r.slice(r.indexOf('\t') + 1)) as PoisonRecord) };
  }

  async durability(): Promise<Durability> {
    const memory = await this.redis.info('memory');
    const persistence = await this.redis.info('persistence');
    const field = (text: string, name: string): string | null =>
      new RegExp(`^${name}:(.*)$`, 'm').exec(text)?.[1]?.trim() ?? null;
    let appendfsync: string | null = null;
    try {
      const res = (await this.redis.config('GET', 'appendfsync')) as string[];
      appendfsync = res[1] ?? null;
    } catch {
      // Managed Redis often refuses CONFIG: the fsync policy is then unknown (said so at start).
    }
    const aof = field(persistence, 'aof_enabled');
    return {
      evictionPolicy: field(memory, 'maxmemory_policy'),
      aof: aof === null ? null : aof === '1',
      appendfsync,
    };
  }

  async syncLimits(req: LimitsRequest, now: number): Promise<LimitsGrant> {
    checkLimitsRequest(req, now);
    const keys = limitsKeys(this.k(req.customer));
    return parseGrant(await this.run('syncLimits', ...keys, ...syncArgs(req, now)));
  }

  async releaseLimits(customer: string, holder: string, _now: number): Promise<void> {
    const [limits, holders] = limitsKeys(this.k(customer));
    await this.run('releaseLimits', limits, holders, holder);
  }

  async setPaused(customer: string, paused: Paused): Promise<void> {
    checkPaused(paused);
    const key = limitsKeys(this.k(customer))[2];
    if (paused) await this.redis.set(key, JSON.stringify({ reason: paused.reason, at: paused.at }));
    else await this.redis.del(key);
  }

  async limitsView(customer: string, now: number): Promise<LimitsView> {
    const [limits, holders, paused] = limitsKeys(this.k(customer));
    const res = (await this.redis.multi().hgetall(limits).hgetall(holders).get(paused).exec()) as [
      [Error | null, Record<string, string>],
      [Error | null, Record<string, string>],
      [Error | null, string | null],
    ];
    for (const [err] of res) if (err) throw err;
    return viewLimits(stateFromHashes(res[0][1], res[1][1]), parsePaused(res[2][1]), now);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

function deadLetterJson(d: ParkedDelivery, reason: string, now: number): string {
  const letter: DeadLetter = { id: d.eventId, delivery: d, reason, deadAt: now };
  return JSON.stringify(letter);
}
