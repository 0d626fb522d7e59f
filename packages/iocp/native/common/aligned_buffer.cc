#include "aligned_buffer.h"

#include <cstring>
#include <new>

namespace overlapped {

namespace {

// The finalizer gets the alignment back through its hint, so the memory is
// released by the matching aligned operator delete.
void FreeAligned(Napi::Env, void* data, size_t* alignment) {
  ::operator delete(data, std::align_val_t(*alignment));
  delete alignment;
}

}  // namespace

Napi::Value AllocAligned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t size = static_cast<size_t>(info[0].As<Napi::Number>().Int64Value());
  const size_t alignment = static_cast<size_t>(info[1].As<Napi::Number>().Int64Value());
  // A zero-length request still gets one aligned byte, so the address is real.
  void* data = ::operator new(size == 0 ? 1 : size, std::align_val_t(alignment), std::nothrow);
  if (data == nullptr) {
    Napi::Error error = Napi::Error::New(env, "allocAligned: out of memory");
    error.Set("code", Napi::String::New(env, "ENOMEM"));
    throw error;
  }
  std::memset(data, 0, size);
  return Napi::ArrayBuffer::New(env, data, size, FreeAligned, new size_t(alignment));
}

}  // namespace overlapped
