// The portable readiness source of the socket reactor: poll() over the
// armed fds, rebuilt on each wait. Linux builds use epoll instead
// (native/linux/epoll_readiness.cc) and leave this file out. A poll() in
// progress does not see fds armed after it started, so arming asks the
// caller to wake the waiter through a pipe.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <unordered_map>

#include "readiness.h"

namespace overlapped {

namespace {

class PollReadiness final : public Readiness {
 public:
  ~PollReadiness() override {
    if (wake_read_ >= 0) close(wake_read_);
    if (wake_write_ >= 0) close(wake_write_);
  }

  int Open() override {
    int pipe_ends[2];
    if (pipe(pipe_ends) != 0) return errno;
    wake_read_ = pipe_ends[0];
    wake_write_ = pipe_ends[1];
    fcntl(wake_read_, F_SETFL, O_NONBLOCK);
    fcntl(wake_write_, F_SETFL, O_NONBLOCK);
    fcntl(wake_read_, F_SETFD, FD_CLOEXEC);
    fcntl(wake_write_, F_SETFD, FD_CLOEXEC);
    return 0;
  }

  int Arm(int fd, uint32_t events) override {
    std::lock_guard<std::mutex> lock(mutex_);
    armed_[fd] = events;
    return 0;
  }

  bool ArmWakesWaiter() const override { return false; }

  int Watch(int, uint32_t) override { return ENOTSUP; }

  void Forget(int fd) override {
    std::lock_guard<std::mutex> lock(mutex_);
    armed_.erase(fd);
  }

  void Wait(std::vector<ReadyFd>* ready) override {
    ready->clear();
    fds_.clear();
    fds_.push_back(pollfd{wake_read_, POLLIN, 0});
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& [fd, events] : armed_) {
        const short wanted = static_cast<short>(((events & kReadable) != 0 ? POLLIN : 0) |
                                                ((events & kWritable) != 0 ? POLLOUT : 0));
        if (wanted != 0) fds_.push_back(pollfd{fd, wanted, 0});
      }
    }
    if (poll(fds_.data(), fds_.size(), -1) <= 0) return;  // EINTR: look again
    if (fds_[0].revents != 0) {
      char drain[64];
      while (read(wake_read_, drain, sizeof drain) > 0) {
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t index = 1; index < fds_.size(); ++index) {
      const short revents = fds_[index].revents;
      if (revents == 0) continue;
      uint32_t what = 0;
      if ((revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) what = kReadable | kWritable;
      if ((revents & POLLIN) != 0) what |= kReadable;
      if ((revents & POLLOUT) != 0) what |= kWritable;
      // One-shot, as with epoll: the reactor arms it again if ops still
      // wait. An arm made since the poll started is dropped too, but the
      // reactor looks at the fd's ops after this and arms for them.
      armed_.erase(fds_[index].fd);
      ready->push_back(ReadyFd{fds_[index].fd, what});
    }
  }

  void Wake() override {
    const char byte = 1;
    // A full pipe already means a wake-up is pending.
    (void)!write(wake_write_, &byte, 1);
  }

 private:
  std::mutex mutex_;  // guards armed_
  std::unordered_map<int, uint32_t> armed_;
  std::vector<pollfd> fds_;  // the waiting thread's alone
  int wake_read_ = -1;
  int wake_write_ = -1;
};

}  // namespace

std::unique_ptr<Readiness> CreateReadiness() { return std::make_unique<PollReadiness>(); }

}  // namespace overlapped
