// The sockets' event driver ('poll'): readiness on the JS thread. One
// epoll set per JS environment holds its event sockets (level-triggered),
// and one uv_poll watches that set on the environment's own event loop, so
// a socket's readiness costs no thread hop and no thread-safe function.
// On a wake the driver reads each readable socket once into one shared
// buffer, appends a record per event (data, end, writable, closed) and
// calls JS once for the whole batch; the data records are views into that
// buffer, valid during the call.
//
// Writes are made on the JS thread: send(MSG_DONTWAIT) at once, the rest
// copied into the socket's queue, which the next writable wakes send.
// end() shuts the sending side once the queue is out, close() closes then;
// reset() closes at once with SO_LINGER 0.
//
// JS-thread only: every entry point runs on the environment's thread.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "../common/env_handles.h"
#include "../common/errors.h"
#include "../common/events.h"
#include "uv_shim.h"

namespace overlapped {

namespace {

// A record is four int32: connection id, type, then for data the offset
// and length of its bytes in the shared buffer, for closed the call that
// failed (Syscall) and a negative errno (0 when it closed without error).
enum RecordType : int32_t { kData = 1, kEnd = 2, kWritable = 3, kClosed = 4 };
enum Syscall : int32_t { kNone = 0, kRecv = 1, kSend = 2 };
constexpr size_t kRecordInts = 4;
// A read takes at most this much, and the batch is delivered before a
// read would have less than kMinRoom bytes of room.
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMinRoom = 16 * 1024;
constexpr int kWaitEvents = 128;
constexpr int kMaxRounds = 8;

struct Conn {
  int fd = -1;
  uint32_t id = 0;
  uint32_t serial = 0;
  uint32_t interest = 0;
  bool registered = false;
  bool hung_up = false;
  bool paused = false;
  bool read_ended = false;
  bool end_requested = false;
  bool close_requested = false;
  bool dead = false;
  // Bytes write() accepted that the kernel has not taken, from head on.
  std::vector<uint8_t> queue;
  size_t head = 0;

  size_t Queued() const { return queue.size() - head; }
  bool CanRead() const { return !paused && !read_ended && !close_requested; }
};

class EventLoop {
 public:
  explicit EventLoop(napi_env env) : env_(env) {}

  int Init(napi_value data, napi_value records, napi_value callback);
  int64_t Open(int fd);
  int64_t Write(uint32_t id, const uint8_t* bytes, size_t length);
  void End(uint32_t id);
  void SetPaused(uint32_t id, bool paused);
  bool Close(uint32_t id);
  void Reset(uint32_t id);
  bool ready() const { return poll_ != nullptr; }

  static void Cleanup(napi_async_cleanup_hook_handle hook, void* self);

 private:
  static void OnPoll(void* handle, int status, int events);
  static void OnClosed(void* handle);
  Conn* Live(uint32_t id) const {
    Conn* conn = id < conns_.size() ? conns_[id] : nullptr;
    return conn != nullptr && !conn->dead ? conn : nullptr;
  }
  void Wake();
  void Serve(Conn* conn, uint32_t events);
  bool ReadOnce(Conn* conn);
  bool SendQueued(Conn* conn);
  bool Push(Conn* conn, RecordType type, int32_t offset, int32_t value);
  void Fail(Conn* conn, Syscall syscall, int error);
  void CloseConn(Conn* conn, bool reset);
  void UpdateInterest(Conn* conn);
  void Flush();
  void ReleaseDead();

  napi_env env_;
  const uv::Api* uv_ = nullptr;
  void* poll_ = nullptr;
  int epoll_ = -1;
  napi_ref data_ref_ = nullptr;
  napi_ref records_ref_ = nullptr;
  napi_ref callback_ref_ = nullptr;
  napi_async_context context_ = nullptr;
  napi_async_cleanup_hook_handle hook_ = nullptr;
  uint8_t* data_ = nullptr;
  size_t data_length_ = 0;
  int32_t* records_ = nullptr;
  size_t record_capacity_ = 0;
  size_t count_ = 0;
  size_t used_ = 0;
  std::vector<Conn*> conns_;
  std::vector<uint32_t> free_ids_;
  std::vector<Conn*> dead_;
  uint32_t serial_ = 0;
  size_t live_ = 0;
  bool in_wake_ = false;
};

int EventLoop::Init(napi_value data, napi_value records, napi_value callback) {
  if (poll_ != nullptr) return -EALREADY;
  uv_ = uv::Resolve();
  if (uv_ == nullptr) return -ENOSYS;
  void* bytes = nullptr;
  size_t length = 0;
  if (napi_get_arraybuffer_info(env_, data, &bytes, &length) != napi_ok || length < kReadChunk) return -EINVAL;
  napi_typedarray_type type;
  size_t elements = 0;
  void* ints = nullptr;
  if (napi_get_typedarray_info(env_, records, &type, &elements, &ints, nullptr, nullptr) != napi_ok ||
      type != napi_int32_array || elements < kRecordInts * 16) {
    return -EINVAL;
  }
  struct uv_loop_s* loop = nullptr;
  if (napi_get_uv_event_loop(env_, &loop) != napi_ok || loop == nullptr) return -ENOSYS;
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) return -errno;
  void* poll = calloc(1, uv_->handle_size(uv::kPollType));
  if (poll == nullptr || uv_->poll_init(loop, poll, epoll_) != 0) {
    free(poll);
    close(epoll_);
    epoll_ = -1;
    return -ENOMEM;
  }
  uv::HandleData(poll) = this;
  uv_->poll_start(poll, uv::kReadable, OnPoll);
  // Idle until a socket is open: an open event socket keeps the loop alive.
  uv_->unref(poll);
  poll_ = poll;
  data_ = static_cast<uint8_t*>(bytes);
  data_length_ = length;
  records_ = static_cast<int32_t*>(ints);
  record_capacity_ = elements / kRecordInts;
  napi_create_reference(env_, data, 1, &data_ref_);
  napi_create_reference(env_, records, 1, &records_ref_);
  napi_create_reference(env_, callback, 1, &callback_ref_);
  napi_value resource, name;
  napi_create_object(env_, &resource);
  napi_create_string_utf8(env_, "overlapped:events", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env_, resource, name, &context_);
  return 0;
}

int64_t EventLoop::Open(int fd) {
  if (poll_ == nullptr) return -EBADF;
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -errno;
  uint32_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<uint32_t>(conns_.size());
    conns_.push_back(nullptr);
  }
  auto* conn = new Conn();
  conn->fd = fd;
  conn->id = id;
  conn->serial = ++serial_;
  UpdateInterest(conn);
  if (!conn->registered) {
    const int error = errno;
    delete conn;
    free_ids_.push_back(id);
    return -error;
  }
  conns_[id] = conn;
  if (live_++ == 0) uv_->ref(poll_);
  return id;
}

void EventLoop::UpdateInterest(Conn* conn) {
  const uint32_t want = (conn->CanRead() ? uint32_t{EPOLLIN} : 0u) | (conn->Queued() > 0 ? uint32_t{EPOLLOUT} : 0u);
  if (conn->registered && want == conn->interest) return;
  epoll_event event{};
  event.events = want;
  event.data.u64 = (static_cast<uint64_t>(conn->serial) << 32) | conn->id;
  if (!conn->registered) {
    // A socket taken out of the set after a hang-up (it would be reported
    // at every wake) comes back only when there is something to wait for.
    if (want == 0 && conn->hung_up) return;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, conn->fd, &event) != 0) return;
    conn->registered = true;
  } else if (epoll_ctl(epoll_, EPOLL_CTL_MOD, conn->fd, &event) != 0) {
    return;
  }
  conn->interest = want;
}

void EventLoop::OnPoll(void* handle, int, int) { static_cast<EventLoop*>(uv::HandleData(handle))->Wake(); }

void EventLoop::Wake() {
  napi_handle_scope scope;
  napi_open_handle_scope(env_, &scope);
  in_wake_ = true;
  epoll_event events[kWaitEvents];
  for (int round = 0; round < kMaxRounds; round++) {
    const int n = epoll_wait(epoll_, events, kWaitEvents, 0);
    for (int i = 0; i < n; i++) {
      const uint32_t id = static_cast<uint32_t>(events[i].data.u64);
      Conn* conn = Live(id);
      if (conn != nullptr && conn->serial == static_cast<uint32_t>(events[i].data.u64 >> 32)) {
        Serve(conn, events[i].events);
      }
    }
    if (n < kWaitEvents) break;
  }
  Flush();
  in_wake_ = false;
  ReleaseDead();
  napi_close_handle_scope(env_, scope);
}

void EventLoop::Serve(Conn* conn, uint32_t events) {
  const bool failed = (events & (EPOLLERR | EPOLLHUP)) != 0;
  bool handled = false;
  if (conn->CanRead() && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) {
    handled = true;
    if (!ReadOnce(conn)) return;
  }
  if (conn->Queued() > 0 && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
    handled = true;
    if (!SendQueued(conn)) return;
  }
  if (failed && !handled) {
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      Fail(conn, kRecv, error);
    } else if ((events & EPOLLHUP) != 0) {
      // Both directions are shut and nothing waits: leave the set until a
      // write or a resume has something to wait for.
      epoll_ctl(epoll_, EPOLL_CTL_DEL, conn->fd, nullptr);
      conn->registered = false;
      conn->hung_up = true;
      conn->interest = 0;
    }
  }
}

bool EventLoop::ReadOnce(Conn* conn) {
  if (data_length_ - used_ < kMinRoom || count_ + 2 > record_capacity_) {
    Flush();
    if (conn->dead) return false;
    if (!conn->CanRead()) return true;
  }
  const size_t room = std::min(kReadChunk, data_length_ - used_);
  ssize_t n;
  do {
    n = recv(conn->fd, data_ + used_, room, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    Push(conn, kData, static_cast<int32_t>(used_), static_cast<int32_t>(n));
    used_ += static_cast<size_t>(n);
    return true;
  }
  if (n == 0) {
    conn->read_ended = true;
    Push(conn, kEnd, 0, 0);
    UpdateInterest(conn);
    return true;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
  Fail(conn, kRecv, errno);
  return false;
}

bool EventLoop::SendQueued(Conn* conn) {
  while (conn->Queued() > 0) {
    const ssize_t n = send(conn->fd, conn->queue.data() + conn->head, conn->Queued(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Fail(conn, kSend, errno);
      return false;
    }
    conn->head += static_cast<size_t>(n);
  }
  if (conn->Queued() > 0) {
    // Drop what was sent once it is most of the queue.
    if (conn->head >= (1u << 20) && conn->head * 2 >= conn->queue.size()) {
      conn->queue.erase(conn->queue.begin(), conn->queue.begin() + static_cast<std::ptrdiff_t>(conn->head));
      conn->head = 0;
    }
    return true;
  }
  std::vector<uint8_t>().swap(conn->queue);
  conn->head = 0;
  if (conn->close_requested) {
    if (!Push(conn, kClosed, 0, 0)) return false;
    CloseConn(conn, false);
    return false;
  }
  if (conn->end_requested) {
    conn->end_requested = false;
    shutdown(conn->fd, SHUT_WR);
  }
  if (!Push(conn, kWritable, 0, 0)) return false;
  UpdateInterest(conn);
  return true;
}

// Appends a record; false when delivering the full batch first closed the
// connection.
bool EventLoop::Push(Conn* conn, RecordType type, int32_t offset, int32_t value) {
  if (count_ == record_capacity_) {
    Flush();
    if (conn->dead) return false;
  }
  int32_t* record = records_ + count_ * kRecordInts;
  record[0] = static_cast<int32_t>(conn->id);
  record[1] = type;
  record[2] = offset;
  record[3] = value;
  count_++;
  return true;
}

void EventLoop::Fail(Conn* conn, Syscall syscall, int error) {
  if (!Push(conn, kClosed, syscall, -error)) return;
  CloseConn(conn, false);
}

void EventLoop::CloseConn(Conn* conn, bool reset) {
  if (reset) {
    linger option{1, 0};
    setsockopt(conn->fd, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
  }
  if (conn->registered) epoll_ctl(epoll_, EPOLL_CTL_DEL, conn->fd, nullptr);
  EnvHandles::Of(env_)->Closing(conn->fd);
  close(conn->fd);
  conn->fd = -1;
  conn->dead = true;
  if (--live_ == 0) uv_->unref(poll_);
  // The id is not reused while a batch may still name it.
  dead_.push_back(conn);
  if (!in_wake_) ReleaseDead();
}

void EventLoop::ReleaseDead() {
  for (Conn* conn : dead_) {
    conns_[conn->id] = nullptr;
    free_ids_.push_back(conn->id);
    delete conn;
  }
  dead_.clear();
}

void EventLoop::Flush() {
  if (count_ == 0) return;
  const size_t count = count_;
  count_ = 0;
  used_ = 0;
  napi_value callback, global, argument, result;
  napi_get_reference_value(env_, callback_ref_, &callback);
  napi_get_global(env_, &global);
  napi_create_uint32(env_, static_cast<uint32_t>(count), &argument);
  // Through MakeCallback: microtasks and nextTicks run when it returns.
  if (napi_make_callback(env_, context_, global, callback, 1, &argument, &result) == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env_, &error);
    napi_fatal_exception(env_, error);
  }
}

int64_t EventLoop::Write(uint32_t id, const uint8_t* bytes, size_t length) {
  Conn* conn = Live(id);
  if (conn == nullptr) return -EBADF;
  size_t sent = 0;
  if (conn->Queued() == 0) {
    while (sent < length) {
      const ssize_t n = send(conn->fd, bytes + sent, length - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0) {
        sent += static_cast<size_t>(n);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      // The connection died: it is closed now and the caller reports it.
      const int error = errno;
      CloseConn(conn, false);
      return -error;
    }
    if (sent == length) return 0;
  }
  conn->queue.insert(conn->queue.end(), bytes + sent, bytes + length);
  UpdateInterest(conn);
  return static_cast<int64_t>(conn->Queued());
}

void EventLoop::End(uint32_t id) {
  Conn* conn = Live(id);
  if (conn == nullptr) return;
  if (conn->Queued() > 0) {
    conn->end_requested = true;
  } else {
    shutdown(conn->fd, SHUT_WR);
  }
}

void EventLoop::SetPaused(uint32_t id, bool paused) {
  Conn* conn = Live(id);
  if (conn == nullptr || conn->paused == paused) return;
  conn->paused = paused;
  UpdateInterest(conn);
}

bool EventLoop::Close(uint32_t id) {
  Conn* conn = Live(id);
  if (conn == nullptr) return true;
  if (conn->Queued() == 0) {
    CloseConn(conn, false);
    return true;
  }
  conn->close_requested = true;
  UpdateInterest(conn);
  return false;
}

void EventLoop::Reset(uint32_t id) {
  Conn* conn = Live(id);
  if (conn != nullptr) CloseConn(conn, true);
}

// The environment is going away: the uv_poll is closed (its memory is
// freed in the close callback, which the async hook waits for) and the
// epoll set with it. The sockets' descriptors are closed by EnvHandles.
void EventLoop::Cleanup(napi_async_cleanup_hook_handle hook, void* self) {
  auto* loop = static_cast<EventLoop*>(self);
  loop->hook_ = hook;
  for (Conn* conn : loop->conns_) delete conn;
  loop->conns_.clear();
  loop->dead_.clear();
  if (loop->context_ != nullptr) napi_async_destroy(loop->env_, loop->context_);
  if (loop->poll_ == nullptr) {
    napi_remove_async_cleanup_hook(hook);
    delete loop;
    return;
  }
  loop->uv_->poll_stop(loop->poll_);
  loop->uv_->close(loop->poll_, OnClosed);
}

void EventLoop::OnClosed(void* handle) {
  auto* loop = static_cast<EventLoop*>(uv::HandleData(handle));
  free(handle);
  close(loop->epoll_);
  napi_remove_async_cleanup_hook(loop->hook_);
  delete loop;
}

EventLoop* LoopOf(const Napi::CallbackInfo& info) { return static_cast<EventLoop*>(info.Data()); }
uint32_t IdOf(const Napi::CallbackInfo& info) { return info[0].As<Napi::Number>().Uint32Value(); }

// eventsInit(data: ArrayBuffer, records: Int32Array, onBatch(count)): 0 or a negative errno.
Napi::Value Init(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), LoopOf(info)->Init(info[0], info[1], info[2]));
}

// eventsOpen(socket): the connection's id, or a negative errno.
Napi::Value Open(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LoopOf(info)->Open(info[0].As<Napi::Number>().Int32Value())));
}

// eventsWrite(id, bytes): bytes still queued (0: all sent), or a negative
// errno when the connection died (it is closed then).
Napi::Value Write(const Napi::CallbackInfo& info) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value array;
  size_t offset = 0;
  if (napi_get_typedarray_info(info.Env(), info[1], &type, &length, &data, &array, &offset) != napi_ok ||
      type != napi_uint8_array) {
    throw ArgumentTypeError(info.Env(), "eventsWrite: bytes is a Uint8Array");
  }
  return Napi::Number::New(info.Env(), static_cast<double>(LoopOf(info)->Write(IdOf(info), static_cast<uint8_t*>(data), length)));
}

void End(const Napi::CallbackInfo& info) { LoopOf(info)->End(IdOf(info)); }
void Pause(const Napi::CallbackInfo& info) { LoopOf(info)->SetPaused(IdOf(info), true); }
void Resume(const Napi::CallbackInfo& info) { LoopOf(info)->SetPaused(IdOf(info), false); }
// eventsClose(id): true when it closed now, false when a closed record
// follows once the queue is out.
Napi::Value Close(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), LoopOf(info)->Close(IdOf(info))); }
void Reset(const Napi::CallbackInfo& info) { LoopOf(info)->Reset(IdOf(info)); }

// eventsKind(): the driver this build has ('poll'), or '' when the
// process's event loop cannot be reached.
Napi::Value Kind(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), uv::Resolve() != nullptr ? "poll" : "");
}

}  // namespace

void ExportEventCalls(Napi::Env env, Napi::Object exports) {
  auto* loop = new EventLoop(env);
  napi_add_async_cleanup_hook(env, EventLoop::Cleanup, loop, nullptr);
  exports.Set("eventsKind", Napi::Function::New<Kind>(env, "eventsKind"));
  exports.Set("eventsInit", Napi::Function::New<Init>(env, "eventsInit", loop));
  exports.Set("eventsOpen", Napi::Function::New<Open>(env, "eventsOpen", loop));
  exports.Set("eventsWrite", Napi::Function::New<Write>(env, "eventsWrite", loop));
  exports.Set("eventsEnd", Napi::Function::New<End>(env, "eventsEnd", loop));
  exports.Set("eventsPause", Napi::Function::New<Pause>(env, "eventsPause", loop));
  exports.Set("eventsResume", Napi::Function::New<Resume>(env, "eventsResume", loop));
  exports.Set("eventsClose", Napi::Function::New<Close>(env, "eventsClose", loop));
  exports.Set("eventsReset", Napi::Function::New<Reset>(env, "eventsReset", loop));
}

}  // namespace overlapped
