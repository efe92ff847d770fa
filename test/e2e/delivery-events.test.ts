/**
 * Delivery events (what the delivery log, package tracking and the live stream are built from): every
 * change is seen once with the customers it was routed to; every delivery goes accepted → sending →
 * attempted → delivered, or through a retry and a dead letter, in that order, against a real receiver.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntegrator } from '../../src/app.ts';
import type { Integrator } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/report/logger.ts';
import type { ChangeSeen, DeliveryEvent } from '../../src/report/delivery-events.ts';
import { HandSource } from '../harness/hand-source.ts';
import { integratorEnv, eventually } from '../harness/integrator.ts';
import { startReceiver } from '../harness/receiver.ts';
import type { Receiver } from '../harness/receiver.ts';
import { changeValue, keyOf, row } from '../harness/events.ts';
import { SECRET_A } from './setup.ts';

let receiver: Receiver;
let integrator: Integrator;
let source: HandSource;
const changes: ChangeSeen[] = [];
const steps: DeliveryEvent[] = [];

beforeAll(async () => {
  receiver = await startReceiver({
    secret: SECRET_A,
    handler: (req) => (req.body.data.status === 'Refused' ? { status: 400 } : { status: 200 }),
  });
  const env = integratorEnv({
    brokers: ['127.0.0.1:1'],
    topic: 't',
    groupId: 'g',
    customers: [{ id: 'customer-a', url: receiver.url, secret: SECRET_A }],
  });
  const cfg = loadConfig(env);
  if (!cfg.ok) throw new Error(cfg.problems.join('\n'));
  source = new HandSource();
  integrator = createIntegrator(cfg.config, {
    source,
    log: createLogger('silent'),
    observer: { change: (e) => changes.push(e), delivery: (e) => steps.push(e) },
  });
  await integrator.start();
});
afterAll(async () => {
  await integrator?.stop();
  await receiver?.close();
});

describe('delivery events', () => {
  it('a delivered status: change seen, then accepted → sending → attempted(2xx) → delivered', async () => {
    await source.push(keyOf('PKG-EV-1'), changeValue(row('PKG-EV-1', 'customer-a', 'In Transit', 1)));
    await source.push(keyOf('PKG-EV-2'), changeValue(row('PKG-EV-2', 'nobody', 'In Transit', 1)));
    await eventually(async () => steps.some((s) => s.kind === 'delivered'), 10_000, 'delivered');
    expect(changes.map((c) => [c.packageId, c.label, c.customers])).toEqual([
      ['PKG-EV-1', 'In Transit', ['customer-a']],
      ['PKG-EV-2', 'In Transit', []],
    ]);
    const id = changes[0]!.eventId;
    expect(JSON.parse(changes[0]!.body).id).toBe(id);
    const mine = steps.filter((s) => s.eventId === id);
    expect(mine.map((s) => s.kind)).toEqual(['accepted', 'sending', 'attempted', 'delivered']);
    expect(mine[2]).toMatchObject({ result: '2xx', httpStatus: 200, attempt: 1, customer: 'customer-a' });
    expect(mine[3]).toMatchObject({ attempts: 1, packageId: 'PKG-EV-1', label: 'In Transit' });
  });

  it('a refused status: attempted(4xx) then dead with the reason', async () => {
    await source.push(keyOf('PKG-EV-3'), changeValue(row('PKG-EV-3', 'customer-a', 'Refused', 1)));
    await eventually(async () => steps.some((s) => s.kind === 'dead'), 10_000, 'dead letter');
    const id = changes.at(-1)!.eventId;
    const mine = steps.filter((s) => s.eventId === id);
    expect(mine.map((s) => s.kind)).toEqual(['accepted', 'sending', 'attempted', 'dead']);
    expect(mine[3]).toMatchObject({ attempts: 1 });
    expect((mine[3] as { reason: string }).reason).toContain('HTTP 400');
  });
});
