import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnExit, requireBinary } from './binaries.ts';
import { freePort } from './ports.ts';

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Stop the server (SIGTERM, SIGKILL after a grace period) and remove the temp dir it created. */
  stop(): Promise<void>;
  /** Stop, then start again on the same port and dir; data survives only with `appendonly: true`. */
  restart(): Promise<void>;
}

export interface StartRedisOptions {
  /** Enable the AOF (fsync everysec; a clean stop flushes it) so data survives `restart()`. Default false. */
  appendonly?: boolean;
  /** Working dir for the AOF; default a fresh temp dir, removed by `stop()`. A given dir is kept. */
  dir?: string;
}

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const MAX_PORT_ATTEMPTS = 5;

/**
 * redis-server runs under a tiny sh guardian that holds a pipe from us: when this process dies (even by
 * SIGKILL) the pipe hits EOF and the watcher terminates redis; `stop()` takes the same path by closing it.
 * The guardian exits with redis, so a redis that dies on its own (e.g. port taken) is noticed at once.
 */
const GUARDIAN = [
  'exec 3<&0',
  '"$0" "$@" </dev/null 3<&- &',
  'pid=$!',
  '{ while read -r _; do :; done; kill -TERM "$pid" 2>/dev/null; } <&3 &',
  'watcher=$!',
  'exec 3<&-',
  'wait "$pid"',
  'status=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  output: () => string;
  /** redis logged "Ready to accept connections": it bound the port itself. */
  ready: () => boolean;
}

class PortInUseError extends Error {}

/** Temp dirs of servers not stopped yet; removed on process exit (after binaries.ts SIGKILLed redis). */
const liveTempDirs = new Set<string>();
let dirHookInstalled = false;
function trackTempDir(dir: string): void {
  liveTempDirs.add(dir);
  if (dirHookInstalled) return;
  dirHookInstalled = true;
  process.once('exit', () => {
    for (const d of liveTempDirs) rmSync(d, { recursive: true, force: true });
  });
}

function spawnRedis(bin: string, port: number, dir: string, appendonly: boolean): Running {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    appendonly ? 'yes' : 'no',
    '--appendfsync',
    'everysec',
    '--daemonize',
    'no',
    '--logfile',
    '',
    '--loglevel',
    'notice', // startup waits for the "Ready to accept connections" line
    '--protected-mode',
    'no',
  ];
  const child = spawn('/bin/sh', ['-c', GUARDIAN, bin, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // own process group, so the exit hook can kill guardian + redis together
  });
  killOnExit(child, { group: true });
  let log = '';
  let ready = false;
  const append = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-8_000);
    ready ||= /ready to accept connections/i.test(log);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  child.stdin?.on('error', () => {}); // EPIPE once the guardian is gone
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  child.once('error', (err) => append(Buffer.from(`spawn error: ${err.message}\n`)));
  return { child, exited, output: () => log, ready: () => ready };
}

/** One PING round trip over a raw socket; true on `+PONG` (false on `-LOADING`, refusal, timeout). */
function ping(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitReady(running: Running, port: number): Promise<void> {
  let exited = false;
  void running.exited.then(() => (exited = true));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) {
      const out = running.output();
      if (/address already in use/i.test(out)) throw new PortInUseError(out);
      throw new Error(`redis-server exited during startup on port ${port}:\n${out}`);
    }
    // The log line proves *our* server bound the port (a foreign one there could answer PING too).
    if (running.ready() && (await ping(port))) return;
    await sleep(50);
  }
  await terminate(running);
  throw new Error(
    `redis-server on port ${port} did not answer PING within ${START_TIMEOUT_MS} ms:\n${running.output()}`,
  );
}

async function terminate(running: Running): Promise<void> {
  const { child } = running;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stdin?.end(); // guardian sees EOF → SIGTERM to redis → waits for it
  const timer = setTimeout(() => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, STOP_TIMEOUT_MS);
  await running.exited;
  clearTimeout(timer);
}

/** Start a throwaway `redis-server` on a free 127.0.0.1 port; resolves once it answers PING. */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisServer> {
  const bin = requireBinary('redis-server');
  const appendonly = opts.appendonly ?? false;
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'integrator-redis-')));
  if (ownDir) trackTempDir(dir);

  let port = 0;
  let running: Running | undefined;
  for (let attempt = 1; running === undefined; attempt++) {
    port = await freePort();
    const candidate = spawnRedis(bin, port, dir, appendonly);
    try {
      await waitReady(candidate, port);
      running = candidate;
    } catch (err) {
      await terminate(candidate);
      if (!(err instanceof PortInUseError) || attempt >= MAX_PORT_ATTEMPTS) {
        if (ownDir) {
          liveTempDirs.delete(dir);
          await rm(dir, { recursive: true, force: true });
        }
        throw err instanceof PortInUseError
          ? new Error(`redis-server could not bind a port: ${err.message}`)
          : err;
      }
    }
  }

  const startOnSamePort = async (): Promise<Running> => {
    await mkdir(dir, { recursive: true });
    if (ownDir) trackTempDir(dir);
    for (let attempt = 1; ; attempt++) {
      const candidate = spawnRedis(bin, port, dir, appendonly);
      try {
        await waitReady(candidate, port);
        return candidate;
      } catch (err) {
        await terminate(candidate);
        // Someone may hold the port for a moment (e.g. a client's reconnect racing us); give it time.
        if (!(err instanceof PortInUseError) || attempt >= MAX_PORT_ATTEMPTS) throw err;
        await sleep(200 * attempt);
      }
    }
  };

  let current: Running | undefined = running;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      const r = current;
      current = undefined;
      if (r !== undefined) await terminate(r);
      // A restart() after stop() recreates the dir empty (startOnSamePort mkdirs it).
      if (ownDir) {
        liveTempDirs.delete(dir);
        await rm(dir, { recursive: true, force: true });
      }
    },
    async restart() {
      const r = current;
      current = undefined;
      if (r !== undefined) await terminate(r);
      current = await startOnSamePort();
    },
  };
}
