/**
 * Configuration from the environment (CONTRACT §2) and the customers file (§3), read once at the edge.
 * `loadConfig` never throws for bad input: it returns every problem so the caller can list them and exit 2.
 */
import { readFileSync } from 'node:fs';
import { customersFileSchema, issuesOf } from './customers.ts';
import type { CustomerConfig } from './customers.ts';
import { parseConsoleConfig } from './console.ts';
import type { ConsoleConfig } from './console.ts';

export interface Config {
  kafka: {
    brokers: string[];
    topics: string[];
    groupId: string;
    clientId: string;
    sessionTimeoutMs: number;
    maxWaitMs: number;
  };
  store: { kind: 'redis'; url: string; keyPrefix: string } | { kind: 'memory' };
  customers: CustomerConfig[];
  http: { port: number; host: string };
  adminToken: string | null;
  logLevel: string;
  databaseUrl: string | null;
  commitIntervalMs: number;
  shutdownDeadlineMs: number;
  /** A delivery in memory longer than this is parked durably so it stops holding the commit point. */
  parkAfterMs: number;
  /** Read token, delivery log: src/config/console.ts. */
  console: ConsoleConfig;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(
  env: Env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): ConfigResult {
  const problems: string[] = [];
  const str = (name: string, fallback: string): string => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? fallback : v.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}: must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };
  const list = (name: string, fallback: string): string[] =>
    str(name, fallback)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);

  const brokers = list('KAFKA_BROKERS', '');
  if (brokers.length === 0) problems.push('KAFKA_BROKERS: required (comma-separated host:port)');
  for (const b of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(b)) problems.push(`KAFKA_BROKERS: "${b}" is not host:port`);
  }
  const topics = list('KAFKA_TOPICS', 'dbserver1.public.package_status');
  if (topics.length === 0) problems.push('KAFKA_TOPICS: at least one topic is required');

  const storeKind = str('RETRY_STORE', 'redis');
  let store: Config['store'] = { kind: 'memory' };
  if (storeKind === 'memory') {
    store = { kind: 'memory' };
  } else if (storeKind === 'redis') {
    const url = str('REDIS_URL', '');
    if (!url) problems.push('REDIS_URL: required unless RETRY_STORE=memory');
    else if (!/^rediss?:\/\//.test(url)) problems.push('REDIS_URL: must start with redis:// or rediss://');
    store = { kind: 'redis', url, keyPrefix: str('REDIS_KEY_PREFIX', 'psi') };
  } else {
    problems.push(`RETRY_STORE: must be "redis" or "memory" (got "${storeKind}")`);
  }

  let customers: CustomerConfig[] = [];
  const file = str('CUSTOMERS_FILE', '');
  if (!file) {
    problems.push('CUSTOMERS_FILE: required (path to the customers JSON file)');
  } else {
    let raw: string | null = null;
    try {
      raw = readFile(file);
    } catch (err) {
      problems.push(`CUSTOMERS_FILE: cannot read ${file}: ${(err as Error).message}`);
    }
    if (raw !== null) {
      let doc: unknown;
      try {
        doc = JSON.parse(raw);
      } catch (err) {
        problems.push(`CUSTOMERS_FILE: ${file} is not valid JSON: ${(err as Error).message}`);
      }
      if (doc !== undefined) {
        const parsed = customersFileSchema.safeParse(doc);
        if (parsed.success) {
          customers = parsed.data.customers.map((c) => ({ ...c, match: c.match ?? { customer_id: c.id } }));
        } else {
          problems.push(...issuesOf(parsed.error, 'CUSTOMERS_FILE: '));
        }
      }
    }
  }

  const logLevel = str('LOG_LEVEL', 'info');
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}`);
  const databaseUrl = str('DATABASE_URL', '') || null;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL: must start with postgres:// or postgresql://');
  }

  const config: Config = {
    kafka: {
      brokers,
      topics,
      groupId: str('KAFKA_GROUP_ID', 'package-status-integrator'),
      clientId: str('KAFKA_CLIENT_ID', 'package-status-integrator'),
      sessionTimeoutMs: int('KAFKA_SESSION_TIMEOUT_MS', 30_000, 1000, 3_600_000),
      maxWaitMs: int('KAFKA_MAX_WAIT_MS', 5000, 1, 60_000),
    },
    store,
    customers,
    http: { port: int('PORT', 8080, 0, 65535), host: str('HOST', '0.0.0.0') },
    adminToken: str('ADMIN_TOKEN', '') || null,
    logLevel,
    databaseUrl,
    commitIntervalMs: int('COMMIT_INTERVAL_MS', 1000, 10, 60_000),
    shutdownDeadlineMs: int('SHUTDOWN_DEADLINE_MS', 15_000, 0, 600_000),
    parkAfterMs: int('PARK_AFTER_MS', 2000, 50, 3_600_000),
    console: parseConsoleConfig(env, problems),
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config };
}
