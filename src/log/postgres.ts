/**
 * The delivery log in Postgres (DATABASE_URL): the same SQL as the embedded log, through a small pool.
 * Several integrators may share one database: rows carry event id and customer, migrations take an
 * advisory lock.
 */
import pg from 'pg';
import type { SqlClient, SqlRunner } from './sql-store.ts';
import { SqlDeliveryLog } from './sql-store.ts';

function runner(db: pg.Pool | pg.PoolClient): SqlRunner {
  return {
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      return (await db.query(sql, params)).rows as T[];
    },
    async exec(sql: string): Promise<void> {
      await db.query(sql);
    },
  };
}

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
  const client: SqlClient = {
    ...runner(pool),
    async transaction(fn) {
      const c = await pool.connect();
      let broken: Error | undefined;
      try {
        await c.query('BEGIN');
        const out = await fn(runner(c));
        await c.query('COMMIT');
        return out;
      } catch (err) {
        await c.query('ROLLBACK').catch((e: unknown) => (broken = e as Error));
        throw err;
      } finally {
        c.release(broken); // a connection that could not roll back is dropped, not reused
      }
    },
    afterPrune: async () => {}, // autovacuum does it
    close: () => pool.end(),
  };
  return new SqlDeliveryLog('postgres', client);
}
