import { defineConfig } from 'vitest/config';

/**
 * Timing-sensitive files (they compare latencies between runs) and heavy ones (scaleout: four integrator
 * processes) run alone afterwards, with nothing else of the suite beside them on this 2-core machine: see
 * vitest.solo.config.ts.
 */
export const SOLO = ['test/e2e/isolation.test.ts', 'test/e2e/scaleout.test.ts'];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...SOLO],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Integration files start their own Redis / Kafka-protocol broker / HTTP servers; two cores → two at a time.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
