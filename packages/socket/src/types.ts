/**
 * The shapes every backend's sockets and servers share.
 */
import type { Duplex } from 'node:stream';

import type { BackendName, BackendRequest } from '@overlapped/common';

import type { EventOptions, EventSocket, SocketHandlers } from './events.js';

/** Options of one op: `signal` cancels it (it then rejects with an `AbortError`). */
export interface OpOptions {
  signal?: AbortSignal;
}

/**
 * A file `sendFile` can send: an OverlappedFile of @overlapped/file (any
 * object that lends its handle under `Symbol.for('@overlapped/file.lendHandle')`
 * and reads with `readAt`).
 */
export interface SendableFile {
  readonly path: string;
  readonly backend: BackendName;
  readAt(buffer: ArrayBufferView, position: number, options?: { signal?: AbortSignal }): Promise<number>;
}

/**
 * Options of {@link Socket.sendFile}.
 *
 * @example
 * ```ts
 * const options: SendFileOptions = { position: 0, length: 4096, head: Buffer.from('HTTP/1.1 200 OK\r\n\r\n') };
 * ```
 */
export interface SendFileOptions extends OpOptions {
  /** Where in the file to start; default 0. */
  position?: number;
  /** Bytes of the file to send; default: to its end. A range past the end sends what the file holds. */
  length?: number;
  /** Bytes sent before the file's, in the same stream (an HTTP response head): they leave with the file's first bytes. */
  head?: ArrayBufferView;
  /**
   * Called with the bytes sent so far (head included) while the file goes
   * out: after each chunk on the portable backend, about every 100 ms
   * during a native op, and once at the end.
   */
  onProgress?: (bytesSent: number) => void;
}

/** An address and port, as `Server.address()` gives it. */
export interface SocketAddress {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

/**
 * A connected TCP socket whose I/O runs as ops on the completion port. Each
 * in-flight op holds its buffer until it completes: do not reuse a buffer
 * before the op's promise settles. Ops on a closed socket reject with
 * `ERR_SOCKET_CLOSED`. Several receives (and several sends) may be in
 * flight at once: they take (and send) the stream's bytes in call order.
 * `await using` closes it at the end of the scope.
 *
 * @example
 * ```ts
 * await using socket = await connect({ port: 7000 });
 * await socket.send(Buffer.from('ping'));
 * const n = await socket.recv(buffer, { signal: AbortSignal.timeout(1000) });
 * await socket.shutdown();
 * ```
 */
export interface Socket extends AsyncDisposable {
  /** The backend serving this socket. */
  readonly backend: BackendName;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** True once `close()` was called. */
  readonly closed: boolean;
  /**
   * Receives once into `buffer`: resolves with the bytes received, or 0 when
   * the peer has shut down its side. Receives in flight together are filled
   * in call order: joined in that order, their bytes are the stream.
   */
  recv(buffer: Uint8Array, options?: OpOptions): Promise<number>;
  /**
   * Sends all of `buffer`; resolves with its length once every byte is
   * sent. Sends go out in call order, one after the other. A send that
   * fails, is aborted or is ended by `close()` rejects with `bytesWritten`
   * on its error: the leading bytes of `buffer` the socket took (handed to
   * the kernel; on the portable backend, to node:net, in chunks of 64 KiB),
   * which reach the peer in order unless the connection itself fails; the
   * rest was never taken and never will be.
   */
  send(buffer: Uint8Array, options?: OpOptions): Promise<number>;
  /**
   * Sends `head` (if given), then `length` bytes of `file` from `position`,
   * in the socket's send order (after the sends and sendFiles called
   * before it). `file` is an OverlappedFile or a path (opened read-only for
   * the call, closed after). Resolves with the bytes sent, head included.
   * On the native backends the file's bytes never enter JavaScript:
   * TransmitFile on iocp, splice through a pipe on io_uring, sendfile(2)
   * on the thread pool; the portable backend reads and sends in chunks of
   * 64 KiB. A range past the end of the file sends what the file holds. A
   * sendFile that fails, is aborted or is ended by `close()` rejects with
   * `bytesWritten` (head included) as a send does; a path that cannot be
   * opened rejects as `fs.open` would (`ENOENT`, with `path`). The file
   * must stay open until it settles (its `close()` waits for it).
   *
   * @example
   * ```ts
   * const file = await open('/srv/www/index.html');
   * const head = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${await file.size()}\r\n\r\n`);
   * const sent = await socket.sendFile(file, { head, signal: AbortSignal.timeout(30_000) });
   * ```
   */
  sendFile(file: SendableFile | string | URL, options?: SendFileOptions): Promise<number>;
  /**
   * Half-close: shuts down our sending side (the peer's recv then returns
   * 0). A second call does nothing more and settles as the first did, as
   * net's `end()` does.
   */
  shutdown(): Promise<void>;
  /** Cancels the ops in flight (they reject with `ERR_SOCKET_CLOSED`) and closes. Idempotent. */
  close(): Promise<void>;
  /** Sets TCP_NODELAY (Nagle off when `on`, the default). */
  setNoDelay(on?: boolean): void;
  /** A Node Duplex over this socket, for code that wants streams. */
  toStream(): Duplex;
  /**
   * Hands the connection to the event API: the returned socket calls
   * `handlers` from now on (its `open` at once), and this Socket is closed
   * for use (its ops reject with `ERR_SOCKET_CLOSED`; its close() does
   * nothing). Needs a socket with no recv, send or forward in flight that
   * was not shut down (`ERR_INVALID_STATE`).
   *
   * @example
   * ```ts
   * const socket = await connect({ port: 7000 });
   * await socket.send(Buffer.from('HELLO\n')); // a handshake on the promise API
   * const events = socket.attach({ data: (s, bytes) => console.log(bytes.length) });
   * ```
   */
  attach<T = undefined>(handlers: SocketHandlers<T>, options?: Omit<EventOptions<T>, 'handlers'>): EventSocket<T>;
}

/**
 * Options of {@link listen}.
 *
 * @example
 * ```ts
 * const options: ListenOptions = { host: '127.0.0.1', port: 0, acceptDepth: 8 };
 * ```
 */
export interface ListenOptions {
  /** Numeric address or name to bind; default `127.0.0.1`. */
  host?: string;
  /** Port; 0 (the default) picks a free one, see `address()`. */
  port?: number;
  /** The kernel's accept queue length; default 511. */
  backlog?: number;
  /**
   * Accept ops kept posted at once (AcceptEx with pre-created sockets on
   * Windows, single-shot accepts elsewhere); default 4. Not used where one
   * multishot accept serves instead (see `multishot`).
   */
  acceptDepth?: number;
  /**
   * On io_uring with a kernel that has multishot accept (Linux 5.19+), one
   * accept op yields every connection (submitted again if the kernel ends
   * it) instead of `acceptDepth` ops; default true. `false` keeps
   * `acceptDepth` single-shot accepts posted. Other backends ignore it.
   */
  multishot?: boolean;
  /** Connections past this many live ones are accepted and closed at once (counted in `refused`). */
  maxConnections?: number;
  /** `auto` (default), or a backend name. */
  backend?: BackendRequest;
  /** Called with each accepted socket; without it, read them with `for await`. */
  onConnection?: (socket: Socket) => void;
}

/**
 * Options of {@link connect}.
 *
 * @example
 * ```ts
 * const options: ConnectOptions = { port: 7000, signal: AbortSignal.timeout(2000) };
 * ```
 */
export interface ConnectOptions {
  host?: string;
  port: number;
  signal?: AbortSignal;
  backend?: BackendRequest;
}

/**
 * A listening socket. Accepted sockets come through `onConnection` or the
 * async iterator. `close()` stops accepting and closes the listening
 * socket; connections accepted before stay open and belong to the app.
 * Leaving a `for await (const socket of server)` loop early (break,
 * return, throw) closes the server, as leaving a stream's loop destroys it;
 * to take one connection and keep listening, call `next()` on the iterator.
 * `await using` (Symbol.asyncDispose) closes it at the end of the scope.
 *
 * @example
 * ```ts
 * const server = await listen({ port: 0, maxConnections: 100 });
 * const { port } = server.address();
 * for await (const socket of server) void serve(socket);
 * ```
 */
export interface Server extends AsyncIterable<Socket>, AsyncDisposable {
  readonly backend: BackendName;
  address(): SocketAddress;
  /** Live accepted sockets (not yet closed). */
  readonly connections: number;
  /** Connections refused because `maxConnections` were live. */
  readonly refused: number;
  /**
   * How connections are accepted: `multishot` (io_uring: one op yields
   * every connection), `posted` (`acceptDepth` accept ops kept posted:
   * AcceptEx on Windows, io_uring without multishot, the reactor on the
   * thread pool) or `node` (the portable backend's net.Server).
   */
  readonly acceptMode: 'multishot' | 'posted' | 'node';
  /**
   * Accept ops submitted so far (0 on the portable backend). Under
   * `multishot` it stays 1 while the kernel keeps that op armed; it grows
   * when the op ended (an error such as EMFILE) and was submitted again.
   */
  readonly acceptOps: number;
  /** Stops accepting; resolves once the listening socket is closed. Idempotent. */
  close(): Promise<void>;
}
