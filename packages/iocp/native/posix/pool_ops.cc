#include "pool_ops.h"

#include <cerrno>

namespace overlapped {

namespace {

void RunNop(Op* op) { op->result = 0; }

}  // namespace

OVERLAPPED_POOL_WORKER_OP(Nop, RunNop);

namespace {

#define OVERLAPPED_POOL_OP_POINTER(Name, number) &kPoolOp##Name,
// Every kind's entry, in the op table's order.
const PoolOpEntry* const kPoolOps[] = {OVERLAPPED_OP_KINDS(OVERLAPPED_POOL_OP_POINTER)};
#undef OVERLAPPED_POOL_OP_POINTER
static_assert(sizeof kPoolOps / sizeof kPoolOps[0] == kOpKindCount, "one entry per kind");

}  // namespace

const PoolOpEntry* PoolOpOf(OpKind kind) {
  const int index = OpIndex(kind);
  return index < 0 ? nullptr : kPoolOps[index];
}

void RunPoolOp(Op* op) {
  const PoolOpEntry* entry = PoolOpOf(op->kind);
  if (entry == nullptr || entry->run == nullptr) {
    op->result = -ENOSYS;
    return;
  }
  entry->run(op);
}

}  // namespace overlapped
