/** The delivery log port against the embedded adapter (PGlite), in memory and in a directory. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openEmbeddedLog } from '../../src/log/pglite.ts';
import { logStoreConformance } from './conformance.ts';

const dir = mkdtempSync(join(tmpdir(), 'delivery-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

logStoreConformance('PGlite in memory', () => openEmbeddedLog(null));

it('a directory: kept across reopening, and locked against a second integrator', async () => {
  const path = join(dir, 'log');
  const first = await openEmbeddedLog(path);
  await first.migrate();
  await first.write({
    changes: [
      {
        eventId: 'evt_keep',
        packageId: 'PKG-K',
        status: 'In Transit',
        type: 'package_status.created',
        occurredAt: null,
        seenAt: Date.now(),
        topic: 't',
        partition: 0,
        offset: '1',
        customers: [],
        body: '{}',
      },
    ],
    deliveries: [],
    steps: [],
  });
  // Another live process holds it.
  writeFileSync(join(dir, 'other.lock'), '');
  await first.close();
  writeFileSync(join(path, 'integrator.lock'), String(process.ppid));
  await expect(openEmbeddedLog(path)).rejects.toThrow(/in use by process/);
  // A lock left by a process that is gone is taken over.
  writeFileSync(join(path, 'integrator.lock'), '999999999');
  const again = await openEmbeddedLog(path);
  await again.migrate();
  expect((await again.package('PKG-K', 10, null))!.latest.eventId).toBe('evt_keep');
  await again.close();
}, 120_000);
