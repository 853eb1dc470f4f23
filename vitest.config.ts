import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Test files in one worker share one embedded PGlite (test/support/test-stores.ts): a cold
    // PGlite costs ~5 s and ~0.9 GB, so it is opened once per worker, not once per test.
    isolate: false,
    maxWorkers: 2,
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
