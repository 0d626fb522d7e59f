/**
 * The part of @overlapped/file that ocopy uses, as one value: the CLI passes
 * the package itself, a test may pass a stand-in that wraps it.
 */
import { copyFile, open } from '@overlapped/file';

export interface OverlappedFileModule {
  open: typeof open;
  copyFile: typeof copyFile;
}

/**
 * @overlapped/file itself.
 *
 * @example
 * ```ts
 * const { bytes, backend } = await overlappedFile.copyFile('a.bin', 'b.bin', { queueDepth: 8 });
 * ```
 */
export const overlappedFile: OverlappedFileModule = { open, copyFile };
