// Memory for unbuffered I/O (O_DIRECT, FILE_FLAG_NO_BUFFERING): buffers
// whose address is a multiple of the device's alignment.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace overlapped {

struct AlignedAllocation;

// allocAligned(size, alignment): an ArrayBuffer of `size` zeroed bytes at an
// address that is a multiple of `alignment` (a power of two). TypeScript has
// validated both. The memory is shared by the ArrayBuffer and every op in
// flight that uses it: it is freed when the last of them lets go, so an op
// never outlives it, whatever becomes of the ArrayBuffer.
Napi::Value AllocAligned(const Napi::CallbackInfo& info);

// If [data, data + length) lies in memory allocAligned made (and its
// ArrayBuffer has not been finalized), takes a reference to it and
// returns it; else returns nullptr. Cheap when no such memory exists.
AlignedAllocation* RetainAligned(const uint8_t* data, size_t length);

// Drops a reference RetainAligned took; the last one frees the memory.
void ReleaseAligned(AlignedAllocation* allocation);

}  // namespace overlapped
