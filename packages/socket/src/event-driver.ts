/**
 * The boundary between the event API (events.ts: handlers, byte counts,
 * water marks, timeouts, readyState) and the code that moves a connected
 * socket's bytes for it. A driver takes over one connected
 * {@link SocketDriver} per connection and reports to its {@link EventSink}
 * on the JS thread; everything the drivers share lives in events.ts, once.
 */
import type { BackendName } from '@overlapped/common';

import type { SocketDriver } from './driver.js';

/**
 * What a driver tells the event layer about one connection, always on the JS
 * thread. After `closed` it calls nothing more.
 *
 * @example
 * ```ts
 * const sink: EventSink = {
 *   data: (view) => console.log('got', view.byteLength),
 *   writable: () => console.log('queue drained'),
 *   end: () => console.log('peer FIN'),
 *   closed: (error) => console.log('gone', error?.message),
 * };
 * ```
 */
export interface EventSink {
  /** Bytes received: a view into driver-owned memory, valid only during the call. */
  data(view: Uint8Array): void;
  /**
   * The driver's queue fell after a `write` left bytes queued: `queued` is
   * what it still holds (0, or omitted, when it emptied). The event layer
   * decides whether that is a drain.
   */
  writable(queued?: number): void;
  /** The peer half-closed (FIN): no more data comes. */
  end(): void;
  /** The driver freed the connection; `error` is the system error it died of, if any. */
  closed(error: Error | undefined): void;
}

/**
 * One connection a driver runs. The event layer calls each method on the JS
 * thread, nothing after `close` or `reset`, and no `write` after `end`.
 *
 * @example
 * ```ts
 * const connection = driver.open(socketDriver, sink);
 * const queued = connection.write(Buffer.from('hello')); // 0: the kernel took it all
 * connection.end();
 * ```
 */
export interface EventConnection {
  /**
   * Sends now what the kernel takes and queues the rest (copied: the caller
   * may reuse `bytes` at once). Returns the bytes still queued in the driver
   * after the call (0: everything went out now).
   */
  write(bytes: Uint8Array): number;
  /** Shuts down the sending side (FIN) once the queue is out. */
  end(): void;
  /** Stops the continuous receive (no `data` until `resume`). */
  pause(): void;
  /** Restarts the continuous receive. */
  resume(): void;
  setNoDelay(on: boolean): void;
  /** Closes once the queue is out; `sink.closed` follows. */
  close(): void;
  /** Closes at once with a reset (SO_LINGER 0), dropping the queue; `sink.closed` follows. */
  reset(): void;
  /**
   * An op of the socket's own (a sendFile on its {@link SocketDriver}) uses
   * the handle until the returned function is called. A driver that closes
   * the handle itself then leaves it open when the connection closes
   * meanwhile (the peer's reset, `reset()`), and has the socket close it
   * through its port, after that op, as `SocketDriver.close` does: the op
   * never meets the handle's number given to another socket or file.
   * Drivers that always close through the socket need not have it.
   */
  lend?(): () => void;
}

/** What a driver may use of the socket's options; it ignores what it has no use for. */
export interface EventOpenOptions {
  /** Bytes of the connection's receive buffer, where the driver keeps one per connection (`ops`). */
  readBufferSize?: number;
}

/**
 * A way of running event sockets: `ops` (generic, over a native socket's
 * recv and send ops), `node` (the portable backend's node:net sockets), or
 * a native driver of a backend.
 *
 * @example
 * ```ts
 * registerEventDriver('threadpool', () => new MyPollDriver());
 * ```
 */
export interface EventDriver {
  /** `ops`, `node`, `uring`, `poll`... */
  readonly kind: string;
  /**
   * Takes over a connected socket (no recv or send in flight on it) and
   * starts receiving. The socket's own `close()` is the driver's to call
   * when the connection ends, before `sink.closed`.
   */
  open(socket: SocketDriver, sink: EventSink, options?: EventOpenOptions): EventConnection;
}

/** How each backend's event driver is made (the first use of a backend makes it). */
const factories = new Map<BackendName, () => EventDriver>();
const made = new Map<BackendName, EventDriver>();

/**
 * Registers the event driver of `backend`, replacing the one before (a
 * native driver takes over from the generic one this way).
 *
 * @example
 * ```ts
 * registerEventDriver('io_uring', () => new UringEventDriver());
 * ```
 */
export function registerEventDriver(backend: BackendName, make: () => EventDriver): void {
  factories.set(backend, make);
  made.delete(backend);
}

/**
 * The event driver of `backend`.
 *
 * @example
 * ```ts
 * eventDriverFor('iocp').kind; // 'ops'
 * ```
 */
export function eventDriverFor(backend: BackendName): EventDriver {
  let driver = made.get(backend);
  if (driver === undefined) {
    const make = factories.get(backend);
    if (make === undefined) throw new Error(`no event driver is registered for the ${backend} backend`);
    driver = make();
    made.set(backend, driver);
  }
  return driver;
}
