/**
 * @overlapped/testkit: the conformance suites every backend must pass.
 *
 * @packageDocumentation
 */
export { backendAvailability, makePort } from './backends.js';
export { canForceGc, forceGc, sleep, type TestApi, waitFor } from './harness.js';
export { definePortSuite, type PortSuiteOptions } from './suites/port.js';
export { defineSocketSuite } from './suites/socket.js';
