import { defineOnVitest } from './vitest-suite.js';

defineOnVitest('io_uring', { largeSize: 1024 * 1024 * 1024 });
