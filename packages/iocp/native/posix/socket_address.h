// Numeric host + port to a sockaddr, shared by the socket setup, the
// io_uring connect and the reactor's connect. Never allocates.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace overlapped {

// Fills *storage from a numeric IPv4 or IPv6 host; returns the address
// length, or -EINVAL for a host that is not numeric.
inline int FillSocketAddress(const char* host, int port, sockaddr_storage* storage) {
  std::memset(storage, 0, sizeof *storage);
  auto* v4 = reinterpret_cast<sockaddr_in*>(storage);
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    return sizeof(sockaddr_in);
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(storage);
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    return sizeof(sockaddr_in6);
  }
  return -EINVAL;
}

}  // namespace overlapped
