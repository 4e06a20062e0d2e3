import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites start real server processes on their own ports; files run in parallel on 2 cores.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
