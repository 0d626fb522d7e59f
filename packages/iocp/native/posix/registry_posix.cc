// The backends of a POSIX build other than Linux: the thread pool alone.
// Linux builds compile native/linux/registry.cc instead of this file.
#include <cerrno>
#include <string>
#include <vector>

#include "../common/backend.h"
#include "errno_name.h"
#include "threadpool.h"

namespace overlapped {

std::vector<std::string> CompiledBackends() { return {"threadpool"}; }

bool ProbeBackend(const std::string& name, BackendError* why) {
  if (name == "threadpool") return true;
  if (why != nullptr) {
    why->code = ErrnoName(ENOSYS);
    why->errnum = ENOSYS;
    why->message = "no backend named '" + name +
                   "' is compiled into this build; it has threadpool only.";
  }
  return false;
}

Backend* CreateBackend(const std::string& name) {
  if (name == "threadpool") return new ThreadPoolBackend();
  return nullptr;
}

}  // namespace overlapped
