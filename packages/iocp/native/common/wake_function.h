// The thread-safe function through which worker threads wake a port's JS
// thread. It is written on plain Node-API rather than on
// Napi::ThreadSafeFunction, whose call-js turns a failed call into a C++
// exception: while a worker_threads environment is being torn down
// (terminate()) nothing can run JS, so that exception cannot become a JS
// one and the whole process ends in std::terminate. (The same can happen to
// any Napi call made from JS while the environment terminates under it; the
// build defines NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS, with which
// node-addon-api drops an exception that cannot be thrown any more instead.)
#pragma once

#include <node_api.h>

namespace overlapped {

class WakeFunction {
 public:
  // On `env`'s JS thread: wraps `callback` (called with no arguments),
  // unreferenced, so that an idle port never keeps the event loop alive.
  napi_status Create(napi_env env, napi_value callback);
  // Any thread: queues one call. A no-op once Release ran or while the
  // environment is closing (Node-API then answers napi_closing).
  void Call() const;
  // On the JS thread: whether the pending call keeps the event loop alive.
  void Ref(napi_env env) const;
  void Unref(napi_env env) const;
  // On the JS thread, once no thread can Call any more. Idempotent.
  void Release();

 private:
  napi_threadsafe_function function_ = nullptr;
};

}  // namespace overlapped
