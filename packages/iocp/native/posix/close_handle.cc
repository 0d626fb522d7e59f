#include "../common/handle_close.h"

#include <unistd.h>

#include <cerrno>

namespace overlapped {

void CloseHandleNow(int64_t handle, HandleKind) { close(static_cast<int>(handle)); }

bool IsCancelledResult(int64_t result) { return result == -ECANCELED; }

}  // namespace overlapped
