// The sockets' event drivers on the JS thread: each JS environment's event
// sockets are served by its own thread, on its own event loop (the loop
// from napi_get_uv_event_loop), with no thread hop and no thread-safe
// function. Received bytes reach JS in batches: one call per wake with a
// record per event (data, end, writable, closed); a data record is a view
// into driver-owned memory, valid during that call.
//
// 'poll' (any Linux): each socket has a uv_poll, so libuv's own epoll_wait
// reports it; the poll callbacks of one loop iteration read each readable
// socket once into one shared buffer, and a uv_check (run right after the
// poll phase) delivers the batch. One epoll set per environment under a
// single uv_poll was measured too: it pays a second epoll_wait per wake and
// the kernel's nested-epoll wake-up (1.14x Bun.listen's CPU per 64 B round
// trip, in the run that gave one uv_poll per socket about 1.0x).
//
// 'uring' (where the kernel has multishot recv and provided-buffer rings):
// one ring per environment, submitted to and reaped by the JS thread alone
// (SINGLE_ISSUER | DEFER_TASKRUN where the kernel takes them, else
// COOP_TASKRUN). Each socket keeps one multishot recv posted that picks its
// buffers from a ring of buffers registered once (the shared buffer cut in
// pieces); the ring's eventfd, watched by one uv_poll, wakes the loop, and
// the wake reaps every CQE and delivers them as one batch; the buffers go
// back to the ring once JS returned. A multishot recv the kernel ends
// (ENOBUFS, or any end without F_MORE) is posted again unless paused.
//
// Writes are the same in both: send(MSG_DONTWAIT) on the JS thread at once,
// the rest copied into the socket's queue of chunks, which the poll's
// writable callbacks (or one IORING_OP_SEND at a time) send. end() shuts the
// sending side once the queue is out, close() closes then; reset() closes
// at once with SO_LINGER 0.
//
// JS-thread only: every entry point runs on the environment's thread.
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <unordered_set>
#include <vector>

#include "../common/env_handles.h"
#include "../common/errors.h"
#include "../common/events.h"
#include "loop_host.h"
#include "probe.h"
#include "ring.h"
#include "uv_shim.h"

namespace overlapped {

namespace {

// A record is four int32: connection id, type, then for data the offset
// and length of its bytes in the shared buffer, for closed the call that
// failed (Syscall) and a negative errno (0 when it closed without error).
enum RecordType : int32_t { kData = 1, kEnd = 2, kWritable = 3, kClosed = 4 };
enum Syscall : int32_t { kNone = 0, kRecv = 1, kSend = 2 };
constexpr size_t kRecordInts = 4;
// poll: a read takes at most kReadChunk, and the batch is delivered before
// a read would have less than kMinRoom bytes of room.
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMinRoom = 16 * 1024;
// uring: the shared buffer is cut into kRingBuffers buffers of
// kRingBufferBytes for the buffer ring, and kScratchBytes after them carry
// the bytes a paused socket received before its recv was cancelled.
constexpr unsigned kRingBuffers = 64;
constexpr size_t kRingBufferBytes = 16 * 1024;
constexpr size_t kScratchBytes = 64 * 1024;
constexpr size_t kUringDataBytes = kRingBuffers * kRingBufferBytes + kScratchBytes;
constexpr unsigned kRingEntries = 256;
// Where the kernel copies received bytes: the driver's memory starts on a
// page and each read lands on a cache line. The kernel's copy to user
// memory (rep movsb) into a destination off a 64-byte boundary made a 16 KiB
// loopback round trip cost about 1.4x the aligned one on an AMD EPYC host,
// enough to put a 16 KiB echo at 1.7x the C epoll floor; a JS ArrayBuffer of
// this size starts 16 bytes into a page (its malloc header).
constexpr size_t kDataAlignment = 4096;
constexpr size_t kReadAlignment = 64;
constexpr uint16_t kBufferGroup = 0;
// A CQE's user_data: the Conn's address with the op in the low bits.
constexpr uint64_t kOpRecv = 0;
constexpr uint64_t kOpSend = 1;
constexpr uint64_t kOpMask = 7;

class EventLoop;

// Connection records alive in the process, every environment's: what
// eventsRecords() reports, so that a test sees one left behind.
std::atomic<int64_t> g_records{0};

struct Conn {
  Conn() { g_records.fetch_add(1, std::memory_order_relaxed); }
  ~Conn() { g_records.fetch_sub(1, std::memory_order_relaxed); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  EventLoop* loop = nullptr;
  void* poll = nullptr;  // poll: the uv_poll; its data is this Conn
  int fd = -1;
  uint32_t id = 0;
  int interest = 0;  // poll: UV_READABLE | UV_WRITABLE the poll waits for
  bool paused = false;
  bool read_ended = false;
  bool end_requested = false;
  bool close_requested = false;
  bool dead = false;
  // An op of the socket's own on the port (a sendFile) uses the descriptor:
  // a close here leaves it open, and JS closes it through the port after
  // that op, so the op never meets the number reused by another file.
  bool lent = false;
  // uring: its multishot recv is posted, a send op is in flight; ops in
  // flight (the Conn is freed when the last one completed after close).
  bool recv_posted = false;
  bool send_posted = false;
  int ops = 0;
  bool end_held = false;     // the peer's FIN came while paused
  bool resume_queued = false;  // in resumed_
  // Bytes write() accepted that the kernel has not taken: chunks in order,
  // the first from `head` on. A chunk never moves while a send reads it.
  std::deque<std::vector<uint8_t>> chunks;
  size_t head = 0;
  size_t queued = 0;
  // uring: bytes received while paused, delivered after resume().
  std::vector<uint8_t> held;

  bool CanRead() const { return !paused && !read_ended && !close_requested; }
  // Held bytes go to JS while it is not paused, also after the FIN came.
  bool CanDeliver() const { return !paused && !close_requested; }
};

class EventLoop final : public LoopHost {
 public:
  EventLoop(napi_env env, bool uring) : LoopHost(env), uring_(uring) {}

  int Init(napi_value data, napi_value records, napi_value callback);
  int64_t Open(int fd);
  int64_t Write(uint32_t id, const uint8_t* bytes, size_t length);
  void End(uint32_t id);
  void SetPaused(uint32_t id, bool paused);
  void SetLent(uint32_t id, bool lent);
  bool Close(uint32_t id);
  void Reset(uint32_t id);
  // Where the driver's memory starts, modulo kDataAlignment; -1 before Init.
  int64_t MemoryPageOffset() const {
    return data_ == nullptr ? -1 : static_cast<int64_t>(reinterpret_cast<uintptr_t>(data_) % kDataAlignment);
  }
  double wakes() const { return wakes_; }
  double empty_wakes() const { return empty_wakes_; }

  static void Cleanup(napi_async_cleanup_hook_handle hook, void* self);

 private:
  static void OnSocket(void* handle, int status, int events);
  static void OnCheck(void* handle);
  static void OnWake(void* handle, int status, int events);
  void DrainEventfd();
  void SignalEventfd();
  static void OnPollClosed(void* handle);
  int StartUring();
  Conn* Live(uint32_t id) const { return conns_.Get(id); }
  // poll
  void Serve(Conn* conn, int status, int events);
  bool ReadOnce(Conn* conn);
  bool SendQueued(Conn* conn);
  void UpdateInterest(Conn* conn);
  // uring
  void Wake();
  void Complete(const io_uring_cqe& cqe);
  void Received(Conn* conn, const io_uring_cqe& cqe);
  void Sent(Conn* conn, int result);
  void DeliverHeld(Conn* conn);
  void Hold(Conn* conn, const uint8_t* bytes, size_t length);
  void QueueResumed(Conn* conn);
  io_uring_sqe* Sqe();
  void PostRecv(Conn* conn);
  void PostSend(Conn* conn);
  void CancelOps(Conn* conn);
  void Submit();
  void RecycleBuffers();
  void Release(Conn* conn);
  void DrainRing();
  // both
  void Consume(Conn* conn, size_t bytes);
  bool Drained(Conn* conn);
  bool Push(Conn* conn, RecordType type, int32_t offset, int32_t value);
  void Fail(Conn* conn, Syscall syscall, int error);
  void CloseConn(Conn* conn, bool reset);
  void Flush();

  const bool uring_;
  void* wake_ = nullptr;  // poll: the uv_check; uring: the eventfd's uv_poll
  napi_ref data_ref_ = nullptr;
  napi_ref records_ref_ = nullptr;
  uint8_t* data_ = nullptr;
  size_t data_length_ = 0;
  int32_t* records_ = nullptr;
  size_t record_capacity_ = 0;
  size_t count_ = 0;
  size_t used_ = 0;
  // A closed connection's slot is emptied at once; its id is reused only
  // after the batch that may name it.
  IdSlots<Conn> conns_;
  // uring: closed connections whose ops are still in flight (freed by
  // Release once the last one completed, or by the teardown).
  std::unordered_set<Conn*> dying_;
  // uring
  uring::Ring ring_;
  bool defer_taskrun_ = false;
  // The kernel flags pending task work in the SQ ring (TASKRUN_FLAG): a wake
  // enters only when there is some, and drains the eventfd last.
  bool taskrun_flag_ = false;
  int eventfd_ = -1;
  io_uring_buf_ring* buffers_ = nullptr;
  uint16_t buffer_tail_ = 0;
  std::vector<uint16_t> used_buffers_;  // delivered in the batch being built
  std::vector<Conn*> rearm_;            // recvs to post once buffers are back
  std::vector<Conn*> resumed_;          // held bytes to deliver
  bool in_wake_ = false;
  bool unsubmitted_ = false;
  // Wakes, and wakes that found nothing to do (what eventsWakes reports).
  double wakes_ = 0;
  double empty_wakes_ = 0;
  size_t live_ = 0;  // uring: open connections (the eventfd poll is ref'd while any)
};

int EventLoop::Init(napi_value data, napi_value records, napi_value callback) {
  if (wake_ != nullptr) return -EALREADY;
  uv_ = uv::Resolve();
  if (uv_ == nullptr) return -ENOSYS;
  void* bytes = nullptr;
  size_t length = 0;
  const size_t needed = uring_ ? kUringDataBytes : kReadChunk;
  if (napi_get_arraybuffer_info(env_, data, &bytes, &length) != napi_ok || length < needed) return -EINVAL;
  // The memory starts at the first page boundary inside `data` when the
  // caller gave room for it (else where it starts); JS is told where.
  size_t skip = (kDataAlignment - reinterpret_cast<uintptr_t>(bytes) % kDataAlignment) % kDataAlignment;
  if (length - needed < skip) skip = 0;
  napi_typedarray_type type;
  size_t elements = 0;
  void* ints = nullptr;
  if (napi_get_typedarray_info(env_, records, &type, &elements, &ints, nullptr, nullptr) != napi_ok ||
      type != napi_int32_array || elements < kRecordInts * 16) {
    return -EINVAL;
  }
  if (napi_get_uv_event_loop(env_, &loop_) != napi_ok || loop_ == nullptr) return -ENOSYS;
  data_ = static_cast<uint8_t*>(bytes) + skip;
  data_length_ = length - skip;
  records_ = static_cast<int32_t*>(ints);
  record_capacity_ = elements / kRecordInts;
  if (uring_) {
    const int started = StartUring();
    if (started != 0) return started;
  } else {
    void* check = calloc(1, uv_->handle_size(uv::kCheckType));
    if (check == nullptr) return -ENOMEM;
    uv_->check_init(loop_, check);
    uv::HandleData(check) = this;
    uv_->check_start(check, OnCheck);
    // The check only delivers batches: it keeps no loop alive.
    uv_->unref(check);
    wake_ = check;
  }
  napi_create_reference(env_, data, 1, &data_ref_);
  napi_create_reference(env_, records, 1, &records_ref_);
  KeepBatchCallback(callback, "overlapped:events");
  return static_cast<int>(skip);
}

// The ring, its eventfd and its buffer ring; -errno when the kernel lacks
// any of it (the caller then uses the poll driver).
int EventLoop::StartUring() {
  utsname name{};
  if (uname(&name) != 0 || !uring::ReleaseAtLeast(name.release, 6, 0)) return -ENOSYS;  // multishot recv
  int result = ring_.Setup(kRingEntries, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, IORING_SETUP_TASKRUN_FLAG);
  defer_taskrun_ = result == 0;
  if (result != 0) result = ring_.Setup(kRingEntries, IORING_SETUP_COOP_TASKRUN, IORING_SETUP_TASKRUN_FLAG);
  if (result != 0) return result;
  taskrun_flag_ = (ring_.setup_flags() & IORING_SETUP_TASKRUN_FLAG) != 0;
  eventfd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (eventfd_ < 0) {
    result = -errno;
  } else {
    result = uring::SysRegister(ring_.fd(), IORING_REGISTER_EVENTFD, &eventfd_, 1);
  }
  void* memory = nullptr;
  if (result == 0 && posix_memalign(&memory, 4096, kRingBuffers * sizeof(io_uring_buf)) != 0) result = -ENOMEM;
  if (result == 0) {
    std::memset(memory, 0, kRingBuffers * sizeof(io_uring_buf));
    buffers_ = static_cast<io_uring_buf_ring*>(memory);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(memory);
    reg.ring_entries = kRingBuffers;
    reg.bgid = kBufferGroup;
    result = uring::SysRegister(ring_.fd(), IORING_REGISTER_PBUF_RING, &reg, 1);
  }
  void* poll = nullptr;
  if (result == 0) {
    poll = calloc(1, uv_->handle_size(uv::kPollType));
    if (poll == nullptr || uv_->poll_init(loop_, poll, eventfd_) != 0) result = -ENOMEM;
  }
  if (result != 0) {
    free(poll);
    ring_.Close();
    free(buffers_);
    buffers_ = nullptr;
    if (eventfd_ >= 0) close(eventfd_);
    eventfd_ = -1;
    return result;
  }
  for (uint16_t i = 0; i < kRingBuffers; i++) used_buffers_.push_back(i);
  RecycleBuffers();

  uv::HandleData(poll) = this;
  uv_->poll_start(poll, uv::kReadable, OnWake);
  uv_->unref(poll);
  wake_ = poll;
  return 0;
}

int64_t EventLoop::Open(int fd) {
  if (wake_ == nullptr) return -EBADF;
  void* poll = nullptr;
  if (!uring_) {
    const int result = uv::NewSocketPoll(*uv_, loop_, fd, &poll);
    if (result != 0) return result;
  }
  auto* conn = new Conn();
  conn->loop = this;
  conn->poll = poll;
  conn->fd = fd;
  const uint32_t id = conns_.Add(conn);
  conn->id = id;
  if (uring_) {
    if (live_++ == 0) uv_->ref(wake_);
    PostRecv(conn);
    Submit();
  } else {
    uv::HandleData(poll) = conn;
    UpdateInterest(conn);
  }
  return id;
}

// ---- poll ----

// An active poll keeps the loop alive, as a reading net.Socket does; a
// paused socket with nothing queued does not.
void EventLoop::UpdateInterest(Conn* conn) {
  const int want = (conn->CanRead() ? uv::kReadable : 0) | (conn->queued > 0 ? uv::kWritable : 0);
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
  if ((events & uv::kWritable) != 0 && conn->queued > 0) SendQueued(conn);
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
    // The next read starts on a cache line (see kReadAlignment).
    used_ = std::min(data_length_, (used_ + static_cast<size_t>(n) + kReadAlignment - 1) & ~(kReadAlignment - 1));
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
  while (conn->queued > 0) {
    const std::vector<uint8_t>& chunk = conn->chunks.front();
    const ssize_t n = send(conn->fd, chunk.data() + conn->head, chunk.size() - conn->head, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      Fail(conn, kSend, errno);
      return false;
    }
    Consume(conn, static_cast<size_t>(n));
  }
  if (!Drained(conn)) return false;
  UpdateInterest(conn);
  return true;
}

// ---- both ----

// `bytes` of the queue's head went out.
void EventLoop::Consume(Conn* conn, size_t bytes) {
  conn->queued -= bytes;
  conn->head += bytes;
  while (!conn->chunks.empty() && conn->head >= conn->chunks.front().size()) {
    conn->head -= conn->chunks.front().size();
    conn->chunks.pop_front();
  }
}

// The queue is out: close, end or report writable. False when the
// connection is gone.
bool EventLoop::Drained(Conn* conn) {
  if (conn->close_requested) {
    if (Push(conn, kClosed, 0, 0)) CloseConn(conn, false);
    return false;
  }
  if (conn->end_requested) {
    conn->end_requested = false;
    shutdown(conn->fd, SHUT_WR);
  }
  return Push(conn, kWritable, 0, 0);
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

// poll: closing the uv_poll first takes the socket out of libuv's epoll
// set (and drops its events still pending in this iteration); the Conn is
// freed in the close callback. uring: the ops in flight are cancelled; the
// Conn is freed when the last one completed.
void EventLoop::CloseConn(Conn* conn, bool reset) {
  if (reset) {
    linger option{1, 0};
    setsockopt(conn->fd, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
  }
  conn->dead = true;
  if (uring_) {
    CancelOps(conn);
    dying_.insert(conn);
    if (--live_ == 0) uv_->unref(wake_);
  } else {
    CloseHandle(conn->poll, OnPollClosed);
  }
  if (!conn->lent) {
    EnvHandles::Of(env_)->Closing(conn->fd);
    close(conn->fd);
  }
  conn->fd = -1;
  // The id is not reused while a batch not yet delivered may name it.
  conns_.Clear(conn->id);
  conns_.Retire(conn->id);
  if (count_ == 0) conns_.ReleaseRetired();
  if (uring_ && !in_wake_) Submit();
}

void EventLoop::OnPollClosed(void* handle) {
  auto* conn = static_cast<Conn*>(uv::HandleData(handle));
  EventLoop* loop = conn->loop;
  delete conn;
  free(handle);
  loop->HandleClosed();
}

void EventLoop::Flush() {
  if (count_ == 0) return;
  const size_t count = count_;
  count_ = 0;
  used_ = 0;
  CallBatch(count);
  if (count_ == 0) conns_.ReleaseRetired();
  // The views of the batch are dead: its buffers go back to the ring.
  if (uring_) RecycleBuffers();
}

// ---- uring ----

void EventLoop::OnWake(void* handle, int, int) { static_cast<EventLoop*>(uv::HandleData(handle))->Wake(); }

// One wake: run the ring's task work, deliver what completed as one batch,
// give the buffers back, post again the recvs the kernel ended. Every CQE
// the ring posts signals its eventfd, the ones this wake's own
// io_uring_enter posts too: with TASKRUN_FLAG the eventfd is drained after
// them (not before), so they make no second, empty wake; what arrived after
// the drain makes the next one (its signal counted after the drain), and
// what the drain swallowed (the kernel flags task work and posts CQEs
// before it signals) is seen by the checks after it.
void EventLoop::Wake() {
  if (!taskrun_flag_) DrainEventfd();
  in_wake_ = true;
  std::vector<Conn*> resumed;
  resumed.swap(resumed_);
  for (Conn* conn : resumed) {
    conn->resume_queued = false;
    DeliverHeld(conn);
    conn->ops--;
    Release(conn);
  }
  unsigned reaped = 0;
  for (int round = 0; round < 4; round++) {
    // With DEFER_TASKRUN completions are posted only when this thread asks;
    // TASKRUN_FLAG says whether there is anything to ask for.
    if (unsubmitted_ || (taskrun_flag_ ? ring_.HasTaskWork() : defer_taskrun_)) {
      unsubmitted_ = false;
      uring::SysEnter(ring_.fd(), ring_.Publish(), 0, IORING_ENTER_GETEVENTS);
    }
    const unsigned now = ring_.ReapCompletions([this](const io_uring_cqe& cqe) { Complete(cqe); });
    if (now == 0) break;
    reaped += now;
  }
  wakes_++;
  if (reaped == 0 && resumed.empty()) empty_wakes_++;
  Flush();
  in_wake_ = false;
  RecycleBuffers();
  std::vector<Conn*> rearm;
  rearm.swap(rearm_);
  for (Conn* conn : rearm) {
    if (!conn->dead && conn->CanRead() && !conn->recv_posted) PostRecv(conn);
    conn->ops--;
    Release(conn);
  }
  Submit();
  if (!taskrun_flag_) return;
  DrainEventfd();
  // Work whose signal the drain took: the loop's next turn wakes for it.
  if (!resumed_.empty() || ring_.HasTaskWork() || ring_.HasCompletions()) SignalEventfd();
}

void EventLoop::DrainEventfd() {
  uint64_t value;
  while (read(eventfd_, &value, sizeof(value)) < 0 && errno == EINTR) {
  }
}

void EventLoop::SignalEventfd() {
  const uint64_t one = 1;
  (void)!write(eventfd_, &one, sizeof(one));
}

void EventLoop::Complete(const io_uring_cqe& cqe) {
  auto* conn = reinterpret_cast<Conn*>(cqe.user_data & ~kOpMask);
  if (conn == nullptr) return;  // a cancel
  if ((cqe.user_data & kOpMask) == kOpRecv) {
    Received(conn, cqe);
  } else {
    Sent(conn, cqe.res);
  }
}

void EventLoop::Received(Conn* conn, const io_uring_cqe& cqe) {
  const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
  if (!more) conn->recv_posted = false;
  if ((cqe.flags & IORING_CQE_F_BUFFER) != 0) {
    const auto buffer = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    // A closing socket's bytes are dropped; a paused one's are held.
    if (cqe.res > 0 && !conn->dead && !conn->close_requested) {
      const uint8_t* bytes = data_ + static_cast<size_t>(buffer) * kRingBufferBytes;
      if (!conn->CanRead() || !conn->held.empty()) {
        Hold(conn, bytes, static_cast<size_t>(cqe.res));
      } else {
        Push(conn, kData, static_cast<int32_t>(buffer * kRingBufferBytes), cqe.res);
      }
    }
    // Noted after the record: a full batch delivered by Push recycles only
    // the buffers before this one.
    used_buffers_.push_back(buffer);
  }
  if (!conn->dead) {
    if (cqe.res == 0) {
      if (!conn->read_ended) {
        const bool deliver = conn->CanRead() && conn->held.empty();
        conn->read_ended = true;
        if (deliver) {
          Push(conn, kEnd, 0, 0);
        } else {
          conn->end_held = true;
        }
      }
    } else if (cqe.res < 0 && cqe.res != -ENOBUFS && cqe.res != -ECANCELED) {
      Fail(conn, kRecv, -cqe.res);
    } else if (!more && conn->CanRead()) {
      // Ended by the kernel (no buffer left, or for its own reasons): posted
      // again once this batch's buffers are back.
      conn->ops++;
      rearm_.push_back(conn);
    }
  }
  if (!more) conn->ops--;
  Release(conn);
}

// Keeps bytes a paused socket received (or that arrived behind held ones)
// for DeliverHeld.
void EventLoop::Hold(Conn* conn, const uint8_t* bytes, size_t length) {
  conn->held.insert(conn->held.end(), bytes, bytes + length);
  if (conn->CanRead()) QueueResumed(conn);
}

// The next wake delivers `conn`'s held bytes; the eventfd makes one.
void EventLoop::QueueResumed(Conn* conn) {
  if (conn->resume_queued) return;
  conn->resume_queued = true;
  conn->ops++;
  resumed_.push_back(conn);
  SignalEventfd();
}

void EventLoop::Sent(Conn* conn, int result) {
  conn->send_posted = false;
  if (!conn->dead) {
    if (result < 0) {
      Fail(conn, kSend, -result);
    } else {
      Consume(conn, static_cast<size_t>(result));
      if (conn->queued > 0) {
        PostSend(conn);
      } else {
        Drained(conn);
      }
    }
  }
  conn->ops--;
  Release(conn);
}

// Bytes received while paused, after resume(): through the scratch space
// behind the ring's buffers, before anything received later.
void EventLoop::DeliverHeld(Conn* conn) {
  size_t at = 0;
  while (!conn->dead && conn->CanDeliver() && at < conn->held.size()) {
    if (used_ + kScratchBytes > kScratchBytes || count_ + 2 > record_capacity_) Flush();
    if (conn->dead) return;
    const size_t n = std::min(kScratchBytes, conn->held.size() - at);
    const size_t offset = kRingBuffers * kRingBufferBytes;
    std::memcpy(data_ + offset, conn->held.data() + at, n);
    used_ = kScratchBytes;
    Push(conn, kData, static_cast<int32_t>(offset), static_cast<int32_t>(n));
    at += n;
    Flush();
  }
  if (conn->dead) return;
  conn->held.erase(conn->held.begin(), conn->held.begin() + static_cast<std::ptrdiff_t>(at));
  if (!conn->held.empty()) return;
  if (conn->end_held) {
    conn->end_held = false;
    Push(conn, kEnd, 0, 0);
  }
  if (conn->CanRead() && !conn->recv_posted) PostRecv(conn);
}

io_uring_sqe* EventLoop::Sqe() {
  io_uring_sqe* sqe = ring_.GetSqe();
  if (sqe == nullptr) {
    ring_.Submit();
    sqe = ring_.GetSqe();
  }
  unsubmitted_ = true;
  return sqe;
}

void EventLoop::PostRecv(Conn* conn) {
  io_uring_sqe* sqe = Sqe();
  if (sqe == nullptr) return;
  sqe->opcode = IORING_OP_RECV;
  sqe->fd = conn->fd;
  sqe->ioprio = IORING_RECV_MULTISHOT;
  sqe->flags = IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  sqe->user_data = reinterpret_cast<uint64_t>(conn) | kOpRecv;
  conn->recv_posted = true;
  conn->ops++;
}

void EventLoop::PostSend(Conn* conn) {
  io_uring_sqe* sqe = Sqe();
  if (sqe == nullptr) return;
  const std::vector<uint8_t>& chunk = conn->chunks.front();
  sqe->opcode = IORING_OP_SEND;
  sqe->fd = conn->fd;
  sqe->addr = reinterpret_cast<uint64_t>(chunk.data() + conn->head);
  sqe->len = static_cast<uint32_t>(chunk.size() - conn->head);
  sqe->msg_flags = MSG_NOSIGNAL;
  sqe->user_data = reinterpret_cast<uint64_t>(conn) | kOpSend;
  conn->send_posted = true;
  conn->ops++;
}

void EventLoop::CancelOps(Conn* conn) {
  const uint64_t ops[] = {conn->recv_posted ? (reinterpret_cast<uint64_t>(conn) | kOpRecv) : 0,
                          conn->send_posted ? (reinterpret_cast<uint64_t>(conn) | kOpSend) : 0};
  for (const uint64_t op : ops) {
    if (op == 0) continue;
    io_uring_sqe* sqe = Sqe();
    if (sqe == nullptr) return;
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->fd = -1;
    sqe->addr = op;
    sqe->user_data = 0;
  }
}

void EventLoop::Submit() {
  if (!unsubmitted_) return;
  unsubmitted_ = false;
  ring_.Submit();
}

void EventLoop::RecycleBuffers() {
  if (used_buffers_.empty()) return;
  const uint16_t mask = kRingBuffers - 1;
  // The entries from the ring's start: C++ sees the header's flexible
  // `bufs` member one byte in (after an empty struct of size 1); the tail
  // shares the first entry's last field.
  auto* entries = reinterpret_cast<io_uring_buf*>(buffers_);
  for (const uint16_t id : used_buffers_) {
    io_uring_buf& buffer = entries[buffer_tail_ & mask];
    buffer.addr = reinterpret_cast<uint64_t>(data_ + static_cast<size_t>(id) * kRingBufferBytes);
    buffer.len = kRingBufferBytes;
    buffer.bid = id;
    buffer_tail_++;
  }
  used_buffers_.clear();
  static_assert(offsetof(io_uring_buf, resv) == offsetof(io_uring_buf_ring, tail), "the ring's tail is the first entry's resv");
  __atomic_store_n(&entries[0].resv, buffer_tail_, __ATOMIC_RELEASE);
}

// uring: frees a closed connection once no op of it is in flight (poll:
// the uv_poll's close callback frees it).
void EventLoop::Release(Conn* conn) {
  if (!uring_ || !conn->dead || conn->ops != 0) return;
  dying_.erase(conn);
  delete conn;
}

// Teardown: every op is cancelled and its last CQE reaped, so that the
// kernel writes nothing into the buffers once the ring is gone.
void EventLoop::DrainRing() {
  io_uring_sqe* sqe = Sqe();
  if (sqe != nullptr) {
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->fd = -1;
    sqe->cancel_flags = IORING_ASYNC_CANCEL_ANY;
    sqe->user_data = 0;
  }
  // The SQEs in flight, closed connections' too: a Conn's `ops` also
  // counts its places in the resumed and rearm lists, which end in no CQE.
  size_t in_flight = 0;
  const auto count = [&in_flight](const Conn* conn) {
    if (conn != nullptr) in_flight += static_cast<size_t>(conn->recv_posted) + static_cast<size_t>(conn->send_posted);
  };
  for (const Conn* conn : conns_.all()) count(conn);
  for (const Conn* conn : dying_) count(conn);
  for (int round = 0; round < 50; round++) {
    uring::SysEnter(ring_.fd(), ring_.Publish(), 0, IORING_ENTER_GETEVENTS);
    ring_.ReapCompletions([&in_flight](const io_uring_cqe& cqe) {
      const bool last = (cqe.user_data & ~kOpMask) != 0 && (cqe.flags & IORING_CQE_F_MORE) == 0;
      if (last && in_flight > 0) in_flight--;
    });
    if (in_flight == 0) break;
    usleep(1000);
  }
}

// ---- the JS calls ----

int64_t EventLoop::Write(uint32_t id, const uint8_t* bytes, size_t length) {
  Conn* conn = Live(id);
  if (conn == nullptr) return -EBADF;
  size_t sent = 0;
  if (conn->queued == 0 && !conn->send_posted) {
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
      Release(conn);
      return -error;
    }
    if (sent == length) return 0;
  }
  conn->chunks.emplace_back(bytes + sent, bytes + length);
  conn->queued += length - sent;
  if (uring_) {
    if (!conn->send_posted) {
      PostSend(conn);
      if (!in_wake_) Submit();
    }
  } else {
    UpdateInterest(conn);
  }
  return static_cast<int64_t>(conn->queued);
}

void EventLoop::End(uint32_t id) {
  Conn* conn = Live(id);
  if (conn == nullptr) return;
  if (conn->queued > 0) {
    conn->end_requested = true;
  } else {
    shutdown(conn->fd, SHUT_WR);
  }
}

void EventLoop::SetPaused(uint32_t id, bool paused) {
  Conn* conn = Live(id);
  if (conn == nullptr || conn->paused == paused) return;
  conn->paused = paused;
  if (!uring_) {
    UpdateInterest(conn);
    return;
  }
  if (paused) {
    // Bytes the recv still takes before the cancel lands are held.
    if (conn->recv_posted) CancelOps(conn);
  } else if (!conn->held.empty() || conn->end_held) {
    QueueResumed(conn);
  } else if (!conn->recv_posted && !conn->read_ended) {
    PostRecv(conn);
  }
  if (!in_wake_) Submit();
}

void EventLoop::SetLent(uint32_t id, bool lent) {
  Conn* conn = Live(id);
  if (conn != nullptr) conn->lent = lent;
}

bool EventLoop::Close(uint32_t id) {
  Conn* conn = Live(id);
  if (conn == nullptr) return true;
  if (conn->queued == 0) {
    CloseConn(conn, false);
    Release(conn);
    return true;
  }
  conn->close_requested = true;
  if (!uring_) UpdateInterest(conn);
  return false;
}

void EventLoop::Reset(uint32_t id) {
  Conn* conn = Live(id);
  if (conn == nullptr) return;
  CloseConn(conn, true);
  Release(conn);
}

// The environment is going away: poll: every handle is closed, and the
// async hook waits for their close callbacks, which free them. uring: the
// ring is closed first (the kernel ends every op; nothing writes into the
// buffers after that), then the eventfd's poll. The sockets' descriptors are
// closed by EnvHandles.
void EventLoop::Cleanup(napi_async_cleanup_hook_handle hook, void* self) {
  auto* loop = static_cast<EventLoop*>(self);
  loop->BeginTeardown(hook);
  if (loop->wake_ != nullptr) {
    if (loop->uring_) {
      loop->DrainRing();
      loop->ring_.Close();
      close(loop->eventfd_);
      free(loop->buffers_);
      for (Conn* conn : loop->conns_.all()) delete conn;
      for (Conn* conn : loop->dying_) delete conn;
      loop->dying_.clear();
    } else {
      for (Conn* conn : loop->conns_.all()) {
        if (conn != nullptr) loop->CloseHandle(conn->poll, OnPollClosed);
      }
    }
    loop->conns_.Forget();
    loop->CloseHandle(loop->wake_, OnOwnHandleClosed<EventLoop>);
  }
  loop->EndTeardown();
}

// Every call names its driver first: 0 'poll', 1 'uring' (each has its own
// EventLoop per environment).
struct Drivers {
  EventLoop* loops[2];
};

EventLoop* LoopOf(const Napi::CallbackInfo& info) {
  return static_cast<Drivers*>(info.Data())->loops[info[0].As<Napi::Number>().Uint32Value() == 1 ? 1 : 0];
}
uint32_t IdOf(const Napi::CallbackInfo& info) { return info[1].As<Napi::Number>().Uint32Value(); }

// eventsInit(driver, data: ArrayBuffer, records: Int32Array, onBatch(count)):
// where the driver's memory starts in `data` (the records' offsets count
// from there: the first page boundary when `data` has a page to spare), or a
// negative errno (the kernel lacks what 'uring' needs: -ENOSYS, -EINVAL...).
Napi::Value Init(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), LoopOf(info)->Init(info[1], info[2], info[3]));
}

// eventsOpen(driver, socket): the connection's id, or a negative errno.
Napi::Value Open(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LoopOf(info)->Open(info[1].As<Napi::Number>().Int32Value())));
}

// eventsWrite(driver, id, bytes): bytes still queued (0: all sent), or a
// negative errno when the connection died (it is closed then).
Napi::Value Write(const Napi::CallbackInfo& info) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value array;
  size_t offset = 0;
  if (napi_get_typedarray_info(info.Env(), info[2], &type, &length, &data, &array, &offset) != napi_ok ||
      type != napi_uint8_array) {
    throw ArgumentTypeError(info.Env(), "eventsWrite: bytes is a Uint8Array");
  }
  return Napi::Number::New(info.Env(), static_cast<double>(LoopOf(info)->Write(IdOf(info), static_cast<uint8_t*>(data), length)));
}

void End(const Napi::CallbackInfo& info) { LoopOf(info)->End(IdOf(info)); }
void Pause(const Napi::CallbackInfo& info) { LoopOf(info)->SetPaused(IdOf(info), true); }
void Resume(const Napi::CallbackInfo& info) { LoopOf(info)->SetPaused(IdOf(info), false); }
// eventsClose(driver, id): true when it closed now, false when a closed
// record follows once the queue is out.
Napi::Value Close(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), LoopOf(info)->Close(IdOf(info))); }
void Reset(const Napi::CallbackInfo& info) { LoopOf(info)->Reset(IdOf(info)); }
// eventsLend(driver, id, lent): whether an op of the socket's own holds its
// descriptor (a close then leaves the descriptor to JS).
void Lend(const Napi::CallbackInfo& info) { LoopOf(info)->SetLent(IdOf(info), info[2].ToBoolean().Value()); }

// eventsRecords(): the connection records alive in the process.
Napi::Value Records(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(g_records.load(std::memory_order_relaxed)));
}

// eventsMemoryPageOffset(driver): where the driver's memory starts, modulo
// the page size (0: on a page boundary), or -1 before eventsInit.
Napi::Value MemoryPageOffset(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LoopOf(info)->MemoryPageOffset()));
}

// eventsWakes(driver): [wakes, wakes that found nothing to do] of the
// 'uring' driver's eventfd (zeros for 'poll').
Napi::Value Wakes(const Napi::CallbackInfo& info) {
  EventLoop* loop = LoopOf(info);
  Napi::Array counts = Napi::Array::New(info.Env(), 2);
  counts.Set(0u, Napi::Number::New(info.Env(), loop->wakes()));
  counts.Set(1u, Napi::Number::New(info.Env(), loop->empty_wakes()));
  return counts;
}

// eventsKind(): 'poll' when the process's event loop can be reached, else
// '' (then no driver here runs; 'uring' is asked for by eventsInit).
Napi::Value Kind(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), uv::Resolve() != nullptr ? "poll" : "");
}

}  // namespace

void ExportEventCalls(Napi::Env env, Napi::Object exports) {
  // Made once per environment; freed with it (the loops by their cleanup
  // hooks, this by the environment's finalizer).
  auto* drivers = new Drivers{{new EventLoop(env, false), new EventLoop(env, true)}};
  for (EventLoop* loop : drivers->loops) napi_add_async_cleanup_hook(env, EventLoop::Cleanup, loop, nullptr);
  napi_add_env_cleanup_hook(env, [](void* data) { delete static_cast<Drivers*>(data); }, drivers);
  exports.Set("eventsKind", Napi::Function::New<Kind>(env, "eventsKind"));
  exports.Set("eventsInit", Napi::Function::New<Init>(env, "eventsInit", drivers));
  exports.Set("eventsOpen", Napi::Function::New<Open>(env, "eventsOpen", drivers));
  exports.Set("eventsWrite", Napi::Function::New<Write>(env, "eventsWrite", drivers));
  exports.Set("eventsEnd", Napi::Function::New<End>(env, "eventsEnd", drivers));
  exports.Set("eventsPause", Napi::Function::New<Pause>(env, "eventsPause", drivers));
  exports.Set("eventsResume", Napi::Function::New<Resume>(env, "eventsResume", drivers));
  exports.Set("eventsClose", Napi::Function::New<Close>(env, "eventsClose", drivers));
  exports.Set("eventsReset", Napi::Function::New<Reset>(env, "eventsReset", drivers));
  exports.Set("eventsRecords", Napi::Function::New<Records>(env, "eventsRecords"));
  exports.Set("eventsLend", Napi::Function::New<Lend>(env, "eventsLend", drivers));
  exports.Set("eventsWakes", Napi::Function::New<Wakes>(env, "eventsWakes", drivers));
  exports.Set("eventsMemoryPageOffset", Napi::Function::New<MemoryPageOffset>(env, "eventsMemoryPageOffset", drivers));
}

}  // namespace overlapped
