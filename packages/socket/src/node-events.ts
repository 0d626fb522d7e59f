/**
 * The portable event driver ('node'): node:net's own events, with no recv
 * ops in between. 'data' goes to the sink as it comes; writes go to net
 * (copied: the caller may reuse its bytes), whose buffered length is the
 * queue, and net's 'drain' is the sink's `writable`.
 */
import type * as net from 'node:net';

import type { SocketDriver } from './driver.js';
import type { EventConnection, EventDriver, EventSink } from './event-driver.js';
import { PortableSocketDriver, streamError } from './portable.js';

class NodeConnection implements EventConnection {
  readonly #driver: SocketDriver;
  readonly #socket: net.Socket;
  readonly #sink: EventSink;
  #error: Error | undefined;
  #finished = false;
  // pause() was called (the open handler may call it before the stream starts).
  #paused = false;

  constructor(driver: PortableSocketDriver, sink: EventSink) {
    this.#driver = driver;
    this.#sink = sink;
    const { socket, chunks, ended, error } = driver.takeOver();
    this.#socket = socket;
    if (error !== undefined) this.#error = streamError(error, 'recv');
    socket.on('data', (chunk: Buffer) => sink.data(chunk));
    socket.on('end', () => sink.end());
    socket.on('drain', () => sink.writable(socket.writableLength));
    socket.on('error', (failure) => {
      this.#error ??= streamError(failure, 'recv');
    });
    socket.on('close', () => this.#finish());
    // What the socket received before it was handed over comes first, on a
    // later turn (after the open handler), then the stream resumes unless
    // the socket was paused meanwhile.
    queueMicrotask(() => {
      if (this.#finished) return;
      for (const chunk of chunks) sink.data(chunk);
      if (ended) sink.end();
      if (socket.destroyed) this.#finish();
      else if (!ended && !this.#paused) socket.resume();
    });
  }

  write(bytes: Uint8Array): number {
    this.#socket.write(Buffer.from(bytes), this.#written);
    return this.#socket.writableLength;
  }

  // net emits 'drain' only after a write() that returned false: a queue
  // that empties below its mark is reported here (a sendFile waits for it).
  readonly #written = (): void => {
    if (!this.#finished && this.#socket.writableLength === 0) this.#sink.writable(0);
  };

  end(): void {
    this.#socket.end();
  }

  pause(): void {
    this.#paused = true;
    this.#socket.pause();
  }

  resume(): void {
    this.#paused = false;
    if (!this.#socket.readableEnded) this.#socket.resume();
  }

  setNoDelay(on: boolean): void {
    this.#socket.setNoDelay(on);
  }

  close(): void {
    const socket = this.#socket;
    if (socket.destroyed) return;
    // Nothing more is read; what is written goes out, then the socket goes.
    socket.pause();
    if (socket.writableFinished) {
      socket.destroy();
      return;
    }
    socket.once('finish', () => socket.destroy());
    if (!socket.writableEnded) socket.end();
  }

  reset(): void {
    const socket = this.#socket;
    if (socket.destroyed) return;
    // libuv cannot reset a socket whose sending side was shut down
    // (uv_tcp_close_reset answers EINVAL), and net then never emits
    // 'close': after end() the socket is destroyed instead (its queue is
    // dropped, its FIN is what the peer sees).
    if (socket.writableEnded) socket.destroy();
    else socket.resetAndDestroy();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    const error = this.#error;
    void this.#driver.close().then(() => this.#sink.closed(error));
  }
}

/**
 * The event driver of the portable backend (`node`): node:net's events.
 *
 * @example
 * ```ts
 * registerEventDriver('portable', () => new NodeEventDriver());
 * ```
 */
export class NodeEventDriver implements EventDriver {
  readonly kind = 'node';

  open(socket: SocketDriver, sink: EventSink): EventConnection {
    if (!(socket instanceof PortableSocketDriver)) throw new TypeError('the node event driver runs portable sockets only');
    return new NodeConnection(socket, sink);
  }
}
