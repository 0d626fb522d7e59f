// Closing a handle from native/common, for the handles a JS environment
// left open when it was torn down (env_handles.h). Implemented once per
// platform (native/posix, native/win); no Node-API here.
#pragma once

#include <cstdint>

namespace overlapped {

// Files and sockets close differently on Windows (CloseHandle,
// closesocket); elsewhere both are file descriptors.
enum class HandleKind : uint8_t { kFile, kSocket };

// Closes `handle` at once on the calling thread. Errors are ignored: the
// caller is the handle's last owner, and nobody is left to tell.
void CloseHandleNow(int64_t handle, HandleKind kind);

// Whether an op's result says that it was cancelled before it ran
// (-ECANCELED, or libuv's UV_ECANCELED on Windows).
bool IsCancelledResult(int64_t result);

}  // namespace overlapped
