#include "threadpool.h"

#include <cerrno>
#include <string>

#include "errno_name.h"
#include "pool_ops.h"

namespace overlapped {

namespace {

void FillError(BackendError* error, int errnum, std::string message) {
  if (error == nullptr) return;
  error->code = ErrnoName(errnum);
  error->errnum = errnum;
  error->message = std::move(message);
}

}  // namespace

ThreadPoolBackend::~ThreadPoolBackend() { Stop(); }

bool ThreadPoolBackend::Start(const BackendConfig& config,
                              CompletionSink* sink, BackendError* error) {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mutex_);
  if (running_ || closed_) {
    FillError(error, EBUSY, "the threadpool backend was already started");
    return false;
  }
  if (sink == nullptr || config.threads < 1 || config.concurrency < 1) {
    FillError(error, EINVAL,
              "the threadpool backend needs a sink, threads >= 1 and "
              "concurrency >= 1");
    return false;
  }
  sink_ = sink;
  workers_.reset(new WorkerThread[config.threads]);
  worker_count_ = config.threads;
  for (unsigned index = 0; index < config.threads; ++index) {
    const int errnum = workers_[index].Start(&RunWorkerEntry, this);
    if (errnum != 0) {
      // Leave nothing running, and allow a later Start to try again.
      StopAndJoinWorkers();
      stopping_ = false;
      sink_ = nullptr;
      FillError(error, errnum,
                "could not create threadpool worker thread " +
                    std::to_string(index + 1) + " of " +
                    std::to_string(config.threads) +
                    "; lower `threads` or raise the process's thread limit "
                    "(ulimit -u)");
      return false;
    }
  }
  running_ = true;
  return true;
}

void ThreadPoolBackend::Post(const Posted* posted, size_t count) {
  if (count == 0) return;
  {
    std::unique_lock<std::mutex> lock(queue_mutex_);
    if (!closed_) {
      for (size_t index = 0; index < count; ++index) {
        queue_.push_back(WorkItem{WorkKind::kCompletion, posted[index], nullptr, 0});
      }
      // A busy worker checks the queue before it waits again, so only an
      // idle one needs a wake-up, and one is enough: a worker that leaves
      // items behind wakes the next one itself.
      const bool wake = idle_workers_ > 0;
      lock.unlock();
      if (wake) queue_ready_.notify_one();
      return;
    }
  }
  // Stop has joined the workers but has not returned yet; Post is still
  // allowed in that window, so deliver here rather than lose the items.
  DeliverOnThisThread(posted, count);
}

namespace {

// Kinds with a reactor role (the socket ops) run on the reactor.
bool OnReactor(OpKind kind) { return TraitsOf(kind).reactor != ReactorRole::kNone; }

}  // namespace

void ThreadPoolBackend::Submit(Op* const* ops, size_t count) {
  if (count == 0) return;
  // Socket ops wait for readiness on the reactor's one thread, so that a
  // connection never holds a worker.
  size_t socket_ops = 0;
  for (size_t index = 0; index < count; ++index) {
    if (OnReactor(ops[index]->kind)) {
      reactor_.Submit(ops[index], sink_);
      ++socket_ops;
    }
  }
  if (socket_ops == count) return;
  if (socket_ops != 0) {
    for (size_t index = 0; index < count; ++index) {
      if (!OnReactor(ops[index]->kind)) Submit(&ops[index], 1);
    }
    return;
  }
  {
    std::unique_lock<std::mutex> lock(queue_mutex_);
    if (!closed_) {
      const bool together = count > 1 && (ops[0]->flags & op_flags::kBatch) != 0;
      const uint64_t group = together ? next_group_++ : 0;
      for (size_t index = 0; index < count; ++index) {
        queue_.push_back(WorkItem{WorkKind::kOp, Posted{}, ops[index], group});
      }
      const bool wake = idle_workers_ > 0;
      lock.unlock();
      if (wake) queue_ready_.notify_one();
      return;
    }
  }
  for (size_t index = 0; index < count; ++index) RunOp(ops[index], true);
}

// A queued op checks its cancel flag before it runs; one already running
// finishes (a blocking syscall cannot be taken back).
void ThreadPoolBackend::Cancel(Op* op) {
  if (OnReactor(op->kind)) reactor_.Cancel(op);
}

int ThreadPoolBackend::Associate(int64_t, double, uint32_t*) { return 0; }

void ThreadPoolBackend::Execute(Op* op, bool cancel) {
  if (cancel || op->cancel_requested.load()) {
    op->result = -ECANCELED;
  } else {
    RunPoolOp(op);
  }
}

void ThreadPoolBackend::RunOp(Op* op, bool cancel) {
  Execute(op, cancel);
  // The syscall ran outside the concurrency gate, as a thread blocked in
  // the kernel does not count against an IOCP's concurrency either.
  sink_->EnterRun();
  sink_->CompleteOp(op);
  sink_->LeaveRun();
}

void ThreadPoolBackend::RunWorkerEntry(void* backend) noexcept {
  static_cast<ThreadPoolBackend*>(backend)->RunWorker();
}

void ThreadPoolBackend::RunWorker() noexcept {
  // Reserved once, so the loop below never allocates: a worker must not
  // throw, and std::bad_alloc is the only thing here that could.
  std::vector<Posted> batch;
  batch.reserve(kMaxBatch);
  std::vector<Op*> ops;
  ops.reserve(kMaxBatch);
  std::unique_lock<std::mutex> lock(queue_mutex_);
  for (;;) {
    while (!stopping_ && queue_.empty()) {
      ++idle_workers_;
      queue_ready_.wait(lock);
      --idle_workers_;
    }
    if (queue_.empty()) return;  // stopping, and everything was delivered
    // Posted completions up to the first op; then that op, with (if it
    // belongs to a group) a fair share of the group's queued ops, so that
    // every worker gets some of a batch and none waits for the others.
    while (!queue_.empty() && batch.size() < kMaxBatch) {
      const WorkItem& item = queue_.front();
      if (item.kind == WorkKind::kOp) break;
      batch.push_back(item.completion);
      queue_.pop_front();
    }
    if (!queue_.empty() && queue_.front().kind == WorkKind::kOp) {
      const uint64_t group = queue_.front().group;
      size_t take = 1;
      if (group != 0) {
        size_t queued = 0;
        for (const WorkItem& item : queue_) {
          if (item.kind != WorkKind::kOp || item.group != group) break;
          if (++queued == kMaxGroupOpsPerTrip * worker_count_) break;
        }
        take = (queued + worker_count_ - 1) / worker_count_;
      }
      while (take-- > 0 && !queue_.empty() && queue_.front().kind == WorkKind::kOp &&
             (ops.empty() || queue_.front().group == group)) {
        ops.push_back(queue_.front().op);
        queue_.pop_front();
      }
    }
    const bool stopping = stopping_;
    const bool wake_another = !queue_.empty() && idle_workers_ > 0;
    lock.unlock();
    if (wake_another) queue_ready_.notify_one();
    if (!batch.empty()) {
      sink_->EnterRun();
      sink_->Deliver(batch.data(), batch.size());
      sink_->LeaveRun();
      batch.clear();
    }
    // Ops still queued when Stop began are cancelled, not run. The
    // syscalls ran outside the concurrency gate (see RunOp); the trip's
    // ops, one or a group's share, complete together.
    if (!ops.empty()) {
      for (Op* op : ops) Execute(op, stopping);
      sink_->EnterRun();
      sink_->CompleteOps(ops.data(), ops.size());
      sink_->LeaveRun();
    }
    ops.clear();
    lock.lock();
  }
}

void ThreadPoolBackend::DeliverOnThisThread(const Posted* posted,
                                            size_t count) {
  sink_->EnterRun();
  sink_->Deliver(posted, count);
  sink_->LeaveRun();
}

void ThreadPoolBackend::StopAndJoinWorkers() {
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    stopping_ = true;
  }
  queue_ready_.notify_all();
  // Threads never started (a failed Start) make Join a no-op.
  for (unsigned index = 0; index < worker_count_; ++index) {
    workers_[index].Join();
  }
  workers_.reset();
  worker_count_ = 0;
}

void ThreadPoolBackend::Stop() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mutex_);
  if (!running_) return;
  // Socket ops in flight end with ECANCELED before the workers go.
  reactor_.Stop();
  // The workers drain the queue before they leave.
  StopAndJoinWorkers();
  std::deque<WorkItem> late_items;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    closed_ = true;
    late_items.swap(queue_);
  }
  // Items can only be left if a Post raced with the workers' exit.
  std::vector<Posted> late_completions;
  for (const WorkItem& item : late_items) {
    if (item.kind == WorkKind::kCompletion) {
      late_completions.push_back(item.completion);
    } else {
      RunOp(item.op, true);
    }
  }
  if (!late_completions.empty()) {
    DeliverOnThisThread(late_completions.data(), late_completions.size());
  }
  running_ = false;
}

}  // namespace overlapped
