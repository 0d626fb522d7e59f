/**
 * @overlapped/testkit: the conformance suites every backend must pass.
 *
 * @packageDocumentation
 */
export { backendAvailability, makePort } from './backends.js';
export { canForceGc, type ChildOutcome, forceGc, runNodeChild, sleep, type TestApi, waitFor } from './harness.js';
export { definePortSuite, type PortSuiteOptions } from './suites/port.js';
export { defineFileSuite, type FileSuiteOptions } from './suites/file.js';
export { defineSocketSuite } from './suites/socket.js';
export { defineSocketForwardSuite } from './suites/socket-forward.js';
export { defineSocketEventsSuite } from './suites/socket-events.js';
export { defineSocketSendfileSuite, type SocketSendfileSuiteOptions } from './suites/socket-sendfile.js';
export { defineLifecycleSuite, type LifecycleSuiteOptions } from './suites/lifecycle.js';
export { defineFileFuzzSuite, describeProgram, generateProgram, runFileFuzz, type FileFuzzOptions, type FileFuzzReport, type FuzzOp, type FuzzProgram } from './fuzz/file.js';
export { defineSocketSoakSuite, type SocketSoakOptions } from './suites/socket-soak.js';
export { defineBadArgumentSuite } from './suites/bad-arguments.js';
export { defineBufferSuite } from './suites/buffers.js';
export { badArgumentRows, detachedView, rowName, type Expect, type Row } from './bad-arguments/rows.js';
export { runBadArgumentRow, runBadArgumentRows } from './bad-arguments/run.js';
export { createMatrixContext, FIXTURE, type Area, type MatrixContext } from './bad-arguments/context.js';
