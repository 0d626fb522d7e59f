// The copy-range op's loop, written once for every backend that runs it
// on a thread of its own (the pool, io_uring's helper threads, the iocp
// port workers): chunk after chunk through the op's bounce buffer, the
// cancel flag checked between two chunks. The platform supplies how one
// chunk is copied and turns the outcome into the op's result.
#pragma once

#include <algorithm>
#include <cstdint>

#include "backend.h"

namespace overlapped {

struct CopyRangeOutcome {
  enum How { kCopied, kInvalid, kCancelled, kFailed } how;
  int64_t done;    // bytes copied before it ended
  uint32_t error;  // kFailed: the platform's code (errno, Win32)
};

// `copy_chunk(position, bounce, length, &error)` copies up to `length`
// bytes at `position` from the op's source to its target and returns the
// bytes moved, 0 when the source has ended, or -1 with `error` set.
template <typename CopyChunk>
CopyRangeOutcome CopyRangeInChunks(Op* op, CopyChunk&& copy_chunk) {
  using Args = OpArgs<OpKind::kFileCopyRange>;
  const OpBuffer* bounce = Args::bounce(*op);
  const int64_t length = Args::length(*op);
  if (op->buffers.size() != 1 || bounce->length == 0 || Args::position(*op) < 0 || length < 0) {
    return {CopyRangeOutcome::kInvalid, 0, 0};
  }
  int64_t done = 0;
  while (done < length) {
    // A cancelled copy ends between two chunks with ECANCELED even when
    // bytes were moved: a short count would read as "the source ended".
    if (op->cancel_requested.load(std::memory_order_relaxed)) return {CopyRangeOutcome::kCancelled, done, 0};
    const int64_t chunk = std::min<int64_t>(length - done, static_cast<int64_t>(bounce->length));
    uint32_t error = 0;
    const int64_t moved = copy_chunk(Args::position(*op) + done, bounce->data, static_cast<size_t>(chunk), &error);
    if (moved < 0) return {CopyRangeOutcome::kFailed, done, error};
    if (moved == 0) break;  // the source ended early
    done += moved;
  }
  return {CopyRangeOutcome::kCopied, done, 0};
}

}  // namespace overlapped
