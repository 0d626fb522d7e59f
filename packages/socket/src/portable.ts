/**
 * Sockets on the portable backend: the same API over node:net, in pure
 * TypeScript. A socket is paused while more than a bounded amount of
 * received data waits for recv, so memory per connection stays bounded.
 */
import * as net from 'node:net';
import type { Duplex } from 'node:stream';

import { AbortError, bufferDetached, isDetached, systemError } from '@overlapped/common';

import { socketToStream } from './stream.js';
import type { OpOptions, Server, Socket, SocketAddress } from './types.js';
import { AcceptedQueue, asyncDispose, type QueuedSend, SendQueue, socketClosed, withBytesWritten } from './util.js';

const HIGH_WATER = 256 * 1024;

// A send is handed to net a chunk at a time, the next once the kernel has
// taken the last: so an abort stops it within one chunk, and what the
// kernel took is known when it fails or the socket closes.
const SEND_CHUNK = 64 * 1024;

/** A portable send: how much of it the kernel took so far. */
interface PortableSend extends QueuedSend {
  /** Bytes the kernel took (their write callbacks came). */
  written: number;
}

/** net's error of a stream op, in the shape every backend gives (`recv ECONNRESET`, syscall `recv`/`send`). */
function streamError(error: unknown, syscall: string): Error {
  const e = error as { code?: unknown; errno?: unknown };
  if (typeof e?.code !== 'string' || typeof e.errno !== 'number') return error as Error;
  return systemError({ code: e.code, errno: e.errno, syscall, wording: 'net', cause: error });
}

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
  #shutdown: Promise<void> | undefined;
  readonly #readers: Reader[] = [];
  readonly #onClose: (() => void) | undefined;
  // Cancels of a forward that uses this socket, run by close().
  readonly #closeCancels = new Set<() => void>();
  readonly #sends = new SendQueue<PortableSend>();
  // The chunk net is writing now (0 bytes: none) and its send, which may
  // have settled already (aborted): the next send waits for that chunk.
  #chunk = 0;
  #chunkOf: PortableSend | undefined;

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
      // A connection that failed under a send: what the kernel took is known.
      for (const send of this.#sends.list()) {
        this.#settleSend(send, streamError(this.#error ?? socketClosed('send'), 'send'), send.written);
      }
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

  /** Makes close() run `cancel`, until {@link forgetOnClose}. */
  cancelOnClose(cancel: () => void): void {
    this.#closeCancels.add(cancel);
  }

  /** Undoes {@link cancelOnClose} (the forward ended). */
  forgetOnClose(cancel: () => void): void {
    this.#closeCancels.delete(cancel);
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
        reader.reject(streamError(this.#error, 'recv'));
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
    if (this.#closed) return Promise.reject(withBytesWritten(socketClosed('send'), 0));
    if (buffer.byteLength === 0) return Promise.resolve(0);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(withBytesWritten(new AbortError(undefined, { cause: signal.reason }), 0));
    if (this.#error !== undefined) return Promise.reject(withBytesWritten(streamError(this.#error, 'send'), 0));
    return this.#sends.add(
      (resolve, reject) => ({ buffer, written: 0, signal, resolve, reject, onAbort: undefined }),
      this.#abortSend,
      this.#startSend,
    );
  }

  readonly #abortSend = (send: PortableSend): void => {
    // The chunk net is writing still goes out: it counts as taken.
    const taken = send.written + (this.#chunkOf === send ? this.#chunk : 0);
    this.#settleSend(send, new AbortError(undefined, { cause: send.signal?.reason }), taken);
  };

  readonly #startSend = (): void => this.#writeChunk();

  // Hands the head send's next chunk to net, unless a chunk is on its way.
  #writeChunk(): void {
    const send = this.#sends.head;
    if (!send || this.#chunk !== 0 || this.#closed) return;
    if (this.#socket.destroyed) {
      // The connection failed: what waits can never go out.
      this.#settleSend(send, streamError(this.#error ?? socketClosed('send'), 'send'), send.written);
      return;
    }
    if (isDetached(send.buffer)) {
      // Transferred away before all of it was handed to net: the rest is gone.
      this.#settleSend(send, bufferDetached('buffer', 'before all of it was sent'), send.written);
      return;
    }
    const size = Math.min(SEND_CHUNK, send.buffer.byteLength - send.written);
    this.#chunk = size;
    this.#chunkOf = send;
    this.#socket.write(send.buffer.subarray(send.written, send.written + size), (error) => {
      this.#chunk = 0;
      this.#chunkOf = undefined;
      // Settled already: aborted (this chunk was counted) or closed.
      if (this.#sends.head !== send) {
        this.#writeChunk();
        return;
      }
      if (error) {
        this.#settleSend(send, streamError(error, 'send'), send.written);
        return;
      }
      send.written += size;
      if (send.written === send.buffer.byteLength) this.#settleSend(send, undefined, send.written);
      else this.#writeChunk();
    });
  }

  #settleSend(send: PortableSend, error: Error | undefined, bytes: number): void {
    if (this.#sends.settle(send, error, bytes)) this.#writeChunk();
  }

  /**
   * Half-closes (net's `end()`, once what was written went out). A second
   * call does nothing more and settles as the first one did.
   */
  shutdown(): Promise<void> {
    if (this.#shutdown) return this.#shutdown;
    if (this.#closed) {
      this.#shutdown = Promise.reject(socketClosed('shutdown'));
      return this.#shutdown;
    }
    this.#shutdown = new Promise<void>((resolve, reject) => {
      const onError = (error: unknown) => reject(streamError(error, 'shutdown'));
      this.#socket.once('error', onError);
      this.#socket.end(() => {
        this.#socket.off('error', onError);
        resolve();
      });
    });
    return this.#shutdown;
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const wasClosed = this.#closed;
    this.#closed = true;
    for (const cancel of this.#closeCancels) cancel();
    for (const reader of this.#readers.splice(0)) {
      if (reader.onAbort) reader.signal?.removeEventListener('abort', reader.onAbort);
      reader.reject(socketClosed('recv'));
    }
    // Destroying drops what libuv has not written yet: of the chunk on its
    // way, the kernel took what is not in the write queue any more.
    const queued = (this.#socket as unknown as { _handle?: { writeQueueSize?: unknown } })._handle?.writeQueueSize;
    const chunkTaken = typeof queued === 'number' ? Math.max(0, this.#chunk - queued) : 0;
    for (const send of this.#sends.list()) {
      this.#settleSend(send, socketClosed('send'), send.written + (this.#chunkOf === send ? chunkTaken : 0));
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

  /** `await using socket = ...`: closes the socket when the scope ends. */
  [asyncDispose](): Promise<void> {
    return this.close();
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

  /** `await using server = ...`: closes the server when the scope ends. */
  [asyncDispose](): Promise<void> {
    return this.close();
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
