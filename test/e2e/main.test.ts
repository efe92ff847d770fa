/** `npm start` as operators meet it: bad configuration exits 2 listing every problem, starting nothing. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../harness/integrator.ts';

it('invalid configuration: exit code 2, every problem on stderr', () => {
  const res = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      KAFKA_BROKERS: 'not-a-broker',
      CUSTOMERS_FILE: '/nonexistent/customers.json',
      PORT: 'eighty',
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(res.status).toBe(2);
  expect(res.stderr).toMatch(/invalid configuration \(4 problems\)/);
  expect(res.stderr).toMatch(/KAFKA_BROKERS: "not-a-broker" is not host:port/);
  expect(res.stderr).toMatch(/REDIS_URL: required/);
  expect(res.stderr).toMatch(/CUSTOMERS_FILE: cannot read/);
  expect(res.stderr).toMatch(/PORT: must be an integer/);
  expect(res.stdout).toBe('');
});
