// Socket ops on io_uring. Most kinds are one SQE; two continue: a send
// resubmits itself until every byte is out, and a forward alternates recv
// steps on its socket and send steps on its target until the source ends.
// An accept
// may be multishot instead: one SQE, a CQE per connection, which the
// backend's generic machinery hands over one by one. Each step's
// progress lives in the op's scratch space, which only the worker reaping
// the previous step touches.
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

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

}  // namespace overlapped
