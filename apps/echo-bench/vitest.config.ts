import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { name: 'echo-bench', include: ['test/**/*.test.ts'], testTimeout: 60_000 },
});
