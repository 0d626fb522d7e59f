// Ops as blocking syscalls, run by the threadpool backend's workers. The
// file and socket kinds live in files of their own.
#pragma once

#include "../common/backend.h"

namespace overlapped {

// Runs `op` on the calling thread and sets op->result (and raw_error).
void RunPoolOp(Op* op);

// Defined in pool_file_ops.cc / pool_socket_ops.cc.
void RunPoolFileOp(Op* op);
void RunPoolSocketOp(Op* op);

}  // namespace overlapped
