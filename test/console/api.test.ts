/**
 * The operator API against a running integrator with its embedded delivery log (SQLite in its worker):
 * a package's timeline, deliveries newest first with filters and cursors, every attempt of an event,
 * the live stream with a ticket, and the access rules (401 / 403 / 400 naming the field).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntegrator } from '../../src/app.ts';
import type { Integrator } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/report/logger.ts';
import { HandSource } from '../harness/hand-source.ts';
import { integratorEnv, eventually } from '../harness/integrator.ts';
import { startReceiver } from '../harness/receiver.ts';
import type { Receiver } from '../harness/receiver.ts';
import { changeValue, keyOf, row } from '../harness/events.ts';
import { SECRET_A, SECRET_B } from '../e2e/setup.ts';

const ADMIN = 'console-admin-token-000000001';
const READ = 'console-read-token-0000000002';
let a: Receiver;
let b: Receiver;
let integrator: Integrator;
let source: HandSource;
let base: string;

beforeAll(async () => {
  a = await startReceiver({ secret: SECRET_A });
  // customer-b refuses "Refused" (a permanent 4xx) and fails the first try of everything else once.
  b = await startReceiver({
    secret: SECRET_B,
    handler: (req, n) =>
      req.body.data.status === 'Refused' ? { status: 422 } : n === 1 ? { status: 503 } : { status: 200 },
  });
  const env = integratorEnv({
    brokers: ['127.0.0.1:1'],
    topic: 't',
    groupId: 'g',
    customers: [
      { id: 'customer-a', url: a.url, secret: SECRET_A, match: '*' },
      {
        id: 'customer-b',
        url: b.url,
        secret: SECRET_B,
        match: '*',
        retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 100 },
      },
    ],
    env: { ADMIN_TOKEN: ADMIN, READ_TOKEN: READ },
  });
  const cfg = loadConfig(env);
  if (!cfg.ok) throw new Error(cfg.problems.join('\n'));
  source = new HandSource();
  integrator = createIntegrator(cfg.config, { source, log: createLogger('silent') });
  await integrator.start();
  base = integrator.url();
  const statuses = ['Package Posted', 'In Transit', 'Out for Delivery', 'Package Delivered'];
  for (const [i, status] of statuses.entries()) {
    await source.push(keyOf('PKG-API-1'), changeValue(row('PKG-API-1', 'c', status, i)));
  }
  await source.push(keyOf('PKG-API-2'), changeValue(row('PKG-API-2', 'c', 'Refused', 0)));
  await b
    .waitFor(() => b.requests.length >= 9, 20_000, 'customer-b attempts')
    .catch((err: unknown) => {
      throw new Error(
        `${String(err)}: ${JSON.stringify(b.requests.map((r) => [r.body.data.status, r.status]))}`,
      );
    });
  await a.waitFor(() => a.delivered().length === 5, 20_000, 'customer-a deliveries');
  await eventually(
    async () => {
      await integrator.deliveryLog!.settled(5000);
      const res = await fetch(`${base}/deliveries?customer=customer-b&outcome=dead`, { headers: auth() });
      return res.ok && ((await res.json()) as { items: unknown[] }).items.length === 1;
    },
    60_000,
    'the log to catch up',
  );
}, 120_000);
afterAll(async () => {
  await integrator?.stop();
  await a?.close();
  await b?.close();
});

const auth = (t = READ) => ({ authorization: `Bearer ${t}` });
const get = (path: string, token: string | null = READ) =>
  fetch(`${base}${path}`, { headers: token ? auth(token) : {} });
const json = async <T>(path: string, token: string | null = READ): Promise<T> => {
  const res = await get(path, token);
  expect(res.status, `${path}: ${res.status}`).toBe(200);
  return (await res.json()) as T;
};

interface Delivery {
  eventId: string;
  customer: string;
  packageId: string;
  status: string;
  state: string;
  attempts: number;
  deliveredAt: string | null;
  deadReason: string | null;
}

describe('operator API', () => {
  it('GET /packages/:packageId: latest status and the timeline, each status with every customer', async () => {
    const p = await json<{
      latest: { status: string };
      timeline: { status: string; deliveries: Delivery[] }[];
      nextCursor: string | null;
    }>('/packages/PKG-API-1');
    expect(p.latest.status).toBe('Package Delivered');
    expect(p.timeline.map((t) => t.status)).toEqual([
      'Package Delivered',
      'Out for Delivery',
      'In Transit',
      'Package Posted',
    ]);
    for (const t of p.timeline) {
      expect(t.deliveries.map((d) => [d.customer, d.state])).toEqual([
        ['customer-a', 'delivered'],
        ['customer-b', 'delivered'],
      ]);
      expect(t.deliveries[0]!.attempts).toBe(1);
      expect(t.deliveries[1]!.attempts).toBe(2); // the first try answered 503
      expect(Date.parse(t.deliveries[1]!.deliveredAt!)).toBeGreaterThan(0);
    }
    const page = await json<{ timeline: { status: string }[]; nextCursor: string }>(
      '/packages/PKG-API-1?limit=3',
    );
    expect(page.timeline).toHaveLength(3);
    const rest = await json<{ timeline: { status: string }[]; nextCursor: string | null }>(
      `/packages/PKG-API-1?limit=3&cursor=${page.nextCursor}`,
    );
    expect(rest.timeline.map((t) => t.status)).toEqual(['Package Posted']);
    expect(rest.nextCursor).toBeNull();
    const missing = await get('/packages/PKG-NOPE');
    expect(missing.status).toBe(404);
  });

  it('GET /deliveries: newest first, filtered, paged by cursor', async () => {
    const all: Delivery[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Delivery[]; nextCursor: string | null } = await json(
        `/deliveries?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(all).toHaveLength(10);
    expect(new Set(all.map((d) => `${d.eventId}/${d.customer}`)).size).toBe(10);
    expect(all[0]!.packageId).toBe('PKG-API-2'); // the last change is the newest
    const dead = await json<{ items: Delivery[] }>('/deliveries?customer=customer-b&outcome=dead');
    expect(dead.items).toEqual([
      expect.objectContaining({ packageId: 'PKG-API-2', status: 'Refused', state: 'dead', attempts: 1 }),
    ]);
    expect(dead.items[0]!.deadReason).toMatch(/HTTP 422/);
    const one = await json<{ items: Delivery[] }>(`/deliveries?packageId=PKG-API-1&customer=customer-a`);
    expect(one.items).toHaveLength(4);
    const future = await json<{ items: Delivery[] }>(`/deliveries?since=${Date.now() + 60_000}`);
    expect(future.items).toEqual([]);
    const recent = await json<{ items: Delivery[] }>(
      `/deliveries?since=${new Date(Date.now() - 120_000).toISOString()}&until=${new Date(Date.now() + 1000).toISOString()}`,
    );
    expect(recent.items).toHaveLength(10);
  });

  it('GET /deliveries/:eventId: every attempt of the event, per customer', async () => {
    const [d] = (await json<{ items: Delivery[] }>('/deliveries?packageId=PKG-API-1&limit=1')).items;
    const ev = await json<{
      packageId: string;
      body: { id: string; data: { package_id: string } };
      deliveries: {
        customer: string;
        steps: { kind: string; attempt: number; httpStatus: number | null }[];
      }[];
    }>(`/deliveries/${d!.eventId}`);
    expect(ev.packageId).toBe('PKG-API-1');
    expect(ev.body.id).toBe(d!.eventId);
    const byCustomer = Object.fromEntries(ev.deliveries.map((x) => [x.customer, x.steps]));
    expect(byCustomer['customer-a']!.map((s) => [s.kind, s.httpStatus])).toEqual([
      ['attempt', 200],
      ['delivered', null],
    ]);
    // Its package's earlier statuses were waiting for a retry in the store when it came: it may have waited
    // behind them (parked) before its own first attempt.
    const b = byCustomer['customer-b']!.map((s) => [s.kind, s.attempt, s.httpStatus]);
    expect(b[0]![0] === 'parked' ? b.slice(1) : b).toEqual([
      ['attempt', 1, 503],
      ['parked', null, null],
      ['attempt', 2, 200],
      ['delivered', 2, null],
    ]);
    expect((await get('/deliveries/evt_nope')).status).toBe(404);
  });

  it('bad input: 400 naming the field', async () => {
    const cases: [string, string][] = [
      ['/deliveries?outcome=lost', 'outcome'],
      ['/deliveries?since=yesterday', 'since'],
      ['/deliveries?limit=0', 'limit'],
      ['/deliveries?limit=1000', 'limit'],
      ['/deliveries?cursor=%21%21', 'cursor'],
      ['/deliveries?cursor=bm90LWEtY3Vyc29y', 'cursor'],
      ['/deliveries?customer=Customer%20A', 'customer'],
      ['/deliveries?custmer=customer-a', 'custmer'],
      ['/deliveries?since=2000&until=1000', 'since'],
      ['/packages/PKG-API-1?limit=x', 'limit'],
      ['/events/stream?customer=A%20B', 'customer'],
    ];
    for (const [path, field] of cases) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(await res.json(), path).toMatchObject({ field });
    }
  });

  it('every customer-data endpoint needs a token; metrics and health do not', async () => {
    for (const path of [
      '/customers',
      '/overview',
      '/packages/PKG-API-1',
      '/deliveries',
      '/deliveries/x',
      '/events/stream',
      '/poison',
    ]) {
      expect((await get(path, null)).status, path).toBe(401);
      expect((await get(path, 'not-the-token')).status, path).toBe(401);
    }
    for (const path of ['/metrics', '/healthz', '/readyz', '/console']) {
      expect((await get(path, null)).status, path).toBe(200);
    }
  });

  it('the overview: customers with live numbers, dead letters, poison, the log', async () => {
    const o = await json<{
      role: string;
      customers: {
        id: string;
        deadLetters: number;
        deliveriesPerSecond: number;
        series: { points: unknown[] };
      }[];
      log: { kind: string; health: string; dropped: number };
      poison: number;
    }>('/overview');
    expect(o.role).toBe('read');
    expect(o.customers.map((c) => [c.id, c.deadLetters])).toEqual([
      ['customer-a', 0],
      ['customer-b', 1],
    ]);
    expect(o.customers[0]!.series.points).toHaveLength(60);
    expect(o.log).toMatchObject({ kind: 'embedded', health: 'up', dropped: 0 });
    expect(o.poison).toBe(0);
    const m = await (await get('/metrics', null)).text();
    expect(m).toMatch(/integrator_delivery_log_dropped_total 0/);
    expect(m).toMatch(/integrator_delivery_log_up 1/);
  });

  it('the live stream: a ticket opens it, events arrive as they happen, filtered by customer', async () => {
    const ticketRes = await fetch(`${base}/events/stream/ticket`, { method: 'POST', headers: auth() });
    const { ticket } = (await ticketRes.json()) as { ticket: string };
    expect((await get(`/events/stream?ticket=${ticket.slice(0, -2)}xx`, null)).status).toBe(401);
    const ctrl = new AbortController();
    const res = await fetch(
      `${base}/events/stream?customer=customer-a&ticket=${encodeURIComponent(ticket)}`,
      {
        signal: ctrl.signal,
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
        if (/event: delivered/.test(text)) return;
      }
    })();
    await source.push(keyOf('PKG-API-3'), changeValue(row('PKG-API-3', 'c', 'In Transit', 0)));
    await Promise.race([reading, new Promise((r) => setTimeout(r, 10_000))]);
    ctrl.abort();
    const frames = text
      .split('\n\n')
      .filter((f) => f.includes('data: '))
      .map((f) => JSON.parse(f.slice(f.indexOf('data: ') + 6)) as Record<string, unknown>);
    expect(frames.map((f) => [f.kind, f.customer, f.packageId, f.outcome])).toEqual([
      ['attempted', 'customer-a', 'PKG-API-3', '2xx'],
      ['delivered', 'customer-a', 'PKG-API-3', 'delivered'],
    ]);
    expect(frames[1]).toMatchObject({ status: 'In Transit' });
    expect(typeof frames[1]!.eventId).toBe('string');
  });
});
