import { defineSocketEventsSuite } from '../src/index.js';
import { runOnBackend } from './define-backend-suite.js';

runOnBackend('io_uring', defineSocketEventsSuite);
