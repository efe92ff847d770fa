/** Shared by the load tests: a fresh database with compose's own init scripts applied. */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import pg from 'pg';
import type { PostgresHarness } from '../harness/postgres.ts';

export const INIT_DIR = fileURLToPath(new URL('../../deploy/postgres/init/', import.meta.url));

/** The init scripts in the order the postgres image runs them (sorted by name). */
export async function initScripts(): Promise<string[]> {
  return (await readdir(INIT_DIR)).filter((f) => f.endsWith('.sql')).sort();
}

/** A new database holding package_status, outbox and the publications exactly as docker compose creates them. */
export async function createPackageStatusDatabase(server: PostgresHarness): Promise<string> {
  const url = await server.createDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const file of await initScripts()) await client.query(await readFile(join(INIT_DIR, file), 'utf8'));
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
