// The echo loop's live counters: two doubles (bytes in, bytes out) in JS
// memory (buffers[1] of a kSocketEcho op), which JS may read at any time.
// Only the thread running the op's current step writes them, so the
// read-modify-write needs no lock; the store is a single aligned 8-byte
// atomic write, so JS never reads half of one.
#pragma once

#include <cstdint>
#include <cstring>

#include "backend.h"

namespace overlapped {

inline void AddEchoStat(Op* op, int index, int64_t delta) {
  if (op->buffers.size() < 2 || op->buffers[1].length < 16) return;
  auto* slot = reinterpret_cast<uint64_t*>(op->buffers[1].data) + index;
  double value;
  uint64_t bits = __atomic_load_n(slot, __ATOMIC_RELAXED);
  std::memcpy(&value, &bits, sizeof value);
  value += static_cast<double>(delta);
  std::memcpy(&bits, &value, sizeof bits);
  __atomic_store_n(slot, bits, __ATOMIC_RELAXED);
}

}  // namespace overlapped
