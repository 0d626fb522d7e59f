// Generated from packages/common/src/op-table.ts by packages/iocp/scripts/op-table.mjs.
// Do not edit: change the table and run the native build (or the script).
#pragma once

#include <cstddef>
#include <cstdint>

namespace overlapped {

// Changes whenever the table does; the loader refuses a core whose id
// differs from the installed @overlapped/common's OP_TABLE_ABI_ID.
constexpr char kOpTableAbiId[] = "ops-d01d7664709fde5e";

// What an I/O operation asks for, with the fields of its record.
// Kinds are numbered in ranges: 0 generic, 1-63 file, 64-127 socket.
enum class OpKind : uint32_t {
  // buffers = any list. Completes at once with result 0: exercises the op path.
  kNop = 0,
  // arg = openBits; path = path. Opens `path` (arg: the FILE_OPEN bits). Result: the fd or HANDLE.
  kFileOpen = 2,
  // handle = file. Closes the file.
  kFileClose = 3,
  // handle = file; offset = position; buffers = [data]. Reads into data at position. Result: bytes
  // (0 at the end), at most MAX_TRANSFER.
  kFileRead = 4,
  // handle = file; offset = position; buffers = [data]. Writes data at position. Result: bytes, at
  // most MAX_TRANSFER.
  kFileWrite = 5,
  // handle = file; offset = position; buffers = any list. Reads into the buffers in order at
  // position. Result: bytes.
  kFileReadv = 6,
  // handle = file; offset = position; buffers = any list. Writes the buffers in order at position.
  // Result: bytes.
  kFileWritev = 7,
  // handle = file. Flushes the file, data and metadata, to its device (fsync).
  kFileSync = 8,
  // handle = file; arg = size. Allocates [0, size); the file grows to size if it is shorter.
  kFileAllocate = 9,
  // handle = file; arg = size. Sets the size.
  kFileTruncate = 10,
  // handle = file; buffers = [record]. Writes the stat record (STAT_FIELDS, one double each) into
  // record.
  kFileStat = 11,
  // handle = source; offset = position; arg = target; length = length; buffers = [bounce]. Copies
  // [position, position + length) of source to the same range of target on a native thread, bounce
  // being one chunk. Result: bytes copied (fewer if the source ends first); a cancel seen between
  // chunks ends it with ECANCELED.
  kFileCopyRange = 12,
  // handle = file. Flushes the file's data, and only the metadata needed to read it back, to its
  // device (fdatasync).
  kFileDatasync = 13,
  // handle = file; buffers = [path]. Writes the path the system has for the open file into path,
  // UTF-8 (Linux: /proc/self/fd/N; macOS: F_GETPATH; Windows: GetFinalPathNameByHandleW,
  // normalized, a drive letter or UNC path without the long-path prefix). Result: its bytes. ERANGE
  // when path is too small; ENOENT when the file has no name any more (Linux: no link left);
  // ENOTSUP where the system does not say.
  kFileRealpath = 14,
  // handle = listener; buffers = [addresses?]. Accepts a connection. Result: the socket. addresses
  // (ACCEPT_ADDRESS_BYTES): where a backend that learns them writes the names.
  kSocketAccept = 65,
  // handle = socket; arg = port; path = host. Connects to the numeric host and port.
  kSocketConnect = 66,
  // handle = socket; buffers = [data]. Receives once. Result: bytes, 0 when the peer shut down.
  kSocketRecv = 67,
  // handle = socket; buffers = [data, progress?]. Completes once every byte of data is sent.
  // progress (8 bytes): one double kept at the bytes sent so far.
  kSocketSend = 68,
  // handle = socket; arg = how. Shuts down a side (how: SHUTDOWN_HOW).
  kSocketShutdown = 69,
  // handle = socket. Closes the socket.
  kSocketClose = 70,
  // handle = socket; arg = to; buffers = [data, stats?]. Moves what socket receives (into data) to
  // the socket to, on the workers, until socket reads the end; then shuts down the sending side of
  // to (best effort). Socket and to may be one socket (an echo). Closes neither; a failure of
  // either side ends it. stats (FORWARD_STATS_BYTES): bytes received, bytes sent, kept current, and
  // the side that failed (FORWARD_FAILED_SIDE). Result: the bytes moved.
  kSocketForward = 71,
  // handle = socket; offset = position; arg = file; length = length; buffers = [head, progress?].
  // Sends head (may be empty), then [position, position + length) of the file straight from the
  // file to the socket (TransmitFile, splice, sendfile(2)), stopping early at the end of the file.
  // Completes once every byte is sent. progress (8 bytes): one double kept at the bytes sent so
  // far, head included. Result: the bytes sent, head included.
  kSocketSendfile = 72,
};

// Every kind, in order: X(Name, number), Name as in OpKind::kName.
#define OVERLAPPED_OP_KINDS(X) \
  X(Nop, 0) \
  X(FileOpen, 2) \
  X(FileClose, 3) \
  X(FileRead, 4) \
  X(FileWrite, 5) \
  X(FileReadv, 6) \
  X(FileWritev, 7) \
  X(FileSync, 8) \
  X(FileAllocate, 9) \
  X(FileTruncate, 10) \
  X(FileStat, 11) \
  X(FileCopyRange, 12) \
  X(FileDatasync, 13) \
  X(FileRealpath, 14) \
  X(SocketAccept, 65) \
  X(SocketConnect, 66) \
  X(SocketRecv, 67) \
  X(SocketSend, 68) \
  X(SocketShutdown, 69) \
  X(SocketClose, 70) \
  X(SocketForward, 71) \
  X(SocketSendfile, 72)

constexpr OpKind kOpKinds[] = {
    OpKind::kNop,
    OpKind::kFileOpen,
    OpKind::kFileClose,
    OpKind::kFileRead,
    OpKind::kFileWrite,
    OpKind::kFileReadv,
    OpKind::kFileWritev,
    OpKind::kFileSync,
    OpKind::kFileAllocate,
    OpKind::kFileTruncate,
    OpKind::kFileStat,
    OpKind::kFileCopyRange,
    OpKind::kFileDatasync,
    OpKind::kFileRealpath,
    OpKind::kSocketAccept,
    OpKind::kSocketConnect,
    OpKind::kSocketRecv,
    OpKind::kSocketSend,
    OpKind::kSocketShutdown,
    OpKind::kSocketClose,
    OpKind::kSocketForward,
    OpKind::kSocketSendfile,
};
constexpr size_t kOpKindCount = sizeof kOpKinds / sizeof kOpKinds[0];

// The position of `kind` in kOpKinds, or -1 for a kind the table does not define.
constexpr int OpIndex(OpKind kind) {
  switch (kind) {
    case OpKind::kNop: return 0;
    case OpKind::kFileOpen: return 1;
    case OpKind::kFileClose: return 2;
    case OpKind::kFileRead: return 3;
    case OpKind::kFileWrite: return 4;
    case OpKind::kFileReadv: return 5;
    case OpKind::kFileWritev: return 6;
    case OpKind::kFileSync: return 7;
    case OpKind::kFileAllocate: return 8;
    case OpKind::kFileTruncate: return 9;
    case OpKind::kFileStat: return 10;
    case OpKind::kFileCopyRange: return 11;
    case OpKind::kFileDatasync: return 12;
    case OpKind::kFileRealpath: return 13;
    case OpKind::kSocketAccept: return 14;
    case OpKind::kSocketConnect: return 15;
    case OpKind::kSocketRecv: return 16;
    case OpKind::kSocketSend: return 17;
    case OpKind::kSocketShutdown: return 18;
    case OpKind::kSocketClose: return 19;
    case OpKind::kSocketForward: return 20;
    case OpKind::kSocketSendfile: return 21;
  }
  return -1;
}

// Each backend defines one entry per kind, next to the kind's functions,
// named after the kind (OVERLAPPED_OP_KINDS gives every name), and its
// table lists them all: a kind without an entry fails the build. An
// entry is made by a constexpr function that calls this one (not
// constexpr) when the entry contradicts the kind's traits, which makes
// the mistake a compile error naming it.
inline void OpEntryContradictsTheKindsTraits() {}

enum class OpFamily : uint8_t { kGeneric, kFile, kSocket };
// Which kind of handle an op returns or closes.
enum class OpHandle : uint8_t { kNone, kFile, kSocket };
// Where an op waits on the POSIX readiness reactor (see op-table.ts).
enum class ReactorRole : uint8_t { kNone, kRead, kWrite, kFlush, kClose };

// Traits of a kind (op-table.ts OpTraits says what each means).
struct OpTraits {
  const char* name;
  OpFamily family;
  bool blocking_on_windows;
  bool uring_helper;
  bool uring_copies_inline;
  OpHandle returns_handle;
  OpHandle closes_handle;
  bool relays;
  bool multishot;
  ReactorRole reactor;
  bool reactor_queues_directly;
  const char* layout_json;  // the record layout, as op-table.ts gives it
};

// A kind the table does not define has no trait: it is no reactor op,
// runs nowhere and completes with ENOSYS.
constexpr OpTraits kUnknownOpTraits{"unknown", OpFamily::kGeneric, false, false, false,
                                   OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kNone, false, "{}"};

constexpr OpTraits kOpTraits[] = {
    {"nop", OpFamily::kGeneric, false, false, false, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kNone, false,
     "{\"buffers\":[]}"},
    {"open", OpFamily::kFile, true, false, false, OpHandle::kFile, OpHandle::kNone, false, false, ReactorRole::kNone, false,
     "{\"path\":\"path\",\"arg\":\"openBits\"}"},
    {"close", OpFamily::kFile, true, false, false, OpHandle::kNone, OpHandle::kFile, false, false, ReactorRole::kNone, false,
     "{\"handle\":\"file\"}"},
    {"read", OpFamily::kFile, false, false, true, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kNone, false,
     "{\"handle\":\"file\",\"offset\":\"position\",\"buffers\":[\"data\"]}"},
    {"write", OpFamily::kFile, false, false, true, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kNone, false,
     "{\"handle\":\"file\",\"offset\":\"position\",\"buffers\":[\"data\"]}"},
    {"readv", OpFamily::kFile, true, false, true, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kNone, false,
     "{\"handle\":\"file\",\"offset\":\"position\",\"buffers\":[]}"},
    {"writev", OpFamily::kFile, true, false, true, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kNone, false,
     "{\"handle\":\"file\",\"offset\":\"position\",\"buffers\":[]}"},
    {"sync", OpFamily::kFile, true, false, false, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kNone, false,
     "{\"handle\":\"file\"}"},
    {"allocate", OpFamily::kFile, true, false, false, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kNone, false,
     "{\"handle\":\"file\",\"arg\":\"size\"}"},
    {"truncate", OpFamily::kFile, true, false, false, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kNone, false,
     "{\"handle\":\"file\",\"arg\":\"size\"}"},
    {"stat", OpFamily::kFile, true, false, false, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kNone, false,
     "{\"handle\":\"file\",\"buffers\":[\"record\"]}"},
    {"copyRange", OpFamily::kFile, true, true, false, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kNone, false,
     "{\"handle\":\"source\",\"offset\":\"position\",\"arg\":\"target\",\"length\":\"length\",\"buffers\":[\"bounce\"]}"},
    {"datasync", OpFamily::kFile, true, false, false, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kNone, false,
     "{\"handle\":\"file\"}"},
    {"realpath", OpFamily::kFile, true, true, false, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kNone, false,
     "{\"handle\":\"file\",\"buffers\":[\"path\"]}"},
    {"accept", OpFamily::kSocket, false, false, false, OpHandle::kSocket, OpHandle::kNone, false, true, ReactorRole::kRead, false,
     "{\"handle\":\"listener\",\"buffers\":[\"addresses?\"]}"},
    {"connect", OpFamily::kSocket, false, false, false, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kWrite, false,
     "{\"handle\":\"socket\",\"path\":\"host\",\"arg\":\"port\"}"},
    {"recv", OpFamily::kSocket, false, false, false, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kRead, true,
     "{\"handle\":\"socket\",\"buffers\":[\"data\"]}"},
    {"send", OpFamily::kSocket, false, false, false, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kWrite, true,
     "{\"handle\":\"socket\",\"buffers\":[\"data\",\"progress?\"]}"},
    {"shutdown", OpFamily::kSocket, false, false, false, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kFlush, false,
     "{\"handle\":\"socket\",\"arg\":\"how\"}"},
    {"close", OpFamily::kSocket, false, false, false, OpHandle::kNone, OpHandle::kSocket, false, false, ReactorRole::kClose, false,
     "{\"handle\":\"socket\"}"},
    {"forward", OpFamily::kSocket, false, false, false, OpHandle::kNone, OpHandle::kNone, true, false, ReactorRole::kRead, false,
     "{\"handle\":\"socket\",\"arg\":\"to\",\"buffers\":[\"data\",\"stats?\"]}"},
    {"sendfile", OpFamily::kSocket, false, false, false, OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kWrite, true,
     "{\"handle\":\"socket\",\"offset\":\"position\",\"arg\":\"file\",\"length\":\"length\",\"buffers\":[\"head\",\"progress?\"]}"},
};

constexpr const OpTraits& TraitsOf(OpKind kind) {
  return OpIndex(kind) < 0 ? kUnknownOpTraits : kOpTraits[OpIndex(kind)];
}
constexpr bool IsFileOp(OpKind kind) { return OpIndex(kind) >= 0 && TraitsOf(kind).family == OpFamily::kFile; }
constexpr bool IsSocketOp(OpKind kind) { return OpIndex(kind) >= 0 && TraitsOf(kind).family == OpFamily::kSocket; }

// One completion record: this many doubles (key, bytes, token, status).
constexpr size_t kRecordWords = 4;
// An op record's key word: the op's last completion, or one of a
// multishot op's earlier ones (the op stays in flight).
constexpr double kOpRecordFinal = 0;
constexpr double kOpRecordMore = 1;
// Doubles per op in submitBatch's fields: kind, token, key, handle, offset, arg.
constexpr size_t kSubmitBatchFields = 6;
constexpr uint32_t kOpKindLimit = 128;
// Op::flags bits.
namespace op_flags {
constexpr uint32_t kMultishot = 1u;
constexpr uint32_t kBatch = 2u;
}  // namespace op_flags

// The most one read or write op moves.
constexpr uint32_t kMaxTransfer = 0x7ffff000u;

// The bits of a file open op's `arg`. Dispositions and share bits carry
// their Win32 values, so the iocp backend passes them through.
namespace file_open {
constexpr int64_t kDispositionMask = 0x7;
constexpr int64_t kAccessRead = 0x8;
constexpr int64_t kAccessWrite = 0x10;
constexpr int64_t kShareShift = 0x5;
constexpr int64_t kShareMask = 0x7;
constexpr int64_t kDirect = 0x100;
constexpr int64_t kWriteThrough = 0x200;
constexpr int64_t kHintSequential = 0x400;
constexpr int64_t kHintRandom = 0x800;
constexpr int64_t kCreateNew = 1;
constexpr int64_t kCreateAlways = 2;
constexpr int64_t kOpenExisting = 3;
constexpr int64_t kOpenAlways = 4;
constexpr int64_t kTruncateExisting = 5;
constexpr int64_t kShareRead = 1;
constexpr int64_t kShareWrite = 2;
constexpr int64_t kShareDelete = 4;
}  // namespace file_open

// What a file stat op writes into its buffer: doubles, in this order.
enum FileStatField : int {
  kStatSize,
  kStatAllocated,
  kStatBlksize,
  kStatMode,
  kStatNlink,
  kStatIno,
  kStatDev,
  kStatAtimeMs,
  kStatMtimeMs,
  kStatCtimeMs,
  kStatBirthtimeMs,
  kStatFieldCount,
};
constexpr size_t kFileStatBytes = kStatFieldCount * sizeof(double);

// An accept's address record: the local, then the remote entry. An entry:
// the port (2 bytes, little endian), the text's length, the family (4
// or 6), then the numeric address as ASCII text (inet_ntop's).
constexpr size_t kAcceptAddressEntryBytes = 64;
constexpr size_t kAcceptAddressBytes = 128;
static_assert(kAcceptAddressBytes == 2 * kAcceptAddressEntryBytes, "two entries");

// A socket shutdown op's `how`.
namespace shutdown_how {
constexpr int64_t kRead = 0;
constexpr int64_t kWrite = 1;
constexpr int64_t kBoth = 2;
}  // namespace shutdown_how
// socketSetOption's option numbers.
namespace socket_option {
constexpr int kNoDelay = 1;
constexpr int kLingerZero = 2;
}  // namespace socket_option
// A forward op's stats: bytes received, bytes sent, the side that failed
// (doubles); the last only where the buffer has room for it.
constexpr size_t kForwardStatsBytes = 24;
enum ForwardSide : int {
  kForwardFailedRecv = 0,
  kForwardFailedSend = 1,
};
constexpr size_t kSendProgressBytes = 8;

}  // namespace overlapped
