// Win32 and WSA error codes as the errno-style codes Node reports on
// Windows. The mapping follows libuv's uv_translate_sys_error (src/win/
// error.c), and the numbers are libuv's UV_E* values for Windows, so that an
// error raised here carries the same `code` and `errno` as Node's own fs and
// net would for the same failure.
#pragma once

#include <string>

#include "windows_headers.h"

namespace overlapped {

struct ErrnoCode {
  const char* name;  // "ENOENT", ..., "UNKNOWN" when the code is not mapped
  int errnum;        // libuv's negative UV_E* value, as Node's err.errno
};

// Looks up a Win32 (GetLastError) or WSA (WSAGetLastError) error code.
ErrnoCode Win32ToErrnoCode(DWORD code);
const char* Win32CodeName(DWORD code);
int Win32ToErrno(DWORD code);

// The system's text for a Win32 or WSA code, without the trailing newline
// FormatMessage appends, or "Win32 error <code>" when there is none.
std::string Win32Message(DWORD code);

}  // namespace overlapped
