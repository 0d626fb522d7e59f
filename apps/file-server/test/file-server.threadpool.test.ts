import { defineOnVitest } from './vitest-suite.js';

defineOnVitest('threadpool', { largeSize: 64 * 1024 * 1024 });
