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
#include <poll.h>
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

// A forward's stage: a recv step or a send step in flight, or (with the
// multishot poll, below) the poll to arm, its reports awaited, or the
// forward ending.
enum ForwardStage : uint32_t { kForwardRecv, kForwardSend, kForwardArm, kForwardWait, kForwardStop };

struct SocketScratch {
  uint32_t stage;     // forward: which step is in flight (or ForwardStep)
  uint32_t flags;     // forward: what the kernel holds of it
  uint64_t done;      // send: bytes sent so far; forward: of the current round
  uint64_t pending;   // forward: bytes received in the current round
  uint64_t moved;     // forward: bytes sent to the target in all
  int64_t final_result;  // forward: its result, while it waits to end
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

namespace {

// A forward keeps a multishot poll on its source (where the kernel has
// one: KernelHasMultishotPoll) and makes the data path's syscalls itself,
// as the epoll floor does: on each report one recv into its buffer and one
// non-blocking send of it to the target, from the worker that reaped the
// report. Only what the target does not take becomes a send step (an SQE);
// while it is in flight the poll's reports change nothing, and when it is
// done the forward reads again. Per message that is a CQE, a recv and a
// send, where a recv step costs an SQE, the arming and disarming of the
// kernel's internal poll and a CQE (64-byte echo: 1.23x the floor's CPU
// per round trip, against about 1.0x with the poll kept).
// Without the multishot poll, a forward alternates recv and send steps.
// ForwardScratch::flags: what the kernel holds of the op.
constexpr uint32_t kForwardPollArmed = 1;   // the poll (a second request)
constexpr uint32_t kForwardStepInFlight = 2;  // a recv, send or removal SQE
constexpr uint32_t kForwardStopSent = 4;      // the poll's removal went in
// Not the kernel's: a report said the source's peer ended (or failed), so
// a short recv no longer means the source is drained (below).
constexpr uint32_t kForwardPeerEnded = 8;
constexpr uint32_t kForwardInKernel = kForwardPollArmed | kForwardStepInFlight;

// At most this many recv + send rounds per report, so that one busy
// connection does not starve the others on the worker; a forward that
// used them all goes on with a recv step, which gives the others a turn.
constexpr int kForwardRoundsPerReport = 16;

void PreparePollMultishot(io_uring_sqe* sqe, int fd) {
  sqe->opcode = IORING_OP_POLL_ADD;
  sqe->fd = fd;
  sqe->len = IORING_POLL_ADD_MULTI;
  sqe->poll32_events = POLLIN | POLLRDHUP;  // errors and hang-ups are always reported
  sqe->user_data |= kUringSecondRequest;
}

// Ends the forward with `result` once the kernel holds nothing of it:
// first the poll's removal (an SQE), then the CQEs of what is in flight.
bool EndForward(Op* op, SocketScratch* scratch, int64_t result) {
  if (scratch->stage != kForwardStop) {
    scratch->stage = kForwardStop;
    scratch->final_result = result;
  }
  if ((scratch->flags & kForwardPollArmed) != 0 && (scratch->flags & (kForwardStopSent | kForwardStepInFlight)) == 0) {
    op->result = kUringContinuing;
    return false;
  }
  if ((scratch->flags & kForwardInKernel) == 0) {
    op->result = scratch->final_result;
    return true;
  }
  op->result = kUringWaiting;
  return false;
}

// Sends the bytes the last recv left in the buffer (from `done` on) with
// one non-blocking send from this worker; what the target does not take
// becomes a send step.
enum class Sent { kAll, kStep, kFailed };
Sent SendDirect(Op* op, SocketScratch* scratch) {
  // A cancelled forward sends nothing more: its target may be closing.
  if (op->cancel_requested.load(std::memory_order_acquire)) return Sent::kFailed;
  int64_t sent = SocketTrySend(TargetOf(op), op->buffers[0].data + scratch->done, scratch->pending - scratch->done);
  if (sent == -EAGAIN) sent = 0;  // EWOULDBLOCK is EAGAIN on Linux
  if (sent < 0) {
    FailForward(op, sent, kForwardFailedSend);
    scratch->final_result = sent;
    return Sent::kFailed;
  }
  if (sent > 0) AddForwardStat(op, 1, sent);
  scratch->done += static_cast<uint64_t>(sent);
  scratch->moved += static_cast<uint64_t>(sent);
  return scratch->done < scratch->pending ? Sent::kStep : Sent::kAll;
}

// A report (or the end of a step): recv and send until the source is
// drained, the target full, the source ended or failed.
bool PumpForward(Op* op, SocketScratch* scratch) {
  const int fd = static_cast<int>(op->handle);
  const OpBuffer& buffer = op->buffers[0];
  for (int round = 0; round < kForwardRoundsPerReport; ++round) {
    if (op->cancel_requested.load(std::memory_order_acquire)) return EndForward(op, scratch, -ECANCELED);
    const ssize_t got = recv(fd, buffer.data, buffer.length, MSG_DONTWAIT);
    if (got == 0) {
      // The source ended and everything it sent is out: the target's
      // sending side ends too (best effort: a target gone since changes
      // nothing of what was moved).
      shutdown(TargetOf(op), SHUT_WR);
      return EndForward(op, scratch, static_cast<int64_t>(scratch->moved));
    }
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      FailForward(op, -errno, kForwardFailedRecv);
      return EndForward(op, scratch, -errno);
    }
    AddForwardStat(op, 0, got);
    scratch->pending = static_cast<uint64_t>(got);
    scratch->done = 0;
    switch (SendDirect(op, scratch)) {
      case Sent::kFailed:
        return EndForward(op, scratch, op->cancel_requested.load(std::memory_order_acquire) ? -ECANCELED : scratch->final_result);
      case Sent::kStep:
        scratch->stage = kForwardSend;
        op->result = kUringContinuing;
        return false;
      case Sent::kAll:
        break;
    }
    // A stream socket's recv returns less than asked only when it emptied
    // the receive queue: the poll reports the next bytes. But the recv
    // that takes the last bytes also takes a FIN queued behind them, and
    // no report follows it: once the peer ended, read on until EOF says so.
    if (static_cast<uint64_t>(got) < buffer.length && (scratch->flags & kForwardPeerEnded) == 0) break;
    if (round + 1 == kForwardRoundsPerReport) {
      scratch->stage = kForwardRecv;
      op->result = kUringContinuing;
      return false;
    }
  }
  // A poll the kernel ended by itself (it may, under memory pressure) is
  // armed again; arming reports bytes that are there already.
  scratch->stage = (scratch->flags & kForwardPollArmed) != 0 ? kForwardWait : kForwardArm;
  op->result = scratch->stage == kForwardArm ? kUringContinuing : kUringWaiting;
  return false;
}

}  // namespace

int PrepareUringSocketForward(Op* op, io_uring_sqe* sqe) {
  const int fd = static_cast<int>(op->handle);
  SocketScratch* scratch = ScratchOf(op);
  if (op->buffers.empty() || op->buffers[0].length == 0) return -EINVAL;
  if (op->result != kUringContinuing) {
    scratch->stage = uring::KernelHasMultishotPoll() ? kForwardArm : kForwardRecv;
    scratch->flags = 0;
    scratch->done = 0;
    scratch->pending = 0;
    scratch->moved = 0;
    scratch->final_result = 0;
  } else if (op->cancel_requested.load(std::memory_order_acquire) && scratch->stage != kForwardStop) {
    // Cancelled between steps (read under the lock Cancel takes): nothing
    // more moves; an armed poll is removed before the op ends.
    if ((scratch->flags & kForwardPollArmed) == 0) return -ECANCELED;
    scratch->stage = kForwardStop;
    scratch->final_result = -ECANCELED;
  }
  switch (scratch->stage) {
    case kForwardArm:
      PreparePollMultishot(sqe, fd);
      scratch->stage = kForwardWait;
      scratch->flags |= kForwardPollArmed;
      return 0;
    case kForwardStop:
      // The removal's own CQE comes to the op; the poll's last one follows.
      sqe->opcode = IORING_OP_ASYNC_CANCEL;
      sqe->fd = -1;
      sqe->addr = reinterpret_cast<uint64_t>(op) | kUringSecondRequest;
      scratch->flags |= kForwardStopSent | kForwardStepInFlight;
      return 0;
    case kForwardRecv:
      // Without the poll, an echo (the target is the source) has just
      // answered its peer, which has yet to reply, so a continuing recv
      // goes straight to the kernel's poll; a forward to another socket
      // expects more at once.
      PrepareRecv(sqe, fd, op->buffers[0].data, op->buffers[0].length,
                  op->result == kUringContinuing && TargetOf(op) == fd && (scratch->flags & kForwardPollArmed) == 0);
      break;
    default:
      PrepareSend(sqe, TargetOf(op), op->buffers[0].data + scratch->done, scratch->pending - scratch->done);
      break;
  }
  scratch->flags |= kForwardStepInFlight;
  return 0;
}

bool FinishUringSocketForward(Op* op, const io_uring_cqe& cqe) {
  SocketScratch* scratch = ScratchOf(op);
  const int res = cqe.res;
  if ((cqe.user_data & kUringSecondRequest) != 0) {
    // A report of the poll, or its end.
    if ((cqe.flags & IORING_CQE_F_MORE) == 0) scratch->flags &= ~kForwardPollArmed;
    if (res > 0 && (res & (POLLRDHUP | POLLHUP | POLLERR)) != 0) scratch->flags |= kForwardPeerEnded;
    if (scratch->stage == kForwardStop) return EndForward(op, scratch, scratch->final_result);
    if (op->cancel_requested.load(std::memory_order_acquire)) return EndForward(op, scratch, -ECANCELED);
    if (res < 0) {
      FailForward(op, res, kForwardFailedRecv);
      return EndForward(op, scratch, res);
    }
    // A step in flight reads again when it is done.
    if ((scratch->flags & kForwardStepInFlight) != 0 || scratch->stage != kForwardWait) {
      op->result = kUringWaiting;
      return false;
    }
    return PumpForward(op, scratch);
  }
  scratch->flags &= ~kForwardStepInFlight;
  if (scratch->stage == kForwardStop) return EndForward(op, scratch, scratch->final_result);
  if (res < 0) {
    FailForward(op, res, scratch->stage == kForwardRecv ? kForwardFailedRecv : kForwardFailedSend);
    return EndForward(op, scratch, res);
  }
  if (scratch->stage == kForwardRecv) {
    if (res == 0) {
      shutdown(TargetOf(op), SHUT_WR);
      return EndForward(op, scratch, static_cast<int64_t>(scratch->moved));
    }
    AddForwardStat(op, 0, res);
    scratch->pending = static_cast<uint64_t>(res);
    scratch->done = 0;
  } else {
    // The send step's CQE.
    AddForwardStat(op, 1, res);
    scratch->done += static_cast<uint64_t>(res);
    scratch->moved += static_cast<uint64_t>(res);
  }
  if (scratch->done < scratch->pending) {
    const Sent sent = scratch->stage == kForwardRecv ? SendDirect(op, scratch) : Sent::kStep;
    if (sent == Sent::kFailed) {
      return EndForward(op, scratch, op->cancel_requested.load(std::memory_order_acquire) ? -ECANCELED : scratch->final_result);
    }
    if (sent == Sent::kStep) {
      scratch->stage = kForwardSend;
      op->result = kUringContinuing;
      return false;
    }
  }
  // All of it is out. With the poll, the source is read now (bytes that
  // came during the step were reported to a forward that could not read
  // them); without it, a recv step follows.
  if ((scratch->flags & kForwardPollArmed) != 0) {
    scratch->stage = kForwardWait;
    return PumpForward(op, scratch);
  }
  // A poll that ended during the step is armed again, which reports bytes
  // that are there already. (A cancel is seen by the next Prepare.)
  scratch->stage = uring::KernelHasMultishotPoll() ? kForwardArm : kForwardRecv;
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
