#include "port.h"

#include <memory>
#include <new>
#include <string>
#include <vector>

#include "errors.h"
#include "op_buffers.h"

namespace overlapped {

Napi::Function Port::Define(Napi::Env env) {
  return DefineClass(env, "Port",
                     {
                         InstanceAccessor<&Port::Ring>("ring"),
                         InstanceMethod<&Port::PostBatch>("postBatch"),
                         InstanceMethod<&Port::Drain>("drain"),
                         InstanceMethod<&Port::Busy>("busy"),
                         InstanceMethod<&Port::Counters>("counters"),
                         InstanceMethod<&Port::SetRef>("setRef"),
                         InstanceMethod<&Port::StartPosters>("startPosters"),
                         InstanceMethod<&Port::StopPosters>("stopPosters"),
                         InstanceMethod<&Port::Destroy>("destroy"),
                         InstanceMethod<&Port::Submit>("submit"),
                         InstanceMethod<&Port::SubmitBatch>("submitBatch"),
                         InstanceMethod<&Port::SubmitSpread>("submitSpread"),
                         InstanceMethod<&Port::Cancel>("cancel"),
                         InstanceMethod<&Port::Associate>("associate"),
                         InstanceMethod<&Port::OpsInFlight>("opsInFlight"),
                         InstanceMethod<&Port::SupportsMultishot>("supportsMultishot"),
                     });
}

// Arguments are validated in TypeScript before they get here; these checks
// only keep a bad call from reaching the kernel.
Port::Port(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Port>(info), env_(info.Env()), handles_(EnvHandles::Of(info.Env())) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber() ||
      !info[3].IsNumber() || !info[4].IsFunction()) {
    throw ArgumentTypeError(env, "new Port(backend, threads, concurrency, ringCapacity, onWake)");
  }
  std::string name = info[0].As<Napi::String>();
  unsigned threads = info[1].As<Napi::Number>().Uint32Value();
  unsigned concurrency = info[2].As<Napi::Number>().Uint32Value();
  ring_capacity_ = info[3].As<Napi::Number>().Uint32Value();
  if (threads == 0 || concurrency == 0 || ring_capacity_ == 0) {
    throw ArgumentTypeError(env, "threads, concurrency and ringCapacity must be positive");
  }

  Napi::ArrayBuffer ring = Napi::ArrayBuffer::New(env, ring_capacity_ * sizeof(CompletionRecord));
  ring_data_ = static_cast<CompletionRecord*>(ring.Data());
  ring_ = Napi::Persistent(ring);

  // The wake function carries no data: JS drains the queue when it runs.
  // It is unreferenced while nothing is in flight, so an idle port does not
  // keep the process alive (JS references it again when it posts).
  if (wake_.Create(env, info[4]) != napi_ok) throw Napi::Error::New(env);
  queue_ = std::make_unique<DeliveryQueue>(concurrency, [this] { wake_.Call(); });

  backend_.reset(CreateBackend(name));
  if (!backend_) {
    wake_.Release();
    throw BackendUnavailable(env, name, BackendError{"ENOTSUP", 0, "not compiled into this build"});
  }
  BackendError error;
  BackendConfig config{threads, concurrency};
  // An optional sixth argument: see BackendConfig::sockets_share_ring.
  config.sockets_share_ring = info.Length() > 5 && info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
  if (!backend_->Start(config, queue_.get(), &error)) {
    wake_.Release();
    backend_.reset();
    throw BackendUnavailable(env, name, error);
  }
  started_ = true;
  posters_ = std::make_unique<NativePosters>(backend_.get(), queue_.get());
  napi_add_env_cleanup_hook(env_, CleanupHook, this);
  cleanup_hook_added_ = true;
}

Port::~Port() { Shutdown(); }

void Port::CleanupHook(void* self) {
  Port* port = static_cast<Port*>(self);
  port->cleanup_hook_added_ = false;
  port->Shutdown();
}

void Port::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (posters_) posters_->Stop();
  // Stop cancels and completes the ops still in flight, so none is in a
  // backend's hands when the map frees them.
  if (backend_ && started_) {
    backend_->Stop();
    CloseUndelivered();
  }
  ops_.ForEach([](Op* op) { ReleaseOpBuffers(op); });
  ops_.Clear();
  spare_ops_.clear();
  quarantined_ops_.clear();
  wake_.Release();
  if (cleanup_hook_added_) {
    napi_remove_env_cleanup_hook(env_, CleanupHook, this);
    cleanup_hook_added_ = false;
  }
}

Napi::Value Port::Ring(const Napi::CallbackInfo&) { return ring_.Value(); }

// postBatch(staging: Float64Array, count): `count` triples [key, bytes, token]
// posted from the JS thread (poster 0), in order.
void Port::PostBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (shut_down_) throw StateError(env, "ERR_PORT_CLOSED", "The port is closed");
  Napi::Float64Array staging = info[0].As<Napi::Float64Array>();
  size_t count = info[1].As<Napi::Number>().Uint32Value();
  if (count * 3 > staging.ElementLength()) {
    throw ArgumentTypeError(env, "postBatch: count exceeds the staging array");
  }
  const double* words = staging.Data();
  staging_.resize(count);
  for (size_t i = 0; i < count; i++) {
    Posted& item = staging_[i];
    item.record = CompletionRecord{words[i * 3], words[i * 3 + 1], words[i * 3 + 2], 0};
    item.poster = 0;
    item.seq = js_seq_++;
  }
  queue_->CountPosted(count);
  backend_->Post(staging_.data(), count);
}

Napi::Value Port::Drain(const Napi::CallbackInfo& info) {
  size_t count = queue_->Drain(ring_data_, ring_capacity_);
  if (!ops_.empty()) NoteHandles(ring_data_, count);
  return Napi::Number::New(info.Env(), static_cast<double>(count));
}

void Port::NoteHandles(const CompletionRecord* records, size_t count) {
  for (size_t i = 0; i < count; i++) {
    const CompletionRecord& record = records[i];
    if (record.token >= 0) continue;
    Op* op = ops_.Find(record.token);
    if (op == nullptr) continue;
    HandleKind kind;
    if (record.status == 0 && EnvHandles::ReturnsHandle(op->kind, &kind)) {
      handles_->Opened(static_cast<int64_t>(record.bytes), kind);
    }
    // An op's last completion is now in JS's hands: the op itself can go
    // (a multishot op's earlier ones leave it in flight).
    if (record.key != kOpRecordMore) {
      ReleaseOpBuffers(op);
      RetireOp(ops_.Remove(record.token));
    }
  }
}

void Port::CloseUndelivered() {
  CompletionRecord records[256];
  size_t count;
  while ((count = queue_->Drain(records, 256)) > 0) {
    for (size_t i = 0; i < count; i++) {
      const CompletionRecord& record = records[i];
      if (record.token >= 0) continue;
      const Op* found = ops_.Find(record.token);
      if (found == nullptr) continue;
      const Op& op = *found;
      HandleKind kind;
      if (record.status == 0 && EnvHandles::ReturnsHandle(op.kind, &kind)) {
        CloseHandleNow(static_cast<int64_t>(record.bytes), kind);
      } else if (IsCancelledResult(static_cast<int64_t>(record.status)) && EnvHandles::ClosesHandle(op.kind, &kind)) {
        // The close left the set when it was submitted but never ran.
        CloseHandleNow(op.handle, kind);
      }
    }
  }
}

// True while anything posted is undelivered or a native poster still runs.
Napi::Value Port::Busy(const Napi::CallbackInfo& info) {
  bool busy = queue_->posted() != queue_->delivered() || (posters_ && posters_->active() > 0) ||
              !ops_.empty();
  return Napi::Boolean::New(info.Env(), busy);
}

Napi::Value Port::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("posted", static_cast<double>(queue_->posted()));
  out.Set("delivered", static_cast<double>(queue_->delivered()));
  out.Set("peakQueued", static_cast<double>(queue_->peak_queued()));
  out.Set("peakRunning", static_cast<double>(queue_->peak_running()));
  out.Set("activePosters", static_cast<double>(posters_ ? posters_->active() : 0));
  return out;
}

void Port::SetRef(const Napi::CallbackInfo& info) {
  if (shut_down_) return;
  // A plain read, no coercion: it works while the environment is terminating.
  bool ref = info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value();
  if (ref == referenced_) return;
  referenced_ = ref;
  if (ref) {
    wake_.Ref(info.Env());
  } else {
    wake_.Unref(info.Env());
  }
}

// startPosters(threads, perThread, baseKey)
void Port::StartPosters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (shut_down_) throw StateError(env, "ERR_PORT_CLOSED", "The port is closed");
  unsigned threads = info[0].As<Napi::Number>().Uint32Value();
  double per_thread = info[1].As<Napi::Number>().DoubleValue();
  double base_key = info[2].As<Napi::Number>().DoubleValue();
  posters_->Start(threads, static_cast<uint64_t>(per_thread), base_key, next_poster_);
  next_poster_ += threads;
}

void Port::StopPosters(const Napi::CallbackInfo&) {
  if (posters_) posters_->Stop();
}

void Port::Destroy(const Napi::CallbackInfo&) { Shutdown(); }

std::unique_ptr<Op> Port::TakeOp() {
  if (spare_ops_.empty()) return std::make_unique<Op>();
  std::unique_ptr<Op> op = std::move(spare_ops_.back());
  spare_ops_.pop_back();
  // As new: remade in place as make_unique<Op>() makes it (Op's own
  // defaults, scratch space zeroed), except that the buffer list and path
  // keep their capacity.
  std::vector<OpBuffer> buffers = std::move(op->buffers);
  std::vector<AlignedAllocation*> pinned = std::move(op->pinned);
  std::string path = std::move(op->path);
  buffers.clear();
  pinned.clear();
  path.clear();
  Op* raw = op.get();
  raw->~Op();
  new (raw) Op();
  raw->buffers = std::move(buffers);
  raw->pinned = std::move(pinned);
  raw->path = std::move(path);
  return op;
}

// The op's references on allocAligned memory are already released.
void Port::RetireOp(std::unique_ptr<Op> op) {
  if (op->quarantine) {
    quarantined_ops_.push_back(std::move(op));
    if (quarantined_ops_.size() > kMaxQuarantinedOps) quarantined_ops_.pop_front();
    return;
  }
  // A rare op with a long buffer list or path is not worth keeping.
  if (spare_ops_.size() < kMaxSpareOps && op->buffers.capacity() <= 16 && op->path.capacity() <= 256) {
    spare_ops_.push_back(std::move(op));
  }
}

// An op that closes its handle takes it out of the environment's set
// before the backend can close it.
void Port::NoteClosing(const Op* op) {
  HandleKind kind;
  if (EnvHandles::ClosesHandle(op->kind, &kind)) handles_->Closing(op->handle);
}

// An op that never reached the backend: its memory is let go and the
// record kept for reuse.
void Port::DiscardOp(std::unique_ptr<Op> op) {
  ReleaseOpBuffers(op.get());
  RetireOp(std::move(op));
}

// submit(kind, token, key, handle, offset, arg, buffers, path, flags,
// length): starts one op. `buffers` is null, a Uint8Array or an array of them
// (over an ArrayBuffer or a SharedArrayBuffer); `flags` (optional) are
// op_flags bits. TypeScript has validated every argument and keeps the
// buffers referenced until the op's last completion is drained. Returns
// undefined; throws, having started nothing, if the op cannot start.
Napi::Value Port::Submit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (shut_down_) throw StateError(env, "ERR_PORT_CLOSED", "The port is closed");
  std::unique_ptr<Op> op = TakeOp();
  op->kind = static_cast<OpKind>(info[0].As<Napi::Number>().Uint32Value());
  op->token = info[1].As<Napi::Number>().DoubleValue();
  op->key = info[2].As<Napi::Number>().DoubleValue();
  op->handle = info[3].As<Napi::Number>().Int64Value();
  op->offset = info[4].As<Napi::Number>().Int64Value();
  op->arg = info[5].As<Napi::Number>().Int64Value();
  if (!OpRegistry::IsToken(op->token) || ops_.Find(op->token) != nullptr) {
    DiscardOp(std::move(op));
    throw ArgumentTypeError(env, "submit: op tokens are unique negative integers");
  }
  bool buffers_ok = true;
  if (info.Length() > 6 && info[6].IsArray()) {
    Napi::Array list = info[6].As<Napi::Array>();
    op->buffers.reserve(list.Length());
    for (uint32_t i = 0; i < list.Length() && buffers_ok; i++) buffers_ok = AddOpBuffer(env, list.Get(i), op.get());
  } else if (info.Length() > 6 && !info[6].IsNull() && !info[6].IsUndefined()) {
    buffers_ok = AddOpBuffer(env, info[6], op.get());
  }
  if (!buffers_ok) {
    DiscardOp(std::move(op));
    throw ArgumentTypeError(env, "submit: an op's buffers are TypedArrays or DataViews");
  }
  if (info.Length() > 7 && info[7].IsString()) op->path = info[7].As<Napi::String>().Utf8Value();
  if (info.Length() > 8 && info[8].IsNumber()) op->flags = info[8].As<Napi::Number>().Uint32Value();
  if (info.Length() > 9 && info[9].IsNumber()) op->length = info[9].As<Napi::Number>().Int64Value();
  Op* raw = op.get();
  ops_.Insert(std::move(op));
  NoteClosing(raw);
  backend_->Submit(&raw, 1);
  return env.Undefined();
}

// submitBatch(fields, count, buffers, together): starts `count` ops with
// one call into the backend (io_uring fills their SQEs and enters the
// kernel once). `fields` is a Float64Array of kSubmitBatchFields doubles
// per op (kind, token, key, handle, offset, arg); buffers[i] is op i's
// Uint8Array (or null); `together` (optional) marks every op with
// op_flags::kBatch. TypeScript has validated everything and holds the
// buffers. An op that cannot start does not take the others down: they
// are submitted, and it is returned in a list of [index, code, message]
// (undefined when every op started), for JS to fail that op alone.
Napi::Value Port::SubmitBatch(const Napi::CallbackInfo& info) { return SubmitOps(info, false); }

// submitSpread(fields, count, together, buffer0, buffer1, ...): submitBatch
// with op i's buffer (or null) as argument 3 + i. Each buffer then comes
// with the call's arguments, where submitBatch asks the array for it: one
// Node-API call (and property lookup) less per op.
Napi::Value Port::SubmitSpread(const Napi::CallbackInfo& info) { return SubmitOps(info, true); }

Napi::Value Port::SubmitOps(const Napi::CallbackInfo& info, bool spread) {
  Napi::Env env = info.Env();
  if (shut_down_) throw StateError(env, "ERR_PORT_CLOSED", "The port is closed");
  Napi::Float64Array fields = info[0].As<Napi::Float64Array>();
  const size_t count = static_cast<size_t>(info[1].As<Napi::Number>().Int64Value());
  Napi::Array buffers = spread ? Napi::Array() : info[2].As<Napi::Array>();
  const size_t buffer_count = spread ? (info.Length() > 3 ? info.Length() - 3 : 0) : buffers.Length();
  if (fields.ElementLength() < count * kSubmitBatchFields || buffer_count < count) {
    throw ArgumentTypeError(env, "submitBatch: fields or buffers too short");
  }
  const size_t together = spread ? 2 : 3;
  const uint32_t flags = info.Length() > together && info[together].ToBoolean() ? op_flags::kBatch : 0;
  std::vector<Op*> batch;
  batch.reserve(count);
  Napi::Array refused;
  auto refuse = [&](size_t index, const char* code, const char* message) {
    if (refused.IsEmpty()) refused = Napi::Array::New(env);
    Napi::Array entry = Napi::Array::New(env, 3);
    entry.Set(0u, Napi::Number::New(env, static_cast<double>(index)));
    entry.Set(1u, Napi::String::New(env, code));
    entry.Set(2u, Napi::String::New(env, message));
    refused.Set(refused.Length(), entry);
  };
  for (size_t i = 0; i < count; i++) {
    const double* field = fields.Data() + i * kSubmitBatchFields;
    std::unique_ptr<Op> op = TakeOp();
    op->kind = static_cast<OpKind>(static_cast<uint32_t>(field[0]));
    op->token = field[1];
    op->key = field[2];
    op->handle = static_cast<int64_t>(field[3]);
    op->offset = static_cast<int64_t>(field[4]);
    op->arg = static_cast<int64_t>(field[5]);
    op->flags = flags;
    if (!OpRegistry::IsToken(op->token) || ops_.Find(op->token) != nullptr) {
      DiscardOp(std::move(op));
      refuse(i, "ERR_INVALID_ARG_VALUE", "submitBatch: op tokens are unique negative integers");
      continue;
    }
    Napi::Value buffer = spread ? info[i + 3] : buffers.Get(static_cast<uint32_t>(i));
    if (!buffer.IsNull() && !buffer.IsUndefined() && !AddOpBuffer(env, buffer, op.get())) {
      DiscardOp(std::move(op));
      refuse(i, "ERR_INVALID_ARG_TYPE", "submitBatch: an op's buffer is a TypedArray or DataView");
      continue;
    }
    batch.push_back(op.get());
    ops_.Insert(std::move(op));
  }
  for (Op* op : batch) NoteClosing(op);
  if (!batch.empty()) backend_->Submit(batch.data(), batch.size());
  return refused.IsEmpty() ? env.Undefined() : static_cast<Napi::Value>(refused);
}

// cancel(token): asks the backend to cancel the op; returns whether it was
// still in flight. The op completes either way (ECANCELED if the cancel won).
Napi::Value Port::Cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Op* op = ops_.Find(info[0].As<Napi::Number>().DoubleValue());
  if (op == nullptr || shut_down_) return Napi::Boolean::New(env, false);
  if (!op->cancel_requested.exchange(true)) backend_->Cancel(op);
  return Napi::Boolean::New(env, true);
}

// associate(handle, key): 0 or [negative errno, raw platform code].
Napi::Value Port::Associate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (shut_down_) throw StateError(env, "ERR_PORT_CLOSED", "The port is closed");
  uint32_t raw = 0;
  int result = backend_->Associate(info[0].As<Napi::Number>().Int64Value(),
                                   info[1].As<Napi::Number>().DoubleValue(), &raw);
  if (result == 0) return Napi::Number::New(env, 0);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, result));
  out.Set(1u, Napi::Number::New(env, raw));
  return out;
}

Napi::Value Port::OpsInFlight(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ops_.size()));
}

// supportsMultishot(kind): whether an op of `kind` submitted with the
// multishot flag completes several times on this backend.
Napi::Value Port::SupportsMultishot(const Napi::CallbackInfo& info) {
  const auto kind = static_cast<OpKind>(info[0].As<Napi::Number>().Uint32Value());
  return Napi::Boolean::New(info.Env(), !shut_down_ && backend_->SupportsMultishot(kind));
}

}  // namespace overlapped
