/**
 * The boundary between the sockets' event API and a backend's event driver.
 * A driver takes over a connected socket and calls its sink on the JS
 * thread; byte counts, water marks, timeouts and handler dispatch live above
 * it, once for every driver.
 */
import type { SocketDriver } from './driver.js';

/** Given to the driver per connection; the driver calls it on the JS thread. */
export interface EventSink {
  /** Received bytes: a view into driver-owned memory, valid during the call. */
  data(view: Uint8Array): void;
  /** The driver's queue emptied. */
  writable(): void;
  /** The peer half-closed (FIN). */
  end(): void;
  /** The driver freed the connection; `error` is the system error it died of, if any. */
  closed(error: Error | undefined): void;
}

/** One connection a driver took over. */
export interface EventConnection {
  /** Sends what the kernel takes now, queues the rest (copied); returns the bytes still queued (0 = all out). */
  write(bytes: Uint8Array): number;
  /** Shuts down the sending side once the queue is out. */
  end(): void;
  pause(): void;
  resume(): void;
  setNoDelay(on: boolean): void;
  /** Closes after the queue is out; `sink.closed` follows. */
  close(): void;
  /** Closes at once with a reset (SO_LINGER 0), dropping the queue; `sink.closed` follows. */
  reset(): void;
}

/** A backend's event driver. */
export interface EventDriver {
  /** 'ops' (generic, over SocketDriver recv/send), 'node' (portable), 'uring', 'poll'. */
  readonly kind: string;
  /** Takes over the connected `socket`. */
  open(socket: SocketDriver, sink: EventSink): EventConnection;
}
