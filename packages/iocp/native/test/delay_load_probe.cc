// A minimal Node-API addon for checking the Windows delay-load hook: it is
// linked exactly like the real addon (native/win/*.cc, including
// delay_load_hook.cc, and a delay-load import of "node.exe"), so if it loads
// and answers in a host executable of another name, the hook resolved
// Node-API to that host. It also runs the iocp backend inside Node.
#include <napi.h>

#include <atomic>
#include <memory>
#include <vector>

#include "../common/backend.h"
#include "../win/windows_headers.h"

namespace {

class CountingSink final : public overlapped::CompletionSink {
 public:
  void Deliver(const overlapped::Posted*, size_t count) override { delivered += count; }
  void EnterRun() override {}
  void LeaveRun() override {}
  void CompleteOp(overlapped::Op*) override {}
  void CompleteOpMore(overlapped::Op*) override {}
  std::atomic<size_t> delivered{0};
};

// Posts `count` completions through a fresh iocp backend, stops it (which
// delivers everything posted) and returns how many reached the sink.
Napi::Value IocpRoundTrip(const Napi::CallbackInfo& info) {
  const uint32_t count = info[0].As<Napi::Number>().Uint32Value();
  CountingSink sink;
  std::unique_ptr<overlapped::Backend> backend(overlapped::CreateBackend("iocp"));
  overlapped::BackendError error;
  if (!backend || !backend->Start({2, 1}, &sink, &error)) {
    throw Napi::Error::New(info.Env(), "iocp backend did not start: " + error.message);
  }
  std::vector<overlapped::Posted> posted(count);
  for (uint32_t i = 0; i < count; ++i) {
    posted[i].record = {1, 0, static_cast<double>(i + 1), 0};
    posted[i].poster = 0;
    posted[i].seq = i;
  }
  backend->Post(posted.data(), posted.size());
  backend->Stop();
  return Napi::Number::New(info.Env(), static_cast<double>(sink.delivered.load()));
}

Napi::Value Echo(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), "delay-loaded " + info[0].ToString().Utf8Value());
}

// The delay-load import library's IAT slot for napi_create_string_utf8: it
// points at a resolving thunk inside this addon until the first call, and
// at the resolved function afterwards.
extern "C" void* __imp_napi_create_string_utf8;

// The file name of the module that serves Node-API to this addon, read from
// the IAT slot once the delay-load helper has filled it in.
Napi::Value NodeApiModule(const Napi::CallbackInfo& info) {
  // Calling it first makes the helper resolve the slot.
  Napi::String::New(info.Env(), "");
  HMODULE module = nullptr;
  GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                         GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                     reinterpret_cast<LPCWSTR>(__imp_napi_create_string_utf8), &module);
  char path[MAX_PATH] = {};
  GetModuleFileNameA(module, path, MAX_PATH);
  return Napi::String::New(info.Env(), path);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("echo", Napi::Function::New(env, Echo));
  exports.Set("nodeApiModule", Napi::Function::New(env, NodeApiModule));
  exports.Set("iocpRoundTrip", Napi::Function::New(env, IocpRoundTrip));
  return exports;
}

}  // namespace

NODE_API_MODULE(delay_load_probe, Init)
