// The iocp backend: one I/O completion port and a pool of worker threads
// created up front, each reaping batches with GetQueuedCompletionStatusEx.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
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
};

struct PortPacket {
  OVERLAPPED overlapped;  // first member: lpOverlapped == &packet->overlapped
  PacketKind kind;
};

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
};

}  // namespace overlapped
