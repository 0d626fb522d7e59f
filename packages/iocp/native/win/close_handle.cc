#include "../common/handle_close.h"

#include "errors.h"
#include "windows_headers.h"

namespace overlapped {

void CloseHandleNow(int64_t handle, HandleKind kind) {
  if (kind == HandleKind::kSocket) {
    closesocket(static_cast<SOCKET>(handle));
  } else {
    CloseHandle(reinterpret_cast<HANDLE>(static_cast<intptr_t>(handle)));
  }
}

bool IsCancelledResult(int64_t result) { return result == Win32ToErrno(ERROR_OPERATION_ABORTED); }

}  // namespace overlapped
