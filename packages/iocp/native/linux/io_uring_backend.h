// The `io_uring` backend: one ring per worker thread; each worker blocks in
// io_uring_enter on its own ring and hands what it reaps to the sink.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "../common/backend.h"
#include "../posix/worker_thread.h"
#include "ring.h"
#include "uring_helper_threads.h"
#include "uring_recv_turns.h"

namespace overlapped {

class IoUringBackend final : public Backend {
 public:
  IoUringBackend() = default;
  ~IoUringBackend() override;
  IoUringBackend(const IoUringBackend&) = delete;
  IoUringBackend& operator=(const IoUringBackend&) = delete;

  const char* name() const override { return "io_uring"; }
  bool Start(const BackendConfig& config, CompletionSink* sink,
             BackendError* error) override;
  void Post(const Posted* posted, size_t count) override;
  void Submit(Op* const* ops, size_t count) override;
  void Cancel(Op* op) override;
  int Associate(int64_t, double, uint32_t*) override { return 0; }
  // Multishot accept where the kernel has it (KernelHasMultishotAccept).
  bool SupportsMultishot(OpKind kind) const override;
  void Stop() override;

 private:
  // CQE user_data values the backend reserves for itself. Operations will
  // use the address of their record, which is never 1 or 2.
  static constexpr uint64_t kDoorbellUserData = 1;
  static constexpr uint64_t kStopUserData = 2;
  // The CQE of an IORING_OP_ASYNC_CANCEL: its result is not needed, the
  // cancelled op reports through its own CQE.
  static constexpr uint64_t kCancelUserData = 3;
  // The CQE of the read a worker keeps posted on its wake eventfd.
  static constexpr uint64_t kWakeUserData = 4;
  static constexpr uint64_t kLastReservedUserData = 4;

  struct Worker {
    Worker() = default;
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    IoUringBackend* backend = nullptr;
    unsigned index = 0;
    uring::Ring ring;
    // Only the worker thread enters this ring (SINGLE_ISSUER, with
    // DEFER_TASKRUN where the kernel has it): other threads fill SQEs under
    // submit_mutex and hand them off through wake_fd (see MustHandOff).
    bool single_issuer = false;
    // Serializes the ring's submission side among every thread that submits
    // (posters, Stop) and guards closing the ring.
    std::mutex submit_mutex;
    // Guards posted, doorbell_outstanding and closed. Post appends to
    // `posted`; the worker swaps it out when it reaps a doorbell.
    std::mutex posted_mutex;
    std::vector<Posted> posted;
    bool doorbell_outstanding = false;  // a doorbell NOP is on its way
    bool closed = false;  // Stop has drained this worker: deliver inline
    // Only the worker thread touches `delivering`; swapping it with `posted`
    // recycles both buffers, so the worker loop does not allocate.
    std::vector<Posted> delivering;
    std::atomic<bool> stop_requested{false};
    // Ops submitted to this ring and not yet completed, so that Cancel and
    // Stop only ever name live ops. Guarded by ops_mutex, which is taken
    // before submit_mutex when both are held.
    std::mutex ops_mutex;
    std::unordered_set<Op*> ops;
    // Receives on one socket go to the kernel one at a time, in the order
    // they were submitted (see uring_recv_turns.h). Guarded by ops_mutex.
    RecvTurns recv_turns;
    // Only the worker thread touches this: ops reaped in one pass.
    std::vector<std::pair<Op*, io_uring_cqe>> reaped_ops;
    // Only the worker thread touches this: continuations were queued on the
    // ring and wait for its next SubmitAndWait.
    bool continuations_queued = false;
    // The handoff doorbell. Ops that copy data inline (UringOpCopiesInline)
    // are prepared on the submitting thread but submitted by the worker, so
    // that the copy runs on the worker: the submitter fills their SQEs,
    // sets handoff_pending and, if it was clear, writes wake_fd, an eventfd
    // the worker keeps an IORING_OP_READ posted on. Writing it wakes the
    // worker without entering its ring. wake_fd is -1 where the eventfd
    // could not be made; wake_armed is false until the first read is
    // posted and after one failed: ops are then submitted where started.
    int wake_fd = -1;
    std::atomic<bool> wake_armed{false};
    std::atomic<bool> handoff_pending{false};
    // The posted read's target; only the kernel writes it.
    uint64_t wake_value = 0;
    WorkerThread thread;
  };

  static void RunWorkerEntry(void* worker) noexcept;
  void RunWorker(Worker* worker) noexcept;
  void DeliverPostedOnWorker(Worker* worker);
  // Takes whatever `worker` has queued and delivers it on the calling
  // thread; with `close`, later Posts to it deliver inline too.
  void DeliverPostedHere(Worker* worker, bool close);
  void DeliverHere(const Posted* posted, size_t count);
  // Submits a NOP carrying `user_data` to the worker's ring. Returns 0, or
  // -errno when the kernel keeps refusing it.
  int SubmitNop(Worker* worker, uint64_t user_data);
  // Gets an SQE on the worker's ring (retrying while the SQ is full), lets
  // `prepare` fill it and submits it. A `prepare` that returns -errno has
  // its SQE turned into a harmless NOP. Returns 0 or -errno.
  // With `defer` (the worker's own continuations only), the SQE is left
  // queued for the worker's next SubmitAndWait instead of entering now.
  template <typename Prepare>
  int SubmitWith(Worker* worker, Prepare&& prepare, bool defer = false);
  // Posts the read on the worker's wake eventfd (from the worker, deferred
  // to its next wait). Returns 0 or -errno.
  int ArmWake(Worker* worker);
  // Rings the handoff doorbell of `worker` after SQEs were left for it.
  void WakeForHandoff(Worker* worker);
  // Finishes the ops a worker reaped and hands them to the sink.
  void CompleteReapedOps(Worker* worker);
  // Submits the next step of an op whose FinishUringOp returned false;
  // returns false (with the op ended) if it was cancelled or refused.
  // True on any thread but `worker`'s own for a single-issuer ring: SQEs
  // are then handed off to the worker, never submitted here.
  static bool MustHandOff(const Worker* worker);
  // A thread that must hand off found the SQ full: lets the worker drain
  // it (with `lock`, on submit_mutex, released meanwhile). False once the
  // ring is closed.
  bool WaitForSqSpace(Worker* worker, std::unique_lock<std::mutex>& lock);
  // The worker of the ring socket ops go to, made on first use.
  Worker* SocketsWorker();
  // Makes the sockets' own ring and worker; its index, or 0 (the first
  // ring) where it cannot be had. Under sockets_mutex_.
  size_t StartSocketsWorker();
  // Cancels a step the kernel keeps armed (see kUringDisarm).
  void DisarmOp(Worker* worker, Op* op);
  bool ContinueOp(Worker* worker, Op* op);
  // Under ops_mutex: `op`, a receive, left the kernel; submits the next
  // receive waiting on its socket (deferred to the worker's next wait when
  // called `on_worker`). Receives cancelled while they waited, or refused
  // by the ring, are erased from the worker's ops and appended to `ended`
  // (result set) for the caller to complete once the lock is released.
  void PassRecvTurn(Worker* worker, Op* op, bool on_worker, std::vector<Op*>* ended);
  // Cancels every op in flight and waits until all have completed.
  void CancelAllOps();
  // Wakes and joins the workers in workers_[0, count), delivers what they
  // left queued and closes their rings.
  void StopWorkers(size_t count);
  // Frees the worker records; a worker that could not be joined is leaked.
  void ReleaseWorkers();

  CompletionSink* sink_ = nullptr;
  bool multishot_accept_ = false;  // set by Start
  // The file rings, workers_[0, file_workers_), then the sockets' own
  // ring once a socket op made it (see SocketsWorker).
  std::vector<std::unique_ptr<Worker>> workers_;
  size_t file_workers_ = 0;  // set by Start
  // The ring socket ops go to: settled (sockets_ready_) by Start where the
  // sockets share the first ring, else by the first socket op.
  size_t sockets_worker_ = 0;
  std::atomic<bool> sockets_ready_{false};
  std::mutex sockets_mutex_;  // guards making the sockets' ring
  bool sockets_closed_ = false;  // under sockets_mutex_: Stop has begun
  // Kinds without an opcode (kFileCopyRange) run here instead of on a ring.
  UringHelperThreads helpers_;
  std::atomic<uint32_t> next_worker_{0};

  // Serializes Start and Stop.
  std::mutex lifecycle_mutex_;
  bool running_ = false;
  bool stopped_ = false;
};

}  // namespace overlapped
