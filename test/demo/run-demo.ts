/** Runs `demo/main.ts` as a child process (as `npm run demo` would) and parses its DEMO_SUMMARY line. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DemoSummary } from '../../demo/summary.ts';
import { killOnExit } from '../harness/binaries.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Settings the demo reads (no broker, no Redis, …) are left out unless the test passes them. */
const DEMO_SETTINGS =
  /^(KAFKA_|REDIS_|RETRY_STORE$|PORT$|HOST$|MOCK_|LOG_LEVEL$|SHUTDOWN_DEADLINE_MS$|CUSTOMERS_FILE$|ADMIN_TOKEN$|READ_TOKEN$|DATABASE_URL$|DELIVERY_LOG)/;

function demoFreeEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !DEMO_SETTINGS.test(k)) out[k] = v;
  }
  return out;
}

export interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
  summary: DemoSummary;
  /** Wall time of the whole run, ms. */
  tookMs: number;
}

export function runDemo(
  args: string[],
  env: Record<string, string> = {},
  onStdout: (text: string) => void = () => {},
): Promise<DemoRun> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'demo/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...demoFreeEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString('utf8');
    onStdout(stdout);
  });
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = stdout.trimEnd().split('\n');
      const last = lines[lines.length - 1] ?? '';
      if (!last.startsWith('DEMO_SUMMARY ')) {
        reject(
          new Error(
            `the demo's last line is not DEMO_SUMMARY (exit ${code}):\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`,
          ),
        );
        return;
      }
      resolve({
        code,
        stdout,
        stderr,
        summary: JSON.parse(last.slice('DEMO_SUMMARY '.length)) as DemoSummary,
        tookMs: Date.now() - started,
      });
    });
  });
}
