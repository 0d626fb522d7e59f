// The handles the addon gave one JS environment (the main thread or a
// worker_threads worker) that are still open: files an open op returned,
// sockets from socketOpen and sockets an accept op returned. When the
// environment is torn down (terminate(), or the end of the thread) no JS is
// left to close them, so the addon does, as Node closes a worker's fs.open
// descriptors. A handle leaves the set before anything closes it (a close
// op is submitted, socketClose is called), so the teardown never
// closes a number the kernel may have reused for someone else.
//
// JS-thread only: every caller runs on the environment's own thread.
#pragma once

#include <napi.h>

#include <cstdint>
#include <unordered_map>

#include "backend.h"
#include "handle_close.h"

namespace overlapped {

class EnvHandles {
 public:
  // Made once per environment at module load. Its cleanup hook is
  // registered before any port's, so it runs after every port of the
  // environment has stopped (Node runs cleanup hooks in reverse order):
  // no op uses a handle any more when it closes them.
  static void Install(Napi::Env env);
  // The environment's set (never null after Install).
  static EnvHandles* Of(napi_env env);

  void Opened(int64_t handle, HandleKind kind) { open_[handle] = kind; }
  // `handle` is about to be closed by its owner: it is no longer ours.
  void Closing(int64_t handle) { open_.erase(handle); }
  // The handle an op of `kind` returns on success (open, accept), if any.
  static bool ReturnsHandle(OpKind kind, HandleKind* which);
  // Whether an op of `kind` closes its `handle` (a close).
  static bool ClosesHandle(OpKind kind, HandleKind* which);

  size_t size() const { return open_.size(); }

 private:
  static void CloseAll(void* self);
  std::unordered_map<int64_t, HandleKind> open_;
};

}  // namespace overlapped
