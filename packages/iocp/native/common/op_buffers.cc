#include "op_buffers.h"

#include "aligned_buffer.h"

namespace overlapped {

namespace {

size_t ElementSize(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return 1;
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    default:  // float64, bigint64, biguint64
      return 8;
  }
}

}  // namespace

// napi_get_typedarray_info's data pointer already includes the view's
// offset and is valid for a SharedArrayBuffer too; asking for the view's
// ArrayBuffer and then its data (as Napi::TypedArray::ArrayBuffer() does)
// fails with napi_invalid_arg when the buffer is shared.
bool ReadBufferView(napi_env env, napi_value value, OpBuffer* out) {
  bool is_view = false;
  if (napi_is_typedarray(env, value, &is_view) == napi_ok && is_view) {
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_typedarray_info(env, value, &type, &length, &data, nullptr, nullptr) != napi_ok) return false;
    *out = OpBuffer{static_cast<uint8_t*>(data), length * ElementSize(type)};
    return true;
  }
  if (napi_is_dataview(env, value, &is_view) == napi_ok && is_view) {
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_dataview_info(env, value, &length, &data, nullptr, nullptr) != napi_ok) return false;
    *out = OpBuffer{static_cast<uint8_t*>(data), length};
    return true;
  }
  return false;
}

bool AddOpBuffer(napi_env env, napi_value value, Op* op) {
  OpBuffer buffer{nullptr, 0};
  if (!ReadBufferView(env, value, &buffer)) return false;
  op->buffers.push_back(buffer);
  if (AlignedAllocation* allocation = RetainAligned(buffer.data, buffer.length)) op->pinned.push_back(allocation);
  return true;
}

void ReleaseOpBuffers(Op* op) {
  for (AlignedAllocation* allocation : op->pinned) ReleaseAligned(allocation);
  op->pinned.clear();
}

}  // namespace overlapped
