/**
 * The embedded delivery log: SQLite through Node's own `node:sqlite`, in this process (in the log's worker
 * thread, src/log/worker.ts), so `npm run demo` and a bare `npm start` have a log with no server to run. Its
 * synchronous API suits that one thread: a batch is one transaction of prepared statements that runs to its
 * end before anything else does, so queries and retention never land inside it.
 *
 * Its file lives by default in a private directory under the system temp folder, removed when the
 * integrator stops (the log lasts as long as the process), or in DELIVERY_LOG_DIR, kept across restarts,
 * which one integrator at a time may use (a lock file refuses a second one). A kept log is WAL with
 * synchronous=NORMAL (a crash may lose its last moments, never corrupt it); the private one keeps a rollback
 * journal beside its file and never syncs (it dies with the process: README "The delivery log"). Both have a
 * busy timeout (another process holding the file, a backup, makes a write wait, then fail and be retried).
 *
 * A full log costs most (docs/BENCHMARKS.md, finding §0a): event and package ids are random keys, so each
 * batch touches pages all over three indexes, and deleting the oldest rows touches as many again. Two
 * things keep that bounded: a write that takes a table past `maxRows` deletes its oldest rows in the same
 * transaction (one commit writes each touched page once, where a separate prune wrote them all again), and a
 * 16 MB page cache keeps those indexes in memory at the default cap instead of re-reading them from the file.
 */
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { StatementSync } from 'node:sqlite';
import type { SqlClient, SqlDialect } from './sql-store.ts';
import { SqlDeliveryLog } from './sql-store.ts';
import type { BatchRows } from './sql-rows.ts';
import { mergeDelivery } from './sql-rows.ts';
import { SQLITE_MIGRATIONS, SQLITE_MIGRATIONS_TABLE } from './sqlite-schema.ts';
import { LOG_TABLES } from './schema.ts';

export const SQLITE_FILE = 'delivery-log.sqlite';
const LOCK = 'integrator.lock';
const BUSY_TIMEOUT_MS = 5000;
/** SQLite's page cache, in KiB (its default is 2 MB): holds the indexes of 100,000 rows per table. */
const CACHE_KIB = 16 * 1024;
/**
 * Pages of 32 KiB, not SQLite's 4 KiB: a batch's rows land all over the random-keyed indexes, and each page
 * it touches is a page-cache lookup, a journal or WAL copy and a write system call at the commit. Eight
 * times fewer, larger pages took the writer from ~52 to ~33 µs per delivery on a full private log and from
 * ~60 to ~34 on a kept (WAL) one (offline, 250,000 deliveries at the 100,000-row cap, two interleaved runs
 * each; 64 KiB measured the same as 32). Only a new file takes it: a kept log made earlier keeps its pages.
 */
const PAGE_SIZE = 32 * 1024;
const TABLES = LOG_TABLES.map((t) => t.table);
/** A log kept across restarts (DELIVERY_LOG_DIR): a crash may lose its last moments, never corrupt it. */
const KEPT_PRAGMAS = 'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;';
/**
 * A log that dies with the process (the default): nothing to keep across a crash, so no write-ahead log to
 * copy every page through and check-point, and no syncs. The rollback journal is a file that stays
 * (PERSIST: no truncate or unlink per commit), not memory: a trim's transaction journals every page it
 * touches (thousands at the row cap), and in memory that left the process ~17 MB larger for good once the
 * log was full (the memory figure: 227 MB against 213); on file it costs the same CPU (offline, 200,000
 * deliveries, full log: 39–53 µs per delivery against 39–54).
 */
const EPHEMERAL_PRAGMAS = 'PRAGMA journal_mode = PERSIST; PRAGMA synchronous = OFF;';
/** Rows one write deletes per table, at most (a write holds ~8 batches: up to 8,000 deliveries). */
const TRIM_MAX = 20_000;
/**
 * A table past its cap is cut to this much below it (a tenth, at most 10,000 rows): counting a table's rows
 * takes milliseconds at 100,000, so it is done once per that many rows written, not at every write.
 */
const trimSlack = (maxRows: number): number => Math.min(Math.ceil(maxRows / 10), 10_000);

export const SQLITE_DIALECT: SqlDialect = {
  param: (n) => `?${n}`,
  ms: (col, as) => `${col} AS ${as}`,
  time: (param) => param,
  customers: 'customers',
  inList: (col, param) => `${col} IN (SELECT value FROM json_each(${param}))`,
  list: (values) => JSON.stringify(values),
};

const INSERT_CHANGE = `
INSERT INTO delivery_log_changes (event_id, package_id, status, type, occurred_at, seen_at, topic,
  kafka_partition, kafka_offset, customers, body)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (event_id) DO NOTHING`;

const UPSERT_DELIVERY = `
INSERT INTO delivery_log_deliveries AS d (event_id, customer, package_id, status, state, attempts, replays,
  created_at, updated_at, last_result, last_http_status, last_error, last_attempt, last_attempt_at,
  last_duration_ms, parked_why, due_at, delivered_at, end_to_end_ms, dead_at, dead_reason)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (event_id, customer) DO UPDATE SET ${mergeDelivery('min', 'max')}`;

const INSERT_STEP = `
INSERT INTO delivery_log_steps (event_id, customer, package_id, kind, at, attempt, result, http_status,
  duration_ms, detail)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

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

type Value = string | number | null;

/**
 * Runs `fn` in one write transaction (BEGIN IMMEDIATE: it takes the write lock first, or waits for it);
 * `onRollback` when it did not commit.
 */
function inTransaction(db: DatabaseSync, fn: () => void, onRollback?: () => void): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    fn();
    db.exec('COMMIT');
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    onRollback?.();
    throw err;
  }
}

export interface EmbeddedLogOptions {
  /** How long a write waits for another holder of the file's write lock before it fails. */
  busyTimeoutMs?: number;
  /**
   * Each table keeps at most this many rows, the newest: a write that takes a table past it deletes its
   * oldest rows, down to a tenth below, in its own transaction. Unset: only `prune` deletes.
   */
  maxRows?: number;
}

/**
 * `dir` null: a private directory in the temp folder, removed when the log closes (the embedded log then
 * lasts as long as the process, like memory, but on disk: out of the process's memory).
 */
export async function openEmbeddedLog(
  dir: string | null,
  options: EmbeddedLogOptions = {},
): Promise<SqlDeliveryLog> {
  const ephemeral = dir === null;
  const path = dir ?? ephemeralDir();
  const unlock = lockDir(path);
  const cleanup = (): void => {
    unlock();
    if (ephemeral) rmSync(path, { recursive: true, force: true });
  };
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(join(path, SQLITE_FILE), { timeout: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS });
    try {
      // page_size before journal_mode: a WAL file's page size is fixed once it is created.
      db.exec(
        `PRAGMA page_size = ${PAGE_SIZE}; ${ephemeral ? EPHEMERAL_PRAGMAS : KEPT_PRAGMAS} PRAGMA cache_size = -${CACHE_KIB};`,
      );
    } catch (err) {
      db.close();
      throw err;
    }
  } catch (err) {
    cleanup();
    throw err;
  }
  const statements = new Map<string, StatementSync>();
  const prepared = (sql: string): StatementSync => {
    let s = statements.get(sql);
    if (s === undefined) {
      s = db.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };

  const count = (table: string): number =>
    Number((prepared(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
  /** Per table, at most how many rows it holds: counted, plus every row written since (forgotten on a rollback). */
  const atMost = new Map<string, number>();
  /**
   * Once a table may hold more than `maxRows`, counts it, and if it does, deletes its oldest rows down to
   * `maxRows` − trimSlack: at most TRIM_MAX in one write, so a cap lowered across a restart is reached over
   * several writes instead of by one long transaction.
   */
  const trim = (maxRows: number, written: Record<string, number>): void => {
    for (const table of TABLES) {
      const bound = (atMost.get(table) ?? count(table)) + (written[table] ?? 0);
      if (bound <= maxRows) {
        atMost.set(table, bound);
        continue;
      }
      const n = count(table);
      const over = n > maxRows ? Math.min(n - (maxRows - trimSlack(maxRows)), TRIM_MAX) : 0;
      if (over > 0)
        prepared(`DELETE FROM ${table} WHERE seq IN (SELECT seq FROM ${table} ORDER BY seq LIMIT ?)`).run(
          over,
        );
      atMost.set(table, n - over);
    }
  };

  const client: SqlClient = {
    dialect: SQLITE_DIALECT,
    // Finding the newest rows by position walks a whole table: with the cap kept here, prune skips it.
    keepsRowCap: options.maxRows !== undefined,
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      return prepared(sql).all(...(params as Value[])) as T[];
    },
    async migrate(): Promise<void> {
      inTransaction(db, () => {
        db.exec(SQLITE_MIGRATIONS_TABLE);
        const done = new Set(
          prepared('SELECT version FROM delivery_log_migrations')
            .all()
            .map((r) => Number(r.version)),
        );
        for (const m of SQLITE_MIGRATIONS) {
          if (done.has(m.version)) continue;
          db.exec(m.sql);
          prepared('INSERT INTO delivery_log_migrations (version, name) VALUES (?, ?)').run(
            m.version,
            m.name,
          );
        }
      });
    },
    async write(rows: BatchRows): Promise<void> {
      const change = prepared(INSERT_CHANGE);
      const delivery = prepared(UPSERT_DELIVERY);
      const step = prepared(INSERT_STEP);
      inTransaction(
        db,
        () => {
          for (const c of rows.changes) {
            change.run(
              c.event_id,
              c.package_id,
              c.status,
              c.type,
              c.occurred_at,
              c.seen_at,
              c.topic,
              c.kafka_partition,
              c.kafka_offset,
              JSON.stringify(c.customers),
              c.body,
            );
          }
          for (const d of rows.deliveries) {
            delivery.run(
              d.event_id,
              d.customer,
              d.package_id,
              d.status,
              d.state,
              d.attempts,
              d.replays,
              d.first_at,
              d.last_at,
              d.last_result,
              d.last_http_status,
              d.last_error,
              d.last_attempt,
              d.last_attempt_at,
              d.last_duration_ms,
              d.parked_why,
              d.due_at,
              d.delivered_at,
              d.end_to_end_ms,
              d.dead_at,
              d.dead_reason,
            );
          }
          for (const s of rows.steps) {
            step.run(
              s.event_id,
              s.customer,
              s.package_id,
              s.kind,
              s.at,
              s.attempt,
              s.result,
              s.http_status,
              s.duration_ms,
              s.detail,
            );
          }
          if (options.maxRows !== undefined)
            trim(options.maxRows, {
              delivery_log_changes: rows.changes.length,
              delivery_log_deliveries: rows.deliveries.length,
              delivery_log_steps: rows.steps.length,
            });
        },
        () => atMost.clear(),
      );
    },
    // Freed pages are reused by later writes; this keeps the planner's statistics current.
    afterPrune: async () => {
      db.exec('PRAGMA optimize');
    },
    close: async () => {
      try {
        statements.clear();
        if (db.isOpen) db.close();
      } finally {
        cleanup();
      }
    },
  };
  return new SqlDeliveryLog('embedded', client);
}
