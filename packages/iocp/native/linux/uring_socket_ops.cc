// Socket ops on io_uring. Most kinds are one SQE; three continue: a send
// resubmits itself until every byte is out, a forward alternates recv
// steps on its socket and send steps on its target until the source ends,
// and a sendfile sends its head, then splices the file through a pipe of
// its own to the socket.
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
#include <cstring>

#include "../common/sendfile_range.h"
#include "../common/socket_setup.h"
#include "../common/socket_stats.h"
#include "../posix/socket_address.h"
#include "probe.h"
#include "uring_ops.h"

namespace overlapped {

namespace {

enum ForwardStage : uint32_t { kForwardRecv = 0, kForwardSend = 1 };

struct SocketScratch {
  uint32_t stage;     // forward: which step is in flight
  uint32_t unused;
  uint64_t done;      // send: bytes sent so far; forward: of the current round
  uint64_t pending;   // forward: bytes received in the current round
  uint64_t moved;     // forward: bytes sent to the target in all
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

// A forward ends on a failure of the side its step was on.
void FailForward(Op* op, int64_t error, ForwardSide side) {
  SetForwardFailedSide(op, side);
  op->result = error;
}

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

int PrepareUringSocketForward(Op* op, io_uring_sqe* sqe) {
  const int fd = static_cast<int>(op->handle);
  SocketScratch* scratch = ScratchOf(op);
  if (op->buffers.empty() || op->buffers[0].length == 0) return -EINVAL;
  if (op->result != kUringContinuing) {
    scratch->stage = kForwardRecv;
    scratch->done = 0;
    scratch->pending = 0;
    scratch->moved = 0;
  }
  if (scratch->stage == kForwardRecv) {
    // An echo (the target is the source) has just answered its peer,
    // which has yet to reply, so a continuing recv goes straight to the
    // poll; a forward to another socket expects more at once.
    PrepareRecv(sqe, fd, op->buffers[0].data, op->buffers[0].length,
                op->result == kUringContinuing && TargetOf(op) == fd);
  } else {
    PrepareSend(sqe, TargetOf(op), op->buffers[0].data + scratch->done, scratch->pending - scratch->done);
  }
  return 0;
}

bool FinishUringSocketForward(Op* op, const io_uring_cqe& cqe) {
  SocketScratch* scratch = ScratchOf(op);
  const int res = cqe.res;
  if (res < 0) {
    FailForward(op, res, scratch->stage == kForwardRecv ? kForwardFailedRecv : kForwardFailedSend);
    return true;
  }
  int64_t sent = res;  // by the send step whose CQE this is
  if (scratch->stage == kForwardRecv) {
    if (res == 0) {
      // The source ended and everything it sent is out: the target's
      // sending side ends too (best effort: a target gone since changes
      // nothing of what was moved).
      shutdown(TargetOf(op), SHUT_WR);
      op->result = static_cast<int64_t>(scratch->moved);
      return true;
    }
    AddForwardStat(op, 0, res);
    scratch->pending = static_cast<uint64_t>(res);
    scratch->done = 0;
    scratch->stage = kForwardSend;
    // The bytes go out now, from this worker, in one non-blocking send
    // (the same one JS's send fast path makes): what fits in the target's
    // socket buffer (all of it, unless its peer stopped reading) costs no
    // SQE, CQE and extra pass of the worker's loop. What is left, or
    // everything on EAGAIN, becomes a send step; a hard error ends the
    // forward as the send step's CQE would have. A cancelled forward
    // sends nothing more: its target may be closing.
    if (op->cancel_requested.load(std::memory_order_acquire)) {
      op->result = -ECANCELED;
      return true;
    }
    sent = SocketTrySend(TargetOf(op), op->buffers[0].data, scratch->pending);
    if (sent == -EAGAIN) sent = 0;  // EWOULDBLOCK is EAGAIN on Linux
    if (sent < 0) {
      FailForward(op, sent, kForwardFailedSend);
      return true;
    }
  }
  if (sent > 0) AddForwardStat(op, 1, sent);
  scratch->done += static_cast<uint64_t>(sent);
  scratch->moved += static_cast<uint64_t>(sent);
  if (scratch->done >= scratch->pending) scratch->stage = kForwardRecv;
  op->result = kUringContinuing;
  return false;
}

OVERLAPPED_URING_OP(SocketForward, PrepareUringSocketForward, FinishUringSocketForward);


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
