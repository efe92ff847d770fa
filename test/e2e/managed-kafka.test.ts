/**
 * Managed Kafka as far as this machine can show it (README "Configuration"): the test broker
 * behind a gateway that terminates TLS (mutual, private CA) and authenticates with SASL PLAIN,
 * SCRAM-SHA-256 and SCRAM-SHA-512 (`kafka-gateway.ts`; the mock itself has neither). The integrator is
 * configured only through the environment. And with every secret set and LOG_LEVEL=debug, no secret
 * appears in its output.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createKafkaSource, librdkafkaSecurity } from '../../src/intake/kafka-source.ts';
import type { SourceRecord } from '../../src/intake/source.ts';
import { createLogger } from '../../src/report/logger.ts';
import { killOnExit } from '../harness/binaries.ts';
import { journeys } from '../harness/events.ts';
import { ROOT, eventually, integratorEnv, startIntegrator } from '../harness/integrator.ts';
import { startKafkaGateway } from '../harness/kafka-gateway.ts';
import type { GatewayMechanism, KafkaGateway } from '../harness/kafka-gateway.ts';
import { startKafkaMock, uniqueName } from '../harness/kafka.ts';
import type { KafkaMock } from '../harness/kafka.ts';
import { startReceiver } from '../harness/receiver.ts';
import { startRedis } from '../harness/redis.ts';
import type { RedisServer } from '../harness/redis.ts';
import { makeTestPki } from '../harness/tls.ts';
import type { TestPki } from '../harness/tls.ts';
import { SECRET_A } from './setup.ts';

const USER = 'svc-integrator';
const PASSWORD = 'kafka-Pa55-9d1e';
const MECHANISMS: GatewayMechanism[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];

let pki: TestPki;
let mock: KafkaMock;
let gateway: KafkaGateway;
let redis: RedisServer;

beforeAll(async () => {
  pki = await makeTestPki();
  mock = await startKafkaMock({ brokers: 1 });
  gateway = await startKafkaGateway({
    upstream: mock.brokers[0]!,
    tls: { pki, requireClientCert: true },
    sasl: { mechanisms: MECHANISMS, users: { [USER]: PASSWORD } },
  });
  // Metadata now names the gateway: every client of this broker goes through TLS and SASL.
  await mock.advertise(1, gateway.host, gateway.port);
  redis = await startRedis();
});

afterAll(async () => {
  await gateway?.close();
  await mock?.stop();
  await redis?.stop();
  await pki?.remove();
});

const brokers = (): string => `${gateway.host}:${gateway.port}`;

/** The Kafka security variables a Confluent Cloud / MSK / Aiven user would set. */
function securityEnv(mechanism: GatewayMechanism, password = PASSWORD): Record<string, string> {
  return {
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: USER,
    KAFKA_SASL_PASSWORD: password,
    KAFKA_TLS_CA_FILE: pki.caFile,
    KAFKA_TLS_CERT_FILE: pki.clientCertFile,
    KAFKA_TLS_KEY_FILE: pki.clientKeyFile,
  };
}

function kafkaSecurityFrom(env: Record<string, string>) {
  const r = loadConfig(
    { KAFKA_BROKERS: brokers(), RETRY_STORE: 'memory', CUSTOMERS_FILE: '/c.json', ...env },
    (p) =>
      p === '/c.json'
        ? JSON.stringify({ customers: [{ id: 'c', url: 'http://127.0.0.1:9/', secret: SECRET_A }] })
        : readFileSync(p, 'utf8'),
  );
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.config.security.kafka;
}

async function topicWith(messages: { key: string; value: string | null }[]): Promise<string> {
  const topic = uniqueName('managed');
  await mock.createTopic(topic, 2);
  const kafka = new KafkaJS.Kafka({
    kafkaJS: { brokers: [brokers()], logLevel: KafkaJS.logLevel.NOTHING },
    ...librdkafkaSecurity(kafkaSecurityFrom(securityEnv('SCRAM-SHA-256'))),
  });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages });
  await producer.disconnect();
  return topic;
}

describe('Kafka over mutual TLS with SASL', () => {
  it.each(MECHANISMS)('%s: the source joins and reads through the gateway', async (mechanism) => {
    const topic = await topicWith([{ key: 'k', value: `over ${mechanism}` }]);
    const before = gateway.authentications.length;
    const seen: SourceRecord[] = [];
    const source = createKafkaSource({
      brokers: [brokers()],
      topics: [topic],
      groupId: uniqueName('managed'),
      clientId: 'managed-test',
      sessionTimeoutMs: 6000,
      maxWaitMs: 50,
      security: kafkaSecurityFrom(securityEnv(mechanism)),
      log: createLogger('silent'),
    });
    try {
      await source.start({
        onAssignment: async () => {},
        onBatch: async (records, ctx) => {
          for (const r of records) {
            seen.push(r);
            ctx.resolveOffset(r.offset);
          }
        },
      });
      await eventually(() => seen.length === 1, 20_000, 'the record');
      expect(seen[0]!.value?.toString()).toBe(`over ${mechanism}`);
      const mine = gateway.authentications.slice(before);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((a) => a.ok && a.user === USER && a.mechanism === mechanism)).toBe(true);
    } finally {
      await source.stop();
    }
  });

  it('a wrong password, or a broker certificate from another CA: refused, the source never starts', async () => {
    const topic = await topicWith([{ key: 'k', value: 'v' }]);
    const before = gateway.authentications.length;
    const badSource = (env: Record<string, string>) =>
      createKafkaSource({
        brokers: [brokers()],
        topics: [topic],
        groupId: uniqueName('managed'),
        clientId: 'managed-test',
        sessionTimeoutMs: 6000,
        maxWaitMs: 50,
        security: kafkaSecurityFrom(env),
        log: createLogger('silent'),
      });
    const wrongPassword = badSource(securityEnv('SCRAM-SHA-512', 'wrong-password'));
    const wrongCa = badSource({ ...securityEnv('PLAIN'), KAFKA_TLS_CA_FILE: pki.otherCaFile });
    let joined = 0;
    const handlers = { onAssignment: async () => void (joined += 1), onBatch: async () => {} };
    // Both give up connecting (librdkafka's connection setup timeout) instead of joining: `npm start`
    // then exits non-zero ("integrator failed to start") and its supervisor restarts it.
    const results = await Promise.allSettled([wrongPassword.start(handlers), wrongCa.start(handlers)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(joined).toBe(0);
    const attempts = gateway.authentications.slice(before);
    // The wrong password reached SASL and was refused; the wrong CA never got past TLS.
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.every((a) => !a.ok && a.mechanism === 'SCRAM-SHA-512')).toBe(true);
    await Promise.all([wrongPassword.stop(), wrongCa.stop()]);
  });

  it('the integrator delivers end to end, configured from the environment only', async () => {
    const { messages } = journeys('customer-a', 5, { prefix: 'managed' });
    const topic = await topicWith(messages);
    const receiver = await startReceiver({ secret: SECRET_A });
    const integrator = await startIntegrator({
      brokers: [brokers()],
      topic,
      groupId: uniqueName('managed'),
      customers: [{ id: 'customer-a', url: receiver.url, secret: SECRET_A }],
      env: securityEnv('SCRAM-SHA-512'),
    });
    try {
      await receiver.waitFor(() => receiver.delivered().length === messages.length, 30_000, 'every event');
    } finally {
      await integrator.stop();
      await receiver.close();
    }
  });
});

describe('secrets at LOG_LEVEL=debug', () => {
  it('neither the SASL password nor the Redis password nor a webhook secret appears in the output', async () => {
    const REDIS_PASSWORD = 'redis-Pw-41c7';
    const admin = new Redis(redis.url);
    await admin.config('SET', 'requirepass', REDIS_PASSWORD);
    admin.disconnect();
    const { messages } = journeys('customer-a', 3, { prefix: 'secrets' });
    const topic = await topicWith(messages);
    const receiver = await startReceiver({ secret: SECRET_A });
    const env = integratorEnv({
      brokers: [brokers()],
      topic,
      groupId: uniqueName('secrets'),
      redisUrl: `redis://:${REDIS_PASSWORD}@127.0.0.1:${redis.port}`,
      customers: [{ id: 'customer-a', url: receiver.url, secret: SECRET_A }],
      env: securityEnv('SCRAM-SHA-256'),
    });
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts')], {
      cwd: ROOT,
      env: { ...process.env, ...env, LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    killOnExit(child);
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await receiver.waitFor(() => receiver.delivered().length === messages.length, 60_000, 'every event');
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await receiver.close();
    }
    expect(out).toMatch(/integrator started/);
    expect(out).toMatch(/"level":20/); // debug lines were written
    for (const secret of [PASSWORD, REDIS_PASSWORD, SECRET_A, SECRET_A.slice(6)]) {
      expect(out).not.toContain(secret);
    }
  });
});
