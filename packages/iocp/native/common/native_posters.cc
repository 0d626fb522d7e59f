#include "native_posters.h"

namespace overlapped {

// Posters wait once this many completions are posted but not yet drained.
static constexpr uint64_t kPostedHighWater = 1u << 16;
// A poster hands its completions over in batches of this many, the size of
// one GetQueuedCompletionStatusEx reap: completions of real I/O also reach
// the port in bursts, and one Post per batch keeps the wake-ups per
// completion low. Order and sequence numbers stay per completion.
static constexpr uint64_t kPostBatch = 64;

void NativePosters::Start(unsigned threads, uint64_t per_thread, double base_key,
                          uint32_t first_poster) {
  stop_.store(false);
  for (unsigned i = 0; i < threads; i++) {
    active_.fetch_add(1);
    threads_.emplace_back([this, i, per_thread, base_key, first_poster] {
      Posted batch[kPostBatch];
      uint64_t seq = 0;
      while (seq < per_thread) {
        if (!queue_->WaitForRoom(kPostedHighWater, stop_)) break;
        uint64_t count = per_thread - seq < kPostBatch ? per_thread - seq : kPostBatch;
        for (uint64_t j = 0; j < count; j++, seq++) {
          Posted& item = batch[j];
          item.poster = first_poster + i;
          item.seq = seq;
          item.record = CompletionRecord{base_key + i, static_cast<double>(seq), 0, 0};
        }
        queue_->CountPosted(count);
        backend_->Post(batch, count);
      }
      active_.fetch_sub(1);
    });
  }
}

void NativePosters::Stop() {
  stop_.store(true);
  queue_->WakeWaiters();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

}  // namespace overlapped
