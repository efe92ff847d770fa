/**
 * One conformance suite for the RetryStore port: every adapter must pass it unchanged (memory, Redis).
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type {
  LimitsRequest,
  ParkedDelivery,
  RetryStore,
  ShardRef,
  StoreLimits,
} from '../../src/store/port.ts';
import { StaleEpochError } from '../../src/store/port.ts';

let seq = 0;
export function delivery(over: Partial<ParkedDelivery> = {}): ParkedDelivery {
  seq += 1;
  const eventId = over.eventId ?? `evt_${seq}`;
  const customer = over.customer ?? 'c1';
  return {
    deliveryId: `${customer}/${eventId}`,
    eventId,
    customer,
    shard: 'topic:0',
    orderingKey: 'PKG-1',
    body: `{"id":"${eventId}","big":9007199254740993}`,
    commitTsMs: 1000,
    attempts: 0,
    lastError: null,
    firstSeenAt: 1,
    label: 'In Transit',
    ...over,
  };
}

export type MakeStore = (
  limits?: StoreLimits,
  onTrimmed?: (what: string, n: number) => void,
) => Promise<RetryStore>;

export function storeConformance(name: string, make: MakeStore): void {
  describe(`RetryStore conformance: ${name}`, () => {
    let store: RetryStore;
    let customer: string;
    let ref: ShardRef;
    const created: RetryStore[] = [];
    beforeEach(async () => {
      store = await make();
      created.push(store);
      customer = `c${Math.random().toString(36).slice(2, 8)}`;
      ref = { customer, shard: 'topic:0', ...(await store.takeOver(customer, 'topic:0', 0, 7)) };
    });
    afterAll(async () => {
      for (const s of created) await s.close();
    });
    const d = (over: Partial<ParkedDelivery> = {}) => delivery({ customer, ...over });
    const pkg = (items: ParkedDelivery[], dueAt = 0, headClaimed = false) => ({
      orderingKey: items[0]!.orderingKey,
      items,
      dueAt,
      headClaimed,
    });

    it('parks whole packages in order and hands out only heads, each once until settled', async () => {
      const a1 = d({ orderingKey: 'A' });
      const a2 = d({ orderingKey: 'A' });
      const b1 = d({ orderingKey: 'B' });
      await store.park(ref, [pkg([a1, a2]), pkg([b1], 5)]);
      expect(await store.parkedCount(customer)).toBe(3);
      const first = await store.claim(ref, 10, 10);
      expect(first.heads.map((x) => x.deliveryId).sort()).toEqual([a1.deliveryId, b1.deliveryId].sort());
      expect(first.heads.find((x) => x.orderingKey === 'A')).toEqual(a1);
      // Claimed until settled: no lease runs out, nothing is handed out twice.
      expect((await store.claim(ref, 1e12, 10)).heads).toEqual([]);
      await store.settle(ref, [{ op: 'complete', delivery: a1 }], 20);
      const second = await store.claim(ref, 20, 10);
      expect(second.heads).toEqual([a2]);
      expect(await store.parkedCount(customer, 'topic:0')).toBe(2);
    });

    it('claims only what is due, and says when the next package is due', async () => {
      await store.park(ref, [pkg([d({ orderingKey: 'A' })], 100), pkg([d({ orderingKey: 'B' })], 300)]);
      expect(await store.claim(ref, 50, 10)).toEqual({ heads: [], nextDueAt: 100 });
      const r = await store.claim(ref, 100, 10);
      expect(r.heads.map((x) => x.orderingKey)).toEqual(['A']);
      expect(r.nextDueAt).toBe(300);
      const r2 = await store.claim(ref, 1000, 10);
      expect(r2).toMatchObject({ nextDueAt: null });
    });

    it('a takeover makes a new epoch: the previous owner is fenced and its claims come back due', async () => {
      const a1 = d({ orderingKey: 'A' });
      await store.park(ref, [pkg([a1])]);
      expect((await store.claim(ref, 0, 10)).heads).toEqual([a1]);
      const next = await store.takeOver(customer, 'topic:0', 50, 9);
      expect(next.epoch).toBeGreaterThan(ref.epoch);
      expect(next.parked).toBe(1);
      const newRef = { customer, shard: 'topic:0', epoch: next.epoch };
      // Every write of the old owner is refused and changes nothing.
      await expect(store.settle(ref, [{ op: 'complete', delivery: a1 }], 60)).rejects.toMatchObject({
        code: 'STALE_EPOCH',
        ownerGeneration: 9,
      });
      await expect(store.park(ref, [pkg([d({ orderingKey: 'A' })])])).rejects.toBeInstanceOf(StaleEpochError);
      await expect(store.appendIfParked(ref, [d({ orderingKey: 'A' })])).rejects.toBeInstanceOf(
        StaleEpochError,
      );
      await expect(store.claim(ref, 60, 10)).rejects.toBeInstanceOf(StaleEpochError);
      await expect(store.addDeadLetter(ref, a1, 'x', 60)).rejects.toBeInstanceOf(StaleEpochError);
      expect(await store.parkedCount(customer)).toBe(1);
      expect((await store.listDeadLetters(customer, 0, 10)).total).toBe(0);
      // The new owner gets the head at once.
      expect((await store.claim(newRef, 50, 10)).heads).toEqual([a1]);
    });

    it('a write before any takeover of the shard is refused', async () => {
      const never = { customer, shard: 'topic:9', epoch: 1 };
      await expect(store.park(never, [pkg([d({ shard: 'topic:9' })])])).rejects.toBeInstanceOf(
        StaleEpochError,
      );
    });

    it('reschedule stores the new attempt count and due time; release keeps it; both end the claim', async () => {
      const a1 = d({ orderingKey: 'A' });
      await store.park(ref, [pkg([a1])]);
      await store.claim(ref, 0, 1);
      const failed = { ...a1, attempts: 1, lastError: 'HTTP 503' };
      await store.settle(ref, [{ op: 'reschedule', delivery: failed, dueAt: 500 }], 10);
      expect((await store.claim(ref, 499, 1)).heads).toEqual([]);
      expect((await store.claim(ref, 500, 1)).heads).toEqual([failed]);
      await store.settle(ref, [{ op: 'release', delivery: failed, dueAt: 700 }], 600);
      expect((await store.claim(ref, 700, 1)).heads).toEqual([failed]);
    });

    it('settling a delivery that is not the claimed head does nothing', async () => {
      const a1 = d({ orderingKey: 'A' });
      const a2 = d({ orderingKey: 'A' });
      await store.park(ref, [pkg([a1, a2])]);
      // Not claimed yet: completing it changes nothing.
      await store.settle(ref, [{ op: 'complete', delivery: a1 }], 1);
      expect(await store.parkedCount(customer)).toBe(2);
      await store.claim(ref, 1, 1);
      await store.settle(ref, [{ op: 'complete', delivery: a2 }], 2);
      expect(await store.parkedCount(customer)).toBe(2);
      await store.settle(
        ref,
        [
          { op: 'complete', delivery: a1 },
          { op: 'complete', delivery: a1 },
        ],
        3,
      );
      expect(await store.parkedCount(customer)).toBe(1);
    });

    it('appendIfParked appends only behind packages that have parked work, in order', async () => {
      const a1 = d({ orderingKey: 'A' });
      await store.park(ref, [pkg([a1])]);
      const a2 = d({ orderingKey: 'A' });
      const a3 = d({ orderingKey: 'A' });
      const b1 = d({ orderingKey: 'B' });
      expect(await store.appendIfParked(ref, [a2, b1, a3])).toEqual([true, false, true]);
      const heads: ParkedDelivery[] = [];
      for (let t = 1; t < 10; t++) {
        const { heads: got } = await store.claim(ref, t, 10);
        for (const h of got) {
          heads.push(h);
          await store.settle(ref, [{ op: 'complete', delivery: h }], t);
        }
      }
      expect(heads.map((h) => h.deliveryId)).toEqual([a1, a2, a3].map((x) => x.deliveryId));
      expect(await store.parkedCount(customer)).toBe(0);
    });

    it('a delivery is parked at most once (a record read again after a crash)', async () => {
      const a1 = d({ orderingKey: 'A' });
      const a2 = d({ orderingKey: 'A' });
      await store.park(ref, [pkg([a1, a2])]);
      expect(await store.appendIfParked(ref, [a2])).toEqual([true]);
      await store.park(ref, [pkg([a1])]);
      expect(await store.parkedCount(customer)).toBe(2);
      // Once settled it can be parked again (it was delivered: sending it again is a duplicate, not a loss).
      await store.claim(ref, 0, 1);
      await store.settle(ref, [{ op: 'complete', delivery: a1 }], 1);
      expect(await store.appendIfParked(ref, [a1])).toEqual([true]);
      expect(await store.parkedCount(customer)).toBe(2);
    });

    it('a package moved with its head in flight is claimed by this owner and settled like any claim', async () => {
      const a1 = d({ orderingKey: 'A' });
      const a2 = d({ orderingKey: 'A' });
      await store.park(ref, [pkg([a1, a2], 0, true)]);
      expect((await store.claim(ref, 1e12, 10)).heads).toEqual([]);
      await store.settle(ref, [{ op: 'complete', delivery: a1 }], 5);
      expect((await store.claim(ref, 5, 10)).heads).toEqual([a2]);
    });

    it('dead letters keep the reason, list newest first, replay atomically as packages of their own', async () => {
      const a1 = d({ orderingKey: 'A' });
      await store.park(ref, [pkg([a1])]);
      await store.claim(ref, 0, 1);
      await store.settle(
        ref,
        [{ op: 'dead', delivery: { ...a1, attempts: 8 }, reason: 'gave up: HTTP 503' }],
        10,
      );
      await store.addDeadLetter(ref, d({ eventId: 'evt_direct' }), 'HTTP 400', 20);
      const list = await store.listDeadLetters(customer, 0, 10);
      expect(list.total).toBe(2);
      expect(list.items.map((x) => x.id)).toEqual(['evt_direct', a1.eventId]);
      expect(list.items[1]).toMatchObject({ reason: 'gave up: HTTP 503', deadAt: 10 });
      expect(list.items[1]!.delivery.attempts).toBe(8);
      expect(await store.parkedCount(customer)).toBe(0);

      const r = await store.replayDeadLetters(customer, [a1.eventId, 'evt_missing'], 30, 100);
      expect(r.replayed.map((x) => x.id)).toEqual([a1.eventId]);
      expect(r.remaining).toBe(1);
      expect(await store.parkedCount(customer)).toBe(1);
      const { heads } = await store.claim(ref, 30, 10);
      expect(heads).toHaveLength(1);
      expect(heads[0]).toMatchObject({ eventId: a1.eventId, attempts: 0, body: a1.body });
      expect(heads[0]!.orderingKey).not.toBe('A');
      const rest = await store.replayDeadLetters(customer, null, 40, 100);
      expect(rest.replayed.map((x) => x.id)).toEqual(['evt_direct']);
      expect(rest.remaining).toBe(0);
    });

    it('replays page by page, oldest first', async () => {
      for (let i = 0; i < 5; i++) await store.addDeadLetter(ref, d({ eventId: `evt_p${i}` }), 'x', i);
      const first = await store.replayDeadLetters(customer, null, 10, 2);
      expect(first.replayed.map((x) => x.id)).toEqual(['evt_p0', 'evt_p1']);
      expect(first.remaining).toBe(3);
    });

    it('discards dead letters for good', async () => {
      await store.addDeadLetter(ref, d({ eventId: 'evt_a' }), 'HTTP 400', 1);
      await store.addDeadLetter(ref, d({ eventId: 'evt_b' }), 'HTTP 400', 2);
      expect(await store.discardDeadLetters(customer, ['evt_a', 'evt_missing'])).toBe(1);
      const left = await store.listDeadLetters(customer, 0, 10);
      expect(left.items.map((x) => x.id)).toEqual(['evt_b']);
    });

    it('bounds dead letters by count and by age, and says how many it trimmed', async () => {
      const trims: [string, number][] = [];
      const small = await make(
        { deadLettersMax: 3, deadLettersMaxAgeMs: 1000, poisonMax: 2, poisonMaxAgeMs: 1000 },
        (what, n) => trims.push([what, n]),
      );
      created.push(small);
      const r = { customer, shard: 'topic:0', ...(await small.takeOver(customer, 'topic:0', 0, null)) };
      for (let i = 0; i < 5; i++) await small.addDeadLetter(r, d({ eventId: `evt_t${i}` }), 'x', 100 + i);
      expect((await small.listDeadLetters(customer, 0, 10)).items.map((x) => x.id)).toEqual([
        'evt_t4',
        'evt_t3',
        'evt_t2',
      ]);
      await small.addDeadLetter(r, d({ eventId: 'evt_late' }), 'x', 2000);
      expect((await small.listDeadLetters(customer, 0, 10)).items.map((x) => x.id)).toEqual(['evt_late']);
      expect(trims.filter(([w]) => w === 'dead_letter').reduce((s, [, n]) => s + n, 0)).toBe(5);

      const p = { topic: 't', partition: 0, reason: 'invalid_json', key: null, value: '{' };
      await small.recordPoison({ ...p, offset: '1', at: 100 });
      await small.recordPoison({ ...p, offset: '2', at: 200 });
      await small.recordPoison({ ...p, offset: '3', at: 300 });
      expect((await small.listPoison(0, 10)).items.map((x) => x.offset)).toEqual(['3', '2']);
      await small.recordPoison({ ...p, offset: '4', at: 1250 });
      expect((await small.listPoison(0, 10)).items.map((x) => x.offset)).toEqual(['4', '3']);
      expect(trims.filter(([w]) => w === 'poison').reduce((s, [, n]) => s + n, 0)).toBe(2);
    });

    it('shards and customers are independent', async () => {
      const other = { customer, shard: 't:1', ...(await store.takeOver(customer, 't:1', 0, null)) };
      await store.park(other, [pkg([d({ shard: 't:1' })])]);
      const c2 = `${customer}-other`;
      const ref2 = { customer: c2, shard: 'topic:0', ...(await store.takeOver(c2, 'topic:0', 0, null)) };
      await store.park(ref2, [pkg([delivery({ customer: c2 })])]);
      expect((await store.claim(ref, 0, 10)).heads).toEqual([]);
      expect((await store.claim(other, 0, 10)).heads).toHaveLength(1);
      expect(await store.parkedCount(customer)).toBe(1);
      expect(await store.parkedCount(c2)).toBe(1);
    });

    it('keeps poison messages, newest first, by page', async () => {
      const p = { topic: 't', partition: 0, reason: 'invalid_json', key: null, value: '{', at: 1 };
      await store.recordPoison({ ...p, offset: '1' });
      await store.recordPoison({ ...p, offset: '2' });
      await store.recordPoison({ ...p, offset: '3' });
      const page = await store.listPoison(1, 2);
      expect(page.total).toBeGreaterThanOrEqual(3);
      expect(page.items.map((x) => x.offset)).toEqual(['2', '1']);
    });

    it('reports its durability settings and answers ping', async () => {
      const dur = await store.durability();
      expect(dur).toHaveProperty('evictionPolicy');
      expect(dur).toHaveProperty('aof');
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}

/** A shared store that several clients (integrator processes) reach: memory, the one store; Redis, new connections. */
export interface LimitsBacking {
  client(): Promise<RetryStore>;
}

export const POLICY = { threshold: 50, volumeThreshold: 4, windowMs: 10_000, resetTimeoutMs: 5_000 };

export function limitsRequest(over: Partial<LimitsRequest> & Pick<LimitsRequest, 'customer' | 'holder'>) {
  const base: LimitsRequest = {
    customer: over.customer,
    holder: over.holder,
    leaseMs: 10_000,
    concurrency: 10,
    ratePerSecond: null,
    breaker: POLICY,
    want: 0,
    inUse: 0,
    tokens: 0,
    unusedTokens: 0,
    failures: 0,
    successes: 0,
    probe: null,
    wantProbe: false,
  };
  return { ...base, ...over };
}

export function limitsConformance(name: string, open: () => Promise<LimitsBacking>): void {
  describe(`RetryStore conformance, shared limits: ${name}`, () => {
    const created: RetryStore[] = [];
    let backing: LimitsBacking;
    let customer: string;
    /** Each holder on a client of its own, as separate processes are. */
    let a: RetryStore;
    let b: RetryStore;
    let c: RetryStore;
    const client = async () => {
      const s = await backing.client();
      created.push(s);
      return s;
    };
    beforeEach(async () => {
      backing = await open();
      customer = `c${Math.random().toString(36).slice(2, 8)}`;
      [a, b, c] = [await client(), await client(), await client()];
    });
    afterAll(async () => {
      for (const s of created) await s.close();
    });
    const sync = (store: RetryStore, holder: string, now: number, over: Partial<LimitsRequest> = {}) =>
      store.syncLimits(limitsRequest({ customer, holder, ...over }), now);

    it('the first holder of a customer with no state yet gets its want, a full bucket, a closed breaker', async () => {
      const g = await sync(a, 'A', 0, { want: 4, ratePerSecond: 3, tokens: 5 });
      expect(g).toEqual({
        permits: 4,
        tokens: 3,
        nextTokenAt: 334,
        breaker: 'closed',
        reopensAt: null,
        probe: false,
        paused: null,
        holders: 1,
      });
    });

    it('two holders share concurrency fairly: the first shrinks to its share as its requests finish', async () => {
      expect((await sync(a, 'A', 0, { want: 10 })).permits).toBe(10);
      // Nothing is free and A is not starved yet: B waits.
      expect(await sync(b, 'B', 1, { want: 10 })).toMatchObject({ permits: 0, holders: 2 });
      // B is starved: A keeps its 10 requests out, and no more than its share once they finish.
      expect((await sync(a, 'A', 2, { want: 10, inUse: 10 })).permits).toBe(10);
      expect((await sync(a, 'A', 3, { want: 10, inUse: 4 })).permits).toBe(5);
      expect((await sync(b, 'B', 4, { want: 10 })).permits).toBe(5);
      expect((await sync(a, 'A', 5, { want: 10, inUse: 5 })).permits).toBe(5);
      const view = await a.limitsView(customer, 5);
      expect(view.holders.map((h) => [h.holder, h.permits])).toEqual([
        ['A', 5],
        ['B', 5],
      ]);
    });

    it("a third holder's arrival shrinks the others as their requests drop, never above concurrency", async () => {
      await sync(a, 'A', 0, { want: 10 });
      await sync(b, 'B', 1, { want: 10 });
      await sync(a, 'A', 2, { want: 10, inUse: 0 });
      await sync(b, 'B', 3, { want: 10 });
      expect((await sync(c, 'C', 4, { want: 10 })).permits).toBe(0);
      expect((await sync(a, 'A', 5, { want: 10, inUse: 5 })).permits).toBe(5);
      expect((await sync(a, 'A', 6, { want: 10, inUse: 2 })).permits).toBe(3);
      expect((await sync(b, 'B', 7, { want: 10, inUse: 1 })).permits).toBe(3);
      const g = await sync(c, 'C', 8, { want: 10 });
      expect(g).toMatchObject({ permits: 3, holders: 3 });
      const sum = (await c.limitsView(customer, 8)).holders.reduce((s, h) => s + h.permits, 0);
      expect(sum).toBeLessThanOrEqual(10);
    });

    it("an expired holder's permits (and its probe) come back to the others after its lease", async () => {
      expect((await sync(a, 'A', 0, { want: 10, leaseMs: 1000 })).permits).toBe(10);
      expect((await sync(b, 'B', 500, { want: 10 })).permits).toBe(0);
      expect((await b.limitsView(customer, 999)).holders.map((h) => h.holder)).toEqual(['A', 'B']);
      expect((await sync(b, 'B', 1000, { want: 10 })).permits).toBe(10);
      expect((await b.limitsView(customer, 1000)).holders.map((h) => h.holder)).toEqual(['B']);
    });

    it('release returns the permits at once', async () => {
      await sync(a, 'A', 0, { want: 10 });
      expect((await sync(b, 'B', 1, { want: 10 })).permits).toBe(0);
      await a.releaseLimits(customer, 'A', 2);
      expect(await sync(b, 'B', 3, { want: 10 })).toMatchObject({ permits: 10, holders: 1 });
    });

    it('one bucket for all holders: never more than capacity + rate × elapsed, unused tokens come back', async () => {
      const r = { ratePerSecond: 5 };
      expect(await sync(a, 'A', 0, { ...r, tokens: 10 })).toMatchObject({ tokens: 5, nextTokenAt: 200 });
      expect(await sync(b, 'B', 100, { ...r, tokens: 10 })).toMatchObject({ tokens: 0, nextTokenAt: 200 });
      expect((await a.limitsView(customer, 100)).tokens).toBeCloseTo(0.5, 9);
      // A gives back 3 it did not use: B can have them.
      expect(await sync(a, 'A', 100, { ...r, unusedTokens: 3 })).toMatchObject({
        tokens: 0,
        nextTokenAt: null,
      });
      expect(await sync(b, 'B', 100, { ...r, tokens: 10 })).toMatchObject({ tokens: 3, nextTokenAt: 200 });
      // A long idle time fills it to one second of burst, no more.
      expect((await sync(a, 'A', 60_000, { ...r, tokens: 10 })).tokens).toBe(5);
      // Without a rate limit everything asked is granted, and the store knows no bucket.
      expect(await sync(a, 'A', 60_001, { tokens: 7 })).toMatchObject({ tokens: 7, nextTokenAt: null });
      expect((await a.limitsView(customer, 60_001)).tokens).toBeNull();
    });

    it('the breaker opens once from the holders’ combined failures; exactly one of them holds the probe', async () => {
      expect((await sync(a, 'A', 0, { failures: 2 })).breaker).toBe('closed');
      expect(await sync(b, 'B', 10, { failures: 2 })).toMatchObject({ breaker: 'open', reopensAt: 5010 });
      // Answers while open are ignored, and do not move the reopening.
      expect(await sync(a, 'A', 20, { failures: 5, successes: 1 })).toMatchObject({
        breaker: 'open',
        reopensAt: 5010,
      });
      expect((await c.limitsView(customer, 5009)).breaker).toBe('open');
      expect((await c.limitsView(customer, 5010)).breaker).toBe('half-open');
      const ga = await sync(a, 'A', 5010, { wantProbe: true });
      const gb = await sync(b, 'B', 5011, { wantProbe: true });
      expect([ga.breaker, ga.probe, gb.breaker, gb.probe]).toEqual(['half-open', true, 'half-open', false]);
      // A's probe failed: open again; B then takes the next probe, and its success closes the breaker.
      expect(await sync(a, 'A', 5100, { probe: 'failed' })).toMatchObject({
        breaker: 'open',
        reopensAt: 10_100,
      });
      expect(await sync(b, 'B', 10_100, { wantProbe: true })).toMatchObject({
        breaker: 'half-open',
        probe: true,
      });
      expect(await sync(a, 'A', 10_101, { wantProbe: true })).toMatchObject({ probe: false });
      // Only the probe's holder decides: A cannot close it.
      expect((await sync(a, 'A', 10_102, { probe: 'ok' })).breaker).toBe('half-open');
      expect(await sync(b, 'B', 10_200, { probe: 'ok' })).toMatchObject({ breaker: 'closed', probe: false });
      // The window was cleared: three more failures are below the volume threshold.
      expect((await sync(a, 'A', 10_300, { failures: 3 })).breaker).toBe('closed');
    });

    it("an abandoned probe, or its holder's expiry, frees the probe for another holder", async () => {
      await sync(a, 'A', 0, { failures: 4, leaseMs: 100_000 });
      expect((await sync(a, 'A', 5000, { wantProbe: true, leaseMs: 1000 })).probe).toBe(true);
      expect((await sync(b, 'B', 5500, { wantProbe: true })).probe).toBe(false);
      expect((await sync(b, 'B', 6000, { wantProbe: true })).probe).toBe(true);
      expect((await sync(b, 'B', 6001, { probe: 'abandoned' })).probe).toBe(false);
      expect((await sync(c, 'C', 6002, { wantProbe: true })).probe).toBe(true);
      await c.releaseLimits(customer, 'C', 6003);
      expect((await sync(a, 'A', 6004, { wantProbe: true })).probe).toBe(true);
    });

    it('a pause is seen by every holder and survives a new client of the store', async () => {
      await a.setPaused(customer, { reason: 'maintenance', at: 42 });
      expect((await sync(b, 'B', 50, { want: 1 })).paused).toEqual({ reason: 'maintenance', at: 42 });
      const later = await client();
      expect((await later.limitsView(customer, 60)).paused).toEqual({ reason: 'maintenance', at: 42 });
      await later.setPaused(customer, null);
      expect((await sync(a, 'A', 70)).paused).toBeNull();
      expect((await b.limitsView(customer, 70)).paused).toBeNull();
    });

    it('refuses a malformed request with a clear error, and changes nothing', async () => {
      await expect(sync(a, 'A', 0, { want: -1 })).rejects.toThrow(/want must be an integer/);
      await expect(sync(a, '', 0)).rejects.toThrow(/holder/);
      await expect(a.setPaused(customer, { reason: null, at: Number.NaN })).rejects.toThrow(/pause/);
      expect((await a.limitsView(customer, 0)).holders).toEqual([]);
    });
  });
}
