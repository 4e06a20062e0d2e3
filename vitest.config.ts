import { defineConfig } from 'vitest/config';

/**
 * Two tiers, by folder (test/README.md): `unit` is test/unit/**, no process, no socket, no
 * build (`npm run test:unit`, while editing); `integration` is every other test file, with
 * real zdb processes, gateways and clients (after `npm run build`). `npm test` runs both.
 */
export default defineConfig({
  test: {
    // Integration suites start real server processes on their own ports; files run in parallel on 2 cores.
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 15_000,
          hookTimeout: 15_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
