// Win32/WSA -> errno-style codes. One case list per target code, in libuv's
// order and with libuv's choices (WSAEINTR is ECANCELED, ERROR_BROKEN_PIPE
// is EOF, ERROR_INVALID_FUNCTION is EISDIR), plus ERROR_HANDLE_EOF -> EOF,
// which libuv handles inside its read path rather than in its table and
// which an overlapped read past the end of a file completes with, and
// ERROR_FILE_TOO_LARGE -> EFBIG, which libuv leaves unmapped.
#include "errors.h"

// Codes newer than some mingw-w64 headers; values from the Windows SDK.
#ifndef ERROR_ELEVATION_REQUIRED
#define ERROR_ELEVATION_REQUIRED 740L
#endif

namespace overlapped {
namespace {

// libuv's UV__E* values for Windows (include/uv/errno.h): there the codes
// are fixed negative numbers, not the C runtime's errno values.
constexpr ErrnoCode kE2BIG{"E2BIG", -4093};
constexpr ErrnoCode kEACCES{"EACCES", -4092};
constexpr ErrnoCode kEADDRINUSE{"EADDRINUSE", -4091};
constexpr ErrnoCode kEADDRNOTAVAIL{"EADDRNOTAVAIL", -4090};
constexpr ErrnoCode kEAFNOSUPPORT{"EAFNOSUPPORT", -4089};
constexpr ErrnoCode kEAGAIN{"EAGAIN", -4088};
constexpr ErrnoCode kEALREADY{"EALREADY", -4084};
constexpr ErrnoCode kEBADF{"EBADF", -4083};
constexpr ErrnoCode kEBUSY{"EBUSY", -4082};
constexpr ErrnoCode kECANCELED{"ECANCELED", -4081};
constexpr ErrnoCode kECHARSET{"ECHARSET", -4080};
constexpr ErrnoCode kECONNABORTED{"ECONNABORTED", -4079};
constexpr ErrnoCode kECONNREFUSED{"ECONNREFUSED", -4078};
constexpr ErrnoCode kECONNRESET{"ECONNRESET", -4077};
constexpr ErrnoCode kEEXIST{"EEXIST", -4075};
constexpr ErrnoCode kEFAULT{"EFAULT", -4074};
constexpr ErrnoCode kEFBIG{"EFBIG", -4036};
constexpr ErrnoCode kEHOSTUNREACH{"EHOSTUNREACH", -4073};
constexpr ErrnoCode kEINVAL{"EINVAL", -4071};
constexpr ErrnoCode kEIO{"EIO", -4070};
constexpr ErrnoCode kEISCONN{"EISCONN", -4069};
constexpr ErrnoCode kEISDIR{"EISDIR", -4068};
constexpr ErrnoCode kELOOP{"ELOOP", -4067};
constexpr ErrnoCode kEMFILE{"EMFILE", -4066};
constexpr ErrnoCode kEMSGSIZE{"EMSGSIZE", -4065};
constexpr ErrnoCode kENAMETOOLONG{"ENAMETOOLONG", -4064};
constexpr ErrnoCode kENETUNREACH{"ENETUNREACH", -4062};
constexpr ErrnoCode kENOBUFS{"ENOBUFS", -4060};
constexpr ErrnoCode kENOENT{"ENOENT", -4058};
constexpr ErrnoCode kENOMEM{"ENOMEM", -4057};
constexpr ErrnoCode kENOSPC{"ENOSPC", -4055};
constexpr ErrnoCode kENOTCONN{"ENOTCONN", -4053};
constexpr ErrnoCode kENOTEMPTY{"ENOTEMPTY", -4051};
constexpr ErrnoCode kENOTSOCK{"ENOTSOCK", -4050};
constexpr ErrnoCode kENOTSUP{"ENOTSUP", -4049};
constexpr ErrnoCode kEOF{"EOF", -4095};
constexpr ErrnoCode kEPERM{"EPERM", -4048};
constexpr ErrnoCode kEPIPE{"EPIPE", -4047};
constexpr ErrnoCode kEPROTONOSUPPORT{"EPROTONOSUPPORT", -4045};
constexpr ErrnoCode kEROFS{"EROFS", -4043};
constexpr ErrnoCode kESOCKTNOSUPPORT{"ESOCKTNOSUPPORT", -4025};
constexpr ErrnoCode kETIMEDOUT{"ETIMEDOUT", -4039};
constexpr ErrnoCode kEXDEV{"EXDEV", -4037};
constexpr ErrnoCode kUNKNOWN{"UNKNOWN", -4094};

}  // namespace

ErrnoCode Win32ToErrnoCode(DWORD code) {
  switch (code) {
    case ERROR_NOACCESS:
    case WSAEACCES:
    case ERROR_ELEVATION_REQUIRED:
    case ERROR_CANT_ACCESS_FILE:
    case ERROR_ACCESS_DENIED:
      return kEACCES;
    case ERROR_ADDRESS_ALREADY_ASSOCIATED:
    case WSAEADDRINUSE:
      return kEADDRINUSE;
    case WSAEADDRNOTAVAIL:
      return kEADDRNOTAVAIL;
    case WSAEAFNOSUPPORT:
      return kEAFNOSUPPORT;
    case WSAEWOULDBLOCK:
      return kEAGAIN;
    case WSAEALREADY:
      return kEALREADY;
    case ERROR_INVALID_FLAGS:
    case ERROR_INVALID_HANDLE:
      return kEBADF;
    case ERROR_LOCK_VIOLATION:
    case ERROR_PIPE_BUSY:
    case ERROR_SHARING_VIOLATION:
      return kEBUSY;
    case ERROR_OPERATION_ABORTED:
    case WSAEINTR:
      return kECANCELED;
    case ERROR_NO_UNICODE_TRANSLATION:
      return kECHARSET;
    case ERROR_CONNECTION_ABORTED:
    case WSAECONNABORTED:
      return kECONNABORTED;
    case ERROR_CONNECTION_REFUSED:
    case WSAECONNREFUSED:
      return kECONNREFUSED;
    case ERROR_NETNAME_DELETED:
    case WSAECONNRESET:
      return kECONNRESET;
    case ERROR_ALREADY_EXISTS:
    case ERROR_FILE_EXISTS:
      return kEEXIST;
    case ERROR_BUFFER_OVERFLOW:
    case WSAEFAULT:
      return kEFAULT;
    case ERROR_HOST_UNREACHABLE:
    case WSAEHOSTUNREACH:
      return kEHOSTUNREACH;
    case ERROR_INSUFFICIENT_BUFFER:
    case ERROR_INVALID_DATA:
    case ERROR_INVALID_PARAMETER:
    case ERROR_SYMLINK_NOT_SUPPORTED:
    case WSAEINVAL:
    case WSAEPFNOSUPPORT:
      return kEINVAL;
    case ERROR_BEGINNING_OF_MEDIA:
    case ERROR_BUS_RESET:
    case ERROR_CRC:
    case ERROR_DEVICE_DOOR_OPEN:
    case ERROR_DEVICE_REQUIRES_CLEANING:
    case ERROR_DISK_CORRUPT:
    case ERROR_EOM_OVERFLOW:
    case ERROR_FILEMARK_DETECTED:
    case ERROR_GEN_FAILURE:
    case ERROR_INVALID_BLOCK_LENGTH:
    case ERROR_IO_DEVICE:
    case ERROR_NO_DATA_DETECTED:
    case ERROR_NO_SIGNAL_SENT:
    case ERROR_OPEN_FAILED:
    case ERROR_SETMARK_DETECTED:
    case ERROR_SIGNAL_REFUSED:
      return kEIO;
    case WSAEISCONN:
      return kEISCONN;
    case ERROR_CANT_RESOLVE_FILENAME:
      return kELOOP;
    case ERROR_TOO_MANY_OPEN_FILES:
    case WSAEMFILE:
      return kEMFILE;
    case WSAEMSGSIZE:
      return kEMSGSIZE;
    case ERROR_FILENAME_EXCED_RANGE:
      return kENAMETOOLONG;
    case ERROR_NETWORK_UNREACHABLE:
    case WSAENETUNREACH:
      return kENETUNREACH;
    case WSAENOBUFS:
      return kENOBUFS;
    case ERROR_BAD_PATHNAME:
    case ERROR_DIRECTORY:
    case ERROR_ENVVAR_NOT_FOUND:
    case ERROR_FILE_NOT_FOUND:
    case ERROR_INVALID_NAME:
    case ERROR_INVALID_DRIVE:
    case ERROR_INVALID_REPARSE_DATA:
    case ERROR_MOD_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case WSAHOST_NOT_FOUND:
    case WSANO_DATA:
      return kENOENT;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
      return kENOMEM;
    case ERROR_FILE_TOO_LARGE:
      return kEFBIG;
    case ERROR_CANNOT_MAKE:
    case ERROR_DISK_FULL:
    case ERROR_EA_TABLE_FULL:
    case ERROR_END_OF_MEDIA:
    case ERROR_HANDLE_DISK_FULL:
      return kENOSPC;
    case ERROR_NOT_CONNECTED:
    case WSAENOTCONN:
      return kENOTCONN;
    case ERROR_DIR_NOT_EMPTY:
      return kENOTEMPTY;
    case WSAENOTSOCK:
      return kENOTSOCK;
    case ERROR_NOT_SUPPORTED:
      return kENOTSUP;
    case ERROR_BROKEN_PIPE:
    case ERROR_HANDLE_EOF:
      return kEOF;
    case ERROR_PRIVILEGE_NOT_HELD:
      return kEPERM;
    case ERROR_BAD_PIPE:
    case ERROR_NO_DATA:
    case ERROR_PIPE_NOT_CONNECTED:
    case WSAESHUTDOWN:
      return kEPIPE;
    case WSAEPROTONOSUPPORT:
      return kEPROTONOSUPPORT;
    case ERROR_WRITE_PROTECT:
      return kEROFS;
    case ERROR_SEM_TIMEOUT:
    case WSAETIMEDOUT:
      return kETIMEDOUT;
    case ERROR_NOT_SAME_DEVICE:
      return kEXDEV;
    case ERROR_INVALID_FUNCTION:
      return kEISDIR;
    case ERROR_META_EXPANSION_TOO_LONG:
      return kE2BIG;
    case WSAESOCKTNOSUPPORT:
      return kESOCKTNOSUPPORT;
    default:
      return kUNKNOWN;
  }
}

const char* Win32CodeName(DWORD code) { return Win32ToErrnoCode(code).name; }

int Win32ToErrno(DWORD code) { return Win32ToErrnoCode(code).errnum; }

std::string Win32Message(DWORD code) {
  char* text = nullptr;
  // FORMAT_MESSAGE_ALLOCATE_BUFFER: the system allocates, LocalFree frees.
  DWORD length = FormatMessageA(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
          FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, code, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT),
      reinterpret_cast<LPSTR>(&text), 0, nullptr);
  std::string message;
  if (length != 0 && text != nullptr) {
    message.assign(text, length);
    while (!message.empty() &&
           (message.back() == '\n' || message.back() == '\r' || message.back() == ' ')) {
      message.pop_back();
    }
  }
  if (text != nullptr) LocalFree(text);
  if (message.empty()) message = "Win32 error " + std::to_string(code);
  return message;
}

}  // namespace overlapped
