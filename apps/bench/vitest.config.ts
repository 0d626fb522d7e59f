import { defineConfig } from 'vitest/config';

// The servers under test are other runtimes' processes (Bun, Deno): starting
// one takes seconds on a busy machine. Every loop in these tests is bounded
// by a count, so a longer limit only waits for a slow machine.
export default defineConfig({
  test: { name: 'bench', include: ['test/**/*.test.ts'], testTimeout: 30_000 },
});
