// The iocp backend's table of op kinds: one entry per kind of the op
// table, in its order.
#include "iocp.h"

namespace overlapped {

namespace {

// The op path without I/O: a packet of its own through the port, as a
// blocking kind's (a cancel does not stop it: it completes with 0).
void RunNop(IocpBackend*, Op* op) {
  op->result = 0;
  op->raw_error = 0;
}

constexpr WinOpEntry kWinOps[] = {
    {OpKind::kNop, RunNop, nullptr, nullptr},
    {OpKind::kFileOpen, RunWinFileOpen, nullptr, nullptr},
    {OpKind::kFileClose, RunWinFileClose, nullptr, nullptr},
    {OpKind::kFileRead, nullptr, StartWinFileTransfer, FinishWinFileTransfer},
    {OpKind::kFileWrite, nullptr, StartWinFileTransfer, FinishWinFileTransfer},
    {OpKind::kFileReadv, RunWinFileReadv, nullptr, nullptr},
    {OpKind::kFileWritev, RunWinFileWritev, nullptr, nullptr},
    {OpKind::kFileSync, RunWinFileSync, nullptr, nullptr},
    {OpKind::kFileAllocate, RunWinFileAllocate, nullptr, nullptr},
    {OpKind::kFileTruncate, RunWinFileTruncate, nullptr, nullptr},
    {OpKind::kFileStat, RunWinFileStat, nullptr, nullptr},
    {OpKind::kFileCopyRange, RunWinFileCopyRange, nullptr, nullptr},
    {OpKind::kSocketAccept, nullptr, StartWinSocketAccept, FinishWinSocketAccept},
    {OpKind::kSocketConnect, nullptr, StartWinSocketConnect, FinishWinSocketConnect},
    {OpKind::kSocketRecv, nullptr, StartWinSocketRecv, FinishWinSocketBytes},
    {OpKind::kSocketSend, nullptr, StartWinSocketSend, FinishWinSocketSend},
    {OpKind::kSocketShutdown, nullptr, StartWinSocketShutdown, FinishWinSocketBytes},
    {OpKind::kSocketClose, nullptr, StartWinSocketClose, FinishWinSocketBytes},
    {OpKind::kSocketEcho, nullptr, StartWinSocketEcho, FinishWinSocketEcho},
};
static_assert(CoversEveryOpKind(kWinOps), "the iocp backend's table must name every op kind, in order");

// The blocking kinds (and nop, which posts its own packet the same way)
// run on a worker; the others start and finish overlapped.
constexpr bool BlockingKindsAgree() {
  for (const WinOpEntry& entry : kWinOps) {
    const bool blocking = TraitsOf(entry.kind).blocking_on_windows || entry.kind == OpKind::kNop;
    if (blocking != (entry.run != nullptr) || blocking == (entry.start != nullptr && entry.finish != nullptr)) {
      return false;
    }
  }
  return true;
}
static_assert(BlockingKindsAgree(), "blockingOnWindows kinds have a run, the others a start and a finish");

}  // namespace

const WinOpEntry* WinOpOf(OpKind kind) {
  const int index = OpIndex(kind);
  return index < 0 ? nullptr : &kWinOps[index];
}

}  // namespace overlapped
