/**
 * The contract between the TypeScript packages and the native core, defined
 * once: every op (kind number, name, family, the meaning of each field of
 * its record, traits) and every record layout, flag bit and limit both
 * sides must agree on. Pure data.
 *
 * `packages/iocp/scripts/op-table.mjs` turns it into
 * `packages/iocp/native/common/generated/op_table.h` (the C++ `OpKind` enum,
 * trait lookups, typed field accessors, the constants, the ABI id) and
 * `src/generated/op-table.ts` here (the constants every package imports).
 * The native build runs it; a test fails when either file is stale, and
 * the loader refuses a native core built from another table (the ABI id,
 * a hash of this table, differs).
 *
 * Adding an op: a row here, one function per backend registered for its
 * kind (the build fails until each backend has one, or says it has none),
 * the TypeScript method and its test.
 */

/**
 * What an op's record fields mean. Slots: `handle` (fd, HANDLE or SOCKET),
 * `offset` (a 64-bit position), `arg` and `length` (64-bit integers), `path`
 * (a UTF-8 string) and `buffers` (memory, in order). A slot the layout does
 * not name is unused by the kind.
 */
export interface OpLayout {
  readonly handle?: string;
  readonly offset?: string;
  readonly arg?: string;
  readonly length?: string;
  readonly path?: string;
  /** The buffers in order, `name` or `name?` (optional); `[]` for a list of any length. */
  readonly buffers?: readonly string[];
}

/** Traits of an op that the backends and the port look up instead of naming kinds. */
export interface OpTraits {
  /**
   * No overlapped form on Windows: the blocking call runs on the port
   * worker that reaps the op's own posted packet.
   */
  readonly blockingOnWindows: boolean;
  /** No io_uring opcode: runs on the io_uring backend's helper threads. */
  readonly uringHelper: boolean;
  /**
   * The io_uring SQE copies data inline in io_uring_enter when the data is
   * at hand (buffered reads and writes), so the ring's worker submits it.
   */
  readonly uringCopiesInline: boolean;
  /** The kind of handle a successful op returns as its result. */
  readonly returnsHandle: 'none' | 'file' | 'socket';
  /** The kind of handle the op closes (it leaves the environment's set at submit). */
  readonly closesHandle: 'none' | 'file' | 'socket';
  /**
   * Relays: reads its socket (`handle`) and writes what it read to the
   * socket in `arg` until the source ends. Its steps run on either socket,
   * so a backend cancels its I/O on both, and on the reactor it may wait in
   * either socket's queue (it starts in its own, as `reactor` says).
   */
  readonly relays: boolean;
  /** May complete several times where a backend supports it (op_flags multishot). */
  readonly multishot: boolean;
  /**
   * On the POSIX readiness reactor: which queue of its socket it waits in
   * (`read`, `write`), or `flush` (the socket's waiting ops get a try
   * first, then it runs), or `close` (they get a try, those still waiting
   * end, then it runs). `none`: not a reactor op.
   */
  readonly reactor: 'none' | 'read' | 'write' | 'flush' | 'close';
  /** On the reactor, joins its queue from the submitting thread (no reactor wake-up). */
  readonly reactorQueuesDirectly: boolean;
}

/** One op. `name` is unique within its family. */
export interface OpDefinition {
  readonly kind: number;
  readonly family: 'generic' | 'file' | 'socket';
  readonly name: string;
  readonly layout: OpLayout;
  readonly traits: Partial<OpTraits>;
  readonly summary: string;
}

/** Traits an op has unless its row says otherwise. */
export const DEFAULT_TRAITS: OpTraits = {
  blockingOnWindows: false,
  uringHelper: false,
  uringCopiesInline: false,
  returnsHandle: 'none',
  closesHandle: 'none',
  relays: false,
  multishot: false,
  reactor: 'none',
  reactorQueuesDirectly: false,
};

/** Every op, by kind. Kinds: 0 generic, 1-63 file, 64-127 socket. */
export const OPS = [
  { kind: 0, family: 'generic', name: 'nop', layout: { buffers: [] }, traits: {}, summary: 'Completes at once with result 0: exercises the op path.' },

  {
    kind: 2,
    family: 'file',
    name: 'open',
    layout: { path: 'path', arg: 'openBits' },
    traits: { blockingOnWindows: true, returnsHandle: 'file' },
    summary: 'Opens `path` (arg: the FILE_OPEN bits). Result: the fd or HANDLE.',
  },
  { kind: 3, family: 'file', name: 'close', layout: { handle: 'file' }, traits: { blockingOnWindows: true, closesHandle: 'file' }, summary: 'Closes the file.' },
  {
    kind: 4,
    family: 'file',
    name: 'read',
    layout: { handle: 'file', offset: 'position', buffers: ['data'] },
    traits: { uringCopiesInline: true },
    summary: 'Reads into data at position. Result: bytes (0 at the end), at most MAX_TRANSFER.',
  },
  {
    kind: 5,
    family: 'file',
    name: 'write',
    layout: { handle: 'file', offset: 'position', buffers: ['data'] },
    traits: { uringCopiesInline: true },
    summary: 'Writes data at position. Result: bytes, at most MAX_TRANSFER.',
  },
  {
    kind: 6,
    family: 'file',
    name: 'readv',
    layout: { handle: 'file', offset: 'position', buffers: [] },
    traits: { blockingOnWindows: true, uringCopiesInline: true },
    summary: 'Reads into the buffers in order at position. Result: bytes.',
  },
  {
    kind: 7,
    family: 'file',
    name: 'writev',
    layout: { handle: 'file', offset: 'position', buffers: [] },
    traits: { blockingOnWindows: true, uringCopiesInline: true },
    summary: 'Writes the buffers in order at position. Result: bytes.',
  },
  { kind: 8, family: 'file', name: 'sync', layout: { handle: 'file' }, traits: { blockingOnWindows: true }, summary: 'Flushes the file, data and metadata, to its device (fsync).' },
  {
    kind: 9,
    family: 'file',
    name: 'allocate',
    layout: { handle: 'file', arg: 'size' },
    traits: { blockingOnWindows: true },
    summary: 'Allocates [0, size); the file grows to size if it is shorter.',
  },
  { kind: 10, family: 'file', name: 'truncate', layout: { handle: 'file', arg: 'size' }, traits: { blockingOnWindows: true }, summary: 'Sets the size.' },
  {
    kind: 11,
    family: 'file',
    name: 'stat',
    layout: { handle: 'file', buffers: ['record'] },
    traits: { blockingOnWindows: true },
    summary: 'Writes the stat record (STAT_FIELDS, one double each) into record.',
  },
  {
    kind: 12,
    family: 'file',
    name: 'copyRange',
    layout: { handle: 'source', offset: 'position', arg: 'target', length: 'length', buffers: ['bounce'] },
    traits: { blockingOnWindows: true, uringHelper: true },
    summary:
      'Copies [position, position + length) of source to the same range of target on a native thread, bounce ' +
      'being one chunk. Result: bytes copied (fewer if the source ends first); a cancel seen between chunks ends it with ECANCELED.',
  },
  {
    kind: 13,
    family: 'file',
    name: 'datasync',
    layout: { handle: 'file' },
    traits: { blockingOnWindows: true },
    summary: 'Flushes the file\'s data, and only the metadata needed to read it back, to its device (fdatasync).',
  },
  {
    kind: 14,
    family: 'file',
    name: 'realpath',
    layout: { handle: 'file', buffers: ['path'] },
    traits: { blockingOnWindows: true, uringHelper: true },
    summary:
      'Writes the path the system has for the open file into path, UTF-8 (Linux: /proc/self/fd/N; macOS: ' +
      'F_GETPATH; Windows: GetFinalPathNameByHandleW, normalized, a drive letter or UNC path without the long-path ' +
      'prefix). Result: its bytes. ERANGE when path is too small; ENOENT when the file has no name any more (Linux: ' +
      'no link left); ENOTSUP where the system does not say.',
  },

  {
    kind: 65,
    family: 'socket',
    name: 'accept',
    layout: { handle: 'listener', buffers: ['addresses?'] },
    traits: { returnsHandle: 'socket', multishot: true, reactor: 'read' },
    summary: 'Accepts a connection. Result: the socket. addresses (ACCEPT_ADDRESS_BYTES): where a backend that learns them writes the names.',
  },
  {
    kind: 66,
    family: 'socket',
    name: 'connect',
    layout: { handle: 'socket', path: 'host', arg: 'port' },
    traits: { reactor: 'write' },
    summary: 'Connects to the numeric host and port.',
  },
  {
    kind: 67,
    family: 'socket',
    name: 'recv',
    layout: { handle: 'socket', buffers: ['data'] },
    traits: { reactor: 'read', reactorQueuesDirectly: true },
    summary: 'Receives once. Result: bytes, 0 when the peer shut down.',
  },
  {
    kind: 68,
    family: 'socket',
    name: 'send',
    layout: { handle: 'socket', buffers: ['data', 'progress?'] },
    traits: { reactor: 'write', reactorQueuesDirectly: true },
    summary: 'Completes once every byte of data is sent. progress (8 bytes): one double kept at the bytes sent so far.',
  },
  {
    kind: 69,
    family: 'socket',
    name: 'shutdown',
    layout: { handle: 'socket', arg: 'how' },
    traits: { reactor: 'flush' },
    summary: 'Shuts down a side (how: SHUTDOWN_HOW).',
  },
  { kind: 70, family: 'socket', name: 'close', layout: { handle: 'socket' }, traits: { closesHandle: 'socket', reactor: 'close' }, summary: 'Closes the socket.' },
  {
    kind: 71,
    family: 'socket',
    name: 'forward',
    layout: { handle: 'socket', arg: 'to', buffers: ['data', 'stats?'] },
    traits: { relays: true, reactor: 'read' },
    summary:
      'Moves what socket receives (into data) to the socket to, on the workers, until socket reads the end; then ' +
      'shuts down the sending side of to (best effort). Socket and to may be one socket (an echo). Closes neither; ' +
      'a failure of either side ends it. stats (FORWARD_STATS_BYTES): bytes received, bytes sent, kept current, and ' +
      'the side that failed (FORWARD_FAILED_SIDE). Result: the bytes moved.',
  },
  {
    kind: 72,
    family: 'socket',
    name: 'sendfile',
    layout: { handle: 'socket', offset: 'position', arg: 'file', length: 'length', buffers: ['head', 'progress?'] },
    traits: { reactor: 'write', reactorQueuesDirectly: true },
    summary:
      'Sends head (may be empty), then [position, position + length) of the file straight from the file to the ' +
      'socket (TransmitFile, splice, sendfile(2)), stopping early at the end of the file. Completes once every byte ' +
      'is sent. progress (8 bytes): one double kept at the bytes sent so far, head included. Result: the bytes sent, ' +
      'head included.',
  },
] as const satisfies readonly OpDefinition[];

/** Layouts and constants both sides share. */
export const OP_CONSTANTS = {
  /** Doubles per completion record in the shared ring: key, bytes, token, status. */
  recordWords: 4,
  /** An op record's key word: the op's last completion, or one of a multishot op's earlier ones. */
  opRecordFinal: 0,
  opRecordMore: 1,
  /** Doubles per op in submitBatch's fields: kind, token, key, handle, offset, arg. */
  batchFields: 6,
  /** Op kinds are below this. */
  kindLimit: 128,
  /** Op::flags bits. */
  opFlags: { multishot: 1, batch: 2 },
  /** The most one read or write op moves (a DWORD kept page-aligned; Linux caps a transfer at it too). */
  maxTransfer: 0x7fff_f000,
  /** Bits of an open op's `arg`. Dispositions and share bits carry their Win32 values. */
  fileOpen: {
    dispositionMask: 0x7,
    accessRead: 1 << 3,
    accessWrite: 1 << 4,
    shareShift: 5,
    shareMask: 0x7,
    direct: 1 << 8,
    writeThrough: 1 << 9,
    hintSequential: 1 << 10,
    hintRandom: 1 << 11,
  },
  dispositions: { 'create-new': 1, 'create-always': 2, 'open-existing': 3, 'open-always': 4, 'truncate-existing': 5 },
  shareBits: { read: 1, write: 2, delete: 4 },
  /** Doubles a stat op writes, in order. */
  statFields: ['size', 'allocated', 'blksize', 'mode', 'nlink', 'ino', 'dev', 'atimeMs', 'mtimeMs', 'ctimeMs', 'birthtimeMs'],
  /**
   * An accept's address record: local then remote entry. An entry: the
   * port (2 bytes, little endian), the text's length, the family (4 or 6),
   * then the numeric address as ASCII text.
   */
  acceptAddressEntryBytes: 64,
  acceptAddressBytes: 128,
  /** A shutdown op's `how`. */
  shutdownHow: { read: 0, write: 1, both: 2 },
  /** socketSetOption's option numbers. */
  socketOptions: { noDelay: 1, lingerZero: 2 },
  /**
   * A forward op's stats buffer: three doubles, bytes received, bytes sent
   * and (set when it fails) the side that failed; a 16-byte buffer gets the
   * first two only.
   */
  forwardStatsBytes: 24,
  /** The third double of a forward's stats: which side failed. */
  forwardFailedSide: { recv: 0, send: 1 },
  /** A send op's progress buffer: one double. */
  sendProgressBytes: 8,
} as const;
