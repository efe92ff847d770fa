/** The delivery log port against a real Postgres started by the harness. */
import { afterAll, beforeAll } from 'vitest';
import { openPostgresLog } from '../../src/log/postgres.ts';
import { startPostgres } from '../harness/postgres.ts';
import type { PostgresHarness } from '../harness/postgres.ts';
import { logStoreConformance } from './conformance.ts';

let pg: PostgresHarness;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
});

logStoreConformance('Postgres', async () =>
  openPostgresLog(await pg.createDatabase(), (err) => {
    throw err;
  }),
);
