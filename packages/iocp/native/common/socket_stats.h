// Counters socket ops keep in JS memory. A forward's live counters: two
// doubles (bytes received, bytes sent) in buffers[1] of a kSocketForward
// op, which JS may read at any time, and a third, where buffers[1] has
// room for it, that names the side that failed (ForwardSide, op_table.h).
// A send's progress: one double in buffers[1] of a kSocketSend op, the
// bytes of buffers[0] the kernel has taken so far, which JS reads when the
// op fails or is cancelled. Only the
// thread running the op's current step writes them, so a read-modify-write
// needs no lock; each store is a single aligned 8-byte atomic write, so
// JS never reads half of one.
#pragma once

#include <cstdint>
#include <cstring>

#include "backend.h"

namespace overlapped {

inline void AddForwardStat(Op* op, int index, int64_t delta) {
  if (op->buffers.size() < 2 || op->buffers[1].length < 16) return;
  auto* slot = reinterpret_cast<uint64_t*>(op->buffers[1].data) + index;
  double value;
  uint64_t bits = __atomic_load_n(slot, __ATOMIC_RELAXED);
  std::memcpy(&value, &bits, sizeof value);
  value += static_cast<double>(delta);
  std::memcpy(&bits, &value, sizeof bits);
  __atomic_store_n(slot, bits, __ATOMIC_RELAXED);
}

// Called once, by the thread that ends a forward with a failure.
inline void SetForwardFailedSide(Op* op, ForwardSide side) {
  if (op->buffers.size() < 2 || op->buffers[1].length < 24) return;
  const double value = static_cast<double>(side);
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  __atomic_store_n(reinterpret_cast<uint64_t*>(op->buffers[1].data) + 2, bits, __ATOMIC_RELAXED);
}

inline void SetSendProgress(Op* op, uint64_t sent) {
  if (op->buffers.size() < 2 || op->buffers[1].length < 8) return;
  const double value = static_cast<double>(sent);
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  __atomic_store_n(reinterpret_cast<uint64_t*>(op->buffers[1].data), bits, __ATOMIC_RELAXED);
}

}  // namespace overlapped
