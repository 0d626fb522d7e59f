// File ops on the threadpool backend: each runs as one blocking syscall on
// a worker thread. Results follow the op contract: bytes or a new fd, or a
// negative errno (raw_error stays 0: errno is the platform's own code).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>

#include "file_open_flags.h"
#include "pool_ops.h"

namespace overlapped {

namespace {


// An OpBuffer has the layout of a struct iovec, so an op's buffer list is
// handed to preadv/pwritev as it is, without a copy.
static_assert(sizeof(OpBuffer) == sizeof(iovec), "OpBuffer must match iovec");
static_assert(offsetof(OpBuffer, data) == offsetof(iovec, iov_base), "OpBuffer must match iovec");
static_assert(offsetof(OpBuffer, length) == offsetof(iovec, iov_len), "OpBuffer must match iovec");


int64_t ResultOf(int64_t value) { return value >= 0 ? value : -errno; }

double Millis(const timespec& t) {
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

void RunOpen(Op* op) {
  const int flags = OpenFlagsFor(op->arg);
  if (flags < 0) {
    op->result = flags;
    return;
  }
  const int fd = open(op->path.c_str(), flags, 0666);
  if (fd < 0) {
    op->result = -errno;
    return;
  }
  op->result = FinishOpen(fd, op->arg);
}

void RunStat(Op* op) {
  if (op->buffers.empty() || op->buffers[0].length < kFileStatBytes) {
    op->result = -EINVAL;
    return;
  }
  struct stat info;
  if (fstat(static_cast<int>(op->handle), &info) != 0) {
    op->result = -errno;
    return;
  }
  double fields[kStatFieldCount] = {};
  fields[kStatSize] = static_cast<double>(info.st_size);
  fields[kStatAllocated] = static_cast<double>(info.st_blocks) * 512;
  fields[kStatBlockSize] = static_cast<double>(info.st_blksize);
  fields[kStatMode] = static_cast<double>(info.st_mode);
  fields[kStatLinks] = static_cast<double>(info.st_nlink);
  fields[kStatIno] = static_cast<double>(info.st_ino);
  fields[kStatDev] = static_cast<double>(info.st_dev);
  fields[kStatAtimeMs] = Millis(info.st_atim);
  fields[kStatMtimeMs] = Millis(info.st_mtim);
  fields[kStatCtimeMs] = Millis(info.st_ctim);
  fields[kStatBirthtimeMs] = fields[kStatCtimeMs];  // fstat has no birth time
  std::memcpy(op->buffers[0].data, fields, sizeof fields);
  op->result = 0;
}

// copy_file_range keeps the bytes in the kernel (and lets file systems
// share extents); where it is missing or refuses the pair of files, the
// range is copied through the op's bounce buffer. The io_uring backend runs
// this same function on its helper threads (linux/uring_helper_threads.h).
#ifdef __linux__
ssize_t CopyInKernel(int from, int to, int64_t position, size_t length) {
  // The raw system call, not glibc's wrapper (glibc 2.27+): the prebuild
  // links against an older glibc, and a kernel without the call (before
  // 4.5) answers ENOSYS, which falls back to the bounce buffer.
  loff_t in = position;
  loff_t out = position;
  return syscall(__NR_copy_file_range, from, &in, to, &out, length, 0u);
}
#else
ssize_t CopyInKernel(int, int, int64_t, size_t) {
  errno = ENOSYS;
  return -1;
}
#endif

void RunCopyRange(Op* op) {
  if (op->buffers.size() != 2 || op->buffers[0].length < sizeof(double) ||
      op->buffers[1].length == 0 || op->offset < 0) {
    op->result = -EINVAL;
    return;
  }
  double requested = 0;
  std::memcpy(&requested, op->buffers[0].data, sizeof requested);
  const int from = static_cast<int>(op->handle);
  const int to = static_cast<int>(op->arg);
  const int64_t length = static_cast<int64_t>(requested);
  int64_t done = 0;
  bool in_kernel = true;
  while (done < length) {
    // A cancelled copy ends between two chunks with ECANCELED even when
    // bytes were moved: a short count would read as "the source ended".
    if (op->cancel_requested.load(std::memory_order_relaxed)) {
      op->result = -ECANCELED;
      return;
    }
    const int64_t position = op->offset + done;
    const size_t chunk = static_cast<size_t>(
        std::min<int64_t>(length - done, static_cast<int64_t>(op->buffers[1].length)));
    ssize_t moved = -1;
    if (in_kernel) {
      moved = CopyInKernel(from, to, position, chunk);
      if (moved < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                        errno == EOPNOTSUPP || errno == EBADF)) {
        in_kernel = false;  // EBADF here can mean O_APPEND or a non-regular file
        continue;
      }
    } else {
      moved = pread(from, op->buffers[1].data, chunk, position);
      for (ssize_t written = 0; moved > 0 && written < moved;) {
        const ssize_t step = pwrite(to, op->buffers[1].data + written,
                                    static_cast<size_t>(moved - written), position + written);
        if (step <= 0) {
          moved = step < 0 ? -1 : (errno = EIO, -1);
          break;
        }
        written += step;
      }
    }
    if (moved < 0) {
      op->result = done > 0 ? done : -errno;
      return;
    }
    if (moved == 0) break;  // the source ended early
    done += moved;
  }
  op->result = done;
}

}  // namespace

void RunPoolFileOp(Op* op) {
  const int fd = static_cast<int>(op->handle);
  const bool one_buffer = op->buffers.size() == 1;
  switch (op->kind) {
    case OpKind::kFileOpen:
      RunOpen(op);
      return;
    case OpKind::kFileClose:
      // POSIX leaves the fd closed even when close reports EINTR, so it
      // must not be retried.
      op->result = close(fd) == 0 || errno == EINTR ? 0 : -errno;
      return;
    case OpKind::kFileRead:
      op->result = one_buffer
          ? ResultOf(pread(fd, op->buffers[0].data, op->buffers[0].length, op->offset))
          : -EINVAL;
      return;
    case OpKind::kFileWrite:
      op->result = one_buffer
          ? ResultOf(pwrite(fd, op->buffers[0].data, op->buffers[0].length, op->offset))
          : -EINVAL;
      return;
    case OpKind::kFileReadv:
    case OpKind::kFileWritev: {
      if (op->buffers.empty() || op->buffers.size() > IOV_MAX) {
        op->result = -EINVAL;
        return;
      }
      const auto* vectors = reinterpret_cast<const iovec*>(op->buffers.data());
      const int count = static_cast<int>(op->buffers.size());
      op->result = ResultOf(op->kind == OpKind::kFileReadv
                                ? preadv(fd, vectors, count, op->offset)
                                : pwritev(fd, vectors, count, op->offset));
      return;
    }
    case OpKind::kFileSync:
      op->result = ResultOf(op->arg == 1 ? fdatasync(fd) : fsync(fd));
      return;
    case OpKind::kFileAllocate: {
      // posix_fallocate returns the error instead of setting errno.
      const int error = op->arg > 0 ? posix_fallocate(fd, 0, op->arg) : 0;
      op->result = -error;
      return;
    }
    case OpKind::kFileTruncate:
      op->result = ResultOf(ftruncate(fd, op->arg));
      return;
    case OpKind::kFileStat:
      RunStat(op);
      return;
    case OpKind::kFileCopyRange:
      RunCopyRange(op);
      return;
    default:
      op->result = -ENOSYS;
      return;
  }
}

}  // namespace overlapped
