/**
 * The embedded delivery log: PGlite, Postgres compiled to WebAssembly, in this process (in the log's worker
 * thread, src/log/worker.ts). Why PGlite: it is Postgres, so the log runs the very same SQL, schema and
 * migrations as with DATABASE_URL (one conformance suite, no dialect); it is one npm package with no native
 * build and no server to run, so `npm run demo` and a bare `npm start` have a log.
 *
 * Its data lives by default in a private directory under the system temp folder, removed when the
 * integrator stops (the log lasts as long as the process), or in DELIVERY_LOG_DIR, kept across restarts,
 * which one integrator at a time may use (a lock file refuses a second one). A directory without a
 * database starts from a migrated template (saved by the first fresh one), not from a new initdb.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlRunner } from './sql-store.ts';
import { SqlDeliveryLog } from './sql-store.ts';
import { SCHEMA_VERSION } from './schema.ts';

/** Smaller buffers than PGlite's defaults: the log is written in batches and read a page at a time. */
const START_PARAMS = [
  ...PGlite.defaultStartParams,
  '-c',
  'shared_buffers=16MB',
  '-c',
  'work_mem=4MB',
  // A log: losing the last moments of it in a crash is acceptable, waiting for each commit is not.
  '-c',
  'synchronous_commit=off',
];

const LOG_TABLES_SQL = 'delivery_log_changes, delivery_log_deliveries, delivery_log_steps';

function runner(db: Pick<PGlite, 'query' | 'exec'>): SqlRunner {
  return {
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      return (await db.query<T>(sql, params)).rows;
    },
    async exec(sql: string): Promise<void> {
      await db.exec(sql);
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const LOCK = 'integrator.lock';

/** Takes `<dir>/integrator.lock` for this process, or throws naming the process that holds it. */
function lockDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new Error(
          `DELIVERY_LOG_DIR ${dir} is in use by process ${holder}: one integrator per directory (give each its own, or use DATABASE_URL)`,
          { cause: err },
        );
      }
      rmSync(file, { force: true }); // left by a process that is gone
    }
  }
  throw new Error(`could not lock DELIVERY_LOG_DIR ${dir}`);
}

/**
 * A fresh in-memory database starts with Postgres' initdb, seconds of CPU. The first one also saves itself,
 * migrated, as a template in the temp folder (one per PGlite version and schema); later ones load it.
 */
function templatePath(): string {
  let version = 'unknown';
  try {
    const main = fileURLToPath(import.meta.resolve('@electric-sql/pglite'));
    version = (
      JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    // no version: the template is still keyed by schema
  }
  return join(
    tmpdir(),
    'package-status-integrator',
    `delivery-log-pglite-${version}-schema-${SCHEMA_VERSION}.tar.gz`,
  );
}

/** Opens `dir`; a directory without a database starts from the template when there is one. */
async function create(dir: string): Promise<{ db: PGlite; fresh: boolean }> {
  const options = { startParams: START_PARAMS, relaxedDurability: true };
  if (existsSync(join(dir, 'PG_VERSION'))) return { db: await PGlite.create(dir, options), fresh: false };
  const template = templatePath();
  if (existsSync(template)) {
    try {
      const loadDataDir = new Blob([readFileSync(template)]);
      return { db: await PGlite.create(dir, { ...options, loadDataDir }), fresh: false };
    } catch {
      rmSync(template, { force: true }); // unreadable: make a new one
      for (const f of readdirSync(dir))
        if (f !== LOCK) rmSync(join(dir, f), { recursive: true, force: true });
    }
  }
  return { db: await PGlite.create(dir, options), fresh: true };
}

async function saveTemplate(db: PGlite): Promise<void> {
  const template = templatePath();
  const blob = await db.dumpDataDir('gzip');
  mkdirSync(dirname(template), { recursive: true });
  const tmp = `${template}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.from(await blob.arrayBuffer()));
  renameSync(tmp, template); // atomic: another process never reads half a template
}

const EPHEMERAL_ROOT = join(tmpdir(), 'package-status-integrator');
const EPHEMERAL = /^delivery-log-(\d+)-/;

/** A private directory for this process's log, and the leftovers of processes that died removed. */
function ephemeralDir(): string {
  mkdirSync(EPHEMERAL_ROOT, { recursive: true });
  for (const name of readdirSync(EPHEMERAL_ROOT)) {
    const pid = Number(EPHEMERAL.exec(name)?.[1]);
    if (pid && pid !== process.pid && !isAlive(pid))
      rmSync(join(EPHEMERAL_ROOT, name), { recursive: true, force: true });
  }
  return mkdtempSync(join(EPHEMERAL_ROOT, `delivery-log-${process.pid}-`));
}

/**
 * `dir` null: a private directory in the temp folder, removed when the log closes (the embedded log then
 * lasts as long as the process, like memory, but Postgres' files live on disk: cheaper to grow than
 * PGlite's in-memory files, and out of the process's memory).
 */
export async function openEmbeddedLog(dir: string | null): Promise<SqlDeliveryLog> {
  const ephemeral = dir === null;
  const path = dir ?? ephemeralDir();
  const unlock = lockDir(path);
  const cleanup = (): void => {
    unlock();
    if (ephemeral) rmSync(path, { recursive: true, force: true });
  };
  let db: PGlite;
  let fresh: boolean;
  try {
    ({ db, fresh } = await create(path));
  } catch (err) {
    cleanup();
    throw err;
  }
  const client: SqlClient = {
    ...runner(db),
    transaction: (fn) => db.transaction((tx) => fn(runner(tx))),
    // PGlite runs Postgres single-user: no autovacuum. Deleted and updated rows are reclaimed here.
    afterPrune: async () => {
      await db.exec(`VACUUM (ANALYZE) ${LOG_TABLES_SQL}`);
    },
    close: async () => {
      try {
        await db.close();
      } finally {
        cleanup();
      }
    },
  };
  const store = new SqlDeliveryLog('embedded', client);
  try {
    await store.migrate();
    if (fresh) await saveTemplate(db).catch(() => {}); // only a start-up speed-up
    // A log that ends with the process has nothing to recover after a crash: no write-ahead log for it.
    if (ephemeral) {
      await db.exec(
        LOG_TABLES_SQL.split(', ')
          .map((t) => `ALTER TABLE ${t} SET UNLOGGED;`)
          .join('\n'),
      );
    }
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }
  return store;
}
