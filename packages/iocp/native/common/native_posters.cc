#include "native_posters.h"

namespace overlapped {

// Posters wait once this many completions are posted but not yet drained.
static constexpr uint64_t kPostedHighWater = 1u << 16;

void NativePosters::Start(unsigned threads, uint64_t per_thread, double base_key,
                          uint32_t first_poster) {
  stop_.store(false);
  for (unsigned i = 0; i < threads; i++) {
    active_.fetch_add(1);
    threads_.emplace_back([this, i, per_thread, base_key, first_poster] {
      Posted item{};
      item.poster = first_poster + i;
      item.record.key = base_key + i;
      for (uint64_t seq = 0; seq < per_thread; seq++) {
        if (!queue_->WaitForRoom(kPostedHighWater, stop_)) break;
        item.seq = seq;
        item.record.bytes = static_cast<double>(seq);
        queue_->CountPosted(1);
        backend_->Post(&item, 1);
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
