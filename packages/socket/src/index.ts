/**
 * @overlapped/socket: TCP on the completion port. Accept, connect, recv,
 * send, shutdown and close are ops the kernel completes into your buffers
 * (IOCP on Windows, io_uring on Linux, a readiness reactor on the POSIX
 * thread pool, node:net on the portable backend); `forward` moves one
 * socket's bytes to another (a proxy, an echo) on the native workers with
 * no JS per message.
 *
 * @packageDocumentation
 */
import {
  type BackendRequest,
  invalidArgType,
  validateFunction,
  validateInteger,
  validateObject,
  validateOneOf,
} from '@overlapped/common';

import { socketDriverFor } from './backends.js';
import { EchoServer, type EchoConfig } from './echo.js';
import { type EventConfig, type EventOptions, type EventServer, type EventSocket, eventConfig, openEventSocket, TcpEventServer } from './events.js';
import { TcpServer, TcpSocket } from './socket.js';
import type { ConnectOptions, ListenOptions, Server, Socket } from './types.js';
import { checkHost, checkOpOptions, checkPort, numericHost } from './util.js';

export type { ConnectOptions, ListenOptions, OpOptions, SendableFile, SendFileOptions, Server, Socket, SocketAddress } from './types.js';
export { EchoServer } from './echo.js';
export { forward, type ForwardOptions } from './forward.js';
export type { EchoConnectionEnd, EchoCounters } from './echo.js';
export { socketBackend } from './backends.js';
export type { EventOptions, EventServer, EventSocket, SocketHandlers } from './events.js';
export { SocketOpKinds } from './kinds.js';
export { socketToStream } from './stream.js';

const MAX_CONNECTIONS = 2 ** 31 - 1;

// The event options of a listen or connect that has `handlers`.
function eventsOf(options: object | null): EventConfig | undefined {
  if (options === null || (options as { handlers?: unknown }).handlers === undefined) return undefined;
  return eventConfig(options as EventOptions<unknown>, 'options');
}

/**
 * Listens for TCP connections. Accepted sockets arrive through
 * `onConnection`, or through `for await (const socket of server)`.
 * `server.close()` stops accepting and closes the listening socket; the
 * connections already accepted stay open until you close them. With
 * `handlers`, every accepted socket is an {@link EventSocket} that calls
 * them, and the server is an {@link EventServer}.
 *
 * @throws `EADDRINUSE` (with `address` and `port`) when the port is taken; `ERR_*` for bad options
 *
 * @example
 * ```ts
 * import { listen } from '@overlapped/socket';
 *
 * const server = await listen({ port: 0 });
 * console.log(server.address().port);
 * for await (const socket of server) {
 *   const buffer = Buffer.alloc(4096);
 *   const n = await socket.recv(buffer);
 *   await socket.send(buffer.subarray(0, n));
 *   await socket.close();
 * }
 * ```
 *
 * @example
 * ```ts
 * // The event API: an echo server.
 * const server = await listen({ port: 7000, handlers: { data: (socket, bytes) => socket.write(bytes) } });
 * ```
 */
export function listen<T = undefined>(options: EventListenOptions<T>): Promise<EventServer>;
export function listen(options?: ListenOptions): Promise<Server>;
export async function listen(options: ListenOptions | EventListenOptions<unknown> = {}): Promise<Server | EventServer> {
  validateObject(options, 'options', true);
  const events = eventsOf(options);
  const host = checkHost(options.host ?? '127.0.0.1', 'options.host');
  const port = checkPort(options.port ?? 0, 'options.port', true);
  const backlog = options.backlog ?? 511;
  validateInteger(backlog, 'options.backlog', 1, 65535);
  const acceptDepth = options.acceptDepth ?? 4;
  validateInteger(acceptDepth, 'options.acceptDepth', 1, 1024);
  const multishot = options.multishot ?? true;
  if (typeof multishot !== 'boolean') throw invalidArgType('options.multishot', 'of type boolean', multishot);
  const maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
  validateInteger(maxConnections, 'options.maxConnections', 0, MAX_CONNECTIONS);
  const onConnection = (options as ListenOptions).onConnection;
  if (onConnection !== undefined) validateFunction(onConnection, 'options.onConnection');
  const driver = socketDriverFor(options.backend);
  const { address, family } = await numericHost(host);
  const request = { host: address, family, port, backlog, acceptDepth, multishot };
  if (events) {
    const eventServer = new TcpEventServer(driver.backend, maxConnections, events);
    const server = new TcpServer(driver.backend, maxConnections, { onDriver: eventServer.adopt });
    server.listening(await driver.listen(request, server.admit));
    return eventServer.listening(server);
  }
  const server = new TcpServer(driver.backend, maxConnections, { onConnection });
  const listener = await driver.listen(request, server.admit);
  return server.listening(listener);
}

/**
 * Connects to host:port (ConnectEx on Windows, an io_uring connect, or a
 * non-blocking connect on the reactor). With `handlers`, resolves with an
 * {@link EventSocket} that calls them (`open` first).
 *
 * @throws `ECONNREFUSED` (with `address` and `port`) when nothing listens; `AbortError` when `signal` aborts
 *
 * @example
 * ```ts
 * import { connect } from '@overlapped/socket';
 *
 * const socket = await connect({ host: '127.0.0.1', port: 7000, signal: AbortSignal.timeout(5000) });
 * await socket.send(Buffer.from('hello'));
 * const reply = Buffer.alloc(5);
 * await socket.recv(reply);
 * await socket.close();
 * ```
 *
 * @example
 * ```ts
 * const events = await connect({ port: 7000, handlers: { data: (socket, bytes) => console.log(bytes.length) } });
 * events.end('bye');
 * ```
 */
export function connect<T = undefined>(options: EventConnectOptions<T>): Promise<EventSocket<T>>;
export function connect(options: ConnectOptions): Promise<Socket>;
export async function connect(options: ConnectOptions | EventConnectOptions<unknown>): Promise<Socket | EventSocket<unknown>> {
  validateObject(options, 'options');
  const events = eventsOf(options);
  const host = checkHost(options.host ?? '127.0.0.1', 'options.host');
  const port = checkPort(options.port, 'options.port', false);
  const signal = checkOpOptions({ signal: options.signal });
  const driver = socketDriverFor(options.backend);
  const { address, family } = await numericHost(host);
  const socket = await driver.connect(address, family, port, signal);
  if (events) return openEventSocket(driver.backend, socket, events);
  return new TcpSocket(driver.backend, socket);
}

/**
 * Options of an event server: {@link listen}'s, with `handlers` (every
 * accepted socket is an {@link EventSocket}) instead of `onConnection`.
 *
 * @example
 * ```ts
 * const options: EventListenOptions = { port: 0, handlers: { data: (s, bytes) => s.write(bytes) } };
 * ```
 */
export type EventListenOptions<T = undefined> = Omit<ListenOptions, 'onConnection'> & EventOptions<T>;

/**
 * Options of an event client: {@link connect}'s, with `handlers`.
 *
 * @example
 * ```ts
 * const options: EventConnectOptions = { port: 7000, handlers: { data: (s, bytes) => console.log(bytes.length) } };
 * ```
 */
export type EventConnectOptions<T = undefined> = ConnectOptions & EventOptions<T>;

/** Options of {@link createEchoServer}. */
export interface EchoServerOptions {
  host?: string;
  port?: number;
  backlog?: number;
  /** `native` (default): the loop runs on the worker threads; `js`: on the public recv/send API. */
  mode?: 'native' | 'js';
  /** Bytes per connection's echo buffer (its whole memory for data); default 16 KiB. */
  bufferSize?: number;
  /** Connections past this many live ones are accepted and closed at once (counted in `refused`). */
  maxConnections?: number;
  /** Close connections that moved no byte for this many ms; 0 (default) never. */
  idleTimeout?: number;
  backend?: BackendRequest;
  /** Worker threads of a port of the server's own (native backends); default: the shared port. */
  threads?: number;
}

/**
 * Starts an echo server: every byte a client sends comes back, in order;
 * on the client's shutdown the server echoes what is left, shuts down its
 * side and closes; on a reset it closes and counts it. Memory per
 * connection is one `bufferSize` buffer: a client that sends and never
 * reads stalls only its own connection.
 *
 * @example
 * ```ts
 * import { createEchoServer } from '@overlapped/socket';
 *
 * const server = await createEchoServer({ port: 7000, mode: 'native' });
 * server.on('close', (end) => console.log('connection', end.id, end.reason));
 * setInterval(() => console.log(server.counters()), 1000).unref();
 * process.on('SIGINT', () => void server.close());
 * ```
 */
export async function createEchoServer(options: EchoServerOptions = {}): Promise<EchoServer> {
  validateObject(options, 'options', true);
  const host = checkHost(options.host ?? '127.0.0.1', 'options.host');
  const port = checkPort(options.port ?? 0, 'options.port', true);
  const backlog = options.backlog ?? 511;
  validateInteger(backlog, 'options.backlog', 1, 65535);
  const mode = options.mode ?? 'native';
  validateOneOf(mode, 'options.mode', ['native', 'js'] as const);
  const bufferSize = options.bufferSize ?? 16 * 1024;
  validateInteger(bufferSize, 'options.bufferSize', 1, 2 ** 30);
  const maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
  validateInteger(maxConnections, 'options.maxConnections', 0, MAX_CONNECTIONS);
  const idleTimeout = options.idleTimeout ?? 0;
  validateInteger(idleTimeout, 'options.idleTimeout', 0, 2 ** 31 - 1);
  if (options.threads !== undefined) validateInteger(options.threads, 'options.threads', 1, 1024);
  const driver = socketDriverFor(options.backend);
  const { address, family } = await numericHost(host);
  const config: EchoConfig = {
    driver,
    mode,
    host: address,
    family,
    port,
    backlog,
    bufferSize,
    maxConnections,
    idleTimeout,
    threads: options.threads,
  };
  return EchoServer.start(config);
}
