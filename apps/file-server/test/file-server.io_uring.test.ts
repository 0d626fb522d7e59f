import { defineFileServerSuite } from './suite.js';

defineFileServerSuite('io_uring', 1024 * 1024 * 1024);
