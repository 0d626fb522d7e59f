#include "uv_shim.h"

#include <dlfcn.h>
#include <fcntl.h>

#include <cerrno>
#include <cstdlib>

namespace overlapped {
namespace uv {

namespace {

template <typename F>
bool Find(const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
  return *out != nullptr;
}

Api Load(bool* ok) {
  Api api{};
  *ok = Find("uv_handle_size", &api.handle_size) && Find("uv_poll_init", &api.poll_init) &&
        Find("uv_poll_start", &api.poll_start) && Find("uv_poll_stop", &api.poll_stop) &&
        Find("uv_check_init", &api.check_init) && Find("uv_check_start", &api.check_start) &&
        Find("uv_close", &api.close) && Find("uv_ref", &api.ref) && Find("uv_unref", &api.unref);
  return api;
}

}  // namespace

const Api* Resolve() {
  static bool ok = false;
  static const Api api = Load(&ok);
  return ok ? &api : nullptr;
}

int NewSocketPoll(const Api& uv, void* loop, int fd, void** poll) {
  *poll = nullptr;
  void* handle = calloc(1, uv.handle_size(kPollType));
  if (handle == nullptr) return -ENOMEM;
  const int flags = fcntl(fd, F_GETFL);
  const int result = uv.poll_init(loop, handle, fd);
  if (result != 0) {
    free(handle);
    return result;
  }
  if (flags >= 0 && (flags & O_NONBLOCK) == 0) fcntl(fd, F_SETFL, flags);
  *poll = handle;
  return 0;
}

}  // namespace uv
}  // namespace overlapped
