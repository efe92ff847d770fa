import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Secret, loadSecurity } from '../../../src/config/security.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { librdkafkaSecurity } from '../../../src/intake/kafka-source.ts';
import { redisConnectionOptions } from '../../../src/store/redis-connection.ts';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';
const FILES: Record<string, string> = {
  '/ca.pem': CERT,
  '/client.pem': CERT,
  '/client.key': KEY,
  '/junk': 'hello',
};
const readFile = (path: string): string => {
  const text = FILES[path];
  if (text === undefined) throw new Error(`ENOENT: no such file, open '${path}'`);
  return text;
};

function load(env: Record<string, string>) {
  const problems: string[] = [];
  const security = loadSecurity(env, problems, readFile);
  return { security, problems };
}

describe('Kafka security from the environment', () => {
  it('nothing set: plaintext, no SASL', () => {
    const { security, problems } = load({});
    expect(problems).toEqual([]);
    expect(security.kafka).toEqual({ tls: null, sasl: null });
    expect(librdkafkaSecurity(security.kafka)).toEqual({});
  });

  it.each([
    ['PLAIN', 'PLAIN'],
    ['scram-sha-256', 'SCRAM-SHA-256'],
    ['SCRAM-SHA-512', 'SCRAM-SHA-512'],
  ])('SASL %s: over TLS by default, with the system roots', (given, mechanism) => {
    const { security, problems } = load({
      KAFKA_SASL_MECHANISM: given,
      KAFKA_SASL_USERNAME: 'svc-integrator',
      KAFKA_SASL_PASSWORD: 'pa55:word',
    });
    expect(problems).toEqual([]);
    expect(security.kafka.sasl?.mechanism).toBe(mechanism);
    expect(librdkafkaSecurity(security.kafka)).toEqual({
      'security.protocol': 'sasl_ssl',
      'sasl.mechanisms': mechanism,
      'sasl.username': 'svc-integrator',
      'sasl.password': 'pa55:word',
      'enable.ssl.certificate.verification': true,
      'ssl.endpoint.identification.algorithm': 'https',
      'ssl.ca.location': 'probe',
    });
  });

  it('SASL over plaintext only when KAFKA_TLS=false says so', () => {
    const { security, problems } = load({
      KAFKA_SASL_MECHANISM: 'PLAIN',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'p',
      KAFKA_TLS: 'false',
    });
    expect(problems).toEqual([]);
    expect(librdkafkaSecurity(security.kafka)['security.protocol']).toBe('sasl_plaintext');
  });

  it('TLS with a CA file and a client certificate (mutual TLS), no SASL', () => {
    const { security, problems } = load({
      KAFKA_TLS_CA_FILE: '/ca.pem',
      KAFKA_TLS_CERT_FILE: '/client.pem',
      KAFKA_TLS_KEY_FILE: '/client.key',
      KAFKA_TLS_KEY_PASSWORD: 'keypass',
    });
    expect(problems).toEqual([]);
    expect(librdkafkaSecurity(security.kafka)).toEqual({
      'security.protocol': 'ssl',
      'enable.ssl.certificate.verification': true,
      'ssl.endpoint.identification.algorithm': 'https',
      'ssl.ca.location': '/ca.pem',
      'ssl.certificate.location': '/client.pem',
      'ssl.key.location': '/client.key',
      'ssl.key.password': 'keypass',
    });
  });

  it('KAFKA_TLS=true alone: TLS with the system roots', () => {
    const { security } = load({ KAFKA_TLS: 'true' });
    expect(librdkafkaSecurity(security.kafka)).toMatchObject({
      'security.protocol': 'ssl',
      'ssl.ca.location': 'probe',
    });
  });

  it('lists every problem at once, never echoing a secret', () => {
    const { problems } = load({
      KAFKA_SASL_MECHANISM: 'GSSAPI',
      KAFKA_SASL_PASSWORD: 'top-secret-value',
      KAFKA_TLS: 'maybe',
      KAFKA_TLS_CA_FILE: '/missing.pem',
      KAFKA_TLS_CERT_FILE: '/junk',
      KAFKA_TLS_KEY_PASSWORD: 'also-secret',
    });
    expect(problems).toEqual([
      'KAFKA_SASL_MECHANISM: must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (got "GSSAPI")',
      'KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM',
      "KAFKA_TLS_CA_FILE: cannot read /missing.pem: ENOENT: no such file, open '/missing.pem'",
      'KAFKA_TLS_CERT_FILE: /junk holds no PEM certificate',
      'KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE: a client certificate needs both',
      'KAFKA_TLS_KEY_PASSWORD: only meaningful with KAFKA_TLS_KEY_FILE',
      'KAFKA_TLS: must be "true" or "false" (got "maybe")',
    ]);
    expect(problems.join('\n')).not.toMatch(/top-secret-value|also-secret/);
  });

  it('credentials without a mechanism, and TLS=false against TLS files, are refused', () => {
    expect(load({ KAFKA_SASL_USERNAME: 'u' }).problems).toEqual([
      'KAFKA_SASL_MECHANISM: required when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set',
    ]);
    expect(load({ KAFKA_TLS: 'false', KAFKA_TLS_CA_FILE: '/ca.pem' }).problems).toEqual([
      'KAFKA_TLS: "false" contradicts the KAFKA_TLS_* files given',
    ]);
  });
});

describe('Redis security from the environment', () => {
  it('redis:// without credentials: plain connection options', () => {
    const { security, problems } = load({ REDIS_URL: 'redis://cache.internal:6380/2' });
    expect(problems).toEqual([]);
    expect(redisConnectionOptions('redis://cache.internal:6380/2', security.redis, readFile)).toEqual({
      host: 'cache.internal',
      port: 6380,
      db: 2,
    });
  });

  it('rediss:// with user and password in the URL, a CA file and a client certificate', () => {
    const url = 'rediss://integrator:s%40cret@redis.example.com:6390';
    const { security, problems } = load({
      REDIS_URL: url,
      REDIS_TLS_CA_FILE: '/ca.pem',
      REDIS_TLS_CERT_FILE: '/client.pem',
      REDIS_TLS_KEY_FILE: '/client.key',
    });
    expect(problems).toEqual([]);
    expect(redisConnectionOptions(url, security.redis, readFile)).toEqual({
      host: 'redis.example.com',
      port: 6390,
      db: 0,
      username: 'integrator',
      password: 's@cret',
      tls: { ca: CERT, cert: CERT, key: KEY, servername: 'redis.example.com' },
    });
  });

  it('credentials from REDIS_USERNAME / REDIS_PASSWORD; an IP address gets no SNI name', () => {
    const url = 'rediss://127.0.0.1:6390';
    const { security, problems } = load({ REDIS_URL: url, REDIS_USERNAME: 'app', REDIS_PASSWORD: 'pw' });
    expect(problems).toEqual([]);
    expect(redisConnectionOptions(url, security.redis, readFile)).toEqual({
      host: '127.0.0.1',
      port: 6390,
      db: 0,
      username: 'app',
      password: 'pw',
      tls: {},
    });
  });

  it('lists every problem at once, never echoing the URL', () => {
    const { problems } = load({
      REDIS_URL: 'redis://:urlpass@localhost:6379',
      REDIS_PASSWORD: 'envpass',
      REDIS_TLS_CA_FILE: '/ca.pem',
    });
    expect(problems).toEqual([
      'REDIS_TLS_*: TLS files need a rediss:// REDIS_URL (got redis://)',
      'REDIS_PASSWORD: a password is also in REDIS_URL; give it in one place',
    ]);
    expect(load({ REDIS_URL: 'rediss://admin@localhost' }).problems).toEqual([
      'REDIS_PASSWORD: required with a Redis user name',
    ]);
    expect(problems.join('\n')).not.toMatch(/urlpass|envpass/);
  });
});

describe('secrets', () => {
  it('never show themselves in JSON, strings or inspect', () => {
    const s = new Secret('hunter2');
    const holder = { sasl: { password: s } };
    expect(JSON.stringify(holder)).toBe('{"sasl":{"password":"[redacted]"}}');
    expect(`${s}`).toBe('[redacted]');
    expect(inspect(holder, { depth: 5 })).not.toContain('hunter2');
    expect(s.reveal()).toBe('hunter2');
  });

  it('loadConfig exits-2 style: security problems join the others', () => {
    const r = loadConfig(
      {
        KAFKA_BROKERS: 'k:9092',
        RETRY_STORE: 'memory',
        CUSTOMERS_FILE: '/c.json',
        KAFKA_SASL_MECHANISM: 'PLAIN',
      },
      () => JSON.stringify({ customers: [] }),
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems).toEqual(
      expect.arrayContaining([
        'KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM',
        'KAFKA_SASL_PASSWORD: required with KAFKA_SASL_MECHANISM',
      ]),
    );
  });
});
