/**
 * deploy/postgres/init against a real Postgres: what each connector streams from (its publication, with the
 * heartbeat table), its heartbeat.action.query, and compose's Postgres health check, which must pass only
 * once the last init step is done.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres } from '../harness/postgres.ts';
import type { PostgresHarness } from '../harness/postgres.ts';
import { createPackageStatusDatabase, INIT_DIR, initScripts } from '../load/support.ts';
import { composeConfig, REPO_ROOT } from './compose.ts';

const connector = (file: string) =>
  JSON.parse(readFileSync(join(REPO_ROOT, 'connectors', file), 'utf8')) as Record<string, string>;
const CONNECTORS = [connector('package-status.json'), connector('outbox.json')];

let server: PostgresHarness;
let db: pg.Pool;
beforeAll(async () => {
  server = await startPostgres();
  db = new pg.Pool({ connectionString: await createPackageStatusDatabase(server), max: 2 });
});
afterAll(async () => {
  await db?.end();
  await server?.stop();
});

describe('deploy/postgres/init', () => {
  it.each(CONNECTORS.map((c) => [c.name, c] as const))(
    '%s: its publication carries exactly its tables and the heartbeat table',
    async (_name, c) => {
      const res = await db.query<{ t: string }>(
        "SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1",
        [c['publication.name']],
      );
      expect(res.rows.map((r) => r.t)).toEqual(
        [...String(c['table.include.list']).split(','), 'public.debezium_heartbeat'].sort(),
      );
    },
  );

  it('each heartbeat.action.query keeps one row per connector, moving its time on', async () => {
    for (const c of CONNECTORS) await db.query(String(c['heartbeat.action.query']));
    const first = await db.query<{ connector: string; beat_at: Date }>(
      'SELECT connector, beat_at FROM debezium_heartbeat ORDER BY connector',
    );
    expect(first.rows.map((r) => r.connector)).toEqual(['outbox', 'package-status']);
    await new Promise((r) => setTimeout(r, 20));
    for (const c of CONNECTORS) await db.query(String(c['heartbeat.action.query']));
    const second = await db.query<{ connector: string; beat_at: Date }>(
      'SELECT connector, beat_at FROM debezium_heartbeat ORDER BY connector',
    );
    expect(second.rows).toHaveLength(2);
    for (const [i, row] of second.rows.entries())
      expect(row.beat_at.getTime()).toBeGreaterThan(first.rows[i]!.beat_at.getTime());
  });

  it('the scripts can run again on an initialised database (IF NOT EXISTS everywhere)', async () => {
    for (const file of await initScripts()) await db.query(readFileSync(join(INIT_DIR, file), 'utf8'));
  });

  it("compose's health check passes once both publications exist, and not before the last script", async () => {
    const test = (await composeConfig()).services.postgres?.healthcheck?.test;
    const command = Array.isArray(test) ? test.join(' ') : String(test);
    const sql = /-tAc "([^"]+)"/.exec(command)?.[1];
    const expected = /grep -qx (\S+)/.exec(command)?.[1];
    expect(sql && expected).toBeTruthy();
    const answer = async (pool: pg.Pool) =>
      String(((await pool.query<{ count: string }>(sql!)).rows[0] as { count: string }).count);
    expect(await answer(db)).toBe(expected);

    const partial = new pg.Pool({ connectionString: await server.createDatabase(), max: 1 });
    try {
      const scripts = await initScripts();
      for (const file of scripts.slice(0, -1))
        await partial.query(readFileSync(join(INIT_DIR, file), 'utf8'));
      expect(await answer(partial)).not.toBe(expected);
    } finally {
      await partial.end();
    }
  });
});
