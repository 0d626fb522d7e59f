import { defineSocketSendfileSuite } from '../src/index.js';
import { runOnBackend } from './define-backend-suite.js';

// The 1 GiB row runs here only (zero-copy makes it a few seconds), and not
// in the sanitizer row, whose addon is the same code slower.
const large = !process.env.OVERLAPPED_ADDON_PATH;
runOnBackend('io_uring', (api, backend) => defineSocketSendfileSuite(api, backend, { large }));
