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
// The starts array: [0] 1 while the native core delivers a batch, [1] the
// recvs staged, then two doubles per recv: watcher id, op token (0: taken
// back by a cancel).
const STARTS_HEADER = 2;
const START_FIELDS = 2;
const START_COUNT = 1024;

/** The receives of one socket: a uv_poll on the loop and its queue of recvs. */
export class LoopRecvWatcher implements LocalOpRunner {
  readonly #driver: LoopRecvDriver;
  readonly #core: NativeBinding;
  readonly #id: number;
  #settle: LocalOpSettle | undefined;
  #closed = false;
  // The buffer of the last recv the native core queued, and its length
  // then: a recv into the same buffer, still that long (not detached), is
  // staged while a batch is delivered rather than handed over in a call.
  #lastBuffer: Uint8Array | undefined;
  #lastLength = 0;
  // The delivery (LoopRecvDriver.delivery) this watcher last staged a recv in.
  #stagedIn = -1;

  constructor(driver: LoopRecvDriver, core: NativeBinding, id: number) {
    this.#driver = driver;
    this.#core = core;
    this.#id = id;
  }

  start(token: number, buffer: Uint8Array, settle: LocalOpSettle): void {
    this.#settle = settle;
    const driver = this.#driver;
    if (buffer === this.#lastBuffer && buffer.byteLength === this.#lastLength && !this.#closed && driver.stage(this.#id, token)) {
      this.#stagedIn = driver.delivery;
      return;
    }
    // Recvs staged before this one go first, so that the queue keeps the
    // call order (they are ahead of it).
    if (this.#stagedIn === driver.delivery && !this.#closed) this.#queueStaged();
    const result = this.#closed ? -9 : this.#core.loopRecv!(this.#id, token, buffer);
    if (result < 0) throw systemError({ errno: result, syscall: 'recv', wording: 'net' });
    this.#lastBuffer = buffer;
    this.#lastLength = buffer.byteLength;
  }

  // Hands this watcher's staged recvs to the native core now, in order.
  #queueStaged(): void {
    this.#stagedIn = -1;
    const buffer = this.#lastBuffer!;
    for (const token of this.#driver.unstageAll(this.#id)) this.#core.loopRecv!(this.#id, token, buffer);
  }

  cancel(token: number): boolean {
    if (this.#closed) return false;
    return this.#driver.unstage(this.#id, token) || this.#core.loopRecvCancel!(this.#id, token);
  }

  /** A batch's record for this watcher. */
  settled(token: number, status: number, bytes: number): void {
    this.#settle?.(token, status, bytes);
  }

  /** Stops watching (the recvs were cancelled first); the socket stays open. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#lastBuffer = undefined;
    if (this.#core.loopRecvClose!(this.#id)) this.#driver.forget(this.#id, this);
  }
}

/** The environment's native loop-recv driver: one per environment, whatever copies of this module load it. */
export class LoopRecvDriver {
  readonly #core: NativeBinding;
  readonly #records = new Float64Array(RECORD_COUNT * RECORD_FIELDS);
  readonly #starts = new Float64Array(STARTS_HEADER + START_COUNT * START_FIELDS);
  readonly #watchers: (LoopRecvWatcher | undefined)[] = [];

  /** Starts the driver; throws the system error that stops it. */
  constructor(core: NativeBinding) {
    this.#core = core;
    const result = core.loopRecvInit!(this.#records, this.#onBatch, this.#starts);
    if (result < 0) throw systemError({ errno: result, syscall: 'uv_poll', wording: 'net' });
  }

  /**
   * Stages a recv of watcher `id` into its last buffer, for the native core
   * to queue once the batch it delivers now returns: false when no batch is
   * being delivered (or the array is full), and the recv goes through a call.
   */
  stage(id: number, token: number): boolean {
    const starts = this.#starts;
    if (starts[0] !== 1) return false;
    const count = starts[1]!;
    if (count === START_COUNT) return false;
    const at = STARTS_HEADER + count * START_FIELDS;
    starts[at] = id;
    starts[at + 1] = token;
    starts[1] = count + 1;
    return true;
  }

  /** Takes the recvs of watcher `id` staged in this delivery back; their tokens, in order. */
  unstageAll(id: number): number[] {
    const starts = this.#starts;
    const tokens: number[] = [];
    if (starts[0] !== 1) return tokens;
    for (let at = STARTS_HEADER, end = STARTS_HEADER + starts[1]! * START_FIELDS; at < end; at += START_FIELDS) {
      if (starts[at] === id && starts[at + 1] !== 0) {
        tokens.push(starts[at + 1]!);
        starts[at + 1] = 0;
      }
    }
    return tokens;
  }

  /** Takes a staged recv back (it never reaches the native core): whether it was staged. */
  unstage(id: number, token: number): boolean {
    const starts = this.#starts;
    for (let at = STARTS_HEADER, end = STARTS_HEADER + starts[1]! * START_FIELDS; at < end; at += START_FIELDS) {
      if (starts[at + 1] === token && starts[at] === id) {
        starts[at + 1] = 0;
        return true;
      }
    }
    return false;
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

  /** Counts the batches delivered: a recv staged in an earlier one was queued when it returned. */
  delivery = 0;

  readonly #onBatch = (count: number): void => {
    this.delivery++;
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
