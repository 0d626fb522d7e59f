/**
 * The completion port as JS sees it, written once for every backend. A
 * backend supplies a {@link PortDriver}: the native core (iocp, io_uring,
 * threadpool) or the portable one. This class adds what is the same
 * everywhere: validation, posting in batches, delivery to a callback or an
 * async iterator, backpressure, keep-alive, close and stats.
 */
import { availableParallelism } from 'node:os';

import type { BackendName } from './backend-names.js';
import { BATCH_FIELDS, KIND_LIMIT, OP_FLAGS, OP_RECORD_MORE, OpKinds, RECORD_WORDS } from './generated/op-table.js';
import {
  AbortError,
  bufferDetached,
  codedError,
  errnoName,
  errnoOf,
  ErrorCodes,
  invalidArgType,
  invalidArgValue,
  systemError,
} from './errors.js';
import {
  isDetached,
  validateAbortSignal,
  validateBufferSource,
  validateFunction,
  validateInteger,
  validateObject,
} from './validate.js';

/** Doubles per completion record in the shared ring: key, bytes, token, status (from the op table). */
export { RECORD_WORDS };
/** Completions the ring holds; one drain moves at most this many. */
export const RING_CAPACITY = 4096;
/** Largest key a completion can carry (keys are non-negative safe integers). */
export const MAX_KEY = Number.MAX_SAFE_INTEGER;
/** Largest byte count a completion can carry (a DWORD, as in Win32). */
export const MAX_BYTES = 0xffff_ffff;

const STAGING_CAPACITY = 4096;
const ITERATOR_HIGH_WATER = 65_536;

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

/** Single-buffer ops staged for one native call at most. */
const OP_STAGING_CAPACITY = 1024;
/** Ops of a kind above this are not known to the native core. */
const MAX_OP_KIND = KIND_LIMIT - 1;
/** The status of an op the port failed itself (the error travels beside it). */
const REFUSED_STATUS = errnoOf('EINVAL') ?? -22;
const OP_FLAG_MULTISHOT = OP_FLAGS.multishot;

// What the port keeps per op in flight; `kind` says which of the three.
interface PendingOp {
  kind: 'op';
  callback: OpCallback;
  // The op's memory, referenced until its completion has been drained, so
  // that a garbage collection in flight cannot free it.
  hold: Uint8Array | Uint8Array[] | undefined;
  // A single buffer's byteLength when the op was called: less at its
  // completion means it was detached (or shrunk) in flight.
  length: number;
}

/**
 * An op started by runOp: the promise's settle functions and what an error
 * needs, in one record instead of a callback closure per op.
 */
interface PendingPromiseOp {
  kind: 'promise';
  resolve: (result: number) => void;
  reject: (error: Error) => void;
  details: OpErrorDetails;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  settled: (() => void) | undefined;
  hold: Uint8Array | Uint8Array[] | undefined;
  length: number;
}

/**
 * Every op of one submitOps batch maps to one of these: op `firstId + i`
 * is the batch's op i, and `holds[i]` its memory, referenced until its
 * completion has been drained. One object per batch, not per op, keeps a
 * hot batch loop's garbage down.
 */
interface PendingBatch {
  kind: 'batch';
  callback: BatchOpCallback;
  firstId: number;
  holds: Array<Uint8Array | null>;
}

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

const asyncDispose: typeof Symbol.asyncDispose =
  (Symbol as { asyncDispose?: typeof Symbol.asyncDispose }).asyncDispose ??
  (Symbol.for('nodejs.asyncDispose') as typeof Symbol.asyncDispose);

type State = 'open' | 'closing' | 'closed';

/**
 * A completion port: completions posted by anyone (this thread, native
 * threads, finished I/O) reach JS in batches, one wake-up per drain.
 *
 * Packages export it bound to a backend; see `@overlapped/iocp` and
 * `@overlapped/portable`.
 *
 * @example
 * ```ts
 * import { CompletionPort } from '@overlapped/iocp';
 *
 * const port = new CompletionPort({ onCompletion: (c) => console.log(c.key, c.bytes, c.value) });
 * port.post(7, 512, 'hello');
 * await port.close(); // delivers what was posted, then stops the workers
 * ```
 */
export class CompletionPort<V = unknown> implements AsyncIterable<Completion<V>> {
  /** The backend serving this port. */
  readonly backend: BackendName;
  /** Worker threads. */
  readonly threads: number;
  /** At most this many workers run completions at once. */
  readonly concurrency: number;

  readonly #driver: PortDriver;
  readonly #capabilities: PortCapabilities;
  readonly #ring: Float64Array;
  readonly #callback: ((completion: Completion<V>) => void) | undefined;
  readonly #staging = new Float64Array(STAGING_CAPACITY * 3);
  #staged = 0;
  #flushQueued = false;
  readonly #values = new Map<number, V>();
  #nextToken = 1;
  #completed = 0;
  #referenced = false;
  #draining = false;
  #state: State = 'open';
  #closed: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;
  readonly #buffer: Array<Completion<V>> = [];
  #bufferHead = 0;
  readonly #waiters: Array<(result: IteratorResult<Completion<V>>) => void> = [];
  readonly #ops = new Map<number, PendingOp | PendingBatch | PendingPromiseOp>();
  readonly #opStaging = new Float64Array(OP_STAGING_CAPACITY * BATCH_FIELDS);
  readonly #opBuffers = new Array<Uint8Array | null>(OP_STAGING_CAPACITY).fill(null);
  // Each staged buffer's byteLength when its op was called.
  readonly #opLengths = new Float64Array(OP_STAGING_CAPACITY);
  #stagedOps = 0;
  #opFlushQueued = false;
  #nextOpId = 1;

  /**
   * Creates the port and its workers. Backend packages call this with their
   * driver; users call their package's `CompletionPort` constructor.
   */
  constructor(backend: BackendName, factory: DriverFactory, options: PortOptions<V> = {}) {
    validateObject(options, 'options', true);
    const threads = options.threads ?? availableParallelism();
    validateInteger(threads, 'options.threads', 1, 1024);
    const concurrency = options.concurrency ?? threads;
    validateInteger(concurrency, 'options.concurrency', 1, 1024);
    if (options.onCompletion !== undefined) validateFunction(options.onCompletion, 'options.onCompletion');
    this.backend = backend;
    this.threads = threads;
    this.concurrency = concurrency;
    this.#callback = options.onCompletion;
    const made = factory({ threads, concurrency, ringCapacity: RING_CAPACITY }, this.#wake);
    this.#driver = made.driver;
    this.#capabilities = { backend, ...made.capabilities };
    this.#ring = new Float64Array(this.#driver.ring);
  }

  /**
   * Queues a completion of the caller's own (PostQueuedCompletionStatus).
   * It reaches the callback or the iterator exactly once, after every
   * completion this thread posted before it.
   *
   * @param key - a non-negative safe integer
   * @param bytes - 0 to 2^32 - 1
   * @param value - any value; handed back untouched
   * @throws `ERR_PORT_CLOSED` once `close()` was called; `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for bad arguments
   *
   * @example
   * ```ts
   * port.post(1, 0, { job: 'resize', id: 42 });
   * ```
   */
  post(key: number, bytes = 0, value?: V): void {
    if (this.#state !== 'open') throw portClosed('post');
    validateInteger(key, 'key', 0, MAX_KEY);
    validateInteger(bytes, 'bytes', 0, MAX_BYTES);
    let token = 0;
    if (value !== undefined) {
      token = this.#nextToken++;
      this.#values.set(token, value);
    }
    const at = this.#staged * 3;
    this.#staging[at] = key;
    this.#staging[at + 1] = bytes;
    this.#staging[at + 2] = token;
    this.#staged++;
    if (!this.#referenced) this.#setRef(true);
    if (this.#staged === STAGING_CAPACITY) {
      this.#flush();
    } else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flush);
    }
  }

  /**
   * Starts `threads` native threads that each post `count` completions, the
   * way another thread of the process would. Poster `i` uses key `key + i`
   * and bytes = its sequence number (0, 1, 2, ...), so order per poster can
   * be checked. Each poster posts in batches of up to 64 and waits while
   * 65,536 completions are undelivered, so memory stays bounded (65,536 + 64
   * per poster) however slowly JS consumes.
   *
   * @throws `ERR_NOT_SUPPORTED` where `capabilities().nativePosters` is false
   *
   * @example
   * ```ts
   * port.postFromNativeThreads({ threads: 4, count: 250_000, key: 100 });
   * ```
   */
  postFromNativeThreads(options: { threads: number; count: number; key?: number }): void {
    if (this.#state !== 'open') throw portClosed('postFromNativeThreads');
    validateObject(options, 'options');
    validateInteger(options.threads, 'options.threads', 1, 64);
    validateInteger(options.count, 'options.count', 0, 2 ** 40);
    const key = options.key ?? 0;
    validateInteger(key, 'options.key', 0, MAX_KEY - options.threads);
    if (!this.#capabilities.nativePosters || !this.#driver.startPosters) {
      throw codedError(ErrorCodes.NOT_SUPPORTED, `The ${this.backend} backend has no native threads to post from`);
    }
    this.#setRef(true);
    this.#driver.startPosters(options.threads, options.count, key);
  }

  /**
   * Starts an I/O op on this port's backend and calls `callback` once when
   * it completes: on success, error or cancel. The op's buffers stay
   * referenced until then. Returns the op's token, for {@link cancelOp}.
   * This is the layer the file and socket packages build on.
   *
   * A multishot op ({@link OpRequest.multishot}, where
   * {@link supportsMultishot} says so) calls `callback(status, result,
   * true)` for every completion but its last, which comes with `more`
   * false: after an error, a cancel, or when the kernel ended it. It stays
   * in flight (counted in {@link opsInFlight}) until then.
   *
   * @throws `ERR_PORT_CLOSED` once `close()` was called; `ERR_NOT_SUPPORTED` without native ops
   *
   * @example
   * ```ts
   * const token = port.submitOp({ kind: OpKinds.nop }, (status, result) => console.log(status, result));
   * port.cancelOp(token); // only asks: the callback still runs, once
   *
   * // One accept op that yields every connection where the kernel can.
   * const multishot = port.supportsMultishot(SocketOpKinds.accept);
   * port.submitOp({ kind: SocketOpKinds.accept, handle: listener, multishot }, (status, socket, more) => {
   *   if (status === 0) serve(socket);
   *   if (!more) rearm();
   * });
   * ```
   */
  submitOp(request: OpRequest, callback: OpCallback): number {
    validateOpRequest(request, 'request');
    validateFunction(callback, 'callback');
    return this.#startOp(request, { kind: 'op', callback, hold: undefined, length: 0 });
  }

  // Starts one op (validated) and records `entry` for its completion(s).
  #startOp(request: OpRequest, entry: PendingOp | PendingPromiseOp): number {
    if (this.#state !== 'open') throw portClosed('submitOp');
    const submit = this.#driver.submit;
    if (!this.#capabilities.ops || !submit) {
      throw codedError(ErrorCodes.NOT_SUPPORTED, `The ${this.backend} backend runs no native ops`);
    }
    const id = this.#nextOpId++;
    const token = -id;
    const buffers = request.buffers ?? null;
    const flags = request.multishot === true ? OP_FLAG_MULTISHOT : 0;
    entry.hold = buffers ?? undefined;
    entry.length = buffers === null || Array.isArray(buffers) ? 0 : buffers.byteLength;
    // Recorded first: a flush that the staging below sets off may have to
    // fail this very op.
    this.#ops.set(id, entry);
    if (this.#driver.submitBatch && request.path === undefined && request.length === undefined && flags === 0 && !Array.isArray(buffers)) {
      // Single-buffer ops started in the same turn go to the native core
      // together, in one call (and one kernel submission on io_uring).
      this.#stageOp(request, token, buffers);
    } else {
      this.#flushOps();
      try {
        submit.call(
          this.#driver,
          request.kind,
          token,
          request.key ?? 0,
          request.handle ?? -1,
          request.offset ?? -1,
          request.arg ?? 0,
          buffers,
          request.path ?? null,
          flags,
          request.length ?? 0,
        );
      } catch (error) {
        this.#ops.delete(id);
        throw error;
      }
    }
    if (!this.#referenced) this.#setRef(true);
    return token;
  }

  #stageOp(request: OpRequest, token: number, buffer: Uint8Array | null): void {
    const staged = this.#stagedOps;
    const at = staged * BATCH_FIELDS;
    const fields = this.#opStaging;
    fields[at] = request.kind;
    fields[at + 1] = token;
    fields[at + 2] = request.key ?? 0;
    fields[at + 3] = request.handle ?? -1;
    fields[at + 4] = request.offset ?? -1;
    fields[at + 5] = request.arg ?? 0;
    this.#opBuffers[staged] = buffer;
    this.#opLengths[staged] = buffer === null ? 0 : buffer.byteLength;
    this.#stagedOps = staged + 1;
    if (this.#stagedOps === OP_STAGING_CAPACITY) {
      this.#flushOps();
    } else if (!this.#opFlushQueued) {
      this.#opFlushQueued = true;
      queueMicrotask(this.#flushOps);
    }
  }

  // Hands the staged ops to the native core; runs before anything that
  // must see them there (an unstaged op, a cancel, close) and at the end
  // of the turn they were started in. It never throws: an op that cannot
  // start fails alone, with a typed error, and the others go ahead.
  readonly #flushOps = (): void => {
    this.#opFlushQueued = false;
    const count = this.#stagedOps;
    if (count === 0) return;
    this.#stagedOps = 0;
    const fields = this.#opStaging;
    const buffers = this.#opBuffers;
    const lengths = this.#opLengths;
    // A buffer detached (transferred) since its op was called would hand
    // the backend no memory, or memory that is no longer the op's: that op
    // fails, and the ones after it move up.
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const buffer = buffers[i] as Uint8Array | null;
      if (buffer !== null && buffer.byteLength !== lengths[i]) {
        this.#failOp(-(fields[i * BATCH_FIELDS + 1] as number), bufferDetached('buffer', 'before the op was submitted'));
        continue;
      }
      if (kept !== i) {
        fields.copyWithin(kept * BATCH_FIELDS, i * BATCH_FIELDS, (i + 1) * BATCH_FIELDS);
        buffers[kept] = buffer;
      }
      kept++;
    }
    try {
      if (kept === 0) return;
      const refused = this.#driver.submitBatch?.(fields, kept, buffers);
      if (refused) {
        for (const [index, code, message] of refused) {
          this.#failOp(-(fields[index * BATCH_FIELDS + 1] as number), refusedError(code, message));
        }
      }
    } catch (error) {
      // The native core refused the call as a whole (a port shut down
      // under it): each op fails with that error, none is left waiting.
      for (let i = 0; i < kept; i++) this.#failOp(-(fields[i * BATCH_FIELDS + 1] as number), error as Error);
    } finally {
      buffers.fill(null, 0, count);
    }
  };

  // Fails an op that never reached the backend, or whose buffer went away
  // in flight: it leaves the ops in flight now, and its callback or promise
  // gets `error` on a later microtask (never inside the call that staged
  // or flushed it).
  #failOp(id: number, error: Error): void {
    const op = this.#ops.get(id);
    if (op === undefined) return;
    this.#ops.delete(id);
    queueMicrotask(() => {
      this.#settleFailed(op, id, error);
      if (!this.#draining) this.#afterDrain();
    });
  }

  #settleFailed(op: PendingOp | PendingBatch | PendingPromiseOp, id: number, error: Error): void {
    if (op.kind === 'promise') {
      if (op.onAbort) op.signal?.removeEventListener('abort', op.onAbort);
      op.settled?.();
      op.reject(error);
      return;
    }
    try {
      if (op.kind === 'op') op.callback(REFUSED_STATUS, 0, false, error);
      else op.callback(id - op.firstId, REFUSED_STATUS, 0, error);
    } catch (thrown) {
      queueMicrotask(() => {
        throw thrown;
      });
    }
  }

  /**
   * Starts many single-buffer ops with one call into the native core (one
   * kernel submission on io_uring) and calls `callback(index, status,
   * result)` once per op as each completes. Paths are not carried: this is
   * for reads and writes; nor is `multishot` (`ERR_INVALID_ARG_VALUE`). The
   * ops cannot be cancelled one by one; closing the port cancels them.
   *
   * @throws `ERR_PORT_CLOSED` once `close()` was called; `ERR_NOT_SUPPORTED` without native ops
   *
   * @example
   * ```ts
   * port.submitOps(
   *   [{ kind: OpKinds.nop }, { kind: OpKinds.nop }],
   *   (index, status, result) => console.log(index, status, result),
   * );
   * ```
   */
  submitOps(requests: ReadonlyArray<OpRequest>, callback: BatchOpCallback): void {
    if (this.#state !== 'open') throw portClosed('submitOps');
    if (!Array.isArray(requests)) throw invalidArgType('requests', 'an array', requests);
    validateFunction(callback, 'callback');
    const count = requests.length;
    for (let i = 0; i < count; i++) {
      const request: unknown = requests[i];
      validateOpRequest(request, `requests[${i}]`);
      if (request.multishot === true) throw invalidArgValue(`requests[${i}].multishot`, true, 'is not carried by submitOps');
      if (request.path !== undefined) throw invalidArgValue(`requests[${i}].path`, request.path, 'is not carried by submitOps');
      if (Array.isArray(request.buffers) && request.buffers.length > 1) {
        throw invalidArgValue(`requests[${i}].buffers`, request.buffers, 'holds one buffer in submitOps');
      }
    }
    const submit = this.#driver.submit;
    if (!this.#capabilities.ops || !submit) {
      throw codedError(ErrorCodes.NOT_SUPPORTED, `The ${this.backend} backend runs no native ops`);
    }
    if (count === 0) return;
    const submitBatch = this.#driver.submitBatch;
    if (!submitBatch) {
      for (let i = 0; i < count; i++) {
        this.submitOp(requests[i] as OpRequest, (status, result) => callback(i, status, result));
      }
      return;
    }
    this.#flushOps();
    // The staging arrays are empty after the flush: a batch that fits uses
    // them rather than allocating its own.
    const staged = count <= OP_STAGING_CAPACITY;
    const fields = staged ? this.#opStaging : new Float64Array(count * BATCH_FIELDS);
    const buffers = staged ? this.#opBuffers : new Array<Uint8Array | null>(count);
    const firstId = this.#nextOpId;
    for (let i = 0; i < count; i++) {
      const request = requests[i] as OpRequest;
      const at = i * BATCH_FIELDS;
      fields[at] = request.kind;
      fields[at + 1] = -(firstId + i);
      fields[at + 2] = request.key ?? 0;
      fields[at + 3] = request.handle ?? -1;
      fields[at + 4] = request.offset ?? -1;
      fields[at + 5] = request.arg ?? 0;
      const buffer = request.buffers;
      buffers[i] = buffer === undefined ? null : Array.isArray(buffer) ? (buffer[0] ?? null) : buffer;
    }
    // `together`: the caller waits for the whole batch, so a backend may
    // complete its ops together (the pool does).
    try {
      const refused = submitBatch.call(this.#driver, fields, count, buffers, true);
      this.#nextOpId += count;
      const batch: PendingBatch = { kind: 'batch', callback, firstId, holds: staged ? buffers.slice(0, count) : buffers };
      for (let i = 0; i < count; i++) this.#ops.set(firstId + i, batch);
      // An op the native core could not start fails alone; the others run.
      if (refused) for (const [index, code, message] of refused) this.#failOp(firstId + index, refusedError(code, message));
    } finally {
      if (staged) buffers.fill(null, 0, count);
    }
    if (!this.#referenced) this.#setRef(true);
  }

  /**
   * Runs an op and resolves with its result (bytes, or a new handle), or
   * rejects with a system error described by `details`, or with an
   * `AbortError` when `signal` aborted it (or the port closed under it).
   * `settled`, if given, is called once when the op completes, just before
   * the promise settles, or before a promise that rejects at once is
   * returned (a caller that counts ops in flight needs no `then` of its
   * own); not when runOp throws an argument error. `details` is kept by
   * reference until then and only read; it may be shared between ops.
   *
   * @example
   * ```ts
   * const result = await port.runOp({ kind: OpKinds.nop }, { syscall: 'nop' }, AbortSignal.timeout(1000));
   * let inFlight = 1;
   * await port.runOp({ kind: OpKinds.nop }, { syscall: 'nop' }, undefined, () => inFlight--);
   * ```
   */
  runOp(request: OpRequest, details: OpErrorDetails, signal?: AbortSignal, settled?: () => void): Promise<number> {
    validateOpRequest(request, 'request');
    if (details === null || typeof details !== 'object') throw invalidArgType('details', 'of type object', details);
    validateAbortSignal(signal, 'options.signal');
    if (settled !== undefined) validateFunction(settled, 'settled');
    // A promise settles once: a multishot op's later completions (accepted
    // sockets) would have nowhere to go.
    if (request.multishot === true) throw invalidArgValue('request.multishot', true, 'needs submitOp');
    if (signal?.aborted) {
      settled?.();
      return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    }
    let entry: PendingPromiseOp | undefined;
    const promise = new Promise<number>((resolve, reject) => {
      entry = { kind: 'promise', resolve, reject, details, signal, onAbort: undefined, settled, hold: undefined, length: 0 };
    });
    const op = entry as PendingPromiseOp;
    let token: number;
    try {
      token = this.#startOp(request, op);
    } catch (error) {
      // As from a promise executor: a port that cannot start the op rejects.
      settled?.();
      return Promise.reject(error);
    }
    if (signal) {
      op.onAbort = () => this.cancelOp(token);
      signal.addEventListener('abort', op.onAbort, { once: true });
    }
    return promise;
  }

  // Settles a runOp promise.
  #settlePromiseOp(op: PendingPromiseOp, status: number, result: number): void {
    if (op.onAbort) op.signal?.removeEventListener('abort', op.onAbort);
    op.settled?.();
    if (status === 0) {
      op.resolve(result);
    } else if (errnoName(status) === 'ECANCELED') {
      op.reject(new AbortError(undefined, { cause: op.signal?.aborted ? op.signal.reason : op.details.syscall }));
    } else {
      op.reject(systemError({ errno: status, ...op.details, rawCode: result || undefined }));
    }
  }

  /**
   * Asks the backend to cancel an op (CancelIoEx, IORING_OP_ASYNC_CANCEL).
   * Only asks: the op's callback still runs once, with ECANCELED if the
   * cancel won, or with its own result if it finished first. Returns
   * whether the op was still in flight.
   *
   * @throws `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for a token that is not a negative safe integer
   *
   * @example
   * ```ts
   * const token = port.submitOp(request, onDone);
   * port.cancelOp(token);
   * ```
   */
  cancelOp(token: number): boolean {
    validateInteger(token, 'token', -Number.MAX_SAFE_INTEGER, -1);
    if (!this.#ops.has(-token) || this.#state === 'closed') return false;
    this.#flushOps();
    return this.#driver.cancel?.(token) ?? false;
  }

  /**
   * Makes `handle`'s I/O complete on this port (CreateIoCompletionPort on
   * Windows; nothing to do on the other backends). Throws a system error.
   *
   * @example
   * ```ts
   * port.associate(fd, 1, { syscall: 'open', path });
   * ```
   */
  associate(handle: number, key: number, details: OpErrorDetails): void {
    if (this.#state !== 'open') throw portClosed('associate');
    validateInteger(handle, 'handle', 0, Number.MAX_SAFE_INTEGER);
    validateInteger(key, 'key', 0, MAX_KEY);
    validateObject(details, 'details');
    const result = this.#driver.associate?.(handle, key) ?? 0;
    if (result !== 0) throw systemError({ errno: result[0], rawCode: result[1], ...details });
  }

  /** Ops submitted and not yet completed (a multishot op counts once, until its last completion). */
  get opsInFlight(): number {
    return this.#ops.size;
  }

  /**
   * Whether an op of `kind` submitted with `multishot: true` completes
   * several times on this backend: today the socket accept on io_uring
   * when the kernel has IORING_ACCEPT_MULTISHOT (Linux 5.19+). Elsewhere
   * the flag is ignored and the op completes once.
   *
   * @example
   * ```ts
   * const depth = port.supportsMultishot(SocketOpKinds.accept) ? 1 : 4;
   * ```
   */
  supportsMultishot(kind: number): boolean {
    validateInteger(kind, 'kind', 0, 127);
    if (this.#state !== 'open' || !this.#capabilities.ops) return false;
    return this.#driver.supportsMultishot?.(kind) ?? false;
  }

  /**
   * Counters that add up: `posted === completed + inFlight`.
   *
   * @example
   * ```ts
   * const { posted, completed, inFlight } = port.stats();
   * ```
   */
  stats(): PortStats {
    const counters = this.#driver.counters();
    const posted = counters.posted + this.#staged;
    return {
      backend: this.backend,
      threads: this.threads,
      concurrency: this.concurrency,
      posted,
      completed: this.#completed,
      inFlight: posted - this.#completed,
      buffered: this.#buffer.length - this.#bufferHead,
      peakRunning: counters.peakRunning,
      peakQueued: counters.peakQueued,
    };
  }

  /**
   * What the backend serving this port supports.
   *
   * @example
   * ```ts
   * if (port.capabilities().nativePosters) port.postFromNativeThreads({ threads: 2, count: 10 });
   * ```
   */
  capabilities(): PortCapabilities {
    return { ...this.#capabilities };
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#state !== 'open';
  }

  /**
   * Stops accepting posts and native posters, delivers every completion
   * already posted, then stops the workers. Idempotent: every call returns
   * the same promise. Iterators end after the last buffered completion.
   *
   * @example
   * ```ts
   * port.post(1);
   * await port.close(); // the completion for key 1 was delivered before this resolves
   * ```
   */
  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    this.#flushOps();
    this.#state = 'closing';
    this.#flush();
    this.#driver.stopPosters();
    // Ops in flight are cancelled; each still completes (ECANCELED, or its
    // own result if it finished first) before the port is destroyed.
    for (const id of this.#ops.keys()) this.#driver.cancel?.(-id);
    this.#closed = new Promise<void>((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#setRef(true);
    queueMicrotask(this.#wake);
    return this.#closed;
  }

  /** `await using port = new CompletionPort()` closes it on scope exit. */
  [asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Reads completions in order per poster. Only for ports made without
   * `onCompletion`. Breaking out of the loop leaves the port open.
   *
   * @example
   * ```ts
   * const port = new CompletionPort();
   * port.post(1, 10);
   * for await (const completion of port) {
   *   console.log(completion.key, completion.bytes);
   *   break;
   * }
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<Completion<V>> {
    if (this.#callback) {
      throw codedError(ErrorCodes.INVALID_STATE, 'This port delivers to its onCompletion callback; it cannot be iterated');
    }
    return {
      next: () => this.#next(),
      return: async () => ({ done: true, value: undefined }),
    };
  }

  #next(): Promise<IteratorResult<Completion<V>>> {
    if (this.#bufferHead < this.#buffer.length) {
      const value = this.#buffer[this.#bufferHead] as Completion<V>;
      this.#buffer[this.#bufferHead++] = undefined as unknown as Completion<V>;
      if (this.#bufferHead === this.#buffer.length) {
        this.#buffer.length = 0;
        this.#bufferHead = 0;
      } else if (this.#bufferHead > 4096 && this.#bufferHead * 2 > this.#buffer.length) {
        this.#buffer.splice(0, this.#bufferHead);
        this.#bufferHead = 0;
      }
      if (this.#buffer.length - this.#bufferHead === ITERATOR_HIGH_WATER / 2) queueMicrotask(this.#wake);
      return Promise.resolve({ done: false, value });
    }
    if (this.#state === 'closed') return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    if (this.#staged === 0) return;
    const count = this.#staged;
    this.#staged = 0;
    this.#driver.postBatch(this.#staging, count);
  };

  #setRef(ref: boolean): void {
    if (this.#referenced === ref || this.#state === 'closed') return;
    this.#referenced = ref;
    this.#driver.setRef(ref);
  }

  // Runs on the JS thread when completions wait: drains the shared ring in
  // batches until it is empty, or until an unread iterator buffer is full.
  readonly #wake = (): void => {
    if (this.#draining || this.#state === 'closed') return;
    this.#draining = true;
    let firstError: unknown;
    let failed = false;
    try {
      for (;;) {
        if (!this.#callback && this.#state === 'open' && this.#buffer.length - this.#bufferHead >= ITERATOR_HIGH_WATER) {
          break;
        }
        const count = this.#driver.drain();
        if (count === 0) break;
        const ring = this.#ring;
        for (let i = 0; i < count; i++) {
          const at = i * RECORD_WORDS;
          const token = ring[at + 2] as number;
          if (token < 0) {
            this.#completeOp(-token, ring[at + 3] as number, ring[at + 1] as number, ring[at] === OP_RECORD_MORE);
            continue;
          }
          let value: V | undefined;
          if (token !== 0) {
            value = this.#values.get(token);
            this.#values.delete(token);
          }
          this.#completed++;
          const completion: Completion<V> = { key: ring[at] as number, bytes: ring[at + 1] as number, value };
          if (this.#callback) {
            // A throwing callback must not lose the rest of the batch: the
            // first error is rethrown as an uncaught exception afterwards.
            try {
              this.#callback(completion);
            } catch (error) {
              if (!failed) {
                failed = true;
                firstError = error;
              }
            }
          } else {
            const waiter = this.#waiters.shift();
            if (waiter) waiter({ done: false, value: completion });
            else this.#buffer.push(completion);
          }
        }
        if (count < RING_CAPACITY) break;
      }
    } finally {
      this.#draining = false;
    }
    this.#afterDrain();
    if (failed) {
      queueMicrotask(() => {
        throw firstError;
      });
    }
  };

  #completeOp(id: number, status: number, result: number, more: boolean): void {
    const op = this.#ops.get(id);
    if (!op) return;
    // A multishot op stays in flight, its buffers held, until its last.
    if (!more) this.#ops.delete(id);
    // A buffer detached while its op was in flight: the bytes went to (or
    // came from) memory that is no longer the caller's, so they are not
    // reported as data.
    if (status === 0 && lostMemory(op, id)) {
      this.#settleFailed(op, id, bufferDetached('buffer', 'while the op was in flight; what it transferred is lost'));
      return;
    }
    try {
      if (op.kind === 'op') op.callback(status, result, more);
      else if (op.kind === 'promise') this.#settlePromiseOp(op, status, result);
      else op.callback(id - op.firstId, status, result);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  #afterDrain(): void {
    if (this.#staged > 0 || this.#stagedOps > 0 || this.#driver.busy()) return;
    if (this.#state === 'closing') {
      this.#state = 'closed';
      this.#driver.destroy();
      this.#referenced = false;
      for (const waiter of this.#waiters.splice(0)) waiter({ done: true, value: undefined });
      this.#resolveClosed?.();
      return;
    }
    this.#setRef(false);
  }
}

// Whether the memory of a finished op is gone: a single buffer shorter
// than when the op was called, or a view in a list (or a batch) whose
// ArrayBuffer is detached. Cheap for the usual op: one comparison.
function lostMemory(op: PendingOp | PendingBatch | PendingPromiseOp, id: number): boolean {
  if (op.kind === 'batch') {
    const hold = op.holds[id - op.firstId];
    return hold !== null && hold !== undefined && hold.byteLength === 0 && isDetached(hold);
  }
  const hold = op.hold;
  if (hold === undefined) return false;
  if (!Array.isArray(hold)) return hold.byteLength < op.length;
  for (const view of hold) if (view.byteLength === 0 && isDetached(view)) return true;
  return false;
}

// Checks an op request before anything is staged; names are made only
// when a check fails (the read path runs this per op).
function validateOpRequest(request: unknown, name: string): asserts request is OpRequest {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) throw invalidArgType(name, 'of type object', request);
  const { kind, key, handle, offset, arg, length, buffers, path, multishot } = request as OpRequest;
  if (!isIntegerIn(kind, 0, MAX_OP_KIND)) validateInteger(kind, `${name}.kind`, 0, MAX_OP_KIND);
  if (key !== undefined && !isIntegerIn(key, 0, MAX_KEY)) validateInteger(key, `${name}.key`, 0, MAX_KEY);
  if (handle !== undefined && !isIntegerIn(handle, -1, Number.MAX_SAFE_INTEGER)) {
    validateInteger(handle, `${name}.handle`, -1, Number.MAX_SAFE_INTEGER);
  }
  if (offset !== undefined && !isIntegerIn(offset, -1, Number.MAX_SAFE_INTEGER)) {
    validateInteger(offset, `${name}.offset`, -1, Number.MAX_SAFE_INTEGER);
  }
  if (arg !== undefined && !isIntegerIn(arg, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) validateInteger(arg, `${name}.arg`);
  if (length !== undefined && !isIntegerIn(length, 0, Number.MAX_SAFE_INTEGER)) validateInteger(length, `${name}.length`, 0);
  if (buffers !== undefined) {
    if (Array.isArray(buffers)) {
      for (let i = 0; i < buffers.length; i++) validateBufferSource(buffers[i], `${name}.buffers[${i}]`);
    } else if (!ArrayBuffer.isView(buffers) || buffers.byteLength === 0) {
      validateBufferSource(buffers, `${name}.buffers`);
    }
  }
  if (path !== undefined && (typeof path !== 'string' || path.includes('\u0000'))) {
    if (typeof path !== 'string') throw invalidArgType(`${name}.path`, 'of type string', path);
    throw invalidArgValue(`${name}.path`, path, 'must be a string without null bytes');
  }
  if (multishot !== undefined && typeof multishot !== 'boolean') throw invalidArgType(`${name}.multishot`, 'of type boolean', multishot);
}

function isIntegerIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

// The error of an op the native core refused ([index, code, message]).
function refusedError(code: string, message: string): Error {
  return codedError(code, message, undefined, TypeError);
}

function portClosed(operation: string): Error {
  return codedError(ErrorCodes.PORT_CLOSED, `Cannot ${operation}: the port is closed`);
}
