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

#include "generated/op_table.h"

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
// or a multishot op that stays in flight and completes again
// (kOpRecordFinal, kOpRecordMore in generated/op_table.h).

// Posters are numbered so that the sink can deliver each poster's
// completions in the order they were posted, whichever worker reaped them.
// Poster 0 is the JS thread; native poster threads are 1..n.
constexpr uint32_t kUnordered = 0xffffffffu;  // kernel op completions

struct Posted {
  CompletionRecord record;
  uint32_t poster;  // kUnordered for completions that carry no order
  uint64_t seq;     // per-poster sequence, from 0
};

// The op kinds, their traits (TraitsOf), the shared record layouts and
// constants come from the op table (packages/common/src/op-table.ts),
// generated into generated/op_table.h; each backend implements a kind as
// one function registered in its table of kinds.

// Op::flags bits (generated/op_table.h, namespace op_flags):
// kMultishot asks for one submission that completes several times (io_uring's
// multishot accept: one SQE, a CQE per connection). Each completion but
// the last reaches the sink through CompleteOpMore while the op stays in
// flight; the last one (an error, a cancel, or the kernel ending it)
// through CompleteOp, as for any op. A backend that cannot do it for the
// op's kind (Backend::SupportsMultishot) ignores the flag: the op then
// completes once.
// kBatch: the op is one of a batch whose caller waits for all of it before it goes
// on (CompletionPort.submitOps, set by Port::SubmitBatch on every op of
// the call): a backend may run it together with its batch mates and hand
// their completions over at once without delaying anything the caller
// could use earlier. Ops staged one by one (runOp) never carry it.

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
  int64_t arg = 0;     // kind-specific: what the op table's layout names it
  int64_t length = 0;  // kind-specific: a second integer (copy-range's length)
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
  // Set by a backend that may still reap a packet naming this op's memory
  // after the op completed (iocp: a call that failed at once, whose stray
  // completion Wine queues all the same). The port then keeps the op out
  // of reuse and unfreed until it shuts down or kMaxQuarantinedOps later
  // quarantined ops push it out.
  bool quarantine = false;
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
  // io_uring: socket ops share the first file ring instead of a ring of
  // their own, as on a kernel without multishot recv (tests reach that
  // path with it). Other backends ignore it.
  bool sockets_share_ring = false;
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

#include "generated/op_args.h"
