/**
 * A throw-away PostgreSQL server for tests: `initdb` into a temp folder, `pg_ctl start` on a free loopback
 * port with trust auth, one fresh database per test file (`createDatabase()`), `stop()` removes everything.
 *
 *   const pg = await startPostgres();
 *   const url = await pg.createDatabase();   // postgres://postgres@127.0.0.1:<port>/<fresh name>
 *   ...
 *   await pg.stop();
 *
 * Uses the PostgreSQL server binaries of the machine (Debian: `apt-get install -y postgresql`); when they are
 * missing it fails loudly, it never skips. Postgres refuses to run as root, so under root every server command
 * runs as the `postgres` OS user (via `runuser`). `PG_BIN` points at another bin folder if needed.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const execFileAsync = promisify(execFile);

export interface PostgresHarness {
  /** URL of the server's `postgres` maintenance database. */
  url: string;
  port: number;
  /** Creates a fresh, empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server and deletes its data folder. Safe to call twice. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'PostgreSQL server binaries (initdb, pg_ctl, postgres) are needed by the test suite. ' +
  'On Debian/Ubuntu: `apt-get install -y postgresql` (they land in /usr/lib/postgresql/<version>/bin); ' +
  'or set PG_BIN to the folder that holds them.';

/** Finds the folder holding initdb and pg_ctl: PG_BIN, the newest /usr/lib/postgresql/<v>/bin, or PATH. */
export function findPostgresBin(): string {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const debianRoot = '/usr/lib/postgresql';
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(join(debianRoot, v, 'bin'));
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) candidates.push(dir);
  const found = candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
  if (!found)
    throw new Error(
      `No PostgreSQL server binaries found (looked in ${candidates.join(', ')}). ${INSTALL_HINT}`,
    );
  return found;
}

interface RunAs {
  /** Wraps a command so it runs as the OS user that owns the data folder. */
  wrap(file: string, args: string[]): [string, string[]];
  uid: number | null;
  gid: number | null;
}

function runAs(): RunAs {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) return { wrap: (file, args) => [file, args], uid: null, gid: null };
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  } catch {
    throw new Error(
      `Running as root but there is no 'postgres' OS user to run the server as. ${INSTALL_HINT}`,
    );
  }
  return { wrap: (file, args) => ['runuser', ['-u', 'postgres', '--', file, ...args]], uid, gid };
}

/** A port that was free a moment ago (the caller retries if another process grabs it first). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function run(as: RunAs, file: string, args: string[], timeoutMs: number): Promise<void> {
  const [cmd, cmdArgs] = as.wrap(file, args);
  try {
    await execFileAsync(cmd, cmdArgs, { timeout: timeoutMs, cwd: tmpdir() });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, {
      cause: error,
    });
  }
}

async function tail(path: string, lines = 30): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no server log)';
  }
}

const running = new Set<() => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test process that dies without calling stop() must not leave a server behind.
  process.once('exit', () => {
    for (const stopNow of running) stopNow();
  });
}

export async function startPostgres(): Promise<PostgresHarness> {
  const bin = findPostgresBin();
  const as = runAs();
  const root = await mkdtemp(join(tmpdir(), 'pkg-status-pg-'));
  const dataDir = join(root, 'data');
  const logFile = join(root, 'server.log');
  if (as.uid !== null && as.gid !== null) await chown(root, as.uid, as.gid);

  try {
    await run(
      as,
      join(bin, 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions'],
      120_000,
    );
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }

  const pgCtl = join(bin, 'pg_ctl');
  let port = 0;
  let lastError: unknown = null;
  for (let attempt = 0; attempt < 3 && port === 0; attempt++) {
    const candidate = await freePort();
    const serverOptions = [
      `-p ${candidate}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${root}`,
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c wal_level=logical',
      '-c max_connections=200',
    ].join(' ');
    try {
      await run(
        as,
        pgCtl,
        ['-D', dataDir, '-l', logFile, '-o', serverOptions, '-w', '-t', '60', 'start'],
        90_000,
      );
      port = candidate;
    } catch (error) {
      lastError = error;
    }
  }
  if (port === 0) {
    const log = await tail(logFile);
    await rm(root, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${String(lastError)}\n--- server log ---\n${log}`);
  }

  const stopNow = (): void => {
    const [cmd, args] = as.wrap(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    spawnSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
    spawnSync('rm', ['-rf', root], { stdio: 'ignore' });
  };
  running.add(stopNow);
  installExitHook();

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;

  return {
    url,
    port,
    async createDatabase(name?: string): Promise<string> {
      const dbName = name ?? `t_${randomBytes(6).toString('hex')}`;
      if (!/^[a-z_][a-z0-9_]*$/.test(dbName)) throw new Error(`Invalid database name: ${dbName}`);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${dbName}"`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${dbName}`;
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      running.delete(stopNow);
      try {
        await run(as, pgCtl, ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], 90_000);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    },
  };
}
