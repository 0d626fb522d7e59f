import { defineNativeEventSuite } from './socket-events-native.js';
import { runOnBackend } from './define-backend-suite.js';

runOnBackend('io_uring', (_api, backend) => defineNativeEventSuite(backend));
