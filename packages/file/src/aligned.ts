/**
 * Aligned memory for unbuffered I/O. Buffers made here are remembered (by
 * their ArrayBuffer, weakly), so a `direct` file can check a buffer's
 * address before it submits anything: JS cannot read an address otherwise.
 */
import { tryLoadNativeCore } from '@overlapped/iocp';
import { validateInteger } from '@overlapped/common';

import { invalidArgValue } from '@overlapped/common';

/**
 * The alignment unbuffered I/O needs on every supported system (a page; a
 * multiple of every sector size).
 *
 * @example
 * ```ts
 * const position = Math.floor(offset / DIRECT_ALIGNMENT) * DIRECT_ALIGNMENT;
 * ```
 */
export const DIRECT_ALIGNMENT = 4096;

const alignedBases = new WeakMap<ArrayBufferLike, number>();

/**
 * Allocates `size` zeroed bytes whose address is a multiple of `alignment`
 * (a power of two, default 4096), for files opened with `direct: true`.
 * Uses the native core when it loads; otherwise over-allocates a plain
 * Buffer (then only the portable backend, which has no direct I/O, can run).
 *
 * @example
 * ```ts
 * import { allocAligned, open } from '@overlapped/file';
 *
 * const file = await open('/tmp/data.bin', { disposition: 'open-existing', access: 'read', direct: true });
 * const buffer = allocAligned(64 * 1024);
 * await file.readAt(buffer, 0);
 * ```
 */
export function allocAligned(size: number, alignment = DIRECT_ALIGNMENT): Buffer {
  validateInteger(size, 'size', 0, 2 ** 31 - 1);
  validateInteger(alignment, 'alignment', 1, 1 << 20);
  if ((alignment & (alignment - 1)) !== 0) throw invalidArgValue('alignment', alignment, 'must be a power of two');
  const core = tryLoadNativeCore();
  if (!('error' in core) && typeof core.binding.allocAligned === 'function') {
    const memory = core.binding.allocAligned(size, alignment);
    alignedBases.set(memory, alignment);
    return Buffer.from(memory, 0, size);
  }
  return Buffer.alloc(size);
}

/** Whether `view` starts at a multiple of `alignment` (known only for memory from {@link allocAligned}). */
export function isAligned(view: ArrayBufferView, alignment: number): boolean {
  const base = alignedBases.get(view.buffer);
  return base !== undefined && base % alignment === 0 && view.byteOffset % alignment === 0;
}
