/**
 * The operator surface's settings (README "For operators"): read token, the delivery log (where it lives,
 * its retention, its buffer). Parsed once at the edge; every problem is appended to `problems`.
 */
type Env = Record<string, string | undefined>;

export interface DeliveryLogConfig {
  /** `off`: no log at all (package tracking and the query API answer 503). */
  kind: 'off' | 'embedded' | 'postgres';
  /** Postgres URL (kind `postgres`). */
  url: string | null;
  /** Embedded (SQLite): a directory kept across restarts, or null for a private temp one removed at stop. */
  dir: string | null;
  /** Rows older than this are deleted. */
  maxAgeMs: number;
  /** Each log table keeps at most this many rows (the oldest go first). */
  maxRows: number;
  /** Records waiting to be written, at most; more are dropped and counted. */
  buffer: number;
}

export interface ConsoleConfig {
  /** Bearer token for read-only access (ADMIN_TOKEN can do everything). */
  readToken: string | null;
  log: DeliveryLogConfig;
}

export const LOG_DEFAULTS = {
  maxAgeHours: 168,
  maxRowsEmbedded: 100_000,
  maxRowsPostgres: 10_000_000,
  buffer: 20_000,
} as const;

const MIN_TOKEN = 16;

export function parseConsoleConfig(env: Env, problems: string[]): ConsoleConfig {
  const str = (name: string): string | null => {
    const v = env[name]?.trim();
    return v ? v : null;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === null) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}: must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };

  const admin = str('ADMIN_TOKEN');
  const readToken = str('READ_TOKEN');
  if (readToken !== null) {
    if (readToken.length < MIN_TOKEN) problems.push(`READ_TOKEN: must be at least ${MIN_TOKEN} characters`);
    if (readToken === admin) problems.push('READ_TOKEN: must differ from ADMIN_TOKEN');
  }

  const mode = (str('DELIVERY_LOG') ?? 'on').toLowerCase();
  if (mode !== 'on' && mode !== 'off') problems.push(`DELIVERY_LOG: must be "on" or "off" (got "${mode}")`);
  const url = str('DATABASE_URL');
  const dirRaw = str('DELIVERY_LOG_DIR');
  const dir = dirRaw;
  if (url && dirRaw !== null) {
    problems.push('DELIVERY_LOG_DIR: the log goes to DATABASE_URL when it is set; set one of the two');
  }
  const kind: DeliveryLogConfig['kind'] = mode === 'off' ? 'off' : url ? 'postgres' : 'embedded';
  const maxAgeHours = int('DELIVERY_LOG_MAX_AGE_HOURS', LOG_DEFAULTS.maxAgeHours, 1, 24 * 3650);
  const maxRows = int(
    'DELIVERY_LOG_MAX_ROWS',
    kind === 'postgres' ? LOG_DEFAULTS.maxRowsPostgres : LOG_DEFAULTS.maxRowsEmbedded,
    100,
    1_000_000_000,
  );
  const buffer = int('DELIVERY_LOG_BUFFER', LOG_DEFAULTS.buffer, 10, 10_000_000);
  return {
    readToken,
    log: { kind, url, dir, maxAgeMs: maxAgeHours * 3_600_000, maxRows, buffer },
  };
}
