/**
 * The ops of one owner (a socket) on a completion port, run through the
 * port's one op path and closed together.
 */
import { validateAbortSignal, validateFunction, validateObject, validateOneOf } from './validate.js';
import type { OpCallback, OpErrorDetails, OpRequest } from './port-contract.js';
import { type LocalOpRunner, opError, type OpOwner } from './port-ops.js';
import { type CompletionPort, portOps, validateOpRequest } from './port.js';

/** Options of an {@link OpGroup}. */
export interface OpGroupOptions {
  /** The error of an op started after {@link OpGroup.close}, or ended by it. */
  closedError: (syscall: string) => Error;
  /** How the group's system errors are worded: `net` (`recv ECONNRESET`) or `fs` (the default unless `details` has an address). */
  wording?: 'fs' | 'net';
}

/**
 * The ops of one owner (a socket, a file handle) on a port: each runs on
 * the port's op path (an aborted signal cancels it and it rejects with an
 * `AbortError`), and the group tracks them so that {@link close} can
 * cancel them all. Once the group is closed, an op of it that fails, with
 * ECANCELED or anything else the kernel reports for a handle closed under
 * it, fails with `closedError`, as does every op started afterwards.
 *
 * @example
 * ```ts
 * import { codedError, OpGroup } from '@overlapped/common';
 *
 * const ops = new OpGroup(port, { closedError: (syscall) => codedError('ERR_SOCKET_CLOSED', `Socket is closed (${syscall})`), wording: 'net' });
 * const received = ops.run({ kind: SocketOpKinds.recv, handle, buffers: buffer }, { syscall: 'recv' });
 * ops.close(); // `received` rejects with ERR_SOCKET_CLOSED unless it completed first
 * ```
 */
export class OpGroup {
  readonly #port: CompletionPort;
  readonly #closedError: (syscall: string) => Error;
  // The tokens of the group's ops in flight, oldest first. A socket has one
  // or two most of the time, so a list beats a Set, which V8 shrinks (and
  // rehashes) each time its last entry goes; ops mostly end oldest first,
  // which shift() takes without moving the rest.
  readonly #inFlight: number[] = [];
  #closed = false;
  // What the port's op table sees of the group. Its functions close over
  // the group, so an op in flight keeps the group reachable.
  readonly #owner: OpOwner;

  constructor(port: CompletionPort, options: OpGroupOptions) {
    validateObject(options, 'options');
    validateFunction(options.closedError, 'options.closedError');
    if (options.wording !== undefined) validateOneOf(options.wording, 'options.wording', ['fs', 'net'] as const);
    this.#port = port;
    this.#closedError = options.closedError;
    const inFlight = this.#inFlight;
    const group = this;
    this.#owner = {
      get closed() {
        return group.#closed;
      },
      closedError: options.closedError,
      wording: options.wording,
      track: (token) => {
        inFlight.push(token);
      },
      untrack: (token) => {
        const last = inFlight.length - 1;
        if (last < 0) return;
        if (inFlight[0] === token) inFlight.shift();
        else if (inFlight[last] === token) inFlight.pop();
        else {
          const at = inFlight.indexOf(token);
          if (at > 0) inFlight.splice(at, 1);
        }
      },
    };
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Ops of the group in flight. */
  get size(): number {
    return this.#inFlight.length;
  }

  /**
   * Runs one op, as {@link CompletionPort.runOp} does, and resolves with its
   * result; after {@link close}, rejects with the closed error.
   *
   * @example
   * ```ts
   * const bytes = await ops.run({ kind: SocketOpKinds.recv, handle, buffers: buffer }, { syscall: 'recv' }, signal);
   * ```
   */
  run(request: OpRequest, details: OpErrorDetails, signal?: AbortSignal): Promise<number> {
    validateOpRequest(request, 'request');
    validateAbortSignal(signal, 'signal');
    if (this.#closed) return Promise.reject(this.#closedError(details.syscall));
    return portOps(this.#port).run(request, details, signal, undefined, this.#owner);
  }

  /**
   * Runs one single-buffer op that `runner` carries out on the JS thread's
   * own event loop rather than on the port's native core (the socket
   * package's receives, where the native core watches the socket on the
   * loop), and resolves with its result. It is one of the group's ops and
   * one of the port's, as one that {@link run} starts: an aborted signal,
   * {@link close} and the port's close cancel it, its errors are the same,
   * and `buffer` is referenced until it settled.
   *
   * @example
   * ```ts
   * const bytes = await ops.runLocal(watcher, buffer, { syscall: 'recv' }, signal);
   * ```
   */
  runLocal(runner: LocalOpRunner, buffer: Uint8Array, details: OpErrorDetails, signal?: AbortSignal): Promise<number> {
    validateObject(runner, 'runner');
    validateAbortSignal(signal, 'signal');
    if (this.#closed) return Promise.reject(this.#closedError(details.syscall));
    return portOps(this.#port).runLocal(runner, buffer, details, signal, this.#owner);
  }

  /**
   * Starts one op whose completion goes to `callback` (as
   * {@link CompletionPort.submitOp}), for a caller that needs more than the
   * result (a send's progress); {@link error} turns a failed status into
   * the error {@link run} would reject with. Returns the token.
   *
   * @throws the closed error after {@link close}; `ERR_PORT_CLOSED` once the port closed
   *
   * @example
   * ```ts
   * const token = ops.submit(request, (status, result, _more, failed) => {
   *   if (status !== 0) reject(failed ?? ops.error(status, result, { syscall: 'send' }, signal));
   * });
   * ```
   */
  submit(request: OpRequest, callback: OpCallback): number {
    validateOpRequest(request, 'request');
    validateFunction(callback, 'callback');
    if (this.#closed) throw this.#closedError('submitOp');
    return portOps(this.#port).submit(request, callback, this.#owner);
  }

  /**
   * The error an op of this group that completed with `status` (and the raw
   * platform code `result`) fails with: `AbortError` when `signal` aborted
   * it or it was cancelled, the closed error once the group is closed, else
   * a system error described by `details`.
   *
   * @example
   * ```ts
   * const error = ops.error(status, result, { syscall: 'send' }, signal);
   * ```
   */
  error(status: number, result: number, details: OpErrorDetails, signal?: AbortSignal): Error {
    return opError(status, result, details, signal, this.#owner);
  }

  /**
   * Asks the port to cancel the op with `token` (one of this group's); whether it was in flight.
   *
   * @example
   * ```ts
   * const token = ops.submit(request, onDone);
   * ops.cancel(token); // onDone still runs once: with ECANCELED, or the op's own result
   * ```
   */
  cancel(token: number): boolean {
    return this.#inFlight.includes(token) && this.#port.cancelOp(token);
  }

  /**
   * Closes the group: ops started from now on fail with the closed error,
   * and every op in flight is cancelled (each still completes once, with
   * the closed error unless it finished first). Idempotent.
   *
   * @example
   * ```ts
   * ops.close();
   * await port.runOp({ kind: SocketOpKinds.close, handle }, { syscall: 'close' });
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // A copy: a cancel may settle (and untrack) an op before it returns.
    for (const token of this.#inFlight.slice()) this.#port.cancelOp(token);
  }
}
