/**
 * The generic event driver ('ops'), for every native backend: a recv op
 * kept posted per socket into the connection's own buffer, its bytes handed
 * to the sink from the completion and the next recv posted once the sink
 * returned (so the view stays valid during the call); writes go out at once
 * where the kernel takes them (the POSIX backends' send on this thread),
 * the rest is copied and sent by send ops, one at a time, in order.
 */
import type { SocketDriver } from './driver.js';
import type { EventConnection, EventDriver, EventOpenOptions, EventSink } from './event-driver.js';

/** Bytes of a connection's receive buffer unless `readBufferSize` says otherwise. */
export const DEFAULT_READ_BUFFER_SIZE = 64 * 1024;

// At most this many queued bytes are joined into one send op.
const SEND_BATCH = 256 * 1024;

class OpsConnection implements EventConnection {
  readonly #socket: SocketDriver;
  readonly #sink: EventSink;
  readonly #buffer: Uint8Array;
  #receiving = false;
  #paused = false;
  // Bytes a recv brought in while paused (it was in flight when pause()
  // came), kept in the buffer until resume(): no recv is posted meanwhile.
  #held = 0;
  // The peer's FIN came: nothing more to receive.
  #ended = false;
  // Copies of what the kernel did not take at once, oldest first; `#queued`
  // counts them and the send in flight.
  #queue: Uint8Array[] = [];
  #queued = 0;
  #sending = false;
  #endWanted = false;
  #closeWanted = false;
  #finished = false;

  constructor(socket: SocketDriver, sink: EventSink, readBufferSize: number) {
    this.#socket = socket;
    this.#sink = sink;
    this.#buffer = new Uint8Array(readBufferSize);
    this.#receive();
  }

  #receive(): void {
    if (this.#receiving || this.#paused || this.#held !== 0 || this.#ended || this.#closeWanted || this.#finished) return;
    this.#receiving = true;
    this.#socket.recv(this.#buffer, undefined).then(this.#received, this.#failed);
  }

  readonly #received = (bytes: number): void => {
    this.#receiving = false;
    if (this.#finished) return;
    if (this.#paused) {
      // Held as they are (0 included: the end) until resume().
      this.#held = bytes === 0 ? -1 : bytes;
      return;
    }
    this.#deliver(bytes);
  };

  #deliver(bytes: number): void {
    if (bytes === 0) {
      this.#ended = true;
      this.#sink.end();
      return;
    }
    this.#sink.data(this.#buffer.subarray(0, bytes));
    // Posted after the sink returned: the view it saw stays whole until then.
    this.#receive();
  }

  readonly #failed = (error: unknown): void => {
    this.#receiving = false;
    this.#sending = false;
    this.#finish(error as Error);
  };

  write(bytes: Uint8Array): number {
    let rest = bytes;
    if (!this.#sending) {
      const taken = this.#socket.trySend?.(bytes) ?? 0;
      if (taken === bytes.byteLength) return 0;
      rest = taken === 0 ? bytes : bytes.subarray(taken);
    }
    // The caller may reuse its bytes at once: the queue holds a copy.
    this.#queue.push(rest.slice());
    this.#queued += rest.byteLength;
    if (!this.#sending) this.#sendNext();
    return this.#queued;
  }

  // Sends the queue's head (small pieces joined), or, once it is empty,
  // runs the shutdown or close that waited for it.
  #sendNext(): void {
    if (this.#finished) return;
    if (this.#queue.length === 0) {
      this.#sending = false;
      if (this.#closeWanted) this.#finish(undefined);
      else if (this.#endWanted) this.#shutdown();
      return;
    }
    let chunk = this.#queue[0]!;
    let pieces = 1;
    if (this.#queue.length > 1 && chunk.byteLength < SEND_BATCH) {
      let size = chunk.byteLength;
      while (pieces < this.#queue.length && size + this.#queue[pieces]!.byteLength <= SEND_BATCH) size += this.#queue[pieces++]!.byteLength;
      if (pieces > 1) {
        chunk = new Uint8Array(size);
        let at = 0;
        for (let i = 0; i < pieces; i++) {
          chunk.set(this.#queue[i]!, at);
          at += this.#queue[i]!.byteLength;
        }
      }
    }
    this.#queue.splice(0, pieces);
    this.#sending = true;
    const size = chunk.byteLength;
    this.#socket.send(chunk, undefined).then(() => {
      this.#queued -= size;
      if (this.#finished) return;
      this.#sendNext();
      this.#sink.writable(this.#queued);
    }, this.#failed);
  }

  #shutdown(): void {
    // A failed shutdown (the connection is gone) shows as the receive's error or end.
    this.#socket.shutdown().catch(() => undefined);
  }

  end(): void {
    this.#endWanted = true;
    if (!this.#sending) this.#shutdown();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    if (this.#held === 0) {
      this.#receive();
      return;
    }
    // What came while paused goes out on its own turn, not inside the
    // caller's resume() (which may run in a handler of this socket).
    queueMicrotask(() => {
      if (this.#paused || this.#held === 0 || this.#finished) return;
      const bytes = this.#held === -1 ? 0 : this.#held;
      this.#held = 0;
      this.#deliver(bytes);
    });
  }

  setNoDelay(on: boolean): void {
    this.#socket.setNoDelay(on);
  }

  close(): void {
    this.#closeWanted = true;
    if (!this.#sending) this.#finish(undefined);
  }

  reset(): void {
    // Once closing, the handle may be gone (and its number reused).
    if (this.#finished) return;
    this.#socket.resetOnClose();
    this.#finish(undefined);
  }

  // Closes the socket once (its ops in flight end) and tells the sink.
  #finish(error: Error | undefined): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#queue = [];
    const sink = this.#sink;
    this.#socket.close().then(() => sink.closed(error));
  }
}

/**
 * The generic event driver of the native backends (`ops`): continuous
 * receive as recv ops, writes through the socket's send path.
 *
 * @example
 * ```ts
 * registerEventDriver('iocp', () => new OpsEventDriver());
 * ```
 */
export class OpsEventDriver implements EventDriver {
  readonly kind = 'ops';

  open(socket: SocketDriver, sink: EventSink, options?: EventOpenOptions): EventConnection {
    return new OpsConnection(socket, sink, options?.readBufferSize ?? DEFAULT_READ_BUFFER_SIZE);
  }
}
