// Errors thrown on the JS thread by the native layer. Argument errors are
// thrown by TypeScript before anything reaches native code; these cover the
// few states only native code can see.
#pragma once

#include <napi.h>

#include <string>

#include "backend.h"

namespace overlapped {

Napi::Error ArgumentTypeError(Napi::Env env, const std::string& message);
Napi::Error StateError(Napi::Env env, const char* code, const std::string& message);
// code ERR_BACKEND_UNAVAILABLE, with `backend`, `reason` (the errno-style
// code name), `errno` and a message saying why.
Napi::Error BackendUnavailable(Napi::Env env, const std::string& backend, const BackendError& error);

}  // namespace overlapped
