#include "errors.h"

namespace overlapped {

Napi::Error ArgumentTypeError(Napi::Env env, const std::string& message) {
  Napi::TypeError error = Napi::TypeError::New(env, message);
  error.Set("code", "ERR_INVALID_ARG_TYPE");
  return error;
}

Napi::Error StateError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", code);
  return error;
}

Napi::Error BackendUnavailable(Napi::Env env, const std::string& backend, const BackendError& why) {
  std::string message = "The " + backend + " backend cannot run here: " + why.message;
  if (!why.code.empty()) message += " (" + why.code + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", "ERR_BACKEND_UNAVAILABLE");
  error.Set("backend", backend);
  error.Set("reason", why.code);
  error.Set("errno", Napi::Number::New(env, why.errnum));
  return error;
}

}  // namespace overlapped
