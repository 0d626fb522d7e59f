import { defineFileServerSuite } from './suite.js';

defineFileServerSuite('portable', 64 * 1024 * 1024);
