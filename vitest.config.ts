import { defineConfig } from 'vitest/config';

// One vitest project per package that has tests; the Windows suite runs the
// same testkit suites under node:test in the Windows node.exe (scripts/test.mjs).
export default defineConfig({
  test: {
    projects: ['packages/common', 'packages/iocp', 'packages/testkit', 'apps/bench', 'apps/ocopy', 'apps/echo-bench', 'apps/echo-server', 'apps/file-server'],
  },
});
