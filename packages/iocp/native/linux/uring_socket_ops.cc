#include <cerrno>

#include "uring_ops.h"

namespace overlapped {

// No socket op kinds are defined yet: each is refused with ENOSYS.
int PrepareUringSocketOp(Op*, io_uring_sqe*) { return -ENOSYS; }
void FinishUringSocketOp(Op* op, const io_uring_cqe& cqe) { op->result = cqe.res; }

}  // namespace overlapped
