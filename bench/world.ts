/**
 * The real parts every figure runs against, each in its own process: the librdkafka mock cluster
 * (Kafka wire protocol), redis-server, the mock customer APIs (`mock-customers/main.ts`) and the integrator
 * (`src/main.ts`). The bench process itself only produces events and reads the ledgers. All on loopback.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from '../test/harness/kafkajs.ts';
import type { Admin, Producer } from 'kafkajs';
import { startKafkaMock, uniqueName } from '../test/harness/kafka.ts';
import type { KafkaMock } from '../test/harness/kafka.ts';
import type { KafkaMessage } from '../test/harness/events.ts';
import { startRedis } from '../test/harness/redis.ts';
import type { RedisServer } from '../test/harness/redis.ts';
import { killOnExit } from '../test/harness/binaries.ts';
import { buildProject } from '../test/harness/build.ts';
import { INTEGRATOR_ENV, INTEGRATOR_NODE_FLAGS, ROOT, integratorEnv } from '../test/harness/integrator.ts';
import type { TestCustomer } from '../test/harness/integrator.ts';
import { DEFAULT_MOCK_CUSTOMERS } from '../mock-customers/customers.ts';
import { connectStreamProducer } from './stream-producer.ts';
import type { StreamProducer } from './stream-producer.ts';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const SECRETS: Readonly<Record<string, string>> = Object.fromEntries(
  DEFAULT_MOCK_CUSTOMERS.map((c) => [c.id, c.secret]),
);

/** Poll `fn` until true; throws after `timeoutMs`. */
export async function until(
  fn: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (await fn()) return;
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

async function http<T>(method: string, url: string, body?: unknown): Promise<T> {
  const res = await withTimeout(
    fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    10_000,
    `${method} ${url}`,
  );
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

// ───────────────────────────── mock customers ─────────────────────────────

export interface Behavior {
  latencyMs?: number;
  jitterMs?: number;
  errorRate?: number;
  errorStatus?: number;
  errorRetryAfterSeconds?: number | null;
  hangRate?: number;
  resetRate?: number;
}

export interface LedgerStats {
  requests: number;
  received: number;
  unique: number;
  duplicates: number;
  outOfOrder: number;
  abandoned: number;
  latencyMs: {
    count: number;
    p50: number | null;
    p90: number | null;
    p99: number | null;
    max: number | null;
  };
}

export interface DeliveryRecord {
  eventId: string;
  packageId: string | null;
  /** data.id (the row id, increasing per package in the bench's load). */
  position: string | null;
  outOfOrder: boolean;
  occurredAt: string | null;
  receivedAt: string;
  duplicate: boolean;
}

export interface MockCustomersProcess {
  readonly base: string;
  url(id: string): string;
  setBehavior(id: string, patch: Behavior): Promise<void>;
  /** Back to the knobs it started with (the mock's defaults: 300 ms / 30 s / 300 ms). */
  resetBehavior(id: string): Promise<void>;
  stats(id: string): Promise<LedgerStats>;
  deliveries(id: string): Promise<{ deliveries: DeliveryRecord[]; deliveriesDropped: number }>;
  resetStats(): Promise<void>;
  stop(): Promise<void>;
}

/** `node --import tsx mock-customers/main.ts` on a free loopback port, the default three customers. */
export async function startMockCustomersProcess(): Promise<MockCustomersProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'mock-customers/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let out = '';
  const base = await withTimeout(
    new Promise<string>((resolve, reject) => {
      const onData = (b: Buffer): void => {
        out = (out + b.toString()).slice(-20_000);
        const m = /mock customers listening on (http:\/\/[0-9.:]+)/.exec(out);
        if (m) resolve(m[1]!);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`mock customers exited (${code}):\n${out}`)));
    }),
    30_000,
    'mock customers start',
  );
  // Keep draining its output so it never blocks on a full pipe.
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    base,
    url: (id) => `${base}/customers/${id}/webhooks`,
    async setBehavior(id, patch) {
      await http('PUT', `${base}/customers/${id}/behavior`, patch);
    },
    async resetBehavior(id) {
      await http('DELETE', `${base}/customers/${id}/behavior`);
    },
    stats: (id) => http<LedgerStats>('GET', `${base}/customers/${id}/stats`),
    deliveries: (id) => http('GET', `${base}/customers/${id}/deliveries`),
    async resetStats() {
      await http('POST', `${base}/stats/reset`);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ───────────────────────────── integrator ─────────────────────────────

export interface IntegratorProcess {
  readonly child: ChildProcess;
  /** HTTP base URL (metrics, state). */
  readonly base: string;
  output(): string;
  readonly exited: Promise<number | null>;
  /** Resolves once the group assigned it partitions (it logs "partition assignment" with some). */
  assigned(timeoutMs?: number): Promise<void>;
  metric(name: string, labels?: string): Promise<number>;
  /** SIGTERM and wait (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
  kill(): Promise<void>;
  /** Asks the latency probe (bench/probe.ts, when preloaded) for its samples over IPC. */
  probe<T>(message: { type: string; [k: string]: unknown }): Promise<T>;
}

export interface IntegratorLaunch {
  env: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Preload bench/probe.ts and open an IPC channel to it. */
  probe?: boolean;
}

/**
 * What the integrator runs as. By default the compiled build, as the image and `npm start` run it (`tsc -p
 * tsconfig.build.json`, then `node dist/src/main.js`), built once per bench run with the probe beside it.
 * BENCH_FROM_SOURCE=1: `node --import tsx src/main.ts`, as the tests run it — tsx's transform adds a
 * `__name` call to every closure it creates, and the same catch-up took ~10 % more CPU per delivery —
 * and the way to try a preload that patches src/ classes.
 */
export const FROM_SOURCE = process.env.BENCH_FROM_SOURCE === '1';
let built: string | null = null;

function buildOnce(): string {
  if (built) return built;
  const out = join(ROOT, 'node_modules/.cache/bench-build');
  rmSync(out, { recursive: true, force: true });
  const tsc = buildProject(out, ['bench/probe.ts']);
  if (tsc.status !== 0) throw new Error(`bench: the build failed\n${tsc.stdout}${tsc.stderr}`);
  built = out;
  return out;
}

export async function launchIntegrator(launch: IntegratorLaunch): Promise<IntegratorProcess> {
  // BENCH_INTEGRATOR_NODE_ARGS: extra node flags for every integrator, e.g. a preload that tries a fix
  // without touching src/ (with BENCH_FROM_SOURCE=1: "--import ./.bench/try-fix.ts").
  const extra = (process.env.BENCH_INTEGRATOR_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const code = FROM_SOURCE ? ROOT : buildOnce();
  const ext = FROM_SOURCE ? 'ts' : 'js';
  const args = [...INTEGRATOR_NODE_FLAGS, ...(FROM_SOURCE ? ['--import', 'tsx'] : [])];
  args.push(...extra, ...(launch.nodeArgs ?? []));
  if (launch.probe) args.push('--import', join(code, `bench/probe.${ext}`));
  args.push(join(code, `src/main.${ext}`));
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...INTEGRATOR_ENV, ...launch.env, LOG_LEVEL: 'info' },
    stdio: launch.probe ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let out = '';
  let assignedSeen = false;
  const assignWaiters: (() => void)[] = [];
  const tee = process.env.BENCH_INTEGRATOR_LOG;
  const onData = (b: Buffer): void => {
    if (tee) appendFileSync(tee, b);
    out = (out + b.toString()).slice(-200_000);
    if (!assignedSeen && /"assigned":\["[^\n]*partition assignment/.test(out)) {
      assignedSeen = true;
      for (const w of assignWaiters.splice(0)) w();
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = await withTimeout(
    new Promise<string>((resolve, reject) => {
      const check = (): void => {
        const m = /"http":"(http:\/\/[^"]+)"[^\n]*integrator started/.exec(out);
        if (m) resolve(m[1]!);
      };
      child.stdout!.on('data', check);
      void exited.then((code) =>
        reject(new Error(`integrator exited (${code}) before ready:\n${out.slice(-4000)}`)),
      );
    }),
    60_000,
    'integrator start',
  ).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });

  const stop = async (graceMs = 20_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  let probeSeq = 0;
  return {
    child,
    base,
    output: () => out,
    exited,
    assigned: (timeoutMs = 60_000) =>
      assignedSeen
        ? Promise.resolve()
        : withTimeout(new Promise<void>((r) => assignWaiters.push(r)), timeoutMs, 'partition assignment'),
    async metric(name, labels = '') {
      const res = await withTimeout(fetch(`${base}/metrics`), 5000, 'integrator /metrics');
      const text = await res.text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (
          (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) &&
          (!labels || line.includes(labels))
        )
          sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return sum;
    },
    stop,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    probe<T>(message: { type: string; [k: string]: unknown }): Promise<T> {
      probeSeq += 1;
      const seq = probeSeq;
      return withTimeout(
        new Promise<T>((resolve) => {
          const onMessage = (m: unknown): void => {
            const reply = m as { seq?: number; data?: T };
            if (reply.seq === seq) {
              child.off('message', onMessage);
              resolve(reply.data as T);
            }
          };
          child.on('message', onMessage);
          child.send({ ...message, seq });
        }),
        30_000,
        'probe reply',
      );
    },
  };
}

// ───────────────────────────── the world ─────────────────────────────

/** What the bench's load needs of a producer: KafkaJS's `send`. */
export interface Sender {
  send(record: { topic: string; messages: KafkaMessage[] }): Promise<unknown>;
}

export interface World {
  readonly kafkaMock: KafkaMock;
  readonly kafka: Kafka;
  readonly producer: Producer;
  /** The throughput figure's streaming producer (bench/stream-producer.ts); the fault figures keep KafkaJS. */
  readonly streamProducer: StreamProducer;
  readonly admin: Admin;
  readonly redis: RedisServer;
  readonly mocks: MockCustomersProcess;
  /** A fresh topic, group and Redis key prefix for one run. */
  topic(partitions: number): Promise<{ topic: string; groupId: string; keyPrefix: string }>;
  /** Integrator environment for a run (Redis store, loopback, quiet). */
  env(
    run: { topic: string; groupId: string; keyPrefix: string },
    customers: TestCustomer[],
    extra?: Record<string, string>,
  ): Record<string, string>;
  /** Committed offsets (negative = none) and high watermarks per partition. */
  offsets(
    topic: string,
    groupId: string,
  ): Promise<{ committed: Map<number, bigint>; high: Map<number, bigint> }>;
  close(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const redisDir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
  const [kafkaMock, redis, mocks] = await Promise.all([
    startKafkaMock({ brokers: 1 }),
    startRedis({ appendonly: true, dir: redisDir }),
    startMockCustomersProcess(),
  ]);
  const kafka = new Kafka({
    clientId: 'bench',
    brokers: kafkaMock.brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 1000 },
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();
  const streamProducer = await connectStreamProducer(kafkaMock.brokers, async (topic) => {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
  });
  const envFiles: string[] = [];
  return {
    kafkaMock,
    kafka,
    producer,
    streamProducer,
    admin,
    redis,
    mocks,
    async topic(partitions) {
      const topic = uniqueName('dbserver1.public.package_status');
      await kafkaMock.createTopic(topic, partitions);
      const groupId = uniqueName('bench');
      return { topic, groupId, keyPrefix: groupId };
    },
    env(run, customers, extra = {}) {
      const env = integratorEnv({
        brokers: kafkaMock.brokers,
        topic: run.topic,
        groupId: run.groupId,
        customers,
        redisUrl: redis.url,
        keyPrefix: run.keyPrefix,
        env: { KAFKA_MAX_WAIT_MS: '20', ...extra },
      });
      envFiles.push(env.CUSTOMERS_FILE!);
      return env;
    },
    async offsets(topic, groupId) {
      const [c, h] = await Promise.all([
        admin.fetchOffsets({ groupId, topics: [topic] }),
        admin.fetchTopicOffsets(topic),
      ]);
      return {
        committed: new Map(c[0]!.partitions.map((p) => [p.partition, BigInt(p.offset)])),
        high: new Map(h.map((p) => [p.partition, BigInt(p.high)])),
      };
    },
    async close() {
      await producer.disconnect().catch(() => {});
      await streamProducer.close().catch(() => {});
      await admin.disconnect().catch(() => {});
      await mocks.stop().catch(() => {});
      await kafkaMock.stop().catch(() => {});
      await redis.stop().catch(() => {});
      rmSync(redisDir, { recursive: true, force: true });
      for (const f of envFiles) rmSync(join(f, '..'), { recursive: true, force: true });
    },
  };
}

/** Uncommitted records across partitions (high watermark − committed; no commit counts from 0). */
export function uncommitted(o: { committed: Map<number, bigint>; high: Map<number, bigint> }): number {
  let n = 0;
  for (const [p, high] of o.high) {
    const c = o.committed.get(p) ?? -1n;
    n += Number(high - (c < 0n ? 0n : c));
  }
  return n;
}
