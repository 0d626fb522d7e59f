import { defineSocketSendfileSuite } from '../src/index.js';
import { runOnBackend } from './define-backend-suite.js';

runOnBackend('threadpool', defineSocketSendfileSuite);
