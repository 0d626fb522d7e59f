// The CompletionSink every backend delivers into. Worker threads append
// records; the JS thread drains them in batches into the shared ring. The
// JS thread is woken once per drain, not once per completion: a wake is
// requested only when the queue goes from "nothing pending" to "something
// pending", and that flag is cleared by the drain that empties the queue.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "backend.h"

namespace overlapped {

class DeliveryQueue final : public CompletionSink {
 public:
  // `wake` is called from worker threads, outside any lock; it must be
  // thread-safe and must not call into JS itself (it queues a JS call).
  DeliveryQueue(unsigned concurrency, std::function<void()> wake);

  void Deliver(const Posted* posted, size_t count) override;
  void EnterRun() override;
  void LeaveRun() override;
  void CompleteOp(Op* op) override;
  void CompleteOps(Op* const* ops, size_t count) override;
  void CompleteOpMore(Op* op) override;

  // JS thread only: copies up to `capacity` records into `ring` and returns
  // how many. Clears the wake flag when it leaves nothing behind.
  // `delivered()` counts posted completions only, not op completions.
  size_t Drain(CompletionRecord* ring, size_t capacity);

  // Counts a completion as posted before it is handed to the backend, so
  // that posted - delivered never goes negative.
  void CountPosted(uint64_t count) { posted_.fetch_add(count, std::memory_order_relaxed); }

  // Native posters call this before each post: it blocks while more than
  // `limit` completions are posted but not yet drained by JS, which bounds
  // memory when native threads post faster than JS consumes. Returns false
  // if `stop` became true while waiting.
  bool WaitForRoom(uint64_t limit, const std::atomic<bool>& stop);
  // Wakes every WaitForRoom caller so that it can see its stop flag.
  void WakeWaiters();

  uint64_t posted() const { return posted_.load(std::memory_order_relaxed); }
  uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
  uint64_t peak_queued() const { return peak_queued_.load(std::memory_order_relaxed); }
  unsigned peak_running() const { return peak_running_.load(std::memory_order_relaxed); }

 private:
  struct PosterState {
    uint64_t next_seq = 0;
    // Runs of consecutive completions that arrived ahead of their turn
    // (reaped by another worker before an earlier run was handed over),
    // keyed by the sequence number of their first completion.
    std::map<uint64_t, std::vector<CompletionRecord>> held;
  };

  void AppendLocked(const CompletionRecord& record);
  // Queues an op's record; `flag` is kOpRecordFinal or kOpRecordMore.
  void DeliverOp(const Op* op, double flag);
  static Posted OpRecord(const Op* op, double flag);

  std::function<void()> wake_;

  std::mutex mutex_;
  std::vector<CompletionRecord> queue_;
  size_t head_ = 0;  // records before head_ were drained already
  bool wake_pending_ = false;
  std::unordered_map<uint32_t, PosterState> posters_;
  uint64_t held_count_ = 0;

  std::condition_variable room_;
  std::atomic<uint64_t> posted_{0};
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> peak_queued_{0};

  std::mutex gate_mutex_;
  std::condition_variable gate_;
  unsigned concurrency_;
  unsigned running_ = 0;
  std::atomic<unsigned> peak_running_{0};
};

}  // namespace overlapped
