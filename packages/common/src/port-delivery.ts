/**
 * How completions reach JS: posts staged and handed to the driver once per
 * turn, the shared ring drained in batches on one wake-up, delivery to a
 * callback or an iterator's buffer (with backpressure), the keep-alive
 * reference, and the port's life from open through closing to closed.
 */
import type { Completion, PortDriver } from './port-contract.js';
import { OP_RECORD_MORE, RECORD_WORDS, RING_CAPACITY } from './port-contract.js';
import type { OpTable, OpTableHost } from './port-ops.js';

const STAGING_CAPACITY = 4096;
const ITERATOR_HIGH_WATER = 65_536;

/** A port is open, closing (delivering what was posted), or closed (destroyed). */
export type PortState = 'open' | 'closing' | 'closed';

/**
 * The delivery side of one port. Made in two steps: the driver needs
 * {@link wake} before it exists, so {@link attach} hands it the driver and
 * the op table afterwards.
 */
export class CompletionDelivery<V> implements OpTableHost {
  state: PortState = 'open';
  #driver!: PortDriver;
  #ops!: OpTable;
  #ring!: Float64Array;
  readonly #callback: ((completion: Completion<V>) => void) | undefined;
  readonly #staging = new Float64Array(STAGING_CAPACITY * 3);
  #staged = 0;
  #flushQueued = false;
  readonly #values = new Map<number, V>();
  #nextToken = 1;
  #completed = 0;
  #referenced = false;
  #draining = false;
  #closed: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;
  readonly #buffer: Array<Completion<V>> = [];
  #bufferHead = 0;
  readonly #waiters: Array<(result: IteratorResult<Completion<V>>) => void> = [];

  constructor(callback: ((completion: Completion<V>) => void) | undefined) {
    this.#callback = callback;
  }

  attach(driver: PortDriver, ops: OpTable): void {
    this.#driver = driver;
    this.#ops = ops;
    this.#ring = new Float64Array(driver.ring);
  }

  get open(): boolean {
    return this.state === 'open';
  }

  /** Whether completions go to a callback (then the port cannot be iterated). */
  get hasCallback(): boolean {
    return this.#callback !== undefined;
  }

  /** Completions handed to JS. */
  get completed(): number {
    return this.#completed;
  }

  /** Posts staged, not yet handed to the driver. */
  get staged(): number {
    return this.#staged;
  }

  /** Completions handed to JS that wait in the iterator's buffer. */
  get buffered(): number {
    return this.#buffer.length - this.#bufferHead;
  }

  /** Stages one post (validated); it goes to the driver at the end of the turn, or when the staging is full. */
  post(key: number, bytes: number, value: V | undefined): void {
    let token = 0;
    if (value !== undefined) {
      token = this.#nextToken++;
      this.#values.set(token, value);
    }
    const at = this.#staged * 3;
    this.#staging[at] = key;
    this.#staging[at + 1] = bytes;
    this.#staging[at + 2] = token;
    this.#staged++;
    if (!this.#referenced) this.#setRef(true);
    if (this.#staged === STAGING_CAPACITY) {
      this.#flush();
    } else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    if (this.#staged === 0) return;
    const count = this.#staged;
    this.#staged = 0;
    this.#driver.postBatch(this.#staging, count);
  };

  keepAlive(): void {
    if (!this.#referenced) this.#setRef(true);
  }

  opsFailed(): void {
    if (!this.#draining) this.#afterDrain();
  }

  #setRef(ref: boolean): void {
    if (this.#referenced === ref || this.state === 'closed') return;
    this.#referenced = ref;
    this.#driver.setRef(ref);
  }

  /**
   * Starts closing: no more posts, the staged ones go to the driver, native
   * posters stop, and the port stays referenced until everything posted
   * was delivered. Resolves once the driver was destroyed.
   */
  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    this.state = 'closing';
    this.#flush();
    this.#driver.stopPosters();
    this.#closed = new Promise<void>((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#setRef(true);
    queueMicrotask(this.wake);
    return this.#closed;
  }

  /** The iterator's next step: a buffered completion, the end once closed, or a wait. */
  next(): Promise<IteratorResult<Completion<V>>> {
    if (this.#bufferHead < this.#buffer.length) {
      const value = this.#buffer[this.#bufferHead] as Completion<V>;
      this.#buffer[this.#bufferHead++] = undefined as unknown as Completion<V>;
      if (this.#bufferHead === this.#buffer.length) {
        this.#buffer.length = 0;
        this.#bufferHead = 0;
      } else if (this.#bufferHead > 4096 && this.#bufferHead * 2 > this.#buffer.length) {
        this.#buffer.splice(0, this.#bufferHead);
        this.#bufferHead = 0;
      }
      if (this.#buffer.length - this.#bufferHead === ITERATOR_HIGH_WATER / 2) queueMicrotask(this.wake);
      return Promise.resolve({ done: false, value });
    }
    if (this.state === 'closed') return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Runs on the JS thread when completions wait: drains the shared ring in
   * batches until it is empty, or until an unread iterator buffer is full.
   */
  readonly wake = (): void => {
    if (this.#draining || this.state === 'closed') return;
    this.#draining = true;
    let firstError: unknown;
    let failed = false;
    try {
      for (;;) {
        if (!this.#callback && this.state === 'open' && this.#buffer.length - this.#bufferHead >= ITERATOR_HIGH_WATER) {
          break;
        }
        const count = this.#driver.drain();
        if (count === 0) break;
        const ring = this.#ring;
        for (let i = 0; i < count; i++) {
          const at = i * RECORD_WORDS;
          const token = ring[at + 2] as number;
          if (token < 0) {
            this.#ops.complete(-token, ring[at + 3] as number, ring[at + 1] as number, ring[at] === OP_RECORD_MORE);
            continue;
          }
          let value: V | undefined;
          if (token !== 0) {
            value = this.#values.get(token);
            this.#values.delete(token);
          }
          this.#completed++;
          const completion: Completion<V> = { key: ring[at] as number, bytes: ring[at + 1] as number, value };
          if (this.#callback) {
            // A throwing callback must not lose the rest of the batch: the
            // first error is rethrown as an uncaught exception afterwards.
            try {
              this.#callback(completion);
            } catch (error) {
              if (!failed) {
                failed = true;
                firstError = error;
              }
            }
          } else {
            const waiter = this.#waiters.shift();
            if (waiter) waiter({ done: false, value: completion });
            else this.#buffer.push(completion);
          }
        }
        if (count < RING_CAPACITY) break;
      }
    } finally {
      this.#draining = false;
    }
    this.#afterDrain();
    if (failed) {
      queueMicrotask(() => {
        throw firstError;
      });
    }
  };

  // Once nothing is staged or in flight: a closing port is destroyed and
  // its iterators end; an open one stops keeping the event loop alive.
  #afterDrain(): void {
    if (this.#staged > 0 || this.#ops.staged > 0 || this.#driver.busy()) return;
    if (this.state === 'closing') {
      this.state = 'closed';
      this.#driver.destroy();
      this.#referenced = false;
      for (const waiter of this.#waiters.splice(0)) waiter({ done: true, value: undefined });
      this.#resolveClosed?.();
      return;
    }
    this.#setRef(false);
  }
}
