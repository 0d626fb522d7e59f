import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'testkit',
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // One backend's suite at a time: the volume tests use both cores.
    fileParallelism: false,
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
