#include "../common/socket_setup.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "socket_address.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

namespace overlapped {

namespace {

int Fail(uint32_t* raw) {
  const int errnum = errno;
  if (raw != nullptr) *raw = static_cast<uint32_t>(errnum);
  return -errnum;
}

}  // namespace

int64_t SocketOpen(int family, uint32_t* raw) {
  const int domain = family == 6 ? AF_INET6 : AF_INET;
  const int fd = socket(domain, SOCK_STREAM, 0);
  if (fd < 0) return Fail(raw);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

int SocketBind(int64_t socket, const std::string& host, int port, int backlog, uint32_t* raw) {
  const int fd = static_cast<int>(socket);
  sockaddr_storage address;
  const int length = FillSocketAddress(host.c_str(), port, &address);
  if (length < 0) {
    if (raw != nullptr) *raw = EINVAL;
    return length;
  }
  if (backlog >= 0) {
    // As Node's net does on POSIX: a listener may reuse a port whose old
    // connections linger in TIME_WAIT; a live listener still gets EADDRINUSE.
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), static_cast<socklen_t>(length)) != 0) {
    return Fail(raw);
  }
  if (backlog >= 0 && listen(fd, backlog) != 0) return Fail(raw);
  return 0;
}

int SocketName(int64_t socket, bool peer, std::string* address, int* port, uint32_t* raw) {
  sockaddr_storage storage;
  socklen_t length = sizeof storage;
  const int fd = static_cast<int>(socket);
  const int got = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length)
                       : getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  if (got != 0) return Fail(raw);
  char text[INET6_ADDRSTRLEN] = {0};
  if (storage.ss_family == AF_INET6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    *port = ntohs(v6->sin6_port);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    *port = ntohs(v4->sin_port);
  }
  *address = text;
  return 0;
}

int SocketSetOption(int64_t socket, int option, int value, uint32_t* raw) {
  const int fd = static_cast<int>(socket);
  int result = 0;
  if (option == socket_option::kNoDelay) {
    const int on = value != 0 ? 1 : 0;
    result = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  } else if (option == socket_option::kLingerZero) {
    linger hard{1, 0};
    result = setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  } else {
    errno = EINVAL;
    result = -1;
  }
  return result == 0 ? 0 : Fail(raw);
}

int64_t SocketTrySend(int64_t socket, const uint8_t* data, size_t length) {
  for (;;) {
    const ssize_t sent = send(static_cast<int>(socket), data, length, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent >= 0) return sent;
    if (errno != EINTR) return -errno;
  }
}

int64_t SocketTrySendFile(int64_t socket, int64_t file, int64_t position, size_t length, const uint8_t* head,
                          size_t head_length, size_t* file_read) {
  // The JS thread's own bounce memory: a small file costs a copy from the
  // page cache and one sendmsg, with no op and no completion.
  static thread_local uint8_t bounce[kTrySendFileBytes];
  *file_read = 0;
  const size_t want = length < sizeof bounce ? length : sizeof bounce;
  ssize_t got = 0;
  while (want > 0) {
    got = pread(static_cast<int>(file), bounce, want, static_cast<off_t>(position));
    if (got >= 0) break;
    if (errno != EINTR) return -errno;
  }
  *file_read = static_cast<size_t>(got);
  iovec parts[2] = {{const_cast<uint8_t*>(head), head_length}, {bounce, static_cast<size_t>(got)}};
  msghdr message{};
  message.msg_iov = head_length > 0 ? parts : parts + 1;
  message.msg_iovlen = head_length > 0 ? 2 : 1;
  for (;;) {
    const ssize_t sent = sendmsg(static_cast<int>(socket), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent >= 0) return sent;
    if (errno != EINTR) return -errno;
  }
}

void SocketPushCorked(int64_t socket) {
#if defined(TCP_CORK)
  int on = 1;
  setsockopt(static_cast<int>(socket), IPPROTO_TCP, TCP_CORK, &on, sizeof on);
  on = 0;
  setsockopt(static_cast<int>(socket), IPPROTO_TCP, TCP_CORK, &on, sizeof on);
#else
  (void)socket;
#endif
}

int SocketCloseNow(int64_t socket, uint32_t* raw) {
  return close(static_cast<int>(socket)) == 0 ? 0 : Fail(raw);
}

}  // namespace overlapped
