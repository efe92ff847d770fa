/**
 * The delivery log in Postgres (DATABASE_URL): the shared queries of src/log/sql-store.ts through a small
 * pool, the schema of src/log/schema.ts. Several integrators may share one database: rows carry event id
 * and customer, migrations take an advisory lock. A batch's rows go in as one JSON parameter per table
 * (`json_to_recordset`), so a batch is three statements whatever its size.
 */
import pg from 'pg';
import type { SqlClient, SqlDialect } from './sql-store.ts';
import { SqlDeliveryLog } from './sql-store.ts';
import type { BatchRows } from './sql-rows.ts';
import { mergeDelivery } from './sql-rows.ts';
import { MIGRATIONS, MIGRATIONS_TABLE, MIGRATION_LOCK_KEY } from './schema.ts';

const ts = (field: string): string => `to_timestamp(r.${field} / 1000.0)`;

export const POSTGRES_DIALECT: SqlDialect = {
  param: (n) => `$${n}`,
  ms: (col, as) => `(extract(epoch from ${col}) * 1000)::float8 AS ${as}`,
  time: (param) => `to_timestamp(${param}::float8 / 1000.0)`,
  customers: 'array_to_json(customers) AS customers',
  inList: (col, param) => `${col} = ANY(${param}::text[])`,
  list: (values) => values,
};

const UPSERT_DELIVERIES = `
INSERT INTO delivery_log_deliveries AS d (event_id, customer, package_id, status, state, attempts, replays,
  created_at, updated_at, last_result, last_http_status, last_error, last_attempt, last_attempt_at,
  last_duration_ms, parked_why, due_at, delivered_at, end_to_end_ms, dead_at, dead_reason)
SELECT r.event_id, r.customer, r.package_id, r.status, r.state, r.attempts, r.replays, ${ts('first_at')},
  ${ts('last_at')}, r.last_result, r.last_http_status, r.last_error, r.last_attempt, ${ts('last_attempt_at')},
  r.last_duration_ms, r.parked_why, ${ts('due_at')}, ${ts('delivered_at')}, r.end_to_end_ms, ${ts('dead_at')},
  r.dead_reason
FROM json_to_recordset($1::json) AS r(event_id text, customer text, package_id text, status text, state text,
  attempts int, replays int, first_at float8, last_at float8, last_result text, last_http_status int,
  last_error text, last_attempt int, last_attempt_at float8, last_duration_ms float8, parked_why text,
  due_at float8, delivered_at float8, end_to_end_ms float8, dead_at float8, dead_reason text)
ON CONFLICT (event_id, customer) DO UPDATE SET ${mergeDelivery('LEAST', 'GREATEST')}`;

const INSERT_CHANGES = `
INSERT INTO delivery_log_changes (event_id, package_id, status, type, occurred_at, seen_at, topic,
  kafka_partition, kafka_offset, customers, body)
SELECT r.event_id, r.package_id, r.status, r.type, ${ts('occurred_at')}, ${ts('seen_at')}, r.topic,
  r.kafka_partition, r.kafka_offset, r.customers, r.body
FROM json_to_recordset($1::json) AS r(event_id text, package_id text, status text, type text,
  occurred_at float8, seen_at float8, topic text, kafka_partition int, kafka_offset text, customers text[],
  body text)
ON CONFLICT (event_id) DO NOTHING`;

const INSERT_STEPS = `
INSERT INTO delivery_log_steps (event_id, customer, package_id, kind, at, attempt, result, http_status,
  duration_ms, detail)
SELECT r.event_id, r.customer, r.package_id, r.kind, ${ts('at')}, r.attempt, r.result, r.http_status,
  r.duration_ms, r.detail
FROM json_to_recordset($1::json) AS r(event_id text, customer text, package_id text, kind text, at float8,
  attempt int, result text, http_status int, duration_ms float8, detail text)`;

export function openPostgresLog(url: string, onError: (err: Error) => void): SqlDeliveryLog {
  const pool = new pg.Pool({
    connectionString: url,
    max: 3,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    // A query that hangs (a stalled server) must not hold the writer forever.
    query_timeout: 30_000,
    application_name: 'package-status-integrator delivery log',
  });
  pool.on('error', onError);

  async function transaction(fn: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    const c = await pool.connect();
    let broken: Error | undefined;
    // A connection lost while checked out fails its query; its 'error' event must not go unheard (an
    // unhandled one would end the log's thread).
    const lost = (err: Error): void => {
      broken = err;
      onError(err);
    };
    c.on('error', lost);
    try {
      await c.query('BEGIN');
      await fn(c);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch((e: unknown) => (broken = e as Error));
      throw err;
    } finally {
      c.off('error', lost);
      c.release(broken); // a connection that was lost or could not roll back is dropped, not reused
    }
  }

  const client: SqlClient = {
    dialect: POSTGRES_DIALECT,
    keepsRowCap: false,
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      return (await pool.query(sql, params)).rows as T[];
    },
    migrate: () =>
      transaction(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
        await c.query(MIGRATIONS_TABLE);
        const done = new Set(
          (await c.query<{ version: number }>('SELECT version FROM delivery_log_migrations')).rows.map((r) =>
            Number(r.version),
          ),
        );
        for (const m of MIGRATIONS) {
          if (done.has(m.version)) continue;
          await c.query(m.sql);
          await c.query('INSERT INTO delivery_log_migrations (version, name) VALUES ($1, $2)', [
            m.version,
            m.name,
          ]);
        }
      }),
    write: (rows: BatchRows) =>
      transaction(async (c) => {
        if (rows.changes.length > 0) await c.query(INSERT_CHANGES, [JSON.stringify(rows.changes)]);
        if (rows.deliveries.length > 0) await c.query(UPSERT_DELIVERIES, [JSON.stringify(rows.deliveries)]);
        if (rows.steps.length > 0) await c.query(INSERT_STEPS, [JSON.stringify(rows.steps)]);
      }),
    afterPrune: async () => {}, // autovacuum does it
    close: () => pool.end(),
  };
  return new SqlDeliveryLog('postgres', client);
}
