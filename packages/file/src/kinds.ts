/**
 * The native file op kinds and the encodings they share with
 * packages/iocp/native/common/backend.h (`OpKind`, `file_open`,
 * `FileStatField`). Keep both sides in step.
 */

/** File op kinds (the 1-63 range of the native `OpKind`). */
export const FileOpKinds = {
  open: 2,
  close: 3,
  read: 4,
  write: 5,
  readv: 6,
  writev: 7,
  sync: 8,
  allocate: 9,
  truncate: 10,
  stat: 11,
} as const;

/** Bits of an open op's `arg` (`file_open` in backend.h). Dispositions and share bits carry their Win32 values. */
export const OpenBits = {
  accessRead: 1 << 3,
  accessWrite: 1 << 4,
  shareShift: 5,
  direct: 1 << 8,
  writeThrough: 1 << 9,
  hintSequential: 1 << 10,
  hintRandom: 1 << 11,
} as const;

/** Win32 dispositions, as the `disposition` option names them. */
export const DISPOSITIONS = {
  'create-new': 1,
  'create-always': 2,
  'open-existing': 3,
  'open-always': 4,
  'truncate-existing': 5,
} as const;

/** Win32 share bits (FILE_SHARE_READ, FILE_SHARE_WRITE, FILE_SHARE_DELETE). */
export const SHARE_BITS = { read: 1, write: 2, delete: 4 } as const;

/** Doubles a stat op writes, in order (`FileStatField`). */
export const STAT_FIELDS = [
  'size',
  'allocated',
  'blksize',
  'mode',
  'nlink',
  'ino',
  'dev',
  'atimeMs',
  'mtimeMs',
  'ctimeMs',
  'birthtimeMs',
] as const;

/** The most one read or write op moves; Linux caps a transfer at this too. */
export const MAX_TRANSFER = 0x7fff_f000;
/** Buffers one vectored op takes at most (IOV_MAX). */
export const MAX_VECTORS = 1024;
