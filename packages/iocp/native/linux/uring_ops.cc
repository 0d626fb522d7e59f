#include "uring_ops.h"

#include <cerrno>

namespace overlapped {

namespace {

int PrepareNop(Op*, io_uring_sqe* sqe) {
  sqe->opcode = IORING_OP_NOP;
  return 0;
}

// One entry per kind of the op table, in its order.
constexpr UringOpEntry kUringOps[] = {
    {OpKind::kNop, PrepareNop, nullptr, nullptr},
    {OpKind::kFileOpen, PrepareUringFileOpen, FinishUringFileOpen, nullptr},
    {OpKind::kFileClose, PrepareUringFileClose, nullptr, nullptr},
    {OpKind::kFileRead, PrepareUringFileRead, nullptr, nullptr},
    {OpKind::kFileWrite, PrepareUringFileWrite, nullptr, nullptr},
    {OpKind::kFileReadv, PrepareUringFileReadv, nullptr, nullptr},
    {OpKind::kFileWritev, PrepareUringFileWritev, nullptr, nullptr},
    {OpKind::kFileSync, PrepareUringFileSync, nullptr, nullptr},
    {OpKind::kFileAllocate, PrepareUringFileAllocate, nullptr, nullptr},
    {OpKind::kFileTruncate, PrepareUringFileTruncate, nullptr, nullptr},
    {OpKind::kFileStat, PrepareUringFileStat, FinishUringFileStat, nullptr},
    {OpKind::kFileCopyRange, nullptr, nullptr, nullptr},  // helper threads: posix/pool_file_ops.cc
    {OpKind::kSocketAccept, PrepareUringSocketAccept, nullptr, nullptr},
    {OpKind::kSocketConnect, PrepareUringSocketConnect, nullptr, nullptr},
    {OpKind::kSocketRecv, PrepareUringSocketRecv, nullptr, nullptr},
    {OpKind::kSocketSend, PrepareUringSocketSend, FinishUringSocketSend, nullptr},
    {OpKind::kSocketShutdown, PrepareUringSocketShutdown, nullptr, nullptr},
    {OpKind::kSocketClose, PrepareUringSocketClose, nullptr, nullptr},
    {OpKind::kSocketEcho, PrepareUringSocketEcho, FinishUringSocketEcho, AbandonUringSocketEcho},
};
static_assert(CoversEveryOpKind(kUringOps), "the io_uring backend's table must name every op kind, in order");

// A kind without an opcode is exactly one the helper threads run.
constexpr bool HelperKindsAgree() {
  for (const UringOpEntry& entry : kUringOps) {
    if (TraitsOf(entry.kind).uring_helper != (entry.prepare == nullptr)) return false;
  }
  return true;
}
static_assert(HelperKindsAgree(), "uringHelper kinds have no prepare, the others one");

const UringOpEntry* EntryOf(OpKind kind) {
  const int index = OpIndex(kind);
  return index < 0 ? nullptr : &kUringOps[index];
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
  if (entry != nullptr && entry->abandon != nullptr) {
    entry->abandon(op, error);
  } else {
    op->result = error;
  }
}

}  // namespace overlapped
