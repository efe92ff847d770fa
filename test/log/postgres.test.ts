/** The delivery log port against a real Postgres started by the harness, reached through a TCP proxy. */
import { afterAll, beforeAll } from 'vitest';
import { openPostgresLog } from '../../src/log/postgres.ts';
import { startPostgres } from '../harness/postgres.ts';
import type { PostgresHarness } from '../harness/postgres.ts';
import { logStoreConformance } from './conformance.ts';
import { tcpProxy } from './tcp-proxy.ts';
import type { Proxy } from './tcp-proxy.ts';

let pg: PostgresHarness;
let proxy: Proxy | undefined;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await proxy?.close();
  await pg?.stop();
});

logStoreConformance('Postgres', async () => {
  const url = new URL(await pg.createDatabase());
  proxy = await tcpProxy(Number(url.port));
  url.port = String(proxy.port);
  const p = proxy;
  // Connections the outage cuts report here (the pool drops them and connects anew later).
  const store = openPostgresLog(url.toString(), () => {});
  return {
    store,
    outage: {
      begin: async () => p.cut(),
      end: async () => p.restore(),
    },
  };
});
