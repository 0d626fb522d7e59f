// The JS-facing completion port: one Backend, one DeliveryQueue and the
// shared ring JS reads completions from. The TypeScript CompletionPort in
// @overlapped/common drives it through the PortDriver contract.
#pragma once

#include <napi.h>

#include <deque>
#include <memory>

#include "backend.h"
#include "delivery_queue.h"
#include "env_handles.h"
#include "native_posters.h"
#include "op_registry.h"
#include "wake_function.h"

namespace overlapped {

class Port : public Napi::ObjectWrap<Port> {
 public:
  static Napi::Function Define(Napi::Env env);

  // new Port(backend, threads, concurrency, ringCapacity, onWake)
  explicit Port(const Napi::CallbackInfo& info);
  ~Port() override;

 private:
  // SubmitBatch and SubmitSpread: `spread` says where the buffers are.
  Napi::Value SubmitOps(const Napi::CallbackInfo& info, bool spread);
  Napi::Value Ring(const Napi::CallbackInfo& info);
  void PostBatch(const Napi::CallbackInfo& info);
  Napi::Value Drain(const Napi::CallbackInfo& info);
  Napi::Value Busy(const Napi::CallbackInfo& info);
  Napi::Value Counters(const Napi::CallbackInfo& info);
  void SetRef(const Napi::CallbackInfo& info);
  void StartPosters(const Napi::CallbackInfo& info);
  void StopPosters(const Napi::CallbackInfo& info);
  void Destroy(const Napi::CallbackInfo& info);
  Napi::Value Submit(const Napi::CallbackInfo& info);
  Napi::Value SubmitBatch(const Napi::CallbackInfo& info);
  Napi::Value SubmitSpread(const Napi::CallbackInfo& info);
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value Associate(const Napi::CallbackInfo& info);
  Napi::Value OpsInFlight(const Napi::CallbackInfo& info);
  Napi::Value SupportsMultishot(const Napi::CallbackInfo& info);

  // Stops posters and workers and releases the wake function. Runs on the
  // JS thread: from destroy(), the finalizer, or the environment's cleanup
  // hook at exit, whichever comes first.
  void Shutdown();
  static void CleanupHook(void* self);
  // Notes the handles in drained op records (an open's file, an accept's
  // socket) as the environment's.
  void NoteHandles(const CompletionRecord* records, size_t count);
  // At shutdown, after the backend stopped: closes what JS will never see
  // (handles in records nobody drained, handles whose close op was
  // cancelled before it ran).
  void CloseUndelivered();
  void NoteClosing(const Op* op);

  napi_env env_;
  EnvHandles* handles_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<DeliveryQueue> queue_;
  std::unique_ptr<NativePosters> posters_;
  WakeFunction wake_;
  Napi::Reference<Napi::ArrayBuffer> ring_;
  CompletionRecord* ring_data_ = nullptr;
  size_t ring_capacity_ = 0;
  std::vector<Posted> staging_;
  // Ops submitted whose last completion is not drained yet, by token. Only
  // the JS thread touches it: an op is freed here, after JS has drained its
  // last completion, so a backend never sees a freed op and Cancel never
  // names one.
  OpRegistry ops_;
  // Ops whose last completion was drained, kept for reuse: a hot loop of
  // reads then costs no allocation per op (an Op and its buffer list).
  // Reused only on the JS thread, at the point where the op would have been
  // freed, so a reused op is as unknown to every backend as a new one.
  std::vector<std::unique_ptr<Op>> spare_ops_;
  static constexpr size_t kMaxSpareOps = 1024;
  // Retired ops a backend may still name (Op::quarantine), oldest first:
  // freed at shutdown, after the backend stopped, or when more than
  // kMaxQuarantinedOps are kept (a stray comes within milliseconds).
  std::deque<std::unique_ptr<Op>> quarantined_ops_;
  static constexpr size_t kMaxQuarantinedOps = 256;
  std::unique_ptr<Op> TakeOp();
  void RetireOp(std::unique_ptr<Op> op);
  void DiscardOp(std::unique_ptr<Op> op);
  uint64_t js_seq_ = 0;
  uint32_t next_poster_ = 1;
  bool started_ = false;
  bool shut_down_ = false;
  bool referenced_ = false;
  bool cleanup_hook_added_ = false;
};

}  // namespace overlapped
