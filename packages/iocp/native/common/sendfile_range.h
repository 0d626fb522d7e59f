// A sendfile op's range, clamped to its file: every backend reads the
// file's size at the op's first step, so a range past the end sends what
// the file holds (and the op's result says how much).
#pragma once

#include <cstdint>

#include "backend.h"

namespace overlapped {

// The bytes of the file the op sends: [position, position + length) of a
// file of `file_size` bytes, cut at its end.
inline uint64_t SendfileRangeBytes(const Op& op, uint64_t file_size) {
  using Args = OpArgs<OpKind::kSocketSendfile>;
  const uint64_t position = static_cast<uint64_t>(Args::position(op));
  const uint64_t available = position < file_size ? file_size - position : 0;
  const uint64_t length = static_cast<uint64_t>(Args::length(op));
  return length < available ? length : available;
}

// The bytes of the op's head (none when it was given an empty one).
inline uint64_t SendfileHeadBytes(const Op& op) {
  const OpBuffer* head = OpArgs<OpKind::kSocketSendfile>::head(op);
  return head == nullptr ? 0 : head->length;
}

}  // namespace overlapped
