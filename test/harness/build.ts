/**
 * The production build as the image makes it (`tsc -p tsconfig.build.json`), into `out` — inside the
 * checkout, so that the compiled files resolve packages from its node_modules — with `extra` files
 * compiled beside it (the bench's probe). Used by the build test and by the bench, which runs the
 * integrator compiled.
 */
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './integrator.ts';

/** What tsconfig.build.json compiles. */
const BUILT = ['src', 'mock-customers', 'load'];

export function buildProject(out: string, extra: string[] = []): SpawnSyncReturns<string> {
  mkdirSync(out, { recursive: true });
  const project = join(out, 'tsconfig.json');
  writeFileSync(
    project,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.build.json'),
      compilerOptions: { outDir: out, rootDir: ROOT },
      include: [...BUILT, ...extra].map((p) => join(ROOT, p)),
    }),
  );
  return spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });
}
