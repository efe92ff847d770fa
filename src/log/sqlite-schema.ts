/**
 * The embedded delivery log's schema in SQLite: the tables, columns and indexes of src/log/schema.ts (read
 * its notes) in SQLite's dialect, as numbered migrations applied in order and recorded in
 * `delivery_log_migrations`. Never edit a released migration: add the next one.
 *
 * The dialect's differences: times are INTEGER ms since the epoch (SQLite has no timestamptz), `customers`
 * is a JSON array as TEXT, and `seq` is each table's rowid (INTEGER PRIMARY KEY AUTOINCREMENT: positions
 * only grow, even after retention emptied a table, so a cursor never meets a reused one), with the
 * Postgres primary keys as unique indexes.
 */
import type { Migration } from './schema.ts';

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'changes, deliveries, steps',
    sql: `
CREATE TABLE delivery_log_changes (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id      TEXT NOT NULL,
  package_id    TEXT NOT NULL,
  status        TEXT,
  type          TEXT NOT NULL,
  occurred_at   INTEGER,
  seen_at       INTEGER NOT NULL,
  topic         TEXT NOT NULL,
  kafka_partition INTEGER NOT NULL,
  kafka_offset  TEXT NOT NULL,
  customers     TEXT NOT NULL,
  body          TEXT
);
CREATE UNIQUE INDEX delivery_log_changes_event ON delivery_log_changes (event_id);
CREATE INDEX delivery_log_changes_package ON delivery_log_changes (package_id, seq);

CREATE TABLE delivery_log_deliveries (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id       TEXT NOT NULL,
  customer       TEXT NOT NULL,
  package_id     TEXT NOT NULL,
  status         TEXT,
  state          TEXT NOT NULL,
  attempts       INTEGER NOT NULL DEFAULT 0,
  replays        INTEGER NOT NULL DEFAULT 0,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  last_result    TEXT,
  last_http_status INTEGER,
  last_error     TEXT,
  last_attempt   INTEGER,
  last_attempt_at INTEGER,
  last_duration_ms REAL,
  parked_why     TEXT,
  due_at         INTEGER,
  delivered_at   INTEGER,
  end_to_end_ms  REAL,
  dead_at        INTEGER,
  dead_reason    TEXT
);
CREATE UNIQUE INDEX delivery_log_deliveries_event ON delivery_log_deliveries (event_id, customer);
CREATE INDEX delivery_log_deliveries_customer ON delivery_log_deliveries (customer, seq);
CREATE INDEX delivery_log_deliveries_unsettled ON delivery_log_deliveries (state, seq) WHERE state <> 'delivered';

CREATE TABLE delivery_log_steps (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id     TEXT NOT NULL,
  customer     TEXT NOT NULL,
  package_id   TEXT NOT NULL,
  kind         TEXT NOT NULL,
  at           INTEGER NOT NULL,
  attempt      INTEGER,
  result       TEXT,
  http_status  INTEGER,
  duration_ms  REAL,
  detail       TEXT
);
CREATE INDEX delivery_log_steps_event ON delivery_log_steps (event_id, customer, seq);
`,
  },
];

export const SQLITE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS delivery_log_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)`;
