import { defineLoopRecvSuite } from './socket-loop-recv.js';
import { runOnBackend } from './define-backend-suite.js';

runOnBackend('threadpool', (_api, backend) => defineLoopRecvSuite(backend));
