import { defineFileServerSuite } from './suite.js';

defineFileServerSuite('threadpool', 64 * 1024 * 1024);
