import { defineConfig } from 'vitest/config';

// The tests run the built CLI (dist/cli.js) as a child process: build first.
export default defineConfig({
  test: { name: 'ocopy', include: ['test/**/*.test.ts'], testTimeout: 30_000 },
});
