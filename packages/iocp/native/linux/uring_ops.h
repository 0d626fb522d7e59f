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
  // The descriptor of that ring, for a kind that registers something with
  // it (a forward's buffer ring).
  int32_t ring_fd;
};
constexpr size_t kUringOpScratchOffset = 32;
static_assert(sizeof(UringOpState) <= kUringOpScratchOffset, "UringOpState must fit");

inline UringOpState* UringOpStateOf(Op* op) {
  return reinterpret_cast<UringOpState*>(op->backend_storage);
}
// Makes the op's state record live in its storage (before the op is used).
inline UringOpState* StartUringOpState(Op* op) {
  return new (op->backend_storage) UringOpState{0, {0}, nullptr, -1};
}
inline unsigned char* UringOpScratch(Op* op) { return op->backend_storage + kUringOpScratchOffset; }

// How the io_uring backend runs each op kind: one entry per kind, defined
// next to the kind's functions and gathered in the backend's table
// (uring_ops.cc), which names every kind of the op table.
struct UringOpEntry {
  OpKind kind;
  // Fills the SQE (the caller sets user_data): 0, or -errno. Null for a
  // kind without an opcode, which runs on the helper threads (uringHelper).
  int (*prepare)(Op* op, io_uring_sqe* sqe);
  // Sets op->result from the op's CQE and returns true, or returns false
  // for an op that continues (see FinishUringOp). Null: the result is the
  // CQE's.
  bool (*finish)(Op* op, const io_uring_cqe& cqe);
  // Frees what a continuing op holds between its steps (a sendfile's
  // pipe) when it ends without finishing: null for a kind that holds
  // nothing.
  void (*release)(Op* op);
};

// Fills `sqe` for `op` (the caller sets user_data). Returns 0, or -errno
// (-ENOSYS for a kind this backend does not implement).
int PrepareUringOp(Op* op, io_uring_sqe* sqe);
// Sets op->result from the op's CQE and returns true; or returns false
// for an op that continues (a send with bytes left, a forward's next
// step): the backend then prepares and submits it again, and Prepare sees
// op->result == kUringContinuing.
bool FinishUringOp(Op* op, const io_uring_cqe& cqe);
// A continuing op that cannot be resubmitted (cancelled, or the ring
// refused it) ends with `error`, after its kind's release.
void AbandonUringOp(Op* op, int error);
constexpr int64_t kUringContinuing = INT64_MIN;
// A step may stay armed in the kernel after a CQE (a forward's multishot
// recv posts one with IORING_CQE_F_MORE per message): the backend then
// submits nothing, and its Finish must return false. Setting op->result to
// kUringDisarm instead of kUringContinuing asks the backend to cancel the
// armed step; its last CQE (without F_MORE) reaches Finish as usual.
constexpr int64_t kUringDisarm = INT64_MIN + 1;

// True for a kind whose SQE does its data copy inline in io_uring_enter
// when the data is at hand (buffered file reads and writes): such ops are
// handed to the ring's worker to submit, so that the copy runs there and
// not on the thread that started the op.
inline bool UringOpCopiesInline(const Op* op) { return TraitsOf(op->kind).uring_copies_inline; }

// A kind's entry, checked against its traits at compile time: a kind
// the helper threads run (uringHelper) has no prepare, every other one has.
constexpr UringOpEntry UringOp(OpKind kind, int (*prepare)(Op*, io_uring_sqe*),
                               bool (*finish)(Op*, const io_uring_cqe&) = nullptr, void (*release)(Op*) = nullptr) {
  return TraitsOf(kind).uring_helper == (prepare == nullptr)
             ? UringOpEntry{kind, prepare, finish, release}
             : (OpEntryContradictsTheKindsTraits(), UringOpEntry{});
}

// Every kind's entry, kUringOp<Name> (OVERLAPPED_OP_KINDS), defined with
// the kind's functions (uring_file_ops.cc, uring_socket_ops.cc):
// OVERLAPPED_URING_OP(FileRead, PrepareRead) or, with a finish,
// OVERLAPPED_URING_OP(SocketSend, PrepareSend, FinishSend).
#define OVERLAPPED_DECLARE_URING_OP(Name, number) extern const UringOpEntry kUringOp##Name;
OVERLAPPED_OP_KINDS(OVERLAPPED_DECLARE_URING_OP)
#undef OVERLAPPED_DECLARE_URING_OP
#define OVERLAPPED_URING_OP(Name, ...) constexpr UringOpEntry kUringOp##Name = UringOp(OpKind::k##Name, __VA_ARGS__)

}  // namespace overlapped
