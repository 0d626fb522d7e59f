#include "pool_ops.h"

#include <cerrno>

namespace overlapped {

namespace {

void RunNop(Op* op) { op->result = 0; }

// One entry per kind of the op table, in its order.
constexpr PoolOpEntry kPoolOps[] = {
    {OpKind::kNop, RunNop, nullptr, nullptr},
    {OpKind::kFileOpen, RunPoolFileOpen, nullptr, nullptr},
    {OpKind::kFileClose, RunPoolFileClose, nullptr, nullptr},
    {OpKind::kFileRead, RunPoolFileRead, nullptr, nullptr},
    {OpKind::kFileWrite, RunPoolFileWrite, nullptr, nullptr},
    {OpKind::kFileReadv, RunPoolFileReadv, nullptr, nullptr},
    {OpKind::kFileWritev, RunPoolFileWritev, nullptr, nullptr},
    {OpKind::kFileSync, RunPoolFileSync, nullptr, nullptr},
    {OpKind::kFileAllocate, RunPoolFileAllocate, nullptr, nullptr},
    {OpKind::kFileTruncate, RunPoolFileTruncate, nullptr, nullptr},
    {OpKind::kFileStat, RunPoolFileStat, nullptr, nullptr},
    {OpKind::kFileCopyRange, RunPoolFileCopyRange, nullptr, nullptr},
    {OpKind::kSocketAccept, nullptr, ReactorTryAccept, nullptr},
    {OpKind::kSocketConnect, nullptr, ReactorTryConnect, nullptr},
    {OpKind::kSocketRecv, nullptr, ReactorTryRecv, nullptr},
    {OpKind::kSocketSend, nullptr, ReactorTrySend, nullptr},
    {OpKind::kSocketShutdown, nullptr, ReactorTryShutdown, nullptr},
    {OpKind::kSocketClose, nullptr, ReactorTryClose, nullptr},
    {OpKind::kSocketEcho, nullptr, ReactorTryEcho, ReactorEndEcho},
};
static_assert(CoversEveryOpKind(kPoolOps), "the threadpool backend's table must name every op kind, in order");

// A kind runs on the reactor exactly when the table gives it a reactor role.
constexpr bool ReactorRolesAgree() {
  for (const PoolOpEntry& entry : kPoolOps) {
    const bool on_reactor = TraitsOf(entry.kind).reactor != ReactorRole::kNone;
    if (on_reactor != (entry.try_ready != nullptr) || on_reactor == (entry.run != nullptr)) return false;
  }
  return true;
}
static_assert(ReactorRolesAgree(), "reactor kinds have a try, worker kinds a run");

}  // namespace

const PoolOpEntry* PoolOpOf(OpKind kind) {
  const int index = OpIndex(kind);
  return index < 0 ? nullptr : &kPoolOps[index];
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
