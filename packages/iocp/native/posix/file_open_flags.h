// Shared by the POSIX backends (threadpool and io_uring): how a kFileOpen
// op's arg maps to open(2) flags, and what follows a successful open.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "../common/backend.h"

namespace overlapped {

// O_DIRECT is Linux's (and FreeBSD's); elsewhere `direct` opens buffered and
// the TypeScript layer reports it through capabilities.
#ifdef O_DIRECT
inline constexpr int kDirectFlag = O_DIRECT;
#else
inline constexpr int kDirectFlag = 0;
#endif

// Maps a kFileOpen arg to open(2) flags; -EINVAL for a bad disposition or
// no access bit. TRUNCATE_EXISTING without write access is refused as
// Win32 refuses it (ERROR_INVALID_PARAMETER).
inline int OpenFlagsFor(int64_t arg) {
  namespace f = file_open;
  const bool read = (arg & f::kAccessRead) != 0;
  const bool write = (arg & f::kAccessWrite) != 0;
  int flags = O_CLOEXEC;
  if (read && write) {
    flags |= O_RDWR;
  } else if (write) {
    flags |= O_WRONLY;
  } else if (read) {
    flags |= O_RDONLY;
  } else {
    return -EINVAL;
  }
  switch (arg & f::kDispositionMask) {
    case f::kCreateNew: flags |= O_CREAT | O_EXCL; break;
    case f::kCreateAlways: flags |= O_CREAT | O_TRUNC; break;
    case f::kOpenExisting: break;
    case f::kOpenAlways: flags |= O_CREAT; break;
    case f::kTruncateExisting:
      if (!write) return -EINVAL;
      flags |= O_TRUNC;
      break;
    default: return -EINVAL;
  }
  if (arg & f::kDirect) flags |= kDirectFlag;
  if (arg & f::kWriteThrough) flags |= O_DSYNC;
  return flags;
}

// The access hint is advice: where the system has no posix_fadvise it is
// dropped, and a failure to take it is not the open's failure.
#ifdef POSIX_FADV_SEQUENTIAL
inline void AdviseAccess(int fd, int64_t arg) {
  if (arg & file_open::kHintSequential) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  if (arg & file_open::kHintRandom) posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
}
#else
inline void AdviseAccess(int, int64_t) {}
#endif


// Win32 refuses to open a directory as a file, and so does every backend:
// a read-only open(2) of a directory succeeds, so it is checked here and
// the fd closed. Then the access hint is applied. Returns fd or -errno.
inline int FinishOpen(int fd, int64_t arg) {
  struct stat info;
  if (fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
    close(fd);
    return -EISDIR;
  }
  AdviseAccess(fd, arg);
  return fd;
}

}  // namespace overlapped
