import { defineFileFuzzSuite } from '../src/index.js';
import { FUZZ_SEEDS, FUZZ_OPS } from './fuzz-seeds.js';
import { runOnBackend } from './define-backend-suite.js';

runOnBackend('portable', (api, backend) => defineFileFuzzSuite(api, backend, { seeds: FUZZ_SEEDS, ops: FUZZ_OPS }));
