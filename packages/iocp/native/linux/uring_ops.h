// Ops on the io_uring backend: how each kind fills its SQE and reads its
// CQE. The file and socket kinds live in files of their own.
#pragma once

#include <linux/io_uring.h>

#include <atomic>
#include <cstdint>
#include <new>

#include "../common/backend.h"

namespace overlapped {

// The start of an op's backend_storage on this backend; the rest (from
// kUringOpScratchOffset) is the kind's own (iovec arrays, sockaddrs).
struct UringOpState {
  uint32_t worker;  // the ring the op was submitted to
  // Stored (release) by the submitter once the op's SQE is filled, loaded
  // (acquire) by the worker that reaps its CQE. The kernel round trip
  // already orders the two; this makes that order visible to the memory
  // model (and to ThreadSanitizer) at the cost of one uncontended atomic.
  std::atomic<uint32_t> published;
  // A receive waiting for its socket's turn (RecvTurns): the one after it.
  Op* next_waiting;
};
constexpr size_t kUringOpScratchOffset = 16;
static_assert(sizeof(UringOpState) <= kUringOpScratchOffset, "UringOpState must fit");

inline UringOpState* UringOpStateOf(Op* op) {
  return reinterpret_cast<UringOpState*>(op->backend_storage);
}
// Makes the op's state record live in its storage (before the op is used).
inline UringOpState* StartUringOpState(Op* op) {
  return new (op->backend_storage) UringOpState{0, {0}, nullptr};
}
inline unsigned char* UringOpScratch(Op* op) { return op->backend_storage + kUringOpScratchOffset; }

// Fills `sqe` for `op` (the caller sets user_data). Returns 0, or -errno
// (-ENOSYS for a kind this backend does not implement).
int PrepareUringOp(Op* op, io_uring_sqe* sqe);
// Sets op->result from the op's CQE and returns true; or returns false
// for an op that continues (a send with bytes left, the echo loop's next
// step): the backend then prepares and submits it again, and Prepare sees
// op->result == kUringContinuing.
bool FinishUringOp(Op* op, const io_uring_cqe& cqe);
// A continuing op that cannot be resubmitted (cancelled, or the ring
// refused it) ends with `error`: the kind releases what it holds.
void AbandonUringOp(Op* op, int error);
constexpr int64_t kUringContinuing = INT64_MIN;

// True for a kind whose SQE does its data copy inline in io_uring_enter
// when the data is at hand (buffered file reads and writes): such ops are
// handed to the ring's worker to submit, so that the copy runs there and
// not on the thread that started the op.
bool UringOpCopiesInline(const Op* op);

// Defined in uring_file_ops.cc / uring_socket_ops.cc.
int PrepareUringFileOp(Op* op, io_uring_sqe* sqe);
void FinishUringFileOp(Op* op, const io_uring_cqe& cqe);
int PrepareUringSocketOp(Op* op, io_uring_sqe* sqe);
bool FinishUringSocketOp(Op* op, const io_uring_cqe& cqe);
void AbandonUringSocketOp(Op* op, int error);

}  // namespace overlapped
