/**
 * The socket driver of the portable backend: the same API over node:net,
 * in pure TypeScript. A socket is paused while more than a bounded amount
 * of received data waits for recv, so memory per connection stays bounded.
 */
import { open as openFile } from 'node:fs/promises';
import * as net from 'node:net';

import { AbortError, bufferDetached, isDetached, systemError } from '@overlapped/common';

import type {
  AcceptedConnection,
  ListenerDriver,
  ListenRequest,
  SocketBackendDriver,
  SocketDriver,
  SocketNames,
} from './driver.js';
import { lendHandle, type SendFileRequest } from './send-file.js';
import type { SocketAddress } from './types.js';
import { type QueuedSend, SendQueue, socketClosed, withBytesWritten } from './util.js';

const HIGH_WATER = 256 * 1024;

// A send is handed to net a chunk at a time, the next once the kernel has
// taken the last: so an abort stops it within one chunk, and what the
// kernel took is known when it fails or the socket closes.
const SEND_CHUNK = 64 * 1024;

/** A portable send: how much of it the kernel took so far. */
interface PortableSend extends QueuedSend {
  /** Bytes the kernel took (their write callbacks came). */
  written: number;
  /** A sendFile: its request, how it reads, and the handle it opened for a path. */
  file?: PortableFileSend;
}

interface PortableFileSend {
  request: SendFileRequest;
  /** Reads into `buffer` at `position`; undefined until a path is opened. */
  read: ((buffer: Uint8Array, position: number) => Promise<number>) | undefined;
  /** Closes what was opened for a path. */
  close: (() => Promise<void>) | undefined;
  /** Bytes of the file read so far. */
  fileRead: number;
  /** The chunk buffer, made at the first read. */
  chunk: Uint8Array | undefined;
  /** The last progress reported. */
  reported: number;
}

/** net's error of a stream op, in the shape every backend gives (`recv ECONNRESET`, syscall `recv`/`send`). */
export function streamError(error: unknown, syscall: string): Error {
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

/** What {@link PortableSocketDriver.takeOver} hands over. */
export interface PortableTakeOver {
  socket: net.Socket;
  /** Received, not read yet. */
  chunks: Buffer[];
  /** The peer's FIN came. */
  ended: boolean;
  /** net's error, if the connection failed. */
  error: unknown;
}

/** A socket on node:net. */
export class PortableSocketDriver implements SocketDriver {
  readonly names: SocketNames;
  readonly #socket: net.Socket;
  readonly #chunks: Buffer[] = [];
  #queued = 0;
  #ended = false;
  #error: unknown;
  #closed = false;
  #reset = false;
  readonly #readers: Reader[] = [];
  readonly #onClose: (() => void) | undefined;
  readonly #sends = new SendQueue<PortableSend>();
  // The chunk net is writing now (0 bytes: none) and its send, which may
  // have settled already (aborted): the next send waits for that chunk.
  #chunk = 0;
  #chunkOf: PortableSend | undefined;

  /** Wraps a connected net.Socket (created with allowHalfOpen). */
  constructor(socket: net.Socket, onClose?: () => void) {
    this.#socket = socket;
    this.#onClose = onClose;
    this.names = {
      localAddress: socket.localAddress ?? '',
      localPort: socket.localPort ?? 0,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
    };
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onError);
    socket.on('close', this.#onSocketClose);
    socket.resume();
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#chunks.push(chunk);
    this.#queued += chunk.length;
    if (this.#queued >= HIGH_WATER) this.#socket.pause();
    this.#serve();
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#serve();
  };

  readonly #onError = (error: unknown): void => {
    this.#error = error;
    this.#serve();
  };

  readonly #onSocketClose = (): void => {
    this.#ended = true;
    this.#serve();
    // A connection that failed under a send: what the kernel took is known.
    for (const send of this.#sends.list()) {
      this.#settleSend(send, this.#sendFailure(), send.written);
    }
    // The connection is over, the socket is not closed: as on the native
    // backends, only close() closes it (and the server counts it until
    // then); a recv says 0, or the error.
  };

  get closed(): boolean {
    return this.#closed;
  }

  get idle(): boolean {
    return this.#readers.length === 0 && this.#sends.length === 0 && this.#chunk === 0;
  }

  /**
   * Hands the net.Socket over (to the event driver): this driver stops
   * listening to it and pauses it; what it received and nobody read yet,
   * and whether the stream ended or failed, go with it. close() still
   * destroys it and runs `onClose`.
   */
  takeOver(): PortableTakeOver {
    const socket = this.#socket;
    socket.pause();
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('error', this.#onError);
    socket.off('close', this.#onSocketClose);
    const chunks = this.#chunks.splice(0);
    this.#queued = 0;
    return { socket, chunks, ended: this.#ended, error: this.#error };
  }

  resetOnClose(): void {
    this.#reset = true;
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

  recv(buffer: Uint8Array, signal: AbortSignal | undefined): Promise<number> {
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

  send(buffer: Uint8Array, signal: AbortSignal | undefined): Promise<number> {
    if (this.#error !== undefined) return Promise.reject(withBytesWritten(streamError(this.#error, 'send'), 0));
    return this.#sends.add(
      (resolve, reject) => ({ buffer, written: 0, signal, resolve, reject, onAbort: undefined }),
      this.#abortSend,
      this.#startSend,
    );
  }

  sendFile(request: SendFileRequest, signal: AbortSignal | undefined): Promise<number> {
    if (this.#error !== undefined) return Promise.reject(withBytesWritten(streamError(this.#error, 'sendfile'), 0));
    const file = request.file;
    const queue = (read: PortableFileSend['read']): Promise<number> =>
      this.#sends.add(
        (resolve, reject) => ({
          buffer: request.head,
          written: 0,
          signal,
          resolve,
          reject,
          onAbort: undefined,
          file: { request, read, close: undefined, fileRead: 0, chunk: undefined, reported: 0 },
        }),
        this.#abortSend,
        this.#startSend,
      );
    if (typeof file === 'string') return queue(undefined);
    // The file's close() waits for the sendFile, whose reads go through
    // the lent handle (a close() called meanwhile does not refuse them).
    return file[lendHandle]((_handle, _backend, readAt) => queue(readAt));
  }

  // The file sendFile is reading (its chunk is not the kernel's yet).
  #reading: PortableSend | undefined;

  // Reads a sendFile's next chunk (the rest of the head in front of it)
  // and hands it to net; a path is opened first.
  #readFileChunk(send: PortableSend): void {
    const file = send.file!;
    this.#reading = send;
    const done = (error: Error | undefined): void => {
      this.#reading = undefined;
      if (this.#sends.head !== send) {
        // Settled while it read (aborted, closed): what it opened closes now.
        file.close?.().catch(() => undefined);
        file.close = undefined;
        this.#writeChunk();
        return;
      }
      if (error) this.#settleSend(send, error, send.written);
      else this.#writeChunk();
    };
    if (file.read === undefined) {
      const path = file.request.file as string;
      openFile(path, 'r').then(
        (handle) => {
          file.close = () => handle.close();
          file.read = async (buffer, position) => (await handle.read(buffer, 0, buffer.byteLength, position)).bytesRead;
          done(undefined);
        },
        (error: Error) => done(error),
      );
      return;
    }
    const { head, position, length } = file.request;
    const headLeft = Math.max(0, head.byteLength - send.written);
    const want = Math.min(SEND_CHUNK, length - file.fileRead);
    file.chunk ??= new Uint8Array(SEND_CHUNK + headLeft);
    const chunk = file.chunk;
    chunk.set(head.subarray(head.byteLength - headLeft), 0);
    const reading = want > 0 ? file.read(chunk.subarray(headLeft, headLeft + want), position + file.fileRead) : Promise.resolve(0);
    reading.then(
      (got) => {
        file.fileRead += got;
        if (this.#sends.head === send) {
          if (headLeft + got === 0) {
            this.#reading = undefined;
            this.#settleSend(send, undefined, send.written);
            return;
          }
          // A short read is the end of the file: nothing more is read.
          if (got < want) file.fileRead = length;
          this.#write(send, chunk.subarray(0, headLeft + got), 'sendfile');
        }
        done(undefined);
      },
      (error: Error) => done(error),
    );
  }

  // Hands `bytes` of the head send to net as its chunk under way; once
  // the kernel took them, the send is settled or its next chunk goes.
  #write(send: PortableSend, bytes: Uint8Array, syscall: string): void {
    const size = bytes.byteLength;
    this.#chunk = size;
    this.#chunkOf = send;
    this.#socket.write(bytes, (error) => {
      this.#chunk = 0;
      this.#chunkOf = undefined;
      // Settled already: aborted (this chunk was counted) or closed.
      if (this.#sends.head !== send) {
        this.#writeChunk();
        return;
      }
      if (error) {
        // net destroyed the stream under the write (a close, or the peer's
        // reset): the error the connection died of, else ours for a close.
        const destroyed = (error as { code?: string }).code === 'ERR_STREAM_DESTROYED';
        const failure = !destroyed ? streamError(error, syscall) : this.#error !== undefined ? streamError(this.#error, syscall) : socketClosed(syscall);
        this.#settleSend(send, failure, send.written);
        return;
      }
      send.written += size;
      const file = send.file;
      if (file?.request.onProgress && send.written > file.reported) file.request.onProgress((file.reported = send.written));
      // A sendFile is done once a read finds nothing more.
      if (!file && send.written === send.buffer.byteLength) this.#settleSend(send, undefined, send.written);
      else this.#writeChunk();
    });
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
    if (!send || this.#chunk !== 0 || this.#reading !== undefined || this.#closed) return;
    if (this.#socket.destroyed) {
      // The connection failed: what waits can never go out.
      this.#settleSend(send, this.#sendFailure(), send.written);
      return;
    }
    if (isDetached(send.buffer)) {
      // Transferred away before all of it was handed to net: the rest is gone.
      this.#settleSend(send, bufferDetached('buffer', 'before all of it was sent'), send.written);
      return;
    }
    if (send.file) {
      this.#readFileChunk(send);
      return;
    }
    const size = Math.min(SEND_CHUNK, send.buffer.byteLength - send.written);
    this.#write(send, send.buffer.subarray(send.written, send.written + size), 'send');
  }

  // Why a send cannot go out once net's socket is gone: the connection's
  // error; else close(); else the connection ended (both sides shut
  // down), where the kernel says EPIPE.
  #sendFailure(): Error {
    if (this.#error !== undefined) return streamError(this.#error, 'send');
    if (this.#closed) return socketClosed('send');
    return systemError({ code: 'EPIPE', syscall: 'send', wording: 'net' });
  }

  #settleSend(send: PortableSend, error: Error | undefined, bytes: number): void {
    const close = send.file?.close;
    if (close && this.#reading !== send) {
      send.file!.close = undefined;
      close().catch(() => undefined);
    }
    if (this.#sends.settle(send, error, bytes)) this.#writeChunk();
  }

  /** Half-closes: net's `end()`, once what was written went out. */
  shutdown(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onError = (error: unknown) => reject(streamError(error, 'shutdown'));
      this.#socket.once('error', onError);
      this.#socket.end(() => {
        this.#socket.off('error', onError);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    this.#closed = true;
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
    return new Promise<void>((resolve) => {
      if (this.#socket.destroyed) {
        resolve();
      } else {
        this.#socket.once('close', () => resolve());
        if (this.#reset) this.#socket.resetAndDestroy();
        else this.#socket.destroy();
      }
    }).then(() => {
      this.#onClose?.();
    });
  }

  setNoDelay(on: boolean): void {
    this.#socket.setNoDelay(on);
  }
}

/** A listening net.Server. */
class PortableListener implements ListenerDriver {
  readonly acceptMode = 'node' as const;
  readonly acceptOps = 0;
  readonly address: SocketAddress;
  readonly #server: net.Server;

  constructor(server: net.Server) {
    this.#server = server;
    const address = server.address() as net.AddressInfo;
    this.address = { address: address.address, port: address.port, family: address.family === 'IPv6' ? 'IPv6' : 'IPv4' };
  }

  close(): Promise<void> {
    // net's close callback waits for every connection; stopping to listen
    // is what this close promises, and that happens at once.
    this.#server.close();
    return new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The sockets of the portable backend. */
export class PortableSocketBackend implements SocketBackendDriver {
  readonly backend = 'portable' as const;

  /** Connects on node:net; errors are net's own (ECONNREFUSED with address and port). */
  connect(host: string, _family: 4 | 6, port: number, signal: AbortSignal | undefined): Promise<SocketDriver> {
    if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    return new Promise<SocketDriver>((resolve, reject) => {
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
        resolve(new PortableSocketDriver(raw));
      });
    });
  }

  /** Listens; rejects with EADDRINUSE (address, port) like net. */
  async listen(request: ListenRequest, accepted: (connection: AcceptedConnection<net.Socket>) => void): Promise<ListenerDriver> {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (raw) => {
      accepted({ raw, open: (onClose) => new PortableSocketDriver(raw, onClose), refuse: () => raw.destroy() });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: request.host, port: request.port, backlog: request.backlog }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new PortableListener(server);
  }
}
