/**
 * Starts the integrator for a test: in-process (configured exactly as `npm start` would be, through
 * loadConfig) or as a child process running src/main.ts, which a test can SIGKILL.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/config.ts';
import { createIntegrator } from '../../src/app.ts';
import type { Integrator } from '../../src/app.ts';
import { createLogger } from '../../src/report/logger.ts';
import { killOnExit } from './binaries.ts';

import { INTEGRATOR_ENV, INTEGRATOR_NODE_FLAGS } from './runtime.ts';

// How the process is started (flags, environment): runtime.ts; re-exported for the bench.
export { INTEGRATOR_ENV, INTEGRATOR_NODE_FLAGS };

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface TestCustomer {
  id: string;
  url: string;
  secret: string;
  [k: string]: unknown;
}

export interface IntegratorSetup {
  brokers: string[];
  topic: string;
  groupId: string;
  customers: TestCustomer[];
  redisUrl?: string;
  keyPrefix?: string;
  env?: Record<string, string>;
}

export function integratorEnv(setup: IntegratorSetup): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'integrator-test-'));
  const file = join(dir, 'customers.json');
  writeFileSync(file, JSON.stringify({ customers: setup.customers }));
  return {
    KAFKA_BROKERS: setup.brokers.join(','),
    KAFKA_TOPICS: setup.topic,
    KAFKA_GROUP_ID: setup.groupId,
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_MAX_WAIT_MS: '50',
    CUSTOMERS_FILE: file,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    COMMIT_INTERVAL_MS: '100',
    SHUTDOWN_DEADLINE_MS: '5000',
    ...(setup.redisUrl
      ? { REDIS_URL: setup.redisUrl, REDIS_KEY_PREFIX: setup.keyPrefix ?? setup.groupId }
      : { RETRY_STORE: 'memory' }),
    ...setup.env,
  };
}

export async function startIntegrator(setup: IntegratorSetup): Promise<Integrator> {
  const env = integratorEnv(setup);
  const result = loadConfig(env);
  if (!result.ok) throw new Error(`bad test config:\n${result.problems.join('\n')}`);
  const integrator = createIntegrator(result.config, { log: createLogger(env.LOG_LEVEL!) });
  await integrator.start();
  return integrator;
}

export interface ChildIntegrator {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the HTTP base URL once the integrator logged that it started. */
  ready: Promise<string>;
  exited: Promise<number | null>;
}

export function spawnIntegrator(env: Record<string, string>): ChildIntegrator {
  const child = spawn(
    process.execPath,
    [...INTEGRATOR_NODE_FLAGS, '--import', 'tsx', join(ROOT, 'src/main.ts')],
    {
      cwd: ROOT,
      env: { ...process.env, ...INTEGRATOR_ENV, ...env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  killOnExit(child);
  let out = '';
  const ready = new Promise<string>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /"http":"(http:\/\/[^"]+)"[^\n]*integrator started/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.on('exit', (code) =>
      reject(new Error(`integrator exited (${code}) before it was ready:\n${out.slice(-4000)}`)),
    );
  });
  ready.catch(() => {});
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, ready, exited };
}

/** Poll `fn` until it returns true. */
export async function eventually(
  fn: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (await fn()) return;
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The partitions an integrator's latest "partition assignment" log line gave it. */
export function lastAssignment(output: string): string[] {
  let last: string[] = [];
  for (const line of output.split('\n')) {
    if (!line.includes('"partition assignment"')) continue;
    try {
      last = (JSON.parse(line) as { assigned: string[] }).assigned;
    } catch {
      // a line cut by the pipe (or at the start of kept output): the next one says the same or newer
    }
  }
  return last;
}

/** Every member (by its output) holds some partitions, and together they hold each of `partitions` once. */
export function splitEvenly(outputs: string[], partitions: number): boolean {
  const parts = outputs.map(lastAssignment);
  const flat = parts.flat();
  return parts.every((p) => p.length > 0) && flat.length === partitions && new Set(flat).size === partitions;
}

/** The sum of a metric's samples (optionally those whose labels include `labels`) on an integrator's /metrics. */
export async function metric(base: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      if (!labels || line.includes(labels)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}
