/**
 * copyFile: a read -> write loop with `queueDepth` chunks in flight. Each
 * lane reads a chunk and writes it at the same position, so the file is
 * copied in any completion order without a reorder buffer.
 */
import { fileURLToPath } from 'node:url';

import {
  AbortError,
  type BackendName,
  invalidArgType,
  isOverlappedError,
  systemError,
  type SystemError,
  validateAbortSignal,
  validateFunction,
  validateInteger,
  validateObject,
} from '@overlapped/common';

import { copyRangeTo, open, type OverlappedFile } from './file.js';

/** Options of {@link copyFile}. */
export interface CopyFileOptions {
  /** Chunks in flight. Default 8. */
  queueDepth?: number;
  /** Bytes per chunk. Default 1 MiB. */
  chunkSize?: number;
  /** Stops the copy; it rejects with AbortError and the destination is left as far as it got. */
  signal?: AbortSignal;
  /** Called after each chunk lands, with the bytes copied so far and the total. */
  onProgress?: (copied: number, total: number) => void;
  /** Default `'auto'`. */
  backend?: 'auto' | BackendName;
}

/** What {@link copyFile} did. */
export interface CopyFileResult {
  bytes: number;
  backend: BackendName;
}

/**
 * Copies `source` to `destination` (created or replaced) with `queueDepth`
 * reads and writes of `chunkSize` in flight. The destination is
 * preallocated to the source's size first on the native backends.
 *
 * The destination is opened without emptying it, and emptied only once it
 * is known not to be the source: a destination that is the same file (the
 * same path, a hard link, a symbolic link to it) rejects with `EINVAL`
 * (`source and destination are the same file`) and both stay as they
 * were. System errors are shaped like `fs.copyFile`'s: `syscall`
 * `'copyfile'`, `path` the source and `dest` the destination as given,
 * e.g. `ENOENT: no such file or directory, copyfile 'a' -> 'b'`.
 *
 * @example
 * ```ts
 * import { copyFile } from '@overlapped/file';
 *
 * const { bytes } = await copyFile('/tmp/big.bin', '/tmp/big.copy', {
 *   queueDepth: 16,
 *   chunkSize: 1 << 20,
 *   onProgress: (copied, total) => console.log(`${copied} / ${total}`),
 * });
 * ```
 */
export async function copyFile(source: string | URL, destination: string | URL, options: CopyFileOptions = {}): Promise<CopyFileResult> {
  const from = pathOf(source, 'source');
  const to = pathOf(destination, 'destination');
  validateObject(options, 'options');
  const queueDepth = options.queueDepth ?? 8;
  validateInteger(queueDepth, 'options.queueDepth', 1, 4096);
  const chunkSize = options.chunkSize ?? 1 << 20;
  validateInteger(chunkSize, 'options.chunkSize', 1, 0x7fff_f000);
  validateAbortSignal(options.signal, 'options.signal');
  if (options.onProgress !== undefined) validateFunction(options.onProgress, 'options.onProgress');
  if (options.signal?.aborted) throw new AbortError(undefined, { cause: options.signal.reason });
  try {
    return await copy(from, to, queueDepth, chunkSize, options);
  } catch (error) {
    throw asCopyError(error, from, to);
  }
}

/** A path argument as a string (a file: URL is converted, as fs does). */
function pathOf(path: unknown, name: string): string {
  if (typeof path === 'string') return path;
  if (path instanceof URL) return fileURLToPath(path);
  throw invalidArgType(name, 'of type string or an instance of URL', path);
}

/** A system error of any step, reported as fs.copyFile reports it. */
function asCopyError(error: unknown, path: string, dest: string): unknown {
  if (!isOverlappedError(error) || !/^E[A-Z0-9]+$/.test(error.code)) return error;
  const syscall = (error as SystemError).syscall;
  if (typeof syscall !== 'string' || syscall === 'copyfile') return error;
  const { code, errno, rawCode } = error as SystemError;
  return systemError({ code, errno, rawCode, syscall: 'copyfile', path, dest, cause: error });
}

async function copy(source: string, destination: string, queueDepth: number, chunkSize: number, options: CopyFileOptions): Promise<CopyFileResult> {
  const signal = options.signal;
  const input = await open(source, { disposition: 'open-existing', access: 'read', hint: 'sequential', backend: options.backend, signal });
  let output: OverlappedFile | undefined;
  try {
    // Opened as it is, and emptied only once it is known to be another
    // file: create-always would empty the source itself when both names
    // lead to one file.
    output = await open(destination, { disposition: 'open-always', access: 'write', backend: input.backend, signal });
    const [from, to] = await Promise.all([input.stat(), output.stat()]);
    if (from.dev === to.dev && from.ino === to.ino) {
      throw systemError({ code: 'EINVAL', syscall: 'copyfile', path: source, dest: destination, description: 'source and destination are the same file' });
    }
    if (to.size > 0) await output.truncate(0);
    const total = from.size;
    if (total > 0 && output.capabilities().preallocate === 'native') await output.preallocate(total);
    let next = 0;
    let copied = 0;
    let end = total;
    const out = output;
    // Where the backend copies on its workers, each op moves a stripe of a
    // few chunks without crossing into JS; elsewhere a lane reads a chunk
    // and writes it at the same position.
    let native = input.capabilities().nativeCopy;
    const stripe = native ? chunkSize * 4 : chunkSize;
    // Through JS: chunk by chunk, each read then written at its position.
    const copyThroughJs = async (buffer: Buffer, position: number, length: number) => {
      let moved = 0;
      while (moved < length) {
        const want = Math.min(buffer.length, length - moved);
        const got = await input.readAt(buffer, position + moved, { length: want, signal });
        if (got > 0) await out.writeAt(buffer, position + moved, { length: got, signal });
        moved += got;
        if (got < want) break; // the source ends here
      }
      return moved;
    };
    const lane = async () => {
      const buffer = Buffer.allocUnsafe(Math.min(chunkSize, Math.max(total, 1)));
      while (next < end) {
        if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
        const position = next;
        const length = Math.min(stripe, end - position);
        next += length;
        let moved: number | undefined;
        if (native) {
          try {
            moved = await input[copyRangeTo](out, position, length, buffer, signal);
          } catch (error) {
            // ENOSYS: this native core has no copy op for the backend (an
            // older build): the copy goes on through JS, this stripe too.
            if ((error as { code?: unknown }).code !== 'ENOSYS') throw error;
            native = false;
          }
        }
        moved ??= await copyThroughJs(buffer, position, length);
        // The source shrank while it was copied: stop at its new end.
        if (moved < length) end = Math.min(end, position + moved);
        copied += moved;
        options.onProgress?.(copied, total);
      }
    };
    await Promise.all(Array.from({ length: Math.min(queueDepth, Math.max(1, Math.ceil(total / stripe))) }, lane));
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    if (end < total) await output.truncate(end);
    // Bytes past a new end were copied, then cut off: they do not count.
    return { bytes: Math.min(copied, end), backend: input.backend };
  } finally {
    await Promise.allSettled([input.close(), output?.close()]);
  }
}
