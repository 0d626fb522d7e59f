// How the threadpool backend runs each op kind: one entry per kind,
// defined next to the kind's function and gathered in the backend's table
// (pool_ops.cc), which names every kind of the op table. File kinds run as blocking syscalls on the workers
// (pool_file_ops.cc); socket kinds as non-blocking syscalls on the
// readiness reactor's thread (socket_reactor.cc). The io_uring backend's
// helper threads run the same functions for the kinds it has no opcode for.
#pragma once

#include "../common/backend.h"

namespace overlapped {

struct PoolOpEntry {
  OpKind kind;
  // Runs the op on the calling (worker) thread and sets op->result; null
  // for a reactor kind.
  void (*run)(Op* op);
  // On the reactor: makes the op's syscall once more; true when finished,
  // false while it waits for its socket (or, for a kind that relays, for
  // its target). Null for a worker kind. An op that is not tried again
  // ends with the error as its result: no reactor op owns a handle.
  bool (*try_ready)(Op* op);
};

// A worker kind's entry, or a reactor kind's. Each checks the kind's
// traits at compile time.
constexpr PoolOpEntry PoolWorkerOp(OpKind kind, void (*run)(Op*)) {
  return TraitsOf(kind).reactor == ReactorRole::kNone ? PoolOpEntry{kind, run, nullptr}
                                                      : (OpEntryContradictsTheKindsTraits(), PoolOpEntry{});
}
constexpr PoolOpEntry PoolReactorOp(OpKind kind, bool (*try_ready)(Op*)) {
  return TraitsOf(kind).reactor != ReactorRole::kNone ? PoolOpEntry{kind, nullptr, try_ready}
                                                      : (OpEntryContradictsTheKindsTraits(), PoolOpEntry{});
}

// Every kind's entry, kPoolOp<Name> (OVERLAPPED_OP_KINDS), defined with
// the kind's functions: OVERLAPPED_POOL_WORKER_OP(FileRead, RunRead) in
// pool_file_ops.cc, OVERLAPPED_POOL_REACTOR_OP(SocketRecv, TryRecv) in
// socket_reactor.cc.
#define OVERLAPPED_DECLARE_POOL_OP(Name, number) extern const PoolOpEntry kPoolOp##Name;
OVERLAPPED_OP_KINDS(OVERLAPPED_DECLARE_POOL_OP)
#undef OVERLAPPED_DECLARE_POOL_OP
#define OVERLAPPED_POOL_WORKER_OP(Name, run) constexpr PoolOpEntry kPoolOp##Name = PoolWorkerOp(OpKind::k##Name, run)
#define OVERLAPPED_POOL_REACTOR_OP(Name, try_ready) \
  constexpr PoolOpEntry kPoolOp##Name = PoolReactorOp(OpKind::k##Name, try_ready)

// The entry of `kind`, or null for a kind the table does not define.
const PoolOpEntry* PoolOpOf(OpKind kind);

// Runs `op` on the calling thread and sets op->result (and raw_error);
// ENOSYS for a kind with no worker function.
void RunPoolOp(Op* op);

}  // namespace overlapped
