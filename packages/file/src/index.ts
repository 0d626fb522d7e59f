/**
 * @overlapped/file: overlapped file I/O. A file takes reads and writes at
 * explicit absolute 64-bit positions, many in flight at once, each
 * completing on its own, on IOCP (Windows), io_uring (Linux), a native
 * thread pool (POSIX) or node:fs (portable). A cursor, streams and a copy
 * loop are conveniences on top.
 *
 * @packageDocumentation
 */
export { allocAligned, DIRECT_ALIGNMENT } from './aligned.js';
export { copyFile } from './copy.js';
export type { CopyFileOptions, CopyFileResult } from './copy.js';
export type { FileCapabilities } from './driver.js';
export { fileCapabilities, lendHandle, open, OverlappedFile } from './file.js';
export type { Access, BatchRequest, Disposition, FileStat, IoOptions, OpenOptions, ShareMode } from './file.js';
export { OverlappedReadStream, OverlappedWriteStream } from './streams.js';
export type { ReadStreamOptions, WriteStreamOptions } from './streams.js';
