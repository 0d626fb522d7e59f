#include "uring_ops.h"

#include <cerrno>

namespace overlapped {

namespace {

int PrepareNop(Op*, io_uring_sqe* sqe) {
  sqe->opcode = IORING_OP_NOP;
  return 0;
}

}  // namespace

OVERLAPPED_URING_OP(Nop, PrepareNop);

namespace {

#define OVERLAPPED_URING_OP_POINTER(Name, number) &kUringOp##Name,
// Every kind's entry, in the op table's order.
const UringOpEntry* const kUringOps[] = {OVERLAPPED_OP_KINDS(OVERLAPPED_URING_OP_POINTER)};
#undef OVERLAPPED_URING_OP_POINTER
static_assert(sizeof kUringOps / sizeof kUringOps[0] == kOpKindCount, "one entry per kind");

const UringOpEntry* EntryOf(OpKind kind) {
  const int index = OpIndex(kind);
  return index < 0 ? nullptr : kUringOps[index];
}

}  // namespace

int PrepareUringOp(Op* op, io_uring_sqe* sqe) {
  const UringOpEntry* entry = EntryOf(op->kind);
  return entry == nullptr || entry->prepare == nullptr ? -ENOSYS : entry->prepare(op, sqe);
}

bool FinishUringOp(Op* op, const io_uring_cqe& cqe) {
  const UringOpEntry* entry = EntryOf(op->kind);
  if (entry != nullptr && entry->finish != nullptr) return entry->finish(op, cqe);
  op->result = cqe.res;
  return true;
}

void AbandonUringOp(Op* op, int error) {
  const UringOpEntry* entry = EntryOf(op->kind);
  if (entry != nullptr && entry->release != nullptr) entry->release(op);
  op->result = error;
}

}  // namespace overlapped
