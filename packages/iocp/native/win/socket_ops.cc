// Socket ops on the iocp backend. No socket op kinds are defined yet: each
// fails with ERROR_NOT_SUPPORTED (ENOTSUP).
#include "errors.h"
#include "iocp.h"

namespace overlapped {

bool StartWinSocketOp(IocpBackend*, Op* op, OpPacket*) {
  FailOpWithWin32(op, ERROR_NOT_SUPPORTED);
  return false;
}

void FinishWinSocketOp(Op* op, OpPacket*, DWORD bytes, DWORD error) {
  if (error != 0) {
    FailOpWithWin32(op, error);
  } else {
    op->result = bytes;
  }
}

}  // namespace overlapped
