import { defineConfig } from 'vitest/config';
import { SOLO } from './vitest.config.ts';

/** The timing-sensitive files, one at a time, after the rest of the suite. */
export default defineConfig({
  test: {
    include: SOLO,
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    reporters: ['default'],
  },
});
