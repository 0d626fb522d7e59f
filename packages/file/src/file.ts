/**
 * `open()` and `OverlappedFile`: reads and writes at absolute 64-bit
 * positions, many in flight, each completing on its own; a cursor that
 * reserves its range at call time; size, truncate, preallocate, flush,
 * stat; streams. Validation happens here, before anything is submitted.
 */
import { resolve as resolvePath } from 'node:path';

import {
  type BackendName,
  bufferDetached,
  codedError,
  ErrorCodes,
  invalidArgType,
  invalidArgValue,
  isDetached,
  outOfRange,
  resolveBackendRequest,
  selectBackend,
  systemError,
  validateAbortSignal,
  validateFunction,
  validateInteger,
  validateObject,
  validateOneOf,
  type NativeBackendName,
} from '@overlapped/common';
import { nativeCandidates } from '@overlapped/iocp';

import { DIRECT_ALIGNMENT, isAligned } from './aligned.js';
import type { FileCapabilities, FileDriver, OpenRequest, ResolvedBatchOp } from './driver.js';
import { DISPOSITIONS, MAX_TRANSFER, MAX_VECTORS, STAT_FIELDS } from './kinds.js';
import { NativeFileDriver } from './native-driver.js';
import { PortableFileDriver } from './portable-driver.js';
import { OverlappedReadStream, OverlappedWriteStream, type ReadStreamOptions, type WriteStreamOptions } from './streams.js';

/** How `open` treats an existing or missing file (the Win32 dispositions). */
export type Disposition = keyof typeof DISPOSITIONS;
/** What the handle may do. */
export type Access = 'read' | 'write' | 'read-write';
/** What other opens of the same file may do meanwhile (enforced on Windows only). */
export type ShareMode = 'read' | 'write' | 'delete';

/** Options of {@link open}. */
export interface OpenOptions {
  /** Default `'open-existing'`. */
  disposition?: Disposition;
  /** Default `'read'`. */
  access?: Access;
  /** Default `['read', 'write', 'delete']` (what Node's fs shares). Ignored off Windows. */
  share?: ShareMode[];
  /** Unbuffered I/O (O_DIRECT / FILE_FLAG_NO_BUFFERING): positions, lengths and buffers must be aligned ({@link OverlappedFile.alignment}). */
  direct?: boolean;
  /** Each write reaches the device before it completes (O_DSYNC / FILE_FLAG_WRITE_THROUGH). */
  writeThrough?: boolean;
  /** Access pattern advice (fadvise / FILE_FLAG_SEQUENTIAL_SCAN, FILE_FLAG_RANDOM_ACCESS). */
  hint?: 'normal' | 'sequential' | 'random';
  /** Default `'auto'` (or `OVERLAPPED_BACKEND`). */
  backend?: 'auto' | BackendName;
  /** Aborts the open: it rejects with AbortError unless the open already finished (then it resolves as usual, and nothing leaks). */
  signal?: AbortSignal;
}

/** Options of one positional read or write. */
export interface IoOptions {
  /** Where in `buffer` to start. Default 0. */
  offset?: number;
  /** Bytes to move. Default: the rest of `buffer` after `offset`. */
  length?: number;
  /** Cancels the op (CancelIoEx, io_uring async cancel); it then rejects with AbortError. */
  signal?: AbortSignal;
}

/** One request of {@link OverlappedFile.batch}. */
export interface BatchRequest {
  op: 'read' | 'write';
  buffer: ArrayBufferView;
  position: number;
  offset?: number;
  length?: number;
}

/** What {@link OverlappedFile.stat} reports. Times are milliseconds since 1970. */
export interface FileStat {
  size: number;
  /** Bytes allocated on disk (st_blocks * 512; AllocationSize on Windows). */
  allocated: number;
  /** `allocated / 512`, as st_blocks counts. */
  blocks: number;
  blksize: number;
  mode: number;
  nlink: number;
  ino: number;
  dev: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
}

const DEFAULT_SHARE: ShareMode[] = ['read', 'write', 'delete'];
const MAX_POSITION = Number.MAX_SAFE_INTEGER;

const drivers = new Map<BackendName, FileDriver>();

function driverFor(option: unknown): FileDriver {
  const request = resolveBackendRequest(option);
  const selection = selectBackend(request, [...nativeCandidates(), { name: 'portable', probe: () => ({ available: true }) }]);
  let driver = drivers.get(selection.name);
  if (driver === undefined) {
    driver =
      selection.name === 'portable'
        ? new PortableFileDriver()
        : (new NativeFileDriver(selection.name as NativeBackendName) as FileDriver);
    drivers.set(selection.name, driver);
  }
  return driver;
}

/**
 * What `backend` (default: the one `open` would pick) can do with files.
 *
 * @example
 * ```ts
 * import { fileCapabilities } from '@overlapped/file';
 * if (fileCapabilities().direct) console.log('unbuffered I/O available');
 * ```
 */
export function fileCapabilities(backend?: 'auto' | BackendName): FileCapabilities {
  return { ...driverFor(backend).capabilities };
}

/**
 * A view of `length` bytes of `buffer` from `offset`, validated. Views over
 * a SharedArrayBuffer are taken as they are (node:fs reads into them too);
 * a view of a detached ArrayBuffer is refused (`ERR_INVALID_STATE`).
 */
function viewOf(buffer: unknown, offset: unknown, length: unknown, name = 'buffer'): Uint8Array {
  if (!ArrayBuffer.isView(buffer)) throw invalidArgType(name, 'an instance of Buffer, TypedArray, or DataView', buffer);
  const size = buffer.byteLength;
  if (size === 0 && isDetached(buffer)) throw bufferDetached(name);
  const start = offset ?? 0;
  validateInteger(start, 'options.offset', 0, size);
  const count = length ?? size - (start as number);
  validateInteger(count, 'options.length', 0, size - (start as number));
  if (buffer instanceof Uint8Array && start === 0 && count === size) return buffer;
  return new Uint8Array(buffer.buffer, buffer.byteOffset + (start as number), count as number);
}

function validatePosition(position: unknown, name = 'position'): asserts position is number {
  validateInteger(position, name, 0, MAX_POSITION);
}

/** What an op without options sees; shared, so that the hot path allocates nothing for it. */
const NO_OPTIONS: IoOptions = Object.freeze({});

function ioOptions(options: unknown): IoOptions {
  if (options === undefined) return NO_OPTIONS;
  validateObject(options, 'options');
  validateAbortSignal((options as IoOptions).signal, 'options.signal');
  return options as IoOptions;
}

/**
 * Opens `path` for overlapped I/O. Nothing is submitted until the options
 * are valid.
 *
 * @throws `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for bad options;
 *   rejects with `ENOENT`, `EEXIST`, `EACCES`, `EISDIR`... (with `path` and
 *   `syscall: 'open'`), or `ERR_NOT_SUPPORTED` for `direct` on a backend
 *   without unbuffered I/O.
 *
 * @example
 * ```ts
 * import { open } from '@overlapped/file';
 *
 * await using file = await open('/tmp/example.bin', { disposition: 'create-always', access: 'read-write' });
 * await file.writeAt(Buffer.from('hello'), 4 * 2 ** 30); // past 4 GiB: a sparse file
 * const buffer = Buffer.alloc(5);
 * await file.readAt(buffer, 4 * 2 ** 30);
 * ```
 */
export async function open(path: string | URL, options: OpenOptions = {}): Promise<OverlappedFile> {
  let filePath: string;
  if (path instanceof URL) {
    if (path.protocol !== 'file:') throw invalidArgValue('path', path.href, "must be a file: URL");
    const { fileURLToPath } = await import('node:url');
    filePath = fileURLToPath(path);
  } else if (typeof path === 'string') {
    filePath = path;
  } else {
    throw invalidArgType('path', 'of type string or an instance of URL', path);
  }
  if (filePath.length === 0 || filePath.includes('\u0000')) {
    throw invalidArgValue('path', filePath, 'must be a non-empty string without null bytes');
  }
  validateObject(options, 'options');
  const disposition = options.disposition ?? 'open-existing';
  validateOneOf(disposition, 'options.disposition', Object.keys(DISPOSITIONS) as Disposition[]);
  const access = options.access ?? 'read';
  validateOneOf(access, 'options.access', ['read', 'write', 'read-write'] as const);
  const share = options.share ?? DEFAULT_SHARE;
  if (!Array.isArray(share)) throw invalidArgType('options.share', 'an array', share);
  for (const mode of share) validateOneOf(mode, 'options.share[]', ['read', 'write', 'delete'] as const);
  for (const flag of ['direct', 'writeThrough'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') {
      throw invalidArgType(`options.${flag}`, 'of type boolean', options[flag]);
    }
  }
  const hint = options.hint ?? 'normal';
  validateOneOf(hint, 'options.hint', ['normal', 'sequential', 'random'] as const);
  if (disposition === 'truncate-existing' && access === 'read') {
    throw invalidArgValue('options.access', access, "must allow writing with disposition 'truncate-existing'");
  }
  validateAbortSignal(options.signal, 'options.signal');
  const driver = driverFor(options.backend);
  const direct = options.direct ?? false;
  if (direct && !driver.capabilities.direct) {
    throw codedError(ErrorCodes.NOT_SUPPORTED, `The ${driver.backend} backend has no unbuffered (direct) I/O`);
  }
  const request: OpenRequest = {
    path: resolvePath(filePath),
    disposition,
    access,
    share: [...new Set(share)],
    direct,
    writeThrough: options.writeThrough ?? false,
    hint,
  };
  const handle = await driver.open(request, options.signal);
  // create-always, create-new and truncate-existing leave an empty file.
  const knownSize = disposition === 'open-existing' || disposition === 'open-always' ? undefined : 0;
  return new OverlappedFile(driver, handle, request, knownSize);
}

/** The key of OverlappedFile's internal native range copy (used by copyFile). */
export const copyRangeTo = Symbol('copyRangeTo');

/**
 * The key under which an OverlappedFile lends its native handle to an op
 * another package runs on it (`socket.sendFile` of @overlapped/socket):
 * `file[lendHandle](use)` calls `use(handle, backend, readAt)` and counts
 * the promise it returns as one op of the file, so `close()` waits for it;
 * `readAt(view, position)` reads through the lent handle until then, even
 * once `close()` was called. A registered symbol, so that two installed
 * copies of the packages agree.
 *
 * @example
 * ```ts
 * const sent = await file[lendHandle]((handle, backend, readAt) => sendFromHandle(handle, backend, readAt));
 * ```
 */
export const lendHandle: unique symbol = Symbol.for('@overlapped/file.lendHandle') as never;

const asyncDispose: typeof Symbol.asyncDispose =
  (Symbol as { asyncDispose?: typeof Symbol.asyncDispose }).asyncDispose ??
  (Symbol.for('nodejs.asyncDispose') as typeof Symbol.asyncDispose);

/**
 * A file open for overlapped I/O. Positional ops (`readAt`, `writeAt`, ...)
 * may be in flight in any number and complete in any order. `close()` waits
 * for the ops in flight to finish (it does not cancel them), then closes the
 * handle; ops started after `close()` reject with `EBADF`.
 *
 * @example
 * ```ts
 * import { open } from '@overlapped/file';
 *
 * const file = await open('/tmp/log.bin', { disposition: 'open-always', access: 'write' });
 * await Promise.all([file.append(Buffer.from('a')), file.append(Buffer.from('b'))]); // lands as "ab"
 * await file.close();
 * ```
 */
export class OverlappedFile {
  /** The backend serving this file. */
  readonly backend: BackendName;
  /** The absolute path the file was opened with. */
  readonly path: string;
  readonly #driver: FileDriver;
  readonly #handle: unknown;
  readonly #request: OpenRequest;
  #position = 0;
  // The append end: where the next append lands. Every op that reserves
  // room (append, a write past the end, preallocate, truncate) moves it
  // when it is called, so ops in flight never decide it by the order they
  // complete in. Known (#appendEnd) from an open that empties the file, a
  // truncate, or the answer of the size query the first append makes;
  // until that answer, the end is max(size + #pendingGrow, #pendingFloor):
  // appends add to both, a write or preallocate raises the floor, and each
  // pending append keeps the pair it was called with. The size only grows
  // meanwhile, and every growth this handle asked for is in the floor, so
  // whichever size the query sees gives the same end.
  #appendEnd: number | undefined;
  #pendingGrow = 0;
  #pendingFloor = 0;
  #sizeQuery: Promise<number> | undefined;
  // An op that moved the end and then failed gives its room back if
  // nothing moved the end after it: #endVersion counts the moves, and the
  // #undo* fields hold the state before the last one.
  #endVersion = 1;
  #undoEnd: number | undefined;
  #undoGrow = 0;
  #undoFloor = 0;
  #inFlight = 0;
  #idle: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  // Writes (and truncates) wait while #writeGate is set. A preallocate
  // holds them back while it runs, and waits for the writes in flight
  // before it starts: where the backend allocates by writing zeros
  // (portable; iocp where the file system has no allocation call, as under
  // Wine) those zeros must never land over a write. The first append's
  // size query holds them back too, so that the size it sees has no size
  // change called after it.
  #writeGate: Promise<void> | undefined;
  #writesInFlight = 0;
  #writesIdle: (() => void) | undefined;

  /** Made by {@link open}. */
  constructor(driver: FileDriver, handle: unknown, request: OpenRequest, knownSize: number | undefined) {
    this.#driver = driver;
    this.#handle = handle;
    this.#request = request;
    this.backend = driver.backend;
    this.path = request.path;
    this.#appendEnd = knownSize;
  }

  /**
   * The cursor: where the next `read` / `write` starts. Setting it affects
   * only ops started afterwards.
   *
   * @example
   * ```ts
   * file.position = 1024;
   * await file.read(buffer); // reads from 1024
   * ```
   */
  get position(): number {
    return this.#position;
  }

  set position(value: number) {
    validatePosition(value, 'position');
    this.#position = value;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * What this file's backend supports.
   *
   * @example
   * ```ts
   * if (!file.capabilities().shareModes) console.log('share modes are advisory here');
   * ```
   */
  capabilities(): FileCapabilities {
    return { ...this.#driver.capabilities };
  }

  /**
   * The alignment unbuffered I/O needs for positions, lengths and buffer
   * addresses: 4096 for a `direct` file, 1 otherwise.
   *
   * @example
   * ```ts
   * const buffer = allocAligned(1 << 20, file.alignment());
   * ```
   */
  alignment(): number {
    return this.#request.direct ? DIRECT_ALIGNMENT : 1;
  }

  /**
   * Reads up to `length` bytes at `position` into `buffer`. Resolves with
   * the bytes read: fewer at the end of the file, 0 past it. One op moves
   * at most 2 GiB - 4 KiB.
   *
   * @example
   * ```ts
   * const buffer = Buffer.alloc(4096);
   * const bytes = await file.readAt(buffer, 5 * 2 ** 30, { signal: AbortSignal.timeout(1000) });
   * ```
   */
  readAt(buffer: ArrayBufferView, position: number, options?: IoOptions): Promise<number> {
    const opts = ioOptions(options);
    const view = viewOf(buffer, opts.offset, opts.length);
    validatePosition(position);
    this.#checkDirect(view, position);
    // The hot path: the driver calls #opSettled when the read completes, so
    // no `then` of #track is needed.
    if (this.#closing) return this.#refused('read');
    this.#inFlight++;
    try {
      return this.#driver.read(this.#handle, clamp(view), position, this.path, opts.signal, this.#opSettled);
    } catch (error) {
      this.#opSettled();
      throw error;
    }
  }

  /**
   * Writes all of `length` bytes of `buffer` at `position` (short writes are
   * continued), or rejects.
   *
   * @example
   * ```ts
   * await file.writeAt(Buffer.from('header'), 0);
   * ```
   */
  writeAt(buffer: ArrayBufferView, position: number, options?: IoOptions): Promise<number> {
    const opts = ioOptions(options);
    const view = viewOf(buffer, opts.offset, opts.length);
    validatePosition(position);
    this.#checkDirect(view, position);
    if (this.#closing) return this.#refused('write');
    return this.#track(this.#writeAll(view, position, opts.signal, this.#moveEnd(position, view.byteLength)));
  }

  /**
   * Reads into `buffers` in order from `position`, as one op (preadv,
   * IORING_OP_READV; emulated buffer by buffer on iocp). Resolves with the
   * bytes read.
   *
   * @example
   * ```ts
   * const header = Buffer.alloc(16);
   * const body = Buffer.alloc(4096);
   * await file.readvAt([header, body], 0);
   * ```
   */
  readvAt(buffers: ArrayBufferView[], position: number, options?: { signal?: AbortSignal }): Promise<number> {
    const opts = ioOptions(options);
    const views = this.#vectors(buffers, position);
    if (this.#closing) return this.#refused('read');
    return this.#track(this.#driver.readv(this.#handle, views, position, this.path, opts.signal));
  }

  /**
   * Writes `buffers` in order from `position`; resolves once every byte is
   * written.
   *
   * @example
   * ```ts
   * await file.writevAt([Buffer.from('a'), Buffer.from('b')], 0);
   * ```
   */
  writevAt(buffers: ArrayBufferView[], position: number, options?: { signal?: AbortSignal }): Promise<number> {
    const opts = ioOptions(options);
    const views = this.#vectors(buffers, position);
    let total = 0;
    for (const view of views) total += view.byteLength;
    if (this.#closing) return this.#refused('write');
    return this.#track(this.#writevAll(views, position, total, opts.signal, this.#moveEnd(position, total)));
  }

  /**
   * Runs many reads and writes at once: every request is validated, then
   * all are submitted in one synchronous pass, and one promise (or one
   * callback) reports the byte counts in request order. If any op failed,
   * the batch rejects (or calls back) with the first error after every op
   * has settled; `error.results` holds the counts (-1 for the failed ones).
   * Writes in a batch are single ops: a short write is reported, not
   * continued.
   *
   * @example
   * ```ts
   * const buffers = Array.from({ length: 16 }, () => Buffer.alloc(4096));
   * const counts = await file.batch(buffers.map((buffer, i) => ({ op: 'read', buffer, position: i * 65536 })));
   * ```
   */
  batch(requests: BatchRequest[]): Promise<number[]>;
  batch(requests: BatchRequest[], callback: (error: Error | null, results: number[]) => void): void;
  batch(requests: BatchRequest[], callback?: (error: Error | null, results: number[]) => void): Promise<number[]> | void {
    if (!Array.isArray(requests)) throw invalidArgType('requests', 'an array', requests);
    if (callback !== undefined) validateFunction(callback, 'callback');
    const ops: ResolvedBatchOp[] = new Array(requests.length);
    let writes = 0;
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i];
      // A hot path: the argument names are only made when a check fails.
      if (request === null || typeof request !== 'object' || Array.isArray(request)) validateObject(request, `requests[${i}]`);
      const op = request.op;
      if (op !== 'read' && op !== 'write') validateOneOf(op, `requests[${i}].op`, ['read', 'write'] as const);
      const buffer = request.buffer;
      const view =
        buffer instanceof Uint8Array && buffer.byteLength !== 0 && request.offset === undefined && request.length === undefined
          ? buffer
          : viewOf(buffer, request.offset, request.length, `requests[${i}].buffer`);
      const position = request.position;
      if (!Number.isInteger(position) || position < 0 || position > MAX_POSITION) validatePosition(position, `requests[${i}].position`);
      this.#checkDirect(view, position);
      ops[i] = { write: op === 'write', view: clamp(view), position };
      if (op === 'write') writes++;
    }
    if (this.#closing) {
      const error = this.#badf(requests[0]?.op === 'write' ? 'write' : 'read');
      if (callback) {
        queueMicrotask(() => callback(error, []));
        return;
      }
      return Promise.reject(error);
    }
    // The writes reserve their room now, in request order; the one that
    // moved the end last gives it back if it fails.
    let moved = 0;
    let movedBy = -1;
    if (writes > 0) {
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i] as ResolvedBatchOp;
        if (!op.write) continue;
        const version = this.#moveEnd(op.position, op.view.byteLength);
        if (version !== 0) {
          moved = version;
          movedBy = i;
        }
      }
    }
    this.#inFlight++;
    if (callback) {
      this.#startBatch(ops, writes, moved, movedBy, callback);
      return;
    }
    return new Promise<number[]>((resolve, reject) => {
      this.#startBatch(ops, writes, moved, movedBy, (error, results) => (error ? reject(error) : resolve(results)));
    });
  }

  // Submits a validated batch in one pass, once writes may go (a batch
  // with writes waits while a preallocate runs). `moved` is the end move
  // made by the write at `movedBy`, given back if that write fails.
  #startBatch(ops: ResolvedBatchOp[], writes: number, moved: number, movedBy: number, done: (error: Error | null, results: number[]) => void): void {
    if (writes > 0 && this.#writeGate !== undefined) {
      this.#writesOpen().then(() => this.#startBatch(ops, writes, moved, movedBy, done));
      return;
    }
    this.#writesInFlight += writes;
    const finish = (error: Error | null, results: number[]) => {
      if (writes > 0) this.#writesSettled(writes);
      if (--this.#inFlight === 0) this.#idle?.();
      if (error) {
        (error as Error & { results?: number[] }).results = results;
        if (movedBy >= 0 && results[movedBy] === -1) this.#restoreEnd(moved);
      }
      done(error, results);
    };
    try {
      this.#driver.batch(this.#handle, ops, this.path, finish);
    } catch (error) {
      // Refused as a whole, nothing of it started (a buffer detached while
      // the batch waited for a preallocate): it fails, on a later turn, and
      // is no longer in flight.
      const results = ops.map(() => -1);
      queueMicrotask(() => finish(error as Error, results));
    }
  }

  /**
   * Reads at the cursor and moves it past the range at call time, so many
   * reads can be in flight and cover consecutive ranges. The cursor moves by
   * the requested length even when the read comes back short.
   *
   * @example
   * ```ts
   * const [a, b] = await Promise.all([file.read(Buffer.alloc(10)), file.read(Buffer.alloc(10))]); // 0-9, 10-19
   * ```
   */
  read(buffer: ArrayBufferView, options?: IoOptions): Promise<number> {
    const opts = ioOptions(options);
    const view = viewOf(buffer, opts.offset, opts.length);
    const position = this.#position;
    this.#checkDirect(view, position);
    if (this.#closing) return this.#refused('read');
    this.#position += view.byteLength;
    return this.#track(this.#driver.read(this.#handle, clamp(view), position, this.path, opts.signal));
  }

  /**
   * Writes at the cursor and moves it past the range at call time: writes
   * in flight land in call order, without overlap or holes.
   *
   * @example
   * ```ts
   * file.position = 0;
   * file.write(Buffer.from('hello '));
   * await file.write(Buffer.from('world'));
   * ```
   */
  write(buffer: ArrayBufferView, options?: IoOptions): Promise<number> {
    const opts = ioOptions(options);
    const view = viewOf(buffer, opts.offset, opts.length);
    const position = this.#position;
    this.#checkDirect(view, position);
    if (this.#closing) return this.#refused('write');
    this.#position += view.byteLength;
    return this.#track(this.#writeAll(view, position, opts.signal, this.#moveEnd(position, view.byteLength)));
  }

  /**
   * Writes at the end of the file. The range is reserved at call time, so
   * appends in flight land in call order, without overlap or holes. The end
   * is the file's size (learned at the first append; 0 for a file `open`
   * emptied), moved when they are called by appends, by writes of any kind
   * that end past it, by `preallocate` past it, and set by `truncate`; an
   * op that moved it and failed gives the room back if nothing moved it
   * since. Resolves with the position written at.
   *
   * @example
   * ```ts
   * const lines = ['a\n', 'b\n', 'c\n'].map((s) => file.append(Buffer.from(s)));
   * await Promise.all(lines); // "a\nb\nc\n" at the end of the file
   * ```
   */
  append(buffer: ArrayBufferView, options?: IoOptions): Promise<number> {
    const opts = ioOptions(options);
    const view = viewOf(buffer, opts.offset, opts.length);
    if (this.#closing) return this.#refused('write');
    const length = view.byteLength;
    if (this.#appendEnd !== undefined) {
      const position = this.#appendEnd;
      this.#checkDirect(view, position);
      const version = this.#saveEnd();
      this.#appendEnd += length;
      return this.#track(this.#writeAll(view, position, opts.signal, version).then(() => position));
    }
    // The size is not known yet: this append lands at max(size + grow, floor).
    const grow = this.#pendingGrow;
    const floor = this.#pendingFloor;
    const version = this.#saveEnd();
    this.#pendingGrow += length;
    this.#pendingFloor += length;
    return this.#track(
      this.#askSize().then((size) => {
        const position = Math.max(size + grow, floor);
        this.#checkDirect(view, position);
        return this.#writeAll(view, position, opts.signal, version, length).then(() => position);
      }),
    );
  }

  // The size query of the first append; its answer fixes the end. Writes
  // called meanwhile wait for it; those called before are in the floor.
  #askSize(): Promise<number> {
    if (this.#sizeQuery !== undefined) return this.#sizeQuery;
    this.#sizeQuery = this.size().then(
      (size) => {
        if (this.#appendEnd === undefined) {
          this.#appendEnd = Math.max(size + this.#pendingGrow, this.#pendingFloor);
          this.#endVersion++;
        }
        return size;
      },
      (error: unknown) => {
        this.#sizeQuery = undefined;
        throw error;
      },
    );
    this.#holdWrites(this.#sizeQuery);
    return this.#sizeQuery;
  }

  /**
   * The file's size in bytes.
   *
   * @example
   * ```ts
   * const bytes = await file.size();
   * ```
   */
  async size(): Promise<number> {
    return (await this.stat()).size;
  }

  /**
   * Sets the file's size: shorter drops the tail, longer adds a hole that
   * reads as zeros. Appends called from then on land at `size` and after.
   *
   * @example
   * ```ts
   * await file.truncate(0);
   * ```
   */
  truncate(size = 0): Promise<void> {
    validateInteger(size, 'size', 0, MAX_POSITION);
    if (this.#closing) return this.#refused('ftruncate');
    // Appends called from now on land at `size` and after.
    const version = this.#saveEnd();
    this.#appendEnd = size;
    // Like a write, it waits while the first append's size query (or a
    // preallocate) holds size changes back.
    const run = () => this.#driver.truncate(this.#handle, size, this.path);
    const work = this.#writeGate === undefined ? run() : this.#writesOpen().then(run);
    return this.#track(
      work.catch((error: unknown) => {
        this.#restoreEnd(version);
        throw error;
      }),
    );
  }

  /**
   * Allocates disk space for the first `size` bytes (fallocate;
   * FileAllocationInfo on Windows) and grows the file to `size` if it is
   * shorter; the new range reads as zeros. Writes into it then do not grow
   * the file. The portable backend writes zeros instead. It waits for the
   * writes in flight, and writes called while it runs wait for it. Rejects
   * with `EBADF` on a read-only handle; a size past what the file system
   * allows fails at once (`EFBIG` on Linux) with nothing written.
   *
   * @example
   * ```ts
   * await file.preallocate(1 << 30);
   * ```
   */
  preallocate(size: number): Promise<void> {
    validateInteger(size, 'size', 0, MAX_POSITION);
    if (this.#closing) return this.#refused('fallocate');
    // fallocate(2) on a read-only descriptor is EBADF, whatever the size:
    // so it is on every backend.
    if (this.#request.access === 'read') return this.#refused('fallocate');
    // Nothing to allocate (and fallocate(2) refuses a zero length).
    if (size === 0) return Promise.resolve();
    const version = this.#moveEnd(0, size);
    // One at a time, after the writes in flight; writes called meanwhile wait.
    const work = (this.#writeGate ?? Promise.resolve())
      .then(() => this.#writesDrained())
      .then(() => this.#driver.allocate(this.#handle, size, this.path))
      .catch((error: unknown) => {
        this.#restoreEnd(version);
        throw error;
      });
    this.#holdWrites(work);
    return this.#track(work);
  }

  /**
   * Makes written data durable: fsync (FlushFileBuffers), or with
   * `dataOnly` fdatasync (NtFlushBuffersFileEx's data-only flush where
   * Windows has it, else a full flush).
   *
   * @example
   * ```ts
   * await file.writeAt(record, position);
   * await file.flush({ dataOnly: true });
   * ```
   */
  flush(options: { dataOnly?: boolean } = {}): Promise<void> {
    validateObject(options, 'options');
    if (options.dataOnly !== undefined && typeof options.dataOnly !== 'boolean') {
      throw invalidArgType('options.dataOnly', 'of type boolean', options.dataOnly);
    }
    if (this.#closing) return this.#refused(options.dataOnly ? 'fdatasync' : 'fsync');
    return this.#track(this.#driver.sync(this.#handle, options.dataOnly ?? false, this.path));
  }

  /**
   * The file's metadata.
   *
   * @example
   * ```ts
   * const { size, allocated, mtimeMs } = await file.stat();
   * ```
   */
  stat(): Promise<FileStat> {
    if (this.#closing) return this.#refused('fstat');
    return this.#track(
      this.#driver.stat(this.#handle, this.path).then((fields) => {
        const out: Record<string, number> = {};
        STAT_FIELDS.forEach((name, i) => {
          out[name] = fields[i] as number;
        });
        out['blocks'] = Math.ceil((out['allocated'] as number) / 512);
        return out as unknown as FileStat;
      }),
    );
  }

  /**
   * The path of the file this handle has open, as the system resolves it
   * now: absolute, links resolved, and following renames and moves made
   * since the open (where `path` is what was given to {@link open}). Code that
   * must know where an opened file really is, such as a server confining
   * requests to a folder, asks the handle rather than the name, which
   * someone may have swapped for a link in between.
   *
   * Linux: `/proc/self/fd/N` (every backend). macOS: `F_GETPATH` (native
   * backends). Windows: `GetFinalPathNameByHandleW`, normalized, with a
   * drive letter or a `\\server\share` prefix, as `fs.realpathSync.native`
   * gives (native backend).
   *
   * @throws `ENOENT` once the file has no name (unlinked since, Linux and
   * macOS); `ENOTSUP` where the system does not say (the portable backend off
   * Linux, Linux without /proc, other systems); `EBADF` after `close()`
   *
   * @example
   * ```ts
   * import { open } from '@overlapped/file';
   * import { sep } from 'node:path';
   *
   * const root = '/srv/www';
   * await using file = await open(`${root}/index.html`);
   * const where = await file.realpath();
   * if (!where.startsWith(root + sep)) throw new Error(`${where} is outside ${root}`);
   * ```
   */
  realpath(): Promise<string> {
    if (this.#closing) return this.#refused('realpath');
    return this.#track(this.#driver.realpath(this.#handle, this.path));
  }

  /**
   * A Readable over `[start, end]` (`end` inclusive, as in fs) that keeps
   * `queueDepth` reads of `chunkSize` in flight and delivers them in order.
   *
   * @example
   * ```ts
   * import { pipeline } from 'node:stream/promises';
   * await pipeline(file.createReadStream({ queueDepth: 8 }), process.stdout);
   * ```
   */
  createReadStream(options: ReadStreamOptions = {}): OverlappedReadStream {
    return new OverlappedReadStream(this, options);
  }

  /**
   * A Writable that writes its chunks one after another from `start`,
   * keeping up to `queueDepth` writes in flight; `finish` fires once all
   * have landed.
   *
   * @example
   * ```ts
   * import { pipeline } from 'node:stream/promises';
   * await pipeline(source, file.createWriteStream({ start: 0, queueDepth: 8 }));
   * ```
   */
  createWriteStream(options: WriteStreamOptions = {}): OverlappedWriteStream {
    return new OverlappedWriteStream(this, options);
  }

  /**
   * Closes the file once the ops in flight have finished (they are not
   * cancelled: pass each op a signal to cancel it). Ops called after this
   * call reject with `EBADF` and never reach the file. Idempotent.
   *
   * @example
   * ```ts
   * const pending = file.writeAt(data, 0);
   * await file.close(); // `pending` has settled, and the handle is closed
   * ```
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const idle = this.#inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.#idle = resolve));
    this.#closing = idle.then(() => this.#driver.close(this.#handle, this.path));
    return this.#closing;
  }

  /** `await using file = await open(...)` closes it on scope exit. */
  [asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Copies `[position, position + length)` of this file to the same range of
   * `target` on a native worker, through `bounce`; undefined where the
   * backend has no such op. Internal to copyFile.
   */
  [copyRangeTo](target: OverlappedFile, position: number, length: number, bounce: Uint8Array, signal?: AbortSignal): Promise<number> | undefined {
    const copy = this.#driver.copyRange;
    if (copy === undefined || target.#driver !== this.#driver) return undefined;
    if (this.#closing) return this.#refused('read');
    if (target.#closing) return target.#refused('write');
    const start = (): Promise<number> => {
      if (target.#writeGate !== undefined) return target.#writesOpen().then(start);
      target.#writesInFlight++;
      const copying = copy.call(this.#driver, this.#handle, target.#handle, position, length, bounce, this.path, signal);
      return copying.finally(() => target.#writesSettled(1));
    };
    const work = start();
    return this.#track(
      target.#track(work).then((copied) => {
        target.#moveEnd(position, copied);
        return copied;
      }),
    );
  }

  /**
   * Lends the native handle (a number on the native backends, a node:fs
   * FileHandle on the portable one) to `use`, whose promise counts as one
   * op of the file: `close()` waits for it. `readAt` reads through the
   * handle while it is lent (a `close()` called meanwhile waits, it does
   * not refuse those reads). Rejects with `EBADF` once the file is
   * closing. See {@link lendHandle}.
   */
  [lendHandle]<T>(
    use: (handle: unknown, backend: BackendName, readAt: (view: Uint8Array, position: number) => Promise<number>) => Promise<T>,
  ): Promise<T> {
    if (this.#closing) return this.#refused('sendfile');
    let work: Promise<T>;
    try {
      work = use(this.#handle, this.backend, (view, position) => this.#driver.read(this.#handle, view, position, this.path, undefined));
    } catch (error) {
      work = Promise.reject(error);
    }
    return this.#track(work);
  }

  #track<T>(work: Promise<T>): Promise<T> {
    if (this.#closing) {
      work.catch(() => undefined);
      return Promise.reject(this.#badf('io'));
    }
    this.#inFlight++;
    return work.then(this.#settled as (value: T) => T, this.#failed);
  }

  // One op of this file is done: the last one lets a waiting close() go on.
  readonly #opSettled = (): void => {
    if (--this.#inFlight === 0) this.#idle?.();
  };

  // The handlers of #track, made once per file rather than per op.
  readonly #settled = <T>(value: T): T => {
    this.#opSettled();
    return value;
  };

  readonly #failed = (error: unknown): never => {
    this.#opSettled();
    throw error;
  };

  #badf(syscall: string): Error {
    return systemError({ code: 'EBADF', syscall, path: this.path });
  }

  // An op called after close() (or one the handle's access cannot do): it
  // is refused before anything starts.
  #refused(syscall: string): Promise<never> {
    return Promise.reject(this.#badf(syscall));
  }

  #checkDirect(view: Uint8Array, position: number): void {
    if (!this.#request.direct) return;
    const a = DIRECT_ALIGNMENT;
    if (position % a !== 0 || view.byteLength % a !== 0 || !isAligned(view, a)) {
      throw codedError(
        ErrorCodes.INVALID_ARG_VALUE,
        `Unbuffered (direct) I/O needs the position (${position}) and length (${view.byteLength}) to be multiples of ${a}, ` +
          `and a buffer from allocAligned() starting at a multiple of ${a}`,
      );
    }
  }

  #vectors(buffers: unknown, position: unknown): Uint8Array[] {
    if (!Array.isArray(buffers)) throw invalidArgType('buffers', 'an array', buffers);
    if (buffers.length === 0 || buffers.length > MAX_VECTORS) throw outOfRange('buffers.length', `>= 1 && <= ${MAX_VECTORS}`, buffers.length);
    validatePosition(position);
    let total = 0;
    const views = buffers.map((buffer, i) => {
      const view = viewOf(buffer, undefined, undefined, `buffers[${i}]`);
      this.#checkDirect(view, position + total);
      total += view.byteLength;
      return view;
    });
    if (total > MAX_TRANSFER) throw outOfRange('buffers', `a total of <= ${MAX_TRANSFER} bytes`, total);
    return views;
  }

  // Writes every byte of `view` at `position`, once no preallocate runs.
  // `version` is the end move this write made when it was called (0 if
  // none), given back if it fails. `length` is the view's length when the
  // write was called: a buffer detached meanwhile fails the write rather
  // than end it early.
  #writeAll(view: Uint8Array, position: number, signal: AbortSignal | undefined, version: number, length = view.byteLength): Promise<number> {
    if (this.#writeGate !== undefined) return this.#writesOpen().then(() => this.#writeAll(view, position, signal, version, length));
    this.#writesInFlight++;
    return this.#writeCounted(view, position, signal, version, length);
  }

  // The write loop of a write already counted in flight: short writes are
  // continued until every byte is written.
  async #writeCounted(view: Uint8Array, position: number, signal: AbortSignal | undefined, version: number, length = view.byteLength): Promise<number> {
    try {
      let done = 0;
      while (done < length) {
        if (view.byteLength !== length) throw bufferDetached('buffer', 'before all of it was written');
        const part = done === 0 ? clamp(view) : clamp(view.subarray(done));
        const written = await this.#driver.write(this.#handle, part, position + done, this.path, signal);
        if (written <= 0) throw systemError({ code: 'EIO', syscall: 'write', path: this.path });
        done += written;
      }
      return done;
    } catch (error) {
      if (version !== 0) this.#restoreEnd(version);
      throw error;
    } finally {
      this.#writesSettled(1);
    }
  }

  async #writevAll(views: Uint8Array[], position: number, total: number, signal: AbortSignal | undefined, version: number): Promise<number> {
    // The lengths at the call: a buffer detached before all of it was
    // written fails the write rather than shorten it.
    const lengths = views.map((view) => view.byteLength);
    const intact = () => {
      for (let i = 0; i < views.length; i++) {
        if ((views[i] as Uint8Array).byteLength !== lengths[i]) throw bufferDetached(`buffers[${i}]`, 'before all of it was written');
      }
    };
    while (this.#writeGate !== undefined) await this.#writesOpen();
    this.#writesInFlight++;
    try {
      intact();
      let written = await this.#driver.writev(this.#handle, views, position, this.path, signal);
      intact();
      // A short vectored write is continued as plain writes of what is left.
      let at = 0;
      for (const view of views) {
        const end = at + view.byteLength;
        if (written < end) {
          const rest = view.subarray(Math.max(0, written - at));
          // Counted apart, and past the barrier: the vectored write is still in flight.
          this.#writesInFlight++;
          written += await this.#writeCounted(rest, position + written, signal, 0);
        }
        at = end;
      }
      return total;
    } catch (error) {
      if (version !== 0) this.#restoreEnd(version);
      throw error;
    } finally {
      this.#writesSettled(1);
    }
  }

  // Writes wait until `until` has settled, and until whatever held them
  // back before.
  #holdWrites(until: Promise<unknown>): void {
    const gate: Promise<void> = Promise.allSettled([this.#writeGate, until]).then(() => {
      if (this.#writeGate === gate) this.#writeGate = undefined;
    });
    this.#writeGate = gate;
  }

  // Resolves once nothing holds writes back. Something may hold them again
  // in the turn between, so a writer checks again in the same synchronous
  // step in which it counts itself in flight.
  async #writesOpen(): Promise<void> {
    while (this.#writeGate !== undefined) await this.#writeGate;
  }

  // Resolves once no write of this file is in flight.
  #writesDrained(): Promise<void> {
    if (this.#writesInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.#writesIdle;
      this.#writesIdle = () => {
        previous?.();
        resolve();
      };
    });
  }

  #writesSettled(count: number): void {
    this.#writesInFlight -= count;
    if (this.#writesInFlight === 0 && this.#writesIdle !== undefined) {
      const idle = this.#writesIdle;
      this.#writesIdle = undefined;
      idle();
    }
  }

  // Records the end as it is before a move and returns the move's number.
  #saveEnd(): number {
    this.#undoEnd = this.#appendEnd;
    this.#undoGrow = this.#pendingGrow;
    this.#undoFloor = this.#pendingFloor;
    return ++this.#endVersion;
  }

  // An op that reserves `[position, position + length)` moves the append
  // end to its end if that is further (an empty range reserves nothing);
  // returns the move's number, or 0 if the end did not move.
  #moveEnd(position: number, length: number): number {
    if (length === 0) return 0;
    const end = position + length;
    if (this.#appendEnd !== undefined) {
      if (end <= this.#appendEnd) return 0;
      const version = this.#saveEnd();
      this.#appendEnd = end;
      return version;
    }
    if (end <= this.#pendingFloor) return 0;
    const version = this.#saveEnd();
    this.#pendingFloor = end;
    return version;
  }

  // The op that made move `version` failed: if nothing moved the end since,
  // the end goes back to where it was.
  #restoreEnd(version: number): void {
    if (version !== this.#endVersion) return;
    this.#appendEnd = this.#undoEnd;
    this.#pendingGrow = this.#undoGrow;
    this.#pendingFloor = this.#undoFloor;
    this.#endVersion++;
  }
}

function clamp(view: Uint8Array): Uint8Array {
  return view.byteLength > MAX_TRANSFER ? view.subarray(0, MAX_TRANSFER) : view;
}
