// The iocp backend: one I/O completion port and a pool of worker threads
// created up front, each reaping batches with GetQueuedCompletionStatusEx.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "../common/backend.h"
#include "windows_headers.h"

namespace overlapped {

// Every lpOverlapped this backend's port carries points at a PortPacket, so a
// worker can tell what it reaped. Kernel op records (file and socket ops)
// will start with the same header; the kernel writes only to `overlapped`.
enum class PacketKind : uint32_t {
  kPosted = 1,  // a PostedPacket queued by Post()
  kStop = 2,    // wakes one worker and tells it to leave
  kOp = 3,      // an OpPacket: the completion of an I/O op
};

struct PortPacket {
  OVERLAPPED overlapped;  // first member: lpOverlapped == &packet->overlapped
  PacketKind kind;
};

// Where an op's first call stands, for telling its packets apart (see
// IocpBackend::Submit): a packet reaped while the call is still being made
// waits for the outcome, and a packet of a call that finished at once is a
// stray, dropped.
enum class CallState : uint32_t {
  kStarting = 0,        // the submitting thread is inside the call
  kPending = 1,         // the call pends: its packet completes the op
  kFinishedAtOnce = 2,  // completed by Submit: no packet of it is the op's
};

// The packet of an op, built in the op's backend_storage: the kernel
// writes the OVERLAPPED while the I/O is in flight; the rest is the op's
// own scratch space (AcceptEx address buffers and the like).
struct OpPacket : PortPacket {
  Op* op;
  std::atomic<CallState> call_state{CallState::kPending};
  alignas(16) unsigned char scratch[192];
};
static_assert(sizeof(OpPacket) <= sizeof(Op::backend_storage), "OpPacket must fit in an Op");

// Completion key of every handle associated with the port: an op's own key
// travels in the Op, and posted completions are told apart by their packet.
constexpr ULONG_PTR kOpCompletionKey = 0x6f70;

class IocpBackend;

// How the iocp backend runs each op kind: one entry per kind, defined next
// to the kind's functions and gathered in the backend's table
// (op_table.cc), which names every kind of the op table.
struct WinOpEntry {
  OpKind kind;
  // A kind without an overlapped form (the blockingOnWindows trait): the
  // blocking call, run on the port worker that reaps the op's own posted
  // packet, never on the JS thread. Sets op->result.
  void (*run)(IocpBackend* backend, Op* op);
  // An overlapped kind: issues the call. Returns false when the op
  // finished (or failed) at once, with op->result set, and no packet will
  // arrive.
  bool (*start)(IocpBackend* backend, Op* op, OpPacket* packet);
  // Turns a reaped packet (bytes, and the Win32 error or 0) into
  // op->result / raw_error; returns false when the op started its next
  // step (a send with bytes left, a forward), whose packet will arrive.
  bool (*finish)(Op* op, OpPacket* packet, DWORD bytes, DWORD error);
};
// A blocking kind's entry (nop's too: it posts its own packet the same
// way), or an overlapped kind's; each checks the kind's traits at compile
// time.
constexpr WinOpEntry WinBlockingOp(OpKind kind, void (*run)(IocpBackend*, Op*)) {
  return TraitsOf(kind).blocking_on_windows || kind == OpKind::kNop
             ? WinOpEntry{kind, run, nullptr, nullptr}
             : (OpEntryContradictsTheKindsTraits(), WinOpEntry{});
}
constexpr WinOpEntry WinOverlappedOp(OpKind kind, bool (*start)(IocpBackend*, Op*, OpPacket*),
                                     bool (*finish)(Op*, OpPacket*, DWORD, DWORD)) {
  return !TraitsOf(kind).blocking_on_windows && kind != OpKind::kNop
             ? WinOpEntry{kind, nullptr, start, finish}
             : (OpEntryContradictsTheKindsTraits(), WinOpEntry{});
}

// Every kind's entry, kWinOp<Name> (OVERLAPPED_OP_KINDS), defined with the
// kind's functions (file_ops.cc, socket_ops.cc):
// OVERLAPPED_WIN_BLOCKING_OP(FileSync, RunSync) or
// OVERLAPPED_WIN_OVERLAPPED_OP(SocketRecv, StartRecv, FinishRecv).
#define OVERLAPPED_DECLARE_WIN_OP(Name, number) extern const WinOpEntry kWinOp##Name;
OVERLAPPED_OP_KINDS(OVERLAPPED_DECLARE_WIN_OP)
#undef OVERLAPPED_DECLARE_WIN_OP
#define OVERLAPPED_WIN_BLOCKING_OP(Name, run) constexpr WinOpEntry kWinOp##Name = WinBlockingOp(OpKind::k##Name, run)
#define OVERLAPPED_WIN_OVERLAPPED_OP(Name, start, finish) \
  constexpr WinOpEntry kWinOp##Name = WinOverlappedOp(OpKind::k##Name, start, finish)

// The entry of `kind`, or null for a kind the table does not define.
const WinOpEntry* WinOpOf(OpKind kind);

// Sets op->result from a Win32 error (mapped) and keeps the raw code.
void FailOpWithWin32(Op* op, DWORD error);

class IocpBackend final : public Backend {
 public:
  // GetQueuedCompletionStatusEx reaps up to this many packets per call.
  static constexpr ULONG kReapBatch = 64;

  IocpBackend() = default;
  ~IocpBackend() override;
  IocpBackend(const IocpBackend&) = delete;
  IocpBackend& operator=(const IocpBackend&) = delete;

  const char* name() const override { return "iocp"; }
  bool Start(const BackendConfig& config, CompletionSink* sink,
             BackendError* error) override;
  // If the port cannot take a packet (out of memory), the completion is
  // handed to the sink from the posting thread instead, so it still arrives
  // exactly once.
  void Post(const Posted* posted, size_t count) override;
  // Joins the workers, so it must not be called from inside the sink's
  // Deliver (a worker thread): that worker would wait for itself.
  void Stop() override;
  void Submit(Op* const* ops, size_t count) override;
  void Cancel(Op* op) override;
  int Associate(int64_t handle, double key, uint32_t* raw) override;

  // The port, for associating handles with it (file and socket ops).
  HANDLE port() const { return port_; }

 private:
  enum class State { kNew, kRunning, kStopped };

  void RunWorker();
  // Turns one reaped entry into a Posted record; returns false for packets
  // that carry no completion (stop packets).
  static bool TakeCompletion(const OVERLAPPED_ENTRY& entry, Posted* out,
                             bool* is_stop);
  void PostStopPackets(size_t count);
  void DeliverRemaining();
  void DeliverOnCaller(const Posted* posted, size_t count);
  // Takes one reaped packet of an op (on a worker or in Stop): a stray of
  // a call that finished at once is dropped, any other goes to FinishOp.
  void ReapOpPacket(const OVERLAPPED_ENTRY& entry);
  // Completes an op whose packet was reaped.
  void FinishOp(OpPacket* packet, DWORD bytes, LONG status);
  // Hands a finished op to the sink and forgets it.
  void CompleteOpHere(Op* op);
  // Cancels every op in flight and waits until their packets were reaped.
  void CancelAllOps();

  std::mutex lifecycle_mutex_;  // serializes Start and Stop
  State state_ = State::kNew;
  HANDLE port_ = nullptr;
  CompletionSink* sink_ = nullptr;
  std::vector<std::thread> workers_;

  // Post() runs without a lock. It counts itself in posts_in_flight_ and then
  // checks accepting_posts_; Stop() clears accepting_posts_ and then waits
  // for posts_in_flight_ to reach 0 before its final drain, so every Post that
  // got past the check has queued its packets before that drain (both sides
  // use sequentially consistent operations for this Dekker-style handshake).
  std::atomic<bool> accepting_posts_{false};
  std::atomic<uint32_t> posts_in_flight_{0};
  // Ops submitted and not yet completed, so that Stop can cancel them.
  std::mutex ops_mutex_;
  std::unordered_set<Op*> ops_in_flight_;
};

}  // namespace overlapped
