/**
 * One conformance suite for the RetryStore port: every adapter must pass it unchanged (memory, Redis).
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { ParkedDelivery, RetryStore, ShardRef, StoreLimits } from '../../src/store/port.ts';
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
