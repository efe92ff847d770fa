/** `npm run mock-customers` as a process: configuration errors exit 2; a good start serves and stops on SIGTERM. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { request } from 'undici';

const root = fileURLToPath(new URL('../..', import.meta.url));

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'mock-customers/main.ts'], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

describe('mock-customers/main.ts', () => {
  it('invalid configuration: exit 2, every problem on stderr', async () => {
    const proc = run({ PORT: 'x', MOCK_CUSTOMER_1_ERROR_RATE: '9', MOCK_CUSTOMER_2_LATENCY_MS: '-5' });
    expect(await proc.exited).toBe(2);
    expect(proc.stderr()).toContain('PORT: must be an integer');
    expect(proc.stderr()).toContain('MOCK_CUSTOMER_1_ERROR_RATE: must be between 0 and 1');
    expect(proc.stderr()).toContain('MOCK_CUSTOMER_2_LATENCY_MS: must be ≥ 0');
  });

  it('starts from the environment, serves, and stops on SIGTERM', async () => {
    const proc = run({ PORT: '0', HOST: '127.0.0.1', MOCK_CUSTOMER_3_ERROR_RATE: '1' });
    try {
      const deadline = Date.now() + 30_000;
      let url: string | undefined;
      while (url === undefined && Date.now() < deadline) {
        for (const line of proc.stdout().split('\n')) {
          if (!line.startsWith('{')) continue;
          const record = JSON.parse(line) as { url?: string };
          if (record.url !== undefined) url = record.url;
        }
        if (url === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const behavior = await request(`${url}/customers/customer-3/behavior`);
      expect(await behavior.body.json()).toMatchObject({ errorRate: 1, latencyMs: 300 });
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
    } finally {
      if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
    }
  });
});
