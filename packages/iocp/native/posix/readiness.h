// How the socket reactor waits for sockets to become ready. Each build
// compiles one implementation: epoll on Linux (native/linux/
// epoll_readiness.cc) and poll() elsewhere (native/posix/poll_readiness.cc,
// which Linux builds leave out). Both behave as one-shot interests: a fd
// armed for some events is reported at most once and then stays quiet
// until it is armed again, so the reactor never sees a fd whose ops it has
// already taken care of.
// epoll can also watch a fd for good (Watch), level-triggered, which the
// reactor uses for an echo's socket (a forward to itself): only the
// reactor thread uses that socket, so it needs no arm before each wait.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace overlapped {

constexpr uint32_t kReadable = 1;
constexpr uint32_t kWritable = 2;

struct ReadyFd {
  int fd;
  uint32_t events;  // kReadable / kWritable; errors and hang-ups set both
};

class Readiness {
 public:
  virtual ~Readiness() = default;
  // Creates the kernel objects. Returns 0 or an errno.
  virtual int Open() = 0;
  // Asks for one report when `fd` is ready for `events`. Thread-safe; any
  // thread may arm while another waits. Returns 0 or an errno (the fd
  // cannot be watched, e.g. it is closed).
  virtual int Arm(int fd, uint32_t events) = 0;
  // True when a thread blocked in Wait sees a new Arm by itself; false when
  // the arming thread must call Wake for it to count.
  virtual bool ArmWakesWaiter() const = 0;
  // Reports `fd` in every Wait while it is ready for `events` (level-
  // triggered, no Arm needed), until the next Watch changes the events or
  // Forget drops it. Only the reactor thread calls it. Returns 0, or
  // ENOTSUP where the source cannot (poll), or an errno.
  virtual int Watch(int fd, uint32_t events) = 0;
  // Drops `fd` before it is closed, so that no report outlives it.
  virtual void Forget(int fd) = 0;
  // Blocks until some armed or watched fds are ready or
  // Wake is called, and replaces `ready` with the fds that are (none after
  // a bare wake-up). Only one thread waits.
  virtual void Wait(std::vector<ReadyFd>* ready) = 0;
  // Makes the current or next Wait return. Thread-safe.
  virtual void Wake() = 0;
};

// Defined by the build's one implementation.
std::unique_ptr<Readiness> CreateReadiness();

}  // namespace overlapped
