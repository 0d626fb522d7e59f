#include "pool_ops.h"

#include <cerrno>

namespace overlapped {

void RunPoolOp(Op* op) {
  if (op->kind == OpKind::kNop) {
    op->result = 0;
  } else if (IsFileOp(op->kind)) {
    RunPoolFileOp(op);
  } else if (IsSocketOp(op->kind)) {
    RunPoolSocketOp(op);
  } else {
    op->result = -ENOSYS;
  }
}

}  // namespace overlapped
