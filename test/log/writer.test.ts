/**
 * The log's writer thread (src/log/worker.ts) through its host, as the integrator runs it. It holds a quiet
 * stream's batches for up to a second so that they share one transaction: what it holds is written when
 * the hold ends, and at once when the log closes — a stop never leaves held records behind. The embedded
 * store it opens keeps DELIVERY_LOG_MAX_ROWS as it writes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, expect, it } from 'vitest';
import { DeliveryLog } from '../../src/log/delivery-log.ts';
import { openEmbeddedLog } from '../../src/log/sqlite.ts';
import { createLogger } from '../../src/report/logger.ts';
import { eventually } from '../harness/integrator.ts';

const root = mkdtempSync(join(tmpdir(), 'log-hold-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function openLog(dir: string, maxRows = 100_000): DeliveryLog {
  const log = new DeliveryLog(
    { kind: 'embedded', url: null, dir, maxAgeMs: 86_400_000, maxRows, buffer: 1000 },
    createLogger('silent'),
    new Registry(),
  );
  log.start();
  return log;
}

function deliver(log: DeliveryLog, n: number): void {
  const at = Date.now();
  const eventId = `evt_hold${n}`;
  const ref = { at, customer: 'customer-1', eventId, packageId: `PKG-H${n}`, label: 'In Transit' };
  log.change({
    ...ref,
    type: 'package_status.created',
    occurredAt: at,
    source: { topic: 't', partition: 0, offset: String(n) },
    customers: ['customer-1'],
    body: '{}',
  });
  log.delivery({ ...ref, kind: 'accepted' }); // not a record of its own: the change line stands for it
  log.delivery({ ...ref, kind: 'delivered', attempts: 1, endToEndMs: 3 });
}

async function up(log: DeliveryLog): Promise<void> {
  await eventually(() => log.status().health === 'up', 30_000, 'the log up');
}

it('a quiet stream: held, then written without anything more arriving', async () => {
  const log = openLog(join(root, 'quiet'));
  try {
    await up(log);
    for (let n = 0; n < 3; n++) deliver(log, n);
    // Two records per delivery; they are written though nothing else comes to fill the transaction.
    await eventually(() => log.status().written === 6, 10_000, 'three deliveries written');
    expect(await log.event('evt_hold2')).toEqual(expect.objectContaining({ packageId: 'PKG-H2' }));
  } finally {
    await log.close();
  }
});

it('closing writes what the writer holds at once, without waiting for the hold to end', async () => {
  const dir = join(root, 'closing');
  const log = openLog(dir);
  await up(log);
  for (let n = 0; n < 5; n++) deliver(log, n);
  // Handed to the writer (the host flushes every 250 ms), and held there.
  await eventually(() => log.status().buffered === 0, 10_000, 'the batch handed to the writer');
  await log.close(3000);
  expect(log.status()).toEqual(expect.objectContaining({ written: 10, dropped: 0 }));
  const store = await openEmbeddedLog(dir);
  try {
    expect(await store.counts()).toEqual({ changes: 5, deliveries: 5, steps: 0 });
  } finally {
    await store.close();
  }
});

it('the embedded store keeps the row cap it is given as it writes (a tenth below once past it)', async () => {
  const log = openLog(join(root, 'capped'), 10);
  try {
    await up(log);
    for (let n = 0; n < 30; n++) deliver(log, n);
    await eventually(() => log.status().written === 60, 10_000, 'thirty deliveries written');
    const counts = await log.counts();
    expect(counts.changes).toBeGreaterThanOrEqual(9);
    expect(counts.changes).toBeLessThanOrEqual(10);
    expect(counts.deliveries).toBe(counts.changes);
    expect(await log.event('evt_hold29')).not.toBeNull();
    expect(await log.event('evt_hold0')).toBeNull();
  } finally {
    await log.close();
  }
});
