#include "ring.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace overlapped {
namespace uring {

int SysSetup(unsigned entries, io_uring_params* params) {
  const long result = syscall(__NR_io_uring_setup, entries, params);
  return result < 0 ? -errno : static_cast<int>(result);
}

int SysEnter(int ring_fd, unsigned to_submit, unsigned min_complete,
             unsigned flags) {
  // The last two arguments (sigset and its size) stay null: waits keep the
  // thread's own signal mask.
  const long result = syscall(__NR_io_uring_enter, ring_fd, to_submit,
                              min_complete, flags, nullptr, 0);
  return result < 0 ? -errno : static_cast<int>(result);
}

int SysRegister(int ring_fd, unsigned opcode, void* arg, unsigned arg_count) {
  const long result =
      syscall(__NR_io_uring_register, ring_fd, opcode, arg, arg_count);
  return result < 0 ? -errno : static_cast<int>(result);
}

int Ring::Setup(unsigned entries, unsigned required_flags,
                unsigned optional_flags) {
  Close();
  unsigned flags = required_flags | optional_flags;
  for (;;) {
    std::memset(&params_, 0, sizeof params_);
    params_.flags = flags;
    const int result = SysSetup(entries, &params_);
    if (result >= 0) {
      ring_fd_ = result;
      break;
    }
    const unsigned still_optional = flags & optional_flags;
    if (result != -EINVAL || still_optional == 0) return result;
    // Kernels reject setup flags newer than themselves with EINVAL (for
    // example SUBMIT_ALL before 5.18), so drop the newest one and retry.
    unsigned newest = 1u << 31;
    while ((still_optional & newest) == 0) newest >>= 1;
    flags &= ~newest;
  }
  const int mapped = MapRings();
  if (mapped != 0) Close();
  return mapped;
}

int Ring::MapRings() {
  const io_sqring_offsets& sq = params_.sq_off;
  const io_cqring_offsets& cq = params_.cq_off;
  sq_ring_bytes_ = sq.array + params_.sq_entries * sizeof(uint32_t);
  cq_ring_bytes_ = cq.cqes + params_.cq_entries * sizeof(io_uring_cqe);
  const bool single_mmap = (params_.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single_mmap) {
    // Since 5.4 both rings live in one mapping at IORING_OFF_SQ_RING.
    if (cq_ring_bytes_ > sq_ring_bytes_) sq_ring_bytes_ = cq_ring_bytes_;
    cq_ring_bytes_ = sq_ring_bytes_;
  }
  void* sq_memory = mmap(nullptr, sq_ring_bytes_, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_POPULATE, ring_fd_,
                         IORING_OFF_SQ_RING);
  if (sq_memory == MAP_FAILED) return -errno;
  sq_ring_memory_ = sq_memory;
  if (single_mmap) {
    cq_ring_memory_ = sq_ring_memory_;
  } else {
    void* cq_memory = mmap(nullptr, cq_ring_bytes_, PROT_READ | PROT_WRITE,
                           MAP_SHARED | MAP_POPULATE, ring_fd_,
                           IORING_OFF_CQ_RING);
    if (cq_memory == MAP_FAILED) return -errno;
    cq_ring_memory_ = cq_memory;
  }
  sqes_bytes_ = params_.sq_entries * sizeof(io_uring_sqe);
  void* sqe_memory = mmap(nullptr, sqes_bytes_, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_POPULATE, ring_fd_,
                          IORING_OFF_SQES);
  if (sqe_memory == MAP_FAILED) return -errno;
  sqes_ = static_cast<io_uring_sqe*>(sqe_memory);

  char* sq_base = static_cast<char*>(sq_ring_memory_);
  sq_head_ = reinterpret_cast<uint32_t*>(sq_base + sq.head);
  sq_tail_ = reinterpret_cast<uint32_t*>(sq_base + sq.tail);
  sq_mask_ = *reinterpret_cast<uint32_t*>(sq_base + sq.ring_mask);
  sq_array_ = reinterpret_cast<uint32_t*>(sq_base + sq.array);
  sq_flags_ = reinterpret_cast<uint32_t*>(sq_base + sq.flags);
  sqe_tail_ = *sq_tail_;
  // The SQ array maps ring slots to SQE indexes; an identity map set once
  // lets Submit publish SQEs by moving the tail alone.
  for (uint32_t slot = 0; slot < params_.sq_entries; ++slot) {
    sq_array_[slot] = slot;
  }

  char* cq_base = static_cast<char*>(cq_ring_memory_);
  cq_head_ = reinterpret_cast<uint32_t*>(cq_base + cq.head);
  cq_tail_ = reinterpret_cast<uint32_t*>(cq_base + cq.tail);
  cq_mask_ = *reinterpret_cast<uint32_t*>(cq_base + cq.ring_mask);
  cqes_ = reinterpret_cast<io_uring_cqe*>(cq_base + cq.cqes);
  return 0;
}

void Ring::Close() {
  if (sqes_ != nullptr) munmap(sqes_, sqes_bytes_);
  if (cq_ring_memory_ != nullptr && cq_ring_memory_ != sq_ring_memory_) {
    munmap(cq_ring_memory_, cq_ring_bytes_);
  }
  if (sq_ring_memory_ != nullptr) munmap(sq_ring_memory_, sq_ring_bytes_);
  if (ring_fd_ >= 0) close(ring_fd_);
  ring_fd_ = -1;
  sqes_ = nullptr;
  sq_ring_memory_ = nullptr;
  cq_ring_memory_ = nullptr;
  sq_head_ = sq_tail_ = sq_array_ = sq_flags_ = nullptr;
  cq_head_ = cq_tail_ = nullptr;
  cqes_ = nullptr;
}

io_uring_sqe* Ring::GetSqe() {
  // Acquire pairs with the kernel's release of the head: once it has
  // consumed a slot, reusing that SQE cannot race with its reads.
  const uint32_t head = __atomic_load_n(sq_head_, __ATOMIC_ACQUIRE);
  if (sqe_tail_ - head >= params_.sq_entries) return nullptr;
  io_uring_sqe* sqe = &sqes_[sqe_tail_ & sq_mask_];
  ++sqe_tail_;
  std::memset(sqe, 0, sizeof *sqe);
  return sqe;
}

int Ring::Submit() {
  // Release: the SQE contents written before are visible to the kernel
  // before it sees the new tail.
  __atomic_store_n(sq_tail_, sqe_tail_, __ATOMIC_RELEASE);
  const uint32_t head = __atomic_load_n(sq_head_, __ATOMIC_ACQUIRE);
  const unsigned pending = sqe_tail_ - head;
  if (pending == 0) return 0;
  return SysEnter(ring_fd_, pending, 0, 0);
}

unsigned Ring::Publish() {
  __atomic_store_n(sq_tail_, sqe_tail_, __ATOMIC_RELEASE);
  return sqe_tail_ - __atomic_load_n(sq_head_, __ATOMIC_ACQUIRE);
}

int Ring::SubmitAndWait(unsigned to_submit, unsigned min_complete) {
  return SysEnter(ring_fd_, to_submit, min_complete, IORING_ENTER_GETEVENTS);
}

int Ring::WaitForCompletions(unsigned min_complete) {
  return SysEnter(ring_fd_, 0, min_complete, IORING_ENTER_GETEVENTS);
}

void Ring::PrepareNop(io_uring_sqe* sqe, uint64_t user_data) {
  sqe->opcode = IORING_OP_NOP;
  sqe->user_data = user_data;
}

}  // namespace uring
}  // namespace overlapped
