#include <cerrno>

#include "pool_ops.h"

namespace overlapped {

// No file op kinds are defined yet: each completes with ENOSYS.
void RunPoolFileOp(Op* op) { op->result = -ENOSYS; }

}  // namespace overlapped
