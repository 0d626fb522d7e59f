// The backends a Windows build contains: only iocp.
#include "../common/backend.h"
#include "errors.h"
#include "iocp.h"

namespace overlapped {

std::vector<std::string> CompiledBackends() { return {"iocp"}; }

bool ProbeBackend(const std::string& name, BackendError* why) {
  if (name != "iocp") {
    if (why != nullptr) {
      why->code = "ENOSYS";
      why->errnum = 0;
      why->message = "backend '" + name + "' is not compiled into this build";
    }
    return false;
  }
  // Every supported Windows has completion ports; creating and closing one
  // proves that this process may, and costs a few microseconds.
  HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
  if (port == nullptr) {
    DWORD code = GetLastError();
    if (why != nullptr) {
      why->code = Win32CodeName(code);
      why->errnum = static_cast<int>(code);
      why->message = "CreateIoCompletionPort: " + Win32Message(code);
    }
    return false;
  }
  CloseHandle(port);
  return true;
}

// The caller owns the new backend.
Backend* CreateBackend(const std::string& name) {
  if (name == "iocp") return new IocpBackend();
  return nullptr;
}

}  // namespace overlapped
