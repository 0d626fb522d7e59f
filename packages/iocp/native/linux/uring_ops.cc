#include "uring_ops.h"

#include <cerrno>

namespace overlapped {

int PrepareUringOp(Op* op, io_uring_sqe* sqe) {
  if (op->kind == OpKind::kNop) {
    sqe->opcode = IORING_OP_NOP;
    return 0;
  }
  if (IsFileOp(op->kind)) return PrepareUringFileOp(op, sqe);
  if (IsSocketOp(op->kind)) return PrepareUringSocketOp(op, sqe);
  return -ENOSYS;
}

bool FinishUringOp(Op* op, const io_uring_cqe& cqe) {
  if (IsFileOp(op->kind)) {
    FinishUringFileOp(op, cqe);
  } else if (IsSocketOp(op->kind)) {
    return FinishUringSocketOp(op, cqe);
  } else {
    op->result = cqe.res;
  }
  return true;
}

bool UringOpCopiesInline(const Op* op) {
  switch (op->kind) {
    case OpKind::kFileRead:
    case OpKind::kFileWrite:
    case OpKind::kFileReadv:
    case OpKind::kFileWritev:
      return true;
    default:
      return false;
  }
}

void AbandonUringOp(Op* op, int error) {
  if (IsSocketOp(op->kind)) {
    AbandonUringSocketOp(op, error);
  } else {
    op->result = error;
  }
}

}  // namespace overlapped
