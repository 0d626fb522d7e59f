#include "wake_function.h"

namespace overlapped {

namespace {

// Runs on the JS thread for each queued call. It never throws and builds no
// error: a terminating environment answers napi_pending_exception (or
// napi_cannot_run_js) without running anything, and an exception the
// callback itself throws stays pending, for Node to report as uncaught
// once this returns. Neither is for this function to handle.
void CallWake(napi_env env, napi_value callback, void*, void*) {
  // Both are null when the function is finalized with calls still queued.
  if (env == nullptr || callback == nullptr) return;
  napi_value receiver;
  if (napi_get_undefined(env, &receiver) != napi_ok) return;
  napi_call_function(env, receiver, callback, 0, nullptr, nullptr);
}

}  // namespace

napi_status WakeFunction::Create(napi_env env, napi_value callback) {
  napi_value name;
  napi_status status = napi_create_string_utf8(env, "overlapped.port", NAPI_AUTO_LENGTH, &name);
  if (status != napi_ok) return status;
  status = napi_create_threadsafe_function(env, callback, nullptr, name, 0, 1, nullptr, nullptr, nullptr,
                                           CallWake, &function_);
  if (status != napi_ok) {
    function_ = nullptr;
    return status;
  }
  return napi_unref_threadsafe_function(env, function_);
}

void WakeFunction::Call() const {
  if (function_ != nullptr) napi_call_threadsafe_function(function_, nullptr, napi_tsfn_nonblocking);
}

void WakeFunction::Ref(napi_env env) const {
  if (function_ != nullptr) napi_ref_threadsafe_function(env, function_);
}

void WakeFunction::Unref(napi_env env) const {
  if (function_ != nullptr) napi_unref_threadsafe_function(env, function_);
}

void WakeFunction::Release() {
  if (function_ == nullptr) return;
  napi_release_threadsafe_function(function_, napi_tsfn_release);
  function_ = nullptr;
}

}  // namespace overlapped
