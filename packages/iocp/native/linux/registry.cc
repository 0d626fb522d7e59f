// The backends of a Linux build: io_uring first, the thread pool as the
// fallback when io_uring is missing or forbidden.
#include <cerrno>
#include <string>
#include <vector>

#include "../common/backend.h"
#include "../posix/errno_name.h"
#include "../posix/threadpool.h"
#include "io_uring_backend.h"
#include "probe.h"

namespace overlapped {

std::vector<std::string> CompiledBackends() {
  return {"io_uring", "threadpool"};
}

bool ProbeBackend(const std::string& name, BackendError* why) {
  if (name == "io_uring") return uring::ProbeIoUring(why);
  // The thread pool needs nothing beyond threads, which Start reports on.
  if (name == "threadpool") return true;
  if (why != nullptr) {
    why->code = ErrnoName(ENOSYS);
    why->errnum = ENOSYS;
    why->message = "no backend named '" + name +
                   "' is compiled into this Linux build; it has io_uring "
                   "and threadpool.";
  }
  return false;
}

Backend* CreateBackend(const std::string& name) {
  if (name == "io_uring") return new IoUringBackend();
  if (name == "threadpool") return new ThreadPoolBackend();
  return nullptr;
}

}  // namespace overlapped
