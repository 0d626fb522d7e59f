// File ops on the io_uring backend: each kind is one SQE (IORING_OP_OPENAT,
// READ/WRITE, READV/WRITEV, FSYNC, FALLOCATE, FTRUNCATE, STATX, CLOSE), so
// the kernel runs it (inline or on its own io-wq workers) and the op's CQE
// carries the result. Buffers belong to the op until its CQE is reaped.
#include <fcntl.h>
// struct statx and STATX_*: from the kernel's uapi headers, since glibc's
// <sys/stat.h> declares them only from 2.28 and the prebuilds build
// against glibc 2.17.
#include <linux/stat.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>

#include "../posix/file_open_flags.h"
#include "uring_ops.h"

// IORING_OP_FTRUNCATE arrived with Linux 6.9; older uapi headers lack the
// number. Older kernels answer an unknown opcode with -EINVAL, and the
// TypeScript layer then truncates through node:fs (libuv's thread pool).
#ifndef IORING_OP_FTRUNCATE
#define IORING_OP_FTRUNCATE 55
#endif

namespace overlapped {

namespace {

static_assert(sizeof(OpBuffer) == sizeof(iovec), "OpBuffer must match iovec");
static_assert(offsetof(OpBuffer, data) == offsetof(iovec, iov_base), "OpBuffer must match iovec");
static_assert(offsetof(OpBuffer, length) == offsetof(iovec, iov_len), "OpBuffer must match iovec");

// STATX on an fd: an empty path with AT_EMPTY_PATH. The kernel reads the
// path when it runs the op, so it must outlive every SQE: a static.
const char kEmptyPath[] = "";

// The statx result lands in the op's scratch space; FinishUringFileOp turns
// it into the FileStatRecord the op's buffer receives.
struct UringStatScratch {
  struct statx result;
};
static_assert(sizeof(UringStatScratch) + kUringOpScratchOffset <= sizeof(Op::backend_storage),
              "statx must fit in an op's scratch space");

void PrepareRw(io_uring_sqe* sqe, uint8_t opcode, const Op* op, const void* addr, uint32_t len) {
  sqe->opcode = opcode;
  sqe->fd = static_cast<int32_t>(op->handle);
  sqe->addr = reinterpret_cast<uint64_t>(addr);
  sqe->len = len;
  sqe->off = static_cast<uint64_t>(op->offset);
}

double Millis(const statx_timestamp& t) {
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

void FinishStat(Op* op, const io_uring_cqe& cqe) {
  if (cqe.res < 0) {
    op->result = cqe.res;
    return;
  }
  const struct statx& info = reinterpret_cast<UringStatScratch*>(UringOpScratch(op))->result;
  double fields[kStatFieldCount] = {};
  fields[kStatSize] = static_cast<double>(info.stx_size);
  fields[kStatAllocated] = static_cast<double>(info.stx_blocks) * 512;
  fields[kStatBlksize] = static_cast<double>(info.stx_blksize);
  fields[kStatMode] = static_cast<double>(info.stx_mode);
  fields[kStatNlink] = static_cast<double>(info.stx_nlink);
  fields[kStatIno] = static_cast<double>(info.stx_ino);
  fields[kStatDev] = static_cast<double>(makedev(info.stx_dev_major, info.stx_dev_minor));
  fields[kStatAtimeMs] = Millis(info.stx_atime);
  fields[kStatMtimeMs] = Millis(info.stx_mtime);
  fields[kStatCtimeMs] = Millis(info.stx_ctime);
  fields[kStatBirthtimeMs] =
      (info.stx_mask & STATX_BTIME) != 0 ? Millis(info.stx_btime) : fields[kStatCtimeMs];
  std::memcpy(op->buffers[0].data, fields, sizeof fields);
  op->result = 0;
}

}  // namespace

int PrepareUringFileOpen(Op* op, io_uring_sqe* sqe) {
  const int flags = OpenFlagsFor(op->arg);
  if (flags < 0) return flags;
  sqe->opcode = IORING_OP_OPENAT;
  sqe->fd = AT_FDCWD;
  sqe->addr = reinterpret_cast<uint64_t>(op->path.c_str());
  sqe->len = 0666;
  sqe->open_flags = static_cast<uint32_t>(flags);
  return 0;
}

bool FinishUringFileOpen(Op* op, const io_uring_cqe& cqe) {
  // fstat on the fresh fd is cheap and never waits on the device.
  op->result = cqe.res >= 0 ? FinishOpen(cqe.res, op->arg) : cqe.res;
  return true;
}
OVERLAPPED_URING_OP(FileOpen, PrepareUringFileOpen, FinishUringFileOpen);

int PrepareUringFileClose(Op* op, io_uring_sqe* sqe) {
  sqe->opcode = IORING_OP_CLOSE;
  sqe->fd = static_cast<int32_t>(op->handle);
  return 0;
}
OVERLAPPED_URING_OP(FileClose, PrepareUringFileClose);

namespace {

int PrepareTransfer(Op* op, io_uring_sqe* sqe, uint8_t opcode) {
  // The kernel caps one read or write at 0x7ffff000 bytes (kMaxTransfer)
  // and reports the short count; the caller continues from there.
  if (op->buffers.size() != 1 || op->offset < 0) return -EINVAL;
  PrepareRw(sqe, opcode, op, op->buffers[0].data,
            static_cast<uint32_t>(op->buffers[0].length > kMaxTransfer ? kMaxTransfer : op->buffers[0].length));
  return 0;
}

int PrepareVectored(Op* op, io_uring_sqe* sqe, uint8_t opcode) {
  // The op's buffer list is the iovec array; it lives as long as the op.
  if (op->buffers.empty() || op->buffers.size() > IOV_MAX || op->offset < 0) return -EINVAL;
  PrepareRw(sqe, opcode, op, op->buffers.data(), static_cast<uint32_t>(op->buffers.size()));
  return 0;
}

}  // namespace

int PrepareUringFileRead(Op* op, io_uring_sqe* sqe) { return PrepareTransfer(op, sqe, IORING_OP_READ); }
OVERLAPPED_URING_OP(FileRead, PrepareUringFileRead);
int PrepareUringFileWrite(Op* op, io_uring_sqe* sqe) { return PrepareTransfer(op, sqe, IORING_OP_WRITE); }
OVERLAPPED_URING_OP(FileWrite, PrepareUringFileWrite);
int PrepareUringFileReadv(Op* op, io_uring_sqe* sqe) { return PrepareVectored(op, sqe, IORING_OP_READV); }
OVERLAPPED_URING_OP(FileReadv, PrepareUringFileReadv);
int PrepareUringFileWritev(Op* op, io_uring_sqe* sqe) { return PrepareVectored(op, sqe, IORING_OP_WRITEV); }
OVERLAPPED_URING_OP(FileWritev, PrepareUringFileWritev);

int PrepareUringFileSync(Op* op, io_uring_sqe* sqe) {
  sqe->opcode = IORING_OP_FSYNC;
  sqe->fd = static_cast<int32_t>(OpArgs<OpKind::kFileSync>::file(*op));
  return 0;
}
OVERLAPPED_URING_OP(FileSync, PrepareUringFileSync);

int PrepareUringFileDatasync(Op* op, io_uring_sqe* sqe) {
  sqe->opcode = IORING_OP_FSYNC;
  sqe->fd = static_cast<int32_t>(OpArgs<OpKind::kFileDatasync>::file(*op));
  sqe->fsync_flags = IORING_FSYNC_DATASYNC;
  return 0;
}
OVERLAPPED_URING_OP(FileDatasync, PrepareUringFileDatasync);

int PrepareUringFileAllocate(Op* op, io_uring_sqe* sqe) {
  // fallocate(fd, mode = len, offset = off, length = addr).
  sqe->opcode = IORING_OP_FALLOCATE;
  sqe->fd = static_cast<int32_t>(op->handle);
  sqe->len = 0;
  sqe->off = 0;
  sqe->addr = static_cast<uint64_t>(OpArgs<OpKind::kFileAllocate>::size(*op));
  return 0;
}
OVERLAPPED_URING_OP(FileAllocate, PrepareUringFileAllocate);

int PrepareUringFileTruncate(Op* op, io_uring_sqe* sqe) {
  sqe->opcode = IORING_OP_FTRUNCATE;
  sqe->fd = static_cast<int32_t>(op->handle);
  sqe->off = static_cast<uint64_t>(OpArgs<OpKind::kFileTruncate>::size(*op));
  return 0;
}
OVERLAPPED_URING_OP(FileTruncate, PrepareUringFileTruncate);

int PrepareUringFileStat(Op* op, io_uring_sqe* sqe) {
  if (op->buffers.size() != 1 || op->buffers[0].length < kFileStatBytes) return -EINVAL;
  auto* scratch = new (UringOpScratch(op)) UringStatScratch;
  sqe->opcode = IORING_OP_STATX;
  sqe->fd = static_cast<int32_t>(op->handle);
  sqe->addr = reinterpret_cast<uint64_t>(kEmptyPath);
  sqe->len = STATX_BASIC_STATS | STATX_BTIME;
  sqe->off = reinterpret_cast<uint64_t>(&scratch->result);
  sqe->statx_flags = AT_EMPTY_PATH;
  return 0;
}

bool FinishUringFileStat(Op* op, const io_uring_cqe& cqe) {
  FinishStat(op, cqe);
  return true;
}
OVERLAPPED_URING_OP(FileStat, PrepareUringFileStat, FinishUringFileStat);

// No opcode: the helper threads run them (posix/pool_file_ops.cc).
OVERLAPPED_URING_OP(FileCopyRange, nullptr);
OVERLAPPED_URING_OP(FileRealpath, nullptr);

}  // namespace overlapped
