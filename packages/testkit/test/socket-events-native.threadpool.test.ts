import { defineNativeEventSuite } from './socket-events-native.js';
import { runOnBackend } from './define-backend-suite.js';

runOnBackend('threadpool', (_api, backend) => defineNativeEventSuite(backend));
