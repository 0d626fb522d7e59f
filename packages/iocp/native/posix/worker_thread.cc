#include "worker_thread.h"

#include <signal.h>

namespace overlapped {

int WorkerThread::Start(Entry entry, void* context) noexcept {
  if (started_) return 0;
  entry_ = entry;
  context_ = context;
  sigset_t all_signals;
  sigset_t previous_mask;
  sigfillset(&all_signals);
  // A new thread inherits its creator's mask, so block everything for the
  // duration of pthread_create only.
  pthread_sigmask(SIG_SETMASK, &all_signals, &previous_mask);
  const int result = pthread_create(&thread_, nullptr, &WorkerThread::Run, this);
  pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
  started_ = result == 0;
  return result;
}

void WorkerThread::Join() noexcept {
  if (!started_) return;
  pthread_join(thread_, nullptr);
  started_ = false;
}

void WorkerThread::Detach() noexcept {
  if (!started_) return;
  pthread_detach(thread_);
  started_ = false;
}

void* WorkerThread::Run(void* self) noexcept {
  const WorkerThread* thread = static_cast<const WorkerThread*>(self);
  thread->entry_(thread->context_);
  return nullptr;
}

}  // namespace overlapped
