// The sockets' event driver on the JS thread (Linux: linux/event_poll.cc):
// exports eventsInit, eventsOpen, eventsWrite, eventsEnd, eventsPause,
// eventsResume, eventsClose, eventsReset, eventsLend, eventsRecords,
// eventsMemoryPageOffset and eventsKind.
#pragma once

#include <napi.h>

namespace overlapped {

void ExportEventCalls(Napi::Env env, Napi::Object exports);

}  // namespace overlapped
