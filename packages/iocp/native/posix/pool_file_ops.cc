// File ops on the threadpool backend: each runs as one blocking syscall on
// a worker thread. Results follow the op contract: bytes or a new fd, or a
// negative errno (raw_error stays 0: errno is the platform's own code).
#include <fcntl.h>
#ifdef __APPLE__
#include <sys/param.h>  // MAXPATHLEN
#endif
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
#include <cstdio>
#include <cstring>

#include "../common/copy_range.h"
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

}  // namespace

void RunPoolFileOpen(Op* op) {
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
OVERLAPPED_POOL_WORKER_OP(FileOpen, RunPoolFileOpen);

void RunPoolFileStat(Op* op) {
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
  fields[kStatBlksize] = static_cast<double>(info.st_blksize);
  fields[kStatMode] = static_cast<double>(info.st_mode);
  fields[kStatNlink] = static_cast<double>(info.st_nlink);
  fields[kStatIno] = static_cast<double>(info.st_ino);
  fields[kStatDev] = static_cast<double>(info.st_dev);
  fields[kStatAtimeMs] = Millis(info.st_atim);
  fields[kStatMtimeMs] = Millis(info.st_mtim);
  fields[kStatCtimeMs] = Millis(info.st_ctim);
  fields[kStatBirthtimeMs] = fields[kStatCtimeMs];  // fstat has no birth time
  std::memcpy(op->buffers[0].data, fields, sizeof fields);
  op->result = 0;
}
OVERLAPPED_POOL_WORKER_OP(FileStat, RunPoolFileStat);

namespace {

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

}  // namespace

void RunPoolFileCopyRange(Op* op) {
  const int from = static_cast<int>(OpArgs<OpKind::kFileCopyRange>::source(*op));
  const int to = static_cast<int>(OpArgs<OpKind::kFileCopyRange>::target(*op));
  bool in_kernel = true;
  const CopyRangeOutcome outcome =
      CopyRangeInChunks(op, [&](int64_t position, uint8_t* bounce, size_t chunk, uint32_t* error) -> int64_t {
        if (in_kernel) {
          const ssize_t moved = CopyInKernel(from, to, position, chunk);
          if (moved >= 0) return moved;
          if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP && errno != EBADF) {
            *error = static_cast<uint32_t>(errno);
            return -1;
          }
          in_kernel = false;  // EBADF here can mean O_APPEND or a non-regular file
        }
        ssize_t moved = pread(from, bounce, chunk, position);
        for (ssize_t written = 0; moved > 0 && written < moved;) {
          const ssize_t step = pwrite(to, bounce + written, static_cast<size_t>(moved - written), position + written);
          if (step <= 0) {
            moved = step < 0 ? -1 : (errno = EIO, -1);
            break;
          }
          written += step;
        }
        if (moved < 0) *error = static_cast<uint32_t>(errno);
        return moved;
      });
  switch (outcome.how) {
    case CopyRangeOutcome::kCopied: op->result = outcome.done; return;
    case CopyRangeOutcome::kInvalid: op->result = -EINVAL; return;
    case CopyRangeOutcome::kCancelled: op->result = -ECANCELED; return;
    case CopyRangeOutcome::kFailed:
      op->result = outcome.done > 0 ? outcome.done : -static_cast<int64_t>(outcome.error);
      return;
  }
}
OVERLAPPED_POOL_WORKER_OP(FileCopyRange, RunPoolFileCopyRange);

void RunPoolFileClose(Op* op) {
  // POSIX leaves the fd closed even when close reports EINTR, so it must
  // not be retried.
  op->result = close(static_cast<int>(op->handle)) == 0 || errno == EINTR ? 0 : -errno;
}
OVERLAPPED_POOL_WORKER_OP(FileClose, RunPoolFileClose);

void RunPoolFileRead(Op* op) {
  op->result = op->buffers.size() == 1
      ? ResultOf(pread(static_cast<int>(op->handle), op->buffers[0].data, op->buffers[0].length, op->offset))
      : -EINVAL;
}
OVERLAPPED_POOL_WORKER_OP(FileRead, RunPoolFileRead);

void RunPoolFileWrite(Op* op) {
  op->result = op->buffers.size() == 1
      ? ResultOf(pwrite(static_cast<int>(op->handle), op->buffers[0].data, op->buffers[0].length, op->offset))
      : -EINVAL;
}
OVERLAPPED_POOL_WORKER_OP(FileWrite, RunPoolFileWrite);

namespace {

void RunVectored(Op* op, bool read) {
  if (op->buffers.empty() || op->buffers.size() > IOV_MAX) {
    op->result = -EINVAL;
    return;
  }
  const int fd = static_cast<int>(op->handle);
  const auto* vectors = reinterpret_cast<const iovec*>(op->buffers.data());
  const int count = static_cast<int>(op->buffers.size());
  op->result = ResultOf(read ? preadv(fd, vectors, count, op->offset) : pwritev(fd, vectors, count, op->offset));
}

}  // namespace

void RunPoolFileReadv(Op* op) { RunVectored(op, true); }
OVERLAPPED_POOL_WORKER_OP(FileReadv, RunPoolFileReadv);

void RunPoolFileWritev(Op* op) { RunVectored(op, false); }
OVERLAPPED_POOL_WORKER_OP(FileWritev, RunPoolFileWritev);

void RunPoolFileSync(Op* op) { op->result = ResultOf(fsync(static_cast<int>(OpArgs<OpKind::kFileSync>::file(*op)))); }
OVERLAPPED_POOL_WORKER_OP(FileSync, RunPoolFileSync);

void RunPoolFileDatasync(Op* op) {
  op->result = ResultOf(fdatasync(static_cast<int>(OpArgs<OpKind::kFileDatasync>::file(*op))));
}
OVERLAPPED_POOL_WORKER_OP(FileDatasync, RunPoolFileDatasync);

namespace {

// The path the system has for an open file, into `out`: the length, or a
// negative errno.
int64_t OpenedPath(int fd, char* out, size_t capacity) {
  struct stat info;
#if defined(__linux__)
  char link[sizeof "/proc/self/fd/" + 3 * sizeof(int)];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t length = readlink(link, out, capacity);
  if (length < 0) {
    if (errno != ENOENT) return -errno;
    // No such link: the descriptor is not open (EBADF), or there is no
    // /proc here and the system has no other way to say.
    return fstat(fd, &info) != 0 ? -errno : -ENOTSUP;
  }
  // readlink truncates silently: a full buffer may be a cut path.
  if (static_cast<size_t>(length) >= capacity) return -ERANGE;
#elif defined(__APPLE__)
  char path[MAXPATHLEN];
  if (fcntl(fd, F_GETPATH, path) != 0) return -errno;
  const size_t length = std::strlen(path);
  if (length > capacity) return -ERANGE;
  std::memcpy(out, path, length);
#else
  (void)out;
  (void)capacity;
  return fstat(fd, &info) != 0 ? -errno : -ENOTSUP;
#endif
#if defined(__linux__) || defined(__APPLE__)
  // A file unlinked since (before or during the call) has no name: Linux
  // would give its last one with " (deleted)" after it.
  if (fstat(fd, &info) != 0) return -errno;
  if (info.st_nlink == 0) return -ENOENT;
  return static_cast<int64_t>(length);
#endif
}

}  // namespace

void RunPoolFileRealpath(Op* op) {
  const OpBuffer* path = OpArgs<OpKind::kFileRealpath>::path(*op);
  if (path == nullptr || path->length == 0) {
    op->result = -EINVAL;
    return;
  }
  op->result = OpenedPath(static_cast<int>(OpArgs<OpKind::kFileRealpath>::file(*op)), reinterpret_cast<char*>(path->data),
                          path->length);
}
OVERLAPPED_POOL_WORKER_OP(FileRealpath, RunPoolFileRealpath);

void RunPoolFileAllocate(Op* op) {
  // posix_fallocate returns the error instead of setting errno.
  const int64_t size = OpArgs<OpKind::kFileAllocate>::size(*op);
  const int error = size > 0 ? posix_fallocate(static_cast<int>(op->handle), 0, size) : 0;
  op->result = -error;
}
OVERLAPPED_POOL_WORKER_OP(FileAllocate, RunPoolFileAllocate);

void RunPoolFileTruncate(Op* op) {
  op->result = ResultOf(ftruncate(static_cast<int>(op->handle), OpArgs<OpKind::kFileTruncate>::size(*op)));
}
OVERLAPPED_POOL_WORKER_OP(FileTruncate, RunPoolFileTruncate);

}  // namespace overlapped
