import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Integration files start their own Redis / Kafka-protocol broker / HTTP servers; two cores → two at a time.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
