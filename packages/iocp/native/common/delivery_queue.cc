#include "delivery_queue.h"

#include <algorithm>
#include <cstring>

namespace overlapped {

DeliveryQueue::DeliveryQueue(unsigned concurrency, std::function<void()> wake)
    : wake_(std::move(wake)), concurrency_(concurrency == 0 ? 1 : concurrency) {}

void DeliveryQueue::AppendLocked(const CompletionRecord& record) {
  queue_.push_back(record);
}

void DeliveryQueue::Deliver(const Posted* posted, size_t count) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t i = 0;
    while (i < count) {
      const Posted& first = posted[i];
      if (first.poster == kUnordered) {
        AppendLocked(first.record);
        i++;
        continue;
      }
      // Workers hand over a poster's completions in runs; order is checked
      // per run, so the common in-order case costs one lookup per run.
      size_t run = 1;
      while (i + run < count && posted[i + run].poster == first.poster &&
             posted[i + run].seq == first.seq + run) {
        run++;
      }
      PosterState& state = posters_[first.poster];
      if (first.seq != state.next_seq) {
        std::vector<CompletionRecord>& held = state.held[first.seq];
        held.reserve(run);
        for (size_t j = 0; j < run; j++) held.push_back(posted[i + j].record);
        held_count_ += run;
        i += run;
        continue;
      }
      for (size_t j = 0; j < run; j++) AppendLocked(posted[i + j].record);
      state.next_seq += run;
      i += run;
      // Release the held runs that this one unblocked.
      auto it = state.held.begin();
      while (it != state.held.end() && it->first == state.next_seq) {
        for (const CompletionRecord& record : it->second) AppendLocked(record);
        state.next_seq += it->second.size();
        held_count_ -= it->second.size();
        it = state.held.erase(it);
      }
    }
    uint64_t queued = queue_.size() - head_ + held_count_;
    if (queued > peak_queued_.load(std::memory_order_relaxed)) {
      peak_queued_.store(queued, std::memory_order_relaxed);
    }
    if (queue_.size() > head_ && !wake_pending_) {
      wake_pending_ = true;
      wake = true;
    }
  }
  if (wake) wake_();
}

// An op's record: bytes (or the new handle) on success; on failure the
// status is the negative errno and `bytes` carries the raw platform code,
// which JS keeps on the error as rawCode. The key word says whether the op
// is finished (backend.h, kOpRecordMore). A multishot op's records come
// from one thread at a time, so they keep their order in the queue.
void DeliveryQueue::CompleteOp(Op* op) { DeliverOp(op, kOpRecordFinal); }

void DeliveryQueue::CompleteOpMore(Op* op) { DeliverOp(op, kOpRecordMore); }

Posted DeliveryQueue::OpRecord(const Op* op, double flag) {
  Posted item{};
  item.poster = kUnordered;
  item.record.key = flag;
  item.record.token = op->token;
  if (op->result >= 0) {
    item.record.bytes = static_cast<double>(op->result);
    item.record.status = 0;
  } else {
    item.record.bytes = static_cast<double>(op->raw_error);
    item.record.status = static_cast<double>(op->result);
  }
  return item;
}

void DeliveryQueue::DeliverOp(const Op* op, double flag) {
  const Posted item = OpRecord(op, flag);
  Deliver(&item, 1);
}

void DeliveryQueue::CompleteOps(Op* const* ops, size_t count) {
  // Records go through Deliver in stack-sized runs, so no allocation here.
  constexpr size_t kRun = 32;
  Posted items[kRun];
  while (count > 0) {
    const size_t run = count < kRun ? count : kRun;
    for (size_t index = 0; index < run; ++index) items[index] = OpRecord(ops[index], kOpRecordFinal);
    Deliver(items, run);
    ops += run;
    count -= run;
  }
}

size_t DeliveryQueue::Drain(CompletionRecord* ring, size_t capacity) {
  size_t taken;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t available = queue_.size() - head_;
    taken = std::min(available, capacity);
    if (taken > 0) {
      std::memcpy(ring, queue_.data() + head_, taken * sizeof(CompletionRecord));
      head_ += taken;
      // Only posted completions count here (ops are tracked by the port).
      // Counted under the lock so that a poster checking for room under the
      // same lock cannot miss the notification below.
      size_t posts = 0;
      for (size_t i = 0; i < taken; i++) posts += ring[i].token >= 0;
      delivered_.fetch_add(posts, std::memory_order_relaxed);
    }
    if (head_ == queue_.size()) {
      queue_.clear();
      head_ = 0;
      // Release memory after a burst, but keep a working set allocated.
      if (queue_.capacity() > (1u << 16)) queue_.shrink_to_fit();
      wake_pending_ = false;
    } else if (head_ > queue_.size() / 2) {
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  if (taken > 0) room_.notify_all();
  return taken;
}

bool DeliveryQueue::WaitForRoom(uint64_t limit, const std::atomic<bool>& stop) {
  if (posted() - delivered() <= limit) return !stop.load();
  std::unique_lock<std::mutex> lock(mutex_);
  room_.wait(lock, [&] { return stop.load() || posted() - delivered() <= limit; });
  return !stop.load();
}

void DeliveryQueue::WakeWaiters() {
  std::lock_guard<std::mutex> lock(mutex_);
  room_.notify_all();
}

void DeliveryQueue::EnterRun() {
  std::unique_lock<std::mutex> lock(gate_mutex_);
  gate_.wait(lock, [&] { return running_ < concurrency_; });
  running_++;
  if (running_ > peak_running_.load(std::memory_order_relaxed)) {
    peak_running_.store(running_, std::memory_order_relaxed);
  }
}

void DeliveryQueue::LeaveRun() {
  {
    std::lock_guard<std::mutex> lock(gate_mutex_);
    running_--;
  }
  gate_.notify_one();
}

}  // namespace overlapped
