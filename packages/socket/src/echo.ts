/**
 * The echo server: `recv -> send the same bytes -> recv` per connection,
 * `shutdown <> shutdown`, `close <> close`. In `native` mode each
 * connection is one forward to itself on the worker threads (one op per
 * connection, no JS per message; node:net's loop on the portable backend);
 * in `js` mode it is the loop below, written with the public recv/send API.
 */
import { EventEmitter } from 'node:events';
import type * as net from 'node:net';

import { type BackendName, type CompletionPort, errnoName, type NativeBackendName } from '@overlapped/common';

import type { AcceptedConnection, SocketBackendDriver } from './driver.js';
import { FORWARD_STATS_BYTES } from './kinds.js';
import { associate, binding, dedicatedPort, sharedPort, startNativeForward } from './native.js';
import { type ServerAccept, TcpServer } from './socket.js';
import type { Socket, SocketAddress } from './types.js';
import { asyncDispose } from './util.js';

/** Counters of an echo server. */
export interface EchoCounters {
  /** Connections admitted (refused ones are not counted here). */
  accepted: number;
  /** Connections open now. */
  active: number;
  /** Bytes received and bytes echoed back, over all connections (live ones included). */
  bytesIn: number;
  bytesOut: number;
  /** Connections the peer reset (ECONNRESET, EPIPE). */
  resets: number;
  /** Connections that ended with another error. */
  errors: number;
  /** Connections refused because `maxConnections` were live. */
  refused: number;
  /** Connections closed because they were idle for `idleTimeout`. */
  timeouts: number;
}

/** What the 'close' event of a connection carries. */
export interface EchoConnectionEnd {
  id: number;
  bytesIn: number;
  bytesOut: number;
  /** How it ended: 'shutdown' (the peer's FIN, echoed), 'reset', 'error', 'timeout' or 'server-close'. */
  reason: 'shutdown' | 'reset' | 'error' | 'timeout' | 'server-close';
  /** The error code, when it ended on one. */
  code?: string;
}

interface Connection {
  id: number;
  tracked: boolean;
  stats: Float64Array; // bytes in, bytes out (native: kept current by the workers)
  lastIn: number;
  lastOut: number;
  lastActive: number;
  end: (reason: 'timeout' | 'server-close') => void;
  reason?: 'timeout' | 'server-close';
}

/** Internal options, already validated. */
export interface EchoConfig {
  driver: SocketBackendDriver;
  mode: 'native' | 'js';
  host: string;
  family: 4 | 6;
  port: number;
  backlog: number;
  bufferSize: number;
  maxConnections: number;
  idleTimeout: number;
  threads: number | undefined;
}

/**
 * A running echo server. Events: `'connection'` ({ id }) when one is
 * admitted and `'close'` ({@link EchoConnectionEnd}) when one ends.
 * `close()` stops accepting and closes every live connection.
 *
 * @example
 * ```ts
 * const server = await createEchoServer({ port: 0, mode: 'native' });
 * server.on('connection', ({ id }) => console.log('open', id));
 * server.on('close', ({ id, reason }) => console.log('closed', id, reason));
 * console.log(server.address(), server.counters());
 * await server.close();
 * ```
 */
export class EchoServer extends EventEmitter {
  readonly backend: BackendName;
  readonly mode: 'native' | 'js';
  #server!: TcpServer;
  #port: CompletionPort | undefined;
  #ownsPort = false;
  readonly #config: EchoConfig;
  readonly #live = new Map<number, Connection>();
  #nextId = 1;
  #counters: EchoCounters = { accepted: 0, active: 0, bytesIn: 0, bytesOut: 0, resets: 0, errors: 0, refused: 0, timeouts: 0 };
  #sweep: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;

  private constructor(config: EchoConfig) {
    super();
    this.backend = config.driver.backend;
    this.mode = config.mode;
    this.#config = config;
  }

  /** Starts listening; see {@link createEchoServer}. */
  static async start(config: EchoConfig): Promise<EchoServer> {
    const echo = new EchoServer(config);
    const { driver } = config;
    if (driver.backend !== 'portable') {
      const backend = driver.backend as NativeBackendName;
      echo.#ownsPort = config.threads !== undefined;
      echo.#port = config.threads !== undefined ? dedicatedPort(backend, config.threads) : sharedPort(backend);
    }
    const accept: ServerAccept =
      config.mode === 'native'
        ? { onAccepted: (connection) => echo.#startNative(connection) }
        : { onConnection: (socket) => echo.#startJs(socket) };
    const server = new TcpServer(driver.backend, config.maxConnections, accept);
    const request = {
      host: config.host,
      family: config.family,
      port: config.port,
      backlog: config.backlog,
      acceptDepth: 4,
      multishot: true,
      completionPort: echo.#port,
    };
    try {
      echo.#server = server.listening(await driver.listen(request, server.admit));
    } catch (error) {
      if (echo.#ownsPort) await echo.#port?.close();
      throw error;
    }
    if (config.idleTimeout > 0) {
      const every = Math.max(10, Math.floor(config.idleTimeout / 4));
      echo.#sweep = setInterval(() => echo.#sweepIdle(), every);
      echo.#sweep.unref();
    }
    return echo;
  }

  /** The bound address (port 0 was replaced by the one the system picked). */
  address(): SocketAddress {
    return this.#server.address();
  }

  /** A snapshot of the counters, live connections' bytes included. */
  counters(): EchoCounters {
    const out = { ...this.#counters, refused: this.#server.refused };
    for (const connection of this.#live.values()) {
      out.bytesIn += connection.stats[0]!;
      out.bytesOut += connection.stats[1]!;
    }
    return out;
  }

  // `tracked`: the connection was accepted raw, past the server's own
  // socket objects (native mode), so the server's live count is kept
  // here; in js mode the server counts its sockets itself.
  #admit(end: (reason: 'timeout' | 'server-close') => void, tracked: boolean): Connection {
    const connection: Connection = {
      tracked,
      id: this.#nextId++,
      stats: new Float64Array(FORWARD_STATS_BYTES / 8),
      lastIn: 0,
      lastOut: 0,
      lastActive: Date.now(),
      end,
    };
    this.#live.set(connection.id, connection);
    if (tracked) this.#server.track(1);
    this.#counters.accepted++;
    this.#counters.active++;
    this.emit('connection', { id: connection.id });
    return connection;
  }

  #finish(connection: Connection, code: string | undefined): void {
    if (!this.#live.delete(connection.id)) return;
    if (connection.tracked) this.#server.track(-1);
    this.#counters.active--;
    this.#counters.bytesIn += connection.stats[0]!;
    this.#counters.bytesOut += connection.stats[1]!;
    let reason: EchoConnectionEnd['reason'] = 'shutdown';
    if (connection.reason) {
      reason = connection.reason;
      if (reason === 'timeout') this.#counters.timeouts++;
    } else if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') {
      reason = 'reset';
      this.#counters.resets++;
    } else if (code !== undefined) {
      reason = 'error';
      this.#counters.errors++;
    }
    const end: EchoConnectionEnd = { id: connection.id, bytesIn: connection.stats[0]!, bytesOut: connection.stats[1]!, reason };
    if (code !== undefined && !connection.reason) end.code = code;
    this.emit('close', end);
    if (this.#live.size === 0) this.#drained?.();
  }

  // native mode: the loop runs below JS, on the workers or in net.
  #startNative(connection: AcceptedConnection): void {
    if (this.#port === undefined) this.#startPortable(connection.raw as net.Socket);
    else this.#startNativeOp(this.#port, connection.raw as number);
  }

  // native mode, native backend: the loop is one op on the workers, a
  // forward of the socket to itself; the socket is closed when it ends.
  #startNativeOp(port: CompletionPort, handle: number): void {
    try {
      associate(port, handle, {});
    } catch {
      // The port would never see this socket's completions: drop it.
      binding().socketClose(handle);
      this.#counters.errors++;
      return;
    }
    let token = 0;
    const connection = this.#admit((reason) => {
      connection.reason = reason;
      port.cancelOp(token);
    }, true);
    const buffer = Buffer.allocUnsafe(this.#config.bufferSize);
    token = startNativeForward(port, handle, handle, buffer, connection.stats, (status) => {
      binding().socketClose(handle);
      this.#finish(connection, status === 0 ? undefined : errnoName(status));
    });
  }

  // js mode: the loop users copy.
  #startJs(socket: Socket): void {
    const connection = this.#admit((reason) => {
      connection.reason = reason;
      void socket.close();
    }, false);
    void this.#echoLoop(socket, connection.stats).then(
      () => this.#finish(connection, undefined),
      (error: unknown) => {
        void socket.close();
        this.#finish(connection, (error as { code?: string }).code ?? 'EUNKNOWN');
      },
    );
  }

  /** The echo loop on the public API: what {@link createEchoServer} `mode: 'js'` runs per connection. */
  async #echoLoop(socket: Socket, stats: Float64Array): Promise<void> {
    const buffer = Buffer.allocUnsafe(this.#config.bufferSize);
    for (;;) {
      const received = await socket.recv(buffer);
      if (received === 0) break; // the peer shut down: everything it sent is echoed
      stats[0]! += received;
      await socket.send(buffer.subarray(0, received)); // resolves once every byte is out
      stats[1]! += received;
    }
    // Everything the peer sent is echoed: the connection ended cleanly. Our
    // shutdown is best effort, as the native loop's is: a peer that has
    // gone since (ENOTCONN, a reset) changes nothing.
    await socket.shutdown().catch(() => undefined);
    await socket.close();
  }

  // native mode, portable backend: net's own data/write loop, paused while
  // the peer does not read (so memory stays bounded).
  #startPortable(raw: net.Socket): void {
    let code: string | undefined;
    const connection = this.#admit((reason) => {
      connection.reason = reason;
      raw.destroy();
    }, true);
    raw.on('data', (chunk: Buffer) => {
      connection.stats[0]! += chunk.length;
      const more = raw.write(chunk, (error) => {
        if (!error) connection.stats[1]! += chunk.length;
      });
      if (!more) raw.pause();
    });
    raw.on('drain', () => raw.resume());
    raw.on('end', () => raw.end(() => raw.destroy()));
    raw.on('error', (error: Error & { code?: string }) => {
      code ??= error.code ?? 'EUNKNOWN';
    });
    raw.on('close', () => this.#finish(connection, code));
    raw.resume();
  }

  #sweepIdle(): void {
    const now = Date.now();
    for (const connection of this.#live.values()) {
      const bytesIn = connection.stats[0]!;
      const bytesOut = connection.stats[1]!;
      if (bytesIn !== connection.lastIn || bytesOut !== connection.lastOut) {
        connection.lastIn = bytesIn;
        connection.lastOut = bytesOut;
        connection.lastActive = now;
      } else if (now - connection.lastActive >= this.#config.idleTimeout && !connection.reason) {
        connection.end('timeout');
      }
    }
  }

  /**
   * Stops accepting, then closes every live connection (their 'close'
   * events say 'server-close'); resolves when all are closed. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closing = (async () => {
      if (this.#sweep) clearInterval(this.#sweep);
      await this.#server.close();
      if (this.#live.size > 0) {
        const drained = new Promise<void>((resolve) => {
          this.#drained = resolve;
        });
        for (const connection of [...this.#live.values()]) {
          if (!connection.reason) connection.end('server-close');
        }
        await drained;
      }
      if (this.#ownsPort) await this.#port?.close();
    })();
    return this.#closing;
  }

  /**
   * Closes the server and its live connections, as {@link close}: what
   * `await using` calls when the scope ends.
   *
   * @example
   * ```ts
   * {
   *   await using server = await createEchoServer({ port: 0 });
   *   await exercise(server.address().port);
   * } // closed here
   * ```
   */
  [asyncDispose](): Promise<void> {
    return this.close();
  }
}
