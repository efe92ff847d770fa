/**
 * Configuration from the environment and the customers file (README "Configuration"), read once at the edge.
 * `loadConfig` never throws for bad input: it returns every problem so the caller can list them and exit 2.
 */
import { readFileSync } from 'node:fs';
import { customersFileSchema, issuesOf } from './customers.ts';
import type { CustomerConfig } from './customers.ts';
import { loadSecurity } from './security.ts';
import type { SecurityConfig } from './security.ts';
import { parseConsoleConfig } from './console.ts';
import type { ConsoleConfig } from './console.ts';

export interface Config {
  kafka: {
    brokers: string[];
    /** Everything the consumer subscribes to: KAFKA_TOPICS and OUTBOX_TOPICS. */
    topics: string[];
    groupId: string;
    clientId: string;
    sessionTimeoutMs: number;
    maxWaitMs: number;
  };
  store: { kind: 'redis'; url: string; keyPrefix: string } | { kind: 'memory' };
  /** OUTBOX_TOPICS: topics of outbox EventRouter records (README "Outbox source"); the rest are Debezium's. */
  outboxTopics: string[];
  customers: CustomerConfig[];
  http: { port: number; host: string };
  adminToken: string | null;
  logLevel: string;
  databaseUrl: string | null;
  commitIntervalMs: number;
  shutdownDeadlineMs: number;
  /** Work the customer cannot take within this long is parked durably (it stops holding the commit point). */
  parkAfterMs: number;
  /** Bounds of the dead letters (per customer) and of the poison list. */
  /** Bounds of the store's dead letters and poison (the store's `StoreLimits`). */
  limits: { deadLettersMax: number; deadLettersMaxAgeMs: number; poisonMax: number; poisonMaxAgeMs: number };
  /** SASL / TLS for Kafka, TLS and credentials for Redis (security.ts). */
  security: SecurityConfig;
  /** Read token, delivery log: src/config/console.ts. */
  console: ConsoleConfig;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

type Env = Record<string, string | undefined>;

const DAY_MS = 24 * 3600_000;

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
  const outboxTopics = [...new Set(list('OUTBOX_TOPICS', ''))];
  for (const t of outboxTopics) {
    if (!/^[a-zA-Z0-9._-]{1,249}$/.test(t)) {
      problems.push(`OUTBOX_TOPICS: "${t}" is not a Kafka topic name ([a-zA-Z0-9._-], at most 249)`);
    } else if (topics.includes(t)) {
      problems.push(
        `OUTBOX_TOPICS: "${t}" is also in KAFKA_TOPICS; a topic holds either change events or outbox records`,
      );
    }
  }

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
      topics: [...topics, ...outboxTopics],
      groupId: str('KAFKA_GROUP_ID', 'package-status-integrator'),
      clientId: str('KAFKA_CLIENT_ID', 'package-status-integrator'),
      sessionTimeoutMs: int('KAFKA_SESSION_TIMEOUT_MS', 30_000, 1000, 3_600_000),
      maxWaitMs: int('KAFKA_MAX_WAIT_MS', 5000, 1, 60_000),
    },
    store,
    outboxTopics,
    customers,
    http: { port: int('PORT', 8080, 0, 65535), host: str('HOST', '0.0.0.0') },
    adminToken: str('ADMIN_TOKEN', '') || null,
    logLevel,
    databaseUrl,
    commitIntervalMs: int('COMMIT_INTERVAL_MS', 1000, 10, 60_000),
    shutdownDeadlineMs: int('SHUTDOWN_DEADLINE_MS', 15_000, 0, 600_000),
    parkAfterMs: int('PARK_AFTER_MS', 2000, 50, 3_600_000),
    limits: {
      deadLettersMax: int('DEAD_LETTERS_MAX', 10_000, 1, 10_000_000),
      deadLettersMaxAgeMs: int('DEAD_LETTERS_MAX_AGE_DAYS', 30, 1, 3650) * DAY_MS,
      poisonMax: int('POISON_MAX', 10_000, 1, 1_000_000),
      poisonMaxAgeMs: int('POISON_MAX_AGE_DAYS', 30, 1, 3650) * DAY_MS,
    },
    security: loadSecurity(env, problems, readFile),
    console: parseConsoleConfig(env, problems),
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config };
}
