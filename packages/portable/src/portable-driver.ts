/**
 * The portable PortDriver: the port's queue in plain JS. There are no
 * worker threads; a posted completion is delivered on a later turn of the
 * event loop (setImmediate), in batches, in post order.
 */
import { type DriverCounters, type PortDriver, RECORD_WORDS } from '@overlapped/common';

export class PortableDriver implements PortDriver {
  readonly ring: ArrayBuffer;
  readonly #view: Float64Array;
  readonly #capacity: number;
  readonly #wake: () => void;
  // Flat triples [key, bytes, token] waiting for delivery.
  #queue: number[] = [];
  #head = 0;
  #posted = 0;
  #delivered = 0;
  #peakQueued = 0;
  #scheduled: NodeJS.Immediate | undefined;
  #referenced = false;
  #destroyed = false;

  constructor(ringCapacity: number, wake: () => void) {
    this.#capacity = ringCapacity;
    this.ring = new ArrayBuffer(ringCapacity * RECORD_WORDS * 8);
    this.#view = new Float64Array(this.ring);
    this.#wake = wake;
  }

  postBatch(staging: Float64Array, count: number): void {
    for (let i = 0; i < count * 3; i++) this.#queue.push(staging[i] as number);
    this.#posted += count;
    const queued = (this.#queue.length - this.#head) / 3;
    if (queued > this.#peakQueued) this.#peakQueued = queued;
    this.#schedule();
  }

  drain(): number {
    const available = (this.#queue.length - this.#head) / 3;
    const count = Math.min(available, this.#capacity);
    const view = this.#view;
    let from = this.#head;
    for (let i = 0; i < count; i++) {
      const at = i * RECORD_WORDS;
      view[at] = this.#queue[from++] as number;
      view[at + 1] = this.#queue[from++] as number;
      view[at + 2] = this.#queue[from++] as number;
      view[at + 3] = 0;
    }
    this.#head = from;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1 << 16) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#delivered += count;
    if (this.#head < this.#queue.length) this.#schedule();
    return count;
  }

  busy(): boolean {
    return this.#posted !== this.#delivered;
  }

  counters(): DriverCounters {
    return {
      posted: this.#posted,
      delivered: this.#delivered,
      peakQueued: this.#peakQueued,
      // The JS thread is the only "worker": one at a time.
      peakRunning: this.#delivered > 0 ? 1 : 0,
      activePosters: 0,
    };
  }

  setRef(ref: boolean): void {
    this.#referenced = ref;
    if (ref) this.#scheduled?.ref();
    else this.#scheduled?.unref();
  }

  stopPosters(): void {}

  destroy(): void {
    this.#destroyed = true;
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
  }

  #schedule(): void {
    if (this.#scheduled || this.#destroyed) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = undefined;
      this.#wake();
    });
    if (!this.#referenced) this.#scheduled.unref();
  }
}
