/**
 * A throwaway `redis-server` that speaks only TLS (Debian's build has TLS), with the default user switched
 * off and one ACL user: what a managed Redis looks like to the integrator (README "Configuration").
 * Certificates come from `tls.ts`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnExit, requireBinary } from './binaries.ts';
import { freePort } from './ports.ts';
import type { TestPki } from './tls.ts';

export interface TlsRedis {
  /** `rediss://127.0.0.1:<port>` (no credentials in it). */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface StartTlsRedisOptions {
  pki: TestPki;
  user: string;
  password: string;
  /** The server refuses clients without a certificate signed by the test CA. */
  requireClientCert: boolean;
}

const START_TIMEOUT_MS = 15_000;

export async function startTlsRedis(opts: StartTlsRedisOptions): Promise<TlsRedis> {
  const bin = requireBinary('redis-server');
  const dir = await mkdtemp(join(tmpdir(), 'integrator-redis-tls-'));
  const port = await freePort();
  const child = spawn(
    bin,
    ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--dir', dir]
      .concat(['--tls-cert-file', opts.pki.serverCertFile, '--tls-key-file', opts.pki.serverKeyFile])
      .concat([
        '--tls-ca-cert-file',
        opts.pki.caFile,
        '--tls-auth-clients',
        opts.requireClientCert ? 'yes' : 'no',
      ])
      .concat(['--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--logfile', ''])
      // redis-server joins the words after --user into one ACL rule
      .concat([
        '--user',
        'default',
        'off',
        '--user',
        opts.user,
        'on',
        `>${opts.password}`,
        '~*',
        '&*',
        '+@all',
      ]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  killOnExit(child);
  let log = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`TLS redis-server not ready in ${START_TIMEOUT_MS} ms:\n${log}`)),
      START_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer): void => {
      log = (log + chunk.toString('utf8')).slice(-8_000);
      if (/ready to accept connections/i.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`TLS redis-server exited during startup:\n${log}`));
    });
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await ready;
  } catch (err) {
    child.kill('SIGKILL');
    await stop();
    throw err;
  }
  return { url: `rediss://127.0.0.1:${port}`, port, stop };
}
