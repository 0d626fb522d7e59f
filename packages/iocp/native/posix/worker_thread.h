// A native worker thread for the POSIX backends, over pthreads rather than
// std::thread so that starting one reports errno instead of throwing: the
// addon may be built with -fno-exceptions, and failures become BackendError.
#pragma once

#include <pthread.h>

namespace overlapped {

class WorkerThread {
 public:
  using Entry = void (*)(void* context);

  WorkerThread() = default;
  // The owner joins or detaches the thread before destroying this object,
  // and must not move it: the new thread reads entry_ and context_ from it.
  ~WorkerThread() = default;
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // Runs entry(context) on a new thread that starts with every signal
  // blocked, so that process-wide signals (SIGINT, SIGCHLD, ...) go to the
  // threads that handle them rather than interrupting a worker's wait.
  // Returns 0, or the errno value pthread_create gave.
  int Start(Entry entry, void* context) noexcept;
  bool running() const { return started_; }
  // Both are no-ops for a thread that was never started.
  void Join() noexcept;
  void Detach() noexcept;

 private:
  static void* Run(void* self) noexcept;

  pthread_t thread_{};
  bool started_ = false;
  Entry entry_ = nullptr;
  void* context_ = nullptr;
};

}  // namespace overlapped
