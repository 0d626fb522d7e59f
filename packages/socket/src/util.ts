/**
 * Helpers the backends share: argument checks, name resolution, errors.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

import {
  AbortError,
  badPort,
  codedError,
  invalidArgType,
  validateAbortSignal,
  validateBufferSource,
  validateObject,
} from '@overlapped/common';

import type { OpOptions } from './types.js';

/**
 * Puts on a send's error how many leading bytes of its buffer the socket
 * took: bytes handed to the kernel (on the portable backend, to node:net's
 * socket), which reach the peer in order unless the connection itself
 * fails; none after them was taken, or ever will be.
 */
export function withBytesWritten<E extends Error>(error: E, bytesWritten: number): E & { bytesWritten: number } {
  return Object.assign(error, { bytesWritten });
}

/** The error of a send-like op whose signal was aborted before it started: nothing went out. */
export function abortedBeforeStart(signal: AbortSignal): AbortError & { bytesWritten: number } {
  return withBytesWritten(new AbortError(undefined, { cause: signal.reason }), 0);
}

/** `Symbol.asyncDispose` (Node 20 defines it; older runtimes get the symbol Node's polyfill used). */
export const asyncDispose: typeof Symbol.asyncDispose =
  (Symbol as { asyncDispose?: typeof Symbol.asyncDispose }).asyncDispose ??
  (Symbol.for('nodejs.asyncDispose') as typeof Symbol.asyncDispose);

/** The error of an op on a closed socket or server. */
export function socketClosed(syscall: string): Error & { code: string } {
  return codedError('ERR_SOCKET_CLOSED', `Socket is closed (${syscall})`, { syscall });
}

/** ERR_INVALID_STATE: the call does not fit the object's state. */
export function codedStateError(message: string): Error & { code: string } {
  return codedError('ERR_INVALID_STATE', `Invalid state: ${message}`);
}

/** Checks a buffer argument and returns it as a Uint8Array view of the same memory. */
export function checkBuffer(buffer: unknown, name = 'buffer'): Uint8Array {
  validateBufferSource(buffer, name);
  const view = buffer as ArrayBufferView;
  return view instanceof Uint8Array ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Checks op options. */
export function checkOpOptions(options: OpOptions | undefined): AbortSignal | undefined {
  validateObject(options, 'options', true);
  validateAbortSignal(options?.signal, 'options.signal');
  return options?.signal;
}

/** Checks a host argument. */
export function checkHost(host: unknown, name: string): string {
  if (typeof host !== 'string') throw invalidArgType(name, 'of type string', host);
  if (host.length === 0) throw invalidArgType(name, 'a non-empty string', host);
  return host;
}

/**
 * Checks a port argument as net does: a number, or a string of one, that
 * is an integer in [0, 65535] (0 only where `allowZero`), else
 * `ERR_SOCKET_BAD_PORT`; another type is `ERR_INVALID_ARG_TYPE`.
 */
export function checkPort(port: unknown, name: string, allowZero: boolean): number {
  if (typeof port !== 'number' && typeof port !== 'string') throw invalidArgType(name, 'one of type number or string', port);
  const value = typeof port === 'string' && port.trim().length === 0 ? NaN : Number(port);
  if (value !== value >>> 0 || value > 65535 || (value === 0 && !allowZero)) throw badPort(name, port, allowZero);
  return value;
}

/** A numeric address for `host` (names are looked up once). */
export async function numericHost(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const family = isIP(host);
  if (family === 4 || family === 6) return { address: host, family };
  const found = await lookup(host);
  return { address: found.address, family: found.family === 6 ? 6 : 4 };
}

/**
 * Accepted sockets waiting for a `for await` reader, shared by the native
 * and portable servers: a socket goes to the oldest waiting reader, else
 * into the queue; `end()` finishes every waiting reader.
 *
 * @example
 * ```ts
 * const accepted = new AcceptedQueue<Socket>();
 * accepted.push(socket);
 * const iterator = accepted.iterator(() => closed, () => server.close());
 * ```
 */
export class AcceptedQueue<T> {
  readonly #queue: T[] = [];
  readonly #waiters: Array<(result: IteratorResult<T>) => void> = [];

  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter({ done: false, value: item });
    else this.#queue.push(item);
  }

  end(): void {
    for (const waiter of this.#waiters.splice(0)) waiter({ done: true, value: undefined });
  }

  /** Iterates the queue; leaving the loop early calls `close`. */
  iterator(isClosed: () => boolean, close: () => Promise<void>): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.#queue.shift();
        if (item !== undefined) return Promise.resolve({ done: false, value: item });
        if (isClosed()) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => this.#waiters.push(resolve));
      },
      return: async () => {
        await close();
        return { done: true, value: undefined };
      },
    };
  }
}

/** What every queued send holds: its buffer, its signal and how to settle it. */
export interface QueuedSend {
  readonly buffer: Uint8Array;
  readonly signal: AbortSignal | undefined;
  resolve: (bytes: number) => void;
  reject: (error: unknown) => void;
  onAbort: (() => void) | undefined;
}

/**
 * The sends of one socket, in call order: the head is under way, the
 * others wait for it (two sends written at once could interleave their
 * bytes). Settling takes a send out wherever it is and puts `bytesWritten`
 * on its error.
 *
 * @example
 * ```ts
 * const sends = new SendQueue<QueuedSend>();
 * const done = sends.add((resolve, reject) => ({ buffer, signal, resolve, reject, onAbort: undefined }), abort);
 * if (sends.settle(sends.head!, undefined, buffer.byteLength) === 'head') startNext();
 * ```
 */
export class SendQueue<S extends QueuedSend> {
  readonly #sends: S[] = [];

  /** The send under way (or about to be), if any. */
  get head(): S | undefined {
    return this.#sends[0];
  }

  get length(): number {
    return this.#sends.length;
  }

  /** The sends queued now, head first (a copy: settling may change the queue). */
  list(): S[] {
    return this.#sends.slice();
  }

  /**
   * Queues the send `make` builds around the promise's settle functions;
   * `abort` runs if its signal aborts before it settles. `started` runs
   * when it is the head at once.
   */
  add(make: (resolve: (bytes: number) => void, reject: (error: unknown) => void) => S, abort: (send: S) => void, started: (send: S) => void): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const send = make(resolve, reject);
      const signal = send.signal;
      if (signal) {
        send.onAbort = () => abort(send);
        signal.addEventListener('abort', send.onAbort, { once: true });
      }
      this.#sends.push(send);
      if (this.#sends.length === 1) started(send);
    });
  }

  /**
   * Settles `send`: rejects with `error` (which gets `bytesWritten: bytes`)
   * or resolves with `bytes`. Says whether it was the head or waited, or
   * `undefined` if it had settled already.
   */
  settle(send: S, error: Error | undefined, bytes: number): 'head' | 'waiting' | undefined {
    const at = this.#sends.indexOf(send);
    if (at < 0) return undefined;
    this.#sends.splice(at, 1);
    if (send.onAbort) send.signal?.removeEventListener('abort', send.onAbort);
    if (error) send.reject(withBytesWritten(error, bytes));
    else send.resolve(bytes);
    return at === 0 ? 'head' : 'waiting';
  }
}
