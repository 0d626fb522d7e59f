// Synchronous socket setup on Windows (see common/socket_setup.h). Sockets
// are overlapped (WSA_FLAG_OVERLAPPED) so that the iocp backend can run
// ops on them once they are associated with the port.
#include "../common/socket_setup.h"

#include <ws2tcpip.h>

#include <mutex>

#include "errors.h"
#include "windows_headers.h"

namespace overlapped {

namespace {

// Winsock must be started once per process before any socket call; Node
// has usually done it already, and WSAStartup counts, so this is harmless.
void EnsureWinsock() {
  static std::once_flag once;
  std::call_once(once, [] {
    WSADATA data;
    WSAStartup(MAKEWORD(2, 2), &data);
  });
}

int FailWsa(uint32_t* raw) {
  const DWORD code = static_cast<DWORD>(WSAGetLastError());
  if (raw != nullptr) *raw = code;
  return Win32ToErrno(code);
}

int FillAddress(const std::string& host, int port, sockaddr_storage* storage) {
  ZeroMemory(storage, sizeof *storage);
  auto* v4 = reinterpret_cast<sockaddr_in*>(storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<u_short>(port));
    return sizeof(sockaddr_in);
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(storage);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<u_short>(port));
    return sizeof(sockaddr_in6);
  }
  return -1;
}

}  // namespace

int64_t SocketOpen(int family, uint32_t* raw) {
  EnsureWinsock();
  const SOCKET s = WSASocketW(family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                              WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET) return FailWsa(raw);
  return static_cast<int64_t>(s);
}

int SocketBind(int64_t socket, const std::string& host, int port, int backlog, uint32_t* raw) {
  const SOCKET s = static_cast<SOCKET>(socket);
  sockaddr_storage address;
  const int length = FillAddress(host, port, &address);
  if (length < 0) {
    if (raw != nullptr) *raw = WSAEINVAL;
    return Win32ToErrno(WSAEINVAL);
  }
  if (backlog >= 0) {
    // As libuv does: no other socket may steal the port while we hold it.
    BOOL on = TRUE;
    setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<const char*>(&on), sizeof on);
  }
  if (bind(s, reinterpret_cast<sockaddr*>(&address), length) != 0) return FailWsa(raw);
  if (backlog >= 0 && listen(s, backlog) != 0) return FailWsa(raw);
  return 0;
}

int SocketName(int64_t socket, bool peer, std::string* address, int* port, uint32_t* raw) {
  sockaddr_storage storage;
  int length = sizeof storage;
  const SOCKET s = static_cast<SOCKET>(socket);
  const int got = peer ? getpeername(s, reinterpret_cast<sockaddr*>(&storage), &length)
                       : getsockname(s, reinterpret_cast<sockaddr*>(&storage), &length);
  if (got != 0) return FailWsa(raw);
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
  const SOCKET s = static_cast<SOCKET>(socket);
  int result = SOCKET_ERROR;
  if (option == socket_option::kNoDelay) {
    BOOL on = value != 0 ? TRUE : FALSE;
    result = setsockopt(s, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&on), sizeof on);
  } else if (option == socket_option::kLingerZero) {
    linger hard{1, 0};
    result = setsockopt(s, SOL_SOCKET, SO_LINGER, reinterpret_cast<const char*>(&hard), sizeof hard);
  } else {
    WSASetLastError(WSAEINVAL);
  }
  return result == 0 ? 0 : FailWsa(raw);
}

int64_t SocketTrySend(int64_t, const uint8_t*, size_t) { return Win32ToErrno(WSAEWOULDBLOCK); }

void SocketPushCorked(int64_t) {}

int64_t SocketTrySendFile(int64_t, int64_t, int64_t, size_t, const uint8_t*, size_t, size_t* file_read) {
  *file_read = 0;
  return Win32ToErrno(WSAEWOULDBLOCK);
}

int SocketCloseNow(int64_t socket, uint32_t* raw) {
  return closesocket(static_cast<SOCKET>(socket)) == 0 ? 0 : FailWsa(raw);
}

}  // namespace overlapped
