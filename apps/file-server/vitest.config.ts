import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { name: 'file-server', include: ['test/**/*.test.ts'], testTimeout: 60_000 },
});
