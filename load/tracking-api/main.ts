/** `npm run tracking-api` — DATABASE_URL (required), PORT (default 3000), HOST (default 127.0.0.1). */
import pg from 'pg';
import { buildTrackingApi } from './app.ts';

const databaseUrl = process.env.DATABASE_URL;
const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const problems: string[] = [];
if (!databaseUrl)
  problems.push('DATABASE_URL is not set (e.g. postgres://postgres:postgres@127.0.0.1:15432/packages)');
if (!Number.isInteger(port) || port < 0 || port > 65535)
  problems.push(`PORT must be a port number, got '${process.env.PORT}'`);
if (problems.length > 0) {
  for (const p of problems) console.error(`error: ${p}`);
  process.exit(2);
}

const pool = new pg.Pool({ connectionString: databaseUrl, max: 20 });
const app = buildTrackingApi({ pool, logger: { level: process.env.LOG_LEVEL ?? 'info' } });
const shutdown = async (): Promise<void> => {
  await app.close();
  await pool.end();
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());

await app.listen({ port, host });
