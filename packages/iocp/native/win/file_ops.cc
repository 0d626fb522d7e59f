// File ops on the iocp backend.
//
// Reads and writes are overlapped: ReadFile/WriteFile at the OVERLAPPED's
// 64-bit offset, completing through the port. The calls that Windows only
// offers as blocking ones (CreateFileW, CloseHandle, FlushFileBuffers,
// SetFileInformationByHandle, GetFileInformationByHandleEx) must not run on
// the JS thread: Start posts the op's own packet to the port, and the worker
// that reaps it runs the call in FinishWinFileOp. Vectored reads and writes
// are emulated the same way (one overlapped ReadFile/WriteFile per buffer,
// waited for on the worker), because ReadFileScatter/WriteFileGather take
// only page-sized, page-aligned buffers on unbuffered handles.
#include <algorithm>
#include <climits>
#include <cstring>
#include <string>

#include "../common/copy_range.h"
#include "errors.h"
#include "iocp.h"

namespace overlapped {

namespace {

// NtFlushBuffersFileEx (Windows 10 1709+) flushes data without metadata
// when given FLUSH_FLAGS_FILE_DATA_SYNC_ONLY; it is looked up at run time,
// and where it is missing (or refuses the flag) FlushFileBuffers serves.
struct IoStatusBlock {
  union {
    LONG Status;
    PVOID Pointer;
  };
  ULONG_PTR Information;
};
using NtFlushBuffersFileExFn = LONG(WINAPI*)(HANDLE, ULONG, PVOID, ULONG, IoStatusBlock*);
constexpr ULONG kFlushDataSyncOnly = 0x00000004;  // FLUSH_FLAGS_FILE_DATA_SYNC_ONLY

NtFlushBuffersFileExFn FlushBuffersFileEx() {
  static NtFlushBuffersFileExFn function = [] {
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll == nullptr ? nullptr
                            : reinterpret_cast<NtFlushBuffersFileExFn>(
                                  reinterpret_cast<void*>(GetProcAddress(ntdll, "NtFlushBuffersFileEx")));
  }();
  return function;
}

HANDLE HandleOf(const Op* op) { return reinterpret_cast<HANDLE>(op->handle); }

// One read or write is at most kMaxTransfer long (a DWORD, kept
// page-aligned); the TypeScript layer never asks for more.
DWORD TransferLength(size_t length) {
  return length > kMaxTransfer ? kMaxTransfer : static_cast<DWORD>(length);
}

// A read or write the handle has no access right for: Windows says
// ERROR_ACCESS_DENIED, POSIX says EBADF; every backend reports EBADF (libuv's
// mapping of ERROR_INVALID_HANDLE), keeping the raw code.
void FailTransfer(Op* op, DWORD error) {
  FailOpWithWin32(op, error);
  if (error == ERROR_ACCESS_DENIED) op->result = Win32ToErrno(ERROR_INVALID_HANDLE);
}

void Succeed(Op* op, int64_t result) {
  op->result = result;
  op->raw_error = 0;
}

bool Utf8ToWide(const std::string& utf8, std::wstring* wide) {
  if (utf8.empty()) return false;
  const int length = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(),
                                         static_cast<int>(utf8.size()), nullptr, 0);
  if (length <= 0) return false;
  wide->resize(static_cast<size_t>(length));
  return MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(), static_cast<int>(utf8.size()),
                             wide->data(), length) == length;
}

void RunOpen(IocpBackend* backend, Op* op) {
  namespace f = file_open;
  const int64_t arg = op->arg;
  const DWORD disposition = static_cast<DWORD>(arg & f::kDispositionMask);
  DWORD access = 0;
  if (arg & f::kAccessRead) access |= GENERIC_READ;
  if (arg & f::kAccessWrite) access |= GENERIC_WRITE;
  // Windows refuses TRUNCATE_EXISTING without write access too, but only
  // after touching the file system; refusing it here keeps one answer.
  if (access == 0 || disposition < CREATE_NEW || disposition > TRUNCATE_EXISTING ||
      (disposition == TRUNCATE_EXISTING && (access & GENERIC_WRITE) == 0)) {
    FailOpWithWin32(op, ERROR_INVALID_PARAMETER);
    return;
  }
  std::wstring path;
  if (!Utf8ToWide(op->path, &path)) {
    FailOpWithWin32(op, ERROR_NO_UNICODE_TRANSLATION);
    return;
  }
  const DWORD share = static_cast<DWORD>((arg >> f::kShareShift) & f::kShareMask);
  DWORD flags = FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OVERLAPPED;
  if (arg & f::kDirect) flags |= FILE_FLAG_NO_BUFFERING;
  if (arg & f::kWriteThrough) flags |= FILE_FLAG_WRITE_THROUGH;
  if (arg & f::kHintSequential) flags |= FILE_FLAG_SEQUENTIAL_SCAN;
  if (arg & f::kHintRandom) flags |= FILE_FLAG_RANDOM_ACCESS;
  HANDLE handle = CreateFileW(path.c_str(), access, share, nullptr, disposition, flags, nullptr);
  if (handle == INVALID_HANDLE_VALUE) {
    const DWORD error = GetLastError();
    // A directory cannot be opened as a file: Windows says "access denied";
    // every backend says EISDIR (libuv's mapping of ERROR_INVALID_FUNCTION),
    // keeping the raw code.
    const DWORD attributes = error == ERROR_ACCESS_DENIED ? GetFileAttributesW(path.c_str())
                                                          : INVALID_FILE_ATTRIBUTES;
    FailOpWithWin32(op, error);
    if (attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
      op->result = Win32ToErrno(ERROR_INVALID_FUNCTION);
    }
    return;
  }
  // Every I/O on the handle completes through this backend's port.
  if (CreateIoCompletionPort(handle, backend->port(), kOpCompletionKey, 0) == nullptr) {
    const DWORD error = GetLastError();
    CloseHandle(handle);
    FailOpWithWin32(op, error);
    return;
  }
  Succeed(op, reinterpret_cast<int64_t>(handle));
}

void RunSync(Op* op, bool data_only) {
  NtFlushBuffersFileExFn flush_ex = data_only ? FlushBuffersFileEx() : nullptr;
  if (flush_ex != nullptr) {
    IoStatusBlock status{};
    const LONG result = flush_ex(HandleOf(op), kFlushDataSyncOnly, nullptr, 0, &status);
    if (result >= 0) {
      Succeed(op, 0);
      return;
    }
    // STATUS_NOT_IMPLEMENTED / STATUS_INVALID_PARAMETER (older systems,
    // other file systems): fall through to the full flush.
  }
  if (FlushFileBuffers(HandleOf(op))) {
    Succeed(op, 0);
  } else {
    FailOpWithWin32(op, GetLastError());
  }
}

bool SetFileSize(HANDLE handle, int64_t size) {
  FILE_END_OF_FILE_INFO info;
  info.EndOfFile.QuadPart = size;
  return SetFileInformationByHandle(handle, FileEndOfFileInfo, &info, sizeof info) != 0;
}

// The error of a failed SetFileSize. Wine turns the host's EFBIG (a size
// past the file system's limit) into STATUS_SECTION_TOO_BIG, which reads
// as ERROR_NOT_ENOUGH_MEMORY; setting a size allocates no memory, so that
// is reported as the file being too large (EFBIG, as on Linux).
DWORD SetFileSizeError() {
  const DWORD error = GetLastError();
  return error == ERROR_NOT_ENOUGH_MEMORY ? ERROR_FILE_TOO_LARGE : error;
}

// One overlapped ReadFile/WriteFile, waited for on this (worker) thread.
// The event's low bit keeps the completion off the port. Returns the Win32
// error or 0, with the bytes moved in *moved.
DWORD WaitedTransfer(HANDLE handle, HANDLE event, bool read, uint8_t* data, DWORD length,
                     uint64_t position, DWORD* moved) {
  OVERLAPPED overlapped{};
  overlapped.Offset = static_cast<DWORD>(position & 0xffffffff);
  overlapped.OffsetHigh = static_cast<DWORD>(position >> 32);
  overlapped.hEvent = reinterpret_cast<HANDLE>(reinterpret_cast<ULONG_PTR>(event) | 1);
  *moved = 0;
  const BOOL done = read ? ReadFile(handle, data, length, nullptr, &overlapped)
                         : WriteFile(handle, data, length, nullptr, &overlapped);
  if (!done && GetLastError() != ERROR_IO_PENDING) return GetLastError();
  if (!GetOverlappedResult(handle, &overlapped, moved, TRUE)) return GetLastError();
  return 0;
}

// Codes that say "this file system (or Wine) does not do that", as opposed
// to a real failure such as ERROR_DISK_FULL.
bool IsUnsupported(DWORD error) {
  return error == ERROR_INVALID_FUNCTION || error == ERROR_NOT_SUPPORTED ||
         error == ERROR_INVALID_PARAMETER || error == ERROR_CALL_NOT_IMPLEMENTED;
}

// The free bytes of the volume `handle` is on, or -1 if it cannot be told.
int64_t FreeSpaceOf(HANDLE handle) {
  wchar_t path[MAX_PATH + 8];
  wchar_t root[MAX_PATH + 8];
  const DWORD length = GetFinalPathNameByHandleW(handle, path, MAX_PATH, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
  ULARGE_INTEGER available;
  if (length == 0 || length >= MAX_PATH || !GetVolumePathNameW(path, root, MAX_PATH) ||
      !GetDiskFreeSpaceExW(root, &available, nullptr, nullptr)) {
    return -1;
  }
  return available.QuadPart > static_cast<ULONGLONG>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(available.QuadPart);
}

// Where FileAllocationInfo is not implemented, [from, to) is written with
// zeros, which allocates it just the same (slower). What fallocate refuses
// at once is refused first, before a zero is written: the size is set
// first (a size past the file system's limit fails there), then the free
// space is checked. On failure the size goes back to `from`. The file
// package holds writes back meanwhile, so no zero lands over one.
DWORD AllocateByWriting(HANDLE handle, int64_t from, int64_t to) {
  if (!SetFileSize(handle, to)) return SetFileSizeError();
  const int64_t free_space = FreeSpaceOf(handle);
  DWORD error = free_space >= 0 && free_space < to - from ? ERROR_DISK_FULL : 0;
  constexpr DWORD kChunk = 1 << 20;
  uint8_t* zeros = nullptr;
  HANDLE event = nullptr;
  if (error == 0) {
    zeros = static_cast<uint8_t*>(VirtualAlloc(nullptr, kChunk, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE));
    if (zeros == nullptr) error = GetLastError();
  }
  if (error == 0) {
    event = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    if (event == nullptr) error = GetLastError();
  }
  for (int64_t at = from; error == 0 && at < to;) {
    const DWORD length = static_cast<DWORD>(to - at < kChunk ? to - at : kChunk);
    DWORD moved = 0;
    error = WaitedTransfer(handle, event, false, zeros, length, static_cast<uint64_t>(at), &moved);
    if (error == 0 && moved == 0) error = ERROR_WRITE_FAULT;
    at += moved;
  }
  if (event != nullptr) CloseHandle(event);
  if (zeros != nullptr) VirtualFree(zeros, 0, MEM_RELEASE);
  if (error != 0) SetFileSize(handle, from);
  return error;
}

// Allocates at least `arg` bytes and grows the file to `arg` if it is
// shorter. SetFileValidData is not used: it would expose the disk's stale
// contents in the new range, where every other backend reads zeros.
void RunAllocate(Op* op) {
  HANDLE handle = HandleOf(op);
  FILE_STANDARD_INFO standard;
  if (!GetFileInformationByHandleEx(handle, FileStandardInfo, &standard, sizeof standard)) {
    FailOpWithWin32(op, GetLastError());
    return;
  }
  if (standard.AllocationSize.QuadPart < op->arg) {
    FILE_ALLOCATION_INFO allocation;
    allocation.AllocationSize.QuadPart = op->arg;
    if (!SetFileInformationByHandle(handle, FileAllocationInfo, &allocation, sizeof allocation)) {
      const DWORD error = GetLastError();
      // Without the allocation call, holes below the end of the file stay
      // holes (zeros written there could land over data): a file already
      // `arg` long has nothing to do; a shorter one gets its new range.
      DWORD fallback = error;
      if (IsUnsupported(error)) {
        fallback = standard.EndOfFile.QuadPart < op->arg
                       ? AllocateByWriting(handle, standard.EndOfFile.QuadPart, op->arg)
                       : 0;
      }
      if (fallback != 0) {
        FailOpWithWin32(op, fallback);
        return;
      }
    }
  }
  if (standard.EndOfFile.QuadPart < op->arg && !SetFileSize(handle, op->arg)) {
    FailOpWithWin32(op, SetFileSizeError());
    return;
  }
  Succeed(op, 0);
}

// FILETIME (100 ns since 1601) to milliseconds since 1970.
double Millis(const LARGE_INTEGER& time) {
  return static_cast<double>(time.QuadPart) / 1e4 - 11644473600000.0;
}

// libuv's UV_ERANGE on Windows (uv/errno.h), the errno Node reports for it.
constexpr int64_t kUvErange = -4034;

// The path the system has for the open file, as libuv's realpath gives it
// (and so fs.realpathSync.native): GetFinalPathNameByHandleW, normalized,
// with a drive letter, "\\?\" dropped and "\\?\UNC\" made "\\".
void RunRealpath(Op* op) {
  const OpBuffer* out = OpArgs<OpKind::kFileRealpath>::path(*op);
  if (out == nullptr || out->length == 0) {
    FailOpWithWin32(op, ERROR_INVALID_PARAMETER);
    return;
  }
  std::wstring wide(MAX_PATH, L'\0');
  DWORD length;
  for (;;) {
    length = GetFinalPathNameByHandleW(HandleOf(op), wide.data(), static_cast<DWORD>(wide.size()),
                                       FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    if (length == 0) {
      FailOpWithWin32(op, GetLastError());
      return;
    }
    // Too small: the length asked for counts the terminator.
    if (length < wide.size()) break;
    wide.assign(length, L'\0');
  }
  wide.resize(length);
  static const std::wstring kUncPrefix = L"\\\\?\\UNC\\";
  static const std::wstring kLongPrefix = L"\\\\?\\";
  if (wide.compare(0, kUncPrefix.size(), kUncPrefix) == 0) {
    wide = L"\\\\" + wide.substr(kUncPrefix.size());
  } else if (wide.compare(0, kLongPrefix.size(), kLongPrefix) == 0) {
    wide.erase(0, kLongPrefix.size());
  }
  const int capacity = out->length < INT_MAX ? static_cast<int>(out->length) : INT_MAX;
  const int bytes = WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()),
                                        reinterpret_cast<char*>(out->data), capacity, nullptr, nullptr);
  if (bytes > 0) {
    Succeed(op, bytes);
    return;
  }
  const DWORD error = GetLastError();
  if (error != ERROR_INSUFFICIENT_BUFFER) {
    FailOpWithWin32(op, error);
    return;
  }
  op->result = kUvErange;
  op->raw_error = ERROR_INSUFFICIENT_BUFFER;
}

void RunStat(Op* op) {
  if (op->buffers.size() != 1 || op->buffers[0].length < kFileStatBytes) {
    FailOpWithWin32(op, ERROR_INVALID_PARAMETER);
    return;
  }
  HANDLE handle = HandleOf(op);
  FILE_BASIC_INFO basic;
  FILE_STANDARD_INFO standard;
  BY_HANDLE_FILE_INFORMATION identity;
  if (!GetFileInformationByHandleEx(handle, FileBasicInfo, &basic, sizeof basic) ||
      !GetFileInformationByHandleEx(handle, FileStandardInfo, &standard, sizeof standard) ||
      !GetFileInformationByHandle(handle, &identity)) {
    FailOpWithWin32(op, GetLastError());
    return;
  }
  // st_mode as libuv synthesizes it: a regular file, read-only if the
  // attribute says so.
  const bool read_only = (basic.FileAttributes & FILE_ATTRIBUTE_READONLY) != 0;
  double fields[kStatFieldCount] = {};
  fields[kStatSize] = static_cast<double>(standard.EndOfFile.QuadPart);
  fields[kStatAllocated] = static_cast<double>(standard.AllocationSize.QuadPart);
  fields[kStatBlksize] = 4096;
  fields[kStatMode] = static_cast<double>(0100000 | (read_only ? 0444 : 0666));
  fields[kStatNlink] = static_cast<double>(standard.NumberOfLinks);
  fields[kStatIno] = static_cast<double>((static_cast<uint64_t>(identity.nFileIndexHigh) << 32) |
                                         identity.nFileIndexLow);
  fields[kStatDev] = static_cast<double>(identity.dwVolumeSerialNumber);
  fields[kStatAtimeMs] = Millis(basic.LastAccessTime);
  fields[kStatMtimeMs] = Millis(basic.LastWriteTime);
  fields[kStatCtimeMs] = Millis(basic.ChangeTime);
  fields[kStatBirthtimeMs] = Millis(basic.CreationTime);
  std::memcpy(op->buffers[0].data, fields, sizeof fields);
  Succeed(op, 0);
}

// One overlapped ReadFile/WriteFile per buffer, waited for on this worker.
// The event's low bit keeps these completions off the port. A read stops
// at the first short transfer (end of file); a write finishes every byte.
void RunVectored(Op* op) {
  HANDLE handle = HandleOf(op);
  HANDLE event = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (event == nullptr) {
    FailOpWithWin32(op, GetLastError());
    return;
  }
  const bool read = op->kind == OpKind::kFileReadv;
  uint64_t position = static_cast<uint64_t>(op->offset);
  int64_t total = 0;
  DWORD error = 0;
  bool at_end = false;
  for (size_t i = 0; i < op->buffers.size() && !at_end && error == 0; ++i) {
    uint8_t* data = op->buffers[i].data;
    size_t left = op->buffers[i].length;
    while (left > 0) {
      if (op->cancel_requested.load(std::memory_order_relaxed)) {
        error = ERROR_OPERATION_ABORTED;
        break;
      }
      const DWORD length = TransferLength(left);
      DWORD moved = 0;
      error = WaitedTransfer(handle, event, read, data, length, position, &moved);
      if (error == ERROR_HANDLE_EOF) {
        error = 0;
        at_end = true;
        break;
      }
      if (error != 0) break;
      total += moved;
      position += moved;
      data += moved;
      left -= moved;
      if (moved == 0 || (read && moved < length)) {
        at_end = read;
        if (!read && moved == 0) error = ERROR_WRITE_FAULT;
        break;
      }
    }
  }
  CloseHandle(event);
  // Bytes already moved are the result, as a short read or write would be.
  if (error != 0 && total == 0) {
    FailTransfer(op, error);
  } else {
    Succeed(op, total);
  }
}

// Copies [position, position + length) from the op's source to its target
// through the bounce buffer, chunk by chunk, on this worker.
void RunCopyRange(Op* op) {
  HANDLE from = reinterpret_cast<HANDLE>(OpArgs<OpKind::kFileCopyRange>::source(*op));
  HANDLE to = reinterpret_cast<HANDLE>(OpArgs<OpKind::kFileCopyRange>::target(*op));
  HANDLE event = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (event == nullptr) {
    FailOpWithWin32(op, GetLastError());
    return;
  }
  const CopyRangeOutcome outcome =
      CopyRangeInChunks(op, [&](int64_t position, uint8_t* bounce, size_t chunk, uint32_t* error) -> int64_t {
        DWORD got = 0;
        DWORD failure = WaitedTransfer(from, event, true, bounce, TransferLength(chunk),
                                       static_cast<uint64_t>(position), &got);
        if (failure == ERROR_HANDLE_EOF || (failure == 0 && got == 0)) return 0;  // the source ended early
        for (DWORD written = 0; failure == 0 && written < got;) {
          DWORD step = 0;
          failure = WaitedTransfer(to, event, false, bounce + written, got - written,
                                   static_cast<uint64_t>(position) + written, &step);
          if (failure == 0 && step == 0) failure = ERROR_WRITE_FAULT;
          written += step;
        }
        if (failure == 0) return got;
        *error = failure;
        return -1;
      });
  CloseHandle(event);
  switch (outcome.how) {
    case CopyRangeOutcome::kCopied: Succeed(op, outcome.done); return;
    case CopyRangeOutcome::kInvalid: FailOpWithWin32(op, ERROR_INVALID_PARAMETER); return;
    // A cancelled copy fails whatever it moved: a short count would read as
    // "the source ended".
    case CopyRangeOutcome::kCancelled: FailTransfer(op, ERROR_OPERATION_ABORTED); return;
    case CopyRangeOutcome::kFailed:
      if (outcome.done == 0 || outcome.error == ERROR_OPERATION_ABORTED) {
        FailTransfer(op, outcome.error);
      } else {
        Succeed(op, outcome.done);
      }
      return;
  }
}

}  // namespace

void RunWinFileOpen(IocpBackend* backend, Op* op) { RunOpen(backend, op); }
OVERLAPPED_WIN_BLOCKING_OP(FileOpen, RunWinFileOpen);

void RunWinFileClose(IocpBackend*, Op* op) {
  if (CloseHandle(HandleOf(op))) {
    Succeed(op, 0);
  } else {
    FailOpWithWin32(op, GetLastError());
  }
}
OVERLAPPED_WIN_BLOCKING_OP(FileClose, RunWinFileClose);

void RunWinFileReadv(IocpBackend*, Op* op) { RunVectored(op); }
OVERLAPPED_WIN_BLOCKING_OP(FileReadv, RunWinFileReadv);
void RunWinFileWritev(IocpBackend*, Op* op) { RunVectored(op); }
OVERLAPPED_WIN_BLOCKING_OP(FileWritev, RunWinFileWritev);
void RunWinFileSync(IocpBackend*, Op* op) { RunSync(op, false); }
OVERLAPPED_WIN_BLOCKING_OP(FileSync, RunWinFileSync);
void RunWinFileDatasync(IocpBackend*, Op* op) { RunSync(op, true); }
OVERLAPPED_WIN_BLOCKING_OP(FileDatasync, RunWinFileDatasync);
void RunWinFileAllocate(IocpBackend*, Op* op) { RunAllocate(op); }
OVERLAPPED_WIN_BLOCKING_OP(FileAllocate, RunWinFileAllocate);

void RunWinFileTruncate(IocpBackend*, Op* op) {
  if (SetFileSize(HandleOf(op), OpArgs<OpKind::kFileTruncate>::size(*op))) {
    Succeed(op, 0);
  } else {
    FailOpWithWin32(op, SetFileSizeError());
  }
}
OVERLAPPED_WIN_BLOCKING_OP(FileTruncate, RunWinFileTruncate);

void RunWinFileStat(IocpBackend*, Op* op) { RunStat(op); }
OVERLAPPED_WIN_BLOCKING_OP(FileStat, RunWinFileStat);
void RunWinFileRealpath(IocpBackend*, Op* op) { RunRealpath(op); }
OVERLAPPED_WIN_BLOCKING_OP(FileRealpath, RunWinFileRealpath);
void RunWinFileCopyRange(IocpBackend*, Op* op) { RunCopyRange(op); }
OVERLAPPED_WIN_BLOCKING_OP(FileCopyRange, RunWinFileCopyRange);

// Reads and writes are overlapped: ReadFile/WriteFile at the OVERLAPPED's
// offset, completing through the port.
bool StartWinFileTransfer(IocpBackend*, Op* op, OpPacket* packet) {
  if (op->buffers.size() != 1 || op->offset < 0) {
    FailOpWithWin32(op, ERROR_INVALID_PARAMETER);
    return false;
  }
  const DWORD length = TransferLength(op->buffers[0].length);
  // The handle is associated with the port without
  // FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, so a packet arrives whether the
  // call finishes at once or pends.
  const BOOL done = op->kind == OpKind::kFileRead
                        ? ReadFile(HandleOf(op), op->buffers[0].data, length, nullptr, &packet->overlapped)
                        : WriteFile(HandleOf(op), op->buffers[0].data, length, nullptr, &packet->overlapped);
  if (done) return true;
  const DWORD error = GetLastError();
  if (error == ERROR_IO_PENDING) return true;
  // A read that starts at or past the end fails at once with
  // ERROR_HANDLE_EOF and queues nothing: that is a read of 0 bytes.
  if (error == ERROR_HANDLE_EOF && op->kind == OpKind::kFileRead) {
    Succeed(op, 0);
  } else {
    FailTransfer(op, error);
  }
  return false;
}

bool FinishWinFileTransfer(Op* op, OpPacket*, DWORD bytes, DWORD error) {
  if (error == ERROR_HANDLE_EOF) {
    Succeed(op, 0);
  } else if (error != 0) {
    FailTransfer(op, error);
  } else {
    Succeed(op, bytes);
  }
  return true;
}
OVERLAPPED_WIN_OVERLAPPED_OP(FileRead, StartWinFileTransfer, FinishWinFileTransfer);
OVERLAPPED_WIN_OVERLAPPED_OP(FileWrite, StartWinFileTransfer, FinishWinFileTransfer);

}  // namespace overlapped
