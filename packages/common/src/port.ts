/**
 * The completion port as JS sees it, written once for every backend. A
 * backend supplies a {@link PortDriver}: the native core (iocp, io_uring,
 * threadpool) or the portable one. This class validates every call and
 * composes the rest: port-contract.ts (the types and encodings),
 * port-delivery.ts (posts, the ring drain, the iterator, keep-alive, the
 * port's life) and port-ops.ts (the ops in flight).
 */
import { availableParallelism } from 'node:os';

import type { BackendName } from './backend-names.js';
import { codedError, ErrorCodes, invalidArgType, invalidArgValue, systemError } from './errors.js';
import {
  type BatchOpCallback,
  type Completion,
  type DriverFactory,
  MAX_BYTES,
  MAX_KEY,
  MAX_OP_KIND,
  type OpCallback,
  type OpErrorDetails,
  type OpRequest,
  type PortCapabilities,
  type PortDriver,
  type PortOptions,
  type PortStats,
  RING_CAPACITY,
} from './port-contract.js';
import { CompletionDelivery } from './port-delivery.js';
import { OpTable, portClosed } from './port-ops.js';
import {
  validateAbortSignal,
  validateBufferSource,
  validateFunction,
  validateInteger,
  validateObject,
} from './validate.js';

// Set in CompletionPort's static block: how OpGroup reaches a port's ops.
let opTableOf: (port: CompletionPort) => OpTable;

/** The op table of `port`, for op-group.ts (index.ts does not export it). */
export function portOps(port: CompletionPort): OpTable {
  return opTableOf(port);
}

const asyncDispose: typeof Symbol.asyncDispose =
  (Symbol as { asyncDispose?: typeof Symbol.asyncDispose }).asyncDispose ??
  (Symbol.for('nodejs.asyncDispose') as typeof Symbol.asyncDispose);

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
  readonly #delivery: CompletionDelivery<V>;
  readonly #ops: OpTable;

  static {
    opTableOf = (port) => port.#ops;
  }

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
    const delivery = new CompletionDelivery<V>(options.onCompletion);
    const made = factory({ threads, concurrency, ringCapacity: RING_CAPACITY }, delivery.wake);
    this.#driver = made.driver;
    this.#capabilities = { backend, ...made.capabilities };
    this.#ops = new OpTable(made.driver, backend, made.capabilities.ops, delivery);
    delivery.attach(made.driver, this.#ops);
    this.#delivery = delivery;
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
    if (!this.#delivery.open) throw portClosed('post');
    validateInteger(key, 'key', 0, MAX_KEY);
    validateInteger(bytes, 'bytes', 0, MAX_BYTES);
    this.#delivery.post(key, bytes, value);
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
    if (!this.#delivery.open) throw portClosed('postFromNativeThreads');
    validateObject(options, 'options');
    validateInteger(options.threads, 'options.threads', 1, 64);
    validateInteger(options.count, 'options.count', 0, 2 ** 40);
    const key = options.key ?? 0;
    validateInteger(key, 'options.key', 0, MAX_KEY - options.threads);
    if (!this.#capabilities.nativePosters || !this.#driver.startPosters) {
      throw codedError(ErrorCodes.NOT_SUPPORTED, `The ${this.backend} backend has no native threads to post from`);
    }
    this.#delivery.keepAlive();
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
    return this.#ops.submit(request, callback);
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
    if (!this.#delivery.open) throw portClosed('submitOps');
    if (!Array.isArray(requests)) throw invalidArgType('requests', 'an array', requests);
    validateFunction(callback, 'callback');
    for (let i = 0; i < requests.length; i++) {
      const request: unknown = requests[i];
      validateOpRequest(request, `requests[${i}]`);
      if (request.multishot === true) throw invalidArgValue(`requests[${i}].multishot`, true, 'is not carried by submitOps');
      if (request.path !== undefined) throw invalidArgValue(`requests[${i}].path`, request.path, 'is not carried by submitOps');
      if (Array.isArray(request.buffers) && request.buffers.length > 1) {
        throw invalidArgValue(`requests[${i}].buffers`, request.buffers, 'holds one buffer in submitOps');
      }
    }
    this.#ops.submitBatch(requests, callback);
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
    return this.#ops.run(request, details, signal, settled, undefined);
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
    if (this.#delivery.state === 'closed') return false;
    return this.#ops.cancel(token);
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
    if (!this.#delivery.open) throw portClosed('associate');
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
    if (!this.#delivery.open || !this.#capabilities.ops) return false;
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
    const delivery = this.#delivery;
    const posted = counters.posted + delivery.staged;
    return {
      backend: this.backend,
      threads: this.threads,
      concurrency: this.concurrency,
      posted,
      completed: delivery.completed,
      inFlight: posted - delivery.completed,
      buffered: delivery.buffered,
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
    return !this.#delivery.open;
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
    // Staged ops reach the driver first, so that the cancels below see them.
    this.#ops.flush();
    const closed = this.#delivery.close();
    // Ops in flight are cancelled; each still completes (ECANCELED, or its
    // own result if it finished first) before the port is destroyed.
    if (this.#delivery.state === 'closing') this.#ops.cancelAll();
    return closed;
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
    if (this.#delivery.hasCallback) {
      throw codedError(ErrorCodes.INVALID_STATE, 'This port delivers to its onCompletion callback; it cannot be iterated');
    }
    return {
      next: () => this.#delivery.next(),
      return: async () => ({ done: true, value: undefined }),
    };
  }
}

/**
 * Checks an op request before anything is staged; names are made only
 * when a check fails (the read path runs this per op).
 */
export function validateOpRequest(request: unknown, name: string): asserts request is OpRequest {
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
