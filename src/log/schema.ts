/**
 * The delivery log's schema in Postgres, as numbered migrations applied in order and recorded in
 * `delivery_log_migrations` (the embedded SQLite log has the same tables in its own dialect,
 * src/log/sqlite-schema.ts). Never edit a released migration: add the next one.
 *
 * A delivery's successful attempt and its settlement live on its `delivery_log_deliveries` row; the
 * steps table holds the rest of its history (failed attempts, parking, dead, replays, …), so the usual
 * delivery costs two rows (its change and itself), not four.
 *
 * Indexes serve the queries of src/log/sql-store.ts and no more (each one is paid on every write):
 * newest-first pages by `seq` (also the row cap and, as `seq` follows time, the time window), per customer,
 * per state other than delivered, an event's deliveries (primary key) and steps, a package's changes (its
 * deliveries are found through them).
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'changes, deliveries, steps',
    sql: `
CREATE TABLE delivery_log_changes (
  seq           BIGSERIAL NOT NULL,
  event_id      TEXT PRIMARY KEY,
  package_id    TEXT NOT NULL,
  status        TEXT,
  type          TEXT NOT NULL,
  occurred_at   TIMESTAMPTZ,
  seen_at       TIMESTAMPTZ NOT NULL,
  topic         TEXT NOT NULL,
  kafka_partition INTEGER NOT NULL,
  kafka_offset  TEXT NOT NULL,
  customers     TEXT[] NOT NULL,
  body          TEXT
);
CREATE UNIQUE INDEX delivery_log_changes_seq ON delivery_log_changes (seq);
CREATE INDEX delivery_log_changes_package ON delivery_log_changes (package_id, seq);

CREATE TABLE delivery_log_deliveries (
  seq            BIGSERIAL NOT NULL,
  event_id       TEXT NOT NULL,
  customer       TEXT NOT NULL,
  package_id     TEXT NOT NULL,
  status         TEXT,
  state          TEXT NOT NULL,
  attempts       INTEGER NOT NULL DEFAULT 0,
  replays        INTEGER NOT NULL DEFAULT 0,
  created_at     TIMESTAMPTZ NOT NULL,
  updated_at     TIMESTAMPTZ NOT NULL,
  last_result    TEXT,
  last_http_status INTEGER,
  last_error     TEXT,
  last_attempt   INTEGER,
  last_attempt_at TIMESTAMPTZ,
  last_duration_ms DOUBLE PRECISION,
  parked_why     TEXT,
  due_at         TIMESTAMPTZ,
  delivered_at   TIMESTAMPTZ,
  end_to_end_ms  DOUBLE PRECISION,
  dead_at        TIMESTAMPTZ,
  dead_reason    TEXT,
  PRIMARY KEY (event_id, customer)
);
CREATE UNIQUE INDEX delivery_log_deliveries_seq ON delivery_log_deliveries (seq);
CREATE INDEX delivery_log_deliveries_customer ON delivery_log_deliveries (customer, seq);
-- Most deliveries end delivered: the state index leaves them out, so the usual insert skips it.
CREATE INDEX delivery_log_deliveries_unsettled ON delivery_log_deliveries (state, seq) WHERE state <> 'delivered';

CREATE TABLE delivery_log_steps (
  seq          BIGSERIAL PRIMARY KEY,
  event_id     TEXT NOT NULL,
  customer     TEXT NOT NULL,
  package_id   TEXT NOT NULL,
  kind         TEXT NOT NULL,
  at           TIMESTAMPTZ NOT NULL,
  attempt      INTEGER,
  result       TEXT,
  http_status  INTEGER,
  duration_ms  DOUBLE PRECISION,
  detail       TEXT
);
CREATE INDEX delivery_log_steps_event ON delivery_log_steps (event_id, customer, seq);
`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/** The tables retention applies to, each with the column that says how old a row is. */
export const LOG_TABLES = [
  { table: 'delivery_log_changes', time: 'seen_at' },
  { table: 'delivery_log_deliveries', time: 'created_at' },
  { table: 'delivery_log_steps', time: 'at' },
] as const;

export const MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS delivery_log_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`;

/** Serialises migrations of several integrators starting at once on one Postgres. */
export const MIGRATION_LOCK_KEY = 7_310_447_001;
