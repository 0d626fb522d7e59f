// Synchronous socket setup on the JS thread: creating a socket, binding,
// listening, reading its addresses and options. These calls do not block
// (a listen or a bind never waits for the network), so they need no op;
// everything that waits (accept, connect, recv, send) is an op.
// Implemented once per platform (native/posix, native/win).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "generated/op_table.h"

namespace overlapped {

// Every function returns >= 0 on success, or a negative libuv-style errno
// with the platform's own code in *raw.

// A new TCP socket of `family` (4 or 6), close-on-exec, SIGPIPE-free.
int64_t SocketOpen(int family, uint32_t* raw);
// Binds `socket` to host:port (host numeric), and listens if backlog >= 0.
int SocketBind(int64_t socket, const std::string& host, int port, int backlog, uint32_t* raw);
// The local (peer = false) or remote address and port of `socket`.
int SocketName(int64_t socket, bool peer, std::string* address, int* port, uint32_t* raw);
// Options by number: 1 TCP_NODELAY (value 0/1), 2 SO_LINGER with a zero
// timeout (a close then resets the connection).
int SocketSetOption(int64_t socket, int option, int value, uint32_t* raw);
// Sends what the kernel takes at once without waiting: bytes sent, or a
// negative errno (EAGAIN when nothing fits now). The socket package tries
// this on the JS thread before it submits a send op, when no send is in
// flight, so a send that fits in the socket buffer costs one syscall and
// no completion. Windows reports EAGAIN always (sends there are ops).
int64_t SocketTrySend(int64_t socket, const uint8_t* data, size_t length);
// The most SocketTrySendFile reads of the file (into memory of the calling
// thread, never JS memory).
constexpr size_t kTrySendFileBytes = 64 * 1024;
// A sendFile's fast path, as SocketTrySend's: reads up to `length` (at
// most kTrySendFileBytes) of `file` at `position` and sends `head` and
// those bytes in one non-blocking sendmsg. Returns the bytes sent (head
// included) or a negative errno, and sets *file_read to the bytes read
// (fewer than `length` at the end of the file). Windows reports EAGAIN.
int64_t SocketTrySendFile(int64_t socket, int64_t file, int64_t position, size_t length, const uint8_t* head,
                          size_t head_length, size_t* file_read);
// Pushes out what a send with MSG_MORE left corked (a sendfile's head
// whose file ended early): TCP_CORK on, then off. Nothing on Windows.
void SocketPushCorked(int64_t socket);
// Closes at once, on the calling thread (for sockets no op uses).
int SocketCloseNow(int64_t socket, uint32_t* raw);

}  // namespace overlapped
