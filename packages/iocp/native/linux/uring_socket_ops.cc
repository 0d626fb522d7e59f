// Socket ops on io_uring. Most kinds are one SQE; two continue: a send
// resubmits itself until every byte is out, and the echo loop alternates
// recv and send steps on the same op until the connection ends. An accept
// may be multishot instead: one SQE, a CQE per connection, which the
// backend's generic machinery hands over one by one. Each step's
// progress lives in the op's scratch space, which only the worker reaping
// the previous step touches.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "../common/socket_setup.h"
#include "../common/socket_stats.h"
#include "../posix/socket_address.h"
#include "probe.h"
#include "uring_ops.h"

namespace overlapped {

namespace {

enum EchoStage : uint32_t { kEchoRecv = 0, kEchoSend = 1 };

struct SocketScratch {
  uint32_t stage;     // echo: which step is in flight
  uint32_t unused;
  uint64_t done;      // send: bytes sent so far; echo: of the current round
  uint64_t pending;   // echo: bytes received in the current round
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

// The echo loop ends: the op owns the socket, so it closes it here, on the
// worker, and reports why it ended.
void EndEcho(Op* op, int64_t result) {
  close(static_cast<int>(op->handle));
  op->result = result;
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

int PrepareUringSocketEcho(Op* op, io_uring_sqe* sqe) {
  const int fd = static_cast<int>(op->handle);
  SocketScratch* scratch = ScratchOf(op);
  if (op->buffers.empty() || op->buffers[0].length == 0) {
    close(fd);
    return -EINVAL;
  }
  if (op->result != kUringContinuing) {
    scratch->stage = kEchoRecv;
    scratch->done = 0;
    scratch->pending = 0;
  }
  if (scratch->stage == kEchoRecv) {
    // After the loop's own echo went out the peer has yet to answer it,
    // so a continuing recv goes straight to the poll.
    PrepareRecv(sqe, fd, op->buffers[0].data, op->buffers[0].length,
                op->result == kUringContinuing);
  } else {
    PrepareSend(sqe, fd, op->buffers[0].data + scratch->done, scratch->pending - scratch->done);
  }
  return 0;
}

bool FinishUringSocketEcho(Op* op, const io_uring_cqe& cqe) {
  SocketScratch* scratch = ScratchOf(op);
  const int res = cqe.res;
  if (res < 0) {
    EndEcho(op, res);
    return true;
  }
  if (scratch->stage == kEchoRecv) {
    if (res == 0) {
      // The peer shut down and everything it sent is echoed already:
      // shut down our side, then close, since both directions are done.
      shutdown(static_cast<int>(op->handle), SHUT_WR);
      EndEcho(op, 0);
      return true;
    }
    AddEchoStat(op, 0, res);
    scratch->pending = static_cast<uint64_t>(res);
    scratch->done = 0;
    // The echo goes out now, from this worker, in one non-blocking send
    // (the same one JS's send fast path makes): what fits in the socket
    // buffer (all of it, unless the peer stopped reading) costs no SQE,
    // CQE and extra pass of the worker's loop. What is left, or
    // everything on EAGAIN, becomes a send step; a hard error ends the
    // loop as the send step's CQE would have.
    const int64_t sent = SocketTrySend(op->handle, op->buffers[0].data, scratch->pending);
    if (sent < 0 && sent != -EAGAIN) {  // EWOULDBLOCK is EAGAIN on Linux
      EndEcho(op, sent);
      return true;
    }
    if (sent > 0) {
      AddEchoStat(op, 1, sent);
      scratch->done = static_cast<uint64_t>(sent);
    }
    scratch->stage = scratch->done >= scratch->pending ? kEchoRecv : kEchoSend;
  } else {
    AddEchoStat(op, 1, res);
    scratch->done += static_cast<uint64_t>(res);
    if (scratch->done >= scratch->pending) scratch->stage = kEchoRecv;
  }
  op->result = kUringContinuing;
  return false;
}

void AbandonUringSocketEcho(Op* op, int error) { EndEcho(op, error); }

OVERLAPPED_URING_OP(SocketEcho, PrepareUringSocketEcho, FinishUringSocketEcho, AbandonUringSocketEcho);

}  // namespace overlapped
