#include <cerrno>

#include "pool_ops.h"

namespace overlapped {

// No socket op kinds are defined yet: each completes with ENOSYS.
void RunPoolSocketOp(Op* op) { op->result = -ENOSYS; }

}  // namespace overlapped
