/**
 * The shared limits on the HTTP surface (README "Running several integrators"): `/customers` shows the
 * customer's global numbers beside this process's; the operator's pause, with its reason, is kept in the
 * store (a second integrator on the same store starts paused, deliveries held, until resumed through it);
 * a store that stops answering limits syncs makes `/readyz` 503 naming the customers whose lease is lost,
 * nothing is sent to them meanwhile, and all of it arrives once the store answers again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntegrator } from '../../src/app.ts';
import type { Integrator } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { Config } from '../../src/config/config.ts';
import { createLogger } from '../../src/report/logger.ts';
import { MemoryRetryStore } from '../../src/store/memory.ts';
import type { RetryStore } from '../../src/store/port.ts';
import { HandSource } from '../harness/hand-source.ts';
import { integratorEnv, eventually } from '../harness/integrator.ts';
import { startReceiver } from '../harness/receiver.ts';
import type { Receiver } from '../harness/receiver.ts';
import { changeValue, keyOf, row } from '../harness/events.ts';
import { SECRET_A } from './setup.ts';

const TOKEN = 'limits-admin-token-0000000001';
const auth = { authorization: `Bearer ${TOKEN}` };
let receiver: Receiver;
let config: Config;
const shared = new MemoryRetryStore();
let refuseLimits = false;
/** The shared store as the integrators see it: limits syncs refused while `refuseLimits`. */
const store: RetryStore = new Proxy(shared, {
  get(target, prop, receiver_) {
    const v = Reflect.get(target, prop, receiver_) as unknown;
    if (prop === 'close') return async () => {}; // shared by the two integrators
    if (prop !== 'syncLimits' || typeof v !== 'function') return v;
    return (...args: unknown[]) =>
      refuseLimits
        ? Promise.reject(new Error('READONLY You can’t write against a read only replica.'))
        : (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
  },
});
const running: Integrator[] = [];

async function start(source = new HandSource()): Promise<{ integrator: Integrator; source: HandSource }> {
  const integrator = createIntegrator(config, { source, store, log: createLogger('silent') });
  await integrator.start();
  running.push(integrator);
  return { integrator, source };
}

beforeAll(async () => {
  receiver = await startReceiver({ secret: SECRET_A });
  const env = integratorEnv({
    brokers: ['127.0.0.1:1'],
    topic: 't',
    groupId: 'g',
    customers: [{ id: 'customer-a', url: receiver.url, secret: SECRET_A, timeoutMs: 1000 }],
    env: { ADMIN_TOKEN: TOKEN, DELIVERY_LOG: 'off' },
  });
  const cfg = loadConfig(env);
  if (!cfg.ok) throw new Error(cfg.problems.join('\n'));
  config = cfg.config;
});
afterAll(async () => {
  for (const i of running) await i.stop();
  await receiver?.close();
});

type View = {
  paused: boolean;
  inflight: number;
  shared: { lease: string; permits: number };
  global: {
    inflight: number;
    holders: number;
    breaker: string;
    paused: { reason: string | null } | null;
  } | null;
};
const customerA = async (i: Integrator) =>
  (await (await fetch(`${i.url()}/customers/customer-a`, { headers: auth })).json()) as View;

describe('shared limits on the HTTP surface', () => {
  it('global numbers beside the local ones; the pause is the store’s and survives a restart', async () => {
    const { integrator: one, source } = await start();
    await source.push(keyOf('PKG-L1'), changeValue(row('PKG-L1', 'customer-a', 'Package Posted', 0)));
    await receiver.waitFor(() => receiver.delivered().length === 1, 10_000, 'first delivery');
    const list = (await (await fetch(`${one.url()}/customers`, { headers: auth })).json()) as {
      customers: View[];
    };
    expect(list.customers[0]).toMatchObject({
      shared: { lease: 'leased' },
      global: { holders: 1, breaker: 'closed', paused: null },
    });

    const res = await fetch(`${one.url()}/customers/customer-a/pause`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'customer maintenance until 10:00' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      paused: true,
      global: { paused: { reason: 'customer maintenance until 10:00' } },
    });
    const bad = await fetch(`${one.url()}/customers/customer-a/pause`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 42 }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ field: 'reason' });

    // A second integrator on the same store starts paused: what it is given is held, not sent.
    const { integrator: two, source: source2 } = await start();
    await eventually(async () => (await customerA(two)).paused, 10_000, 'the second integrator paused');
    await source2.push(keyOf('PKG-L2'), changeValue(row('PKG-L2', 'customer-a', 'Package Posted', 0)));
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.delivered()).toHaveLength(1);

    // Resumed through the second: the first follows at its next sync; the held status goes out.
    const resumed = await fetch(`${two.url()}/customers/customer-a/resume`, {
      method: 'POST',
      headers: auth,
    });
    expect(resumed.status).toBe(200);
    await receiver.waitFor(() => receiver.delivered().length === 2, 10_000, 'the held delivery');
    await eventually(async () => !(await customerA(one)).paused, 10_000, 'the first integrator resumed');
    await two.stop();
    running.splice(running.indexOf(two), 1);
    await one.stop();
    running.splice(running.indexOf(one), 1);
  });

  it('a store that stops answering limits syncs: /readyz names the customer, nothing is sent, then all of it', async () => {
    const { integrator, source } = await start();
    const before = receiver.delivered().length;
    expect((await fetch(`${integrator.url()}/readyz`)).status).toBe(200);
    refuseLimits = true;
    await eventually(
      async () => (await fetch(`${integrator.url()}/readyz`)).status === 503,
      20_000,
      'readyz 503 once the lease ran out',
    );
    const body = (await (await fetch(`${integrator.url()}/readyz`)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'not ready', leaseLost: ['customer-a'] });
    expect(String(body.reason)).toContain('customer-a');
    await source.push(keyOf('PKG-L3'), changeValue(row('PKG-L3', 'customer-a', 'Package Posted', 0)));
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.delivered()).toHaveLength(before);
    refuseLimits = false;
    await receiver.waitFor(() => receiver.delivered().length === before + 1, 15_000, 'delivery after');
    await eventually(
      async () => (await fetch(`${integrator.url()}/readyz`)).status === 200,
      10_000,
      'ready again',
    );
  });
});
