/**
 * @overlapped/common: the backend contract, Node-shaped errors, argument
 * validation, backend selection and the completion-port core shared by every
 * backend. Pure TypeScript, no dependencies.
 *
 * @packageDocumentation
 */
export { BACKEND_NAMES, isBackendName } from './backend-names.js';
export type { BackendName, BackendRequest, NativeBackendName } from './backend-names.js';
export {
  AbortError,
  badPort,
  bufferDetached,
  codedError,
  ErrorCodes,
  errnoName,
  errnoOf,
  invalidArgType,
  invalidArgValue,
  isOverlappedError,
  outOfRange,
  systemError,
} from './errors.js';
export type { ErrorCode, SystemError, SystemErrorDetails } from './errors.js';
export {
  isDetached,
  validateAbortSignal,
  validateBufferSource,
  validateFunction,
  validateInteger,
  validateObject,
  validateOneOf,
} from './validate.js';
export { envFlag } from './env.js';
export { resolveBackendRequest, selectBackend } from './select.js';
export type { BackendCandidate, BackendSelection, ProbeOutcome } from './select.js';
export { OpGroup } from './op-group.js';
export type { OpGroupOptions } from './op-group.js';
export type { LocalOpRunner, LocalOpSettle } from './port-ops.js';
export { CompletionPort } from './port.js';
export { MAX_BYTES, MAX_KEY, OpKinds, RECORD_WORDS, RING_CAPACITY } from './port-contract.js';
export { DEFAULT_TRAITS, OP_CONSTANTS, OPS } from './op-table.js';
export type { OpDefinition, OpLayout, OpTraits } from './op-table.js';
export {
  ACCEPT_ADDRESS_BYTES,
  ACCEPT_ADDRESS_ENTRY_BYTES,
  BATCH_FIELDS,
  DISPOSITIONS,
  FileOpKinds,
  FORWARD_FAILED_SIDE,
  FORWARD_STATS_BYTES,
  KIND_LIMIT,
  MAX_TRANSFER,
  OP_DESCRIPTIONS,
  OP_FLAGS,
  OP_RECORD_FINAL,
  OP_RECORD_MORE,
  OP_TABLE_ABI_ID,
  OPEN_BITS,
  SEND_PROGRESS_BYTES,
  SHARE_BITS,
  SHUTDOWN_HOW,
  SocketOpKinds,
  SOCKET_OPTIONS,
  STAT_FIELDS,
} from './generated/op-table.js';
export type {
  BatchOpCallback,
  Completion,
  DriverCounters,
  DriverFactory,
  OpCallback,
  OpErrorDetails,
  OpRequest,
  PortCapabilities,
  PortDriver,
  PortOptions,
  PortStats,
} from './port-contract.js';
