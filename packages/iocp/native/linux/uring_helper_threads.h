// Ops that io_uring has no opcode for run as blocking syscalls on a few
// helper threads that the io_uring backend owns: the kinds with the
// uringHelper trait (op-table.ts). Today that is kFileCopyRange:
// copy_file_range has no opcode, and a copy through READ
// and WRITE SQEs crosses back to a ring worker (or JS) for every chunk. The
// helpers run the threadpool backend's code for the kind
// (posix/pool_file_ops.cc), so both backends copy the same way, and hand the
// finished op to the sink as the ring workers do.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "../common/backend.h"
#include "../posix/worker_thread.h"

namespace overlapped {

class UringHelperThreads {
 public:
  UringHelperThreads() = default;
  // Stop must have returned (the owner calls it), so no helper is left.
  ~UringHelperThreads() = default;
  UringHelperThreads(const UringHelperThreads&) = delete;
  UringHelperThreads& operator=(const UringHelperThreads&) = delete;

  // Whether ops of `kind` run on the helpers rather than on a ring.
  static bool Handles(OpKind kind) { return TraitsOf(kind).uring_helper; }

  // Before the first Submit: where finished ops go, and how many helpers
  // may run at once. Helpers start on demand, so a port that never copies
  // never starts one.
  void Configure(CompletionSink* sink, unsigned max_threads);
  // Queues `op` and starts another helper when none is idle and fewer than
  // `max_threads` run. Called on the JS thread; never waits for an op. If
  // no helper runs and none can be started, the op completes at once with
  // the error pthread_create gave.
  void Submit(Op* op);
  // An op still queued completes at once with ECANCELED. A running one
  // sees the cancel flag (set by the caller) between two chunks and ends
  // with ECANCELED there: a blocking syscall cannot be taken back.
  void Cancel(Op* op);
  // Cancels everything queued or running, waits until each op has
  // completed and joins the helpers. Idempotent; later Submits complete
  // with ECANCELED at once.
  void Stop();

 private:
  static void RunEntry(void* self) noexcept;
  void Run() noexcept;
  // Hands a finished op to the sink from a helper, inside the concurrency
  // gate as a ring worker does.
  void CompleteFromHelper(Op* op);

  CompletionSink* sink_ = nullptr;
  unsigned max_threads_ = 1;

  // mutex_ guards every field below it.
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Op*> queue_;
  // Ops a helper has taken and not completed yet, so that Stop can raise
  // their cancel flags.
  std::vector<Op*> running_;
  unsigned idle_ = 0;  // helpers waiting on ready_
  bool stopping_ = false;
  // Each WorkerThread stays where it was made (the thread reads its entry
  // from it), hence the pointers.
  std::vector<std::unique_ptr<WorkerThread>> threads_;
};

}  // namespace overlapped
