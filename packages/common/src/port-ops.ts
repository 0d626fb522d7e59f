/**
 * The ops of a completion port: staging single-buffer ops for one native
 * call per turn, the record kept per op in flight, cancel, and the one
 * place where an op's completion becomes a callback, a settled promise or
 * a typed error (abort, ECANCELED, a closed owner, a buffer lost in
 * flight). {@link CompletionPort} validates and delegates here.
 */
import type { BackendName } from './backend-names.js';
import { AbortError, bufferDetached, codedError, errnoName, errnoOf, ErrorCodes, systemError } from './errors.js';
import {
  BATCH_FIELDS,
  type BatchOpCallback,
  type OpCallback,
  type OpErrorDetails,
  type OpRequest,
  OP_FLAG_MULTISHOT,
  type PortDriver,
} from './port-contract.js';
import { isDetached } from './validate.js';

/** Single-buffer ops staged for one native call at most. */
const OP_STAGING_CAPACITY = 1024;
/** The status of an op the port failed itself (the error travels beside it). */
const REFUSED_STATUS = errnoOf('EINVAL') ?? -22;
/** The status of a cancelled op. */
const CANCELED_STATUS = errnoOf('ECANCELED') ?? -125;

/**
 * Settles the local op with `token` (see {@link LocalOpRunner}): `status`
 * 0 and the bytes transferred, or a negative errno.
 */
export type LocalOpSettle = (token: number, status: number, bytes: number) => void;

/**
 * Runs single-buffer ops on the JS thread itself, outside the port's native
 * core (a socket's receives on the event loop), for ops that settle like
 * the port's own: one record per op in the port's table, the same errors,
 * cancel, closed owner and detached-buffer rules.
 */
export interface LocalOpRunner {
  /**
   * Starts the op with `token` into `buffer` (at the end of the turn it was
   * called in, as the port's staged ops start); it ends with one call of
   * `settle` (the port's, the same function for every op), never inside
   * this call. Throws when it cannot start.
   */
  start(token: number, buffer: Uint8Array, settle: LocalOpSettle): void;
  /** Takes the op off the runner: true when it will not settle (the port settles it as cancelled). */
  cancel(token: number): boolean;
}

/**
 * Who owns a group of ops (a socket): once it is closed, an op of it that
 * fails, whatever the kernel said, fails with the owner's closed error.
 * {@link OpGroup} is the one implementation.
 */
export interface OpOwner {
  readonly closed: boolean;
  /** The error of an op that was ended by the owner's close. */
  closedError(syscall: string): Error;
  /** How system errors of the owner's ops are worded (`net`: `recv ECONNRESET`). */
  readonly wording: 'fs' | 'net' | undefined;
  /** The op with `token` started. */
  track(token: number): void;
  /** The op with `token` completed (its last completion). */
  untrack(token: number): void;
}

/**
 * The error an op that completed with `status` (a negative errno; `result`
 * the raw platform code) rejects with: an AbortError when `signal` aborted
 * it, or when it was cancelled otherwise (the port closed); the owner's
 * closed error when its owner closed under it (closesocket aborts what is
 * pending on Windows, whatever the kernel reports); else a system error
 * described by `details`.
 */
export function opError(
  status: number,
  result: number,
  details: OpErrorDetails,
  signal: AbortSignal | undefined,
  owner: OpOwner | undefined,
): Error {
  if (errnoName(status) === 'ECANCELED') {
    if (signal?.aborted) return new AbortError(undefined, { cause: signal.reason });
    if (owner?.closed) return owner.closedError(details.syscall);
    return new AbortError(undefined, { cause: details.syscall });
  }
  if (owner?.closed) return owner.closedError(details.syscall);
  return systemError({ errno: status, ...details, rawCode: result || undefined, wording: owner?.wording });
}

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
  owner: OpOwner | undefined;
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
  owner: OpOwner | undefined;
  // The runner of an op started by runLocal; undefined for the port's ops.
  local: LocalOpRunner | undefined;
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

type Pending = PendingOp | PendingPromiseOp | PendingBatch;

/** What #queueFlush chains the flush onto. */
const settledPromise = Promise.resolve();

/** Slots of the pending table: ids are issued in order, so id & mask spreads them. */
const PENDING_SLOTS = 4096;
const PENDING_MASK = PENDING_SLOTS - 1;

/**
 * The ops in flight by id. Ids are issued in order and most ops finish
 * soon, so an op lives in the slot `id & mask` of a fixed array: no hash
 * and no table entry made or rehashed per op. An op whose slot is still
 * taken by an older one that lasts (an accept, an idle receive) goes to a
 * Map beside it.
 */
class PendingTable {
  readonly #ids = new Float64Array(PENDING_SLOTS);
  readonly #records = new Array<Pending | undefined>(PENDING_SLOTS).fill(undefined);
  readonly #overflow = new Map<number, Pending>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(id: number): Pending | undefined {
    const slot = id & PENDING_MASK;
    if (this.#ids[slot] === id) return this.#records[slot];
    return this.#overflow.size === 0 ? undefined : this.#overflow.get(id);
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Records the op with `id` (not in the table). */
  set(id: number, record: Pending): void {
    const slot = id & PENDING_MASK;
    if (this.#ids[slot] === 0) {
      this.#ids[slot] = id;
      this.#records[slot] = record;
    } else {
      this.#overflow.set(id, record);
    }
    this.#size++;
  }

  /** Removes the op with `id`; whether it was there. */
  delete(id: number): boolean {
    const slot = id & PENDING_MASK;
    if (this.#ids[slot] === id) {
      this.#ids[slot] = 0;
      this.#records[slot] = undefined;
    } else if (this.#overflow.size === 0 || !this.#overflow.delete(id)) {
      return false;
    }
    this.#size--;
    return true;
  }

  /** The ids in the table, as a list (safe to change the table while going through it). */
  ids(): number[] {
    const ids: number[] = [];
    for (let slot = 0; slot < PENDING_SLOTS; slot++) if (this.#ids[slot] !== 0) ids.push(this.#ids[slot] as number);
    for (const id of this.#overflow.keys()) ids.push(id);
    return ids;
  }
}

/** The most ops submitted through submitSpread in one call (more go through submitBatch). */
const SPREAD_LIMIT = OP_STAGING_CAPACITY;

/** Settled promise records kept for reuse, at most. */
const SPARE_PROMISE_OPS = 1024;

/** What the op table needs from the port that holds it. */
export interface OpTableHost {
  /** Whether the port still takes ops (close() was not called). */
  readonly open: boolean;
  /** Keeps the event loop alive: an op was started. */
  keepAlive(): void;
  /** Ops were failed outside a drain: lets a closing port finish. */
  opsFailed(): void;
}

/**
 * The ops in flight on one port and the staging of the ones started this
 * turn. Arguments are validated by the caller; this runs them.
 */
export class OpTable {
  readonly #driver: PortDriver;
  readonly #backend: BackendName;
  readonly #supported: boolean;
  readonly #host: OpTableHost;
  readonly #pending = new PendingTable();
  // Settled runOp records, reused: no record made per op in a steady loop.
  readonly #spare: PendingPromiseOp[] = [];
  // Where #capture leaves a new promise's settle functions: one executor
  // for every promise, not a closure per op.
  #resolve: ((result: number) => void) | undefined;
  #reject: ((error: Error) => void) | undefined;
  readonly #capture = (resolve: (result: number) => void, reject: (error: Error) => void): void => {
    this.#resolve = resolve;
    this.#reject = reject;
  };
  readonly #staging = new Float64Array(OP_STAGING_CAPACITY * BATCH_FIELDS);
  readonly #buffers = new Array<Uint8Array | null>(OP_STAGING_CAPACITY).fill(null);
  // Each staged buffer's byteLength when its op was called.
  readonly #lengths = new Float64Array(OP_STAGING_CAPACITY);
  #staged = 0;
  // runLocal ops called this turn, started by the flush (ids and records).
  readonly #localIds: number[] = [];
  readonly #localOps: Array<PendingPromiseOp | undefined> = [];
  #localStaged = 0;
  #flushQueued = false;
  #nextId = 1;
  // The arguments of a submitSpread call: fields, count, together, buffers.
  readonly #spreadArgs: Array<Float64Array | number | boolean | Uint8Array | null> = [];

  constructor(driver: PortDriver, backend: BackendName, supported: boolean, host: OpTableHost) {
    this.#driver = driver;
    this.#backend = backend;
    this.#supported = supported && driver.submit !== undefined;
    this.#host = host;
  }

  /** Ops in flight (a multishot op counts once, until its last completion). */
  get size(): number {
    return this.#pending.size;
  }

  /** Ops staged and not yet handed to the native core. */
  get staged(): number {
    return this.#staged;
  }

  // What a LocalOpRunner calls once an op of it finished.
  readonly #settleLocal: LocalOpSettle = (token, status, bytes) => {
    const op = this.#pending.get(-token);
    if (op !== undefined && op.kind === 'promise' && op.local !== undefined) this.complete(-token, status, bytes, false);
  };

  /** Starts one op whose completions go to `callback`; returns its token. */
  submit(request: OpRequest, callback: OpCallback, owner?: OpOwner): number {
    return this.#start(request, { kind: 'op', callback, hold: undefined, length: 0, owner });
  }

  /** Starts one op and settles the promise with its result; see CompletionPort.runOp. */
  run(
    request: OpRequest,
    details: OpErrorDetails,
    signal: AbortSignal | undefined,
    settled: (() => void) | undefined,
    owner: OpOwner | undefined,
  ): Promise<number> {
    if (signal?.aborted) {
      settled?.();
      return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    }
    const promise = new Promise<number>(this.#capture);
    const op = this.#promiseOp(details, signal, settled, owner);
    let token: number;
    try {
      token = this.#start(request, op);
    } catch (error) {
      // As from a promise executor: a port that cannot start the op rejects.
      this.#retire(op);
      settled?.();
      return Promise.reject(error);
    }
    this.#cancelOnAbort(op, signal, token);
    return promise;
  }

  // An abort of `signal` cancels the op with `token`.
  #cancelOnAbort(op: PendingPromiseOp, signal: AbortSignal | undefined, token: number): void {
    if (signal === undefined) return;
    op.onAbort = () => this.cancel(token);
    signal.addEventListener('abort', op.onAbort, { once: true });
  }

  // The staged ops go to the backend at the end of this turn: on a
  // reaction of a settled promise, not through queueMicrotask, which wraps
  // each callback in an AsyncResource (an async id, its hooks, a scope to
  // enter and leave) that the flush, which runs no user code, has no use
  // for. flush() never throws, so the reaction never rejects.
  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    void settledPromise.then(this.flush);
  }

  /**
   * Starts one single-buffer op on `runner` (the JS thread's own loop)
   * rather than the native core, and settles the promise as run() does.
   */
  runLocal(
    runner: LocalOpRunner,
    buffer: Uint8Array,
    details: OpErrorDetails,
    signal: AbortSignal | undefined,
    owner: OpOwner | undefined,
  ): Promise<number> {
    if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    if (!this.#host.open) return Promise.reject(portClosed('submitOp'));
    const promise = new Promise<number>(this.#capture);
    const op = this.#promiseOp(details, signal, undefined, owner);
    op.local = runner;
    op.hold = buffer;
    op.length = buffer.byteLength;
    const id = this.#nextId++;
    const token = -id;
    this.#pending.set(id, op);
    const staged = this.#localStaged++;
    this.#localIds[staged] = id;
    this.#localOps[staged] = op;
    this.#queueFlush();
    owner?.track(token);
    this.#cancelOnAbort(op, signal, token);
    return promise;
  }

  // The record of the promise just made with #capture (a reused one when
  // there is one).
  #promiseOp(
    details: OpErrorDetails,
    signal: AbortSignal | undefined,
    settled: (() => void) | undefined,
    owner: OpOwner | undefined,
  ): PendingPromiseOp {
    const op = this.#spare.pop() ?? newPromiseOp();
    op.resolve = this.#resolve as (result: number) => void;
    op.reject = this.#reject as (error: Error) => void;
    op.details = details;
    op.signal = signal;
    op.settled = settled;
    op.owner = owner;
    return op;
  }

  // Starts one op and records `entry` for its completion(s).
  #start(request: OpRequest, entry: PendingOp | PendingPromiseOp): number {
    if (!this.#host.open) throw portClosed('submitOp');
    const submit = this.#driver.submit;
    if (!this.#supported || !submit) throw noOps(this.#backend);
    const id = this.#nextId++;
    const token = -id;
    const buffers = request.buffers ?? null;
    const flags = request.multishot === true ? OP_FLAG_MULTISHOT : 0;
    entry.hold = buffers ?? undefined;
    entry.length = buffers === null || Array.isArray(buffers) ? 0 : buffers.byteLength;
    // Recorded first: a flush that the staging below sets off may have to
    // fail this very op.
    this.#pending.set(id, entry);
    if (this.#driver.submitBatch && request.path === undefined && request.length === undefined && flags === 0 && !Array.isArray(buffers)) {
      // Single-buffer ops started in the same turn go to the native core
      // together, in one call (and one kernel submission on io_uring).
      this.#stage(request, token, buffers);
    } else {
      this.flush();
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
        this.#pending.delete(id);
        throw error;
      }
    }
    entry.owner?.track(token);
    this.#host.keepAlive();
    return token;
  }

  #stage(request: OpRequest, token: number, buffer: Uint8Array | null): void {
    const staged = this.#staged;
    writeFields(this.#staging, staged, request, token);
    this.#buffers[staged] = buffer;
    this.#lengths[staged] = buffer === null ? 0 : buffer.byteLength;
    this.#staged = staged + 1;
    if (this.#staged === OP_STAGING_CAPACITY) this.flush();
    else this.#queueFlush();
  }

  /**
   * Hands the staged ops to the native core; runs before anything that
   * must see them there (an unstaged op, a cancel, close) and at the end
   * of the turn they were started in. It never throws: an op that cannot
   * start fails alone, with a typed error, and the others go ahead.
   */
  readonly flush = (): void => {
    this.#flushQueued = false;
    if (this.#localStaged > 0) this.#startLocal();
    const count = this.#staged;
    if (count === 0) return;
    this.#staged = 0;
    const fields = this.#staging;
    const buffers = this.#buffers;
    const lengths = this.#lengths;
    // A buffer detached (transferred) since its op was called would hand
    // the backend no memory, or memory that is no longer the op's: that op
    // fails, and the ones after it move up.
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const buffer = buffers[i] as Uint8Array | null;
      if (buffer !== null && buffer.byteLength !== lengths[i]) {
        this.#fail(-(fields[i * BATCH_FIELDS + 1] as number), bufferDetached('buffer', 'before the op was submitted'));
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
      const refused = this.#submit(fields, kept, buffers, false);
      if (refused) {
        for (const [index, code, message] of refused) {
          this.#fail(-(fields[index * BATCH_FIELDS + 1] as number), refusedError(code, message));
        }
      }
    } catch (error) {
      // The native core refused the call as a whole (a port shut down
      // under it): each op fails with that error, none is left waiting.
      for (let i = 0; i < kept; i++) this.#fail(-(fields[i * BATCH_FIELDS + 1] as number), error as Error);
    } finally {
      buffers.fill(null, 0, count);
    }
  };

  /** Starts a batch of single-buffer ops (validated); see CompletionPort.submitOps. */
  submitBatch(requests: ReadonlyArray<OpRequest>, callback: BatchOpCallback): void {
    const submit = this.#driver.submit;
    if (!this.#supported || !submit) throw noOps(this.#backend);
    const count = requests.length;
    if (count === 0) return;
    const submitBatch = this.#driver.submitBatch;
    if (!submitBatch) {
      for (let i = 0; i < count; i++) {
        this.submit(requests[i] as OpRequest, (status, result) => callback(i, status, result));
      }
      return;
    }
    this.flush();
    // The staging arrays are empty after the flush: a batch that fits uses
    // them rather than allocating its own.
    const staged = count <= OP_STAGING_CAPACITY;
    const fields = staged ? this.#staging : new Float64Array(count * BATCH_FIELDS);
    const buffers = staged ? this.#buffers : new Array<Uint8Array | null>(count);
    const firstId = this.#nextId;
    for (let i = 0; i < count; i++) {
      const request = requests[i] as OpRequest;
      writeFields(fields, i, request, -(firstId + i));
      const buffer = request.buffers;
      buffers[i] = buffer === undefined ? null : Array.isArray(buffer) ? (buffer[0] ?? null) : buffer;
    }
    // `together`: the caller waits for the whole batch, so a backend may
    // complete its ops together (the pool does).
    try {
      const refused = this.#submit(fields, count, buffers, true);
      this.#nextId += count;
      const batch: PendingBatch = { kind: 'batch', callback, firstId, holds: staged ? buffers.slice(0, count) : buffers };
      for (let i = 0; i < count; i++) this.#pending.set(firstId + i, batch);
      // An op the native core could not start fails alone; the others run.
      if (refused) for (const [index, code, message] of refused) this.#fail(firstId + index, refusedError(code, message));
    } finally {
      if (staged) buffers.fill(null, 0, count);
    }
    this.#host.keepAlive();
  }

  // One native call for `count` staged ops: through submitSpread where the
  // driver has it (the buffers as arguments, in a list kept for it), else
  // through submitBatch.
  #submit(fields: Float64Array, count: number, buffers: Array<Uint8Array | null>, together: boolean): Array<[number, string, string]> | undefined | void {
    const driver = this.#driver;
    const spread = driver.submitSpread;
    if (spread === undefined || count > SPREAD_LIMIT) return driver.submitBatch?.(fields, count, buffers, together);
    const args = this.#spreadArgs;
    args[0] = fields;
    args[1] = count;
    args[2] = together;
    for (let i = 0; i < count; i++) args[i + 3] = buffers[i] as Uint8Array | null;
    args.length = count + 3;
    try {
      return Reflect.apply(spread, driver, args) as Array<[number, string, string]> | undefined;
    } finally {
      args.fill(null, 3);
    }
  }

  /** Asks the backend to cancel the op with `token`; whether it was in flight. */
  cancel(token: number): boolean {
    const op = this.#pending.get(-token);
    if (op === undefined) return false;
    if (op.kind === 'promise' && op.local !== undefined) return this.#cancelLocal(op.local, token);
    this.flush();
    return this.#driver.cancel?.(token) ?? false;
  }

  // Starts the runLocal ops of this turn on their runners. As a staged
  // op's, a buffer detached since the call fails its op, and so does one
  // a runner cannot start; the others go ahead.
  #startLocal(): void {
    const count = this.#localStaged;
    this.#localStaged = 0;
    const ids = this.#localIds;
    const ops = this.#localOps;
    for (let i = 0; i < count; i++) {
      const id = ids[i] as number;
      const op = ops[i] as PendingPromiseOp;
      ops[i] = undefined;
      const buffer = op.hold as Uint8Array;
      if (buffer.byteLength !== op.length) {
        this.#fail(id, bufferDetached('buffer', 'before the op was submitted'));
        continue;
      }
      try {
        (op.local as LocalOpRunner).start(-id, buffer, this.#settleLocal);
      } catch (error) {
        this.#fail(id, error as Error);
      }
    }
  }

  // A local op taken off its runner completes as cancelled on a later
  // microtask, as a port op's cancel completes later; one that finished
  // already settles with its own result. The ops of this turn are started
  // first, so that the runner has this one.
  #cancelLocal(runner: LocalOpRunner, token: number): boolean {
    if (this.#localStaged > 0) this.#startLocal();
    if (!runner.cancel(token)) return true;
    queueMicrotask(() => this.#settleLocal(token, CANCELED_STATUS, 0));
    return true;
  }

  /** Asks the backend to cancel every op in flight (the port is closing). */
  cancelAll(): void {
    for (const id of this.#pending.ids()) {
      const op = this.#pending.get(id);
      if (op !== undefined && op.kind === 'promise' && op.local !== undefined) this.#cancelLocal(op.local, -id);
      else this.#driver.cancel?.(-id);
    }
  }

  /** One completion of op `id`, drained from the ring. */
  complete(id: number, status: number, result: number, more: boolean): void {
    const op = this.#pending.get(id);
    if (!op) return;
    // A multishot op stays in flight, its buffers held, until its last.
    if (!more) this.#pending.delete(id);
    // A buffer detached while its op was in flight: the bytes went to (or
    // came from) memory that is no longer the caller's, so they are not
    // reported as data.
    if (status === 0 && lostMemory(op, id)) {
      this.#settleFailed(op, id, bufferDetached('buffer', 'while the op was in flight; what it transferred is lost'));
      return;
    }
    try {
      if (op.kind === 'op') {
        if (!more) op.owner?.untrack(-id);
        op.callback(status, result, more);
      } else if (op.kind === 'promise') {
        this.#settlePromise(op, id, status === 0 ? undefined : opError(status, result, op.details, op.signal, op.owner), result);
      } else {
        op.callback(id - op.firstId, status, result);
      }
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  // Fails an op that never reached the backend, or whose buffer went away
  // in flight: it leaves the ops in flight now, and its callback or promise
  // gets `error` on a later microtask (never inside the call that staged
  // or flushed it).
  #fail(id: number, error: Error): void {
    const op = this.#pending.get(id);
    if (op === undefined) return;
    this.#pending.delete(id);
    queueMicrotask(() => {
      this.#settleFailed(op, id, error);
      this.#host.opsFailed();
    });
  }

  // Settles a runOp promise, with `result` or with `error`, and keeps its
  // record for the next op.
  #settlePromise(op: PendingPromiseOp, id: number, error: Error | undefined, result: number): void {
    const { resolve, reject, owner, settled } = op;
    if (op.onAbort) op.signal?.removeEventListener('abort', op.onAbort);
    this.#retire(op);
    owner?.untrack(-id);
    settled?.();
    if (error === undefined) resolve(result);
    else reject(error);
  }

  // Drops what a settled runOp record references and keeps it for reuse.
  #retire(op: PendingPromiseOp): void {
    op.resolve = undefined as unknown as (result: number) => void;
    op.reject = undefined as unknown as (error: Error) => void;
    op.details = undefined as unknown as OpErrorDetails;
    op.signal = undefined;
    op.onAbort = undefined;
    op.settled = undefined;
    op.hold = undefined;
    op.owner = undefined;
    op.local = undefined;
    if (this.#spare.length < SPARE_PROMISE_OPS) this.#spare.push(op);
  }

  #settleFailed(op: Pending, id: number, error: Error): void {
    if (op.kind === 'promise') {
      this.#settlePromise(op, id, error, 0);
      return;
    }
    try {
      if (op.kind === 'op') {
        op.owner?.untrack(-id);
        op.callback(REFUSED_STATUS, 0, false, error);
      } else {
        op.callback(id - op.firstId, REFUSED_STATUS, 0, error);
      }
    } catch (thrown) {
      queueMicrotask(() => {
        throw thrown;
      });
    }
  }
}

// A runOp record as new (every field set again when it is taken).
function newPromiseOp(): PendingPromiseOp {
  return {
    kind: 'promise',
    resolve: undefined as unknown as (result: number) => void,
    reject: undefined as unknown as (error: Error) => void,
    details: undefined as unknown as OpErrorDetails,
    signal: undefined,
    onAbort: undefined,
    settled: undefined,
    hold: undefined,
    length: 0,
    owner: undefined,
    local: undefined,
  };
}

// Writes one op's fields at `index` of a submitBatch field array.
function writeFields(fields: Float64Array, index: number, request: OpRequest, token: number): void {
  const at = index * BATCH_FIELDS;
  fields[at] = request.kind;
  fields[at + 1] = token;
  fields[at + 2] = request.key ?? 0;
  fields[at + 3] = request.handle ?? -1;
  fields[at + 4] = request.offset ?? -1;
  fields[at + 5] = request.arg ?? 0;
}

// Whether the memory of a finished op is gone: a single buffer shorter
// than when the op was called, or a view in a list (or a batch) whose
// ArrayBuffer is detached. Cheap for the usual op: one comparison.
function lostMemory(op: Pending, id: number): boolean {
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

// The error of an op the native core refused ([index, code, message]).
function refusedError(code: string, message: string): Error {
  return codedError(code, message, undefined, TypeError);
}

function noOps(backend: BackendName): Error {
  return codedError(ErrorCodes.NOT_SUPPORTED, `The ${backend} backend runs no native ops`);
}

/** The error of a call on a port that close() was called on. */
export function portClosed(operation: string): Error {
  return codedError(ErrorCodes.PORT_CLOSED, `Cannot ${operation}: the port is closed`);
}
