/**
 * `npm run mock-customers` configuration, parsed once at the edge; every problem is reported at once.
 *
 * Sources, later wins: BASE_BEHAVIOR → the customers (MOCK_CUSTOMERS_FILE, or the default three) → the file's
 * `defaultBehavior` → the entry's `behavior` → environment overrides `MOCK_<ID>_<KNOB>`, where <ID> is the
 * customer id upper-cased with `-` → `_` (customer-2 → CUSTOMER_2) and <KNOB> one of ENV_KNOBS' keys.
 */
import { z } from 'zod';
import { applyBehaviorPatch, BASE_BEHAVIOR } from './behavior.ts';
import type { Behavior, BehaviorPatch } from './behavior.ts';
import { checkCustomerId, checkSecret, DEFAULT_MOCK_CUSTOMERS } from './customers.ts';
import type { MockCustomerSpec } from './customers.ts';

export interface MockCustomersConfig {
  port: number;
  host: string;
  logLevel: string;
  customers: MockCustomerSpec[];
  /** Where the customers came from, for the start-up log. */
  source: string;
}

export type ConfigResult<T> = { ok: true; value: T } | { ok: false; problems: string[] };

type Env = Readonly<Record<string, string | undefined>>;

const fileSchema = z.object({
  defaultBehavior: z.unknown().optional(),
  customers: z
    .array(
      // Loose on purpose: the integrator's customers file (url, match, retry, … per entry) is accepted too.
      z.looseObject({ id: z.unknown(), secret: z.unknown(), behavior: z.unknown().optional() }),
      { error: 'must be an array of customers' },
    )
    .min(1, 'must list at least one customer'),
});

/** Parses the JSON of MOCK_CUSTOMERS_FILE (or of an integrator customers file, CONTRACT §3). */
export function parseCustomersFile(json: unknown): ConfigResult<MockCustomerSpec[]> {
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`),
    };
  }
  const problems: string[] = [];
  let defaults: BehaviorPatch = {};
  if (parsed.data.defaultBehavior !== undefined) {
    const merged = applyBehaviorPatch(BASE_BEHAVIOR, parsed.data.defaultBehavior);
    if (merged.ok) defaults = diff(merged.behavior);
    else problems.push(...describe('defaultBehavior', merged.fields));
  }
  const seen = new Set<string>();
  const customers: MockCustomerSpec[] = [];
  parsed.data.customers.forEach((entry, index) => {
    const where = `customers[${index}]`;
    const entryProblems = [
      ...checkCustomerId(entry.id).map((problem) => `${where}.id: ${problem}`),
      ...checkSecret(entry.secret).map((problem) => `${where}.secret: ${problem}`),
    ];
    if (typeof entry.id === 'string') {
      if (seen.has(entry.id)) entryProblems.push(`${where}.id: "${entry.id}" is listed twice`);
      seen.add(entry.id);
    }
    const merged = applyBehaviorPatch({ ...BASE_BEHAVIOR, ...defaults }, entry.behavior ?? {});
    if (!merged.ok) entryProblems.push(...describe(`${where}.behavior`, merged.fields));
    problems.push(...entryProblems);
    if (entryProblems.length === 0 && merged.ok) {
      customers.push({ id: String(entry.id), secret: String(entry.secret), behavior: diff(merged.behavior) });
    }
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: customers };
}

/** Environment knob suffix → how it lands in a behaviour patch. */
export const ENV_KNOBS = {
  LATENCY_MS: 'latencyMs',
  JITTER_MS: 'jitterMs',
  LATENCY_P50_MS: 'latencyDistribution.p50Ms',
  LATENCY_P99_MS: 'latencyDistribution.p99Ms',
  ERROR_RATE: 'errorRate',
  ERROR_STATUS: 'errorStatus',
  ERROR_RETRY_AFTER_SECONDS: 'errorRetryAfterSeconds',
  HANG_RATE: 'hangRate',
  RESET_RATE: 'resetRate',
  GONE_RATE: 'goneRate',
  RATE_LIMIT_PER_SECOND: 'rateLimitPerSecond',
  SECRET: 'secret',
} as const;

type EnvKnob = keyof typeof ENV_KNOBS;
const ENV_KNOB_NAMES = Object.keys(ENV_KNOBS) as EnvKnob[];

export function envIdOf(customerId: string): string {
  return customerId.toUpperCase().replace(/-/g, '_');
}

/** `null`, `none` or empty → null (for the nullable knobs); a number → the number; else the raw string. */
function envValue(raw: string): number | string | null {
  const trimmed = raw.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'null' || trimmed.toLowerCase() === 'none') return null;
  const number = Number(trimmed);
  return Number.isFinite(number) ? number : trimmed;
}

/** Applies `MOCK_<ID>_<KNOB>` overrides; a `MOCK_…_<KNOB>` naming no known customer is a problem. */
export function applyEnvOverrides(
  customers: readonly MockCustomerSpec[],
  env: Env,
): ConfigResult<MockCustomerSpec[]> {
  const problems: string[] = [];
  const claimed = new Set<string>();
  const result = customers.map((customer) => {
    const prefix = `MOCK_${envIdOf(customer.id)}_`;
    const patch: Record<string, unknown> = {};
    const distribution: Record<string, unknown> = {};
    let secret = customer.secret;
    for (const knob of ENV_KNOB_NAMES) {
      const name = prefix + knob;
      const raw = env[name];
      if (raw === undefined) continue;
      claimed.add(name);
      const target = ENV_KNOBS[knob];
      if (target === 'secret') {
        const secretProblems = checkSecret(raw.trim());
        if (secretProblems.length > 0)
          problems.push(...secretProblems.map((problem) => `${name}: ${problem}`));
        else secret = raw.trim();
      } else if (target.startsWith('latencyDistribution.')) {
        distribution[target.slice('latencyDistribution.'.length)] = envValue(raw);
      } else {
        patch[target] = envValue(raw);
      }
    }
    const base: Behavior = { ...BASE_BEHAVIOR, ...customer.behavior };
    if (Object.keys(distribution).length > 0) {
      patch['latencyDistribution'] = { ...base.latencyDistribution, ...distribution };
    }
    const merged = applyBehaviorPatch(base, patch);
    if (!merged.ok) {
      for (const [field, problem] of Object.entries(merged.fields)) {
        problems.push(`${envNameOf(prefix, field)}: ${problem}`);
      }
      return customer;
    }
    return { id: customer.id, secret, behavior: diff(merged.behavior) };
  });
  for (const name of Object.keys(env)) {
    if (!name.startsWith('MOCK_') || claimed.has(name)) continue;
    if (ENV_KNOB_NAMES.some((knob) => name.endsWith(`_${knob}`))) {
      problems.push(`${name}: names no configured customer (${customers.map((c) => c.id).join(', ')})`);
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: result };
}

function envNameOf(prefix: string, field: string): string {
  const knob = ENV_KNOB_NAMES.find((name) => ENV_KNOBS[name] === field);
  if (knob !== undefined) return prefix + knob;
  if (field === 'latencyDistribution') return `${prefix}LATENCY_P50_MS/${prefix}LATENCY_P99_MS`;
  return `${prefix}* (${field})`;
}

/** Only the knobs that differ from BASE_BEHAVIOR: keeps specs short and readable in logs. */
function diff(behavior: Behavior): BehaviorPatch {
  const patch: BehaviorPatch = {};
  for (const key of Object.keys(behavior) as (keyof Behavior)[]) {
    if (JSON.stringify(behavior[key]) !== JSON.stringify(BASE_BEHAVIOR[key])) {
      Object.assign(patch, { [key]: behavior[key] });
    }
  }
  return patch;
}

function describe(where: string, fields: Record<string, string>): string[] {
  return Object.entries(fields).map(([field, problem]) => `${where}.${field}: ${problem}`);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads PORT, HOST, LOG_LEVEL, MOCK_CUSTOMERS_FILE and the overrides. */
export function loadConfig(env: Env, readFile: (path: string) => string): ConfigResult<MockCustomersConfig> {
  const problems: string[] = [];

  const rawPort = env['PORT']?.trim() || '4000';
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    problems.push(`PORT: must be an integer 0–65535, got "${rawPort}"`);
  }
  const host = env['HOST']?.trim() || '0.0.0.0';
  const logLevel = env['LOG_LEVEL']?.trim() || 'info';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}`);

  let customers: MockCustomerSpec[] = DEFAULT_MOCK_CUSTOMERS.map((customer) => ({
    ...customer,
    behavior: { ...customer.behavior },
  }));
  let source = 'the default three';
  let customersKnown = true;
  const file = env['MOCK_CUSTOMERS_FILE']?.trim();
  if (file) {
    source = file;
    let json: unknown;
    try {
      json = JSON.parse(readFile(file));
    } catch (error) {
      problems.push(`MOCK_CUSTOMERS_FILE: cannot read ${file} as JSON: ${(error as Error).message}`);
    }
    const parsed = json === undefined ? undefined : parseCustomersFile(json);
    if (parsed?.ok) customers = parsed.value;
    else customersKnown = false;
    if (parsed?.ok === false) {
      problems.push(...parsed.problems.map((problem) => `MOCK_CUSTOMERS_FILE ${file}: ${problem}`));
    }
  }
  if (customersKnown) {
    // Only against the customers that will really run: otherwise every override looks like a typo.
    const overridden = applyEnvOverrides(customers, env);
    if (overridden.ok) customers = overridden.value;
    else problems.push(...overridden.problems);
  }

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { port, host, logLevel, customers, source } };
}
