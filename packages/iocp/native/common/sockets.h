// Exports the synchronous socket calls (socketOpen, socketBind, ...).
#pragma once

#include <napi.h>

namespace overlapped {

void ExportSocketCalls(Napi::Env env, Napi::Object exports);

}  // namespace overlapped
