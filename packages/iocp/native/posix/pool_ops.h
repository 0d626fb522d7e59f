// How the threadpool backend runs each op kind: one function per kind,
// registered in its table (pool_ops.cc), which names every kind of the op
// table. File kinds run as blocking syscalls on the workers
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
  // false while it waits for its socket. Null for a worker kind.
  bool (*try_ready)(Op* op);
  // Ends an op that will not be tried again with `error`; null: the
  // result is the error. (An op that owns its socket closes it.)
  void (*end)(Op* op, int64_t error);
};

// The entry of `kind`, or null for a kind the table does not define.
const PoolOpEntry* PoolOpOf(OpKind kind);

// Runs `op` on the calling thread and sets op->result (and raw_error);
// ENOSYS for a kind with no worker function.
void RunPoolOp(Op* op);

// pool_file_ops.cc
void RunPoolFileOpen(Op* op);
void RunPoolFileClose(Op* op);
void RunPoolFileRead(Op* op);
void RunPoolFileWrite(Op* op);
void RunPoolFileReadv(Op* op);
void RunPoolFileWritev(Op* op);
void RunPoolFileSync(Op* op);
void RunPoolFileAllocate(Op* op);
void RunPoolFileTruncate(Op* op);
void RunPoolFileStat(Op* op);
void RunPoolFileCopyRange(Op* op);

// socket_reactor.cc
bool ReactorTryAccept(Op* op);
bool ReactorTryConnect(Op* op);
bool ReactorTryRecv(Op* op);
bool ReactorTrySend(Op* op);
bool ReactorTryShutdown(Op* op);
bool ReactorTryClose(Op* op);
bool ReactorTryEcho(Op* op);
void ReactorEndEcho(Op* op, int64_t error);

}  // namespace overlapped
