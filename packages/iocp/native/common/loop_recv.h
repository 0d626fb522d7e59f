// Promise receives on the JS thread's own event loop (Linux:
// linux/loop_recv.cc): exports loopRecvInit, loopRecvOpen, loopRecv,
// loopRecvCancel and loopRecvClose.
#pragma once

#include <napi.h>

namespace overlapped {

void ExportLoopRecvCalls(Napi::Env env, Napi::Object exports);

}  // namespace overlapped
