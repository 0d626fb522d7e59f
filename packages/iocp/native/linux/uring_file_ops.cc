#include <cerrno>

#include "uring_ops.h"

namespace overlapped {

// No file op kinds are defined yet: each is refused with ENOSYS.
int PrepareUringFileOp(Op*, io_uring_sqe*) { return -ENOSYS; }
void FinishUringFileOp(Op* op, const io_uring_cqe& cqe) { op->result = cqe.res; }

}  // namespace overlapped
