/**
 * The delivery log's store goes away while deliveries go on (a real Postgres behind a TCP proxy that the
 * test cuts): every delivery still reaches the receiver, the log's buffer overflows and the dropped records
 * are counted, and once the store is back the log writes again without a restart.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createIntegrator } from '../../src/app.ts';
import type { Integrator } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/report/logger.ts';
import { HandSource } from '../harness/hand-source.ts';
import { eventually, integratorEnv } from '../harness/integrator.ts';
import { startPostgres } from '../harness/postgres.ts';
import type { PostgresHarness } from '../harness/postgres.ts';
import { startReceiver } from '../harness/receiver.ts';
import type { Receiver } from '../harness/receiver.ts';
import { changeValue, keyOf, row } from '../harness/events.ts';
import { SECRET_A } from '../e2e/setup.ts';
import { MAX_OUTSTANDING } from '../../src/log/protocol.ts';
import { tcpProxy } from './tcp-proxy.ts';
import type { Proxy } from './tcp-proxy.ts';

const BUFFER = 100;
const DURING = 600;

let pg: PostgresHarness;
let proxy: Proxy;
let receiver: Receiver;
let integrator: Integrator;
let source: HandSource;

beforeAll(async () => {
  pg = await startPostgres();
  const url = new URL(await pg.createDatabase());
  proxy = await tcpProxy(Number(url.port));
  url.port = String(proxy.port);
  receiver = await startReceiver({ secret: SECRET_A });
  const env = integratorEnv({
    brokers: ['127.0.0.1:1'],
    topic: 't',
    groupId: 'g',
    customers: [{ id: 'customer-a', url: receiver.url, secret: SECRET_A }],
    env: {
      DATABASE_URL: url.toString(),
      DELIVERY_LOG_BUFFER: String(BUFFER),
      ADMIN_TOKEN: 'outage-admin-token-0001',
    },
  });
  const cfg = loadConfig(env);
  if (!cfg.ok) throw new Error(cfg.problems.join('\n'));
  source = new HandSource();
  integrator = createIntegrator(cfg.config, { source, log: createLogger('silent') });
  await integrator.start();
}, 120_000);

afterAll(async () => {
  await integrator?.stop();
  await receiver?.close();
  await proxy?.close();
  await pg?.stop();
});

const push = async (prefix: string, n: number): Promise<void> => {
  for (let i = 0; i < n; i++) {
    const pkg = `${prefix}-${i}`;
    await source.push(keyOf(pkg), changeValue(row(pkg, 'customer-a', 'In Transit', 0)));
  }
};
const logged = async (prefix: string): Promise<number> => {
  const log = integrator.deliveryLog!;
  let n = 0;
  let cursor: string | null = null;
  do {
    const page = await log.deliveries({ customer: 'customer-a' }, 200, cursor);
    n += page.items.filter((d) => d.packageId.startsWith(`${prefix}-`) && d.state === 'delivered').length;
    cursor = page.nextCursor;
  } while (cursor);
  return n;
};
const metric = async (name: string): Promise<number> => {
  const text = await integrator.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
};

it('deliveries go on through a log store outage; drops are counted; the log resumes by itself', async () => {
  const log = integrator.deliveryLog!;
  await eventually(() => log.status().health === 'up', 30_000, 'the log store');
  await push('BEFORE', 20);
  await receiver.waitFor(() => receiver.delivered().length === 20, 10_000, 'first deliveries');
  await eventually(async () => (await logged('BEFORE')) === 20, 20_000, 'the first deliveries logged');
  expect(await metric('integrator_delivery_log_dropped_total')).toBe(0);

  proxy.cut();
  await push('DURING', DURING);
  // Every delivery made it, while the log could write nothing.
  await receiver.waitFor(
    () => receiver.delivered().length === 20 + DURING,
    20_000,
    'deliveries during the outage',
  );
  await eventually(() => log.status().health === 'down', 20_000, 'the log to notice');
  const dropped = await metric('integrator_delivery_log_dropped_total');
  // Each change is four records (change, sending, attempted, delivered). What was not dropped waits in the
  // buffer (100) or in the writer's retried batches (at most MAX_OUTSTANDING, each at most a buffer's
  // worth: how many depends on how many flushes the pushes spanned).
  expect(dropped).toBeGreaterThanOrEqual(DURING * 4 - BUFFER * (MAX_OUTSTANDING + 1));
  expect(log.status().dropped).toBe(dropped);
  expect(await metric('integrator_delivery_log_up')).toBe(0);
  const overview = await fetch(`${integrator.url()}/overview`, {
    headers: { authorization: 'Bearer outage-admin-token-0001' },
  });
  expect(await overview.json()).toMatchObject({ log: { kind: 'postgres', health: 'down' } });

  proxy.restore();
  await eventually(() => log.status().health === 'up', 30_000, 'the log store back');
  await push('AFTER', 10);
  await receiver.waitFor(() => receiver.delivered().length === 30 + DURING, 10_000, 'deliveries after');
  await eventually(async () => (await logged('AFTER')) === 10, 30_000, 'deliveries logged again');
  expect(await logged('BEFORE')).toBe(20);
  expect(receiver.requests).toHaveLength(30 + DURING); // each once: the log never made a delivery repeat
}, 120_000);
