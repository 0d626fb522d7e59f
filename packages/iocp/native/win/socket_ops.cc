// Socket ops on the iocp backend: AcceptEx with a pre-created socket (its
// addresses read back from the AcceptEx buffer with GetAcceptExSockaddrs),
// ConnectEx on a bound socket, WSARecv, WSASend (continued until every byte
// is out), shutdown and closesocket, and forward, which alternates WSARecv
// on its socket and WSASend on its target on the same op until the source
// ends, and sendfile, TransmitFile (the head as its TRANSMIT_FILE_BUFFERS,
// the file in chunks of under 2 GiB, continued like a send). Sockets do not use FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: every call that starts
// (at once or pending) queues exactly one packet, so each step finishes in
// one place, FinishWinSocketOp, on a worker.
#include <ws2tcpip.h>

#include <cstring>
#include <mutex>

#include "../common/sendfile_range.h"
#include "../common/socket_stats.h"
#include "errors.h"
#include "iocp.h"

namespace overlapped {

namespace {

// AcceptEx wants room for each address plus 16 bytes.
constexpr DWORD kAcceptAddressLength = sizeof(sockaddr_in6) + 16;

enum ForwardStage : uint32_t { kForwardRecv = 0, kForwardSend = 1 };

// The op's scratch space inside its OpPacket; only the thread that owns
// the op's current step touches it.
struct SocketScratch {
  SOCKET accepted;      // accept: the pre-created socket
  uint32_t stage;       // forward: which step is in flight
  uint64_t done;        // send: bytes sent; forward: of the current round
  uint64_t pending;     // forward: bytes received in the round
  uint64_t moved;       // forward: bytes sent to the target in all; sendfile: bytes of the file to send
  unsigned char addresses[2 * kAcceptAddressLength];  // AcceptEx output
};
static_assert(sizeof(SocketScratch) <= sizeof(OpPacket::scratch), "SocketScratch must fit in an OpPacket");

SocketScratch* ScratchOf(OpPacket* packet) { return reinterpret_cast<SocketScratch*>(packet->scratch); }

SOCKET SocketOf(Op* op) { return static_cast<SOCKET>(op->handle); }
SOCKET TargetOf(Op* op) { return static_cast<SOCKET>(OpArgs<OpKind::kSocketForward>::to(*op)); }

// The socket the op's step in flight runs on: a forward sends on its target.
SOCKET StepSocketOf(Op* op, SocketScratch* scratch) {
  return TraitsOf(op->kind).relays && scratch->stage == kForwardSend ? TargetOf(op) : SocketOf(op);
}

// The extension functions, looked up once through WSAIoctl on a socket of
// the process (every TCP provider on a system gives the same ones).
struct Extensions {
  LPFN_ACCEPTEX accept_ex = nullptr;
  LPFN_GETACCEPTEXSOCKADDRS get_accept_ex_sockaddrs = nullptr;
  LPFN_CONNECTEX connect_ex = nullptr;
  LPFN_TRANSMITFILE transmit_file = nullptr;
};

const Extensions& ExtensionsFor(SOCKET socket) {
  static Extensions extensions;
  static std::once_flag once;
  std::call_once(once, [socket] {
    GUID accept_guid = WSAID_ACCEPTEX;
    GUID sockaddrs_guid = WSAID_GETACCEPTEXSOCKADDRS;
    GUID connect_guid = WSAID_CONNECTEX;
    DWORD bytes = 0;
    WSAIoctl(socket, SIO_GET_EXTENSION_FUNCTION_POINTER, &accept_guid, sizeof accept_guid,
             &extensions.accept_ex, sizeof extensions.accept_ex, &bytes, nullptr, nullptr);
    WSAIoctl(socket, SIO_GET_EXTENSION_FUNCTION_POINTER, &sockaddrs_guid, sizeof sockaddrs_guid,
             &extensions.get_accept_ex_sockaddrs, sizeof extensions.get_accept_ex_sockaddrs, &bytes, nullptr,
             nullptr);
    WSAIoctl(socket, SIO_GET_EXTENSION_FUNCTION_POINTER, &connect_guid, sizeof connect_guid,
             &extensions.connect_ex, sizeof extensions.connect_ex, &bytes, nullptr, nullptr);
    GUID transmit_guid = WSAID_TRANSMITFILE;
    WSAIoctl(socket, SIO_GET_EXTENSION_FUNCTION_POINTER, &transmit_guid, sizeof transmit_guid,
             &extensions.transmit_file, sizeof extensions.transmit_file, &bytes, nullptr, nullptr);
  });
  return extensions;
}

// Writes one entry of an accept's address record (backend.h,
// kAcceptAddressEntryBytes); an address it cannot format leaves the entry
// empty, and JS then asks the socket.
void WriteAddressEntry(const sockaddr* address, int length, uint8_t* entry) {
  std::memset(entry, 0, kAcceptAddressEntryBytes);
  if (address == nullptr) return;
  char text[INET6_ADDRSTRLEN] = {0};
  uint16_t port = 0;
  uint8_t family = 0;
  if (address->sa_family == AF_INET && length >= static_cast<int>(sizeof(sockaddr_in))) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    if (inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text) == nullptr) return;
    port = ntohs(v4->sin_port);
    family = 4;
  } else if (address->sa_family == AF_INET6 && length >= static_cast<int>(sizeof(sockaddr_in6))) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    if (inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text) == nullptr) return;
    port = ntohs(v6->sin6_port);
    family = 6;
  } else {
    return;
  }
  const size_t text_length = std::strlen(text);
  if (text_length > kAcceptAddressEntryBytes - 4) return;
  entry[0] = static_cast<uint8_t>(port & 0xff);
  entry[1] = static_cast<uint8_t>(port >> 8);
  entry[2] = static_cast<uint8_t>(text_length);
  entry[3] = family;
  std::memcpy(entry + 4, text, text_length);
}

// Reads the local and remote addresses AcceptEx left in its buffer into the
// op's address record, if it has one: no getsockname or getpeername later.
void WriteAcceptedAddresses(Op* op, SocketScratch* scratch) {
  if (op->buffers.empty() || op->buffers[0].length < kAcceptAddressBytes) return;
  const Extensions& extensions = ExtensionsFor(SocketOf(op));
  if (extensions.get_accept_ex_sockaddrs == nullptr) return;
  sockaddr* local = nullptr;
  sockaddr* remote = nullptr;
  int local_length = 0;
  int remote_length = 0;
  extensions.get_accept_ex_sockaddrs(scratch->addresses, 0, kAcceptAddressLength, kAcceptAddressLength, &local,
                                     &local_length, &remote, &remote_length);
  WriteAddressEntry(local, local_length, op->buffers[0].data);
  WriteAddressEntry(remote, remote_length, op->buffers[0].data + kAcceptAddressEntryBytes);
}

// Whether an overlapped Winsock call has started: it finished at once (a
// packet is queued all the same) or is pending. Otherwise fails the op.
bool Started(Op* op, int result) {
  if (result == 0) return true;
  const int error = WSAGetLastError();
  if (error == WSA_IO_PENDING) return true;
  FailOpWithWin32(op, static_cast<DWORD>(error));
  return false;
}

bool StartRecv(Op* op, OpPacket* packet, uint8_t* data, uint64_t length) {
  WSABUF buffer{static_cast<ULONG>(length), reinterpret_cast<char*>(data)};
  DWORD flags = 0;
  packet->overlapped = {};
  return Started(op, WSARecv(SocketOf(op), &buffer, 1, nullptr, &flags, &packet->overlapped, nullptr));
}

bool StartSendOn(SOCKET socket, Op* op, OpPacket* packet, const uint8_t* data, uint64_t length) {
  WSABUF buffer{static_cast<ULONG>(length), reinterpret_cast<char*>(const_cast<uint8_t*>(data))};
  packet->overlapped = {};
  return Started(op, WSASend(socket, &buffer, 1, nullptr, 0, &packet->overlapped, nullptr));
}

bool StartSend(Op* op, OpPacket* packet, const uint8_t* data, uint64_t length) {
  return StartSendOn(SocketOf(op), op, packet, data, length);
}

// The WSA error of a failed step (the port reports the NTSTATUS mapped to
// a DOS code; Winsock's own code is the one users know).
DWORD WsaErrorOf(Op* op, OpPacket* packet, DWORD fallback) {
  // A cancelled step (CancelIoEx, or closesocket under it) stays a cancel:
  // the socket may be gone already, and asking it would say ENOTSOCK.
  if (fallback == ERROR_OPERATION_ABORTED || op->cancel_requested.load()) return fallback;
  DWORD bytes = 0;
  DWORD flags = 0;
  if (WSAGetOverlappedResult(StepSocketOf(op, ScratchOf(packet)), &packet->overlapped, &bytes, FALSE, &flags)) {
    return fallback;
  }
  const int error = WSAGetLastError();
  return error != 0 ? static_cast<DWORD>(error) : fallback;
}

// A forward ends on a failure of the side its step was on.
void FailForward(Op* op, DWORD error, ForwardSide side) {
  SetForwardFailedSide(op, side);
  FailOpWithWin32(op, error);
}

// Whether a continuing op ends here instead of starting its next step: a
// Cancel came while the step ran, and the step completed all the same (a
// socket with the bytes already there, or the room, completes at once, so
// CancelIoEx finds nothing to cancel). Without this look an op whose steps
// never wait would not end before it was done.
bool CancelledBetweenSteps(Op* op) {
  if (!op->cancel_requested.load()) return false;
  FailOpWithWin32(op, ERROR_OPERATION_ABORTED);
  return true;
}

// A step was started after a completion: a Cancel that came between the
// two found nothing to cancel, so look at the flag again now that the new
// step is live (Cancel sets it before calling CancelIoEx).
void RecheckCancel(Op* op, OpPacket* packet) {
  if (op->cancel_requested.load()) {
    CancelIoEx(reinterpret_cast<HANDLE>(StepSocketOf(op, ScratchOf(packet))), &packet->overlapped);
  }
}

// The end of one step of an op that sends until it is done (send,
// sendfile): counts the step's bytes (a failed or cancelled step may still
// have sent some), fails the op on an error, or starts the next step with
// `next` while `more` says there is more. True when the op is finished.
bool FinishSendStep(Op* op, OpPacket* packet, DWORD bytes, DWORD error, bool (*more)(Op*, SocketScratch*),
                    bool (*next)(Op*, OpPacket*, SocketScratch*)) {
  SocketScratch* scratch = ScratchOf(packet);
  if (error != 0) error = WsaErrorOf(op, packet, error);
  scratch->done += bytes;
  SetSendProgress(op, scratch->done);
  if (error != 0) {
    FailOpWithWin32(op, error);
    return true;
  }
  if (bytes > 0 && more(op, scratch)) {
    if (CancelledBetweenSteps(op)) return true;
    if (next(op, packet, scratch)) {
      RecheckCancel(op, packet);
      return false;
    }
    return true;
  }
  op->result = static_cast<int64_t>(scratch->done);
  return true;
}

bool SendHasMore(Op* op, SocketScratch* scratch) { return scratch->done < op->buffers[0].length; }

bool StartSendRest(Op* op, OpPacket* packet, SocketScratch* scratch) {
  return StartSend(op, packet, op->buffers[0].data + scratch->done, op->buffers[0].length - scratch->done);
}

// The forward's next step after a completion of `bytes` (no error): true
// when one started, false when the forward finished (result set).
bool ContinueForward(Op* op, OpPacket* packet, SocketScratch* scratch, DWORD bytes) {
  const OpBuffer& buffer = op->buffers[0];
  if (scratch->stage == kForwardRecv) {
    if (bytes == 0) {
      // Everything the source sent is out: the target's sending side ends
      // too (best effort, as on the other backends).
      shutdown(TargetOf(op), SD_SEND);
      op->result = static_cast<int64_t>(scratch->moved);
      return false;
    }
    AddForwardStat(op, 0, bytes);
    scratch->stage = kForwardSend;
    scratch->pending = bytes;
    scratch->done = 0;
  } else {
    AddForwardStat(op, 1, bytes);
    scratch->done += bytes;
    scratch->moved += bytes;
    if (scratch->done >= scratch->pending) {
      scratch->stage = kForwardRecv;
      if (StartRecv(op, packet, buffer.data, buffer.length)) return true;
      SetForwardFailedSide(op, kForwardFailedRecv);
      return false;
    }
  }
  if (StartSendOn(TargetOf(op), op, packet, buffer.data + scratch->done, scratch->pending - scratch->done)) return true;
  SetForwardFailedSide(op, kForwardFailedSend);
  return false;
}

}  // namespace

bool StartWinSocketAccept(IocpBackend*, Op* op, OpPacket* packet) {
  SocketScratch* scratch = ScratchOf(packet);
  sockaddr_storage local;
  int length = sizeof local;
  if (getsockname(SocketOf(op), reinterpret_cast<sockaddr*>(&local), &length) != 0) {
    FailOpWithWin32(op, static_cast<DWORD>(WSAGetLastError()));
    return false;
  }
  scratch->accepted = WSASocketW(local.ss_family, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                                 WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (scratch->accepted == INVALID_SOCKET) {
    FailOpWithWin32(op, static_cast<DWORD>(WSAGetLastError()));
    return false;
  }
  const Extensions& extensions = ExtensionsFor(SocketOf(op));
  if (extensions.accept_ex == nullptr) {
    closesocket(scratch->accepted);
    FailOpWithWin32(op, ERROR_NOT_SUPPORTED);
    return false;
  }
  DWORD bytes = 0;
  if (extensions.accept_ex(SocketOf(op), scratch->accepted, scratch->addresses, 0, kAcceptAddressLength,
                           kAcceptAddressLength, &bytes, &packet->overlapped)) {
    return true;
  }
  const int error = WSAGetLastError();
  if (error == ERROR_IO_PENDING) return true;
  closesocket(scratch->accepted);
  FailOpWithWin32(op, static_cast<DWORD>(error));
  return false;
}

bool FinishWinSocketAccept(Op* op, OpPacket* packet, DWORD, DWORD error) {
  SocketScratch* scratch = ScratchOf(packet);
  if (error != 0) error = WsaErrorOf(op, packet, error);
  if (error != 0) {
    closesocket(scratch->accepted);
    FailOpWithWin32(op, error);
    return true;
  }
  {
    // The accepted socket inherits the listener's properties only once
    // told which listener it came from (getpeername, shutdown need it).
    SOCKET listener = SocketOf(op);
    setsockopt(scratch->accepted, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, reinterpret_cast<const char*>(&listener),
               sizeof listener);
    WriteAcceptedAddresses(op, scratch);
    op->result = static_cast<int64_t>(scratch->accepted);
  }
  return true;
}
OVERLAPPED_WIN_OVERLAPPED_OP(SocketAccept, StartWinSocketAccept, FinishWinSocketAccept);

bool StartWinSocketConnect(IocpBackend*, Op* op, OpPacket* packet) {
  sockaddr_storage address;
  std::memset(&address, 0, sizeof address);
  int length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (inet_pton(AF_INET, op->path.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<u_short>(op->arg));
    length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, op->path.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<u_short>(op->arg));
    length = sizeof(sockaddr_in6);
  } else {
    FailOpWithWin32(op, WSAEINVAL);
    return false;
  }
  const Extensions& extensions = ExtensionsFor(SocketOf(op));
  if (extensions.connect_ex == nullptr) {
    FailOpWithWin32(op, ERROR_NOT_SUPPORTED);
    return false;
  }
  // ConnectEx copies the address before it returns.
  if (extensions.connect_ex(SocketOf(op), reinterpret_cast<sockaddr*>(&address), length, nullptr, 0, nullptr,
                            &packet->overlapped)) {
    return true;
  }
  const int error = WSAGetLastError();
  if (error == ERROR_IO_PENDING) return true;
  FailOpWithWin32(op, static_cast<DWORD>(error));
  return false;
}

bool FinishWinSocketConnect(Op* op, OpPacket* packet, DWORD, DWORD error) {
  if (error != 0) error = WsaErrorOf(op, packet, error);
  if (error != 0) {
    FailOpWithWin32(op, error);
    return true;
  }
  setsockopt(SocketOf(op), SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, nullptr, 0);
  op->result = 0;
  return true;
}
OVERLAPPED_WIN_OVERLAPPED_OP(SocketConnect, StartWinSocketConnect, FinishWinSocketConnect);

bool StartWinSocketRecv(IocpBackend*, Op* op, OpPacket* packet) {
  const bool has_buffer = !op->buffers.empty();
  if (!has_buffer) {
    FailOpWithWin32(op, WSAEINVAL);
    return false;
  }
  return StartRecv(op, packet, op->buffers[0].data, op->buffers[0].length);
}

bool StartWinSocketSend(IocpBackend*, Op* op, OpPacket* packet) {
  SocketScratch* scratch = ScratchOf(packet);
  const bool has_buffer = !op->buffers.empty();
  if (!has_buffer) {
    FailOpWithWin32(op, WSAEINVAL);
    return false;
  }
  scratch->done = 0;
  return StartSend(op, packet, op->buffers[0].data, op->buffers[0].length);
}

bool FinishWinSocketSend(Op* op, OpPacket* packet, DWORD bytes, DWORD error) {
  return FinishSendStep(op, packet, bytes, error, SendHasMore, StartSendRest);
}
OVERLAPPED_WIN_OVERLAPPED_OP(SocketSend, StartWinSocketSend, FinishWinSocketSend);

bool StartWinSocketShutdown(IocpBackend*, Op* op, OpPacket*) {
  const int64_t side = OpArgs<OpKind::kSocketShutdown>::how(*op);
  const int how = side == shutdown_how::kRead ? SD_RECEIVE : side == shutdown_how::kWrite ? SD_SEND : SD_BOTH;
  if (shutdown(SocketOf(op), how) != 0) {
    FailOpWithWin32(op, static_cast<DWORD>(WSAGetLastError()));
  } else {
    op->result = 0;
  }
  return false;
}

bool StartWinSocketClose(IocpBackend*, Op* op, OpPacket*) {
  // Ops still pending on the socket complete with WSA_OPERATION_ABORTED.
  if (closesocket(SocketOf(op)) != 0) {
    FailOpWithWin32(op, static_cast<DWORD>(WSAGetLastError()));
  } else {
    op->result = 0;
  }
  return false;
}

bool StartWinSocketForward(IocpBackend*, Op* op, OpPacket* packet) {
  SocketScratch* scratch = ScratchOf(packet);
  if (op->buffers.empty() || op->buffers[0].length == 0) {
    FailOpWithWin32(op, WSAEINVAL);
    return false;
  }
  scratch->stage = kForwardRecv;
  scratch->done = 0;
  scratch->pending = 0;
  scratch->moved = 0;
  if (StartRecv(op, packet, op->buffers[0].data, op->buffers[0].length)) return true;
  SetForwardFailedSide(op, kForwardFailedRecv);
  return false;
}

bool FinishWinSocketForward(Op* op, OpPacket* packet, DWORD bytes, DWORD error) {
  SocketScratch* scratch = ScratchOf(packet);
  if (error != 0) error = WsaErrorOf(op, packet, error);
  if (error != 0) {
    // A failed send step may still have sent part of its bytes.
    if (scratch->stage == kForwardSend && bytes > 0) AddForwardStat(op, 1, bytes);
    FailForward(op, error, scratch->stage == kForwardRecv ? kForwardFailedRecv : kForwardFailedSend);
    return true;
  }
  if (bytes > 0 && op->cancel_requested.load()) {
    // A next step would start (see CancelledBetweenSteps). The step's bytes
    // count (a send's reached `to`; a receive's are the buffer an abort may
    // lose), then the forward ends as cancelled.
    AddForwardStat(op, scratch->stage == kForwardRecv ? 0 : 1, bytes);
    FailOpWithWin32(op, ERROR_OPERATION_ABORTED);
    return true;
  }
  if (!ContinueForward(op, packet, scratch, bytes)) return true;
  RecheckCancel(op, packet);
  return false;
}
OVERLAPPED_WIN_OVERLAPPED_OP(SocketForward, StartWinSocketForward, FinishWinSocketForward);

namespace {

using SendfileArgs = OpArgs<OpKind::kSocketSendfile>;

// TransmitFile takes a DWORD count and reads 0 as "to the end": each call
// sends at most 2 GiB - 1 of the file.
constexpr uint64_t kTransmitChunk = 0x7fffffff;

// Starts the next TransmitFile: the head (if not sent yet) as its head
// buffer, then the next chunk of the file at its position (the
// OVERLAPPED's offset).
bool StartTransmit(Op* op, OpPacket* packet, SocketScratch* scratch) {
  const Extensions& extensions = ExtensionsFor(SocketOf(op));
  if (extensions.transmit_file == nullptr) {
    FailOpWithWin32(op, ERROR_NOT_SUPPORTED);
    return false;
  }
  const uint64_t head_length = SendfileHeadBytes(*op);
  TRANSMIT_FILE_BUFFERS buffers{};
  uint64_t file_sent = 0;
  if (scratch->done < head_length) {
    buffers.Head = SendfileArgs::head(*op)->data + scratch->done;
    buffers.HeadLength = static_cast<DWORD>(head_length - scratch->done);
  } else {
    file_sent = scratch->done - head_length;
  }
  const uint64_t left = scratch->moved - file_sent;
  const DWORD chunk = static_cast<DWORD>(left < kTransmitChunk ? left : kTransmitChunk);
  const uint64_t position = static_cast<uint64_t>(SendfileArgs::position(*op)) + file_sent;
  packet->overlapped = {};
  packet->overlapped.Offset = static_cast<DWORD>(position & 0xffffffffu);
  packet->overlapped.OffsetHigh = static_cast<DWORD>(position >> 32);
  // No file bytes in this call (an empty range): the head alone.
  HANDLE file = chunk == 0 ? nullptr : reinterpret_cast<HANDLE>(SendfileArgs::file(*op));
  const BOOL done = extensions.transmit_file(SocketOf(op), file, chunk, 0, &packet->overlapped,
                                             buffers.HeadLength > 0 ? &buffers : nullptr, 0);
  return Started(op, done ? 0 : SOCKET_ERROR);
}

bool SendfileHasMore(Op* op, SocketScratch* scratch) { return scratch->done < SendfileHeadBytes(*op) + scratch->moved; }

}  // namespace

bool StartWinSocketSendfile(IocpBackend*, Op* op, OpPacket* packet) {
  SocketScratch* scratch = ScratchOf(packet);
  scratch->done = 0;
  // The range is clamped to what the file holds past the position now.
  LARGE_INTEGER size;
  if (!GetFileSizeEx(reinterpret_cast<HANDLE>(SendfileArgs::file(*op)), &size)) {
    FailOpWithWin32(op, GetLastError());
    return false;
  }
  scratch->moved = SendfileRangeBytes(*op, static_cast<uint64_t>(size.QuadPart));
  if (!SendfileHasMore(op, scratch)) {
    op->result = 0;
    return false;
  }
  return StartTransmit(op, packet, scratch);
}

bool FinishWinSocketSendfile(Op* op, OpPacket* packet, DWORD bytes, DWORD error) {
  return FinishSendStep(op, packet, bytes, error, SendfileHasMore, StartTransmit);
}
OVERLAPPED_WIN_OVERLAPPED_OP(SocketSendfile, StartWinSocketSendfile, FinishWinSocketSendfile);

// The finish of a kind whose result is the bytes the packet carries (a
// receive), or that never queues a packet (shutdown, close).
bool FinishWinSocketBytes(Op* op, OpPacket* packet, DWORD bytes, DWORD error) {
  if (error != 0) error = WsaErrorOf(op, packet, error);
  if (error != 0) {
    FailOpWithWin32(op, error);
  } else {
    op->result = bytes;
  }
  return true;
}
OVERLAPPED_WIN_OVERLAPPED_OP(SocketRecv, StartWinSocketRecv, FinishWinSocketBytes);
OVERLAPPED_WIN_OVERLAPPED_OP(SocketShutdown, StartWinSocketShutdown, FinishWinSocketBytes);
OVERLAPPED_WIN_OVERLAPPED_OP(SocketClose, StartWinSocketClose, FinishWinSocketBytes);

}  // namespace overlapped
