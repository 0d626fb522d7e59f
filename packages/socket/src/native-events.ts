/**
 * The native event drivers (native/linux/events.cc): the native core serves
 * this JS environment's event sockets on its own event loop, and calls
 * {@link NativeEventDriver} once per wake with a batch of records, which are
 * dispatched here to the connections' sinks. 'uring' (io_uring sockets):
 * a multishot recv per socket into a ring of buffers, the ring's eventfd on
 * the event loop; 'poll' (threadpool sockets, and io_uring where the kernel
 * lacks what 'uring' needs): a uv_poll per socket, one recv per readable
 * socket into a shared buffer. Writes are sent at once by the native core on
 * this thread; what the kernel does not take is queued natively.
 */
import { type NativeBackendName, systemError } from '@overlapped/common';

import type { SocketDriver } from './driver.js';
import type { EventConnection, EventDriver, EventSink } from './event-driver.js';
import { binding, type NativeSocketDriver } from './native.js';
import { SOCKET_OPTION_NO_DELAY } from './kinds.js';

// The records' types and the calls a closed record names (native/linux/event_poll.cc).
const DATA = 1;
const END = 2;
const WRITABLE = 3;
const CLOSED = 4;
const SYSCALLS = ['close', 'read', 'write'];

// The 'uring' driver's 64 ring buffers of 16 KiB and its 64 KiB of scratch,
// and a page to spare: the native core starts them on a page boundary (the
// kernel copies received bytes faster to cache-line-aligned memory).
const DATA_BYTES = 64 * 16 * 1024 + 64 * 1024;
const PAGE_BYTES = 4096;
// The drivers' numbers in the native calls.
const DRIVERS = { poll: 0, uring: 1 } as const;
type DriverKind = keyof typeof DRIVERS;
const RECORD_COUNT = 2048;

function connectionError(errno: number, syscall: string): Error | undefined {
  return errno === 0 ? undefined : systemError({ errno, syscall, wording: 'net' });
}

/** What the driver needs of a native socket it takes over. */
type HandedOver = Pick<NativeSocketDriver, 'handOver' | 'handedOverClosed' | 'close'>;

/** One socket the native driver took over. */
class NativeEventConnection implements EventConnection {
  readonly sink: EventSink;
  readonly #driver: NativeEventDriver;
  readonly #index: number;
  readonly #id: number;
  readonly #handle: number;
  readonly #socket: HandedOver;
  #closed = false;
  // Ops of the socket's own that hold the handle (see lend); when the
  // connection closed under one, the socket closes the handle after it.
  #lent = 0;
  #closeThroughSocket = false;

  constructor(driver: NativeEventDriver, id: number, handle: number, socket: HandedOver, sink: EventSink) {
    this.#driver = driver;
    this.#index = driver.index;
    this.#id = id;
    this.#handle = handle;
    this.#socket = socket;
    this.sink = sink;
  }

  write(bytes: Uint8Array): number {
    if (this.#closed) return 0;
    const queued = binding().eventsWrite!(this.#index, this.#id, bytes);
    if (queued >= 0) return queued;
    // The connection died under the send: the native core closed it.
    this.#later(connectionError(queued, 'write'));
    return 0;
  }

  end(): void {
    if (!this.#closed) binding().eventsEnd!(this.#index, this.#id);
  }

  pause(): void {
    if (!this.#closed) binding().eventsPause!(this.#index, this.#id);
  }

  resume(): void {
    if (!this.#closed) binding().eventsResume!(this.#index, this.#id);
  }

  setNoDelay(on: boolean): void {
    if (!this.#closed) binding().socketSetOption(this.#handle, SOCKET_OPTION_NO_DELAY, on ? 1 : 0);
  }

  close(): void {
    if (!this.#closed && binding().eventsClose!(this.#index, this.#id)) this.#later(undefined);
  }

  reset(): void {
    if (this.#closed) return;
    binding().eventsReset!(this.#index, this.#id);
    this.#later(undefined);
  }

  lend(): () => void {
    if (this.#closed) return () => undefined;
    if (this.#lent++ === 0) binding().eventsLend!(this.#index, this.#id, true);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#lent === 0 && !this.#closed) binding().eventsLend!(this.#index, this.#id, false);
    };
  }

  // The native core closed the connection in a call from JS: the sink
  // hears of it after the call returned.
  #later(error: Error | undefined): void {
    this.#detach();
    queueMicrotask(() => this.#finish(error));
  }

  #detach(): void {
    this.#closed = true;
    this.#closeThroughSocket = this.#lent > 0;
    this.#driver.forget(this.#id, this);
  }

  #finish(error: Error | undefined): void {
    // The native core left the handle open for the op that holds it: the
    // socket's close cancels the op and closes the handle after it.
    if (this.#closeThroughSocket) void this.#socket.close();
    else this.#socket.handedOverClosed();
    this.sink.closed(error);
  }

  /** A closed record arrived for this connection. */
  closedNatively(error: Error | undefined): void {
    this.#detach();
    this.#finish(error);
  }
}

/** The native event driver of one JS environment (see the module's comment). */
export class NativeEventDriver implements EventDriver {
  readonly kind: DriverKind;
  /** The driver's number in the native calls. */
  readonly index: number;
  readonly #connections: (NativeEventConnection | undefined)[] = [];
  readonly #records = new Int32Array(RECORD_COUNT * 4);
  /** The driver's memory: the records' offsets count from its start. */
  readonly #bytes: Uint8Array;

  /** Starts the native driver `kind`; throws the system error that stops it (the kernel lacks what it needs). */
  constructor(kind: DriverKind) {
    this.kind = kind;
    this.index = DRIVERS[kind];
    const memory = new ArrayBuffer(DATA_BYTES + PAGE_BYTES);
    const start = binding().eventsInit!(this.index, memory, this.#records, this.#onBatch);
    if (start < 0) throw systemError({ errno: start, syscall: kind === 'uring' ? 'io_uring_setup' : 'uv_poll', wording: 'net' });
    // To the end: the poll driver reads up to the last byte.
    this.#bytes = new Uint8Array(memory, start);
  }

  open(socket: SocketDriver, sink: EventSink): EventConnection {
    // Duck-typed: a second copy of this module (another build in the same
    // process) shares the one driver of the environment.
    if (typeof (socket as Partial<NativeSocketDriver>).handOver !== 'function') {
      throw new TypeError('the native event driver takes native sockets only');
    }
    const handedOver = socket as unknown as HandedOver;
    const handle = handedOver.handOver();
    const id = binding().eventsOpen!(this.index, handle);
    if (id < 0) {
      binding().socketClose(handle);
      handedOver.handedOverClosed();
      throw systemError({ errno: id, syscall: 'epoll_ctl', wording: 'net' });
    }
    const connection = new NativeEventConnection(this, id, handle, handedOver, sink);
    this.#connections[id] = connection;
    return connection;
  }

  /** Drops `connection` (closed) from its id. */
  forget(id: number, connection: NativeEventConnection): void {
    if (this.#connections[id] === connection) this.#connections[id] = undefined;
  }

  readonly #onBatch = (count: number): void => {
    const records = this.#records;
    const bytes = this.#bytes;
    const connections = this.#connections;
    for (let at = 0, end = count * 4; at < end; at += 4) {
      const connection = connections[records[at]!];
      if (connection === undefined) continue;
      try {
        switch (records[at + 1]) {
          case DATA: {
            const offset = records[at + 2]!;
            connection.sink.data(bytes.subarray(offset, offset + records[at + 3]!));
            break;
          }
          case END:
            connection.sink.end();
            break;
          case WRITABLE:
            connection.sink.writable();
            break;
          case CLOSED:
            connection.closedNatively(connectionError(records[at + 3]!, SYSCALLS[records[at + 2]!] ?? 'read'));
            break;
        }
      } catch (error) {
        // A sink that throws must not starve the batch's other connections.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  };
}

// The native core has each event driver once per environment: every copy
// of this module in the environment shares them.
const shared = Symbol.for('@overlapped/socket:native-event-drivers');
type Shared = { [shared]?: Map<DriverKind, NativeEventDriver | null> };

function started(kind: DriverKind): NativeEventDriver | undefined {
  const scope = globalThis as Shared;
  const drivers = (scope[shared] ??= new Map());
  if (!drivers.has(kind)) {
    try {
      drivers.set(kind, binding().eventsKind?.() ? new NativeEventDriver(kind) : null);
    } catch {
      drivers.set(kind, null);
    }
  }
  return drivers.get(kind) ?? undefined;
}

/**
 * The native event driver for sockets of `backend`: 'uring' for io_uring
 * (or 'poll' where the kernel lacks multishot recv or buffer rings),
 * 'poll' for threadpool; undefined where the native core has none
 * (Windows, other systems, a process whose event loop it cannot reach): the
 * generic driver serves them then. `OVERLAPPED_EVENT_DRIVER=poll` keeps
 * io_uring sockets on 'poll'.
 */
export function nativeEventDriver(backend: NativeBackendName): EventDriver | undefined {
  if (backend === 'iocp') return undefined;
  if (backend === 'io_uring' && process.env.OVERLAPPED_EVENT_DRIVER !== 'poll') return started('uring') ?? started('poll');
  return started('poll');
}
