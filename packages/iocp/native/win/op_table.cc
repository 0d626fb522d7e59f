// The iocp backend's table of op kinds: every kind's entry (defined with
// its functions), in the op table's order.
#include "iocp.h"

namespace overlapped {

namespace {

// The op path without I/O: a packet of its own through the port, as a
// blocking kind's (a cancel does not stop it: it completes with 0).
void RunNop(IocpBackend*, Op* op) {
  op->result = 0;
  op->raw_error = 0;
}

}  // namespace

OVERLAPPED_WIN_BLOCKING_OP(Nop, RunNop);

namespace {

#define OVERLAPPED_WIN_OP_POINTER(Name, number) &kWinOp##Name,
// Every kind's entry, in the op table's order.
const WinOpEntry* const kWinOps[] = {OVERLAPPED_OP_KINDS(OVERLAPPED_WIN_OP_POINTER)};
#undef OVERLAPPED_WIN_OP_POINTER
static_assert(sizeof kWinOps / sizeof kWinOps[0] == kOpKindCount, "one entry per kind");

}  // namespace

const WinOpEntry* WinOpOf(OpKind kind) {
  const int index = OpIndex(kind);
  return index < 0 ? nullptr : kWinOps[index];
}

}  // namespace overlapped
