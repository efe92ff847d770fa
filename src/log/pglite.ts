/**
 * The embedded delivery log: PGlite, Postgres compiled to WebAssembly, in this process (in the log's worker
 * thread, src/log/worker.ts). Why PGlite: it is Postgres, so the log runs the very same SQL, schema and
 * migrations as with DATABASE_URL (one conformance suite, no dialect); it is one npm package with no native
 * build and no server to run, so `npm run demo` and a bare `npm start` have a log.
 *
 * Its data lives in memory by default (lost on restart, bounded by retention), or in DELIVERY_LOG_DIR,
 * which one integrator at a time may use (a lock file refuses a second one).
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
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

/** Takes `<dir>/integrator.lock` for this process, or throws naming the process that holds it. */
function lockDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'integrator.lock');
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

async function createMemory(): Promise<{ db: PGlite; fresh: boolean }> {
  const template = templatePath();
  if (existsSync(template)) {
    try {
      const db = await PGlite.create('memory://', {
        startParams: START_PARAMS,
        relaxedDurability: true,
        loadDataDir: new Blob([readFileSync(template)]),
      });
      return { db, fresh: false };
    } catch {
      rmSync(template, { force: true }); // unreadable: make a new one
    }
  }
  const db = await PGlite.create('memory://', { startParams: START_PARAMS, relaxedDurability: true });
  return { db, fresh: true };
}

async function saveTemplate(db: PGlite): Promise<void> {
  const template = templatePath();
  const blob = await db.dumpDataDir('gzip');
  mkdirSync(dirname(template), { recursive: true });
  const tmp = `${template}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.from(await blob.arrayBuffer()));
  renameSync(tmp, template); // atomic: another process never reads half a template
}

export async function openEmbeddedLog(dir: string | null): Promise<SqlDeliveryLog> {
  const unlock = dir === null ? () => {} : lockDir(dir);
  let db: PGlite;
  let fresh = false;
  try {
    if (dir === null) ({ db, fresh } = await createMemory());
    else db = await PGlite.create(dir, { startParams: START_PARAMS, relaxedDurability: true });
  } catch (err) {
    unlock();
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
        unlock();
      }
    },
  };
  const store = new SqlDeliveryLog('embedded', client);
  if (fresh) {
    await store.migrate();
    // In memory there is nothing to recover after a restart: no write-ahead log for the log's tables.
    await db.exec(
      LOG_TABLES_SQL.split(', ')
        .map((t) => `ALTER TABLE ${t} SET UNLOGGED;`)
        .join('\n'),
    );
    await saveTemplate(db).catch(() => {}); // only a start-up speed-up
  }
  return store;
}
