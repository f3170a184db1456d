import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Service tests share one Redis server and real ports; files run in parallel, tests in a file run in order.
    pool: 'forks',
  },
});
