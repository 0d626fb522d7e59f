// Starting a backend worker thread: shared by the POSIX backends.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <system_error>
#include <thread>
#include <utility>

namespace overlapped {

// Starts `body` on *thread with every signal blocked, so that process-wide
// signals (SIGINT, SIGCHLD, ...) go to the threads that handle them rather
// than interrupting a worker's wait. Returns false with *errnum set instead
// of throwing, because callers report failures as BackendError.
template <typename Body>
bool StartWorkerThread(std::thread* thread, Body&& body, int* errnum) noexcept {
  sigset_t all_signals;
  sigset_t previous_mask;
  sigfillset(&all_signals);
  pthread_sigmask(SIG_SETMASK, &all_signals, &previous_mask);
  bool started = true;
  try {
    // The new thread inherits the blocked mask set above.
    *thread = std::thread(std::forward<Body>(body));
  } catch (const std::system_error& failure) {
    *errnum = failure.code().value() != 0 ? failure.code().value() : EAGAIN;
    started = false;
  } catch (...) {
    *errnum = ENOMEM;
    started = false;
  }
  pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
  return started;
}

}  // namespace overlapped
