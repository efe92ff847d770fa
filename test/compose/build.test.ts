/**
 * The image runs compiled JavaScript (`node dist/src/main.js`, see Dockerfile): the production build must
 * compile and the compiled entry point must run (here: refuse an empty configuration with exit 2).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from '../harness/integrator.ts';
import { buildProject } from '../harness/build.ts';

mkdirSync(join(ROOT, 'node_modules/.cache'), { recursive: true });
// Inside the checkout so that the compiled files resolve packages from its node_modules, as in the image.
const out = mkdtempSync(join(ROOT, 'node_modules/.cache/build-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('tsconfig.build.json compiles, and the compiled integrator starts (and rejects empty config)', () => {
  const build = buildProject(out);
  expect(build.stdout + build.stderr).toBe('');
  expect(build.status).toBe(0);
  // The runtime image has only production dependencies; the compiled code must not need tsx.
  const run = spawnSync(process.execPath, [join(out, 'src/main.js')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(run.status).toBe(2);
  expect(run.stderr).toMatch(/KAFKA_BROKERS: required/);
}, 150_000);
