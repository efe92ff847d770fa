/**
 * Where and how to connect to Redis, as ioredis options, from `REDIS_URL` and the security settings
 * (README "Configuration"): host, port and database from the URL; TLS for `rediss://` with the
 * CA file and client certificate when given (certificates are always verified, and the host name is checked
 * against the server's certificate); the ACL user and password from REDIS_USERNAME / REDIS_PASSWORD or
 * the URL (config/security.ts already refused both at once).
 *
 * The result is complete: `new Redis({ ...redisConnectionOptions(url, security), ...behaviour })`, no URL
 * beside it.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { RedisOptions } from 'ioredis';
import type { RedisSecurity } from '../config/security.ts';

export type RedisConnectionOptions = Pick<
  RedisOptions,
  'host' | 'port' | 'db' | 'username' | 'password' | 'tls'
>;

export function redisConnectionOptions(
  url: string,
  security: RedisSecurity,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): RedisConnectionOptions {
  const u = new URL(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new Error('REDIS_URL must start with redis:// or rediss://');
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new Error('REDIS_URL: the path must be a database number');

  const options: RedisConnectionOptions = { host, port, db };
  if (security.username !== null) options.username = security.username;
  if (security.password !== null) options.password = security.password.reveal();
  if (u.protocol === 'rediss:') {
    const tls = security.tls;
    options.tls = {
      // Node verifies the chain and the host name by default; nothing here turns that off.
      ...(tls?.caFile ? { ca: readFile(tls.caFile) } : {}),
      ...(tls?.certFile ? { cert: readFile(tls.certFile) } : {}),
      ...(tls?.keyFile ? { key: readFile(tls.keyFile) } : {}),
      ...(isIP(host) === 0 ? { servername: host } : {}),
    };
  }
  return options;
}
