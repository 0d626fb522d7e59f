import { defineOnVitest } from './vitest-suite.js';

defineOnVitest('portable', { largeSize: 64 * 1024 * 1024 });
