// How an op's memory is read from JS values: views over an ArrayBuffer or
// a SharedArrayBuffer alike, and allocAligned's memory kept allocated for
// as long as the op uses it.
#pragma once

#include <napi.h>

#include "backend.h"

namespace overlapped {

// The bytes a TypedArray or DataView covers, over an ArrayBuffer or a
// SharedArrayBuffer. False if `value` is neither (nothing is written). A
// detached view reads as {nullptr, 0}.
bool ReadBufferView(napi_env env, napi_value value, OpBuffer* out);

// Appends `value`'s bytes to op->buffers, retaining the allocAligned
// memory they lie in (Op::pinned). False if `value` is no view.
bool AddOpBuffer(napi_env env, napi_value value, Op* op);

// Drops the op's references on allocAligned memory; call before the op is
// freed or reused. Idempotent.
void ReleaseOpBuffers(Op* op);

}  // namespace overlapped
