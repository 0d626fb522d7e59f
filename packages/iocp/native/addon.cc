// Module initialisation: exports only. Everything that talks Node-API lives
// in native/common; the platform folders implement backend.h.
#include <napi.h>

#include "common/aligned_buffer.h"
#include "common/backend.h"
#include "common/env_handles.h"
#include "common/events.h"
#include "common/loop_recv.h"
#include "common/op_table_export.h"
#include "common/port.h"
#include "common/sockets.h"

namespace overlapped {

// backends(): the backends compiled into this build, best first.
static Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> names = CompiledBackends();
  Napi::Array out = Napi::Array::New(env, names.size());
  for (size_t i = 0; i < names.size(); i++) out.Set(static_cast<uint32_t>(i), names[i]);
  return out;
}

// probe(name): { available, code?, errno?, message? } without side effects
// that outlive the call.
static Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>();
  BackendError why;
  bool available = ProbeBackend(name, &why);
  Napi::Object out = Napi::Object::New(env);
  out.Set("available", available);
  if (!available) {
    out.Set("code", why.code);
    out.Set("errno", why.errnum);
    out.Set("message", why.message);
  }
  return out;
}

}  // namespace overlapped

static Napi::Object InitOverlapped(Napi::Env env, Napi::Object exports) {
  using namespace overlapped;
  EnvHandles::Install(env);
  exports.Set("Port", Port::Define(env));
  exports.Set("backends", Napi::Function::New<Backends>(env, "backends"));
  exports.Set("probe", Napi::Function::New<Probe>(env, "probe"));
  exports.Set("allocAligned", Napi::Function::New<AllocAligned>(env, "allocAligned"));
  ExportSocketCalls(env, exports);
#ifdef __linux__
  // The sockets' event driver on the JS thread's event loop (Linux only:
  // elsewhere the event API runs on the generic driver).
  ExportEventCalls(env, exports);
  // Promise receives on the same loop (Linux only, as the event drivers).
  ExportLoopRecvCalls(env, exports);
#endif
  // The op table's id: the loader refuses a core built from another table.
  exports.Set("abiVersion", Napi::String::New(env, kOpTableAbiId));
  exports.Set("opTable", OpTableExport(env));
  return exports;
}

NODE_API_MODULE(overlapped, InitOverlapped)
