/**
 * The HTTP surface: metrics names, health, per-customer state (behind a token, URL without credentials),
 * admin auth, pause/resume, dead letters listed, replayed and discarded, poison listing, bad input → 4xx
 * naming the field.
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
import { SECRET_A } from './setup.ts';

const TOKEN = 'test-admin-token-7f3a';
const READ = 'test-read-token-0123456789';
const auth = (t = TOKEN) => ({ authorization: `Bearer ${t}` });
let receiver: Receiver;
let integrator: Integrator;
let source: HandSource;
let base: string;
let mode: 'ok' | '400' | 'slow' = 'ok';
let logs = '';

beforeAll(async () => {
  receiver = await startReceiver({
    secret: SECRET_A,
    handler: () =>
      mode === '400' ? { status: 400 } : mode === 'slow' ? { status: 200, delayMs: 1500 } : { status: 200 },
  });
  const env = integratorEnv({
    brokers: ['127.0.0.1:1'],
    topic: 't',
    groupId: 'g',
    // Credentials and a query string in the URL: never shown by the HTTP surface.
    customers: [
      {
        id: 'customer-a',
        url: receiver.url.replace('http://', 'http://user:pa55word@') + '?api_key=k3y',
        secret: SECRET_A,
      },
    ],
    env: { ADMIN_TOKEN: TOKEN, READ_TOKEN: READ, LOG_LEVEL: 'debug', DELIVERY_LOG: 'off' },
  });
  const cfg = loadConfig(env);
  if (!cfg.ok) throw new Error(cfg.problems.join('\n'));
  source = new HandSource();
  const sink = { write: (s: string) => ((logs += s), true) } as unknown as NodeJS.WritableStream;
  integrator = createIntegrator(cfg.config, { source, log: createLogger('debug', sink) });
  await integrator.start();
  base = integrator.url();
});
afterAll(async () => {
  await integrator?.stop();
  await receiver?.close();
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });
async function gauge(name: string, customer: string): Promise<number> {
  const text = await (await get('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{customer="${customer}"}`));
  return line === undefined ? Number.NaN : Number(line.split(' ').at(-1));
}
const post = (path: string, body?: unknown, token: string | null = TOKEN) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });

describe('HTTP surface', () => {
  it('serves every contract metric name', async () => {
    const text = await (await get('/metrics')).text();
    for (const name of [
      'integrator_events_consumed_total',
      'integrator_poison_messages_total',
      'integrator_deliveries_total',
      'integrator_delivery_attempts_total',
      'integrator_attempt_duration_seconds',
      'integrator_end_to_end_seconds',
      'integrator_inflight_requests',
      'integrator_pending_deliveries',
      'integrator_retry_queue_depth',
      'integrator_circuit_state',
      'integrator_uncommitted_messages',
    ]) {
      expect(text, name).toContain(`# TYPE ${name}`);
    }
  });

  it('health and readiness (broker and store)', async () => {
    expect((await get('/healthz')).status).toBe(200);
    expect(await (await get('/readyz')).json()).toMatchObject({ status: 'ready' });
    source.brokerUp = false;
    const r = await get('/readyz');
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({ reason: 'broker down' });
    source.brokerUp = true;
  });

  it('per-customer state, behind a token, with the URL stripped of credentials and query', async () => {
    expect((await get('/customers')).status).toBe(401);
    expect((await get('/customers', auth('wrong'))).status).toBe(401);
    expect((await get('/customers/customer-a')).status).toBe(401);
    const res = await get('/customers', auth(READ));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain('pa55word');
    expect(text).not.toContain('k3y');
    const body = JSON.parse(text) as { customers: Record<string, unknown>[] };
    expect(body.customers[0]).toMatchObject({
      url: `http://127.0.0.1:${receiver.port}/webhooks`,
      id: 'customer-a',
      paused: false,
      inflight: 0,
      pending: 0,
      parked: 0,
      breaker: 'closed',
      limits: { concurrency: 16, timeoutMs: 60_000 },
    });
    expect((await get('/customers/nobody', auth())).status).toBe(404);
  });

  it('admin endpoints refuse without the right bearer token; the read token may only read', async () => {
    expect((await post('/customers/customer-a/pause', undefined, null)).status).toBe(401);
    expect((await post('/customers/customer-a/pause', undefined, 'wrong')).status).toBe(401);
    expect((await post('/customers/customer-a/pause', undefined, READ)).status).toBe(403);
    expect((await post('/customers/customer-a/dead-letters/replay', {}, READ)).status).toBe(403);
    expect((await get('/customers/customer-a/dead-letters')).status).toBe(401);
    expect((await get('/customers/customer-a/dead-letters', auth(READ))).status).toBe(200);
    expect((await get('/poison')).status).toBe(401);
    expect((await post('/customers/nobody/pause')).status).toBe(404);
    expect(await (await get('/whoami', auth(READ))).json()).toEqual({ role: 'read' });
    expect(await (await get('/whoami', auth())).json()).toEqual({ role: 'admin' });
  });

  it('metrics and health stay open', async () => {
    for (const path of ['/metrics', '/healthz', '/readyz']) expect((await get(path)).status, path).toBe(200);
  });

  it('pause holds deliveries (accepted, not sent); resume sends them', async () => {
    expect((await post('/customers/customer-a/pause')).status).toBe(200);
    await source.push(keyOf('PKG-H1'), changeValue(row('PKG-H1', 'customer-a', 'Package Posted', 0)));
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests).toHaveLength(0);
    expect(((await (await get('/customers/customer-a', auth())).json()) as { paused: boolean }).paused).toBe(
      true,
    );
    expect((await post('/customers/customer-a/resume')).status).toBe(200);
    await receiver.waitFor(() => receiver.delivered().length === 1, 10_000, 'delivery after resume');
  });

  it('in-flight and pending gauges are current whenever /metrics is scraped', async () => {
    mode = 'slow';
    try {
      const before = receiver.requests.length;
      await source.push(keyOf('PKG-G1'), changeValue(row('PKG-G1', 'customer-a', 'Package Posted', 0)));
      await receiver.waitFor(() => receiver.requests.length > before, 10_000, 'the request out');
      expect(await gauge('integrator_inflight_requests', 'customer-a')).toBe(1);
      expect(await gauge('integrator_pending_deliveries', 'customer-a')).toBe(1);
      await receiver.waitFor(() => receiver.requests.at(-1)!.status === 200, 10_000, 'the slow answer');
      await expect.poll(() => gauge('integrator_pending_deliveries', 'customer-a')).toBe(0);
      expect(await gauge('integrator_inflight_requests', 'customer-a')).toBe(0);
    } finally {
      mode = 'ok';
    }
  });

  it('dead letters are listed with their reason and can be replayed', async () => {
    mode = '400';
    await source.push(keyOf('PKG-H2'), changeValue(row('PKG-H2', 'customer-a', 'Package Posted', 0)));
    await eventually(
      async () => (await integrator.store.listDeadLetters('customer-a', 0, 10)).total === 1,
      10_000,
      'dead letter',
    );
    const list = (await (
      await get('/customers/customer-a/dead-letters', { authorization: `Bearer ${TOKEN}` })
    ).json()) as { total: number; items: { id: string; reason: string }[] };
    expect(list.total).toBe(1);
    expect(list.items[0]!.reason).toMatch(/permanent failure: HTTP 400/);
    const bad = await get('/customers/customer-a/dead-letters?limit=0', { authorization: `Bearer ${TOKEN}` });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ field: 'limit' });
    const badReplay = await post('/customers/customer-a/dead-letters/replay', { ids: 'all' });
    expect(badReplay.status).toBe(400);
    expect(await badReplay.json()).toMatchObject({ field: 'ids' });

    mode = 'ok';
    const replay = await post('/customers/customer-a/dead-letters/replay', { ids: [list.items[0]!.id] });
    expect(await replay.json()).toEqual({ replayed: 1 });
    await receiver.waitFor(
      () => receiver.delivered().some((d) => d.body.data.package_id === 'PKG-H2'),
      10_000,
      'replayed delivery',
    );
    expect((await integrator.store.listDeadLetters('customer-a', 0, 10)).total).toBe(0);
  });

  it('dead letters can be discarded for good', async () => {
    mode = '400';
    await source.push(keyOf('PKG-H4'), changeValue(row('PKG-H4', 'customer-a', 'Package Posted', 0)));
    await eventually(
      async () => (await integrator.store.listDeadLetters('customer-a', 0, 10)).total === 1,
      10_000,
      'dead letter',
    );
    mode = 'ok';
    const [dl] = (await integrator.store.listDeadLetters('customer-a', 0, 10)).items;
    const none = await post('/customers/customer-a/dead-letters/discard', { ids: [] });
    expect(none.status).toBe(400);
    expect(await none.json()).toMatchObject({ field: 'ids' });
    const res = await post('/customers/customer-a/dead-letters/discard', { ids: [dl!.id] });
    expect(await res.json()).toEqual({ discarded: 1 });
    expect((await integrator.store.listDeadLetters('customer-a', 0, 10)).total).toBe(0);
    expect(receiver.delivered().some((d) => d.body.data.package_id === 'PKG-H4')).toBe(false);
  });

  it('poison is listed for inspection', async () => {
    await source.push(keyOf('PKG-H3'), '{"not json');
    await eventually(
      async () => (await integrator.store.listPoison(0, 10)).total === 1,
      5000,
      'poison stored',
    );
    const res = (await (await get('/poison', { authorization: `Bearer ${TOKEN}` })).json()) as {
      items: { reason: string }[];
    };
    expect(res.items[0]!.reason).toMatch(/not valid JSON/);
  });

  it('latency histograms reach at least 60 s', async () => {
    const text = await (await get('/metrics')).text();
    expect(text).toMatch(/integrator_end_to_end_seconds_bucket\{le="60",customer="customer-a"\}/);
    expect(text).toMatch(/integrator_attempt_duration_seconds_bucket\{le="60",customer="customer-a"\}/);
  });

  it('never logs the secret or the admin token', () => {
    expect(logs.length).toBeGreaterThan(100);
    expect(logs).not.toContain(SECRET_A);
    expect(logs).not.toContain(SECRET_A.slice(6));
    expect(logs).not.toContain(TOKEN);
  });
});
