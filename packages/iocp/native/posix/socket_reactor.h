// The threadpool backend's socket ops: a readiness reactor on one native
// thread. Blocking a pool worker per connection would cap connections at
// the thread count, so socket ops never reach the workers. Each socket with
// ops waiting has a queue of ops waiting to read (recv, accept, a
// forward's recv) and one of ops waiting to write (send, connect, a
// forward's send, which waits in its target's queue); the socket is armed one-shot with the build's readiness
// source (epoll on Linux, poll() elsewhere: readiness.h), and when it is
// reported ready the reactor makes the syscalls of the queues' heads on the
// non-blocking socket. Ops complete (through the sink) when they are done,
// as on the other backends.
//
// A recv or send joins its socket's queue from the submitting thread and
// arms the socket there; with epoll the reactor thread needs no wake-up for
// it, and a recv is not tried before the socket is readable. Accept,
// connect, shutdown, close and forwards start on the reactor thread in
// submission order and are tried at once, as are recvs and sends submitted
// behind one of those on the same socket.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "../common/backend.h"
#include "readiness.h"
#include "worker_thread.h"

namespace overlapped {

class SocketReactor {
 public:
  SocketReactor() = default;
  ~SocketReactor();
  SocketReactor(const SocketReactor&) = delete;
  SocketReactor& operator=(const SocketReactor&) = delete;

  // Queues `op` (see above), starting the reactor thread on first use. If
  // it cannot start, the op completes at once with the error.
  void Submit(Op* op, CompletionSink* sink);
  // Ends `op` (its flag is set already) with ECANCELED if it still waits;
  // an op whose syscall finished first keeps its result.
  void Cancel(Op* op);
  // Ends every op with ECANCELED and joins the thread. Idempotent.
  void Stop();

 private:
  // The ops of one socket.
  struct FdOps {
    std::vector<Op*> readers;  // in submission order; the head is tried
    std::vector<Op*> writers;
    int to_start = 0;          // its ops in incoming_
    // An echo's socket, watched level-triggered for good (Readiness::Watch),
    // for its forward's side now (kReadable or kWritable); 0 when the socket
    // is armed one-shot instead.
    uint32_t watching = 0;
    bool watched() const { return watching != 0; }
  };

  // The entries by descriptor: a slot per descriptor number below kSlots
  // (numbers are small and reused; the slots grow to the highest in use),
  // a map beside them for any other. An entry stays where it is while it
  // exists, so a reference to one survives adding others.
  class FdTable {
   public:
    FdOps* Find(int fd) {
      if (InSlots(fd)) return static_cast<size_t>(fd) < slots_.size() ? slots_[fd].get() : nullptr;
      auto found = others_.find(fd);
      return found == others_.end() ? nullptr : &found->second;
    }
    // The entry of `fd`, made empty when there is none.
    FdOps& operator[](int fd) {
      if (!InSlots(fd)) return others_[fd];
      if (static_cast<size_t>(fd) >= slots_.size()) slots_.resize(static_cast<size_t>(fd) + 1);
      std::unique_ptr<FdOps>& slot = slots_[fd];
      if (!slot) slot = std::make_unique<FdOps>();
      return *slot;
    }
    void Erase(int fd) {
      if (InSlots(fd)) {
        if (static_cast<size_t>(fd) < slots_.size()) slots_[fd].reset();
      } else {
        others_.erase(fd);
      }
    }
    template <typename Visit>
    void ForEach(Visit&& visit) {
      for (std::unique_ptr<FdOps>& slot : slots_) {
        if (slot) visit(*slot);
      }
      for (auto& entry : others_) visit(entry.second);
    }
    void Clear() {
      slots_.clear();
      others_.clear();
    }

   private:
    static constexpr int kSlots = 1 << 20;
    static bool InSlots(int fd) { return fd >= 0 && fd < kSlots; }
    std::vector<std::unique_ptr<FdOps>> slots_;
    std::unordered_map<int, FdOps> others_;
  };

  static void RunEntry(void* self) noexcept;
  static uint32_t EventsOf(const FdOps& ops);
  static void Enqueue(FdOps& ops, Op* op, bool front);
  void Run() noexcept;
  // The *Locked functions run with mutex_ held.
  int StartLocked(CompletionSink* sink);
  void StartLocked(Op* op, std::vector<Op*>* finished);
  void ServeQueueLocked(FdOps& ops, bool readers, std::vector<Op*>* finished);
  bool StartForwardLocked(int fd, FdOps& ops, Op* op);  // false: finished
  // Queues `op`, which waits, in `ops` (true), or for a forward that now
  // waits on its other socket, in that socket's entry, which it arms.
  bool ParkLocked(FdOps& ops, Op* op, bool front, std::vector<Op*>* finished);
  void TryAllLocked(FdOps& ops, std::vector<Op*>* finished);
  void RearmLocked(int fd, std::vector<Op*>* finished);
  // The same, for the entry `ops` of `fd` found already.
  void RearmLocked(int fd, FdOps& ops, std::vector<Op*>* finished);

  // Guards everything below but thread_. The reactor holds it while it
  // makes one socket's syscalls, so queues never change under a try.
  std::mutex mutex_;
  std::vector<Op*> incoming_;   // ops to start on the reactor thread
  std::vector<Op*> cancelled_;  // taken out of their queues by Cancel
  FdTable fds_;
  bool stopping_ = false;
  bool started_ = false;
  CompletionSink* sink_ = nullptr;
  // Created with the thread; Arm and Wake are thread-safe, and it lives
  // until Stop has joined the thread.
  std::unique_ptr<Readiness> readiness_;
  WorkerThread thread_;
};

}  // namespace overlapped
