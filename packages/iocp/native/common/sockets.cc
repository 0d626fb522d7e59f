// The synchronous socket calls as JS sees them (socket_setup.h does the
// work). Each returns its value, or [negative errno, raw platform code].
#include "sockets.h"

#include "env_handles.h"
#include "errors.h"
#include "op_buffers.h"
#include "socket_setup.h"

namespace overlapped {

namespace {

Napi::Value Failure(Napi::Env env, int64_t error, uint32_t raw) {
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, static_cast<double>(error)));
  out.Set(1u, Napi::Number::New(env, raw));
  return out;
}

// socketOpen(family): a socket, or a failure.
Napi::Value Open(const Napi::CallbackInfo& info) {
  uint32_t raw = 0;
  const int64_t result = SocketOpen(info[0].As<Napi::Number>().Int32Value(), &raw);
  if (result < 0) return Failure(info.Env(), result, raw);
  EnvHandles::Of(info.Env())->Opened(result, HandleKind::kSocket);
  return Napi::Number::New(info.Env(), static_cast<double>(result));
}

// socketBind(socket, host, port, backlog): 0 or a failure; backlog < 0
// binds without listening.
Napi::Value Bind(const Napi::CallbackInfo& info) {
  uint32_t raw = 0;
  const int result = SocketBind(info[0].As<Napi::Number>().Int64Value(),
                                info[1].As<Napi::String>().Utf8Value(),
                                info[2].As<Napi::Number>().Int32Value(),
                                info[3].As<Napi::Number>().Int32Value(), &raw);
  if (result < 0) return Failure(info.Env(), result, raw);
  return Napi::Number::New(info.Env(), 0);
}

// socketName(socket, peer): [address, port] or a failure.
Napi::Value Name(const Napi::CallbackInfo& info) {
  uint32_t raw = 0;
  std::string address;
  int port = 0;
  const int result = SocketName(info[0].As<Napi::Number>().Int64Value(),
                                info[1].As<Napi::Boolean>().Value(), &address, &port, &raw);
  if (result < 0) return Failure(info.Env(), result, raw);
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::String::New(info.Env(), address));
  out.Set(1u, Napi::Number::New(info.Env(), port));
  return out;
}

// socketSetOption(socket, option, value): 0 or a failure.
Napi::Value SetOption(const Napi::CallbackInfo& info) {
  uint32_t raw = 0;
  const int result = SocketSetOption(info[0].As<Napi::Number>().Int64Value(),
                                     info[1].As<Napi::Number>().Int32Value(),
                                     info[2].As<Napi::Number>().Int32Value(), &raw);
  if (result < 0) return Failure(info.Env(), result, raw);
  return Napi::Number::New(info.Env(), 0);
}

// socketClose(socket): 0 or a failure; for sockets no op is using.
Napi::Value Close(const Napi::CallbackInfo& info) {
  uint32_t raw = 0;
  const int64_t socket = info[0].As<Napi::Number>().Int64Value();
  EnvHandles::Of(info.Env())->Closing(socket);
  const int result = SocketCloseNow(socket, &raw);
  if (result < 0) return Failure(info.Env(), result, raw);
  return Napi::Number::New(info.Env(), 0);
}

// socketTrySend(socket, bytes): bytes sent at once, or a negative errno.
Napi::Value TrySend(const Napi::CallbackInfo& info) {
  OpBuffer bytes{nullptr, 0};
  if (!ReadBufferView(info.Env(), info[1], &bytes)) {
    throw ArgumentTypeError(info.Env(), "socketTrySend: bytes is a TypedArray or DataView");
  }
  const int64_t result = SocketTrySend(info[0].As<Napi::Number>().Int64Value(), bytes.data, bytes.length);
  return Napi::Number::New(info.Env(), static_cast<double>(result));
}

// socketTrySendFile(socket, file, position, length, head): [bytes sent
// (head included), bytes of the file read] at once, or a negative errno.
Napi::Value TrySendFile(const Napi::CallbackInfo& info) {
  OpBuffer head{nullptr, 0};
  if (!ReadBufferView(info.Env(), info[4], &head)) {
    throw ArgumentTypeError(info.Env(), "socketTrySendFile: head is a TypedArray or DataView");
  }
  const double length = info[3].As<Napi::Number>().DoubleValue();
  size_t file_read = 0;
  const int64_t result = SocketTrySendFile(
      info[0].As<Napi::Number>().Int64Value(), info[1].As<Napi::Number>().Int64Value(),
      info[2].As<Napi::Number>().Int64Value(),
      length < static_cast<double>(kTrySendFileBytes) ? static_cast<size_t>(length) : kTrySendFileBytes, head.data,
      head.length, &file_read);
  if (result < 0) return Napi::Number::New(info.Env(), static_cast<double>(result));
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(result)));
  out.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(file_read)));
  return out;
}

}  // namespace

void ExportSocketCalls(Napi::Env env, Napi::Object exports) {
  exports.Set("socketOpen", Napi::Function::New<Open>(env, "socketOpen"));
  exports.Set("socketBind", Napi::Function::New<Bind>(env, "socketBind"));
  exports.Set("socketName", Napi::Function::New<Name>(env, "socketName"));
  exports.Set("socketSetOption", Napi::Function::New<SetOption>(env, "socketSetOption"));
  exports.Set("socketTrySend", Napi::Function::New<TrySend>(env, "socketTrySend"));
  exports.Set("socketTrySendFile", Napi::Function::New<TrySendFile>(env, "socketTrySendFile"));
  exports.Set("socketClose", Napi::Function::New<Close>(env, "socketClose"));
}

}  // namespace overlapped
