/** While the group rebalances, nothing new is sent; the assignment releases the hold. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createIntegrator } from '../../src/app.ts';
import type { Integrator } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/report/logger.ts';
import { HandSource } from '../harness/hand-source.ts';
import { integratorEnv } from '../harness/integrator.ts';
import { startReceiver } from '../harness/receiver.ts';
import type { Receiver } from '../harness/receiver.ts';
import { changeValue, keyOf, row } from '../harness/events.ts';
import { SECRET_A } from './setup.ts';

let receiver: Receiver;
let integrator: Integrator;
let source: HandSource;
beforeAll(async () => {
  receiver = await startReceiver({ secret: SECRET_A });
  const env = integratorEnv({
    brokers: ['127.0.0.1:1'],
    topic: 't',
    groupId: 'g',
    customers: [{ id: 'customer-a', url: receiver.url, secret: SECRET_A }],
  });
  const cfg = loadConfig(env);
  if (!cfg.ok) throw new Error(cfg.problems.join('\n'));
  source = new HandSource();
  integrator = createIntegrator(cfg.config, { source, log: createLogger('silent') });
  await integrator.start();
});
afterAll(async () => {
  await integrator?.stop();
  await receiver?.close();
});

it('holds unsent work during a rebalance and sends it once the partition is still ours', async () => {
  source.handlers!.onRebalancing!();
  await source.push(keyOf('PKG-R1'), changeValue(row('PKG-R1', 'customer-a', 'Package Posted', 0)));
  await source.push(keyOf('PKG-R1'), changeValue(row('PKG-R1', 'customer-a', 'In Transit', 1)));
  await new Promise((r) => setTimeout(r, 500));
  expect(receiver.requests).toHaveLength(0);
  await source.handlers!.onAssignment([{ topic: 't', partition: 0 }]);
  await receiver.waitFor(() => receiver.delivered().length === 2, 10_000, 'both after the assignment');
  expect(receiver.delivered().map((d) => d.body.data.status)).toEqual(['Package Posted', 'In Transit']);
});

it('work of a partition that moved away is dropped unsent (the new owner reads it again), and not committed', async () => {
  source.handlers!.onRebalancing!();
  await source.push(keyOf('PKG-R2'), changeValue(row('PKG-R2', 'customer-a', 'Package Posted', 0)));
  const committedBefore = source.commits.length;
  await source.handlers!.onAssignment([]); // partition 0 went to another member
  await new Promise((r) => setTimeout(r, 500));
  expect(receiver.requests.filter((r) => r.body.data.package_id === 'PKG-R2')).toHaveLength(0);
  expect(
    source.commits.slice(committedBefore).filter((c) => c.partition === 0 && Number(c.offset) > 2),
  ).toEqual([]);
  expect(integrator.lanes[0]!.snapshot().pending).toBe(0);
});
