/**
 * The one Socket and Server of every backend: they validate each call
 * (`ERR_*` errors, thrown before any I/O), keep the rules every backend
 * shares (closed sockets, aborted signals, empty sends, once-only shutdown
 * and close, connection counts) and delegate the I/O to a backend's driver.
 */
import type { Duplex } from 'node:stream';

import { AbortError, type BackendName, invalidArgType, validateObject } from '@overlapped/common';

import type { AcceptedConnection, ListenerDriver, SocketDriver, SocketNames } from './driver.js';
import { type EventOptions, type EventSocket, eventConfig, openEventSocket } from './events.js';
import { socketToStream } from './stream.js';
import { checkSendFileCall } from './send-file.js';
import type { OpOptions, SendableFile, SendFileOptions, Server, Socket, SocketAddress } from './types.js';
import { abortedBeforeStart, AcceptedQueue, asyncDispose, checkBuffer, checkOpOptions, codedStateError, socketClosed, withBytesWritten } from './util.js';

/**
 * What {@link forward} needs of a socket, past its public API: its driver,
 * and the cancels its close() runs before the driver closes (a forward that
 * writes to it ends then). Internal to the package.
 */
export interface SocketInternals {
  readonly driver: SocketDriver;
  readonly closeCancels: Set<() => void>;
}

/** The internals of `socket`, or undefined when it is no TcpSocket. */
export let socketInternals: (socket: unknown) => SocketInternals | undefined;

/** A connected TCP socket over a backend's {@link SocketDriver}. */
export class TcpSocket implements Socket {
  readonly backend: BackendName;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  #driver: SocketDriver;
  readonly #closeCancels = new Set<() => void>();
  #shutdown: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  static {
    socketInternals = (socket) =>
      socket instanceof TcpSocket ? { driver: socket.#driver, closeCancels: socket.#closeCancels } : undefined;
  }

  constructor(backend: BackendName, driver: SocketDriver) {
    this.backend = backend;
    this.#driver = driver;
    ({
      localAddress: this.localAddress,
      localPort: this.localPort,
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
    } = driver.names);
  }

  get closed(): boolean {
    return this.#driver.closed;
  }

  recv(buffer: Uint8Array, options?: OpOptions): Promise<number> {
    const view = checkBuffer(buffer);
    if (view.byteLength === 0) throw invalidArgType('buffer', 'a non-empty buffer', buffer);
    const signal = checkOpOptions(options);
    if (this.#driver.closed) return Promise.reject(socketClosed('recv'));
    if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    return this.#driver.recv(view, signal);
  }

  send(buffer: Uint8Array, options?: OpOptions): Promise<number> {
    const view = checkBuffer(buffer);
    const signal = checkOpOptions(options);
    if (this.#driver.closed) return Promise.reject(withBytesWritten(socketClosed('send'), 0));
    if (view.byteLength === 0) return Promise.resolve(0);
    if (signal?.aborted) return Promise.reject(abortedBeforeStart(signal));
    return this.#driver.send(view, signal);
  }

  sendFile(file: SendableFile | string | URL, options?: SendFileOptions): Promise<number> {
    const { request, signal } = checkSendFileCall(file, options, this.backend);
    if (this.#driver.closed) return Promise.reject(withBytesWritten(socketClosed('sendfile'), 0));
    if (signal?.aborted) return Promise.reject(abortedBeforeStart(signal));
    return this.#driver.sendFile(request, signal);
  }

  shutdown(): Promise<void> {
    this.#shutdown ??= this.#driver.closed ? Promise.reject(socketClosed('shutdown')) : this.#driver.shutdown();
    return this.#shutdown;
  }

  close(): Promise<void> {
    if (!this.#closing) {
      // A forward that uses this socket ends first (its ops are not all
      // this socket's own).
      for (const cancel of this.#closeCancels) cancel();
      this.#closing = this.#driver.close();
    }
    return this.#closing;
  }

  /** `await using socket = ...`: closes the socket when the scope ends. */
  [asyncDispose](): Promise<void> {
    return this.close();
  }

  setNoDelay(on?: boolean): void {
    if (on !== undefined && typeof on !== 'boolean') throw invalidArgType('on', 'of type boolean', on);
    if (this.#driver.closed) throw socketClosed('setNoDelay');
    this.#driver.setNoDelay(on ?? true);
  }

  toStream(): Duplex {
    return socketToStream(this);
  }

  attach<T = undefined>(handlers: EventOptions<T>['handlers'], options?: Omit<EventOptions<T>, 'handlers'>): EventSocket<T> {
    validateObject(options, 'options', true);
    const config = eventConfig({ ...options, handlers } as EventOptions<unknown>, 'options');
    if (this.#driver.closed) throw socketClosed('attach');
    if (!this.#driver.idle || this.#shutdown || this.#closeCancels.size > 0) {
      throw codedStateError('attach() needs a socket with no recv, send or forward in flight that was not shut down');
    }
    const driver = this.#driver;
    this.#driver = new AttachedDriver(driver.names);
    return openEventSocket<T>(this.backend, driver, config);
  }
}

/** What a Socket holds once attach() gave its connection to an event socket: a closed socket. */
class AttachedDriver implements SocketDriver {
  readonly closed = true;
  readonly idle = true;
  readonly names: SocketNames;

  constructor(names: SocketNames) {
    this.names = names;
  }

  recv(): Promise<number> {
    return Promise.reject(socketClosed('recv'));
  }

  send(): Promise<number> {
    return Promise.reject(withBytesWritten(socketClosed('send'), 0));
  }

  sendFile(): Promise<number> {
    return Promise.reject(withBytesWritten(socketClosed('sendfile'), 0));
  }

  shutdown(): Promise<void> {
    return Promise.reject(socketClosed('shutdown'));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  setNoDelay(): void {
    throw socketClosed('setNoDelay');
  }

  resetOnClose(): void {}
}

/** What a server does with each admitted connection. */
export type ServerAccept =
  /** Wraps it in a socket, for `onConnection` (or the iterator when absent). */
  | { onConnection: ((socket: Socket) => void) | undefined }
  /** Hands the backend's raw connection over (the echo server's own loops). */
  | { onAccepted: (connection: AcceptedConnection) => void }
  /** Hands the opened socket's driver over (an event server's sockets). */
  | { onDriver: (driver: SocketDriver) => void };

/**
 * A listening socket over a backend's {@link ListenerDriver}: admits each
 * accepted connection (up to `maxConnections` live ones), counts them, and
 * hands them to `onConnection` or the iterator.
 */
export class TcpServer implements Server {
  readonly backend: BackendName;
  readonly #maxConnections: number;
  readonly #accept: ServerAccept;
  readonly #accepted = new AcceptedQueue<Socket>();
  #listener: ListenerDriver | undefined;
  #connections = 0;
  #refused = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  /** Made before listening: the listener's accepted connections come to {@link admit}. */
  constructor(backend: BackendName, maxConnections: number, accept: ServerAccept) {
    this.backend = backend;
    this.#maxConnections = maxConnections;
    this.#accept = accept;
  }

  /** Attaches the listener once it listens. */
  listening(listener: ListenerDriver): this {
    this.#listener = listener;
    return this;
  }

  get acceptMode(): 'multishot' | 'posted' | 'node' {
    return this.#listener!.acceptMode;
  }

  get acceptOps(): number {
    return this.#listener!.acceptOps;
  }

  get connections(): number {
    return this.#connections;
  }

  get refused(): number {
    return this.#refused;
  }

  address(): SocketAddress {
    return { ...this.#listener!.address };
  }

  /** Counts a connection the owner handles itself (the echo server's raw ones) as live, or no longer. */
  track(delta: number): void {
    this.#connections += delta;
  }

  /**
   * One connection the listener accepted: closed at once (and counted
   * refused) when `maxConnections` are live or the server is closed, else
   * handed on.
   */
  readonly admit = (connection: AcceptedConnection): void => {
    if (this.#closed || this.#connections >= this.#maxConnections) {
      this.#refused++;
      connection.refuse();
      return;
    }
    if ('onAccepted' in this.#accept) {
      this.#accept.onAccepted(connection);
      return;
    }
    let driver: SocketDriver;
    try {
      driver = connection.open(() => this.#connections--);
    } catch {
      // The port would never see this socket's completions: drop it.
      connection.refuse();
      return;
    }
    this.#connections++;
    if ('onDriver' in this.#accept) {
      this.#accept.onDriver(driver);
      return;
    }
    const socket = new TcpSocket(this.backend, driver);
    const onConnection = this.#accept.onConnection;
    if (onConnection) onConnection(socket);
    else this.#accepted.push(socket);
  };

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#closing = this.#listener!.close().then(() => this.#accepted.end());
    return this.#closing;
  }

  [Symbol.asyncIterator](): AsyncIterator<Socket> {
    return this.#accepted.iterator(() => this.#closed, () => this.close());
  }

  /** `await using server = ...`: closes the server when the scope ends. */
  [asyncDispose](): Promise<void> {
    return this.close();
  }
}
