// The one interface every native backend implements (iocp, io_uring,
// threadpool). Backends live in native/win, native/linux and native/posix;
// only native/common talks Node-API. A backend owns its worker threads:
// they wait on the kernel's completion queue (GetQueuedCompletionStatusEx,
// the io_uring CQ, or the thread pool's own queue) and hand what they reap to
// the CompletionSink, which batches it for JS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace overlapped {

// One completion as JS reads it: four doubles (32 bytes) in the shared ring.
// Doubles carry integers exactly up to 2^53, which covers keys and tokens.
struct CompletionRecord {
  double key;     // completion key (a non-negative safe integer)
  double bytes;   // bytes transferred (uint32)
  double token;   // the JS side's handle for the value or the op; 0 = none
  double status;  // 0, or a negative errno-style code for a failed op
};

// Posters are numbered so that the sink can deliver each poster's
// completions in the order they were posted, whichever worker reaped them.
// Poster 0 is the JS thread; native poster threads are 1..n.
constexpr uint32_t kUnordered = 0xffffffffu;  // kernel op completions

struct Posted {
  CompletionRecord record;
  uint32_t poster;  // kUnordered for completions that carry no order
  uint64_t seq;     // per-poster sequence, from 0
};

// Implemented once in native/common. Thread-safe; never blocks for long and
// never calls into JS on the caller's thread.
class CompletionSink {
 public:
  virtual ~CompletionSink() = default;
  // Queues completions for JS and wakes the JS thread once per drain.
  virtual void Deliver(const Posted* posted, size_t count) = 0;
  // The IOCP concurrency rule: a worker calls EnterRun before it runs the
  // completions it reaped and LeaveRun after; at most `concurrency` workers
  // are between the two at once. EnterRun blocks while the limit is reached.
  virtual void EnterRun() = 0;
  virtual void LeaveRun() = 0;
};

struct BackendConfig {
  unsigned threads;      // worker threads, created up front (>= 1)
  unsigned concurrency;  // at most this many run completions at once (>= 1)
};

// Why a backend cannot run: `code` is an errno name or a Win32/WSA-derived
// code name ("ENOSYS", "EPERM", "ENOMEM"...), `errnum` the raw number.
struct BackendError {
  std::string code;
  int errnum = 0;
  std::string message;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Creates the kernel objects and starts the workers. Returns false (and
  // fills *error) if the backend cannot run here; nothing is left running.
  virtual bool Start(const BackendConfig& config, CompletionSink* sink,
                     BackendError* error) = 0;
  // PostQueuedCompletionStatus: queues completions of the caller's own.
  // Callable from any thread, any number at once, after Start and before
  // Stop returns. Each one reaches sink->Deliver exactly once.
  virtual void Post(const Posted* posted, size_t count) = 0;
  // Delivers what is already queued, then stops and joins the workers.
  // Idempotent. After Stop, Post must not be called.
  virtual void Stop() = 0;
};

// Implemented once per platform (native/<platform>/registry.cc).
// The backends this build contains, best first.
std::vector<std::string> CompiledBackends();
// Whether `name` can run in this process right now, without crashing it:
// probing tolerates io_uring_disabled, seccomp filters and memlock limits.
bool ProbeBackend(const std::string& name, BackendError* why);
// A new, not yet started backend, or nullptr if `name` is not compiled in.
Backend* CreateBackend(const std::string& name);

}  // namespace overlapped
