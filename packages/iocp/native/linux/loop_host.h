// What the two drivers on the JS thread's own event loop share (events.cc,
// the event sockets; loop_recv.cc, the promise API's receives): ids for
// their sockets, which a batch on its way to JS may still name after a
// socket closed; the libuv handles they close and the environment's
// teardown that waits for those; and the call that hands JS a batch.
//
// JS-thread only, as the drivers are.
#pragma once

#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "uv_shim.h"

namespace overlapped {

// A driver's sockets by id (the id travels in the records JS reads). An id
// whose socket closed while a batch not yet delivered may name it is
// retired, and reused only after that batch (ReleaseRetired).
template <typename T>
class IdSlots {
 public:
  T* Get(uint32_t id) const { return id < slots_.size() ? slots_[id] : nullptr; }

  uint32_t Add(T* item) {
    uint32_t id;
    if (!free_.empty()) {
      id = free_.back();
      free_.pop_back();
    } else {
      id = static_cast<uint32_t>(slots_.size());
      slots_.push_back(nullptr);
    }
    slots_[id] = item;
    return id;
  }

  // Empties the slot now; the id is reused only after ReleaseRetired.
  void Clear(uint32_t id) { slots_[id] = nullptr; }
  void Retire(uint32_t id) { retired_.push_back(id); }
  // Empties the slot and reuses the id at once: no batch names it.
  void Free(uint32_t id) {
    slots_[id] = nullptr;
    free_.push_back(id);
  }
  // The batch that might name the retired ids was delivered.
  void ReleaseRetired() {
    for (const uint32_t id : retired_) Free(id);
    retired_.clear();
  }

  // Every slot, empty ones as null (for a teardown).
  const std::vector<T*>& all() const { return slots_; }
  void Forget() { slots_.clear(); }

 private:
  std::vector<T*> slots_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> retired_;
};

// A driver of one environment, freed by its async cleanup hook once every
// handle it closed has closed.
class LoopHost {
 public:
  explicit LoopHost(napi_env env) : env_(env) {}
  virtual ~LoopHost() = default;
  LoopHost(const LoopHost&) = delete;
  LoopHost& operator=(const LoopHost&) = delete;

 protected:
  // Keeps `callback`, called with each batch's record count, under an async
  // resource named `name`.
  void KeepBatchCallback(napi_value callback, const char* name) {
    napi_create_reference(env_, callback, 1, &callback_ref_);
    napi_value resource, resource_name;
    napi_create_object(env_, &resource);
    napi_create_string_utf8(env_, name, NAPI_AUTO_LENGTH, &resource_name);
    napi_async_init(env_, resource, resource_name, &context_);
  }

  // Hands JS a batch of `count` records through MakeCallback, so that
  // microtasks and nextTicks run before it returns (the receive an awaiting
  // loop queues next is queued by then). BeforeBatch and AfterBatch run
  // right around the call; an exception the callback throws is the
  // process's uncaught exception.
  void CallBatch(size_t count) {
    napi_handle_scope scope;
    napi_open_handle_scope(env_, &scope);
    napi_value callback, global, argument, result;
    napi_get_reference_value(env_, callback_ref_, &callback);
    napi_get_global(env_, &global);
    napi_create_uint32(env_, static_cast<uint32_t>(count), &argument);
    BeforeBatch();
    const napi_status status = napi_make_callback(env_, context_, global, callback, 1, &argument, &result);
    AfterBatch();
    if (status == napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env_, &error);
      napi_fatal_exception(env_, error);
    }
    napi_close_handle_scope(env_, scope);
  }
  virtual void BeforeBatch() {}
  virtual void AfterBatch() {}

  // Closes a libuv handle; its close callback must call HandleClosed.
  void CloseHandle(void* handle, uv::CloseCallback closed) {
    closing_++;
    uv_->close(handle, closed);
  }
  // A close callback ran: in a teardown, the last one frees the driver.
  void HandleClosed() {
    if (--closing_ == 0 && tearing_down_) Finish();
  }
  // The close callback of a handle whose data is the driver itself.
  template <typename Driver>
  static void OnOwnHandleClosed(void* handle) {
    LoopHost* driver = static_cast<Driver*>(uv::HandleData(handle));
    free(handle);
    driver->HandleClosed();
  }

  // The environment's cleanup hook runs: no batch is delivered from now on.
  void BeginTeardown(napi_async_cleanup_hook_handle hook) {
    hook_ = hook;
    tearing_down_ = true;
    if (context_ != nullptr) napi_async_destroy(env_, context_);
  }
  // After the teardown closed its handles: frees the driver now when none
  // is still closing (else the last close callback does).
  void EndTeardown() {
    if (closing_ == 0) Finish();
  }
  bool tearing_down() const { return tearing_down_; }

  napi_env env_;
  const uv::Api* uv_ = nullptr;
  struct uv_loop_s* loop_ = nullptr;

 private:
  void Finish() {
    napi_remove_async_cleanup_hook(hook_);
    delete this;
  }

  napi_ref callback_ref_ = nullptr;
  napi_async_context context_ = nullptr;
  napi_async_cleanup_hook_handle hook_ = nullptr;
  size_t closing_ = 0;  // handles closed whose close callback has not run
  bool tearing_down_ = false;
};

}  // namespace overlapped
