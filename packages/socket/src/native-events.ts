/**
 * The native event driver ('poll'): the native core watches the event
 * sockets of this JS environment on its own event loop, reads each
 * readable one into a shared buffer and calls {@link NativeEventDriver}
 * once per wake with a batch of records, which are dispatched here to the
 * connections' sinks. Writes are sent at once by the native core on this
 * thread; what the kernel does not take is queued natively.
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

const DATA_BYTES = 256 * 1024;
const RECORD_COUNT = 2048;

function connectionError(errno: number, syscall: string): Error | undefined {
  return errno === 0 ? undefined : systemError({ errno, syscall, wording: 'net' });
}

/** What the driver needs of a native socket it takes over. */
type HandedOver = Pick<NativeSocketDriver, 'handOver' | 'handedOverClosed'>;

/** One socket the native driver took over. */
class NativeEventConnection implements EventConnection {
  readonly sink: EventSink;
  readonly #driver: NativeEventDriver;
  readonly #id: number;
  readonly #handle: number;
  readonly #socket: HandedOver;
  #closed = false;

  constructor(driver: NativeEventDriver, id: number, handle: number, socket: HandedOver, sink: EventSink) {
    this.#driver = driver;
    this.#id = id;
    this.#handle = handle;
    this.#socket = socket;
    this.sink = sink;
  }

  write(bytes: Uint8Array): number {
    if (this.#closed) return 0;
    const queued = binding().eventsWrite!(this.#id, bytes);
    if (queued >= 0) return queued;
    // The connection died under the send: the native core closed it.
    this.#later(connectionError(queued, 'write'));
    return 0;
  }

  end(): void {
    if (!this.#closed) binding().eventsEnd!(this.#id);
  }

  pause(): void {
    if (!this.#closed) binding().eventsPause!(this.#id);
  }

  resume(): void {
    if (!this.#closed) binding().eventsResume!(this.#id);
  }

  setNoDelay(on: boolean): void {
    if (!this.#closed) binding().socketSetOption(this.#handle, SOCKET_OPTION_NO_DELAY, on ? 1 : 0);
  }

  close(): void {
    if (!this.#closed && binding().eventsClose!(this.#id)) this.#later(undefined);
  }

  reset(): void {
    if (this.#closed) return;
    binding().eventsReset!(this.#id);
    this.#later(undefined);
  }

  // The native core closed the connection in a call from JS: the sink
  // hears of it after the call returned.
  #later(error: Error | undefined): void {
    this.#detach();
    queueMicrotask(() => this.#finish(error));
  }

  #detach(): void {
    this.#closed = true;
    this.#driver.forget(this.#id, this);
  }

  #finish(error: Error | undefined): void {
    this.#socket.handedOverClosed();
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
  readonly kind: string;
  readonly #connections: (NativeEventConnection | undefined)[] = [];
  readonly #records = new Int32Array(RECORD_COUNT * 4);
  readonly #bytes = new Uint8Array(DATA_BYTES);

  constructor(kind: string) {
    this.kind = kind;
    const result = binding().eventsInit!(this.#bytes.buffer as ArrayBuffer, this.#records, this.#onBatch);
    if (result < 0) throw systemError({ errno: result, syscall: 'epoll_create', wording: 'net' });
  }

  open(socket: SocketDriver, sink: EventSink): EventConnection {
    // Duck-typed: a second copy of this module (another build in the same
    // process) shares the one driver of the environment.
    if (typeof (socket as Partial<NativeSocketDriver>).handOver !== 'function') {
      throw new TypeError('the native event driver takes native sockets only');
    }
    const handedOver = socket as unknown as HandedOver;
    const handle = handedOver.handOver();
    const id = binding().eventsOpen!(handle);
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

// The native core has one event driver per environment: every copy of this
// module in the environment shares it.
const shared = Symbol.for('@overlapped/socket:native-event-driver');
type Shared = { [shared]?: NativeEventDriver | null };

/**
 * The native event driver for sockets of `backend` (io_uring, threadpool),
 * or undefined where the native core has none (Windows, other systems, a
 * process whose event loop it cannot reach): the generic driver serves
 * them then.
 */
export function nativeEventDriver(backend: NativeBackendName): EventDriver | undefined {
  if (backend === 'iocp') return undefined;
  const scope = globalThis as Shared;
  if (scope[shared] === undefined) {
    const kind = binding().eventsKind?.() ?? '';
    scope[shared] = kind === '' ? null : new NativeEventDriver(kind);
  }
  return scope[shared] ?? undefined;
}
