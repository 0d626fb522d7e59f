// Memory for unbuffered I/O (O_DIRECT, FILE_FLAG_NO_BUFFERING): buffers
// whose address is a multiple of the device's alignment.
#pragma once

#include <napi.h>

namespace overlapped {

// allocAligned(size, alignment): an ArrayBuffer of `size` zeroed bytes at an
// address that is a multiple of `alignment` (a power of two). TypeScript has
// validated both. The memory is freed when the ArrayBuffer is collected.
Napi::Value AllocAligned(const Napi::CallbackInfo& info);

}  // namespace overlapped
