/**
 * The completion port's contract: what a backend implements
 * ({@link PortDriver}), the records and encodings it shares with the native
 * core, and the option and result types of {@link CompletionPort}. Types and
 * constants only; the port itself is port.ts.
 */
import type { BackendName } from './backend-names.js';
import { BATCH_FIELDS, KIND_LIMIT, OP_FLAGS, OP_RECORD_MORE, OpKinds, RECORD_WORDS } from './generated/op-table.js';
// For TSDoc links only.
import type { CompletionPort } from './port.js';

/** Doubles per completion record in the shared ring: key, bytes, token, status (from the op table). */
export { RECORD_WORDS };
/** Completions the ring holds; one drain moves at most this many. */
export const RING_CAPACITY = 4096;
/** Largest key a completion can carry (keys are non-negative safe integers). */
export const MAX_KEY = Number.MAX_SAFE_INTEGER;
/** Largest byte count a completion can carry (a DWORD, as in Win32). */
export const MAX_BYTES = 0xffff_ffff;

/** One completion. */
export interface Completion<V = unknown> {
  /** The completion key given to {@link CompletionPort.post} (or the handle's key). */
  readonly key: number;
  /** Bytes transferred: what the poster said, or what an op moved. */
  readonly bytes: number;
  /** The value given to {@link CompletionPort.post}, if any. */
  readonly value: V | undefined;
}

/** Options of a completion port. */
export interface PortOptions<V = unknown> {
  /** Worker threads, created up front. Default: `os.availableParallelism()`. */
  threads?: number;
  /** At most this many workers run completions at once. Default: `threads`. */
  concurrency?: number;
  /**
   * Called once per completion, in order per poster. Without it, completions
   * are read with `for await (const c of port)`.
   */
  onCompletion?: (completion: Completion<V>) => void;
}

/** Counters of a port. `posted === completed + inFlight` always holds. */
export interface PortStats {
  backend: BackendName;
  threads: number;
  concurrency: number;
  /** Completions posted (from JS and native threads) and accepted. */
  posted: number;
  /** Completions handed to JS (to the callback, or buffered for the iterator). */
  completed: number;
  /** Posted, not yet handed to JS. */
  inFlight: number;
  /** Handed to JS, waiting in the iterator's buffer. */
  buffered: number;
  /** Most workers seen running completions at once (never above `concurrency`). */
  peakRunning: number;
  /** Most completions seen queued natively for JS at once. */
  peakQueued: number;
}

/**
 * Generic op kinds (the op table's; `FileOpKinds` and `SocketOpKinds` hold
 * the file kinds, 1-63, and the socket kinds, 64-127).
 */
export { OpKinds };

/**
 * One I/O operation for {@link CompletionPort.submitOp}. Every field is
 * checked before anything is staged (`ERR_INVALID_ARG_TYPE`,
 * `ERR_OUT_OF_RANGE`, `ERR_INVALID_ARG_VALUE`; `ERR_INVALID_STATE` for a
 * detached buffer).
 */
export interface OpRequest {
  /** An {@link OpKinds} value: an integer from 0 to 127. */
  kind: number;
  /** The handle's completion key: 0 to 2^53 - 1. */
  key?: number;
  /** fd, HANDLE or SOCKET as a number: -1 (none) to 2^53 - 1. */
  handle?: number;
  /** Absolute position; -1 where none applies. */
  offset?: number;
  /** Kind-specific safe integer. */
  arg?: number;
  /** Kind-specific second integer (a copy's length): 0 to 2^53 - 1. */
  length?: number;
  /**
   * Memory the op reads or writes (views over an ArrayBuffer or a
   * SharedArrayBuffer), referenced until the op completes. The op is
   * given the bytes the view covers when it is called: a view whose
   * ArrayBuffer is detached then, or before the op reaches the backend at
   * the end of the turn, fails that op with `ERR_INVALID_STATE`; one
   * detached while the op is in flight makes it fail the same way when it
   * completes (see the README on buffers transferred mid-op).
   */
  buffers?: Uint8Array | Uint8Array[];
  /** Kind-specific string (the path of an open), without null bytes. */
  path?: string;
  /**
   * Ask for one submission that completes several times (io_uring's
   * multishot accept): the callback runs with `more = true` for each
   * completion but the last, and the op stays in flight (and cancellable)
   * until its last one. Where {@link CompletionPort.supportsMultishot} is
   * false for the kind, the flag is ignored and the op completes once.
   * Only {@link CompletionPort.submitOp} carries it.
   */
  multishot?: boolean;
}

/** How a failed op is described in its error (Node's shape). */
export interface OpErrorDetails {
  syscall: string;
  path?: string;
  dest?: string;
  address?: string;
  port?: number;
}

/**
 * Called when an op completes: `status` 0 and `result` >= 0, or a negative
 * errno and the raw platform code. Once per op, with `more` false; a
 * multishot op's earlier completions come with `more` true. An op the port
 * failed itself (its buffer was detached before it reached the backend or
 * while it was in flight, or the native core refused it) comes with
 * `error`, the typed error to report, and `status` EINVAL.
 */
export type OpCallback = (status: number, result: number, more: boolean, error?: Error) => void;

/**
 * Called once per op of a {@link CompletionPort.submitOps} batch, with the
 * op's index in the batch; `error` as for {@link OpCallback}.
 */
export type BatchOpCallback = (index: number, status: number, result: number, error?: Error) => void;

/** What the running backend supports. */
export interface PortCapabilities {
  backend: BackendName;
  /** Completions are reaped by native worker threads. */
  nativeWorkers: boolean;
  /** Native threads can post ({@link CompletionPort.postFromNativeThreads}). */
  nativePosters: boolean;
  /** The kernel queues completions (IOCP, io_uring), not a user-space queue. */
  kernelQueue: boolean;
  /** I/O ops can be submitted through the port ({@link CompletionPort.submitOp}). */
  ops: boolean;
}

/** Counters a driver keeps. */
export interface DriverCounters {
  posted: number;
  delivered: number;
  peakQueued: number;
  peakRunning: number;
  activePosters: number;
}

/**
 * What a backend implements for {@link CompletionPort}. The native core's
 * `Port` object has exactly this shape.
 */
export interface PortDriver {
  /**
   * Memory of {@link RING_CAPACITY} records that `drain()` fills. An op's
   * record (negative token) carries in its key word 1 when more completions
   * of the op follow (a multishot op), else 0.
   */
  readonly ring: ArrayBuffer;
  /** Posts `count` triples `[key, bytes, token]` from `staging`, in order. */
  postBatch(staging: Float64Array, count: number): void;
  /** Moves up to {@link RING_CAPACITY} completions into `ring`; returns how many. */
  drain(): number;
  /** Whether anything posted is undelivered, or a native poster still runs. */
  busy(): boolean;
  counters(): DriverCounters;
  /** Whether the port keeps the event loop alive. */
  setRef(ref: boolean): void;
  /** Starts native poster threads; absent where the backend has none. */
  startPosters?(threads: number, perThread: number, baseKey: number): void;
  stopPosters(): void;
  /** Stops the workers and frees kernel objects. Called once, when idle. */
  destroy(): void;
  /** Starts one op; its completion arrives with `token` (negative). `flags`: 1 = multishot. Native drivers only. */
  submit?(
    kind: number,
    token: number,
    key: number,
    handle: number,
    offset: number,
    arg: number,
    buffers: Uint8Array | Uint8Array[] | null,
    path: string | null,
    flags: number,
    length: number,
  ): void;
  /**
   * Starts `count` ops with one call: `fields` holds kind, token, key,
   * handle, offset and arg per op; `buffers[i]` is op i's memory or null;
   * `together` says the caller waits for all of them (a batch), so the
   * backend may complete them together. An op that cannot start does not
   * stop the others: it comes back as `[index, code, message]` in the
   * returned list (undefined when every op started), and never completes.
   */
  submitBatch?(
    fields: Float64Array,
    count: number,
    buffers: Array<Uint8Array | null>,
    together?: boolean,
  ): Array<[number, string, string]> | undefined | void;
  /**
   * {@link submitBatch} with op i's memory (or null) as argument `3 + i`
   * instead of in a list: the native core takes each buffer with the
   * call's arguments rather than asking a list for it. Used where present.
   */
  submitSpread?(
    fields: Float64Array,
    count: number,
    together: boolean,
    ...buffers: Array<Uint8Array | null>
  ): Array<[number, string, string]> | undefined | void;
  /** Asks for the op with `token` to be cancelled; true if it was in flight. */
  cancel?(token: number): boolean;
  /** Whether an op of `kind` submitted multishot completes several times on this backend. */
  supportsMultishot?(kind: number): boolean;
  /** Associates a handle with the port: 0, or [negative errno, raw code]. */
  associate?(handle: number, key: number): 0 | [number, number];
}

/** Makes the driver; `wake` must be called (on the JS thread) when completions wait. */
export type DriverFactory = (
  config: { threads: number; concurrency: number; ringCapacity: number },
  wake: () => void,
) => { driver: PortDriver; capabilities: Omit<PortCapabilities, 'backend'> };

// The native core's encoding of ops, from the op table (op-table.ts, and
// the header generated from it). Every TS use of these numbers imports them
// from here or from the generated module.

/** Doubles per op in a driver's `submitBatch` fields: kind, token, key, handle, offset, arg. */
export { BATCH_FIELDS };
/** Ops of a kind above this are not known to the native core. */
export const MAX_OP_KIND = KIND_LIMIT - 1;
/** The multishot flag bit of an op. */
export const OP_FLAG_MULTISHOT = OP_FLAGS.multishot;
/** An op record's key word when more completions of the op follow. */
export { OP_RECORD_MORE };
