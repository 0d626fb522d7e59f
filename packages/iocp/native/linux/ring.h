// A minimal io_uring ring over the raw system calls (no liburing): setup,
// the shared SQ/CQ mappings, SQE allocation, submission and CQE reaping.
// File and socket operations add a Prepare* helper next to PrepareNop.
#pragma once

#include <linux/io_uring.h>

#include <cstddef>
#include <cstdint>

namespace overlapped {
namespace uring {

// The three io_uring system calls. Each returns its result, or -errno.
int SysSetup(unsigned entries, io_uring_params* params);
int SysEnter(int ring_fd, unsigned to_submit, unsigned min_complete,
             unsigned flags);
int SysRegister(int ring_fd, unsigned opcode, void* arg, unsigned arg_count);

// One ring. Not thread-safe by itself: the owner serializes the submission
// side (GetSqe, Submit) among its submitters and lets exactly one thread
// reap (WaitForCompletions, ReapCompletions). The two sides may run at once.
class Ring {
 public:
  Ring() = default;
  ~Ring() { Close(); }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Creates the ring with `required_flags` and as many `optional_flags` as
  // the kernel accepts: an optional flag an older kernel does not know is
  // dropped on EINVAL, newest first. Returns 0 or -errno.
  int Setup(unsigned entries, unsigned required_flags,
            unsigned optional_flags);
  // Unmaps and closes. Safe to call twice; no thread may be using the ring.
  void Close();

  bool is_open() const { return ring_fd_ >= 0; }
  int fd() const { return ring_fd_; }
  uint32_t features() const { return params_.features; }
  uint32_t setup_flags() const { return params_.flags; }
  unsigned sq_entries() const { return params_.sq_entries; }

  // Submission side. Returns a zeroed SQE to fill, or nullptr when the SQ is
  // full (Submit, then try again).
  io_uring_sqe* GetSqe();
  // Publishes the SQEs handed out so far and enters the kernel to submit
  // every SQE it has not consumed yet. Returns how many the kernel consumed,
  // or -errno.
  int Submit();
  // Publishes the SQEs handed out so far without entering the kernel, and
  // returns how many it has not consumed yet: the reaper passes that count
  // to SubmitAndWait, so one io_uring_enter submits and waits.
  unsigned Publish();

  // Completion side. Blocks until at least `min_complete` CQEs are ready (or
  // a signal interrupts: -EINTR). Returns >= 0 or -errno.
  int WaitForCompletions(unsigned min_complete);
  // Submits up to `to_submit` published SQEs (the kernel takes only those
  // it has not consumed, so a count that another thread's Submit overtook
  // is harmless) and waits as WaitForCompletions does.
  int SubmitAndWait(unsigned to_submit, unsigned min_complete);
  // Calls on_completion(const io_uring_cqe&) for each ready CQE, then hands
  // the slots back to the kernel. Returns the number reaped.
  template <typename OnCompletion>
  unsigned ReapCompletions(OnCompletion&& on_completion);

  // True when CQEs wait to be reaped.
  bool HasCompletions() const {
    return __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE) != __atomic_load_n(cq_head_, __ATOMIC_RELAXED);
  }
  // True when the kernel has task work of this ring waiting to run (a
  // completion it posts only when the ring's thread enters: DEFER_TASKRUN,
  // COOP_TASKRUN); known only on a ring set up with IORING_SETUP_TASKRUN_FLAG.
  bool HasTaskWork() const {
    return sq_flags_ != nullptr && (__atomic_load_n(sq_flags_, __ATOMIC_ACQUIRE) & IORING_SQ_TASKRUN) != 0;
  }

  static void PrepareNop(io_uring_sqe* sqe, uint64_t user_data);

 private:
  int MapRings();

  int ring_fd_ = -1;
  io_uring_params params_{};

  void* sq_ring_memory_ = nullptr;
  size_t sq_ring_bytes_ = 0;
  void* cq_ring_memory_ = nullptr;  // == sq_ring_memory_ with SINGLE_MMAP
  size_t cq_ring_bytes_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  size_t sqes_bytes_ = 0;

  // Pointers into the shared SQ ring. The kernel writes sq_head_; we write
  // sq_tail_ and sq_array_.
  uint32_t* sq_head_ = nullptr;
  uint32_t* sq_tail_ = nullptr;
  uint32_t sq_mask_ = 0;
  uint32_t* sq_array_ = nullptr;
  uint32_t* sq_flags_ = nullptr;  // the kernel's IORING_SQ_* flags
  // SQEs handed out by GetSqe; published to *sq_tail_ by Submit.
  uint32_t sqe_tail_ = 0;

  // Pointers into the shared CQ ring. The kernel writes cq_tail_; we write
  // cq_head_.
  uint32_t* cq_head_ = nullptr;
  uint32_t* cq_tail_ = nullptr;
  uint32_t cq_mask_ = 0;
  io_uring_cqe* cqes_ = nullptr;
};

template <typename OnCompletion>
unsigned Ring::ReapCompletions(OnCompletion&& on_completion) {
  // Only this thread writes the head, so a relaxed load of it is enough. The
  // acquire load of the tail pairs with the kernel's release store: CQE
  // contents written before the tail moved are visible to us.
  uint32_t head = __atomic_load_n(cq_head_, __ATOMIC_RELAXED);
  const uint32_t tail = __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE);
  const unsigned reaped = tail - head;
  for (; head != tail; ++head) on_completion(cqes_[head & cq_mask_]);
  // The release store hands the slots back only after we have read them.
  if (reaped != 0) __atomic_store_n(cq_head_, tail, __ATOMIC_RELEASE);
  return reaped;
}

}  // namespace uring
}  // namespace overlapped
