/**
 * Managed Redis as the integrator meets it: `rediss://` only, an ACL user with a password, a private CA,
 * optionally a client certificate. The connection options come from the environment through loadConfig
 * and `redisConnectionOptions`, exactly as the integrator builds them.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { redisConnectionOptions } from '../../src/store/redis-connection.ts';
import { makeTestPki } from '../harness/tls.ts';
import type { TestPki } from '../harness/tls.ts';
import { startTlsRedis } from '../harness/redis-tls.ts';
import type { TlsRedis } from '../harness/redis-tls.ts';

const USER = 'integrator';
const CUSTOMERS = JSON.stringify({
  customers: [
    { id: 'c1', url: 'http://127.0.0.1:9/hooks', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
  ],
});
const PASSWORD = 'pw-Redis-7f3a';

let pki: TestPki;
let mutual: TlsRedis; // client certificate required
let serverOnly: TlsRedis; // server certificate only

beforeAll(async () => {
  pki = await makeTestPki();
  [mutual, serverOnly] = await Promise.all([
    startTlsRedis({ pki, user: USER, password: PASSWORD, requireClientCert: true }),
    startTlsRedis({ pki, user: USER, password: PASSWORD, requireClientCert: false }),
  ]);
});

afterAll(async () => {
  await Promise.all([mutual?.stop(), serverOnly?.stop()]);
  await pki?.remove();
});

/** Connection options from the environment, as `npm start` computes them. */
function optionsFrom(env: Record<string, string>) {
  const r = loadConfig(
    { KAFKA_BROKERS: 'localhost:9092', CUSTOMERS_FILE: '/customers.json', ...env },
    (path) => (path === '/customers.json' ? CUSTOMERS : readPem(path)),
  );
  if (!r.ok) throw new Error(r.problems.join('\n'));
  if (r.config.store.kind !== 'redis') throw new Error('expected a redis store');
  return redisConnectionOptions(r.config.store.url, r.config.security.redis);
}

function readPem(path: string): string {
  // loadConfig only checks that the files hold PEM; the real read happens in redisConnectionOptions.
  return path.endsWith('.key') ? '-----BEGIN PRIVATE KEY-----' : '-----BEGIN CERTIFICATE-----';
}

/** Connect once (no retries), run `fn`, always disconnect. A failure names the connection's own errors. */
async function withRedis<T>(
  options: ReturnType<typeof optionsFrom>,
  fn: (r: Redis) => Promise<T>,
): Promise<T> {
  const redis = new Redis({
    ...options,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 5000,
  });
  const seen: string[] = [];
  redis.on('error', (err: Error) => seen.push(err.message));
  try {
    await redis.connect();
    return await fn(redis);
  } catch (err) {
    throw new Error(`${(err as Error).message} (connection errors: ${seen.join('; ')})`, { cause: err });
  } finally {
    redis.disconnect();
  }
}

describe('Redis over TLS with an ACL user', () => {
  it('user and password in separate variables, CA file and client certificate', async () => {
    const options = optionsFrom({
      REDIS_URL: mutual.url,
      REDIS_USERNAME: USER,
      REDIS_PASSWORD: PASSWORD,
      REDIS_TLS_CA_FILE: pki.caFile,
      REDIS_TLS_CERT_FILE: pki.clientCertFile,
      REDIS_TLS_KEY_FILE: pki.clientKeyFile,
    });
    const whoami = await withRedis(options, async (r) => {
      await r.set('k', 'v');
      expect(await r.get('k')).toBe('v');
      return r.call('ACL', 'WHOAMI');
    });
    expect(whoami).toBe(USER);
  });

  it('user and password in the URL (percent-encoded), server certificate only', async () => {
    const url = `rediss://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${serverOnly.port}`;
    const options = optionsFrom({ REDIS_URL: url, REDIS_TLS_CA_FILE: pki.caFile });
    expect(await withRedis(options, (r) => r.ping())).toBe('PONG');
  });

  it('refuses a server whose certificate another CA signed', async () => {
    const options = optionsFrom({
      REDIS_URL: serverOnly.url,
      REDIS_USERNAME: USER,
      REDIS_PASSWORD: PASSWORD,
      REDIS_TLS_CA_FILE: pki.otherCaFile,
    });
    await expect(withRedis(options, (r) => r.ping())).rejects.toThrow(
      /self[- ]signed|unable to verify|certificate/i,
    );
  });

  it('without its client certificate, the mutual-TLS server refuses the connection', async () => {
    const options = optionsFrom({
      REDIS_URL: mutual.url,
      REDIS_USERNAME: USER,
      REDIS_PASSWORD: PASSWORD,
      REDIS_TLS_CA_FILE: pki.caFile,
    });
    await expect(withRedis(options, (r) => r.ping())).rejects.toThrow();
  });

  it('a wrong password is refused by the server', async () => {
    const options = optionsFrom({
      REDIS_URL: serverOnly.url,
      REDIS_USERNAME: USER,
      REDIS_PASSWORD: 'not-the-password',
      REDIS_TLS_CA_FILE: pki.caFile,
    });
    await expect(withRedis(options, (r) => r.ping())).rejects.toThrow(/WRONGPASS/);
  });
});
