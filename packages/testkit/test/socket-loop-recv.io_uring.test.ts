import { defineLoopRecvSuite } from './socket-loop-recv.js';
import { runOnBackend } from './define-backend-suite.js';

runOnBackend('io_uring', (_api, backend) => defineLoopRecvSuite(backend));
