// The `threadpool` backend: completion port semantics emulated with a queue
// and native worker threads, for any POSIX system (and for Linux when
// io_uring is missing or forbidden).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "../common/backend.h"
#include "socket_reactor.h"
#include "worker_thread.h"

namespace overlapped {

class ThreadPoolBackend final : public Backend {
 public:
  ThreadPoolBackend() = default;
  ~ThreadPoolBackend() override;
  ThreadPoolBackend(const ThreadPoolBackend&) = delete;
  ThreadPoolBackend& operator=(const ThreadPoolBackend&) = delete;

  const char* name() const override { return "threadpool"; }
  bool Start(const BackendConfig& config, CompletionSink* sink,
             BackendError* error) override;
  void Post(const Posted* posted, size_t count) override;
  void Submit(Op* const* ops, size_t count) override;
  void Cancel(Op* op) override;
  int Associate(int64_t handle, double key, uint32_t* raw) override;
  void Stop() override;

 private:
  // A worker takes at most this many items per wake-up, so that one large
  // Post is spread over several workers and one slot of the concurrency gate
  // is not held for long.
  static constexpr size_t kMaxBatch = 256;
  // At most this many ops of one group (see WorkItem) per wake-up.
  static constexpr size_t kMaxGroupOpsPerTrip = 16;

  // What a queue item asks a worker to do: deliver a posted completion, or
  // run an op (a blocking syscall) and complete it.
  enum class WorkKind : uint8_t { kCompletion, kOp };

  // Ops handed over by one Submit call of several ops marked
  // op_flags::kBatch (one batch of the file API) share a group number;
  // any other op has group 0. The caller
  // waits for the whole group, so a worker may run several of a group's
  // ops in one trip and complete them together (one lock and one wake-up
  // of JS instead of one each) without delaying anything the caller could
  // use earlier. Ops of different groups are never taken together, so an
  // op that blocks for long (a read on a FIFO) holds up only its own batch.
  struct WorkItem {
    WorkKind kind;
    Posted completion;  // valid when kind == kCompletion
    Op* op;             // valid when kind == kOp
    uint64_t group;     // valid when kind == kOp
  };

  static void RunWorkerEntry(void* backend) noexcept;
  void RunWorker() noexcept;
  void DeliverOnThisThread(const Posted* posted, size_t count);
  // Runs `op`, or, if it was cancelled or the pool is stopping, fails it
  // with ECANCELED.
  static void Execute(Op* op, bool cancel);
  // Execute, then hands the op to the sink.
  void RunOp(Op* op, bool cancel);
  void StopAndJoinWorkers();

  CompletionSink* sink_ = nullptr;

  // queue_mutex_ guards the queue and the three fields after it.
  std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::deque<WorkItem> queue_;
  unsigned idle_workers_ = 0;  // workers waiting on queue_ready_
  bool stopping_ = false;  // workers leave once the queue is empty
  bool closed_ = false;    // workers are gone: Post delivers on its caller
  uint64_t next_group_ = 1;

  // lifecycle_mutex_ serializes Start and Stop; workers_ is only touched
  // under it. An array, not a vector: a WorkerThread must not move.
  std::mutex lifecycle_mutex_;
  bool running_ = false;
  std::unique_ptr<WorkerThread[]> workers_;
  unsigned worker_count_ = 0;

  // Socket ops go here instead of to the workers (see socket_reactor.h).
  SocketReactor reactor_;
};

}  // namespace overlapped
