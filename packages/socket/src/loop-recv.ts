/**
 * Promise receives on the JS thread's own event loop (native/linux/loop_recv.cc):
 * a native socket's `recv` ops wait on a uv_poll of this environment's loop
 * and are done there with one recv() into the caller's buffer, with no
 * worker thread and no thread-safe function between the kernel and JS. The
 * native core hands the finished ops over once per loop iteration, as one
 * batch; each settles through its port's op table ({@link LocalOpRunner}),
 * so errors, cancels and closes are those of the port's ops.
 */
import { type LocalOpRunner, type LocalOpSettle, systemError } from '@overlapped/common';
import type { NativeBinding } from '@overlapped/iocp';

// A record is four doubles: watcher id, op token, status, bytes.
const RECORD_FIELDS = 4;
const RECORD_COUNT = 1024;

/** The receives of one socket: a uv_poll on the loop and its queue of recvs. */
export class LoopRecvWatcher implements LocalOpRunner {
  readonly #driver: LoopRecvDriver;
  readonly #core: NativeBinding;
  readonly #id: number;
  #settle: LocalOpSettle | undefined;
  #closed = false;

  constructor(driver: LoopRecvDriver, core: NativeBinding, id: number) {
    this.#driver = driver;
    this.#core = core;
    this.#id = id;
  }

  start(token: number, buffer: Uint8Array, settle: LocalOpSettle): void {
    this.#settle = settle;
    const result = this.#closed ? -9 : this.#core.loopRecv!(this.#id, token, buffer);
    if (result < 0) throw systemError({ errno: result, syscall: 'recv', wording: 'net' });
  }

  cancel(token: number): boolean {
    return !this.#closed && this.#core.loopRecvCancel!(this.#id, token);
  }

  /** A batch's record for this watcher. */
  settled(token: number, status: number, bytes: number): void {
    this.#settle?.(token, status, bytes);
  }

  /** Stops watching (the recvs were cancelled first); the socket stays open. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#core.loopRecvClose!(this.#id)) this.#driver.forget(this.#id, this);
  }
}

/** The environment's native loop-recv driver: one per environment, whatever copies of this module load it. */
export class LoopRecvDriver {
  readonly #core: NativeBinding;
  readonly #records = new Float64Array(RECORD_COUNT * RECORD_FIELDS);
  readonly #watchers: (LoopRecvWatcher | undefined)[] = [];

  /** Starts the driver; throws the system error that stops it. */
  constructor(core: NativeBinding) {
    this.#core = core;
    const result = core.loopRecvInit!(this.#records, this.#onBatch);
    if (result < 0) throw systemError({ errno: result, syscall: 'uv_poll', wording: 'net' });
  }

  /** A watcher for the connected socket `handle`, or undefined where the loop cannot watch it. */
  open(handle: number): LoopRecvWatcher | undefined {
    const id = this.#core.loopRecvOpen!(handle);
    if (id < 0) return undefined;
    const watcher = new LoopRecvWatcher(this, this.#core, id);
    this.#watchers[id] = watcher;
    return watcher;
  }

  /** Drops a closed watcher from its id. */
  forget(id: number, watcher: LoopRecvWatcher): void {
    if (this.#watchers[id] === watcher) this.#watchers[id] = undefined;
  }

  readonly #onBatch = (count: number): void => {
    const records = this.#records;
    const watchers = this.#watchers;
    for (let at = 0, end = count * RECORD_FIELDS; at < end; at += RECORD_FIELDS) {
      watchers[records[at]!]?.settled(records[at + 1]!, records[at + 2]!, records[at + 3]!);
    }
  };
}

const shared = Symbol.for('@overlapped/socket:loop-recv-driver');
type Shared = { [shared]?: LoopRecvDriver | null };

/**
 * The environment's loop-recv driver, or undefined where the native core
 * has none (Windows, other systems, a process whose event loop it cannot
 * reach) or `OVERLAPPED_PROMISE_RECV=port` keeps receives on the port.
 */
export function loopRecvDriver(core: NativeBinding): LoopRecvDriver | undefined {
  const scope = globalThis as Shared;
  if (scope[shared] === undefined) {
    let driver: LoopRecvDriver | null = null;
    if (core.loopRecvInit !== undefined && process.env.OVERLAPPED_PROMISE_RECV !== 'port') {
      try {
        driver = new LoopRecvDriver(core);
      } catch {
        driver = null;
      }
    }
    scope[shared] = driver;
  }
  return scope[shared] ?? undefined;
}
