// The Linux readiness source of the socket reactor: one epoll instance.
// Every socket is registered once (EPOLL_CTL_ADD the first time, then
// EPOLL_CTL_MOD) with EPOLLONESHOT, so a thread that submits a recv or send
// arms its socket directly with epoll_ctl: the waiting reactor thread sees
// it without a wake-up, and the cost of a wait does not grow with the
// number of sockets.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "../posix/readiness.h"

namespace overlapped {

namespace {

class EpollReadiness final : public Readiness {
 public:
  ~EpollReadiness() override {
    if (wake_fd_ >= 0) close(wake_fd_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
  }

  int Open() override {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return errno;
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) return errno;
    // The wake-up stays registered level-triggered: it reports until Wait
    // reads the counter back to zero.
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = wake_fd_;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event) != 0) return errno;
    return 0;
  }

  // Level-triggered one-shot: if the socket is ready already, the next
  // epoll_wait reports it at once, so no readiness is lost between the
  // reactor's last try and this arm.
  int Arm(int fd, uint32_t events) override { return Register(fd, EPOLLONESHOT | EpollEvents(events)); }

  bool ArmWakesWaiter() const override { return true; }

  // Level-triggered and kept: a socket with data left is reported again by
  // the next wait, as a one-shot arm that was ready would be.
  int Watch(int fd, uint32_t events) override { return Register(fd, EpollEvents(events)); }

  void Forget(int fd) override { epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

  void Wait(std::vector<ReadyFd>* ready) override {
    ready->clear();
    epoll_event events[256];
    const int count = epoll_wait(epoll_fd_, events, 256, -1);
    for (int index = 0; index < count; ++index) {
      const epoll_event& event = events[index];
      if (event.data.fd == wake_fd_) {
        uint64_t drained;
        (void)!read(wake_fd_, &drained, sizeof drained);
        continue;
      }
      uint32_t what = 0;
      if ((event.events & (EPOLLERR | EPOLLHUP)) != 0) what = kReadable | kWritable;
      if ((event.events & EPOLLIN) != 0) what |= kReadable;
      if ((event.events & EPOLLOUT) != 0) what |= kWritable;
      ready->push_back(ReadyFd{event.data.fd, what});
    }
  }

  void Wake() override {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }

 private:
  static uint32_t EpollEvents(uint32_t events) {
    return ((events & kReadable) != 0 ? EPOLLIN : 0u) | ((events & kWritable) != 0 ? EPOLLOUT : 0u);
  }

  // Sets what `fd` is registered for, adding it the first time.
  int Register(int fd, uint32_t epoll_events) {
    epoll_event event{};
    event.events = epoll_events;
    event.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) == 0) return 0;
    if (errno != ENOENT) return errno;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) == 0) return 0;
    // Another thread added it in between: modify what it added.
    if (errno == EEXIST && epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) == 0) return 0;
    return errno;
  }

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
};

}  // namespace

std::unique_ptr<Readiness> CreateReadiness() { return std::make_unique<EpollReadiness>(); }

}  // namespace overlapped
