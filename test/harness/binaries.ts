import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Debian package that provides each binary the harness (or a test) may need. */
const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  gcc: 'gcc',
  postgres: 'postgresql',
  initdb: 'postgresql',
  pg_ctl: 'postgresql',
  pg_isready: 'postgresql-client',
  psql: 'postgresql-client',
  createdb: 'postgresql-client',
};

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `/usr/lib/postgresql/<major>/bin`, newest major first: Debian keeps server tools off PATH. */
function postgresBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  let majors: string[];
  try {
    majors = readdirSync(root);
  } catch {
    return [];
  }
  return majors
    .filter((m) => /^\d+(\.\d+)?$/.test(m))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    .map((m) => join(root, m, 'bin'));
}

/** Where `name` would be looked up, in order: PATH, then the usual Debian locations. */
function candidateDirs(): string[] {
  const fromPath = (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '');
  const extra = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  return [...new Set([...fromPath, ...extra, ...postgresBinDirs()])];
}

/** Message telling exactly what to install; used for binaries and for other system prerequisites. */
export function missingPrerequisite(what: string, debianPackage: string): Error {
  const ci = process.env['CI'] === 'true' ? ' (CI=true: integration tests must not be skipped)' : '';
  return new Error(
    `Integration test prerequisite missing: ${what}${ci}. ` +
      `Install it with: sudo apt-get update && sudo apt-get install -y ${debianPackage}`,
  );
}

/**
 * Absolute path of an executable, or a loud Error naming the apt package to install.
 * Tests call this instead of skipping: a missing binary is a test failure, never a silent skip.
 */
export function requireBinary(name: string): string {
  if (name.includes('/')) {
    if (isExecutable(name)) return name;
  } else {
    for (const dir of candidateDirs()) {
      const full = join(dir, name);
      if (isExecutable(full)) return full;
    }
  }
  const base = name.split('/').pop() ?? name;
  throw missingPrerequisite(`executable "${name}" not found on PATH`, DEBIAN_PACKAGES[base] ?? base);
}

/** Children still running, each with the function that SIGKILLs it (or its process group). */
const liveChildren = new Map<ChildProcess, () => void>();
let exitHookInstalled = false;

/**
 * Make sure `child` dies with this process even if a test forgets (or fails before) `stop()`.
 * With `group: true` the child must have been spawned `detached` and its whole process group is killed.
 */
export function killOnExit(child: ChildProcess, opts: { group?: boolean } = {}): void {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  liveChildren.set(child, () => {
    try {
      process.kill(opts.group === true ? -pid : pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  child.once('exit', () => liveChildren.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const kill of liveChildren.values()) kill();
    });
  }
}
