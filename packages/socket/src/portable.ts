/**
 * Sockets on the portable backend: the same API over node:net, in pure
 * TypeScript. A socket is paused while more than a bounded amount of
 * received data waits for recv, so memory per connection stays bounded.
 */
import * as net from 'node:net';
import type { Duplex } from 'node:stream';

import { AbortError, bufferDetached, isDetached } from '@overlapped/common';

import { socketToStream } from './stream.js';
import type { OpOptions, Server, Socket, SocketAddress } from './types.js';
import { AcceptedQueue, socketClosed } from './util.js';

const HIGH_WATER = 256 * 1024;

interface Reader {
  buffer: Uint8Array;
  resolve: (bytes: number) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** A socket on node:net. */
export class PortableSocket implements Socket {
  readonly backend = 'portable' as const;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly #socket: net.Socket;
  readonly #chunks: Buffer[] = [];
  #queued = 0;
  #ended = false;
  #error: unknown;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #readers: Reader[] = [];
  readonly #onClose: (() => void) | undefined;

  /** Wraps a connected net.Socket (created with allowHalfOpen). */
  constructor(socket: net.Socket, onClose?: () => void) {
    this.#socket = socket;
    this.#onClose = onClose;
    this.localAddress = socket.localAddress ?? '';
    this.localPort = socket.localPort ?? 0;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#queued += chunk.length;
      if (this.#queued >= HIGH_WATER) socket.pause();
      this.#serve();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.#serve();
    });
    socket.on('error', (error) => {
      this.#error = error;
      this.#serve();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#serve();
      if (!this.#closed) {
        this.#closed = true;
        this.#onClose?.();
      }
    });
    socket.resume();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #serve(): void {
    while (this.#readers.length > 0) {
      const reader = this.#readers[0]!;
      if (isDetached(reader.buffer)) {
        // Transferred while the recv waited: no byte is taken for it, and
        // no 0 (the peer's end) is reported.
        this.#readers.shift();
        reader.reject(bufferDetached('buffer', 'while the recv was waiting'));
      } else if (this.#chunks.length > 0) {
        this.#readers.shift();
        reader.resolve(this.#take(reader.buffer));
      } else if (this.#error !== undefined) {
        this.#readers.shift();
        reader.reject(this.#error);
      } else if (this.#ended) {
        this.#readers.shift();
        reader.resolve(0);
      } else {
        return;
      }
      if (reader.onAbort) reader.signal?.removeEventListener('abort', reader.onAbort);
    }
  }

  #take(buffer: Uint8Array): number {
    let copied = 0;
    while (copied < buffer.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0]!;
      const n = Math.min(chunk.length, buffer.length - copied);
      buffer.set(chunk.subarray(0, n), copied);
      copied += n;
      if (n === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(n);
    }
    this.#queued -= copied;
    if (this.#queued < HIGH_WATER && this.#socket.isPaused() && !this.#closed) this.#socket.resume();
    return copied;
  }

  recv(buffer: Uint8Array, options?: OpOptions): Promise<number> {
    if (this.#closed) return Promise.reject(socketClosed('recv'));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    return new Promise<number>((resolve, reject) => {
      const reader: Reader = { buffer, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        reader.onAbort = () => {
          const at = this.#readers.indexOf(reader);
          if (at >= 0) {
            this.#readers.splice(at, 1);
            reject(new AbortError(undefined, { cause: signal.reason }));
          }
        };
        signal.addEventListener('abort', reader.onAbort, { once: true });
      }
      this.#readers.push(reader);
      // Settle on a later turn, as a completion would.
      queueMicrotask(() => this.#serve());
    });
  }

  send(buffer: Uint8Array, options?: OpOptions): Promise<number> {
    if (this.#closed) return Promise.reject(socketClosed('send'));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    if (this.#error !== undefined) return Promise.reject(this.#error);
    const length = buffer.byteLength;
    return new Promise<number>((resolve, reject) => {
      this.#socket.write(buffer, (error) => {
        if (error) reject(error);
        else if (buffer.byteLength < length) reject(bufferDetached('buffer', 'while the send was in flight; what it sent is undefined'));
        else resolve(length);
      });
    });
  }

  shutdown(): Promise<void> {
    if (this.#closed) return Promise.reject(socketClosed('shutdown'));
    return new Promise<void>((resolve, reject) => {
      if (this.#socket.writableEnded) {
        resolve();
        return;
      }
      this.#socket.end(() => resolve());
      this.#socket.once('error', reject);
    });
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const wasClosed = this.#closed;
    this.#closed = true;
    for (const reader of this.#readers.splice(0)) {
      if (reader.onAbort) reader.signal?.removeEventListener('abort', reader.onAbort);
      reader.reject(socketClosed('recv'));
    }
    this.#closing = new Promise<void>((resolve) => {
      if (this.#socket.destroyed) {
        resolve();
      } else {
        this.#socket.once('close', () => resolve());
        this.#socket.destroy();
      }
    }).then(() => {
      if (!wasClosed) this.#onClose?.();
    });
    return this.#closing;
  }

  setNoDelay(on = true): void {
    if (this.#closed) throw socketClosed('setNoDelay');
    this.#socket.setNoDelay(on);
  }

  toStream(): Duplex {
    return socketToStream(this);
  }
}

/** A listening node:net server with the {@link Server} API. */
export class PortableServer implements Server {
  readonly backend = 'portable' as const;
  readonly acceptMode = 'node' as const;
  readonly acceptOps = 0;
  readonly #server: net.Server;
  readonly #maxConnections: number;
  readonly #onConnection: ((socket: Socket) => void) | undefined;
  readonly #onAccepted: ((socket: net.Socket) => void) | undefined;
  readonly #accepted = new AcceptedQueue<Socket>();
  #address: SocketAddress = { address: '', port: 0, family: 'IPv4' };
  #connections = 0;
  #refused = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(
    options: { maxConnections: number; onConnection?: (socket: Socket) => void; onAccepted?: (socket: net.Socket) => void },
  ) {
    this.#maxConnections = options.maxConnections;
    this.#onConnection = options.onConnection;
    this.#onAccepted = options.onAccepted;
    this.#server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.#accept(socket));
  }

  /** Listens; rejects with EADDRINUSE (address, port) like net. */
  static async create(options: {
    host: string;
    port: number;
    backlog: number;
    maxConnections: number;
    onConnection?: (socket: Socket) => void;
    onAccepted?: (socket: net.Socket) => void;
  }): Promise<PortableServer> {
    const server = new PortableServer(options);
    await new Promise<void>((resolve, reject) => {
      server.#server.once('error', reject);
      server.#server.listen({ host: options.host, port: options.port, backlog: options.backlog }, () => {
        server.#server.off('error', reject);
        resolve();
      });
    });
    const address = server.#server.address() as net.AddressInfo;
    server.#address = { address: address.address, port: address.port, family: address.family === 'IPv6' ? 'IPv6' : 'IPv4' };
    return server;
  }

  get connections(): number {
    return this.#connections;
  }

  get refused(): number {
    return this.#refused;
  }

  address(): SocketAddress {
    return { ...this.#address };
  }

  /** Counts a connection the owner handles itself (the echo server). */
  track(delta: number): void {
    this.#connections += delta;
  }

  #accept(raw: net.Socket): void {
    if (this.#closed || this.#connections >= this.#maxConnections) {
      this.#refused++;
      raw.destroy();
      return;
    }
    if (this.#onAccepted) {
      this.#onAccepted(raw);
      return;
    }
    this.#connections++;
    const socket = new PortableSocket(raw, () => this.#connections--);
    if (this.#onConnection) {
      this.#onConnection(socket);
      return;
    }
    this.#accepted.push(socket);
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    // net's close callback waits for every connection; stopping to listen
    // is what this close promises, and that happens at once.
    this.#server.close();
    this.#closing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.#accepted.end();
    });
    return this.#closing;
  }

  [Symbol.asyncIterator](): AsyncIterator<Socket> {
    return this.#accepted.iterator(() => this.#closed, () => this.close());
  }
}

/** Connects on node:net; errors are net's own (ECONNREFUSED with address and port). */
export function portableConnect(host: string, port: number, signal: AbortSignal | undefined): Promise<PortableSocket> {
  if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
  return new Promise<PortableSocket>((resolve, reject) => {
    const raw = net.connect({ host, port, allowHalfOpen: true });
    raw.pause();
    const onAbort = () => {
      raw.destroy();
      reject(new AbortError(undefined, { cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    raw.once('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    raw.once('connect', () => {
      signal?.removeEventListener('abort', onAbort);
      raw.removeAllListeners('error');
      resolve(new PortableSocket(raw));
    });
  });
}
