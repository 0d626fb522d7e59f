// The threadpool backend's socket ops: a readiness reactor on one native
// thread. Blocking a pool worker per connection would cap connections at
// the thread count, so socket ops never reach the workers: the reactor
// tries each op's syscall on a non-blocking socket and, when the kernel
// says EAGAIN, waits for readiness with poll() and tries again. Ops
// complete (through the sink) when they are done, as on the other backends.
#pragma once

#include <mutex>
#include <vector>

#include "../common/backend.h"
#include "worker_thread.h"

namespace overlapped {

class SocketReactor {
 public:
  SocketReactor() = default;
  ~SocketReactor();
  SocketReactor(const SocketReactor&) = delete;
  SocketReactor& operator=(const SocketReactor&) = delete;

  // Queues `op` for the reactor thread, starting that thread on first use.
  // If it cannot start, the op completes at once with the error.
  void Submit(Op* op, CompletionSink* sink);
  // Wakes the reactor so that it ends `op` (its flag is set already) if it
  // is still waiting; an op whose syscall finished first keeps its result.
  void Cancel(Op* op);
  // Ends every op with ECANCELED (an echo loop closes its socket) and joins
  // the thread. Idempotent.
  void Stop();

 private:
  static void RunEntry(void* self) noexcept;
  void Run() noexcept;
  void Wake();

  std::mutex mutex_;  // guards the fields down to started_
  std::vector<Op*> incoming_;
  bool stopping_ = false;
  bool started_ = false;
  CompletionSink* sink_ = nullptr;
  int wake_read_ = -1;
  int wake_write_ = -1;
  WorkerThread thread_;
};

}  // namespace overlapped
