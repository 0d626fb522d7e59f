import { defineSocketSendfileSuite } from '../src/index.js';
import { runOnBackend } from './define-backend-suite.js';

// The 1 GiB row runs here only: zero-copy makes it a few seconds.
runOnBackend('io_uring', (api, backend) => defineSocketSendfileSuite(api, backend, { large: true }));
