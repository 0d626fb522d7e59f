// The few libuv 1.x calls the event driver makes on the JS thread's event
// loop (napi_get_uv_event_loop). uv.h is not included: prebuilds are built
// against a sysroot without Node's headers, and a build from source has
// node-api-headers alone. The functions are looked up at load in the
// process (the node binary exports libuv); a process without them (a
// runtime that embeds Node-API without libuv) gets no event driver, and
// the sockets' event API runs on the generic driver instead.
//
// What is relied on is libuv 1.x's stable ABI: uv_handle_type's UV_CHECK
// is 2 and UV_POLL 8, UV_READABLE 1 and UV_WRITABLE 2, a handle's `data` is
// its first field, and a handle's size comes from uv_handle_size.
#pragma once

#include <cstddef>

namespace overlapped {
namespace uv {

using PollCallback = void (*)(void* handle, int status, int events);
using CheckCallback = void (*)(void* handle);
using CloseCallback = void (*)(void* handle);

constexpr int kCheckType = 2;  // UV_CHECK
constexpr int kPollType = 8;   // UV_POLL
constexpr int kReadable = 1;   // UV_READABLE
constexpr int kWritable = 2;   // UV_WRITABLE

struct Api {
  size_t (*handle_size)(int type);
  int (*poll_init)(void* loop, void* handle, int fd);
  int (*poll_start)(void* handle, int events, PollCallback callback);
  int (*poll_stop)(void* handle);
  int (*check_init)(void* loop, void* handle);
  int (*check_start)(void* handle, CheckCallback callback);
  void (*close)(void* handle, CloseCallback callback);
  void (*ref)(void* handle);
  void (*unref)(void* handle);
};

// The process's libuv, or null when a function is missing. Resolved once.
const Api* Resolve();

// A new uv_poll on `fd` in `loop` (calloc'ed; free it after its close):
// 0, or a negative errno with nothing made (EEXIST where the loop watches
// `fd` already). uv_poll_init makes the socket non-blocking; its mode is
// put back, because the port's ops on the socket need the mode their
// backend gave it (an io_uring splice into a non-blocking socket fails
// with EAGAIN instead of waiting for room). Calls on the JS thread say
// MSG_DONTWAIT instead.
int NewSocketPoll(const Api& uv, void* loop, int fd, void** poll);

// A handle's `data` field (its first, in every libuv 1.x).
inline void*& HandleData(void* handle) { return *static_cast<void**>(handle); }

}  // namespace uv
}  // namespace overlapped
