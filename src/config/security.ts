/**
 * Managed Kafka and Redis (README "Configuration"): SASL and TLS for Kafka, TLS and credentials
 * for Redis, from the environment. Parsed once, at the edge, like the rest of the configuration
 * (`config.ts`): every problem is pushed to the caller's list, nothing throws.
 *
 * Secrets (SASL password, TLS key password, Redis password) are held in `Secret`, which prints and
 * serialises as `[redacted]`: a logged config object cannot leak them. Only the client adapters call
 * `reveal()`. Certificate verification cannot be switched off: there is no variable for it.
 */
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';

/** A value that never shows itself in logs, JSON or `util.inspect`. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** TLS client settings: PEM files. No CA file = the system's trusted roots. */
export interface TlsFiles {
  caFile: string | null;
  certFile: string | null;
  keyFile: string | null;
}

export interface KafkaSecurity {
  /** null = plaintext connections. */
  tls: (TlsFiles & { keyPassword: Secret | null }) | null;
  /** null = no SASL authentication. */
  sasl: { mechanism: SaslMechanism; username: string; password: Secret } | null;
}

export interface RedisSecurity {
  /** From `rediss://`; null for `redis://`. */
  tls: TlsFiles | null;
  /** ACL user (Redis 6+); from REDIS_USERNAME or the URL. */
  username: string | null;
  /** From REDIS_PASSWORD or the URL. */
  password: Secret | null;
}

export interface SecurityConfig {
  kafka: KafkaSecurity;
  redis: RedisSecurity;
}

type Env = Record<string, string | undefined>;

function value(env: Env, name: string): string | null {
  const v = env[name];
  return v === undefined || v.trim() === '' ? null : v.trim();
}

/** A readable PEM file holding `kind` (e.g. CERTIFICATE, PRIVATE KEY), or a problem naming the variable. */
function pemFile(
  env: Env,
  name: string,
  kind: RegExp,
  what: string,
  problems: string[],
  readFile: (path: string) => string,
): string | null {
  const path = value(env, name);
  if (path === null) return null;
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    problems.push(`${name}: cannot read ${path}: ${(err as Error).message}`);
    return path;
  }
  if (!kind.test(text)) problems.push(`${name}: ${path} holds no PEM ${what}`);
  return path;
}

const CERT = /-----BEGIN CERTIFICATE-----/;
const KEY = /-----BEGIN ((RSA |EC |ENCRYPTED )?PRIVATE KEY)-----/;

function tlsFiles(
  env: Env,
  prefix: 'KAFKA_TLS' | 'REDIS_TLS',
  problems: string[],
  readFile: (path: string) => string,
): TlsFiles {
  const caFile = pemFile(env, `${prefix}_CA_FILE`, CERT, 'certificate', problems, readFile);
  const certFile = pemFile(env, `${prefix}_CERT_FILE`, CERT, 'certificate', problems, readFile);
  const keyFile = pemFile(env, `${prefix}_KEY_FILE`, KEY, 'private key', problems, readFile);
  if ((certFile === null) !== (keyFile === null)) {
    problems.push(`${prefix}_CERT_FILE and ${prefix}_KEY_FILE: a client certificate needs both`);
  }
  return { caFile, certFile, keyFile };
}

function kafkaSecurity(env: Env, problems: string[], readFile: (path: string) => string): KafkaSecurity {
  let sasl: KafkaSecurity['sasl'] = null;
  const mechanismRaw = value(env, 'KAFKA_SASL_MECHANISM');
  const username = value(env, 'KAFKA_SASL_USERNAME');
  const password = env['KAFKA_SASL_PASSWORD'] ?? '';
  if (mechanismRaw !== null) {
    const mechanism = SASL_MECHANISMS.find((m) => m === mechanismRaw.toUpperCase());
    if (mechanism === undefined) {
      problems.push(
        `KAFKA_SASL_MECHANISM: must be one of ${SASL_MECHANISMS.join(', ')} (got "${mechanismRaw}")`,
      );
    }
    if (username === null) problems.push('KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM');
    if (password === '') problems.push('KAFKA_SASL_PASSWORD: required with KAFKA_SASL_MECHANISM');
    if (mechanism && username !== null && password !== '') {
      sasl = { mechanism, username, password: new Secret(password) };
    }
  } else if (username !== null || password !== '') {
    problems.push('KAFKA_SASL_MECHANISM: required when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set');
  }

  const files = tlsFiles(env, 'KAFKA_TLS', problems, readFile);
  const anyFile = files.caFile !== null || files.certFile !== null || files.keyFile !== null;
  const keyPasswordRaw = env['KAFKA_TLS_KEY_PASSWORD'] ?? '';
  if (keyPasswordRaw !== '' && files.keyFile === null) {
    problems.push('KAFKA_TLS_KEY_PASSWORD: only meaningful with KAFKA_TLS_KEY_FILE');
  }
  // TLS is on when asked for, when a TLS file is given, and by default with SASL (managed services all
  // want SASL over TLS; KAFKA_TLS=false allows SASL over plaintext, e.g. on a private network).
  const tlsRaw = value(env, 'KAFKA_TLS');
  let tlsOn = anyFile || mechanismRaw !== null;
  if (tlsRaw !== null) {
    if (tlsRaw !== 'true' && tlsRaw !== 'false') {
      problems.push(`KAFKA_TLS: must be "true" or "false" (got "${tlsRaw}")`);
    } else if (tlsRaw === 'false' && anyFile) {
      problems.push('KAFKA_TLS: "false" contradicts the KAFKA_TLS_* files given');
    } else {
      tlsOn = tlsRaw === 'true';
    }
  }
  const tls = tlsOn
    ? { ...files, keyPassword: keyPasswordRaw === '' ? null : new Secret(keyPasswordRaw) }
    : null;
  return { tls, sasl };
}

function redisSecurity(env: Env, problems: string[], readFile: (path: string) => string): RedisSecurity {
  const raw = value(env, 'REDIS_URL');
  let url: URL | null = null;
  if (raw !== null && /^rediss?:\/\//.test(raw)) {
    try {
      url = new URL(raw);
    } catch {
      problems.push('REDIS_URL: not a valid URL'); // never echo it: it may hold a password
    }
  }
  const files = tlsFiles(env, 'REDIS_TLS', problems, readFile);
  const anyFile = files.caFile !== null || files.certFile !== null || files.keyFile !== null;
  const tlsOn = url?.protocol === 'rediss:';
  if (anyFile && url !== null && !tlsOn) {
    problems.push('REDIS_TLS_*: TLS files need a rediss:// REDIS_URL (got redis://)');
  }

  const urlUser = url && url.username !== '' ? decodeURIComponent(url.username) : null;
  const urlPassword = url && url.password !== '' ? decodeURIComponent(url.password) : null;
  const envUser = value(env, 'REDIS_USERNAME');
  const envPassword = env['REDIS_PASSWORD'] ?? '';
  if (envUser !== null && urlUser !== null) {
    problems.push('REDIS_USERNAME: the user is also in REDIS_URL; give it in one place');
  }
  if (envPassword !== '' && urlPassword !== null) {
    problems.push('REDIS_PASSWORD: a password is also in REDIS_URL; give it in one place');
  }
  const username = envUser ?? urlUser;
  const passwordText = envPassword !== '' ? envPassword : urlPassword;
  if (username !== null && passwordText === null) {
    problems.push('REDIS_PASSWORD: required with a Redis user name');
  }
  return {
    tls: tlsOn ? files : null,
    username,
    password: passwordText === null ? null : new Secret(passwordText),
  };
}

/** Read the security variables; every problem goes to `problems`. */
export function loadSecurity(
  env: Env,
  problems: string[],
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): SecurityConfig {
  return { kafka: kafkaSecurity(env, problems, readFile), redis: redisSecurity(env, problems, readFile) };
}
