/**
 * copyFile: a read -> write loop with `queueDepth` chunks in flight. Each
 * lane reads a chunk and writes it at the same position, so the file is
 * copied in any completion order without a reorder buffer.
 */
import { AbortError, type BackendName, validateAbortSignal, validateFunction, validateInteger, validateObject } from '@overlapped/common';

import { open, type OverlappedFile } from './file.js';

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
  validateObject(options, 'options');
  const queueDepth = options.queueDepth ?? 8;
  validateInteger(queueDepth, 'options.queueDepth', 1, 4096);
  const chunkSize = options.chunkSize ?? 1 << 20;
  validateInteger(chunkSize, 'options.chunkSize', 1, 0x7fff_f000);
  validateAbortSignal(options.signal, 'options.signal');
  if (options.onProgress !== undefined) validateFunction(options.onProgress, 'options.onProgress');
  const signal = options.signal;
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });

  const input = await open(source, { disposition: 'open-existing', access: 'read', hint: 'sequential', backend: options.backend, signal });
  let output: OverlappedFile | undefined;
  try {
    output = await open(destination, { disposition: 'create-always', access: 'write', backend: input.backend, signal });
    const total = await input.size();
    if (total > 0 && output.capabilities().preallocate === 'native') await output.preallocate(total);
    let next = 0;
    let copied = 0;
    let end = total;
    const lane = async () => {
      const buffer = Buffer.allocUnsafe(Math.min(chunkSize, Math.max(total, 1)));
      while (next < end) {
        if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
        const position = next;
        const length = Math.min(buffer.length, end - position);
        next += length;
        const read = await input.readAt(buffer, position, { length, signal });
        // The source shrank while it was copied: stop at its new end.
        if (read < length) end = Math.min(end, position + read);
        if (read > 0) await (output as OverlappedFile).writeAt(buffer, position, { length: read, signal });
        copied += read;
        options.onProgress?.(copied, total);
      }
    };
    await Promise.all(Array.from({ length: Math.min(queueDepth, Math.max(1, Math.ceil(total / chunkSize))) }, lane));
    if (end < total) await output.truncate(end);
    return { bytes: copied, backend: input.backend };
  } finally {
    await Promise.allSettled([input.close(), output?.close()]);
  }
}
