/**
 * The event API: sockets that call handlers (open, data, drain, end,
 * timeout, error, close) instead of answering recv/send promises. The rules
 * every driver shares live here, once: handler dispatch, byte counts,
 * bufferedAmount and its water marks, readyState, timeouts, the order of
 * end, error and close, and what a throwing handler does.
 */
import {
  type BackendName,
  codedError,
  invalidArgType,
  validateFunction,
  validateInteger,
  validateObject,
} from '@overlapped/common';

import type { SocketDriver } from './driver.js';
import { type EventConnection, eventDriverFor, type EventOpenOptions, type EventSink } from './event-driver.js';
import { DEFAULT_READ_BUFFER_SIZE } from './ops-events.js';
import { checkSendFileCall, type SendFileRequest } from './send-file.js';
import type { TcpServer } from './socket.js';
import type { SendableFile, SendFileOptions, SocketAddress } from './types.js';
import { abortedBeforeStart, asyncDispose, checkBuffer, socketClosed, withBytesWritten } from './util.js';

/**
 * What an event socket calls. Every handler is optional; each gets the
 * socket first. A handler that throws has its error reported as an
 * uncaught exception (process 'uncaughtException') and its socket reset;
 * other sockets go on.
 *
 * @example
 * ```ts
 * const handlers: SocketHandlers = {
 *   data(socket, bytes) { socket.write(bytes); },      // an echo
 *   end(socket) { socket.end(); },
 *   error(socket, error) { console.error(error.message); },
 * };
 * ```
 */
export interface SocketHandlers<T = undefined> {
  /** Connected (on a server: accepted), before any data. */
  open?(socket: EventSocket<T>): void;
  /**
   * Bytes received. `bytes` is a view into the socket's receive memory,
   * valid ONLY during the call (no copy was made): copy it to keep it.
   */
  data?(socket: EventSocket<T>, bytes: Uint8Array): void;
  /** After write() returned false, once bufferedAmount fell to half the high-water mark or lower. */
  drain?(socket: EventSocket<T>): void;
  /**
   * The peer half-closed (FIN): no more data comes; the socket can still
   * write; call end() to finish. Without this handler the socket ends its
   * side at once.
   */
  end?(socket: EventSocket<T>): void;
  /** No byte moved either way for the setTimeout() time; once per idle period. */
  timeout?(socket: EventSocket<T>): void;
  /** A system error (ECONNRESET, EPIPE...); close follows. */
  error?(socket: EventSocket<T>, error: Error): void;
  /** Exactly once, last: with the error the socket died of, if any. */
  close?(socket: EventSocket<T>, error?: Error): void;
}

/**
 * A connected socket driven by events: the backend keeps receiving into its
 * own memory and calls `data`; `write` sends at once what the kernel takes
 * and queues the rest (copied) with backpressure.
 *
 * @example
 * ```ts
 * const socket = await connect({ port: 7000, handlers: { data: (s, bytes) => console.log(bytes.length) } });
 * if (!socket.write('hello')) console.log('wait for drain');
 * socket.end();
 * ```
 */
export interface EventSocket<T = undefined> {
  /** Yours: what you keep per connection (set it in `open`). */
  data: T;
  readonly backend: BackendName;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Bytes received (given to `data`). */
  readonly bytesRead: number;
  /** Bytes the kernel took. */
  readonly bytesWritten: number;
  /** Bytes write() accepted that the kernel did not take yet. */
  readonly bufferedAmount: number;
  /** 'readOnly': we ended our side; 'writeOnly': the peer ended its side; 'closed' once close() or reset() ran or both sides ended. */
  readonly readyState: 'open' | 'readOnly' | 'writeOnly' | 'closed';
  /**
   * Sends now what the kernel takes and queues the rest (a copy: reuse
   * `bytes` at once). Returns false once bufferedAmount reached the
   * high-water mark: wait for `drain` before writing more.
   *
   * @throws ERR_STREAM_WRITE_AFTER_END after end(); ERR_SOCKET_CLOSED once closed
   */
  write(bytes: Uint8Array | string): boolean;
  /**
   * Sends `head` (if given), then `length` bytes of `file` from `position`,
   * with the same arguments, result and errors as `Socket.sendFile`
   * (the file's bytes never enter JavaScript on the native backends). It
   * keeps the order of write(): what was written before goes out first,
   * what is written while it runs is held (counted in bufferedAmount, with
   * the usual backpressure) and goes out after it; end() and close() wait
   * for it. A reset(), or the connection's close, while it runs rejects it
   * with `ERR_SOCKET_CLOSED` and `bytesWritten`. Its bytes count in
   * bytesWritten once it settles.
   *
   * @example
   * ```ts
   * const head = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n');
   * const sent = await socket.sendFile('/srv/www/1k.bin', { head });
   * socket.write('next response...');
   * ```
   */
  sendFile(file: SendableFile | string | URL, options?: SendFileOptions): Promise<number>;
  /** Writes `bytes` if given, then half-closes (FIN) once the queue is out. Idempotent. */
  end(bytes?: Uint8Array | string): void;
  /** Stops receiving (a slow consumer); `data` stops until resume(). */
  pause(): void;
  resume(): void;
  /** Calls `timeout` when no byte moved for `ms` (checked every `ms`; a running sendFile counts as moving); 0 turns it off. */
  setTimeout(ms: number): void;
  /** TCP_NODELAY (Nagle off when `on`, the default). */
  setNoDelay(on?: boolean): void;
  /** Graceful: what is queued goes out, then the socket closes (`close` follows). Idempotent. */
  close(): void;
  /** Closes at once with a reset (RST); the queue is dropped (`close` follows). */
  reset(): void;
}

/**
 * A listening socket whose connections are {@link EventSocket}s.
 *
 * @example
 * ```ts
 * await using server = await listen({ port: 0, handlers: { data: (s, b) => s.write(b) } });
 * console.log(server.address().port, server.connections);
 * ```
 */
export interface EventServer extends AsyncDisposable {
  readonly backend: BackendName;
  address(): SocketAddress;
  /** Live connections (accepted, not closed yet). */
  readonly connections: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections refused because `maxConnections` were live. */
  readonly refused: number;
  readonly maxConnections: number;
  /**
   * Stops accepting and closes the listening socket; with `force`, also
   * closes every live connection (their queued bytes go out first) and
   * resolves once each one's `close` ran. Idempotent.
   */
  close(options?: { force?: boolean }): Promise<void>;
}

/**
 * Options of an event socket: `handlers`, and its memory.
 *
 * @example
 * ```ts
 * const options: EventOptions = { handlers: { data: (s, b) => s.write(b) }, highWaterMark: 256 * 1024 };
 * ```
 */
export interface EventOptions<T = undefined> {
  handlers: SocketHandlers<T>;
  /** bufferedAmount at which write() returns false; default 1 MiB. `drain` comes at half or lower. */
  highWaterMark?: number;
  /** Bytes of the receive buffer each connection keeps (the generic driver's); default 64 KiB. */
  readBufferSize?: number;
}

/** Validated event options. */
export interface EventConfig {
  handlers: SocketHandlers<unknown>;
  highWaterMark: number;
  open: EventOpenOptions;
}

const HANDLER_NAMES = ['open', 'data', 'drain', 'end', 'timeout', 'error', 'close'] as const;

/** Checks the event options (`ERR_*` errors before any I/O). */
export function eventConfig(options: EventOptions<unknown>, name: string): EventConfig {
  const handlers = options.handlers;
  validateObject(handlers, `${name}.handlers`);
  for (const key of HANDLER_NAMES) {
    if (handlers[key] !== undefined) validateFunction(handlers[key], `${name}.handlers.${key}`);
  }
  const highWaterMark = options.highWaterMark ?? 1024 * 1024;
  validateInteger(highWaterMark, `${name}.highWaterMark`, 1, 2 ** 31 - 1);
  const readBufferSize = options.readBufferSize ?? DEFAULT_READ_BUFFER_SIZE;
  validateInteger(readBufferSize, `${name}.readBufferSize`, 1, 2 ** 30);
  return { handlers: { ...handlers }, highWaterMark, open: { readBufferSize } };
}

/** Reports a handler's exception as uncaught, on its own turn, as an EventEmitter listener's would be. */
function rethrow(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

function bytesOf(bytes: unknown, name: string): Uint8Array {
  if (typeof bytes === 'string') return Buffer.from(bytes);
  if (bytes instanceof Uint8Array) return bytes;
  if (ArrayBuffer.isView(bytes)) return checkBuffer(bytes, name);
  throw invalidArgType(name, 'of type string or an instance of Uint8Array', bytes);
}

/** A sendFile of an event socket, waiting for its turn or running. */
interface EventFileSend {
  readonly request: SendFileRequest;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (bytes: number) => void;
  readonly reject: (error: Error) => void;
  /** Aborts the running sendFile when the socket is reset or closed under it. */
  stop?: AbortController;
  /** Tells the driver the running sendFile no longer holds the handle. */
  release?: () => void;
}

/** One event socket over a driver's connection. */
class TcpEventSocket implements EventSocket<unknown> {
  data: unknown = undefined;
  readonly backend: BackendName;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly #handlers: SocketHandlers<unknown>;
  readonly #highWaterMark: number;
  readonly #connection: EventConnection;
  // The socket the driver took over: sendFile runs on it (same handle).
  readonly #socket: SocketDriver;
  readonly #onClosed: ((socket: TcpEventSocket) => void) | undefined;
  #bytesRead = 0;
  #accepted = 0;
  #buffered = 0;
  #needDrain = false;
  // The peer has not ended its side / we have not ended ours.
  #readable = true;
  #writable = true;
  // close() or reset() was called, or both sides ended: no more events but close.
  #closing = false;
  #closed = false;
  // Why the socket was reset by us (a handler threw), for `close`.
  #closeError: Error | undefined;
  #timeoutMs = 0;
  #timer: NodeJS.Timeout | undefined;
  // Bytes moved since the timer last looked, and whether it fired in this idle period.
  #active = false;
  #timedOut = false;
  // pause(): a driver may still hand over bytes it had already received
  // (a batch read before the pause); they wait here, copied, with a FIN
  // behind them, until resume().
  #paused = false;
  #held: Uint8Array[] = [];
  #endHeld = false;
  // sendFile: the one running, and behind it, in order, the sendFiles and
  // the writes (copied) that wait for it; `#laterBytes` counts the writes.
  // The driver's end() and close() wait for all of them.
  #file: EventFileSend | undefined;
  #later: Array<Uint8Array | EventFileSend> = [];
  #laterBytes = 0;
  #queued = 0;
  #endWanted = false;
  #closeWanted = false;
  #resetWanted = false;

  constructor(
    backend: BackendName,
    socket: SocketDriver,
    config: EventConfig,
    onClosed?: (socket: TcpEventSocket) => void,
  ) {
    this.backend = backend;
    ({
      localAddress: this.localAddress,
      localPort: this.localPort,
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
    } = socket.names);
    this.#handlers = config.handlers;
    this.#highWaterMark = config.highWaterMark;
    this.#onClosed = onClosed;
    this.#socket = socket;
    const sink: EventSink = {
      data: (view) => this.#onData(view),
      writable: (queued) => this.#onWritable(queued ?? 0),
      end: () => this.#onEnd(),
      closed: (error) => this.#onClose(error),
    };
    this.#connection = eventDriverFor(backend).open(socket, sink, config.open);
    const open = this.#handlers.open;
    if (open) this.#call(open);
  }

  get bytesRead(): number {
    return this.#bytesRead;
  }

  get bytesWritten(): number {
    return this.#accepted - this.#buffered;
  }

  get bufferedAmount(): number {
    return this.#buffered;
  }

  get readyState(): 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.#closing) return 'closed';
    if (this.#readable) return this.#writable ? 'open' : 'readOnly';
    return this.#writable ? 'writeOnly' : 'closed';
  }

  write(bytes: Uint8Array | string): boolean {
    const view = bytesOf(bytes, 'bytes');
    if (this.#closing) throw socketClosed('write');
    if (!this.#writable) throw codedError('ERR_STREAM_WRITE_AFTER_END', 'write after end', { syscall: 'write' });
    if (view.byteLength > 0) {
      this.#accepted += view.byteLength;
      this.#active = true;
      if (this.#busy) {
        this.#later.push(view.slice());
        this.#laterBytes += view.byteLength;
      } else {
        this.#queued = this.#connection.write(view);
      }
      this.#buffered = this.#queued + this.#laterBytes;
    }
    if (this.#buffered < this.#highWaterMark) return true;
    this.#needDrain = true;
    return false;
  }

  sendFile(file: SendableFile | string | URL, options?: SendFileOptions): Promise<number> {
    const { request, signal } = checkSendFileCall(file, options, this.backend);
    if (this.#closing) return Promise.reject(withBytesWritten(socketClosed('sendfile'), 0));
    if (!this.#writable) {
      const error = codedError('ERR_STREAM_WRITE_AFTER_END', 'write after end', { syscall: 'sendfile' });
      return Promise.reject(withBytesWritten(error, 0));
    }
    if (signal?.aborted) return Promise.reject(abortedBeforeStart(signal));
    return new Promise<number>((resolve, reject) => {
      this.#later.push({ request, signal, resolve, reject });
      this.#pump();
    });
  }

  // A sendFile runs or waits: writes, end() and close() wait behind it.
  get #busy(): boolean {
    return this.#file !== undefined || this.#later.length > 0;
  }

  // Moves what waits to the driver, in order, up to the next sendFile,
  // which starts once the driver's queue is empty; then the end() or
  // close() that waited.
  #pump(): void {
    while (this.#file === undefined && !this.#closed) {
      const next = this.#later[0];
      if (next === undefined) {
        if (this.#closeWanted) this.#connection.close();
        else if (this.#endWanted) this.#connection.end();
        this.#closeWanted = this.#endWanted = false;
        return;
      }
      if (next instanceof Uint8Array) {
        this.#later.shift();
        this.#laterBytes -= next.byteLength;
        this.#queued = this.#connection.write(next);
        this.#buffered = this.#queued + this.#laterBytes;
        continue;
      }
      // The driver's queue goes first: writable(0) calls back.
      if (this.#queued > 0) return;
      this.#later.shift();
      this.#startFile(next);
    }
  }

  #startFile(send: EventFileSend): void {
    if (send.signal?.aborted) {
      send.reject(abortedBeforeStart(send.signal));
      return;
    }
    this.#file = send;
    send.stop = new AbortController();
    const signal = send.signal === undefined ? send.stop.signal : AbortSignal.any([send.signal, send.stop.signal]);
    this.#active = true;
    send.release = this.#connection.lend?.();
    this.#socket.sendFile(send.request, signal).then(
      (bytes) => this.#fileSettled(send, undefined, bytes),
      (error: Error & { bytesWritten?: number }) => this.#fileSettled(send, error, error.bytesWritten ?? 0),
    );
  }

  #fileSettled(send: EventFileSend, error: Error | undefined, bytes: number): void {
    send.release?.();
    this.#file = undefined;
    this.#accepted += bytes;
    this.#active = true;
    if (error === undefined) send.resolve(bytes);
    // Stopped by a reset or the close: it fails as a closed socket's does.
    else if (send.stop!.signal.aborted && !send.signal?.aborted) send.reject(withBytesWritten(socketClosed('sendfile'), bytes));
    else send.reject(error);
    if (this.#resetWanted) {
      this.#resetWanted = false;
      this.#connection.reset();
      return;
    }
    if (this.#closed) {
      this.#dropLater();
      return;
    }
    this.#pump();
    this.#checkDrain();
  }

  // The socket closed: what waited is never sent.
  #dropLater(): void {
    const later = this.#later;
    this.#later = [];
    this.#laterBytes = 0;
    for (const send of later) {
      if (!(send instanceof Uint8Array)) send.reject(withBytesWritten(socketClosed('sendfile'), 0));
    }
  }

  end(bytes?: Uint8Array | string): void {
    if (bytes !== undefined) {
      const view = bytesOf(bytes, 'bytes');
      if (!this.#writable || this.#closing) return;
      this.write(view);
    }
    if (!this.#writable || this.#closing) return;
    this.#writable = false;
    if (this.#busy) this.#endWanted = true;
    else this.#connection.end();
    this.#finishIfDone();
  }

  pause(): void {
    if (this.#closing) return;
    this.#paused = true;
    this.#connection.pause();
  }

  resume(): void {
    if (this.#closing) return;
    this.#paused = false;
    // What came in after the pause goes first, in order, then the FIN behind it.
    while (this.#held.length > 0 && !this.#paused && !this.#closing) this.#deliver(this.#held.shift()!);
    if (this.#paused || this.#closing) return;
    if (this.#endHeld) {
      this.#endHeld = false;
      this.#onEnd();
    }
    if (!this.#paused && !this.#closing) this.#connection.resume();
  }

  setTimeout(ms: number): void {
    validateInteger(ms, 'ms', 0, 2 ** 31 - 1);
    this.#timeoutMs = ms;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#active = false;
    this.#timedOut = false;
    if (ms > 0 && !this.#closed) this.#timer = setTimeout(this.#checkIdle, ms).unref();
  }

  setNoDelay(on?: boolean): void {
    if (on !== undefined && typeof on !== 'boolean') throw invalidArgType('on', 'of type boolean', on);
    if (this.#closing) throw socketClosed('setNoDelay');
    this.#connection.setNoDelay(on ?? true);
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closeConnection();
  }

  reset(): void {
    if (this.#closed) return;
    this.#closing = true;
    this.#dropLater();
    this.#endWanted = this.#closeWanted = false;
    if (this.#file === undefined) {
      this.#connection.reset();
      return;
    }
    // The handle stays open until the running sendFile let go of it.
    this.#resetWanted = true;
    this.#file.stop!.abort();
  }

  #closeConnection(): void {
    if (this.#busy) this.#closeWanted = true;
    else this.#connection.close();
  }

  readonly #checkIdle = (): void => {
    if (this.#closed) return;
    // A running sendFile moves bytes the socket does not see one by one.
    if (this.#active || this.#file !== undefined) {
      this.#active = false;
      this.#timedOut = false;
    } else if (!this.#timedOut && !this.#closing) {
      this.#timedOut = true;
      const timeout = this.#handlers.timeout;
      if (timeout) this.#call(timeout);
    }
    if (!this.#closed && this.#timer) this.#timer.refresh();
  };

  #onData(view: Uint8Array): void {
    if (this.#closing) return;
    if (this.#paused || this.#held.length > 0) {
      this.#held.push(view.slice());
      return;
    }
    this.#deliver(view);
  }

  #deliver(view: Uint8Array): void {
    this.#bytesRead += view.byteLength;
    this.#active = true;
    const data = this.#handlers.data;
    if (data === undefined) return;
    try {
      data(this, view);
    } catch (error) {
      this.#threw(error);
    }
  }

  #onWritable(queued: number): void {
    this.#queued = queued;
    if (queued === 0 && this.#file === undefined && this.#later.length > 0) this.#pump();
    this.#buffered = this.#queued + this.#laterBytes;
    this.#active = true;
    this.#checkDrain();
  }

  #checkDrain(): void {
    if (!this.#needDrain || this.#buffered > this.#highWaterMark / 2 || this.#closing) return;
    this.#needDrain = false;
    const drain = this.#handlers.drain;
    if (drain) this.#call(drain);
  }

  #onEnd(): void {
    if (this.#closing || !this.#readable) return;
    if (this.#paused || this.#held.length > 0) {
      this.#endHeld = true;
      return;
    }
    this.#readable = false;
    const end = this.#handlers.end;
    if (end) this.#call(end);
    else this.end();
    this.#finishIfDone();
  }

  // Both sides ended: the connection is done; it closes once the queue is out.
  #finishIfDone(): void {
    if (this.#readable || this.#writable || this.#closing) return;
    this.#closing = true;
    this.#closeConnection();
  }

  #onClose(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing = true;
    this.#dropLater();
    this.#file?.stop!.abort();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const { error: onError, close } = this.#handlers;
    if (error && onError) {
      try {
        onError(this, error);
      } catch (thrown) {
        rethrow(thrown);
      }
    }
    this.#onClosed?.(this);
    if (close) {
      try {
        close(this, error ?? this.#closeError);
      } catch (thrown) {
        rethrow(thrown);
      }
    }
  }

  #call(handler: (socket: EventSocket<unknown>) => void): void {
    try {
      handler(this);
    } catch (error) {
      this.#threw(error);
    }
  }

  // A handler threw: the error is the app's uncaught exception, the socket is reset.
  #threw(error: unknown): void {
    rethrow(error);
    if (this.#closed) return;
    this.#closeError = error instanceof Error ? error : new Error(String(error));
    this.reset();
  }
}

/**
 * Makes an event socket of a connected socket's driver (connect, attach).
 * Internal to the package.
 */
export function openEventSocket<T>(backend: BackendName, socket: SocketDriver, config: EventConfig): EventSocket<T> {
  return new TcpEventSocket(backend, socket, config) as EventSocket<T>;
}

/**
 * A server whose connections are event sockets: a {@link TcpServer} that
 * hands each admitted connection's driver here.
 */
export class TcpEventServer implements EventServer {
  readonly backend: BackendName;
  readonly maxConnections: number;
  readonly #config: EventConfig;
  readonly #live = new Set<TcpEventSocket>();
  #server: TcpServer | undefined;
  #accepted = 0;
  #closing: Promise<void> | undefined;
  #allClosed: (() => void) | undefined;

  constructor(backend: BackendName, maxConnections: number, config: EventConfig) {
    this.backend = backend;
    this.maxConnections = maxConnections;
    this.#config = config;
  }

  /** Attaches the listening server. */
  listening(server: TcpServer): this {
    this.#server = server;
    return this;
  }

  /** One admitted connection: it becomes an event socket. */
  readonly adopt = (socket: SocketDriver): void => {
    this.#accepted++;
    // Its close comes on a later turn, even when `open` closed it.
    this.#live.add(new TcpEventSocket(this.backend, socket, this.#config, this.#forget));
  };

  readonly #forget = (socket: TcpEventSocket): void => {
    this.#live.delete(socket);
    if (this.#live.size === 0) this.#allClosed?.();
  };

  address(): SocketAddress {
    return this.#server!.address();
  }

  get connections(): number {
    return this.#server!.connections;
  }

  get accepted(): number {
    return this.#accepted;
  }

  get refused(): number {
    return this.#server!.refused;
  }

  close(options?: { force?: boolean }): Promise<void> {
    validateObject(options, 'options', true);
    const force = options?.force ?? false;
    if (typeof force !== 'boolean') throw invalidArgType('options.force', 'of type boolean', force);
    this.#closing ??= this.#server!.close();
    if (!force) return this.#closing;
    const everyClose = new Promise<void>((resolve) => {
      this.#allClosed = resolve;
      if (this.#live.size === 0) resolve();
    });
    for (const socket of [...this.#live]) socket.close();
    return Promise.all([this.#closing, everyClose]).then(() => undefined);
  }

  /** `await using server = ...`: closes the server when the scope ends. */
  [asyncDispose](): Promise<void> {
    return this.close();
  }
}
