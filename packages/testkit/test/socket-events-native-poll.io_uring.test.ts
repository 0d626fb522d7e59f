// io_uring sockets on the 'poll' event driver (what they fall back to where
// the kernel lacks multishot recv or buffer rings).
import { defineNativeEventSuite } from './socket-events-native.js';
import { runOnBackend } from './define-backend-suite.js';

process.env.OVERLAPPED_EVENT_DRIVER = 'poll';
runOnBackend('io_uring', (_api, backend) => defineNativeEventSuite(backend));
