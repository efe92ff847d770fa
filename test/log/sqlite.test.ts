/** The delivery log port against the embedded adapter (SQLite, node:sqlite): in a directory, and private. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, expect, it } from 'vitest';
import { reduce } from '../../src/log/reduce.ts';
import { SQLITE_FILE, openEmbeddedLog } from '../../src/log/sqlite.ts';
import { change, delivered, logStoreConformance, step } from './conformance.ts';

const dir = mkdtempSync(join(tmpdir(), 'delivery-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const oneChange = (eventId: string) => ({
  changes: [
    {
      eventId,
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

/** An outage of the log in `path`: another connection holds the file's write lock (BEGIN EXCLUSIVE). */
function lockedBy(path: string) {
  let holder: DatabaseSync | null = null;
  return {
    async begin() {
      holder = new DatabaseSync(join(path, SQLITE_FILE));
      holder.exec('BEGIN EXCLUSIVE');
    },
    async end() {
      holder?.exec('ROLLBACK');
      holder?.close();
      holder = null;
    },
  };
}

logStoreConformance('SQLite in a directory', async () => {
  const path = join(dir, 'conformance');
  // A short busy timeout: the outage below is another process's write lock on the file.
  const store = await openEmbeddedLog(path, { busyTimeoutMs: 100 });
  return { store, outage: lockedBy(path) };
});

const privateRoot = join(tmpdir(), 'package-status-integrator');
/** This process's private log directories (openEmbeddedLog(null)). */
const privateDirs = (): string[] =>
  readdirSync(privateRoot).filter((n) => n.startsWith(`delivery-log-${process.pid}-`));

// The default log: private, dies with the process, so no write-ahead log and nothing is synced.
logStoreConformance('SQLite, private (the default)', async () => {
  const before = new Set(existsSync(privateRoot) ? privateDirs() : []);
  const store = await openEmbeddedLog(null, { busyTimeoutMs: 100 });
  const path = join(
    privateRoot,
    privateDirs().find((n) => !before.has(n))!,
  );
  return { store, outage: lockedBy(path) };
});

it('a directory: kept across reopening, and locked against a second integrator', async () => {
  const path = join(dir, 'log');
  const first = await openEmbeddedLog(path);
  await first.migrate();
  await first.write(oneChange('evt_keep'));
  await first.close();
  expect(existsSync(join(path, SQLITE_FILE))).toBe(true);
  // Another live process holds it.
  writeFileSync(join(path, 'integrator.lock'), String(process.ppid));
  await expect(openEmbeddedLog(path)).rejects.toThrow(/in use by process/);
  // A lock left by a process that is gone is taken over.
  writeFileSync(join(path, 'integrator.lock'), '999999999');
  const again = await openEmbeddedLog(path);
  await again.migrate();
  expect((await again.package('PKG-K', 10, null))!.latest.eventId).toBe('evt_keep');
  await again.close();
  // Migrations are recorded once, with the schema version.
  const db = new DatabaseSync(join(path, SQLITE_FILE), { readOnly: true });
  expect(db.prepare('SELECT version, name FROM delivery_log_migrations').all()).toEqual([
    { version: 1, name: 'changes, deliveries, steps' },
  ]);
  expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
  // A new file gets 32 KiB pages (fewer page writes per batch at the random-keyed indexes).
  expect(db.prepare('PRAGMA page_size').get()).toEqual({ page_size: 32 * 1024 });
  db.close();
});

it('a directory holding a log made with 4 KiB pages: opened, written and read as it is', async () => {
  const path = join(dir, 'old-pages');
  mkdirSync(path);
  const old = new DatabaseSync(join(path, SQLITE_FILE));
  old.exec('PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE earlier (x INTEGER)');
  old.close();
  const log = await openEmbeddedLog(path);
  await log.migrate();
  await log.write(oneChange('evt_old_pages'));
  expect((await log.event('evt_old_pages'))!.packageId).toBe('PKG-K');
  await log.close();
  const db = new DatabaseSync(join(path, SQLITE_FILE), { readOnly: true });
  expect(db.prepare('PRAGMA page_size').get()).toEqual({ page_size: 4096 });
  expect(db.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
  db.close();
});

it('no directory: a private one under the temp folder, removed when the log closes', async () => {
  const root = join(tmpdir(), 'package-status-integrator');
  const mine = (): string[] => readdirSync(root).filter((n) => n.startsWith(`delivery-log-${process.pid}-`));
  const log = await openEmbeddedLog(null);
  await log.migrate();
  await log.write(oneChange('evt_private'));
  expect((await log.event('evt_private'))!.packageId).toBe('PKG-K');
  const [private1] = mine();
  expect(existsSync(join(root, private1!, SQLITE_FILE))).toBe(true);
  // Nothing to keep across a crash: no write-ahead log beside the file. Its rollback journal is a file
  // that stays (PERSIST), not memory: a trim at the row cap journals thousands of pages.
  expect(
    readdirSync(join(root, private1!)).filter((n) => n.endsWith('-wal') || n.endsWith('-journal')),
  ).toEqual([`${SQLITE_FILE}-journal`]);
  const reader = new DatabaseSync(join(root, private1!, SQLITE_FILE), { readOnly: true });
  expect(reader.prepare('PRAGMA page_size').get()).toEqual({ page_size: 32 * 1024 });
  reader.close();
  await log.close();
  expect(mine()).toEqual([]);
});

it('maxRows: a write that takes a table past it deletes the oldest rows in the same transaction', async () => {
  // A cap of 10: a table past it is cut to 9 (a tenth below), so no table ever holds more than 10.
  const log = await openEmbeddedLog(null, { maxRows: 10 });
  await log.migrate();
  const at = Date.now();
  // Batches of four events: each a change, its delivery and one failed attempt (a step row).
  for (let b = 0; b < 6; b++) {
    const records = [];
    for (let i = 0; i < 4; i++) {
      const n = b * 4 + i;
      const id = `evt_cap${n}`;
      const t = at + n * 100;
      records.push(change(id, `PKG-C${i}`, 'In Transit', ['customer-1'], t));
      records.push(
        step(id, `PKG-C${i}`, 'customer-1', t + 1, {
          kind: 'attempted',
          attempt: 1,
          result: '5xx',
          httpStatus: 503,
          durationMs: 3,
          detail: 'HTTP 503',
        }),
      );
      records.push(...delivered(id, `PKG-C${i}`, 'customer-1', t + 2));
    }
    await log.write(reduce(records));
    // Never past the cap after a write: the trim is part of the write, not of a later prune.
    const counts = await log.counts();
    const expected = [4, 8, 9, 9, 9, 9][b]!;
    expect(counts, `after batch ${b}`).toEqual({ changes: expected, deliveries: expected, steps: expected });
  }
  // The newest nine events survived whole; the older ones went from every table.
  for (let n = 15; n < 24; n++) {
    const ev = await log.event(`evt_cap${n}`);
    expect(ev?.deliveries).toEqual([expect.objectContaining({ state: 'delivered', attempts: 2 })]);
  }
  expect(await log.event('evt_cap14')).toBeNull();
  await log.close();
});
