// Native threads that post completions of their own to a port, the way any
// thread may call PostQueuedCompletionStatus. Used by the conformance suite
// and the benchmarks to drive a port from outside the JS thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "backend.h"
#include "delivery_queue.h"

namespace overlapped {

class NativePosters {
 public:
  NativePosters(Backend* backend, DeliveryQueue* queue) : backend_(backend), queue_(queue) {}
  ~NativePosters() { Stop(); }

  // Starts `threads` posters; poster i (1-based id first_poster + i) posts
  // `per_thread` completions with key = base_key + i and bytes = its
  // sequence number, so that the receiver can check order per poster.
  void Start(unsigned threads, uint64_t per_thread, double base_key, uint32_t first_poster);
  // Asks the posters to stop early and joins them. Idempotent.
  void Stop();
  // Posters that have not finished yet.
  unsigned active() const { return active_.load(); }

 private:
  Backend* backend_;
  DeliveryQueue* queue_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<unsigned> active_{0};
};

}  // namespace overlapped
