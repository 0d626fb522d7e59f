#include "uring_helper_threads.h"

#include <pthread.h>

#include <algorithm>
#include <cerrno>

#include "../posix/pool_ops.h"

namespace overlapped {

void UringHelperThreads::Configure(CompletionSink* sink, unsigned max_threads) {
  sink_ = sink;
  max_threads_ = max_threads < 1 ? 1 : max_threads;
  // Reserved once, so that starting a helper later never reallocates and
  // a helper never allocates (it must not throw).
  threads_.reserve(max_threads_);
  running_.reserve(max_threads_);
}

void UringHelperThreads::Submit(Op* op) {
  int start_error = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_) {
      queue_.push_back(op);
      // A helper woken but not yet running still counts as idle, so more
      // ops queued than idle helpers is what calls for another one.
      if (idle_ < queue_.size() && threads_.size() < max_threads_) {
        auto thread = std::make_unique<WorkerThread>();
        start_error = thread->Start(&RunEntry, this);
        if (start_error == 0) {
          threads_.push_back(std::move(thread));
        } else if (threads_.empty()) {
          // Nobody would ever take it: fail it below. With helpers
          // running, it simply waits for one of them.
          queue_.pop_back();
        } else {
          start_error = 0;
        }
      }
    } else {
      start_error = ECANCELED;
    }
  }
  if (start_error != 0) {
    op->result = -start_error;
    sink_->CompleteOp(op);
    return;
  }
  ready_.notify_one();
}

void UringHelperThreads::Cancel(Op* op) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto queued = std::find(queue_.begin(), queue_.end(), op);
    if (queued == queue_.end()) return;  // running (the flag stops it) or done
    queue_.erase(queued);
  }
  op->result = -ECANCELED;
  sink_->CompleteOp(op);
}

void UringHelperThreads::Stop() {
  std::deque<Op*> queued;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    queued.swap(queue_);
    // An op stays in running_ until just before it completes, and leaves
    // it under this lock, so each one here is still owned by a helper.
    for (Op* op : running_) op->cancel_requested.store(true, std::memory_order_release);
  }
  ready_.notify_all();
  for (Op* op : queued) {
    op->result = -ECANCELED;
    sink_->CompleteOp(op);
  }
  // A helper leaves only after completing the op it ran, so once every
  // helper is joined, every op it took has completed.
  std::vector<std::unique_ptr<WorkerThread>> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    threads.swap(threads_);
  }
  for (auto& thread : threads) thread->Join();
}

void UringHelperThreads::RunEntry(void* self) noexcept {
  static_cast<UringHelperThreads*>(self)->Run();
}

void UringHelperThreads::Run() noexcept {
  pthread_setname_np(pthread_self(), "uring-helper");
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    while (queue_.empty() && !stopping_) {
      ++idle_;
      ready_.wait(lock);
      --idle_;
    }
    if (queue_.empty()) return;  // stopping, and Stop took what was queued
    Op* op = queue_.front();
    queue_.pop_front();
    // running_ never holds more than max_threads_ ops, one per helper;
    // push_back into its reserved room does not allocate.
    running_.push_back(op);
    lock.unlock();
    // The cancel flag was raised (by Port::Cancel or Stop) before the op
    // was taken, or is seen by the op itself between chunks.
    if (op->cancel_requested.load(std::memory_order_acquire)) {
      op->result = -ECANCELED;
    } else {
      RunPoolOp(op);
    }
    lock.lock();
    running_.erase(std::find(running_.begin(), running_.end(), op));
    lock.unlock();
    CompleteFromHelper(op);
    lock.lock();
  }
}

void UringHelperThreads::CompleteFromHelper(Op* op) {
  // The blocking call ran outside the concurrency gate, as a ring worker's
  // kernel wait does; only handing the op over counts.
  sink_->EnterRun();
  sink_->CompleteOp(op);
  sink_->LeaveRun();
}

}  // namespace overlapped
