#include "socket_reactor.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "../common/socket_stats.h"
#include "socket_address.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

namespace overlapped {

namespace {

// What an op waits for between tries, and its progress, in the op's
// scratch space. Only the reactor thread touches it.
struct ReactorState {
  short events;       // POLLIN / POLLOUT the op waits for; 0 = try now
  uint8_t stage;      // connect: 1 once started; echo: 0 recv, 1 send
  uint8_t unused;
  uint64_t done;      // send: bytes sent; echo: bytes of the round sent
  uint64_t pending;   // echo: bytes received in the round
};
static_assert(sizeof(ReactorState) <= sizeof(Op::backend_storage), "ReactorState must fit");

ReactorState* StateOf(Op* op) { return reinterpret_cast<ReactorState*>(op->backend_storage); }

bool WouldBlock(int errnum) { return errnum == EAGAIN || errnum == EWOULDBLOCK; }

void SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK) == 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

void EndEcho(Op* op, int64_t result) {
  close(static_cast<int>(op->handle));
  op->result = result;
}

// At most this many echo rounds per readiness, so that one busy connection
// does not starve the others on the reactor.
constexpr int kEchoRoundsPerTurn = 16;

// Tries `op` once more. Returns true when it is finished (op->result set),
// false when it waits for state->events.
bool TryOp(Op* op) {
  ReactorState* state = StateOf(op);
  const int fd = static_cast<int>(op->handle);
  switch (op->kind) {
    case OpKind::kSocketAccept: {
      SetNonBlocking(fd);
      const int accepted = accept(fd, nullptr, nullptr);
      if (accepted >= 0) {
        fcntl(accepted, F_SETFD, FD_CLOEXEC);
        SetNonBlocking(accepted);
        op->result = accepted;
        return true;
      }
      // A connection reset before it was accepted is not the listener's
      // failure: wait for the next one.
      if (WouldBlock(errno) || errno == ECONNABORTED || errno == EINTR) {
        state->events = POLLIN;
        return false;
      }
      op->result = -errno;
      return true;
    }
    case OpKind::kSocketConnect: {
      if (state->stage == 0) {
        state->stage = 1;
        sockaddr_storage address;
        const int length = FillSocketAddress(op->path.c_str(), static_cast<int>(op->arg), &address);
        if (length < 0) {
          op->result = length;
          return true;
        }
        SetNonBlocking(fd);
        if (connect(fd, reinterpret_cast<sockaddr*>(&address), static_cast<socklen_t>(length)) == 0) {
          op->result = 0;
          return true;
        }
        if (errno == EINPROGRESS || errno == EINTR) {
          state->events = POLLOUT;
          return false;
        }
        op->result = -errno;
        return true;
      }
      int error = 0;
      socklen_t length = sizeof error;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
      op->result = -error;
      return true;
    }
    case OpKind::kSocketRecv: {
      if (op->buffers.empty()) {
        op->result = -EINVAL;
        return true;
      }
      const ssize_t got = recv(fd, op->buffers[0].data, op->buffers[0].length, MSG_DONTWAIT);
      if (got >= 0) {
        op->result = got;
        return true;
      }
      if (WouldBlock(errno) || errno == EINTR) {
        state->events = POLLIN;
        return false;
      }
      op->result = -errno;
      return true;
    }
    case OpKind::kSocketSend: {
      if (op->buffers.empty()) {
        op->result = -EINVAL;
        return true;
      }
      const OpBuffer& buffer = op->buffers[0];
      while (state->done < buffer.length) {
        const ssize_t sent = send(fd, buffer.data + state->done, buffer.length - state->done,
                                  MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent >= 0) {
          state->done += static_cast<uint64_t>(sent);
          continue;
        }
        if (errno == EINTR) continue;
        if (WouldBlock(errno)) {
          state->events = POLLOUT;
          return false;
        }
        op->result = -errno;
        return true;
      }
      op->result = static_cast<int64_t>(state->done);
      return true;
    }
    case OpKind::kSocketShutdown: {
      const int how = op->arg == 0 ? SHUT_RD : op->arg == 1 ? SHUT_WR : SHUT_RDWR;
      op->result = shutdown(fd, how) == 0 ? 0 : -errno;
      return true;
    }
    case OpKind::kSocketClose:
      op->result = close(fd) == 0 ? 0 : -errno;
      return true;
    case OpKind::kSocketEcho: {
      if (op->buffers.empty() || op->buffers[0].length == 0) {
        EndEcho(op, -EINVAL);
        return true;
      }
      const OpBuffer& buffer = op->buffers[0];
      for (int round = 0; round < kEchoRoundsPerTurn; ++round) {
        if (state->stage == 0) {
          const ssize_t got = recv(fd, buffer.data, buffer.length, MSG_DONTWAIT);
          if (got == 0) {
            // Everything the peer sent is echoed: shut down our side and
            // close, since both directions are done.
            shutdown(fd, SHUT_WR);
            EndEcho(op, 0);
            return true;
          }
          if (got < 0) {
            if (errno == EINTR) continue;
            if (WouldBlock(errno)) {
              state->events = POLLIN;
              return false;
            }
            EndEcho(op, -errno);
            return true;
          }
          AddEchoStat(op, 0, got);
          state->pending = static_cast<uint64_t>(got);
          state->done = 0;
          state->stage = 1;
        }
        while (state->done < state->pending) {
          const ssize_t sent = send(fd, buffer.data + state->done, state->pending - state->done,
                                    MSG_DONTWAIT | MSG_NOSIGNAL);
          if (sent < 0) {
            if (errno == EINTR) continue;
            if (WouldBlock(errno)) {
              // A peer that does not read stalls only this connection: we
              // stop receiving from it until it drains what we echoed.
              state->events = POLLOUT;
              return false;
            }
            EndEcho(op, -errno);
            return true;
          }
          AddEchoStat(op, 1, sent);
          state->done += static_cast<uint64_t>(sent);
        }
        state->stage = 0;
      }
      // Busy: give the others a turn, and come back at once.
      state->events = POLLIN;
      return false;
    }
    default:
      op->result = -ENOSYS;
      return true;
  }
}

// Ends an op that will not be tried again.
void EndCancelled(Op* op) {
  if (op->kind == OpKind::kSocketEcho) {
    EndEcho(op, -ECANCELED);
  } else {
    op->result = -ECANCELED;
  }
}

}  // namespace

SocketReactor::~SocketReactor() { Stop(); }

void SocketReactor::Submit(Op* op, CompletionSink* sink) {
  std::memset(StateOf(op), 0, sizeof(ReactorState));
  int error = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
      error = ECANCELED;
    } else {
      if (!started_) {
        sink_ = sink;
        int pipe_ends[2];
        if (pipe(pipe_ends) != 0) {
          error = errno;
        } else {
          wake_read_ = pipe_ends[0];
          wake_write_ = pipe_ends[1];
          fcntl(wake_read_, F_SETFL, O_NONBLOCK);
          fcntl(wake_write_, F_SETFL, O_NONBLOCK);
          fcntl(wake_read_, F_SETFD, FD_CLOEXEC);
          fcntl(wake_write_, F_SETFD, FD_CLOEXEC);
          error = thread_.Start(&RunEntry, this);
          if (error != 0) {
            close(wake_read_);
            close(wake_write_);
            wake_read_ = wake_write_ = -1;
          } else {
            started_ = true;
          }
        }
      }
      if (error == 0) incoming_.push_back(op);
    }
  }
  if (error != 0) {
    if (op->kind == OpKind::kSocketEcho) close(static_cast<int>(op->handle));
    op->result = -error;
    sink->EnterRun();
    sink->CompleteOp(op);
    sink->LeaveRun();
    return;
  }
  Wake();
}

void SocketReactor::Cancel(Op*) { Wake(); }

void SocketReactor::Wake() {
  const char byte = 1;
  // A full pipe already means a wake-up is pending.
  if (wake_write_ >= 0) (void)!write(wake_write_, &byte, 1);
}

void SocketReactor::RunEntry(void* self) noexcept { static_cast<SocketReactor*>(self)->Run(); }

void SocketReactor::Run() noexcept {
  pthread_setname_np(pthread_self(), "socket-reactor");
  std::vector<Op*> waiting;
  std::vector<Op*> taken;
  std::vector<Op*> finished;
  std::vector<pollfd> fds;
  for (;;) {
    bool stopping = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      taken.swap(incoming_);
      stopping = stopping_;
    }
    // New ops are tried at once, in submission order: a close queued after
    // a recv on the same socket runs after it.
    for (Op* op : taken) {
      if (op->kind == OpKind::kSocketClose) {
        // Ops still waiting on this socket end before it is closed, so no
        // wait outlives its socket (or sees the number reused).
        for (Op*& other : waiting) {
          if (other != nullptr && other->handle == op->handle) {
            EndCancelled(other);
            finished.push_back(other);
            other = nullptr;
          }
        }
      }
      if (TryOp(op)) {
        finished.push_back(op);
      } else {
        waiting.push_back(op);
      }
    }
    taken.clear();
    for (Op*& op : waiting) {
      if (op != nullptr && (stopping || op->cancel_requested.load(std::memory_order_acquire))) {
        EndCancelled(op);
        finished.push_back(op);
        op = nullptr;
      }
    }
    size_t kept = 0;
    for (Op* op : waiting) {
      if (op != nullptr) waiting[kept++] = op;
    }
    waiting.resize(kept);
    if (!finished.empty()) {
      sink_->EnterRun();
      for (Op* op : finished) sink_->CompleteOp(op);
      sink_->LeaveRun();
      finished.clear();
    }
    if (stopping) return;
    fds.resize(waiting.size() + 1);
    fds[0] = pollfd{wake_read_, POLLIN, 0};
    for (size_t i = 0; i < waiting.size(); ++i) {
      fds[i + 1] = pollfd{static_cast<int>(waiting[i]->handle), StateOf(waiting[i])->events, 0};
    }
    const int ready = poll(fds.data(), fds.size(), -1);
    if (ready < 0) continue;  // EINTR: look again
    if (fds[0].revents != 0) {
      char drain[64];
      while (read(wake_read_, drain, sizeof drain) > 0) {
      }
    }
    kept = 0;
    for (size_t i = 0; i < waiting.size(); ++i) {
      Op* op = waiting[i];
      // Errors and hang-ups count as ready: the syscall then reports them.
      if (fds[i + 1].revents != 0 && TryOp(op)) {
        finished.push_back(op);
      } else {
        waiting[kept++] = op;
      }
    }
    waiting.resize(kept);
  }
}

void SocketReactor::Stop() {
  bool join = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    join = started_;
  }
  if (!join) return;
  Wake();
  thread_.Join();
  // Ops submitted while the thread was leaving were never tried.
  std::vector<Op*> late;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    late.swap(incoming_);
  }
  for (Op* op : late) {
    EndCancelled(op);
    sink_->EnterRun();
    sink_->CompleteOp(op);
    sink_->LeaveRun();
  }
  close(wake_read_);
  close(wake_write_);
  wake_read_ = wake_write_ = -1;
}

}  // namespace overlapped
