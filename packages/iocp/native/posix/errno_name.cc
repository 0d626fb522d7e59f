#include "errno_name.h"

#include <cerrno>

namespace overlapped {

namespace {

struct ErrnoEntry {
  int errnum;
  const char* name;
};

// The values backends report while starting or probing, plus the common
// file and socket errors. Only POSIX names are listed, so the table builds on
// every POSIX system; where two names share a value (EAGAIN/EWOULDBLOCK,
// ENOTSUP/EOPNOTSUPP on Linux) the first entry wins, as in Node.
constexpr ErrnoEntry kErrnoNames[] = {
    {EPERM, "EPERM"},           {ENOENT, "ENOENT"},
    {ESRCH, "ESRCH"},           {EINTR, "EINTR"},
    {EIO, "EIO"},               {ENXIO, "ENXIO"},
    {E2BIG, "E2BIG"},           {ENOEXEC, "ENOEXEC"},
    {EBADF, "EBADF"},           {ECHILD, "ECHILD"},
    {EAGAIN, "EAGAIN"},         {ENOMEM, "ENOMEM"},
    {EACCES, "EACCES"},         {EFAULT, "EFAULT"},
    {EBUSY, "EBUSY"},           {EEXIST, "EEXIST"},
    {EXDEV, "EXDEV"},           {ENODEV, "ENODEV"},
    {ENOTDIR, "ENOTDIR"},       {EISDIR, "EISDIR"},
    {EINVAL, "EINVAL"},         {ENFILE, "ENFILE"},
    {EMFILE, "EMFILE"},         {ENOTTY, "ENOTTY"},
    {EFBIG, "EFBIG"},           {ENOSPC, "ENOSPC"},
    {ESPIPE, "ESPIPE"},         {EROFS, "EROFS"},
    {EMLINK, "EMLINK"},         {EPIPE, "EPIPE"},
    {ERANGE, "ERANGE"},         {EDEADLK, "EDEADLK"},
    {ENAMETOOLONG, "ENAMETOOLONG"}, {ENOSYS, "ENOSYS"},
    {ENOTEMPTY, "ENOTEMPTY"},   {ELOOP, "ELOOP"},
    {ENOTSUP, "ENOTSUP"},       {EOPNOTSUPP, "EOPNOTSUPP"},
    {EADDRINUSE, "EADDRINUSE"}, {EADDRNOTAVAIL, "EADDRNOTAVAIL"},
    {ENETDOWN, "ENETDOWN"},     {ENETUNREACH, "ENETUNREACH"},
    {ECONNABORTED, "ECONNABORTED"}, {ECONNRESET, "ECONNRESET"},
    {ENOBUFS, "ENOBUFS"},       {EISCONN, "EISCONN"},
    {ENOTCONN, "ENOTCONN"},     {ETIMEDOUT, "ETIMEDOUT"},
    {ECONNREFUSED, "ECONNREFUSED"}, {EHOSTUNREACH, "EHOSTUNREACH"},
    {EALREADY, "EALREADY"},     {EINPROGRESS, "EINPROGRESS"},
    {ECANCELED, "ECANCELED"},   {EOVERFLOW, "EOVERFLOW"},
};

}  // namespace

const char* ErrnoName(int errnum) {
  for (const ErrnoEntry& entry : kErrnoNames) {
    if (entry.errnum == errnum) return entry.name;
  }
  return "EUNKNOWN";
}

}  // namespace overlapped
