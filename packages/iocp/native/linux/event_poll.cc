// The sockets' event driver ('poll'): readiness on the JS thread. Each
// event socket of a JS environment has a uv_poll on the environment's own
// event loop, so its readiness costs no thread hop and no thread-safe
// function: libuv's one epoll_wait reports it. The poll callbacks of one
// loop iteration read each readable socket once into one shared buffer and
// append a record per event (data, end, writable, closed); a uv_check (run
// right after the poll phase) then calls JS once for the whole batch. The
// data records are views into the shared buffer, valid during that call.
//
// Writes are made on the JS thread: send(MSG_DONTWAIT) at once, the rest
// copied into the socket's queue, which the socket's writable callbacks
// send. end() shuts the sending side once the queue is out, close() closes
// then; reset() closes at once with SO_LINGER 0.
//
// One epoll set per environment under a single uv_poll was measured too: it
// costs a second epoll_wait per wake and the kernel's nested-epoll wake-up
// (about 1.14x Bun.listen's CPU per 64 B round trip against ... here).
//
// JS-thread only: every entry point runs on the environment's thread.
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

class EventLoop;

struct Conn {
  EventLoop* loop = nullptr;
  void* poll = nullptr;  // the uv_poll; its data is this Conn
  int fd = -1;
  uint32_t id = 0;
  int interest = 0;  // UV_READABLE | UV_WRITABLE the poll waits for
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

  static void Cleanup(napi_async_cleanup_hook_handle hook, void* self);

 private:
  static void OnSocket(void* handle, int status, int events);
  static void OnCheck(void* handle);
  static void OnPollClosed(void* handle);
  static void OnCheckClosed(void* handle);
  void HandleClosed();
  Conn* Live(uint32_t id) const { return id < conns_.size() ? conns_[id] : nullptr; }
  void Serve(Conn* conn, int status, int events);
  bool ReadOnce(Conn* conn);
  bool SendQueued(Conn* conn);
  bool Push(Conn* conn, RecordType type, int32_t offset, int32_t value);
  void Fail(Conn* conn, Syscall syscall, int error);
  void CloseConn(Conn* conn, bool reset);
  void CloseHandle(void* handle, uv::CloseCallback closed);
  void UpdateInterest(Conn* conn);
  void Flush();
  void ReleaseIds();
  void Finish();

  napi_env env_;
  const uv::Api* uv_ = nullptr;
  struct uv_loop_s* loop_ = nullptr;
  void* check_ = nullptr;
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
  // Ids of closed connections that a batch not yet delivered may name.
  std::vector<uint32_t> dead_ids_;
  size_t closing_ = 0;  // handles closed whose close callback has not run
  bool tearing_down_ = false;
};

int EventLoop::Init(napi_value data, napi_value records, napi_value callback) {
  if (check_ != nullptr) return -EALREADY;
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
  if (napi_get_uv_event_loop(env_, &loop_) != napi_ok || loop_ == nullptr) return -ENOSYS;
  void* check = calloc(1, uv_->handle_size(uv::kCheckType));
  if (check == nullptr) return -ENOMEM;
  uv_->check_init(loop_, check);
  uv::HandleData(check) = this;
  uv_->check_start(check, OnCheck);
  // The check only delivers batches: it keeps no loop alive.
  uv_->unref(check);
  check_ = check;
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
  if (check_ == nullptr) return -EBADF;
  void* poll = calloc(1, uv_->handle_size(uv::kPollType));
  if (poll == nullptr) return -ENOMEM;
  // uv_poll_init makes the socket non-blocking.
  const int result = uv_->poll_init(loop_, poll, fd);
  if (result != 0) {
    free(poll);
    return result;
  }
  uint32_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<uint32_t>(conns_.size());
    conns_.push_back(nullptr);
  }
  auto* conn = new Conn();
  conn->loop = this;
  conn->poll = poll;
  conn->fd = fd;
  conn->id = id;
  uv::HandleData(poll) = conn;
  conns_[id] = conn;
  UpdateInterest(conn);
  return id;
}

// An active poll keeps the loop alive, as a reading net.Socket does; a
// paused socket with nothing queued does not.
void EventLoop::UpdateInterest(Conn* conn) {
  const int want = (conn->CanRead() ? uv::kReadable : 0) | (conn->Queued() > 0 ? uv::kWritable : 0);
  if (want == conn->interest) return;
  conn->interest = want;
  if (want == 0) {
    uv_->poll_stop(conn->poll);
  } else {
    uv_->poll_start(conn->poll, want, OnSocket);
  }
}

void EventLoop::OnSocket(void* handle, int status, int events) {
  auto* conn = static_cast<Conn*>(uv::HandleData(handle));
  if (!conn->dead) conn->loop->Serve(conn, status, events);
}

void EventLoop::OnCheck(void* handle) { static_cast<EventLoop*>(uv::HandleData(handle))->Flush(); }

void EventLoop::Serve(Conn* conn, int status, int events) {
  if (status < 0) {
    // libuv reports a socket error (POLLERR) as UV_EBADF: the socket says
    // which one it was.
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &error, &length);
    Fail(conn, kRecv, error != 0 ? error : -status);
    return;
  }
  if ((events & uv::kReadable) != 0 && conn->CanRead() && !ReadOnce(conn)) return;
  if ((events & uv::kWritable) != 0 && conn->Queued() > 0) SendQueued(conn);
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

// Closing the poll first takes the socket out of libuv's epoll set (and
// drops its events still pending in this iteration); the Conn is freed in
// the close callback.
void EventLoop::CloseConn(Conn* conn, bool reset) {
  if (reset) {
    linger option{1, 0};
    setsockopt(conn->fd, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
  }
  conn->dead = true;
  CloseHandle(conn->poll, OnPollClosed);
  EnvHandles::Of(env_)->Closing(conn->fd);
  close(conn->fd);
  conn->fd = -1;
  conns_[conn->id] = nullptr;
  // The id is not reused while a batch not yet delivered may name it.
  dead_ids_.push_back(conn->id);
  if (count_ == 0) ReleaseIds();
}

void EventLoop::CloseHandle(void* handle, uv::CloseCallback closed) {
  closing_++;
  uv_->close(handle, closed);
}

void EventLoop::OnPollClosed(void* handle) {
  auto* conn = static_cast<Conn*>(uv::HandleData(handle));
  EventLoop* loop = conn->loop;
  delete conn;
  free(handle);
  loop->HandleClosed();
}

void EventLoop::OnCheckClosed(void* handle) {
  auto* loop = static_cast<EventLoop*>(uv::HandleData(handle));
  free(handle);
  loop->HandleClosed();
}

void EventLoop::HandleClosed() {
  if (--closing_ == 0 && tearing_down_) Finish();
}

void EventLoop::ReleaseIds() {
  free_ids_.insert(free_ids_.end(), dead_ids_.begin(), dead_ids_.end());
  dead_ids_.clear();
}

void EventLoop::Flush() {
  if (count_ == 0) return;
  const size_t count = count_;
  count_ = 0;
  used_ = 0;
  napi_handle_scope scope;
  napi_open_handle_scope(env_, &scope);
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
  napi_close_handle_scope(env_, scope);
  if (count_ == 0) ReleaseIds();
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

// The environment is going away: every handle is closed, and the async
// hook waits for their close callbacks, which free them. The sockets'
// descriptors are closed by EnvHandles.
void EventLoop::Cleanup(napi_async_cleanup_hook_handle hook, void* self) {
  auto* loop = static_cast<EventLoop*>(self);
  loop->hook_ = hook;
  loop->tearing_down_ = true;
  if (loop->context_ != nullptr) napi_async_destroy(loop->env_, loop->context_);
  if (loop->check_ != nullptr) {
    for (Conn* conn : loop->conns_) {
      if (conn != nullptr) loop->CloseHandle(conn->poll, OnPollClosed);
    }
    loop->conns_.clear();
    loop->CloseHandle(loop->check_, OnCheckClosed);
  }
  if (loop->closing_ == 0) loop->Finish();
}

void EventLoop::Finish() {
  napi_remove_async_cleanup_hook(hook_);
  delete this;
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
