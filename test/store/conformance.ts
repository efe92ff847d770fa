/**
 * One conformance suite for the RetryStore port: every adapter must pass it unchanged (memory, Redis).
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { ParkedDelivery, RetryStore } from '../../src/store/port.ts';

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
    ...over,
  };
}

export function storeConformance(name: string, make: () => Promise<RetryStore>): void {
  describe(`RetryStore conformance: ${name}`, () => {
    let store: RetryStore;
    let customer: string;
    const created: RetryStore[] = [];
    beforeEach(async () => {
      store = await make();
      created.push(store);
      customer = `c${Math.random().toString(36).slice(2, 8)}`;
    });
    afterAll(async () => {
      for (const s of created) await s.close();
    });
    const d = (over: Partial<ParkedDelivery> = {}) => delivery({ customer, ...over });

    it('parks per package in order and hands out only heads, each once while leased', async () => {
      const a1 = d({ orderingKey: 'A' });
      const a2 = d({ orderingKey: 'A' });
      const b1 = d({ orderingKey: 'B' });
      await store.park([
        { delivery: a1, dueAt: 100 },
        { delivery: b1, dueAt: 100 },
        { delivery: a2, dueAt: 100 },
      ]);
      expect(await store.parkedCount(customer)).toBe(3);
      expect(await store.parkedCount(customer, 'topic:0')).toBe(3);
      expect(await store.claimDue(customer, 'topic:0', 50, 10, 1000)).toEqual([]); // not due yet
      const claimed = await store.claimDue(customer, 'topic:0', 100, 10, 1000);
      expect(claimed.map((x) => x.deliveryId).sort()).toEqual([a1.deliveryId, b1.deliveryId].sort());
      expect(await store.claimDue(customer, 'topic:0', 200, 10, 1000)).toEqual([]); // leased
      await store.complete(a1, 300);
      const next = await store.claimDue(customer, 'topic:0', 300, 10, 1000);
      expect(next).toEqual([a2]); // exact round trip, big ints in the body included
      expect(await store.parkedCount(customer)).toBe(2);
    });

    it('a lease that runs out makes the head due again (crashed claimer)', async () => {
      const a = d();
      await store.park([{ delivery: a, dueAt: 0 }]);
      expect(await store.claimDue(customer, 'topic:0', 0, 1, 500)).toHaveLength(1);
      expect(await store.claimDue(customer, 'topic:0', 499, 1, 500)).toHaveLength(0);
      expect(await store.claimDue(customer, 'topic:0', 500, 1, 500)).toEqual([a]);
    });

    it('takeOver ends leases at once', async () => {
      const a = d();
      await store.park([{ delivery: a, dueAt: 0 }]);
      await store.claimDue(customer, 'topic:0', 0, 1, 60_000);
      await store.takeOver(customer, 'topic:0', 10);
      expect(await store.claimDue(customer, 'topic:0', 10, 1, 60_000)).toEqual([a]);
    });

    it('reschedule stores the new attempt count and due time; release keeps attempts', async () => {
      const a = d();
      await store.park([{ delivery: a, dueAt: 0 }]);
      const [claimed] = await store.claimDue(customer, 'topic:0', 0, 1, 1000);
      await store.reschedule({ ...claimed!, attempts: 1, lastError: 'HTTP 500' }, 5000);
      expect(await store.claimDue(customer, 'topic:0', 4999, 1, 1000)).toEqual([]);
      const [again] = await store.claimDue(customer, 'topic:0', 5000, 1, 1000);
      expect(again).toMatchObject({ attempts: 1, lastError: 'HTTP 500' });
      await store.release(again!, 6000);
      const [third] = await store.claimDue(customer, 'topic:0', 6000, 1, 1000);
      expect(third).toMatchObject({ attempts: 1 });
    });

    it('settling a head that is no longer the claimed one does nothing', async () => {
      const a = d();
      const stale = { ...a, deliveryId: `${customer}/other` };
      await store.park([{ delivery: a, dueAt: 0 }]);
      await store.complete(stale, 0);
      await store.deadLetterHead(stale, 'x', 0);
      expect(await store.parkedCount(customer)).toBe(1);
      expect((await store.listDeadLetters(customer, 0, 10)).total).toBe(0);
    });

    it('appendIfParked appends only behind packages that have parked work', async () => {
      await store.park([{ delivery: d({ orderingKey: 'A' }), dueAt: 0 }]);
      const a2 = d({ orderingKey: 'A' });
      const b1 = d({ orderingKey: 'B' });
      expect(await store.appendIfParked([a2, b1], 0)).toEqual([true, false]);
      expect(await store.parkedCount(customer)).toBe(2);
    });

    it('front parking goes before existing work, in the order given, and sets the due time', async () => {
      const later = d({ orderingKey: 'A' });
      await store.park([{ delivery: later, dueAt: 0 }]);
      const head = d({ orderingKey: 'A' });
      const second = d({ orderingKey: 'A' });
      await store.park(
        [
          { delivery: head, dueAt: 700 },
          { delivery: second, dueAt: 700 },
        ],
        { front: true },
      );
      expect(await store.claimDue(customer, 'topic:0', 699, 5, 10)).toEqual([]);
      const order: string[] = [];
      let now = 700;
      for (;;) {
        const [h] = await store.claimDue(customer, 'topic:0', now, 1, 10);
        if (!h) break;
        order.push(h.deliveryId);
        await store.complete(h, now);
        now += 1;
      }
      expect(order).toEqual([head.deliveryId, second.deliveryId, later.deliveryId]);
      expect(await store.parkedCount(customer)).toBe(0);
    });

    it('a leased front item is a claimed head: not due until the lease ends, settled like a claim', async () => {
      const parkedLater = d({ orderingKey: 'A' });
      await store.park([{ delivery: parkedLater, dueAt: 0 }]);
      const inFlight = d({ orderingKey: 'A' });
      await store.park([{ delivery: inFlight, dueAt: 5000, leased: true }], { front: true });
      expect(await store.claimDue(customer, 'topic:0', 4999, 5, 100)).toEqual([]);
      await store.complete(inFlight, 100); // the request finished: its package moves on at once
      expect(await store.claimDue(customer, 'topic:0', 100, 5, 100)).toEqual([parkedLater]);
      // A crash instead: takeover (or the lease's end) makes the leased head due again.
      const other = d({ orderingKey: 'B' });
      await store.park([{ delivery: other, dueAt: 9000, leased: true }], { front: true });
      await store.takeOver(customer, 'topic:0', 150); // ends every lease of the shard, A's claim included
      const again = await store.claimDue(customer, 'topic:0', 150, 5, 100);
      expect(again).toHaveLength(2);
      expect(again).toEqual(expect.arrayContaining([other, parkedLater]));
    });

    it('dead letters keep the reason, list newest first, and can be taken for replay', async () => {
      const a = d({ orderingKey: 'A' });
      const b = d({ orderingKey: 'A' });
      await store.park([
        { delivery: a, dueAt: 0 },
        { delivery: b, dueAt: 0 },
      ]);
      const [head] = await store.claimDue(customer, 'topic:0', 0, 1, 1000);
      await store.deadLetterHead({ ...head!, attempts: 8 }, 'gave up after 8 attempts; last: HTTP 500', 10);
      await store.addDeadLetter(d({ eventId: 'evt_direct' }), 'permanent failure: HTTP 400', 20);
      const list = await store.listDeadLetters(customer, 0, 10);
      expect(list.total).toBe(2);
      expect(list.items.map((x) => x.reason)).toEqual([
        'permanent failure: HTTP 400',
        'gave up after 8 attempts; last: HTTP 500',
      ]);
      expect(list.items[1]!.delivery.attempts).toBe(8);
      // The package's next delivery became due when the head died.
      expect(await store.claimDue(customer, 'topic:0', 10, 1, 1000)).toEqual([b]);
      const taken = await store.takeDeadLetters(customer, ['evt_direct']);
      expect(taken.map((x) => x.id)).toEqual(['evt_direct']);
      expect((await store.listDeadLetters(customer, 0, 10)).total).toBe(1);
      expect(await store.takeDeadLetters(customer)).toHaveLength(1);
      expect((await store.listDeadLetters(customer, 0, 10)).total).toBe(0);
    });

    it('shards and customers are independent', async () => {
      await store.park([{ delivery: d({ shard: 't:1' }), dueAt: 0 }]);
      await store.park([{ delivery: delivery({ customer: `${customer}-other` }), dueAt: 0 }]);
      expect(await store.claimDue(customer, 'topic:0', 0, 10, 10)).toEqual([]);
      expect(await store.claimDue(customer, 't:1', 0, 10, 10)).toHaveLength(1);
      expect(await store.parkedCount(customer)).toBe(1);
    });

    it('keeps poison messages, newest first', async () => {
      const p = { topic: 't', partition: 0, reason: 'invalid_json', key: null, value: '{', at: 1 };
      await store.recordPoison({ ...p, offset: '1' });
      await store.recordPoison({ ...p, offset: '2' });
      await store.recordPoison({ ...p, offset: '3' });
      const page = await store.listPoison(1, 2);
      expect(page.total).toBe(3);
      expect(page.items.map((x) => x.offset)).toEqual(['2', '1']);
    });

    it('discards dead letters for good', async () => {
      await store.addDeadLetter(d({ eventId: 'evt_a', deliveryId: `${customer}/evt_a` }), 'HTTP 400', 1);
      await store.addDeadLetter(d({ eventId: 'evt_b', deliveryId: `${customer}/evt_b` }), 'HTTP 400', 2);
      expect(await store.discardDeadLetters(customer, ['evt_a', 'evt_missing'])).toBe(1);
      const left = await store.listDeadLetters(customer, 0, 10);
      expect(left.items.map((x) => x.id)).toEqual(['evt_b']);
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
