#include "io_uring_backend.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "../posix/errno_name.h"
#include "probe.h"
#include "uring_ops.h"

namespace overlapped {

namespace {

void FillError(BackendError* error, int errnum, std::string message) {
  if (error == nullptr) return;
  error->code = ErrnoName(errnum);
  error->errnum = errnum;
  error->message = std::move(message);
}

// The most SQEs a worker submits in one io_uring_enter (see RunWorker).
constexpr unsigned kSubmitSlice = 16;

void PauseOneMillisecond() {
  timespec pause{0, 1000000};
  nanosleep(&pause, nullptr);
}

// EAGAIN (no memory for requests right now) and EBUSY (CQ overflow backlog)
// clear once the kernel or the reaper catches up.
bool IsTransient(int result) {
  return result == -EINTR || result == -EAGAIN || result == -EBUSY;
}

// The worker running on this thread, if any: a single-issuer ring takes
// io_uring_enter from its worker alone.
thread_local const void* current_worker = nullptr;

}  // namespace

IoUringBackend::~IoUringBackend() {
  Stop();
  ReleaseWorkers();
}

IoUringBackend::Worker::~Worker() {
  // Closed only with the record: a submitter may still write it after Stop.
  if (wake_fd >= 0) close(wake_fd);
}

void IoUringBackend::ReleaseWorkers() {
  // A worker that could not be woken (see StopWorkers) still runs on its
  // ring, so its record is leaked rather than freed under it.
  for (std::unique_ptr<Worker>& worker : workers_) {
    if (worker->thread.running()) {
      worker->thread.Detach();
      worker.release();
    }
  }
  workers_.clear();
}

bool IoUringBackend::Start(const BackendConfig& config, CompletionSink* sink,
                           BackendError* error) {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mutex_);
  if (running_ || stopped_) {
    FillError(error, EBUSY, "the io_uring backend was already started");
    return false;
  }
  if (sink == nullptr || config.threads < 1 || config.concurrency < 1) {
    FillError(error, EINVAL,
              "the io_uring backend needs a sink, threads >= 1 and "
              "concurrency >= 1");
    return false;
  }
  sink_ = sink;
  helpers_.Configure(sink, config.threads);
  multishot_accept_ = uring::KernelHasMultishotAccept();
  workers_.clear();
  for (unsigned index = 0; index < config.threads; ++index) {
    auto worker = std::make_unique<Worker>();
    worker->backend = this;
    worker->index = index;
    const int setup = uring::SetUpWorkerRing(&worker->ring);
    if (setup < 0) {
      uring::ExplainRingSetupFailure(-setup, error);
      if (error != nullptr && index > 0) {
        error->message = "ring " + std::to_string(index + 1) + " of " +
                         std::to_string(config.threads) + ": " +
                         error->message;
      }
      workers_.clear();
      return false;
    }
    // Every ring comes from the same kernel, so checking one is enough.
    if (index == 0 && !uring::CheckWorkerRing(&worker->ring, error)) {
      workers_.clear();
      return false;
    }
    // Without the eventfd every op is submitted by the thread that starts
    // it, which is correct, only slower for buffered reads and writes.
    worker->wake_fd = eventfd(0, EFD_CLOEXEC);
    worker->posted.reserve(256);
    worker->delivering.reserve(256);
    worker->reaped_ops.reserve(256);
    workers_.push_back(std::move(worker));
  }
  file_workers_ = workers_.size();
  // The sockets' ring is made with the first socket op (SocketsWorker), so
  // a port that serves files only has no thread for it; room for it is
  // reserved now, so adding it moves no other worker.
  workers_.reserve(file_workers_ + 1);
  sockets_worker_ = 0;
  sockets_ready_.store(config.sockets_share_ring || !uring::KernelHasMultishotRecv(),
                       std::memory_order_release);
  sockets_closed_ = false;
  for (size_t index = 0; index < workers_.size(); ++index) {
    Worker* worker = workers_[index].get();
    const int errnum = worker->thread.Start(&RunWorkerEntry, worker);
    if (errnum != 0) {
      StopWorkers(index);
      ReleaseWorkers();
      FillError(error, errnum,
                "could not create io_uring worker thread " +
                    std::to_string(index + 1) + " of " +
                    std::to_string(config.threads) +
                    "; lower `threads` or raise the process's thread limit "
                    "(ulimit -u)");
      return false;
    }
  }
  running_ = true;
  return true;
}

bool IoUringBackend::SupportsMultishot(OpKind kind) const {
  return TraitsOf(kind).multishot && multishot_accept_;
}

void IoUringBackend::Post(const Posted* posted, size_t count) {
  if (count == 0) return;
  // A poster's completions go to the ring its number picks, so that one
  // worker reaps them in post order and the sink seldom has to hold any
  // back; posters spread over the rings. Unordered batches go round-robin.
  // Only the file rings take posts: the sockets' ring would need a hand-off
  // for each.
  const size_t index =
      posted[0].poster != kUnordered
          ? posted[0].poster % file_workers_
          : next_worker_.fetch_add(1, std::memory_order_relaxed) %
                file_workers_;
  Worker* worker = workers_[index].get();
  bool ring_doorbell = false;
  bool deliver_inline = false;
  {
    std::lock_guard<std::mutex> lock(worker->posted_mutex);
    if (!worker->closed) {
      worker->posted.insert(worker->posted.end(), posted, posted + count);
      // One doorbell per drain: items queued while one is on its way ride
      // along, because the worker clears the flag and swaps the queue out
      // under this same lock.
      ring_doorbell = !worker->doorbell_outstanding;
      worker->doorbell_outstanding = true;
    } else {
      // Stop has drained this worker but not returned yet, and Post is
      // still allowed in that window: deliver here rather than lose them.
      deliver_inline = true;
    }
  }
  if (deliver_inline) DeliverHere(posted, count);
  if (ring_doorbell && SubmitNop(worker, kDoorbellUserData) != 0) {
    // The kernel kept refusing the doorbell, so the worker will not wake
    // for these items: deliver them on this thread instead.
    DeliverPostedHere(worker, false);
  }
}

IoUringBackend::Worker* IoUringBackend::SocketsWorker() {
  if (!sockets_ready_.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(sockets_mutex_);
    if (!sockets_ready_.load(std::memory_order_relaxed)) {
      if (!sockets_closed_) sockets_worker_ = StartSocketsWorker();
      sockets_ready_.store(true, std::memory_order_release);
    }
  }
  return workers_[sockets_worker_].get();
}

size_t IoUringBackend::StartSocketsWorker() {
  // The sockets' ring is entered by its worker alone (SINGLE_ISSUER |
  // DEFER_TASKRUN): the kernel then runs the receives that sockets' data
  // made ready in a batch when the worker waits, instead of interrupting it
  // for each at its next system call (a forward's multishot recv, say, at
  // each inline send). Other threads hand it their SQEs through its
  // eventfd. The file rings keep being entered by whichever thread submits,
  // which keeps a file read started from JS cheap. If the ring, its eventfd
  // or its thread cannot be had, the sockets share the first ring.
  auto worker = std::make_unique<Worker>();
  worker->backend = this;
  worker->index = static_cast<unsigned>(workers_.size());
  worker->wake_fd = eventfd(0, EFD_CLOEXEC);
  if (worker->wake_fd < 0 || uring::SetUpSingleIssuerRing(&worker->ring) != 0) return 0;
  worker->single_issuer = true;
  worker->posted.reserve(256);
  worker->delivering.reserve(256);
  worker->reaped_ops.reserve(256);
  Worker* started = worker.get();
  // Within the capacity Start reserved: no other worker moves.
  workers_.push_back(std::move(worker));
  if (started->thread.Start(&RunWorkerEntry, started) != 0) {
    workers_.pop_back();
    return 0;
  }
  return started->index;
}

void IoUringBackend::RunWorkerEntry(void* worker) noexcept {
  Worker* self = static_cast<Worker*>(worker);
  self->backend->RunWorker(self);
}

void IoUringBackend::RunWorker(Worker* worker) noexcept {
  char thread_name[16];
  if (worker->single_issuer) {
    std::snprintf(thread_name, sizeof thread_name, "uring-sockets");
  } else {
    std::snprintf(thread_name, sizeof thread_name, "uring-worker-%u",
                  worker->index % 100);
  }
  pthread_setname_np(pthread_self(), thread_name);
  current_worker = worker;
  if (worker->single_issuer) {
    // Enabling the ring makes this thread its one submitter.
    uring::SysRegister(worker->ring.fd(), IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
  }
  if (worker->wake_fd >= 0 && ArmWake(worker) == 0) {
    worker->wake_armed.store(true, std::memory_order_release);
  }
  for (;;) {
    // Steps of continuing ops queued by the last pass, and SQEs handed off
    // by submitters, go in with this wait. The flag is cleared before the
    // SQEs are published, so a submitter that sets it again afterwards
    // also rings the doorbell again.
    const bool handed_off =
        worker->handoff_pending.exchange(false, std::memory_order_acq_rel);
    unsigned queued = 0;
    if (worker->continuations_queued || handed_off) {
      std::lock_guard<std::mutex> lock(worker->submit_mutex);
      worker->continuations_queued = false;
      if (worker->ring.is_open()) queued = worker->ring.Publish();
    }
    // A long queue goes in a slice at a time, without waiting while more is
    // left: each slice's completions reach the sink before the next slice
    // runs, so JS works on them while this thread does the next copies.
    const unsigned slice = queued < kSubmitSlice ? queued : kSubmitSlice;
    const bool more = queued > slice;
    const int waited = queued != 0 ? worker->ring.SubmitAndWait(slice, more ? 0 : 1)
                                   : worker->ring.WaitForCompletions(1);
    if (more) worker->continuations_queued = true;
    if (waited < 0 && queued != 0) {
      // Not submitted: try again on the next pass (the SQEs stay queued).
      worker->continuations_queued = true;
    }
    if (waited < 0 && waited != -EINTR) {
      // Nothing here is expected to fail; pause instead of spinning, and
      // leave once Stop has asked even if its NOP never arrives.
      if (worker->stop_requested.load(std::memory_order_acquire)) {
        DeliverPostedOnWorker(worker);
        return;
      }
      PauseOneMillisecond();
    }
    bool doorbell = false;
    bool stop = false;
    bool woken = false;
    worker->ring.ReapCompletions([&](const io_uring_cqe& cqe) {
      if (cqe.user_data == kDoorbellUserData) doorbell = true;
      if (cqe.user_data == kStopUserData) stop = true;
      if (cqe.user_data == kWakeUserData) woken = true;
      if (cqe.user_data > kLastReservedUserData) {
        worker->reaped_ops.emplace_back(reinterpret_cast<Op*>(cqe.user_data), cqe);
      }
    });
    CompleteReapedOps(worker);
    // The read on the wake eventfd ended (the counter was read, or the read
    // failed, which an eventfd read of 8 bytes does not): post the next one.
    // If even that is refused, submitters stop handing off; SQEs already
    // handed off are published at the top of the next pass.
    if (woken && !stop && ArmWake(worker) != 0) {
      worker->wake_armed.store(false, std::memory_order_release);
    }
    // A stop NOP is submitted after the Posts that precede Stop, so draining
    // once more here delivers everything queued before it.
    if (doorbell || stop) DeliverPostedOnWorker(worker);
    if (stop) return;
  }
}

void IoUringBackend::DeliverPostedOnWorker(Worker* worker) {
  {
    std::lock_guard<std::mutex> lock(worker->posted_mutex);
    worker->doorbell_outstanding = false;
    worker->posted.swap(worker->delivering);
  }
  if (worker->delivering.empty()) return;
  DeliverHere(worker->delivering.data(), worker->delivering.size());
  worker->delivering.clear();
}

void IoUringBackend::DeliverPostedHere(Worker* worker, bool close) {
  std::vector<Posted> taken;
  {
    std::lock_guard<std::mutex> lock(worker->posted_mutex);
    if (close) worker->closed = true;
    worker->doorbell_outstanding = false;
    taken.swap(worker->posted);
  }
  if (!taken.empty()) DeliverHere(taken.data(), taken.size());
}

void IoUringBackend::DeliverHere(const Posted* posted, size_t count) {
  if (count == 0) return;
  sink_->EnterRun();
  sink_->Deliver(posted, count);
  sink_->LeaveRun();
}

bool IoUringBackend::MustHandOff(const Worker* worker) {
  return worker->single_issuer && current_worker != worker;
}

bool IoUringBackend::WaitForSqSpace(Worker* worker, std::unique_lock<std::mutex>& lock) {
  // Only the worker enters this ring: wake it to take the SQ, and look
  // again once it has had the time to.
  lock.unlock();
  WakeForHandoff(worker);
  PauseOneMillisecond();
  lock.lock();
  return worker->ring.is_open();
}

template <typename Prepare>
int IoUringBackend::SubmitWith(Worker* worker, Prepare&& prepare, bool defer) {
  const bool hand_off = MustHandOff(worker);
  std::unique_lock<std::mutex> lock(worker->submit_mutex);
  // Stop closes a ring only after draining it, so a late doorbell has
  // nothing left to announce.
  if (!worker->ring.is_open()) return -EBADF;
  // About a second of retries for conditions that clear by themselves.
  constexpr int kMaxAttempts = 1000;
  io_uring_sqe* sqe = worker->ring.GetSqe();
  for (int attempt = 0; sqe == nullptr; ++attempt) {
    if (attempt >= kMaxAttempts) return -EBUSY;
    if (hand_off) {
      if (!WaitForSqSpace(worker, lock)) return -EBADF;
    } else {
      // Without SQPOLL the kernel consumes the whole SQ on each enter, so a
      // full SQ only means an earlier submission failed: push it again.
      const int flushed = worker->ring.Submit();
      if (flushed < 0 && !IsTransient(flushed)) return flushed;
      if (flushed < 0) PauseOneMillisecond();
    }
    sqe = worker->ring.GetSqe();
  }
  const int prepared = prepare(sqe);
  if (prepared < 0) {
    // The SQE is handed out already; it goes in as a NOP nobody waits for.
    uring::Ring::PrepareNop(sqe, kCancelUserData);
  }
  if (defer && prepared >= 0) {
    // Only the worker defers, and it submits at its next wait.
    worker->continuations_queued = true;
    return 0;
  }
  if (hand_off) {
    lock.unlock();
    WakeForHandoff(worker);
    return prepared < 0 ? prepared : 0;
  }
  for (int attempt = 0;; ++attempt) {
    const int submitted = worker->ring.Submit();
    if (submitted >= 0) return prepared < 0 ? prepared : 0;
    if (!IsTransient(submitted) || attempt >= kMaxAttempts) return submitted;
    if (submitted != -EINTR) PauseOneMillisecond();
  }
}

int IoUringBackend::ArmWake(Worker* worker) {
  return SubmitWith(
      worker,
      [&](io_uring_sqe* sqe) {
        sqe->opcode = IORING_OP_READ;
        sqe->fd = worker->wake_fd;
        sqe->addr = reinterpret_cast<uint64_t>(&worker->wake_value);
        sqe->len = sizeof worker->wake_value;
        sqe->user_data = kWakeUserData;
        return 0;
      },
      true);
}

void IoUringBackend::WakeForHandoff(Worker* worker) {
  // One write per drain: SQEs left while a wake is on its way ride along.
  if (worker->handoff_pending.exchange(true, std::memory_order_acq_rel)) return;
  const uint64_t one = 1;
  ssize_t written;
  do {
    written = write(worker->wake_fd, &one, sizeof one);
  } while (written < 0 && errno == EINTR);
  if (written == static_cast<ssize_t>(sizeof one)) return;
  // The worker was not woken: submit the SQEs here after all (where this
  // thread may: on a single-issuer ring they wait for the worker's next
  // pass).
  if (MustHandOff(worker)) return;
  std::lock_guard<std::mutex> lock(worker->submit_mutex);
  if (worker->ring.is_open()) worker->ring.Submit();
}

int IoUringBackend::SubmitNop(Worker* worker, uint64_t user_data) {
  const int result = SubmitWith(worker, [&](io_uring_sqe* sqe) {
    uring::Ring::PrepareNop(sqe, user_data);
    return 0;
  });
  return result == -EBADF ? 0 : result;
}

void IoUringBackend::Submit(Op* const* ops, size_t count) {
  if (count == 0) return;
  if (std::any_of(ops, ops + count, [](Op* op) { return UringHelperThreads::Handles(op->kind); })) {
    // Kinds without an opcode go to the helper threads; the rest of the
    // batch goes on to a ring as usual.
    std::vector<Op*> ring_ops;
    for (size_t i = 0; i < count; ++i) {
      if (UringHelperThreads::Handles(ops[i]->kind)) {
        helpers_.Submit(ops[i]);
      } else {
        ring_ops.push_back(ops[i]);
      }
    }
    Submit(ring_ops.data(), ring_ops.size());
    return;
  }
  if (count > kSubmitSlice && file_workers_ > 1 && UringOpCopiesInline(ops[0])) {
    // A long batch of copies is spread over the rings a slice at a time,
    // so that every worker copies in parallel.
    for (size_t at = 0; at < count; at += kSubmitSlice) {
      Submit(ops + at, count - at < kSubmitSlice ? count - at : kSubmitSlice);
    }
    return;
  }
  // A batch goes to one ring with one io_uring_enter: its SQEs are filled
  // under one lock and published together. File batches spread over the
  // rings. Socket ops all go to one ring (the sockets' own, else the
  // first), as the threadpool backend
  // runs every socket on its one reactor thread: a ping-pong connection's
  // steps are short, so one worker that reaps many connections' CQEs per
  // wake costs far less CPU per message than several that each wake for a
  // few (on two cores, 64-byte echo: about 5.1 against 7.5 us per round
  // trip with the connections spread over two rings).
  Worker* worker =
      IsSocketOp(ops[0]->kind)
          ? SocketsWorker()
          : workers_[next_worker_.fetch_add(1, std::memory_order_relaxed) % file_workers_].get();
  // Receives that wait for their socket's turn (RecvTurns) get no SQE
  // here: the worker submits each when the one before it completes.
  std::vector<Op*> waiting;
  {
    std::lock_guard<std::mutex> lock(worker->ops_mutex);
    for (size_t i = 0; i < count; ++i) {
      UringOpState* state = StartUringOpState(ops[i]);
      state->worker = worker->index;
      // A forward keeps a multishot recv posted only on the sockets' own
      // ring (see StartForwardRing).
      state->ring_fd = worker->single_issuer ? worker->ring.fd() : -1;
      // The kind's Prepare sees the flag only where the kernel honours it.
      if (!SupportsMultishot(ops[i]->kind)) ops[i]->flags &= ~op_flags::kMultishot;
      worker->ops.insert(ops[i]);
      if (ops[i]->kind == OpKind::kSocketRecv && !worker->recv_turns.Enter(ops[i])) waiting.push_back(ops[i]);
    }
  }
  const auto is_waiting = [&waiting](Op* op) {
    return !waiting.empty() && std::find(waiting.begin(), waiting.end(), op) != waiting.end();
  };
  // Ops refused before they reached the kernel, with their error; completed
  // below, outside the submit lock.
  std::vector<std::pair<Op*, int>> refused;
  // A batch with a buffered read or write is handed to the worker to
  // submit (see Worker::wake_fd), so its copies run there.
  // So is every batch for a ring that only its worker enters.
  const bool single_issuer_handoff = MustHandOff(worker);
  bool handoff = single_issuer_handoff;
  if (!handoff && worker->wake_armed.load(std::memory_order_acquire)) {
    for (size_t i = 0; i < count && !handoff; ++i) handoff = UringOpCopiesInline(ops[i]);
  }
  size_t prepared_count = 0;
  {
    std::unique_lock<std::mutex> lock(worker->submit_mutex);
    constexpr int kMaxAttempts = 1000;  // as in SubmitWith: about a second
    int failure = worker->ring.is_open() ? 0 : -EBADF;
    for (size_t i = 0; i < count; ++i) {
      Op* op = ops[i];
      if (is_waiting(op)) continue;
      io_uring_sqe* sqe = failure == 0 ? worker->ring.GetSqe() : nullptr;
      for (int attempt = 0; sqe == nullptr && failure == 0; ++attempt) {
        if (attempt >= kMaxAttempts) {
          failure = -EBUSY;
        } else if (single_issuer_handoff) {
          // The worker takes the SQEs filled so far; the rest follow.
          if (!WaitForSqSpace(worker, lock)) failure = -EBADF;
        } else {
          // The SQ is full of this batch's own SQEs: publish them and go on.
          const int flushed = worker->ring.Submit();
          if (flushed < 0 && !IsTransient(flushed)) failure = flushed;
          else if (flushed < 0) PauseOneMillisecond();
        }
        if (failure == 0) sqe = worker->ring.GetSqe();
      }
      if (failure != 0) {
        refused.emplace_back(op, failure);
        continue;
      }
      const int prepared = PrepareUringOp(op, sqe);
      sqe->user_data = reinterpret_cast<uint64_t>(op);
      UringOpStateOf(op)->published.store(1, std::memory_order_release);
      if (prepared < 0) {
        // The SQE is handed out already; it goes in as a NOP nobody waits for.
        uring::Ring::PrepareNop(sqe, kCancelUserData);
        refused.emplace_back(op, prepared);
      } else {
        ++prepared_count;
      }
    }
    for (int attempt = 0; failure == 0 && prepared_count > 0 && !handoff; ++attempt) {
      const int submitted = worker->ring.Submit();
      if (submitted >= 0) break;
      if (!IsTransient(submitted) || attempt >= kMaxAttempts) {
        // Nothing is known to have reached the kernel: fail what was
        // prepared, as SubmitWith does for a single op.
        for (size_t i = 0; i < count; ++i) {
          bool already = is_waiting(ops[i]);
          for (auto& entry : refused) already = already || entry.first == ops[i];
          if (!already) refused.emplace_back(ops[i], submitted);
        }
        break;
      }
      if (submitted != -EINTR) PauseOneMillisecond();
    }
  }
  if (handoff && prepared_count > 0) WakeForHandoff(worker);
  std::vector<Op*> ended;
  for (auto& [op, error] : refused) {
    {
      std::lock_guard<std::mutex> lock(worker->ops_mutex);
      worker->ops.erase(op);
      if (op->kind == OpKind::kSocketRecv) PassRecvTurn(worker, op, false, &ended);
    }
    op->result = error;
    sink_->CompleteOp(op);
  }
  for (Op* op : ended) sink_->CompleteOp(op);
}

void IoUringBackend::Cancel(Op* op) {
  if (UringHelperThreads::Handles(op->kind)) {
    helpers_.Cancel(op);  // such an op never had a ring (nor a worker index)
    return;
  }
  Worker* worker = workers_[UringOpStateOf(op)->worker].get();
  {
    std::lock_guard<std::mutex> lock(worker->ops_mutex);
    if (worker->ops.count(op) == 0) return;  // completed already
    if (op->kind != OpKind::kSocketRecv || !worker->recv_turns.Withdraw(op)) {
      // The kernel matches the op by its user_data; the cancel's own CQE is
      // ignored, the op reports -ECANCELED (or its result) through its own.
      SubmitWith(worker, [&](io_uring_sqe* sqe) {
        sqe->opcode = IORING_OP_ASYNC_CANCEL;
        sqe->fd = -1;
        sqe->addr = reinterpret_cast<uint64_t>(op);
        sqe->user_data = kCancelUserData;
        return 0;
      });
      return;
    }
    // A receive still waiting for its turn never reached the kernel.
    worker->ops.erase(op);
  }
  op->result = -ECANCELED;
  sink_->CompleteOp(op);
}

void IoUringBackend::CompleteReapedOps(Worker* worker) {
  if (worker->reaped_ops.empty()) return;
  {
    // Every SQE is prepared under this lock (the op's fields and scratch
    // written on the submitting thread), so taking it here orders those
    // writes before the reads below in the C++ memory model too, not only
    // through the kernel's ring barriers, which race detectors cannot see.
    std::lock_guard<std::mutex> lock(worker->submit_mutex);
  }
  // Receives whose turn came after they were cancelled, or that the ring
  // refused; empty (and not allocated) nearly always.
  std::vector<Op*> ended;
  sink_->EnterRun();
  for (auto& [op, cqe] : worker->reaped_ops) {
    UringOpStateOf(op)->published.load(std::memory_order_acquire);
    if ((op->flags & op_flags::kMultishot) != 0 && (cqe.flags & IORING_CQE_F_MORE) != 0) {
      // One completion of a multishot op: the kernel keeps it armed, so it
      // stays in worker->ops, where Cancel and Stop find it. Its last CQE
      // (without F_MORE) comes through this same worker, after this one.
      FinishUringOp(op, cqe);
      sink_->CompleteOpMore(op);
      continue;
    }
    if ((cqe.flags & IORING_CQE_F_MORE) != 0) {
      // A step that stays armed (a forward's multishot recv): nothing to
      // submit, unless its Finish asks for it to be cancelled.
      FinishUringOp(op, cqe);
      if (op->result == kUringDisarm) DisarmOp(worker, op);
      continue;
    }
    if (!FinishUringOp(op, cqe) && ContinueOp(worker, op)) continue;
    {
      std::lock_guard<std::mutex> lock(worker->ops_mutex);
      worker->ops.erase(op);
      if (op->kind == OpKind::kSocketRecv) PassRecvTurn(worker, op, true, &ended);
    }
    sink_->CompleteOp(op);
  }
  for (Op* op : ended) sink_->CompleteOp(op);
  sink_->LeaveRun();
  worker->reaped_ops.clear();
}

bool IoUringBackend::ContinueOp(Worker* worker, Op* op) {
  // Resubmitting under ops_mutex orders it against Cancel, which submits
  // its IORING_OP_ASYNC_CANCEL under the same lock after setting the flag:
  // either the flag is seen here and the op ends, or the cancel finds the
  // new SQE in flight.
  std::lock_guard<std::mutex> lock(worker->ops_mutex);
  if (op->cancel_requested.load(std::memory_order_acquire)) {
    AbandonUringOp(op, -ECANCELED);
    return false;
  }
  // Deferred: the next step goes in with the worker's next wait, so that a
  // pass's continuations cost one io_uring_enter together with the wait.
  const int result = SubmitWith(
      worker,
      [&](io_uring_sqe* sqe) {
        const int prepared = PrepareUringOp(op, sqe);
        sqe->user_data = reinterpret_cast<uint64_t>(op);
        return prepared;
      },
      true);
  if (result == 0) return true;
  AbandonUringOp(op, result);
  return false;
}

void IoUringBackend::DisarmOp(Worker* worker, Op* op) {
  // Its last CQE comes later through this worker, so the op stays in
  // worker->ops; the cancel goes in with the worker's next wait.
  std::lock_guard<std::mutex> lock(worker->ops_mutex);
  SubmitWith(
      worker,
      [&](io_uring_sqe* sqe) {
        sqe->opcode = IORING_OP_ASYNC_CANCEL;
        sqe->fd = -1;
        sqe->addr = reinterpret_cast<uint64_t>(op);
        sqe->user_data = kCancelUserData;
        return 0;
      },
      true);
}

void IoUringBackend::PassRecvTurn(Worker* worker, Op* op, bool on_worker, std::vector<Op*>* ended) {
  for (Op* next = worker->recv_turns.Leave(op); next != nullptr; next = worker->recv_turns.Leave(next)) {
    // A Cancel that set the flag but has not taken ops_mutex yet would find
    // the receive neither waiting nor in the kernel: end it here instead.
    int result = -ECANCELED;
    if (!next->cancel_requested.load(std::memory_order_acquire)) {
      result = SubmitWith(
          worker,
          [&](io_uring_sqe* sqe) {
            const int prepared = PrepareUringOp(next, sqe);
            sqe->user_data = reinterpret_cast<uint64_t>(next);
            UringOpStateOf(next)->published.store(1, std::memory_order_release);
            return prepared;
          },
          on_worker);
      if (result == 0) return;
    }
    next->result = result;
    worker->ops.erase(next);
    ended->push_back(next);
  }
}

void IoUringBackend::CancelAllOps() {
  for (auto& worker : workers_) {
    std::vector<Op*> live;
    {
      std::lock_guard<std::mutex> lock(worker->ops_mutex);
      live.assign(worker->ops.begin(), worker->ops.end());
    }
    for (Op* op : live) {
      // The flag also stops an op that continues (see ContinueOp).
      op->cancel_requested.store(true, std::memory_order_release);
      Cancel(op);
    }
  }
  // The workers still run and reap the cancelled ops' CQEs.
  for (auto& worker : workers_) {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(worker->ops_mutex);
        if (worker->ops.empty()) break;
      }
      PauseOneMillisecond();
    }
  }
}

void IoUringBackend::StopWorkers(size_t count) {
  for (size_t index = 0; index < count; ++index) {
    Worker* worker = workers_[index].get();
    worker->stop_requested.store(true, std::memory_order_release);
    if (SubmitNop(worker, kStopUserData) != 0) {
      // The worker stays blocked in io_uring_enter and cannot be joined;
      // the destructor leaks it with its ring. Only a kernel that stops
      // accepting NOPs mid-run leads here.
      continue;
    }
    worker->thread.Join();
  }
  for (size_t index = 0; index < count; ++index) {
    Worker* worker = workers_[index].get();
    // Anything a Post queued after its worker left is delivered here, and
    // later Posts deliver inline.
    DeliverPostedHere(worker, true);
    if (!worker->thread.running()) {
      std::lock_guard<std::mutex> lock(worker->submit_mutex);
      worker->ring.Close();
    }
  }
}

void IoUringBackend::Stop() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mutex_);
  if (!running_) return;
  {
    // No sockets' ring is made from here on: socket ops that still come
    // go to the first ring, closed below, and are refused there.
    std::lock_guard<std::mutex> lock(sockets_mutex_);
    sockets_closed_ = true;
    sockets_ready_.store(true, std::memory_order_release);
  }
  helpers_.Stop();
  CancelAllOps();
  StopWorkers(workers_.size());
  running_ = false;
  stopped_ = true;
}

}  // namespace overlapped
