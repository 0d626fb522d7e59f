// Socket ops on io_uring. Most kinds are one SQE; three continue: a send
// resubmits itself until every byte is out, a forward keeps a recv on its
// socket (multishot where the kernel has it) and sends what arrives to its
// target until the source ends, and a sendfile sends its head, then
// splices the file through a pipe of its own to the socket.
// An accept
// may be multishot instead: one SQE, a CQE per connection, which the
// backend's generic machinery hands over one by one. Each step's
// progress lives in the op's scratch space, which only the worker reaping
// the previous step touches.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "../common/sendfile_range.h"
#include "../common/socket_setup.h"
#include "../common/socket_stats.h"
#include "../posix/socket_address.h"
#include "probe.h"
#include "ring.h"
#include "uring_ops.h"

namespace overlapped {

namespace {

struct SocketScratch {
  uint64_t done;      // send: bytes sent so far
  sockaddr_storage address;  // connect: the peer, alive until the CQE
};
static_assert(sizeof(SocketScratch) <= sizeof(Op::backend_storage) - kUringOpScratchOffset,
              "SocketScratch must fit in the op's scratch space");

SocketScratch* ScratchOf(Op* op) { return reinterpret_cast<SocketScratch*>(UringOpScratch(op)); }

void PrepareSend(io_uring_sqe* sqe, int fd, const uint8_t* data, uint64_t length) {
  sqe->opcode = IORING_OP_SEND;
  sqe->fd = fd;
  sqe->addr = reinterpret_cast<uint64_t>(data);
  sqe->len = static_cast<uint32_t>(length);
  // A peer that reset the connection must fail the send, not kill the process.
  sqe->msg_flags = MSG_NOSIGNAL;
}

// `poll_first`: the caller expects nothing to read yet, so the kernel arms
// the socket's poll at once instead of trying a recv that would only find
// it empty (IORING_RECVSEND_POLL_FIRST, where the kernel has it).
void PrepareRecv(io_uring_sqe* sqe, int fd, uint8_t* data, uint64_t length, bool poll_first = false) {
  sqe->opcode = IORING_OP_RECV;
  sqe->fd = fd;
  sqe->addr = reinterpret_cast<uint64_t>(data);
  sqe->len = static_cast<uint32_t>(length);
  if (poll_first && uring::KernelHasRecvPollFirst()) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
}

int TargetOf(const Op* op) { return static_cast<int>(OpArgs<OpKind::kSocketForward>::to(*op)); }

}  // namespace

int PrepareUringSocketAccept(Op* op, io_uring_sqe* sqe) {
  sqe->opcode = IORING_OP_ACCEPT;
  sqe->fd = static_cast<int>(op->handle);
  sqe->accept_flags = SOCK_CLOEXEC;
  // Multishot (the backend left the flag only where the kernel has it):
  // a CQE with IORING_CQE_F_MORE per connection, until one without.
  if ((op->flags & op_flags::kMultishot) != 0) sqe->ioprio |= IORING_ACCEPT_MULTISHOT;
  return 0;
}
OVERLAPPED_URING_OP(SocketAccept, PrepareUringSocketAccept);

int PrepareUringSocketConnect(Op* op, io_uring_sqe* sqe) {
  SocketScratch* scratch = ScratchOf(op);
  const int length = FillSocketAddress(op->path.c_str(), static_cast<int>(op->arg), &scratch->address);
  if (length < 0) return length;
  sqe->opcode = IORING_OP_CONNECT;
  sqe->fd = static_cast<int>(op->handle);
  sqe->addr = reinterpret_cast<uint64_t>(&scratch->address);
  sqe->off = static_cast<uint64_t>(length);
  return 0;
}
OVERLAPPED_URING_OP(SocketConnect, PrepareUringSocketConnect);

int PrepareUringSocketRecv(Op* op, io_uring_sqe* sqe) {
  if (op->buffers.empty()) return -EINVAL;
  PrepareRecv(sqe, static_cast<int>(op->handle), op->buffers[0].data, op->buffers[0].length);
  return 0;
}
OVERLAPPED_URING_OP(SocketRecv, PrepareUringSocketRecv);

int PrepareUringSocketSend(Op* op, io_uring_sqe* sqe) {
  SocketScratch* scratch = ScratchOf(op);
  if (op->buffers.empty()) return -EINVAL;
  // First submission: nothing sent yet. A continuation keeps `done`.
  if (op->result != kUringContinuing) scratch->done = 0;
  PrepareSend(sqe, static_cast<int>(op->handle), op->buffers[0].data + scratch->done,
              op->buffers[0].length - scratch->done);
  return 0;
}

bool FinishUringSocketSend(Op* op, const io_uring_cqe& cqe) {
  SocketScratch* scratch = ScratchOf(op);
  const int res = cqe.res;
  if (res < 0) {
    op->result = res;
    return true;
  }
  scratch->done += static_cast<uint64_t>(res);
  SetSendProgress(op, scratch->done);
  if (scratch->done < op->buffers[0].length && res > 0) {
    op->result = kUringContinuing;
    return false;
  }
  op->result = static_cast<int64_t>(scratch->done);
  return true;
}
OVERLAPPED_URING_OP(SocketSend, PrepareUringSocketSend, FinishUringSocketSend);

int PrepareUringSocketShutdown(Op* op, io_uring_sqe* sqe) {
  const int64_t side = OpArgs<OpKind::kSocketShutdown>::how(*op);
  sqe->opcode = IORING_OP_SHUTDOWN;
  sqe->fd = static_cast<int>(op->handle);
  sqe->len = static_cast<uint32_t>(side == shutdown_how::kRead ? SHUT_RD : side == shutdown_how::kWrite ? SHUT_WR : SHUT_RDWR);
  return 0;
}
OVERLAPPED_URING_OP(SocketShutdown, PrepareUringSocketShutdown);

int PrepareUringSocketClose(Op* op, io_uring_sqe* sqe) {
  sqe->opcode = IORING_OP_CLOSE;
  sqe->fd = static_cast<int>(op->handle);
  return 0;
}
OVERLAPPED_URING_OP(SocketClose, PrepareUringSocketClose);

namespace {

// A forward's steps. The first recv is a one-shot one into the op's
// buffer, submitted by the thread that starts the forward. Once its bytes
// are out the worker registers a buffer ring of one entry, the op's own
// buffer, under a group of the op's own, and arms one multishot recv that
// picks it: each message then costs a CQE and the worker's inline send,
// with no SQE and no poll to arm again, and task work runs on the worker,
// which submitted the recv. The buffer goes back into the ring only once
// its bytes are sent, so a target that does not take them stops the
// source's receives: the kernel ends the multishot recv (ENOBUFS) at the
// next message, or the worker cancels it, and what is left goes out with
// send steps before the recv is armed again. Memory stays the op's one
// buffer. Where the kernel has no multishot recv or refuses the ring
// (RLIMIT_MEMLOCK, group ids used up), every recv is a one-shot step.
enum ForwardStep : uint32_t { kForwardStepRecv = 0, kForwardStepSend = 1 };

struct ForwardScratch {
  uint32_t step;           // which step is in flight
  uint16_t group;          // the buffer group, valid with `buffers`
  uint8_t source_ended;    // the source's EOF came while bytes waited
  uint8_t ending;          // a disarmed recv's last CQE ends the forward
  io_uring_buf_ring* buffers;  // the one-entry ring, or null
  uint16_t buffer_tail;    // entries added to the ring so far
  uint8_t ring_refused;    // registering failed: one-shot recvs only
  uint8_t unused[5];
  int64_t ending_result;
  uint64_t done;           // bytes of the current round sent
  uint64_t pending;        // bytes received in the current round
  uint64_t moved;          // bytes sent to the target in all
};
static_assert(sizeof(ForwardScratch) <= sizeof(Op::backend_storage) - kUringOpScratchOffset,
              "ForwardScratch must fit in the op's scratch space");

ForwardScratch* ForwardScratchOf(Op* op) { return reinterpret_cast<ForwardScratch*>(UringOpScratch(op)); }

// Group ids are per ring in the kernel; one process-wide pool keeps them
// unique on every ring, which is simpler and leaves 65,535 groups to share.
std::mutex forward_groups_mutex;
std::vector<uint16_t> free_forward_groups;
uint32_t next_forward_group = 1;  // 0 is left to other users of the ring

bool TakeForwardGroup(uint16_t* group) {
  std::lock_guard<std::mutex> lock(forward_groups_mutex);
  if (!free_forward_groups.empty()) {
    *group = free_forward_groups.back();
    free_forward_groups.pop_back();
    return true;
  }
  if (next_forward_group > 0xFFFF) return false;
  *group = static_cast<uint16_t>(next_forward_group++);
  return true;
}

void GiveBackForwardGroup(uint16_t group) {
  std::lock_guard<std::mutex> lock(forward_groups_mutex);
  free_forward_groups.push_back(group);
}

// Puts the op's buffer (back) into its ring; the release store publishes
// the entry before the tail that shows it.
void ProvideForwardBuffer(Op* op, ForwardScratch* scratch) {
  auto* entries = reinterpret_cast<io_uring_buf*>(scratch->buffers);
  constexpr uint64_t kMostBytes = 1u << 30;
  const uint64_t length = op->buffers[0].length < kMostBytes ? op->buffers[0].length : kMostBytes;
  entries[0].addr = reinterpret_cast<uint64_t>(op->buffers[0].data);
  entries[0].len = static_cast<uint32_t>(length);
  entries[0].bid = 0;
  scratch->buffer_tail++;
  __atomic_store_n(&scratch->buffers->tail, scratch->buffer_tail, __ATOMIC_RELEASE);
}

// Registers the op's ring on the worker's ring (on the worker, once the
// first round is out). False leaves the forward on one-shot recvs.
bool StartForwardRing(Op* op, ForwardScratch* scratch) {
  scratch->ring_refused = 1;
  const int ring_fd = UringOpStateOf(op)->ring_fd;
  if (ring_fd < 0 || !uring::KernelHasMultishotRecv()) return false;
  uint16_t group;
  if (!TakeForwardGroup(&group)) return false;
  // The kernel pins the ring's memory, which must start a page.
  void* memory = nullptr;
  if (posix_memalign(&memory, 4096, 4096) != 0) {
    GiveBackForwardGroup(group);
    return false;
  }
  std::memset(memory, 0, 4096);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(memory);
  reg.ring_entries = 1;
  reg.bgid = group;
  if (uring::SysRegister(ring_fd, IORING_REGISTER_PBUF_RING, &reg, 1) != 0) {
    free(memory);
    GiveBackForwardGroup(group);
    return false;
  }
  scratch->ring_refused = 0;
  scratch->buffers = static_cast<io_uring_buf_ring*>(memory);
  scratch->group = group;
  scratch->buffer_tail = 0;
  ProvideForwardBuffer(op, scratch);
  return true;
}

// Unregisters the ring once no recv of the op is armed any more.
void ReleaseUringSocketForward(Op* op) {
  ForwardScratch* scratch = ForwardScratchOf(op);
  if (scratch->buffers == nullptr) return;
  io_uring_buf_reg reg{};
  reg.bgid = scratch->group;
  const int ring_fd = UringOpStateOf(op)->ring_fd;
  // A ring that refuses (closed already) has dropped the group with itself.
  if (ring_fd >= 0) uring::SysRegister(ring_fd, IORING_UNREGISTER_PBUF_RING, &reg, 1);
  free(scratch->buffers);
  scratch->buffers = nullptr;
  GiveBackForwardGroup(scratch->group);
}

// Ends the forward (true for Finish) with `result`, or, while its recv is
// still armed, cancels that and ends with the recv's last CQE.
bool EndForward(Op* op, ForwardScratch* scratch, int64_t result, bool armed) {
  if (armed) {
    scratch->ending = 1;
    scratch->ending_result = result;
    op->result = kUringDisarm;
    return false;
  }
  ReleaseUringSocketForward(op);
  op->result = result;
  return true;
}

bool FailForwardStep(Op* op, ForwardScratch* scratch, int64_t error, ForwardSide side, bool armed) {
  SetForwardFailedSide(op, side);
  return EndForward(op, scratch, error, armed);
}

// The source ended and every byte it sent is out: the target's sending
// side ends too (best effort: a target gone since changes nothing of what
// was moved).
bool EndForwardAtEof(Op* op, ForwardScratch* scratch) {
  shutdown(TargetOf(op), SHUT_WR);
  return EndForward(op, scratch, static_cast<int64_t>(scratch->moved), false);
}

// The round's bytes are all out: the buffer goes back into the ring (the
// first time, the ring is made), and the next step is a recv.
void EndForwardRound(Op* op, ForwardScratch* scratch) {
  scratch->pending = 0;
  scratch->done = 0;
  if (scratch->buffers != nullptr) {
    ProvideForwardBuffer(op, scratch);
  } else if (!scratch->ring_refused) {
    StartForwardRing(op, scratch);
  }
}

// A recv step's bytes (in the op's buffer): sent at once from this worker
// in one non-blocking send, the same one JS's send fast path makes. What
// fits in the target's socket buffer (all of it, unless its peer stopped
// reading) costs no SQE; the rest waits for send steps.
bool ForwardReceived(Op* op, ForwardScratch* scratch, int64_t received, bool armed) {
  AddForwardStat(op, 0, received);
  scratch->pending = static_cast<uint64_t>(received);
  scratch->done = 0;
  // A cancelled forward sends nothing more: its target may be closing.
  if (op->cancel_requested.load(std::memory_order_acquire)) return EndForward(op, scratch, -ECANCELED, armed);
  int64_t sent = SocketTrySend(TargetOf(op), op->buffers[0].data, scratch->pending);
  if (sent == -EAGAIN) sent = 0;  // EWOULDBLOCK is EAGAIN on Linux
  if (sent < 0) return FailForwardStep(op, scratch, sent, kForwardFailedSend, armed);
  if (sent > 0) AddForwardStat(op, 1, sent);
  scratch->done = static_cast<uint64_t>(sent);
  scratch->moved += static_cast<uint64_t>(sent);
  if (scratch->done >= scratch->pending) {
    EndForwardRound(op, scratch);
    op->result = kUringContinuing;
    return false;
  }
  // The target is full. An armed recv is cancelled (its buffer is out of
  // the ring, so it could only end with ENOBUFS at the next message, which
  // may never come); send steps go once its last CQE is in.
  op->result = armed ? kUringDisarm : kUringContinuing;
  return false;
}

}  // namespace

int PrepareUringSocketForward(Op* op, io_uring_sqe* sqe) {
  const int fd = static_cast<int>(op->handle);
  ForwardScratch* scratch = ForwardScratchOf(op);
  if (op->buffers.empty() || op->buffers[0].length == 0) return -EINVAL;
  const bool first = op->result != kUringContinuing;
  if (first) *scratch = ForwardScratch{};
  if (scratch->pending > scratch->done) {
    scratch->step = kForwardStepSend;
    PrepareSend(sqe, TargetOf(op), op->buffers[0].data + scratch->done, scratch->pending - scratch->done);
    return 0;
  }
  scratch->step = kForwardStepRecv;
  if (scratch->buffers != nullptr) {
    // The kernel picks the op's buffer from its ring for each message.
    sqe->opcode = IORING_OP_RECV;
    sqe->fd = fd;
    sqe->ioprio = IORING_RECV_MULTISHOT;
    sqe->flags = IOSQE_BUFFER_SELECT;
    sqe->buf_group = scratch->group;
    return 0;
  }
  // An echo (the target is the source) has just answered its peer, which
  // has yet to reply, so a continuing recv goes straight to the poll; a
  // forward to another socket expects more at once.
  PrepareRecv(sqe, fd, op->buffers[0].data, op->buffers[0].length, !first && TargetOf(op) == fd);
  return 0;
}

bool FinishUringSocketForward(Op* op, const io_uring_cqe& cqe) {
  ForwardScratch* scratch = ForwardScratchOf(op);
  const int res = cqe.res;
  const bool armed = (cqe.flags & IORING_CQE_F_MORE) != 0;
  if (scratch->step == kForwardStepSend) {
    if (res < 0) return FailForwardStep(op, scratch, res, kForwardFailedSend, false);
    if (res > 0) AddForwardStat(op, 1, res);
    scratch->done += static_cast<uint64_t>(res);
    scratch->moved += static_cast<uint64_t>(res);
    if (scratch->done >= scratch->pending) {
      if (scratch->source_ended) return EndForwardAtEof(op, scratch);
      EndForwardRound(op, scratch);
    }
    op->result = kUringContinuing;
    return false;
  }
  if (scratch->ending) {
    // Cancelled by the forward itself: only its last CQE matters.
    if (armed) {
      op->result = kUringContinuing;
      return false;
    }
    return EndForward(op, scratch, scratch->ending_result, false);
  }
  if (res > 0) return ForwardReceived(op, scratch, res, armed);
  if (res == 0) {
    // The last bytes before the EOF may still wait for the target.
    if (scratch->pending > scratch->done) {
      scratch->source_ended = 1;
      op->result = kUringContinuing;
      return false;
    }
    return EndForwardAtEof(op, scratch);
  }
  // A multishot recv ends with ENOBUFS when a message comes while the
  // buffer is out, and with ECANCELED when the forward disarmed it: either
  // way the next step (send the rest, or recv again) follows, unless the
  // op itself was cancelled meanwhile: then it ends cancelled, whichever
  // way its recv ended (not with the ENOBUFS of its own buffer).
  const bool resumable = scratch->buffers != nullptr && (res == -ENOBUFS || (res == -ECANCELED && scratch->pending > scratch->done));
  if (resumable) {
    if (op->cancel_requested.load(std::memory_order_acquire)) {
      return FailForwardStep(op, scratch, -ECANCELED, kForwardFailedRecv, armed);
    }
    op->result = kUringContinuing;
    return false;
  }
  return FailForwardStep(op, scratch, res, kForwardFailedRecv, armed);
}

OVERLAPPED_URING_OP(SocketForward, PrepareUringSocketForward, FinishUringSocketForward, ReleaseUringSocketForward);


namespace {

// A sendfile's steps: the head (IORING_OP_SEND with MSG_MORE while file
// bytes follow), then file -> pipe and pipe -> socket splices in turn
// until the range (clamped to the file's size at the first step) is out.
// The kernel runs each splice on io-wq; the pages move by reference.
enum SendfileStage : uint32_t { kSendfileHead = 0, kSendfileFill = 1, kSendfileDrain = 2, kSendfileEnd = 3 };

struct SendfileScratch {
  uint32_t stage;
  int pipe_read;
  int pipe_write;
  uint32_t pipe_size;
  uint64_t done;       // bytes sent, head included
  uint64_t file_sent;  // bytes of the file sent
  uint64_t file_end;   // bytes of the file to send
  uint64_t in_pipe;    // bytes filled into the pipe and not yet sent
};
static_assert(sizeof(SendfileScratch) <= sizeof(Op::backend_storage) - kUringOpScratchOffset,
              "SendfileScratch must fit in the op's scratch space");

SendfileScratch* SendfileScratchOf(Op* op) { return reinterpret_cast<SendfileScratch*>(UringOpScratch(op)); }

using SendfileArgs = OpArgs<OpKind::kSocketSendfile>;

// A pipe of 1 MiB where the system allows it (fs.pipe-max-size), so that
// a step moves up to that much: 2 GiB takes about 4,000 steps.
constexpr int kSendfilePipeBytes = 1 << 20;

void ReleaseUringSocketSendfile(Op* op) {
  SendfileScratch* scratch = SendfileScratchOf(op);
  if (scratch->pipe_read >= 0) close(scratch->pipe_read);
  if (scratch->pipe_write >= 0) close(scratch->pipe_write);
  scratch->pipe_read = scratch->pipe_write = -1;
}

void PrepareSplice(io_uring_sqe* sqe, int in, int64_t in_offset, int out, uint64_t length, bool more) {
  sqe->opcode = IORING_OP_SPLICE;
  sqe->fd = out;
  sqe->off = static_cast<uint64_t>(-1);
  sqe->splice_fd_in = in;
  sqe->splice_off_in = static_cast<uint64_t>(in_offset);
  sqe->len = static_cast<uint32_t>(length);
  sqe->splice_flags = more ? SPLICE_F_MORE : 0;
}

// The first step: clamps the range to the file and makes the pipe.
int StartSendfile(Op* op, SendfileScratch* scratch) {
  *scratch = SendfileScratch{kSendfileHead, -1, -1, 0, 0, 0, 0, 0};
  struct stat info;
  if (fstat(static_cast<int>(SendfileArgs::file(*op)), &info) != 0) return -errno;
  scratch->file_end = SendfileRangeBytes(*op, static_cast<uint64_t>(info.st_size));
  if (scratch->file_end > 0) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -errno;
    scratch->pipe_read = fds[0];
    scratch->pipe_write = fds[1];
    const uint64_t wanted = scratch->file_end < kSendfilePipeBytes ? scratch->file_end : kSendfilePipeBytes;
    if (wanted > 65536) fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(wanted));
    const int size_now = fcntl(fds[1], F_GETPIPE_SZ);
    scratch->pipe_size = size_now > 0 ? static_cast<uint32_t>(size_now) : 65536;
  }
  if (SendfileHeadBytes(*op) == 0) scratch->stage = scratch->file_end > 0 ? kSendfileFill : kSendfileEnd;
  return 0;
}

}  // namespace

int PrepareUringSocketSendfile(Op* op, io_uring_sqe* sqe) {
  SendfileScratch* scratch = SendfileScratchOf(op);
  const int fd = static_cast<int>(op->handle);
  if (op->result != kUringContinuing) {
    const int started = StartSendfile(op, scratch);
    if (started < 0) {
      ReleaseUringSocketSendfile(op);
      return started;
    }
  }
  switch (scratch->stage) {
    case kSendfileHead:
      PrepareSend(sqe, fd, SendfileArgs::head(*op)->data + scratch->done, SendfileHeadBytes(*op) - scratch->done);
      if (scratch->file_end > 0) sqe->msg_flags |= MSG_MORE;
      break;
    case kSendfileFill: {
      const uint64_t left = scratch->file_end - scratch->file_sent;
      PrepareSplice(sqe, static_cast<int>(SendfileArgs::file(*op)),
                    SendfileArgs::position(*op) + static_cast<int64_t>(scratch->file_sent), scratch->pipe_write,
                    left < scratch->pipe_size ? left : scratch->pipe_size, false);
      break;
    }
    case kSendfileDrain:
      PrepareSplice(sqe, scratch->pipe_read, -1, fd, scratch->in_pipe,
                    scratch->file_sent + scratch->in_pipe < scratch->file_end);
      break;
    default:
      sqe->opcode = IORING_OP_NOP;
      break;
  }
  return 0;
}

bool FinishUringSocketSendfile(Op* op, const io_uring_cqe& cqe) {
  SendfileScratch* scratch = SendfileScratchOf(op);
  const int res = cqe.res;
  if (res < 0) {
    ReleaseUringSocketSendfile(op);
    op->result = res;
    return true;
  }
  switch (scratch->stage) {
    case kSendfileHead:
      scratch->done += static_cast<uint64_t>(res);
      SetSendProgress(op, scratch->done);
      if (scratch->done >= SendfileHeadBytes(*op)) scratch->stage = scratch->file_end > 0 ? kSendfileFill : kSendfileEnd;
      else if (res == 0) scratch->stage = kSendfileEnd;
      break;
    case kSendfileFill:
      if (res == 0) {
        // The file got shorter since the first step: what it holds was
        // sent. A head sent with MSG_MORE is pushed out.
        SocketPushCorked(op->handle);
        scratch->stage = kSendfileEnd;
        break;
      }
      scratch->in_pipe = static_cast<uint64_t>(res);
      scratch->stage = kSendfileDrain;
      break;
    case kSendfileDrain:
      scratch->done += static_cast<uint64_t>(res);
      scratch->file_sent += static_cast<uint64_t>(res);
      scratch->in_pipe -= static_cast<uint64_t>(res);
      SetSendProgress(op, scratch->done);
      if (scratch->in_pipe == 0) scratch->stage = scratch->file_sent < scratch->file_end ? kSendfileFill : kSendfileEnd;
      else if (res == 0) scratch->stage = kSendfileEnd;
      break;
    default:
      break;
  }
  if (scratch->stage != kSendfileEnd) {
    op->result = kUringContinuing;
    return false;
  }
  ReleaseUringSocketSendfile(op);
  op->result = static_cast<int64_t>(scratch->done);
  return true;
}

OVERLAPPED_URING_OP(SocketSendfile, PrepareUringSocketSendfile, FinishUringSocketSendfile, ReleaseUringSocketSendfile);

}  // namespace overlapped
