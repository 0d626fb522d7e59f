#include "socket_reactor.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>

#include "../common/sendfile_range.h"
#include "../common/socket_setup.h"
#include "../common/socket_stats.h"
#include "pool_ops.h"
#include "socket_address.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif
#ifndef MSG_MORE
#define MSG_MORE 0
#endif

#if defined(__linux__)
#include <sys/sendfile.h>
#endif

namespace overlapped {

namespace {

// What an op waits for between tries, and its progress, in the op's
// scratch space. Only the reactor thread touches it.
struct ReactorState {
  short events;       // POLLIN / POLLOUT the op waits for; 0 = try now
  uint8_t stage;      // connect: 1 once started; forward: 0 recv, 1 send
  // forward: 1 when its turn is one receive (see ServeQueueLocked)
  uint8_t one_receive;
  uint64_t done;      // send, sendfile: bytes sent; forward: bytes of the round sent
  uint64_t pending;   // forward: bytes received in the round; sendfile: bytes of the file to send
  uint64_t moved;     // forward: bytes sent to the target in all
};
static_assert(sizeof(ReactorState) <= sizeof(Op::backend_storage), "ReactorState must fit");

ReactorState* StateOf(Op* op) { return reinterpret_cast<ReactorState*>(op->backend_storage); }

bool WouldBlock(int errnum) { return errnum == EAGAIN || errnum == EWOULDBLOCK; }

void SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK) == 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// The socket a relaying op (a forward) writes to: its `arg`.
int TargetOf(const Op* op) { return static_cast<int>(OpArgs<OpKind::kSocketForward>::to(*op)); }

// A relaying op whose target is another socket waits on that one to write.
bool SpansTwoSockets(const Op* op) { return TraitsOf(op->kind).relays && TargetOf(op) != op->handle; }

void FailForward(Op* op, int64_t error, ForwardSide side) {
  SetForwardFailedSide(op, side);
  op->result = error;
}

// At most this many forward rounds per readiness, so that one busy
// connection does not starve the others on the reactor.
constexpr int kForwardRoundsPerTurn = 16;

// Each socket kind's try, registered in the threadpool backend's table of
// kinds (pool_ops.h). A try makes the op's syscall once more. It returns
// true when the op is finished (op->result set), false when it waits for
// its state's events.
bool ReactorTryAccept(Op* op) {
  ReactorState* state = StateOf(op);
  const int fd = static_cast<int>(op->handle);
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

bool ReactorTryConnect(Op* op) {
  ReactorState* state = StateOf(op);
  const int fd = static_cast<int>(op->handle);
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

bool ReactorTryRecv(Op* op) {
  ReactorState* state = StateOf(op);
  const int fd = static_cast<int>(op->handle);
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

// How far SendFromDone got: all of it out, the socket full (the op waits
// for POLLOUT), or an error (the op's result).
enum class Sent { kAll, kWait, kFailed };

// Sends data[state->done, length) (a send's buffer, a sendfile's head),
// keeping the op's progress.
Sent SendFromDone(Op* op, ReactorState* state, const uint8_t* data, uint64_t length, int flags) {
  const int fd = static_cast<int>(op->handle);
  while (state->done < length) {
    const ssize_t sent = send(fd, data + state->done, length - state->done, MSG_DONTWAIT | MSG_NOSIGNAL | flags);
    if (sent >= 0) {
      state->done += static_cast<uint64_t>(sent);
      SetSendProgress(op, state->done);
      continue;
    }
    if (errno == EINTR) continue;
    if (WouldBlock(errno)) {
      state->events = POLLOUT;
      return Sent::kWait;
    }
    op->result = -errno;
    return Sent::kFailed;
  }
  return Sent::kAll;
}

bool ReactorTrySend(Op* op) {
  ReactorState* state = StateOf(op);
  if (op->buffers.empty()) {
    op->result = -EINVAL;
    return true;
  }
  const Sent sent = SendFromDone(op, state, op->buffers[0].data, op->buffers[0].length, 0);
  if (sent != Sent::kAll) return sent == Sent::kFailed;
  op->result = static_cast<int64_t>(state->done);
  return true;
}

#if defined(__linux__)
// Sends up to `count` bytes of `file` at `offset`: the kernel hands the
// file's pages to the socket, and the bytes never leave it.
ssize_t SendFileChunk(int socket, int file, uint64_t offset, size_t count) {
  off_t at = static_cast<off_t>(offset);
  return sendfile(socket, file, &at, count);
}
#else
// Other POSIX systems: a pread into a bounce buffer and a send (the BSDs'
// and macOS's sendfile(2) take other arguments and are not used yet).
// What the send does not take is read again on the next try.
ssize_t SendFileChunk(int socket, int file, uint64_t offset, size_t count) {
  uint8_t bounce[64 * 1024];
  const ssize_t got = pread(file, bounce, count < sizeof bounce ? count : sizeof bounce, static_cast<off_t>(offset));
  if (got <= 0) return got;
  return send(socket, bounce, static_cast<size_t>(got), MSG_DONTWAIT | MSG_NOSIGNAL);
}
#endif

// The most one sendfile(2) moves (Linux caps a transfer at it).
constexpr uint64_t kSendFileChunk = 0x7ffff000;

// The head goes first, with MSG_MORE while file bytes follow, so that it
// leaves in one segment with the file's first bytes; then the file's range,
// clamped at its first try to what the file holds past `position`.
bool ReactorTrySendfile(Op* op) {
  using Args = OpArgs<OpKind::kSocketSendfile>;
  ReactorState* state = StateOf(op);
  const int fd = static_cast<int>(op->handle);
  const int file = static_cast<int>(Args::file(*op));
  const uint64_t head_length = SendfileHeadBytes(*op);
  if (state->stage == 0) {
    state->stage = 1;
    struct stat info;
    if (fstat(file, &info) != 0) {
      op->result = -errno;
      return true;
    }
    state->pending = SendfileRangeBytes(*op, static_cast<uint64_t>(info.st_size));
  }
  if (head_length > 0) {
    const Sent sent = SendFromDone(op, state, Args::head(*op)->data, head_length, state->pending > 0 ? MSG_MORE : 0);
    if (sent != Sent::kAll) return sent == Sent::kFailed;
  }
  const uint64_t end = head_length + state->pending;
  while (state->done < end) {
    const uint64_t left = end - state->done;
    const uint64_t offset = static_cast<uint64_t>(Args::position(*op)) + (state->done - head_length);
    const ssize_t sent = SendFileChunk(fd, file, offset, left < kSendFileChunk ? left : kSendFileChunk);
    if (sent > 0) {
      state->done += static_cast<uint64_t>(sent);
      SetSendProgress(op, state->done);
      continue;
    }
    if (sent == 0) {
      // The file got shorter since the first try: what it holds was sent.
      if (head_length > 0) SocketPushCorked(fd);
      break;
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

bool ReactorTryShutdown(Op* op) {
  const int fd = static_cast<int>(op->handle);
  const int64_t side = OpArgs<OpKind::kSocketShutdown>::how(*op);
  const int how = side == shutdown_how::kRead ? SHUT_RD : side == shutdown_how::kWrite ? SHUT_WR : SHUT_RDWR;
  op->result = shutdown(fd, how) == 0 ? 0 : -errno;
  return true;
}

bool ReactorTryClose(Op* op) {
  const int fd = static_cast<int>(op->handle);
  op->result = close(fd) == 0 ? 0 : -errno;
  return true;
}

// One turn of a forward: recv from the source, send all of it to the
// target, again, until a socket would block, the source ends or the turn's
// rounds are spent; an echo whose socket is watched level-triggered makes
// one round a turn.
bool ReactorTryForward(Op* op) {
  ReactorState* state = StateOf(op);
  if (op->buffers.empty() || op->buffers[0].length == 0) {
    op->result = -EINVAL;
    return true;
  }
  const int fd = static_cast<int>(op->handle);
  const int target = TargetOf(op);
  const OpBuffer& buffer = op->buffers[0];
  for (int round = 0; round < kForwardRoundsPerTurn; ++round) {
    if (state->stage == 0) {
      const ssize_t got = recv(fd, buffer.data, buffer.length, MSG_DONTWAIT);
      if (got == 0) {
        // Everything the source sent is out: the target's sending side
        // ends too (best effort, as on the other backends).
        shutdown(target, SHUT_WR);
        op->result = static_cast<int64_t>(state->moved);
        return true;
      }
      if (got < 0) {
        if (errno == EINTR) continue;
        if (WouldBlock(errno)) {
          state->events = POLLIN;
          return false;
        }
        FailForward(op, -errno, kForwardFailedRecv);
        return true;
      }
      AddForwardStat(op, 0, got);
      state->pending = static_cast<uint64_t>(got);
      state->done = 0;
      state->stage = 1;
    }
    while (state->done < state->pending) {
      const ssize_t sent = send(target, buffer.data + state->done, state->pending - state->done,
                                MSG_DONTWAIT | MSG_NOSIGNAL);
      if (sent < 0) {
        if (errno == EINTR) continue;
        if (WouldBlock(errno)) {
          // A target that does not read stalls only this forward: it stops
          // receiving from its source until the target drains.
          state->events = POLLOUT;
          return false;
        }
        FailForward(op, -errno, kForwardFailedSend);
        return true;
      }
      AddForwardStat(op, 1, sent);
      state->done += static_cast<uint64_t>(sent);
      state->moved += static_cast<uint64_t>(sent);
    }
    state->stage = 0;
    // A socket watched level-triggered is reported again while it has
    // data: the turn ends here, with no receive that would only say
    // EAGAIN, whether or not this one took all there was.
    if (state->one_receive != 0) break;
  }
  // Waits for the source's next report; a busy one (the rounds spent) is
  // reported at once, after the others had their turn.
  state->events = POLLIN;
  return false;
}

}  // namespace

OVERLAPPED_POOL_REACTOR_OP(SocketAccept, ReactorTryAccept);
OVERLAPPED_POOL_REACTOR_OP(SocketConnect, ReactorTryConnect);
OVERLAPPED_POOL_REACTOR_OP(SocketRecv, ReactorTryRecv);
OVERLAPPED_POOL_REACTOR_OP(SocketSend, ReactorTrySend);
OVERLAPPED_POOL_REACTOR_OP(SocketShutdown, ReactorTryShutdown);
OVERLAPPED_POOL_REACTOR_OP(SocketClose, ReactorTryClose);
OVERLAPPED_POOL_REACTOR_OP(SocketForward, ReactorTryForward);
OVERLAPPED_POOL_REACTOR_OP(SocketSendfile, ReactorTrySendfile);

namespace {

// Tries `op` once more through its kind's entry; a kind the reactor has no
// try for finishes with ENOSYS.
bool TryOp(Op* op) {
  const PoolOpEntry* entry = PoolOpOf(op->kind);
  if (entry == nullptr || entry->try_ready == nullptr) {
    op->result = -ENOSYS;
    return true;
  }
  return entry->try_ready(op);
}

// Ends an op that will not be tried again.
void EndCancelled(Op* op) { op->result = -ECANCELED; }

// The queue an op waits in while it waits for `events`.
bool WaitsToRead(const Op* op) { return (StateOf(const_cast<Op*>(op))->events & POLLOUT) == 0; }

// The socket whose queue an op waits in: its own, but a forward's target
// for a forward that waits to write.
int WaitsOn(const Op* op) {
  return SpansTwoSockets(op) && !WaitsToRead(op) ? TargetOf(op) : static_cast<int>(op->handle);
}

// The side an op joins when it is submitted (its reactor trait): sends
// and connects wait to write; recv, accept and a forward's first recv to
// read.
bool StartsReading(OpKind kind) { return TraitsOf(kind).reactor == ReactorRole::kRead; }

// recv, send and sendfile are the only ops a submitting thread queues
// (and arms) itself; the others start on the reactor thread as before.
bool QueuedDirectly(const Op* op) { return TraitsOf(op->kind).reactor_queues_directly && !op->buffers.empty(); }

}  // namespace

SocketReactor::~SocketReactor() { Stop(); }

uint32_t SocketReactor::EventsOf(const FdOps& ops) {
  return (ops.readers.empty() ? 0 : kReadable) | (ops.writers.empty() ? 0 : kWritable);
}

int SocketReactor::StartLocked(CompletionSink* sink) {
  if (started_) return 0;
  sink_ = sink;
  readiness_ = CreateReadiness();
  int error = readiness_->Open();
  if (error == 0) error = thread_.Start(&RunEntry, this);
  if (error != 0) {
    readiness_.reset();
    return error;
  }
  started_ = true;
  return 0;
}

void SocketReactor::Submit(Op* op, CompletionSink* sink) {
  std::memset(StateOf(op), 0, sizeof(ReactorState));
  const int fd = static_cast<int>(op->handle);
  int error = 0;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
      error = ECANCELED;
    } else {
      error = StartLocked(sink);
    }
    if (error == 0) {
      FdOps& ops = fds_[fd];
      bool queued = false;
      // A recv or send on a socket with no op still to start on the
      // reactor waits for readiness at once: it joins the socket's queue
      // and arms the socket from this thread. The reactor makes the
      // syscall when the socket is ready, so a recv costs no try that
      // fails with EAGAIN, and with epoll no wake-up of the reactor.
      // (Not on an echo's socket: the reactor keeps that one's watch.)
      if (ops.to_start == 0 && !ops.watched() && QueuedDirectly(op)) {
        const bool reads = StartsReading(op->kind);
        StateOf(op)->events = reads ? POLLIN : POLLOUT;
        std::vector<Op*>& queue = reads ? ops.readers : ops.writers;
        queue.push_back(op);
        if (readiness_->Arm(fd, EventsOf(ops)) == 0) {
          queued = true;
          wake = !readiness_->ArmWakesWaiter();
        } else {
          // The reactor tries it instead and reports the error.
          queue.pop_back();
        }
      }
      if (!queued) {
        incoming_.push_back(op);
        ++ops.to_start;
        wake = true;
      }
    }
  }
  if (error != 0) {
    op->result = -error;
    sink->EnterRun();
    sink->CompleteOp(op);
    sink->LeaveRun();
    return;
  }
  if (wake) readiness_->Wake();
}

// `op` is alive until it is completed (backend.h), so its handle can be
// read here. If it waits in a queue it leaves the queue now and the
// reactor ends it; if it is still to start, the reactor sees its flag.
void SocketReactor::Cancel(Op* op) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!started_ || stopping_) return;
    // A forward may wait in its target's queue.
    for (int fd : {static_cast<int>(op->handle), SpansTwoSockets(op) ? TargetOf(op) : -1}) {
      FdOps* found = fds_.Find(fd);
      if (found == nullptr) continue;
      for (std::vector<Op*>* queue : {&found->readers, &found->writers}) {
        for (auto it = queue->begin(); it != queue->end(); ++it) {
          if (*it == op) {
            queue->erase(it);
            cancelled_.push_back(op);
            wake = true;
            break;
          }
        }
        if (wake) break;
      }
      if (wake) break;
    }
  }
  if (wake) readiness_->Wake();
}

void SocketReactor::RunEntry(void* self) noexcept { static_cast<SocketReactor*>(self)->Run(); }

void SocketReactor::Enqueue(FdOps& ops, Op* op, bool front) {
  std::vector<Op*>& queue = WaitsToRead(op) ? ops.readers : ops.writers;
  if (front) {
    queue.insert(queue.begin(), op);
  } else {
    queue.push_back(op);
  }
}

bool SocketReactor::ParkLocked(FdOps& ops, Op* op, bool front, std::vector<Op*>* finished) {
  if (SpansTwoSockets(op)) {
    const int fd = WaitsOn(op);
    // Entries stay where they are when others are added, so `ops` stays
    // valid; the other socket is armed here, as its caller arms `ops`'.
    FdOps& waits = fds_[fd];
    if (&waits != &ops) {
      Enqueue(waits, op, false);
      RearmLocked(fd, finished);
      return false;
    }
  }
  Enqueue(ops, op, front);
  return true;
}

void SocketReactor::ServeQueueLocked(FdOps& ops, bool readers, std::vector<Op*>* finished) {
  std::vector<Op*>& queue = readers ? ops.readers : ops.writers;
  while (!queue.empty()) {
    Op* op = queue.front();
    // An echo whose socket is watched level-triggered takes one message
    // a report, as an epoll loop written by hand does: it never has to ask
    // whether a receive emptied the socket. Elsewhere a forward receives
    // until EAGAIN (or its rounds are spent).
    StateOf(op)->one_receive = ops.watched() && !SpansTwoSockets(op) ? 1 : 0;
    if (TryOp(op)) {
      queue.erase(queue.begin());
      finished->push_back(op);
      continue;
    }
    // An op that waits where it was stays first, untouched (an echo's
    // usual turn); a forward may now wait on the other side, or on its
    // other socket (then the next op here may go).
    if (!SpansTwoSockets(op) && WaitsToRead(op) == readers) break;
    queue.erase(queue.begin());
    if (!ParkLocked(ops, op, true, finished)) continue;
    break;
  }
}

void SocketReactor::TryAllLocked(FdOps& ops, std::vector<Op*>* finished) {
  for (std::vector<Op*>* queue : {&ops.readers, &ops.writers}) {
    std::vector<Op*> waiting;
    waiting.swap(*queue);
    for (Op* op : waiting) {
      // A connect in progress is only asked for its result once ready.
      if (op->kind != OpKind::kSocketConnect && TryOp(op)) {
        finished->push_back(op);
      } else {
        ParkLocked(ops, op, false, finished);
      }
    }
  }
}

void SocketReactor::RearmLocked(int fd, std::vector<Op*>* finished) {
  FdOps* found = fds_.Find(fd);
  if (found != nullptr) RearmLocked(fd, *found, finished);
}

void SocketReactor::RearmLocked(int fd, FdOps& ops, std::vector<Op*>* finished) {
  const uint32_t events = EventsOf(ops);
  if (events == 0) {
    // An echo's socket has no forward any more: it stops being watched,
    // or a socket at its end would be reported in every wait. (An Arm
    // watches it one-shot again.)
    if (ops.watched()) {
      readiness_->Forget(fd);
      ops.watching = 0;
    }
    if (ops.to_start == 0) fds_.Erase(fd);
    return;
  }
  if (events == ops.watching) return;
  const int error = ops.watched() ? readiness_->Watch(fd, events) : readiness_->Arm(fd, events);
  if (error == 0) {
    if (ops.watched()) ops.watching = events;
    return;
  }
  // A socket that cannot be watched will never be ready: its ops end with
  // the reason.
  for (std::vector<Op*>* queue : {&ops.readers, &ops.writers}) {
    for (Op* op : *queue) {
      op->result = -error;
      finished->push_back(op);
    }
    queue->clear();
  }
  if (ops.to_start == 0) fds_.Erase(fd);
}

bool SocketReactor::StartForwardLocked(int fd, FdOps& ops, Op* op) {
  // An echo (a forward to its own socket) is all that uses its socket
  // while it runs, and only this thread, so where the source can, the
  // socket is watched for good instead of armed before each wait: no
  // epoll_ctl per message. (Its first try comes before any wait, so the
  // watch sees whatever that try leaves.)
  if (!SpansTwoSockets(op) && ops.readers.empty() && ops.writers.empty() && readiness_->Watch(fd, kReadable) == 0) {
    ops.watching = kReadable;
  }
  return !TryOp(op);
}

void SocketReactor::StartLocked(Op* op, std::vector<Op*>* finished) {
  const int fd = static_cast<int>(op->handle);
  FdOps& ops = fds_[fd];
  --ops.to_start;
  switch (TraitsOf(op->kind).reactor) {
    case ReactorRole::kClose: {
      // The ops still waiting on this socket get their last try, as each
      // op was tried when it was submitted before; then those that still
      // wait end before the socket is closed, so no wait outlives its
      // socket (or sees the number reused).
      TryAllLocked(ops, finished);
      for (std::vector<Op*>* queue : {&ops.readers, &ops.writers}) {
        for (Op* other : *queue) {
          EndCancelled(other);
          finished->push_back(other);
        }
        queue->clear();
      }
      readiness_->Forget(fd);
      ops.watching = 0;
      if (ops.to_start == 0) fds_.Erase(fd);
      TryOp(op);
      finished->push_back(op);
      return;
    }
    case ReactorRole::kFlush:
      // What was sent before the shutdown goes out first where the socket
      // takes it now.
      TryAllLocked(ops, finished);
      TryOp(op);
      finished->push_back(op);
      break;
    case ReactorRole::kNone:
      // Not a reactor op (the table gives it no queue): it runs nowhere.
      op->result = -ENOSYS;
      finished->push_back(op);
      break;
    case ReactorRole::kRead:
    case ReactorRole::kWrite: {
      // Ops already waiting on the same side go first.
      std::vector<Op*>& side = StartsReading(op->kind) ? ops.readers : ops.writers;
      if (!side.empty()) {
        StateOf(op)->events = StartsReading(op->kind) ? POLLIN : POLLOUT;
        side.push_back(op);
      } else if (TraitsOf(op->kind).relays ? !StartForwardLocked(fd, ops, op) : TryOp(op)) {
        finished->push_back(op);
      } else if (op->cancel_requested.load(std::memory_order_acquire)) {
        // Cancel ran while the op was still to start and found no queue
        // entry; its flag ends it here.
        EndCancelled(op);
        finished->push_back(op);
      } else {
        ParkLocked(ops, op, false, finished);
      }
      break;
    }
  }
  RearmLocked(fd, finished);
}

void SocketReactor::Run() noexcept {
  pthread_setname_np(pthread_self(), "socket-reactor");
  std::vector<ReadyFd> ready;
  std::vector<Op*> taken;
  std::vector<Op*> cancelled;
  std::vector<Op*> finished;
  for (;;) {
    readiness_->Wait(&ready);
    // Ready sockets first, each under the lock on its own, so that a
    // submitting thread waits at most for one socket's syscalls.
    for (const ReadyFd& entry : ready) {
      std::lock_guard<std::mutex> lock(mutex_);
      FdOps* found = fds_.Find(entry.fd);
      if (found == nullptr) continue;
      // A forward that moves to its other socket may add that socket's
      // entry; this one stays where it is.
      FdOps& ops = *found;
      if ((entry.events & kReadable) != 0) ServeQueueLocked(ops, true, &finished);
      if ((entry.events & kWritable) != 0) ServeQueueLocked(ops, false, &finished);
      RearmLocked(entry.fd, ops, &finished);
    }
    bool stopping = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping = stopping_;
      taken.swap(incoming_);
      cancelled.swap(cancelled_);
      // Ops still to start begin in submission order: a close queued after
      // a recv on the same socket runs after it.
      for (Op* op : taken) StartLocked(op, &finished);
      taken.clear();
      for (Op* op : cancelled) {
        if (TraitsOf(op->kind).relays) {
          // Its sockets stop being watched (an echo's watch, or the arm it
          // waited on) where nothing else waits on them: its owner may close
          // one from another thread next, and a poll() in progress would
          // hold the socket open until it returns.
          for (int fd : {static_cast<int>(op->handle), TargetOf(op)}) {
            FdOps* found = fds_.Find(fd);
            if (found != nullptr && EventsOf(*found) != 0) continue;
            readiness_->Forget(fd);
            if (found == nullptr) continue;
            found->watching = 0;
            if (found->to_start == 0) fds_.Erase(fd);
          }
        }
        EndCancelled(op);
        finished.push_back(op);
      }
      cancelled.clear();
      if (stopping) {
        fds_.ForEach([&](FdOps& ops) {
          for (std::vector<Op*>* queue : {&ops.readers, &ops.writers}) {
            for (Op* op : *queue) {
              EndCancelled(op);
              finished.push_back(op);
            }
          }
        });
        fds_.Clear();
      }
    }
    if (!finished.empty()) {
      sink_->EnterRun();
      for (Op* op : finished) sink_->CompleteOp(op);
      sink_->LeaveRun();
      finished.clear();
    }
    if (stopping) return;
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
  readiness_->Wake();
  thread_.Join();
  // Ops submitted while the thread was leaving were never tried.
  std::vector<Op*> late;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    late.swap(incoming_);
    for (Op* op : cancelled_) late.push_back(op);
    cancelled_.clear();
  }
  for (Op* op : late) {
    EndCancelled(op);
    sink_->EnterRun();
    sink_->CompleteOp(op);
    sink_->LeaveRun();
  }
  // readiness_ stays until the destructor: a thread that queued an op just
  // before stopping_ was set may still be about to call Wake.
}

}  // namespace overlapped
