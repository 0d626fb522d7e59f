#include "iocp.h"

#include <new>
#include <string>
#include <system_error>

#include "errors.h"

// ntdll exports this on every Windows version; mingw-w64's winternl.h
// declares it only in some configurations.
extern "C" ULONG WINAPI RtlNtStatusToDosError(LONG status);

namespace overlapped {
namespace {

// A completion queued by Post(). Allocated by the posting thread, owned by
// the port while queued, and freed by the thread that reaps it.
struct PostedPacket : PortPacket {
  double token;
  double status;
  uint32_t poster;
  uint64_t seq;
};

// One shared stop packet serves every backend: the port never writes to the
// OVERLAPPED of a packet queued with PostQueuedCompletionStatus, and a stop
// packet carries nothing but its kind.
PortPacket stop_packet = {{}, PacketKind::kStop};

// Completion keys are ULONG_PTR; JS hands them over as doubles that the
// TypeScript layer has already checked to be non-negative safe integers.
ULONG_PTR KeyFromDouble(double key) {
  return key >= 0 ? static_cast<ULONG_PTR>(key) : 0;
}

void FillError(BackendError* error, DWORD code, const std::string& what) {
  if (error == nullptr) return;
  error->code = Win32CodeName(code);
  error->errnum = static_cast<int>(code);
  error->message = what + ": " + Win32Message(code);
}

}  // namespace

IocpBackend::~IocpBackend() { Stop(); }

bool IocpBackend::Start(const BackendConfig& config, CompletionSink* sink,
                        BackendError* error) {
  std::lock_guard<std::mutex> lock(lifecycle_mutex_);
  if (state_ != State::kNew || sink == nullptr || config.threads < 1 ||
      config.concurrency < 1) {
    FillError(error, ERROR_INVALID_PARAMETER,
              state_ == State::kNew ? "iocp backend: bad configuration"
                                    : "iocp backend: already started");
    return false;
  }

  // The port's own concurrency value makes the kernel wake at most that many
  // workers at once (last in, first out); the sink's EnterRun enforces the
  // same limit across everything that runs completions.
  port_ = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0,
                                 config.concurrency);
  if (port_ == nullptr) {
    FillError(error, GetLastError(), "CreateIoCompletionPort");
    return false;
  }
  sink_ = sink;
  accepting_posts_.store(true);

  try {
    workers_.reserve(config.threads);
    for (unsigned i = 0; i < config.threads; ++i) {
      workers_.emplace_back(&IocpBackend::RunWorker, this);
    }
  } catch (const std::system_error& failure) {
    // Nothing may be left running: stop and join the workers that started.
    accepting_posts_.store(false);
    PostStopPackets(workers_.size());
    for (std::thread& worker : workers_) worker.join();
    workers_.clear();
    CloseHandle(port_);
    port_ = nullptr;
    sink_ = nullptr;
    if (error != nullptr) {
      error->code = "EAGAIN";
      error->errnum = failure.code().value();
      error->message = std::string("iocp backend: cannot start workers: ") +
                       failure.what();
    }
    return false;
  }
  state_ = State::kRunning;
  return true;
}

void IocpBackend::Post(const Posted* posted, size_t count) {
  posts_in_flight_.fetch_add(1);
  if (!accepting_posts_.load()) {
    // Post before Start or after Stop breaks the contract; there is no port
    // to queue on, so the completions are dropped rather than crash.
    posts_in_flight_.fetch_sub(1);
    return;
  }
  for (size_t i = 0; i < count; ++i) {
    const Posted& item = posted[i];
    auto* packet = new (std::nothrow) PostedPacket;
    if (packet != nullptr) {
      packet->overlapped = {};
      packet->kind = PacketKind::kPosted;
      packet->token = item.record.token;
      packet->status = item.record.status;
      packet->poster = item.poster;
      packet->seq = item.seq;
      if (PostQueuedCompletionStatus(port_, static_cast<DWORD>(item.record.bytes),
                                     KeyFromDouble(item.record.key),
                                     &packet->overlapped)) {
        continue;
      }
      delete packet;
    }
    // Out of memory (for the packet or the port's own queue entry): the
    // completion still has to arrive exactly once, so it goes to the sink
    // from this thread; the sink keeps each poster's order by seq.
    DeliverOnCaller(&item, 1);
  }
  posts_in_flight_.fetch_sub(1);
}

void IocpBackend::Stop() {
  std::lock_guard<std::mutex> lock(lifecycle_mutex_);
  if (state_ != State::kRunning) {
    state_ = State::kStopped;
    return;
  }
  // Ops in flight are cancelled and their packets reaped while the workers
  // still run, so none is left in the kernel's hands.
  CancelAllOps();
  // The port dequeues in FIFO order, so every packet posted before this line
  // is reaped before any stop packet. One stop packet per worker; a worker
  // that reaps more than one in a batch passes the extras on (see RunWorker),
  // so no worker is left waiting.
  PostStopPackets(workers_.size());
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();

  // Posts that raced with Stop may have landed behind the stop packets:
  // wait for them to finish queuing, then deliver them from this thread.
  accepting_posts_.store(false);
  while (posts_in_flight_.load() != 0) std::this_thread::yield();
  DeliverRemaining();

  CloseHandle(port_);
  port_ = nullptr;
  sink_ = nullptr;
  state_ = State::kStopped;
}

void IocpBackend::RunWorker() {
  OVERLAPPED_ENTRY entries[kReapBatch];
  Posted batch[kReapBatch];
  for (;;) {
    ULONG reaped = 0;
    if (!GetQueuedCompletionStatusEx(port_, entries, kReapBatch, &reaped,
                                     INFINITE, FALSE)) {
      // The port outlives every worker (Stop joins before it closes it), so
      // this is unexpected; leaving is safer than spinning. Stop still
      // delivers what this worker would have reaped.
      return;
    }
    size_t completions = 0;
    size_t stops = 0;
    size_t ops = 0;
    for (ULONG i = 0; i < reaped; ++i) {
      bool is_stop = false;
      auto* packet = reinterpret_cast<PortPacket*>(entries[i].lpOverlapped);
      if (packet != nullptr && packet->kind == PacketKind::kOp) {
        entries[ops++] = entries[i];  // compacted in place, in order
      } else if (TakeCompletion(entries[i], &batch[completions], &is_stop)) {
        ++completions;
      } else if (is_stop) {
        ++stops;
      }
    }
    if (completions != 0 || ops != 0) {
      sink_->EnterRun();
      if (completions != 0) sink_->Deliver(batch, completions);
      for (size_t i = 0; i < ops; ++i) ReapOpPacket(entries[i]);
      sink_->LeaveRun();
    }
    if (stops != 0) {
      // This worker leaves; the stop packets it took beyond its own belong
      // to workers still waiting on the port.
      PostStopPackets(stops - 1);
      return;
    }
  }
}

bool IocpBackend::TakeCompletion(const OVERLAPPED_ENTRY& entry, Posted* out,
                                 bool* is_stop) {
  if (entry.lpOverlapped == nullptr) return false;
  // lpOverlapped is the first member of a PortPacket (standard layout).
  auto* packet = reinterpret_cast<PortPacket*>(entry.lpOverlapped);
  if (packet->kind == PacketKind::kStop) {
    *is_stop = true;
    return false;
  }
  auto* posted = static_cast<PostedPacket*>(packet);
  out->record.key = static_cast<double>(entry.lpCompletionKey);
  out->record.bytes = static_cast<double>(entry.dwNumberOfBytesTransferred);
  out->record.token = posted->token;
  out->record.status = posted->status;
  out->poster = posted->poster;
  out->seq = posted->seq;
  delete posted;
  return true;
}

void IocpBackend::PostStopPackets(size_t count) {
  for (size_t i = 0; i < count; ++i) {
    // A stop packet must get through or a worker waits forever, and queuing
    // can only fail for want of memory, which is worth waiting out.
    while (!PostQueuedCompletionStatus(port_, 0, 0, &stop_packet.overlapped)) {
      Sleep(1);
    }
  }
}

void IocpBackend::DeliverRemaining() {
  OVERLAPPED_ENTRY entries[kReapBatch];
  Posted batch[kReapBatch];
  for (;;) {
    ULONG reaped = 0;
    if (!GetQueuedCompletionStatusEx(port_, entries, kReapBatch, &reaped, 0,
                                     FALSE) ||
        reaped == 0) {
      return;  // WAIT_TIMEOUT: the port is empty.
    }
    size_t completions = 0;
    for (ULONG i = 0; i < reaped; ++i) {
      bool is_stop = false;
      auto* packet = reinterpret_cast<PortPacket*>(entries[i].lpOverlapped);
      if (packet != nullptr && packet->kind == PacketKind::kOp) {
        ReapOpPacket(entries[i]);
      } else if (TakeCompletion(entries[i], &batch[completions], &is_stop)) {
        ++completions;
      }
    }
    if (completions != 0) DeliverOnCaller(batch, completions);
  }
}

void IocpBackend::DeliverOnCaller(const Posted* posted, size_t count) {
  sink_->EnterRun();
  sink_->Deliver(posted, count);
  sink_->LeaveRun();
}

namespace {

// What a blocking op keeps in its packet's scratch space until a worker
// runs it.
struct BlockingScratch {
  IocpBackend* backend;
};
static_assert(sizeof(BlockingScratch) <= sizeof(OpPacket::scratch), "BlockingScratch must fit");

}  // namespace

void FailOpWithWin32(Op* op, DWORD error) {
  op->result = Win32ToErrno(error);
  op->raw_error = error;
}

void IocpBackend::Submit(Op* const* ops, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    Op* op = ops[i];
    auto* packet = new (op->backend_storage) OpPacket;
    packet->overlapped = {};
    packet->kind = PacketKind::kOp;
    packet->op = op;
    if (op->offset >= 0) {
      packet->overlapped.Offset = static_cast<DWORD>(op->offset & 0xffffffff);
      packet->overlapped.OffsetHigh = static_cast<DWORD>(static_cast<uint64_t>(op->offset) >> 32);
    }
    {
      std::lock_guard<std::mutex> lock(ops_mutex_);
      ops_in_flight_.insert(op);
    }
    const WinOpEntry* entry = WinOpOf(op->kind);
    bool pending;
    if (entry == nullptr) {
      FailOpWithWin32(op, ERROR_NOT_SUPPORTED);
      pending = false;
    } else if (entry->run != nullptr) {
      // The op's own packet: the worker that reaps it runs the call.
      reinterpret_cast<BlockingScratch*>(packet->scratch)->backend = this;
      pending = PostQueuedCompletionStatus(port_, 0, kOpCompletionKey, &packet->overlapped) != 0;
      if (!pending) FailOpWithWin32(op, GetLastError());
    } else {
      // A call that fails at once queues no packet on Windows, but Wine
      // queues one for a failed ReadFile/WriteFile of a regular file (an
      // EFBIG write, say) as well as returning the error. The op is
      // completed here all the same; what keeps its stray packet from
      // completing another op is that (1) the call's outcome is published
      // in the packet, so a packet reaped while the call is still being
      // made waits for it and one of a call that finished at once is
      // dropped (ReapOpPacket), and (2) an op that failed at once is
      // quarantined when it is retired (Op::quarantine): its memory is
      // neither reused nor freed while its stray may still come (a stray
      // read as another op's completion failed innocent reads with EIO).
      packet->call_state.store(CallState::kStarting, std::memory_order_relaxed);
      pending = entry->start(this, op, packet);
      if (!pending && op->result < 0) op->quarantine = true;
      packet->call_state.store(pending ? CallState::kPending : CallState::kFinishedAtOnce, std::memory_order_release);
    }
    // Finished at once: completed here (a packet that comes all the same
    // is dropped, see above).
    if (!pending) CompleteOpHere(op);
  }
}

void IocpBackend::ReapOpPacket(const OVERLAPPED_ENTRY& entry) {
  auto* packet = reinterpret_cast<OpPacket*>(entry.lpOverlapped);
  // A packet may be reaped before the thread that made its call has
  // returned from it (a read of cached data completes inside ReadFile);
  // that thread is about to say whether the call pends.
  CallState state;
  while ((state = packet->call_state.load(std::memory_order_acquire)) == CallState::kStarting) {
    SwitchToThread();
  }
  // The stray of a call that finished at once (Wine): Submit completed the op.
  if (state == CallState::kFinishedAtOnce) return;
  FinishOp(packet, entry.dwNumberOfBytesTransferred, static_cast<LONG>(entry.Internal));
}

void IocpBackend::FinishOp(OpPacket* packet, DWORD bytes, LONG status) {
  Op* op = packet->op;
  // The kernel leaves the I/O's LONG in OVERLAPPED.Internal.
  DWORD error = status >= 0 ? 0 : RtlNtStatusToDosError(status);
  const WinOpEntry* entry = WinOpOf(op->kind);
  if (entry->run != nullptr) {
    // Cancel cannot reach a call that has not started: the flag is
    // checked here, before it does.
    if (op->cancel_requested.load(std::memory_order_relaxed) && op->kind != OpKind::kNop) {
      FailOpWithWin32(op, ERROR_OPERATION_ABORTED);
    } else {
      entry->run(reinterpret_cast<BlockingScratch*>(packet->scratch)->backend, op);
    }
  } else {
    // A continuing op (a send's rest, a forward's next step) makes its
    // next call from here, and that call may fail at once and still queue
    // a packet, as a first call may: the same protocol as in Submit keeps
    // such a stray from completing the op again, or another op later.
    packet->call_state.store(CallState::kStarting, std::memory_order_relaxed);
    if (!entry->finish(op, packet, bytes, error)) {
      packet->call_state.store(CallState::kPending, std::memory_order_release);
      return;  // the op continues: its next step's packet will arrive
    }
    // Finished here. A failure after a step that succeeded came from the
    // next call, failed at once (or from a cancel seen between the two):
    // its stray may still come, so the op is quarantined like a first
    // call's. A failed step made no call, and queues nothing more.
    if (error == 0 && op->result < 0) op->quarantine = true;
    packet->call_state.store(CallState::kFinishedAtOnce, std::memory_order_release);
  }
  CompleteOpHere(op);
}

void IocpBackend::CompleteOpHere(Op* op) {
  {
    std::lock_guard<std::mutex> lock(ops_mutex_);
    ops_in_flight_.erase(op);
  }
  sink_->CompleteOp(op);
}

// Cancels the I/O `op` has in flight. A relaying op's (a forward's) step
// runs on its socket or on its target, `arg`: CancelIoEx names the handle,
// so both are asked (the one without the step finds nothing).
static void CancelOpIo(Op* op, OpPacket* packet) {
  CancelIoEx(reinterpret_cast<HANDLE>(op->handle), &packet->overlapped);
  if (TraitsOf(op->kind).relays && op->arg != op->handle) {
    CancelIoEx(reinterpret_cast<HANDLE>(op->arg), &packet->overlapped);
  }
}

void IocpBackend::Cancel(Op* op) {
  if (op->kind == OpKind::kNop) return;  // its packet is already queued
  auto* packet = reinterpret_cast<OpPacket*>(op->backend_storage);
  std::lock_guard<std::mutex> lock(ops_mutex_);
  // Only an op still in flight may be named: its OVERLAPPED is live.
  if (ops_in_flight_.count(op) != 0) CancelOpIo(op, packet);
}

int IocpBackend::Associate(int64_t handle, double, uint32_t* raw) {
  if (CreateIoCompletionPort(reinterpret_cast<HANDLE>(handle), port_, kOpCompletionKey, 0) == nullptr) {
    DWORD error = GetLastError();
    if (raw != nullptr) *raw = error;
    return Win32ToErrno(error);
  }
  return 0;
}

void IocpBackend::CancelAllOps() {
  {
    std::lock_guard<std::mutex> lock(ops_mutex_);
    for (Op* op : ops_in_flight_) {
      if (op->kind == OpKind::kNop) continue;
      // The flag also stops an op that continues (see RecheckCancel).
      op->cancel_requested.store(true);
      CancelOpIo(op, reinterpret_cast<OpPacket*>(op->backend_storage));
    }
  }
  // Cancelled I/O still completes through the port; the workers reap it.
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(ops_mutex_);
      if (ops_in_flight_.empty()) return;
    }
    Sleep(1);
  }
}

}  // namespace overlapped
