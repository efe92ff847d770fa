/**
 * One conformance suite for the delivery log port (src/log/port.ts), run against every adapter: SQLite in
 * a temp directory (test/log/sqlite.test.ts) and a real Postgres from the harness (test/log/postgres.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryLogStore } from '../../src/log/port.ts';
import { BadCursorError } from '../../src/log/port.ts';
import { reduce } from '../../src/log/reduce.ts';
import type { LogRecord } from '../../src/log/wire.ts';

const T0 = Date.parse('2026-11-22T18:00:00.000Z');

export function change(
  eventId: string,
  packageId: string,
  status: string,
  customers: string[],
  at: number,
): Extract<LogRecord, { record: 'change' }> {
  return {
    record: 'change',
    at,
    eventId,
    packageId,
    type: 'package_status.created',
    label: status,
    occurredAt: at - 5,
    source: { topic: 'dbserver1.public.package_status', partition: 1, offset: String(at - T0) },
    customers,
    body: JSON.stringify({ id: eventId, data: { package_id: packageId, status } }),
  };
}

type Step = Exclude<LogRecord, { record: 'change' }>;
export function step(
  eventId: string,
  packageId: string,
  customer: string,
  at: number,
  s: Record<string, unknown> & { kind: Step['kind'] },
): LogRecord {
  return { record: 'delivery', at, customer, eventId, packageId, label: 'In Transit', ...s } as LogRecord;
}

/** A delivered first attempt, as the lane reports it. */
export function delivered(eventId: string, packageId: string, customer: string, at: number): LogRecord[] {
  return [
    step(eventId, packageId, customer, at, { kind: 'accepted' }),
    step(eventId, packageId, customer, at + 1, { kind: 'sending', attempt: 1 }),
    step(eventId, packageId, customer, at + 30, {
      kind: 'attempted',
      attempt: 1,
      result: '2xx',
      httpStatus: 200,
      durationMs: 29,
      detail: '',
    }),
    step(eventId, packageId, customer, at + 31, { kind: 'delivered', attempts: 1, endToEndMs: 36 }),
  ];
}

/** An adapter's store, and a way to take its storage away (and give it back) under the open store. */
export interface LogSubject {
  store: DeliveryLogStore;
  outage: { begin(): Promise<void>; end(): Promise<void> };
}

export function logStoreConformance(name: string, open: () => Promise<LogSubject>): void {
  describe(`delivery log conformance: ${name}`, () => {
    let store: DeliveryLogStore;
    let outage: LogSubject['outage'];
    beforeAll(async () => {
      ({ store, outage } = await open());
      await store.migrate();
      await store.migrate(); // idempotent
    });
    afterAll(async () => {
      await store?.close();
    });

    it('records a change and its deliveries; the event shows every attempt per customer', async () => {
      await store.write(
        reduce([
          change('evt_a1', 'PKG-A', 'Package Posted', ['customer-1', 'customer-2'], T0),
          ...delivered('evt_a1', 'PKG-A', 'customer-1', T0 + 1),
          step('evt_a1', 'PKG-A', 'customer-2', T0 + 1, { kind: 'accepted' }),
          step('evt_a1', 'PKG-A', 'customer-2', T0 + 2, { kind: 'sending', attempt: 1 }),
          step('evt_a1', 'PKG-A', 'customer-2', T0 + 60, {
            kind: 'attempted',
            attempt: 1,
            result: '5xx',
            httpStatus: 503,
            durationMs: 58,
            detail: 'HTTP 503',
          }),
          step('evt_a1', 'PKG-A', 'customer-2', T0 + 61, { kind: 'parked', why: 'retry', dueAt: T0 + 1061 }),
        ]),
      );
      // A later batch: the retry fails for good.
      await store.write(
        reduce([
          step('evt_a1', 'PKG-A', 'customer-2', T0 + 1062, { kind: 'sending', attempt: 2 }),
          step('evt_a1', 'PKG-A', 'customer-2', T0 + 1070, {
            kind: 'attempted',
            attempt: 2,
            result: '4xx',
            httpStatus: 410,
            durationMs: 8,
            detail: 'HTTP 410',
          }),
          step('evt_a1', 'PKG-A', 'customer-2', T0 + 1071, {
            kind: 'dead',
            attempts: 2,
            reason: 'permanent failure: HTTP 410',
          }),
        ]),
      );
      const ev = await store.event('evt_a1');
      expect(ev).toMatchObject({
        eventId: 'evt_a1',
        packageId: 'PKG-A',
        status: 'Package Posted',
        customers: ['customer-1', 'customer-2'],
        source: { topic: 'dbserver1.public.package_status', partition: 1 },
        body: { id: 'evt_a1', data: { package_id: 'PKG-A' } },
      });
      const [c1, c2] = ev!.deliveries;
      expect(c1).toMatchObject({
        customer: 'customer-1',
        state: 'delivered',
        attempts: 1,
        lastResult: '2xx',
        lastHttpStatus: 200,
        deliveredAt: new Date(T0 + 32).toISOString(),
        endToEndMs: 36,
      });
      expect(c1!.steps.map((s) => s.kind)).toEqual(['attempt', 'delivered']);
      expect(c2).toMatchObject({
        customer: 'customer-2',
        state: 'dead',
        attempts: 2,
        lastResult: '4xx',
        lastHttpStatus: 410,
        lastError: 'HTTP 410',
        deadReason: 'permanent failure: HTTP 410',
        parkedWhy: null,
        dueAt: null,
      });
      expect(c2!.steps.map((s) => [s.kind, s.attempt, s.httpStatus, s.detail])).toEqual([
        ['attempt', 1, 503, 'HTTP 503'],
        ['parked', null, null, 'retry'],
        ['attempt', 2, 410, 'HTTP 410'],
        ['dead', 2, null, 'permanent failure: HTTP 410'],
      ]);
      expect(c2!.steps[0]!.durationMs).toBe(58);
      expect(await store.event('evt_none')).toBeNull();
    });

    it('a terminal state survives a late non-terminal record; a replay reopens it', async () => {
      await store.write(reduce(delivered('evt_b1', 'PKG-B', 'customer-1', T0 + 2000)));
      // A previous owner's `dropped` arriving after the delivery: not a regression.
      await store.write(reduce([step('evt_b1', 'PKG-B', 'customer-1', T0 + 2100, { kind: 'dropped' })]));
      expect((await store.event('evt_b1'))!.deliveries[0]!.state).toBe('delivered');

      await store.write(
        reduce([
          step('evt_b2', 'PKG-B', 'customer-1', T0 + 2200, { kind: 'accepted' }),
          step('evt_b2', 'PKG-B', 'customer-1', T0 + 2201, { kind: 'dead', attempts: 0, reason: 'HTTP 400' }),
        ]),
      );
      await store.write(reduce([step('evt_b2', 'PKG-B', 'customer-1', T0 + 2300, { kind: 'replayed' })]));
      await store.write(
        reduce([step('evt_b2', 'PKG-B', 'customer-1', T0 + 2301, { kind: 'sending', attempt: 1 })]),
      );
      const d = (await store.event('evt_b2'))!.deliveries[0]!;
      expect(d).toMatchObject({ state: 'in_flight', replays: 1, deadReason: 'HTTP 400' });
      expect(d.steps.map((s) => s.kind)).toEqual(['dead', 'replayed']);
    });

    it('a package: latest status and its timeline with each customer’s delivery state', async () => {
      const at = T0 + 10_000;
      const batch = reduce([
        change('evt_p1', 'PKG-T', 'Package Posted', ['customer-1', 'customer-3'], at),
        ...delivered('evt_p1', 'PKG-T', 'customer-1', at),
        ...delivered('evt_p1', 'PKG-T', 'customer-3', at),
        change('evt_p2', 'PKG-T', 'In Transit', ['customer-1', 'customer-3'], at + 100),
        ...delivered('evt_p2', 'PKG-T', 'customer-1', at + 100),
        step('evt_p2', 'PKG-T', 'customer-3', at + 101, { kind: 'accepted' }),
        step('evt_p2', 'PKG-T', 'customer-3', at + 102, { kind: 'sending', attempt: 1 }),
        change('evt_p3', 'PKG-T', 'Out for Delivery', ['customer-1', 'customer-3'], at + 200),
        step('evt_p3', 'PKG-T', 'customer-1', at + 201, { kind: 'accepted' }),
        step('evt_p3', 'PKG-T', 'customer-1', at + 202, {
          kind: 'parked',
          why: 'breaker_open',
          dueAt: at + 5000,
        }),
      ]);
      // customer-3's row of evt_p3 is not there (retention deletes by table; the log may drop records when
      // its store is away): the view says so rather than guessing.
      batch.deliveries = batch.deliveries.filter(
        (d) => !(d.eventId === 'evt_p3' && d.customer === 'customer-3'),
      );
      await store.write(batch);
      const p = await store.package('PKG-T', 10, null);
      expect(p!.latest).toMatchObject({ eventId: 'evt_p3', status: 'Out for Delivery' });
      expect(p!.timeline.map((t) => t.status)).toEqual(['Out for Delivery', 'In Transit', 'Package Posted']);
      expect(p!.nextCursor).toBeNull();
      const [p3, p2, p1] = p!.timeline;
      expect(p3!.deliveries).toEqual([
        expect.objectContaining({ customer: 'customer-1', state: 'parked', parkedWhy: 'breaker_open' }),
        { customer: 'customer-3', state: 'unknown' },
      ]);
      expect(p2!.deliveries.map((d) => [d.customer, d.state])).toEqual([
        ['customer-1', 'delivered'],
        ['customer-3', 'in_flight'],
      ]);
      expect(
        p1!.deliveries.every((d) => d.state === 'delivered' && 'deliveredAt' in d && d.deliveredAt),
      ).toBe(true);
      // Paged: newest first, the cursor continues where the page ended.
      const first = await store.package('PKG-T', 2, null);
      expect(first!.timeline.map((t) => t.eventId)).toEqual(['evt_p3', 'evt_p2']);
      const second = await store.package('PKG-T', 2, first!.nextCursor);
      expect(second!.timeline.map((t) => t.eventId)).toEqual(['evt_p1']);
      expect(second!.latest.eventId).toBe('evt_p3');
      expect(second!.nextCursor).toBeNull();
      expect(await store.package('PKG-NONE', 10, null)).toBeNull();
    });

    it('lists deliveries newest first, filtered, paged by cursor without gaps or repeats', async () => {
      const at = T0 + 100_000;
      const records: LogRecord[] = [];
      for (let i = 0; i < 25; i++) {
        const id = `evt_l${String(i).padStart(2, '0')}`;
        records.push(change(id, `PKG-L${i % 5}`, 'In Transit', ['customer-7', 'customer-8'], at + i * 10));
        records.push(...delivered(id, `PKG-L${i % 5}`, 'customer-7', at + i * 10));
        records.push(
          step(id, `PKG-L${i % 5}`, 'customer-8', at + i * 10, { kind: 'accepted' }),
          step(id, `PKG-L${i % 5}`, 'customer-8', at + i * 10 + 1, {
            kind: i % 2 === 0 ? 'dead' : 'discarded',
            attempts: 1,
            reason: 'HTTP 404',
          }),
        );
      }
      // Written in several batches, as the worker would.
      await store.write(reduce(records.slice(0, 40)));
      await store.write(reduce(records.slice(40)));

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await store.deliveries({ customer: 'customer-7' }, 7, cursor);
        seen.push(...page.items.map((d) => d.eventId));
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor !== null);
      expect(pages).toBe(4);
      expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `evt_l${String(24 - i).padStart(2, '0')}`));

      const dead = await store.deliveries({ customer: 'customer-8', outcome: 'dead' }, 100, null);
      expect(dead.items).toHaveLength(13);
      expect(dead.items.every((d) => d.state === 'dead' && d.deadReason === 'HTTP 404')).toBe(true);
      const byPkg = await store.deliveries({ packageId: 'PKG-L3' }, 100, null);
      expect(byPkg.items).toHaveLength(10);
      expect(
        (await store.deliveries({ eventId: 'evt_l07' }, 100, null)).items.map((d) => d.customer).sort(),
      ).toEqual(['customer-7', 'customer-8']);
      const window = await store.deliveries(
        { customer: 'customer-7', since: at + 50, until: at + 100 },
        100,
        null,
      );
      expect(window.items.map((d) => d.eventId)).toEqual([
        'evt_l09',
        'evt_l08',
        'evt_l07',
        'evt_l06',
        'evt_l05',
      ]);
      await expect(store.deliveries({}, 10, 'not-a-cursor')).rejects.toBeInstanceOf(BadCursorError);
    });

    it('an outage: a write fails whole while the storage is away; the same store writes it after', async () => {
      const at = T0 + 150_000;
      const batch = reduce([
        change('evt_o1', 'PKG-O', 'In Transit', ['customer-1'], at),
        ...delivered('evt_o1', 'PKG-O', 'customer-1', at),
      ]);
      await outage.begin();
      try {
        await expect(store.write(batch)).rejects.toThrow();
      } finally {
        await outage.end();
      }
      // The worker retries the batch that failed: nothing of it was kept, so nothing counts twice.
      await store.write(batch);
      const ev = await store.event('evt_o1');
      expect(ev!.deliveries).toEqual([
        expect.objectContaining({ customer: 'customer-1', state: 'delivered', attempts: 1 }),
      ]);
      expect((await store.package('PKG-O', 10, null))!.timeline.map((t) => t.eventId)).toEqual(['evt_o1']);
    });

    it('retention: rows beyond the cap and rows older than the age limit are deleted', async () => {
      const before = await store.counts();
      expect(before.changes).toBeGreaterThan(25);
      // By rows: keep the newest 10 of each table.
      const gone = await store.prune(T0 + 200_000, 365 * 86_400_000, 10);
      expect(gone).toBeGreaterThan(0);
      const capped = await store.counts();
      expect(capped).toEqual({ changes: 10, deliveries: 10, steps: 10 });
      // The newest survived.
      expect(await store.event('evt_l24')).not.toBeNull();
      // By age: everything first seen more than 1 s before "now" goes.
      const now = Date.now();
      await store.write(
        reduce([
          change('evt_new', 'PKG-N', 'Package Posted', [], now),
          ...delivered('evt_new', 'PKG-N', 'customer-1', now),
        ]),
      );
      await store.prune(now + 500, 1000, 1_000_000);
      // A delivery that went well is two rows: its change and itself.
      expect(await store.counts()).toEqual({ changes: 1, deliveries: 1, steps: 0 });
      expect((await store.package('PKG-N', 10, null))!.latest.eventId).toBe('evt_new');
      await store.ping();
    });

    it('a prune gives way between its chunks: a batch sent meanwhile is written before the prune ends', async () => {
      const at = T0 + 400_000;
      await store.write(
        reduce(
          Array.from({ length: 3500 }, (_, i) =>
            change(`evt_r${i}`, `PKG-R${i % 50}`, 'In Transit', [], at + i),
          ),
        ),
      );
      const order: string[] = [];
      const pruning = store.prune(at + 10_000, 365 * 86_400_000, 10).then(() => order.push('prune'));
      // Sent once the prune has started, as the writer's next batch would arrive.
      const writing = new Promise<void>((resolve, reject) =>
        setImmediate(() =>
          store
            .write(reduce([change('evt_r_late', 'PKG-RL', 'Delivered', [], at + 5000)]))
            .then(() => order.push('write'))
            .then(() => resolve(), reject),
        ),
      );
      await Promise.all([pruning, writing]);
      expect(order).toEqual(['write', 'prune']);
      expect((await store.counts()).changes).toBeLessThanOrEqual(11);
      expect(await store.event('evt_r_late')).not.toBeNull();
    });
  });
}
