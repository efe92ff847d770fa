/** Shared by the load tests: a fresh database with compose's own init script applied. */
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import type { PostgresHarness } from '../harness/postgres.ts';

export const INIT_SQL = new URL('../../deploy/postgres/init/01-package-status.sql', import.meta.url);

/** A new database holding package_status exactly as docker compose creates it; returns its URL. */
export async function createPackageStatusDatabase(server: PostgresHarness): Promise<string> {
  const url = await server.createDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(await readFile(INIT_SQL, 'utf8'));
  } finally {
    await client.end();
  }
  return url;
}

export interface StoredRow {
  id: string;
  package_id: string;
  customer_id: string;
  status: string;
  actual_address: string;
  next_address: string | null;
  created_at: Date;
}

export async function allRows(pool: pg.Pool): Promise<StoredRow[]> {
  return (await pool.query<StoredRow>('SELECT * FROM package_status ORDER BY id')).rows;
}
