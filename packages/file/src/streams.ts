/**
 * Node streams over an OverlappedFile that keep `queueDepth` positional ops
 * in flight and still deliver (or land) in order.
 */
import { Readable, Writable } from 'node:stream';

import { outOfRange, validateAbortSignal, validateInteger, validateObject } from '@overlapped/common';

import type { OverlappedFile } from './file.js';

/** Options of {@link OverlappedFile.createReadStream}. */
export interface ReadStreamOptions {
  /** First byte. Default 0. */
  start?: number;
  /** Last byte, inclusive (as in fs.createReadStream), at least `start`. Default (or `Infinity`): to the end of the file. */
  end?: number;
  /** Bytes per read. Default 64 KiB. */
  chunkSize?: number;
  /** Reads in flight. Default 4. */
  queueDepth?: number;
  /** Destroys the stream with an AbortError. */
  signal?: AbortSignal;
}

/** Options of {@link OverlappedFile.createWriteStream}. */
export interface WriteStreamOptions {
  /** Where the first chunk lands. Default: the file's cursor (`file.position`). */
  start?: number;
  /** Chunks are written as they come; larger ones are split into writes of this size. Default 1 MiB. */
  chunkSize?: number;
  /** Writes in flight. Default 4. */
  queueDepth?: number;
  /** Destroys the stream with an AbortError. */
  signal?: AbortSignal;
}

interface Slot {
  buffer: Buffer;
  bytes: number;
  done: boolean;
}

/**
 * A Readable over a file range with `queueDepth` reads in flight.
 *
 * @example
 * ```ts
 * for await (const chunk of file.createReadStream({ chunkSize: 1 << 20, queueDepth: 8 })) process.stdout.write(chunk);
 * ```
 */
export class OverlappedReadStream extends Readable {
  readonly #file: OverlappedFile;
  readonly #chunkSize: number;
  readonly #queueDepth: number;
  readonly #end: number;
  #next: number;
  #slots: Slot[] = [];
  #eof = false;
  #wanted = false;
  #finished = false;
  readonly #controller = new AbortController();

  constructor(file: OverlappedFile, options: ReadStreamOptions = {}) {
    validateObject(options, 'options');
    // As fs.createReadStream checks them: names, codes and messages alike.
    const start = options.start ?? 0;
    if (options.start !== undefined) validateInteger(options.start, 'start', 0);
    const end = options.end === undefined ? Number.POSITIVE_INFINITY : options.end;
    if (end !== Number.POSITIVE_INFINITY) {
      validateInteger(end, 'end', 0);
      if (start > end) throw outOfRange('start', `<= "end" (here: ${end})`, start);
    }
    const chunkSize = options.chunkSize ?? 64 * 1024;
    validateInteger(chunkSize, 'options.chunkSize', 1, 0x7fff_f000);
    const queueDepth = options.queueDepth ?? 4;
    validateInteger(queueDepth, 'options.queueDepth', 1, 4096);
    validateAbortSignal(options.signal, 'options.signal');
    super({ highWaterMark: chunkSize, signal: options.signal });
    this.#file = file;
    this.#chunkSize = chunkSize;
    this.#queueDepth = queueDepth;
    this.#next = start;
    this.#end = end + 1;
  }

  override _read(): void {
    this.#wanted = true;
    this.#deliver();
    this.#pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#controller.abort();
    callback(error);
  }

  #pump(): void {
    while (!this.#eof && this.#slots.length < this.#queueDepth && this.#next < this.#end && !this.destroyed) {
      const length = Math.min(this.#chunkSize, this.#end - this.#next);
      const slot: Slot = { buffer: Buffer.allocUnsafe(length), bytes: 0, done: false };
      this.#slots.push(slot);
      const position = this.#next;
      this.#next += length;
      this.#file.readAt(slot.buffer, position, { signal: this.#controller.signal }).then(
        (bytes) => {
          slot.bytes = bytes;
          slot.done = true;
          if (bytes < length) this.#eof = true;
          this.#deliver();
          this.#pump();
        },
        (error: Error) => {
          if (!this.destroyed) this.destroy(error);
        },
      );
    }
    if (this.#slots.length === 0 && (this.#eof || this.#next >= this.#end)) this.#finish();
  }

  #deliver(): void {
    while (this.#wanted && this.#slots.length > 0 && (this.#slots[0] as Slot).done) {
      const slot = this.#slots.shift() as Slot;
      if (slot.bytes < slot.buffer.length) {
        // End of file: whatever was read after this slot is past it.
        this.#eof = true;
        this.#slots.length = 0;
      }
      if (slot.bytes > 0) this.#wanted = this.push(slot.buffer.subarray(0, slot.bytes));
    }
    if (this.#slots.length === 0 && (this.#eof || this.#next >= this.#end)) this.#finish();
  }

  #finish(): void {
    if (this.#finished || this.destroyed) return;
    this.#finished = true;
    this.push(null);
  }
}

/**
 * A Writable that lands its chunks back to back with `queueDepth` writes in
 * flight.
 *
 * @example
 * ```ts
 * const out = file.createWriteStream({ start: 0, queueDepth: 8 });
 * out.write(Buffer.from('hello'));
 * out.end();
 * ```
 */
export class OverlappedWriteStream extends Writable {
  readonly #file: OverlappedFile;
  readonly #chunkSize: number;
  readonly #queueDepth: number;
  #next: number;
  #inFlight = 0;
  #waiting: ((error?: Error | null) => void) | undefined;
  #drained: ((error?: Error | null) => void) | undefined;
  #failed: Error | undefined;
  readonly #controller = new AbortController();
  /** Bytes written so far. */
  bytesWritten = 0;

  constructor(file: OverlappedFile, options: WriteStreamOptions = {}) {
    validateObject(options, 'options');
    const start = options.start ?? file.position;
    if (options.start !== undefined) validateInteger(options.start, 'start', 0);
    const chunkSize = options.chunkSize ?? 1 << 20;
    validateInteger(chunkSize, 'options.chunkSize', 1, 0x7fff_f000);
    const queueDepth = options.queueDepth ?? 4;
    validateInteger(queueDepth, 'options.queueDepth', 1, 4096);
    validateAbortSignal(options.signal, 'options.signal');
    super({ signal: options.signal, highWaterMark: chunkSize });
    this.#file = file;
    this.#chunkSize = chunkSize;
    this.#queueDepth = queueDepth;
    this.#next = start;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#failed) return callback(this.#failed);
    for (let at = 0; at < chunk.length; at += this.#chunkSize) {
      this.#start(chunk.subarray(at, Math.min(chunk.length, at + this.#chunkSize)));
    }
    if (this.#inFlight < this.#queueDepth) callback();
    else this.#waiting = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.#failed) return callback(this.#failed);
    if (this.#inFlight === 0) return callback();
    this.#drained = callback;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#controller.abort();
    callback(error);
  }

  #start(part: Buffer): void {
    const position = this.#next;
    this.#next += part.length;
    this.#inFlight++;
    this.#file.writeAt(part, position, { signal: this.#controller.signal }).then(
      (bytes) => {
        this.bytesWritten += bytes;
        this.#settle(undefined);
      },
      (error: Error) => this.#settle(error),
    );
  }

  #settle(error: Error | undefined): void {
    this.#inFlight--;
    if (error && !this.#failed) this.#failed = error;
    if (this.#waiting && (this.#failed || this.#inFlight < this.#queueDepth)) {
      const callback = this.#waiting;
      this.#waiting = undefined;
      callback(this.#failed);
    }
    if (this.#drained && (this.#failed || this.#inFlight === 0)) {
      const callback = this.#drained;
      this.#drained = undefined;
      callback(this.#failed);
    }
  }
}
