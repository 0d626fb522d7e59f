// Promise receives on the JS thread's own event loop: a socket's recv ops
// wait for readability on a uv_poll of the environment's loop (the loop
// from napi_get_uv_event_loop) and are done there, on the JS thread, with
// one recv() into the caller's buffer. A port's recv op instead waits on a
// worker (io_uring's reaper, the threadpool's reactor), which wakes the JS
// thread through the thread-safe function: two cross-thread wake-ups per
// message where this pays none.
//
// Each socket has a watcher: a uv_poll and its queue of recvs in call
// order. The poll waits while a recv is queued; its callback serves the
// queue (a recv per queued op until the socket has no more bytes) and
// appends a record per finished op, and a uv_check, which libuv runs right
// after the poll phase, hands JS the whole batch in one call. A poll whose
// queue is empty after JS returned stops; the echo pattern (a recv queued
// again before the call returns) keeps it started, with no epoll_ctl per
// message.
//
// A recv that JS queues while a batch is being delivered (the echo
// pattern: the next recv of each socket, from the awaits the batch
// resumed) into the buffer its watcher's previous recv had costs no call
// into native code: JS writes {watcher id, token} into the shared `starts`
// array, and Flush queues them when the batch's callback (and the
// microtasks it ran) returned, before StopIdle looks at the queues. JS
// stages a recv there only for the same buffer object, still as long as
// when its memory was read here (so not detached), whose address this
// watcher kept; a staged recv it cancels it takes out of the array itself.
//
// The memory of a queued recv is the caller's, kept alive by the port's op
// record in JS until the op's record was delivered (and memory from
// allocAligned pinned here, as the port pins it, until the recv ran);
// nothing here writes into it after a cancel or a close, and the kernel
// never holds it.
//
// JS-thread only: every entry point runs on the environment's thread.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <vector>

#include "../common/aligned_buffer.h"
#include "../common/errors.h"
#include "../common/loop_recv.h"
#include "loop_host.h"
#include "uv_shim.h"

namespace overlapped {

namespace {

// A record is four doubles: the watcher's id, the op's token, its status
// (0 or a negative errno) and the bytes received.
constexpr size_t kRecordFields = 4;

// The shared starts array: [0] 1 while a batch is delivered, [1] the recvs
// JS staged, then two doubles per recv: the watcher's id and the op's token
// (0: cancelled while staged).
constexpr size_t kStartsHeader = 2;
constexpr size_t kStartFields = 2;

class LoopRecv;

struct QueuedRecv {
  double token;
  uint8_t* data;
  size_t length;
  AlignedAllocation* pinned;  // allocAligned memory the recv holds, or null
};

void Unpin(const QueuedRecv& op) {
  if (op.pinned != nullptr) ReleaseAligned(op.pinned);
}

void DropQueue(std::deque<QueuedRecv>* recvs) {
  for (const QueuedRecv& op : *recvs) Unpin(op);
  recvs->clear();
}

struct Watcher {
  LoopRecv* owner = nullptr;
  void* poll = nullptr;  // its data is this Watcher
  int fd = -1;
  uint32_t id = 0;
  bool started = false;  // the poll waits for readability
  bool served = false;   // in served_, for the check's stop pass
  bool closed = false;
  std::deque<QueuedRecv> recvs;
  // The memory of the last recv JS queued through loopRecv: where a staged
  // recv receives (see the top of the file).
  uint8_t* last_data = nullptr;
  size_t last_length = 0;
};

class LoopRecv final : public LoopHost {
 public:
  explicit LoopRecv(napi_env env) : LoopHost(env) {}

  int Init(napi_value records, napi_value callback, napi_value starts);
  int64_t Open(int fd);
  int Recv(uint32_t id, double token, uint8_t* data, size_t length);
  bool Cancel(uint32_t id, double token);
  bool Close(uint32_t id);

  static void Cleanup(napi_async_cleanup_hook_handle hook, void* self);

 private:
  static void OnReadable(void* handle, int status, int events);
  static void OnCheck(void* handle);
  static void OnPollClosed(void* handle);
  Watcher* Live(uint32_t id) const {
    Watcher* watcher = watchers_.Get(id);
    return watcher != nullptr && !watcher->closed ? watcher : nullptr;
  }
  void Serve(Watcher* watcher, int status);
  void Queue(Watcher* watcher, double token, uint8_t* data, size_t length);
  void TakeStaged();
  void Push(Watcher* watcher, double token, int status, size_t bytes);
  void Flush();
  // Around the batch's call: JS stages the recvs it queues meanwhile in
  // `starts`, taken when the call returns.
  void BeforeBatch() override;
  void AfterBatch() override;
  void StopIdle();

  void* check_ = nullptr;
  napi_ref records_ref_ = nullptr;
  napi_ref starts_ref_ = nullptr;
  double* starts_ = nullptr;
  size_t start_capacity_ = 0;
  double* records_ = nullptr;
  size_t record_capacity_ = 0;
  size_t count_ = 0;
  bool delivering_ = false;
  // A closed watcher stays in its slot (closed) while a batch not yet
  // delivered may name it.
  IdSlots<Watcher> watchers_;
  std::vector<Watcher*> served_;
};

int LoopRecv::Init(napi_value records, napi_value callback, napi_value starts) {
  if (check_ != nullptr) return -EALREADY;
  uv_ = uv::Resolve();
  if (uv_ == nullptr) return -ENOSYS;
  napi_typedarray_type type;
  size_t elements = 0;
  void* fields = nullptr;
  if (napi_get_typedarray_info(env_, records, &type, &elements, &fields, nullptr, nullptr) != napi_ok ||
      type != napi_float64_array || elements < kRecordFields * 16) {
    return -EINVAL;
  }
  // Optional: without it, every recv comes through loopRecv.
  napi_valuetype starts_type = napi_undefined;
  napi_typeof(env_, starts, &starts_type);
  size_t start_elements = 0;
  void* start_fields = nullptr;
  if (starts_type != napi_undefined &&
      (napi_get_typedarray_info(env_, starts, &type, &start_elements, &start_fields, nullptr, nullptr) != napi_ok ||
       type != napi_float64_array || start_elements < kStartsHeader + kStartFields)) {
    return -EINVAL;
  }
  if (napi_get_uv_event_loop(env_, &loop_) != napi_ok || loop_ == nullptr) return -ENOSYS;
  void* check = calloc(1, uv_->handle_size(uv::kCheckType));
  if (check == nullptr) return -ENOMEM;
  uv_->check_init(loop_, check);
  uv::HandleData(check) = this;
  uv_->check_start(check, OnCheck);
  // The check only delivers batches: a queued recv's started poll keeps
  // the loop alive, as the port keeps it alive while an op is in flight.
  uv_->unref(check);
  check_ = check;
  records_ = static_cast<double*>(fields);
  record_capacity_ = elements / kRecordFields;
  napi_create_reference(env_, records, 1, &records_ref_);
  if (start_fields != nullptr) {
    napi_create_reference(env_, starts, 1, &starts_ref_);
    starts_ = static_cast<double*>(start_fields);
    start_capacity_ = (start_elements - kStartsHeader) / kStartFields;
    starts_[0] = 0;
    starts_[1] = 0;
  }
  KeepBatchCallback(callback, "overlapped:loop-recv");
  return 0;
}

int64_t LoopRecv::Open(int fd) {
  if (check_ == nullptr || tearing_down()) return -EBADF;
  void* poll;
  const int result = uv::NewSocketPoll(*uv_, loop_, fd, &poll);
  if (result != 0) return result;
  auto* watcher = new Watcher();
  watcher->owner = this;
  watcher->poll = poll;
  watcher->fd = fd;
  watcher->id = watchers_.Add(watcher);
  uv::HandleData(poll) = watcher;
  return watcher->id;
}

int LoopRecv::Recv(uint32_t id, double token, uint8_t* data, size_t length) {
  Watcher* watcher = Live(id);
  if (watcher == nullptr) return -EBADF;
  watcher->last_data = data;
  watcher->last_length = length;
  Queue(watcher, token, data, length);
  return 0;
}

void LoopRecv::Queue(Watcher* watcher, double token, uint8_t* data, size_t length) {
  watcher->recvs.push_back(QueuedRecv{token, data, length, RetainAligned(data, length)});
  if (!watcher->started) {
    watcher->started = true;
    uv_->poll_start(watcher->poll, uv::kReadable, OnReadable);
  }
}

// Queues the recvs JS staged during the batch just delivered, in the order
// it staged them (a socket's own in call order).
void LoopRecv::TakeStaged() {
  const size_t count = std::min(static_cast<size_t>(starts_[1]), start_capacity_);
  starts_[1] = 0;
  for (size_t i = 0; i < count; i++) {
    const double* start = starts_ + kStartsHeader + i * kStartFields;
    if (start[1] == 0) continue;
    // A watcher closed since had its recvs cancelled first (JS took them
    // out of the array), so a staged recv always finds its watcher.
    Watcher* watcher = Live(static_cast<uint32_t>(start[0]));
    if (watcher == nullptr || watcher->last_data == nullptr) continue;
    Queue(watcher, start[1], watcher->last_data, watcher->last_length);
  }
}

// Takes the op `token` off its queue: false when it is not there (it
// finished, and its record is on its way).
bool LoopRecv::Cancel(uint32_t id, double token) {
  Watcher* watcher = Live(id);
  if (watcher == nullptr) return false;
  for (auto it = watcher->recvs.begin(); it != watcher->recvs.end(); ++it) {
    if (it->token != token) continue;
    Unpin(*it);
    watcher->recvs.erase(it);
    if (watcher->recvs.empty() && watcher->started && !watcher->served) {
      watcher->started = false;
      uv_->poll_stop(watcher->poll);
    }
    return true;
  }
  return false;
}

// Closes the watcher (its recvs were cancelled first); the socket itself is
// the caller's. True when its id is free now; false when a batch not yet
// delivered may still name it (the id is reused after that batch).
bool LoopRecv::Close(uint32_t id) {
  Watcher* watcher = Live(id);
  if (watcher == nullptr) return true;
  watcher->closed = true;
  DropQueue(&watcher->recvs);
  bool named = delivering_;
  for (size_t i = 0; i < count_ && !named; i++) named = records_[i * kRecordFields] == static_cast<double>(id);
  if (named) {
    watchers_.Retire(id);
  } else {
    watchers_.Free(id);
  }
  CloseHandle(watcher->poll, OnPollClosed);
  return !named;
}

void LoopRecv::OnReadable(void* handle, int status, int) {
  auto* watcher = static_cast<Watcher*>(uv::HandleData(handle));
  if (!watcher->closed) watcher->owner->Serve(watcher, status);
}

void LoopRecv::Serve(Watcher* watcher, int status) {
  // libuv stops a poll that reports a socket error (POLLERR, as UV_EBADF):
  // every queued recv is served now, the first with the error.
  if (status < 0) watcher->started = false;
  if (!watcher->served) {
    watcher->served = true;
    served_.push_back(watcher);
  }
  while (!watcher->closed && !watcher->recvs.empty()) {
    if (count_ == record_capacity_) {
      Flush();
      continue;
    }
    const QueuedRecv op = watcher->recvs.front();
    ssize_t n;
    do {
      n = recv(watcher->fd, op.data, op.length, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    int error = n < 0 ? errno : 0;
    if (error == EAGAIN || error == EWOULDBLOCK) {
      if (status >= 0) break;
      // The socket says which error the poll saw.
      socklen_t length = sizeof(error);
      error = 0;
      getsockopt(watcher->fd, SOL_SOCKET, SO_ERROR, &error, &length);
      if (error == 0) error = -status;
    }
    watcher->recvs.pop_front();
    Unpin(op);
    Push(watcher, op.token, -error, n > 0 ? static_cast<size_t>(n) : 0);
    // Bytes that filled the buffer may have more behind them; anything
    // else (fewer bytes, the end, an error) leaves the next recv to the
    // next wake, or to the end or error it will find at once.
    if (status >= 0 && (n <= 0 || static_cast<size_t>(n) < op.length)) break;
  }
  if (!watcher->closed && !watcher->started && !watcher->recvs.empty()) {
    watcher->started = true;
    uv_->poll_start(watcher->poll, uv::kReadable, OnReadable);
  }
}

void LoopRecv::Push(Watcher* watcher, double token, int status, size_t bytes) {
  double* record = records_ + count_ * kRecordFields;
  record[0] = watcher->id;
  record[1] = token;
  record[2] = status;
  record[3] = static_cast<double>(bytes);
  count_++;
}

void LoopRecv::OnCheck(void* handle) {
  auto* self = static_cast<LoopRecv*>(uv::HandleData(handle));
  self->Flush();
  self->StopIdle();
}

void LoopRecv::Flush() {
  if (count_ == 0) return;
  const size_t count = count_;
  count_ = 0;
  delivering_ = true;
  // The recv an awaiting loop queues next is queued before StopIdle.
  CallBatch(count);
  delivering_ = false;
  watchers_.ReleaseRetired();
}

void LoopRecv::BeforeBatch() {
  if (starts_ != nullptr) starts_[0] = 1;
}

void LoopRecv::AfterBatch() {
  if (starts_ == nullptr) return;
  starts_[0] = 0;
  TakeStaged();
}

// A served watcher with nothing queued after JS returned stops waiting.
void LoopRecv::StopIdle() {
  for (Watcher* watcher : served_) {
    watcher->served = false;
    if (!watcher->closed && watcher->started && watcher->recvs.empty()) {
      watcher->started = false;
      uv_->poll_stop(watcher->poll);
    }
  }
  served_.clear();
}

void LoopRecv::OnPollClosed(void* handle) {
  auto* watcher = static_cast<Watcher*>(uv::HandleData(handle));
  LoopRecv* self = watcher->owner;
  // A closed watcher may still be in served_ until this iteration's check.
  if (watcher->served) {
    auto& served = self->served_;
    for (auto it = served.begin(); it != served.end(); ++it) {
      if (*it == watcher) {
        served.erase(it);
        break;
      }
    }
  }
  delete watcher;
  free(handle);
  self->HandleClosed();
}

// The environment is going away: every watcher's poll and the check are
// closed, and the hook waits for their close callbacks, which free them.
// Queued recvs are dropped (their promises die with the environment); the
// sockets' descriptors are closed by EnvHandles.
void LoopRecv::Cleanup(napi_async_cleanup_hook_handle hook, void* data) {
  auto* self = static_cast<LoopRecv*>(data);
  self->BeginTeardown(hook);
  if (self->check_ != nullptr) {
    for (Watcher* watcher : self->watchers_.all()) {
      if (watcher == nullptr || watcher->closed) continue;
      watcher->closed = true;
      DropQueue(&watcher->recvs);
      self->CloseHandle(watcher->poll, OnPollClosed);
    }
    self->watchers_.Forget();
    self->CloseHandle(self->check_, OnOwnHandleClosed<LoopRecv>);
  }
  self->EndTeardown();
}

LoopRecv* Of(const Napi::CallbackInfo& info) { return static_cast<LoopRecv*>(info.Data()); }
uint32_t IdOf(const Napi::CallbackInfo& info) { return info[0].As<Napi::Number>().Uint32Value(); }

// loopRecvInit(records: Float64Array, onBatch(count), starts?: Float64Array):
// 0, or a negative errno (-ENOSYS: the process's event loop cannot be
// reached).
Napi::Value Init(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), Of(info)->Init(info[0], info[1], info[2]));
}

// loopRecvOpen(socket): the watcher's id, or a negative errno.
Napi::Value Open(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Of(info)->Open(info[0].As<Napi::Number>().Int32Value())));
}

// loopRecv(id, token, buffer: Uint8Array): 0, or -EBADF for a closed watcher.
Napi::Value Recv(const Napi::CallbackInfo& info) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(info.Env(), info[2], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array) {
    throw ArgumentTypeError(info.Env(), "loopRecv: buffer is a Uint8Array");
  }
  const double token = info[1].As<Napi::Number>().DoubleValue();
  return Napi::Number::New(info.Env(), Of(info)->Recv(IdOf(info), token, static_cast<uint8_t*>(data), length));
}

// loopRecvCancel(id, token): whether the op was still queued (it is gone then).
Napi::Value Cancel(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Of(info)->Cancel(IdOf(info), info[1].As<Napi::Number>().DoubleValue()));
}

// loopRecvClose(id): whether the id is free now (false: a batch on its way names it).
Napi::Value Close(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), Of(info)->Close(IdOf(info))); }

}  // namespace

void ExportLoopRecvCalls(Napi::Env env, Napi::Object exports) {
  // One per environment, freed by its cleanup hook.
  auto* self = new LoopRecv(env);
  napi_add_async_cleanup_hook(env, LoopRecv::Cleanup, self, nullptr);
  exports.Set("loopRecvInit", Napi::Function::New<Init>(env, "loopRecvInit", self));
  exports.Set("loopRecvOpen", Napi::Function::New<Open>(env, "loopRecvOpen", self));
  exports.Set("loopRecv", Napi::Function::New<Recv>(env, "loopRecv", self));
  exports.Set("loopRecvCancel", Napi::Function::New<Cancel>(env, "loopRecvCancel", self));
  exports.Set("loopRecvClose", Napi::Function::New<Close>(env, "loopRecvClose", self));
}

}  // namespace overlapped
