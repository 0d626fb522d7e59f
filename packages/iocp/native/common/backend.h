// The one interface every native backend implements (iocp, io_uring,
// threadpool). Backends live in native/win, native/linux and native/posix;
// only native/common talks Node-API. A backend owns its worker threads:
// they wait on the kernel's completion queue (GetQueuedCompletionStatusEx,
// the io_uring CQ, or the thread pool's own queue) and hand what they reap to
// the CompletionSink, which batches it for JS.
#pragma once

#include <cstddef>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace overlapped {

struct AlignedAllocation;  // native/common/aligned_buffer.h

// One completion as JS reads it: four doubles (32 bytes) in the shared ring.
// Doubles carry integers exactly up to 2^53, which covers keys and tokens.
struct CompletionRecord {
  double key;     // completion key (a non-negative safe integer); see below
  double bytes;   // bytes transferred (uint32)
  double token;   // the JS side's handle for the value or the op; 0 = none
  double status;  // 0, or a negative errno-style code for a failed op
};

// An op's record (token < 0) carries no completion key, since JS finds the
// op by its token: its `key` word says instead whether the op is finished
// or a multishot op that stays in flight and completes again.
constexpr double kOpRecordFinal = 0;
constexpr double kOpRecordMore = 1;

// Posters are numbered so that the sink can deliver each poster's
// completions in the order they were posted, whichever worker reaped them.
// Poster 0 is the JS thread; native poster threads are 1..n.
constexpr uint32_t kUnordered = 0xffffffffu;  // kernel op completions

struct Posted {
  CompletionRecord record;
  uint32_t poster;  // kUnordered for completions that carry no order
  uint64_t seq;     // per-poster sequence, from 0
};

// What an I/O operation asks for. Each backend implements the kinds it
// can in its own files; a kind a backend lacks completes with ENOSYS.
// Kinds are numbered in ranges: 0 generic, 1-63 file, 64-127 socket.
enum class OpKind : uint32_t {
  kNop = 0,  // completes at once with result 0: exercises the op path

  // File kinds (1-63), used by @overlapped/file. Positions travel in
  // `offset`, lengths and modes in `arg`, memory in `buffers`.
  kFileFirst = 1,
  kFileOpen = 2,       // path; arg = FileOpenFlags bits; result = fd or HANDLE
  kFileClose = 3,      // handle
  kFileRead = 4,       // handle, offset, buffers[0]; result = bytes (0 at EOF)
  kFileWrite = 5,      // handle, offset, buffers[0]; result = bytes
  kFileReadv = 6,      // handle, offset, buffers[]; result = bytes
  kFileWritev = 7,     // handle, offset, buffers[]; result = bytes
  kFileSync = 8,       // handle; arg = 1 for data only (fdatasync)
  kFileAllocate = 9,   // handle; allocate [0, arg), size becomes max(size, arg)
  kFileTruncate = 10,  // handle; arg = the new size
  kFileStat = 11,      // handle; buffers[0] = FileStatRecord (kFileStatBytes)
  // Copies [offset, offset + length) of `handle` to the same range of the
  // file `arg`, entirely on a worker: buffers[0] holds the length (one
  // double), buffers[1] is the bounce buffer (one chunk). Result = bytes
  // copied (fewer if the source ends first). Checks the cancel flag between
  // chunks: a cancelled copy ends with ECANCELED, whatever it moved. On
  // io_uring it runs on the backend's helper threads (no opcode exists).
  kFileCopyRange = 12,

  // Socket kinds (64-127), used by @overlapped/socket.
  kSocketFirst = 64,
  // handle: a listening socket. Result: the accepted socket. buffers[0]
  // (optional, kAcceptAddressBytes): where a backend that learns the
  // addresses with the accept writes them (see kAcceptAddressEntryBytes).
  kSocketAccept = 65,
  // handle: a socket made by socketOpen; path: numeric host; arg: port.
  kSocketConnect = 66,
  // handle, buffers[0]: receives once; result 0 when the peer shut down.
  kSocketRecv = 67,
  // handle, buffers[0]: completes once every byte is sent. buffers[1]
  // (optional, 8 bytes): one double the backend keeps at the bytes sent so
  // far (socket_stats.h), which tells JS how much of a failed or cancelled
  // send the kernel took.
  kSocketSend = 68,
  // handle; arg: 0 read side, 1 write side, 2 both.
  kSocketShutdown = 69,
  // handle: closes the socket.
  kSocketClose = 70,
  // Moves what `handle` receives to the socket `arg` (the target handle,
  // as copy-range's `arg` names its target file), on the workers: recv
  // into buffers[0], send those bytes to the target, recv again, until
  // `handle` reads the end; then shuts down the target's sending side (best
  // effort) and completes with the bytes moved. Handle and target may be
  // one socket (an echo). buffers[1]: two doubles (bytes received, bytes
  // sent) the workers keep current (socket_stats.h), and a third, where it
  // fits (24 bytes), that a failure sets to the side that failed (0 recv,
  // 1 send). Closes neither socket; a failure of either ends it with the
  // error.
  kSocketForward = 71,
};

// What an accept writes into its optional buffers[0]: the local, then the
// remote address, one entry each. An entry is the port (2 bytes, little
// endian), the text's length, the family (4 or 6) and the numeric address
// as ASCII text (inet_ntop's). iocp fills it from the AcceptEx buffer
// (GetAcceptExSockaddrs); a backend that does not learn the addresses with
// the accept leaves the entries' lengths 0, and JS asks the socket instead
// (getsockname, getpeername).
constexpr size_t kAcceptAddressEntryBytes = 64;
constexpr size_t kAcceptAddressBytes = 2 * kAcceptAddressEntryBytes;

// The bits of a kFileOpen op's `arg`. Dispositions and share bits carry
// their Win32 values (CREATE_NEW = 1 ... TRUNCATE_EXISTING = 5,
// FILE_SHARE_READ = 1, FILE_SHARE_WRITE = 2, FILE_SHARE_DELETE = 4), so the
// iocp backend passes them through; POSIX backends map them to open flags.
namespace file_open {
constexpr int64_t kDispositionMask = 0x7;     // bits 0-2
constexpr int64_t kAccessRead = 1 << 3;
constexpr int64_t kAccessWrite = 1 << 4;
constexpr int64_t kShareShift = 5;            // bits 5-7
constexpr int64_t kShareMask = 0x7;
constexpr int64_t kDirect = 1 << 8;           // O_DIRECT / FILE_FLAG_NO_BUFFERING
constexpr int64_t kWriteThrough = 1 << 9;     // O_DSYNC / FILE_FLAG_WRITE_THROUGH
constexpr int64_t kHintSequential = 1 << 10;  // FILE_FLAG_SEQUENTIAL_SCAN / fadvise
constexpr int64_t kHintRandom = 1 << 11;      // FILE_FLAG_RANDOM_ACCESS / fadvise
constexpr int64_t kCreateNew = 1, kCreateAlways = 2, kOpenExisting = 3,
                  kOpenAlways = 4, kTruncateExisting = 5;
}  // namespace file_open

// What a kFileStat op writes into its buffer: doubles, in this order.
enum FileStatField : int {
  kStatSize = 0,
  kStatAllocated,  // bytes allocated on disk (st_blocks * 512, AllocationSize)
  kStatBlockSize,
  kStatMode,       // st_mode; synthesized from attributes on Windows
  kStatLinks,
  kStatIno,
  kStatDev,
  kStatAtimeMs,
  kStatMtimeMs,
  kStatCtimeMs,
  kStatBirthtimeMs,
  kStatFieldCount,
};
constexpr size_t kFileStatBytes = kStatFieldCount * sizeof(double);

inline bool IsFileOp(OpKind kind) {
  return static_cast<uint32_t>(kind) >= 1 && static_cast<uint32_t>(kind) < 64;
}
inline bool IsSocketOp(OpKind kind) {
  return static_cast<uint32_t>(kind) >= 64 && static_cast<uint32_t>(kind) < 128;
}

// Op::flags bits.
namespace op_flags {
// Asks for one submission that completes several times (io_uring's
// multishot accept: one SQE, a CQE per connection). Each completion but
// the last reaches the sink through CompleteOpMore while the op stays in
// flight; the last one (an error, a cancel, or the kernel ending it)
// through CompleteOp, as for any op. A backend that cannot do it for the
// op's kind (Backend::SupportsMultishot) ignores the flag: the op then
// completes once.
constexpr uint32_t kMultishot = 1u << 0;
// The op is one of a batch whose caller waits for all of it before it goes
// on (CompletionPort.submitOps, set by Port::SubmitBatch on every op of
// the call): a backend may run it together with its batch mates and hand
// their completions over at once without delaying anything the caller
// could use earlier. Ops staged one by one (runOp) never carry it.
constexpr uint32_t kBatch = 1u << 1;
}  // namespace op_flags

// One buffer of an op. JS keeps the memory referenced (and so in place)
// from submission until the op's completion has been drained.
struct OpBuffer {
  uint8_t* data;
  size_t length;
};

// An I/O operation. native/common allocates it on the JS thread and frees
// it there once its completion has been drained, so it outlives every use
// a backend makes of it; Cancel may name it at any time until then. A
// backend owns an op from Submit until it calls CompletionSink::CompleteOp,
// and must not touch it afterwards.
struct Op {
  OpKind kind = OpKind::kNop;
  uint32_t flags = 0;  // op_flags bits
  double token = 0;    // negative: identifies the op to JS
  double key = 0;      // the completion key of the handle
  int64_t handle = -1; // fd, HANDLE or SOCKET, as an integer
  int64_t offset = -1; // absolute file position; -1 where none applies
  int64_t arg = 0;     // kind-specific (a length, a mode, `how` for shutdown)
  std::vector<OpBuffer> buffers;
  std::string path;    // kind-specific (the path of an open), UTF-8
  // Memory of allocAligned's that some buffer lies in: native/common holds
  // a reference to each from Submit until the op is freed or reused, so
  // the memory outlives the op even if its ArrayBuffer is collected first.
  // Backends never touch it.
  std::vector<AlignedAllocation*> pinned;
  // Set by the backend before CompleteOp: bytes (or a new handle) when
  // >= 0, else a negative libuv-style errno (-ECANCELED when cancelled);
  // raw_error keeps the platform's own code (Win32/WSA), 0 if none.
  int64_t result = 0;
  uint32_t raw_error = 0;
  // Scratch space the backend may use while it owns the op (an OVERLAPPED
  // and AcceptEx address buffers on Windows, an iovec array elsewhere).
  alignas(16) unsigned char backend_storage[320];
  std::atomic<bool> cancel_requested{false};
};

// Implemented once in native/common. Thread-safe; never blocks for long and
// never calls into JS on the caller's thread.
class CompletionSink {
 public:
  virtual ~CompletionSink() = default;
  // Queues completions for JS and wakes the JS thread once per drain.
  virtual void Deliver(const Posted* posted, size_t count) = 0;
  // The IOCP concurrency rule: a worker calls EnterRun before it runs the
  // completions it reaped and LeaveRun after; at most `concurrency` workers
  // are between the two at once. EnterRun blocks while the limit is reached.
  virtual void EnterRun() = 0;
  virtual void LeaveRun() = 0;
  // Hands a finished op (result and raw_error set) back for JS. The op
  // belongs to native/common again from this call on.
  virtual void CompleteOp(Op* op) = 0;
  // CompleteOp for several finished ops at once: one lock and at most one
  // wake-up of JS for all of them.
  virtual void CompleteOps(Op* const* ops, size_t count) {
    for (size_t index = 0; index < count; ++index) CompleteOp(ops[index]);
  }
  // Hands one completion of a multishot op (result and raw_error set) to
  // JS while the op stays in flight: the backend keeps owning it and calls
  // this again, or CompleteOp for its last completion. The calls for one op
  // come from one thread at a time, in the order JS must see them.
  virtual void CompleteOpMore(Op* op) = 0;
};

struct BackendConfig {
  unsigned threads;      // worker threads, created up front (>= 1)
  unsigned concurrency;  // at most this many run completions at once (>= 1)
};

// Why a backend cannot run: `code` is an errno name or a Win32/WSA-derived
// code name ("ENOSYS", "EPERM", "ENOMEM"...), `errnum` the raw number.
struct BackendError {
  std::string code;
  int errnum = 0;
  std::string message;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Creates the kernel objects and starts the workers. Returns false (and
  // fills *error) if the backend cannot run here; nothing is left running.
  virtual bool Start(const BackendConfig& config, CompletionSink* sink,
                     BackendError* error) = 0;
  // PostQueuedCompletionStatus: queues completions of the caller's own.
  // Callable from any thread, any number at once, after Start and before
  // Stop returns. Each one reaches sink->Deliver exactly once.
  virtual void Post(const Posted* posted, size_t count) = 0;
  // Starts ops. Each reaches sink->CompleteOp exactly once: on success, on
  // error, or cancelled (a multishot op reaches CompleteOpMore before, for
  // each completion but its last). Called on the JS thread, after Start,
  // before Stop.
  virtual void Submit(Op* const* ops, size_t count) = 0;
  // Asks for `op` to be cancelled (CancelIoEx, IORING_OP_ASYNC_CANCEL, or
  // a flag the pool checks before running it). Only asks: the op still
  // completes through CompleteOp, with -ECANCELED if the cancel won and its
  // own result if it finished first. A multishot op ends: its last
  // completion is -ECANCELED. Called on the JS thread.
  virtual void Cancel(Op* op) = 0;
  // Makes `handle` deliver its completions to this port under `key`
  // (CreateIoCompletionPort on Windows; nothing to do elsewhere). Returns 0
  // or a negative libuv-style errno, with the raw platform code in *raw.
  virtual int Associate(int64_t handle, double key, uint32_t* raw) = 0;
  // Whether an op of `kind` submitted with op_flags::kMultishot completes
  // several times here (see op_flags). Callable on the JS thread after
  // Start.
  virtual bool SupportsMultishot(OpKind) const { return false; }
  // Delivers what is already queued, then stops and joins the workers.
  // Idempotent. After Stop, Post must not be called. Ops still in flight
  // are cancelled and completed before Stop returns.
  virtual void Stop() = 0;
};

// Implemented once per platform (native/<platform>/registry.cc).
// The backends this build contains, best first.
std::vector<std::string> CompiledBackends();
// Whether `name` can run in this process right now, without crashing it:
// probing tolerates io_uring_disabled, seccomp filters and memlock limits.
bool ProbeBackend(const std::string& name, BackendError* why);
// A new, not yet started backend, or nullptr if `name` is not compiled in.
Backend* CreateBackend(const std::string& name);

}  // namespace overlapped
