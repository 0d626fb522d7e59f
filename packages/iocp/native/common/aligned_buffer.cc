#include "aligned_buffer.h"

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <new>

#include "backend.h"

namespace overlapped {

// One allocAligned allocation. Its ArrayBuffer holds one reference until it
// is finalized, and each op in flight over it one more (Op::pinned).
struct AlignedAllocation {
  uint8_t* data;
  size_t size;
  size_t alignment;
  std::atomic<size_t> references{1};
};

namespace {

// The allocations whose ArrayBuffer is alive, by start address, so that an
// op's buffer can be traced to the allocation it lies in. Every
// environment (each worker thread) shares it; `live` lets the common case,
// no aligned memory at all, skip the lock.
std::mutex registry_mutex;
std::map<uintptr_t, AlignedAllocation*>& Registry() {
  static auto* registry = new std::map<uintptr_t, AlignedAllocation*>();
  return *registry;
}
std::atomic<size_t> live{0};

void FreeAllocation(AlignedAllocation* allocation) {
  ::operator delete(allocation->data, std::align_val_t(allocation->alignment));
  delete allocation;
}

// The ArrayBuffer was collected: it no longer names the memory, and drops
// its reference (ops still in flight over it keep it allocated).
void FinalizeAligned(Napi::Env, void*, AlignedAllocation* allocation) {
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    Registry().erase(reinterpret_cast<uintptr_t>(allocation->data));
    live.fetch_sub(1, std::memory_order_relaxed);
  }
  ReleaseAligned(allocation);
}

}  // namespace

AlignedAllocation* RetainAligned(const uint8_t* data, size_t length) {
  if (data == nullptr || live.load(std::memory_order_relaxed) == 0) return nullptr;
  const uintptr_t start = reinterpret_cast<uintptr_t>(data);
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto& registry = Registry();
  auto it = registry.upper_bound(start);
  if (it == registry.begin()) return nullptr;
  --it;
  AlignedAllocation* allocation = it->second;
  // A zero-length allocation still owns one byte (see AllocAligned).
  const size_t extent = allocation->size == 0 ? 1 : allocation->size;
  if (start + length > it->first + extent) return nullptr;
  allocation->references.fetch_add(1, std::memory_order_relaxed);
  return allocation;
}

void ReleaseAligned(AlignedAllocation* allocation) {
  if (allocation->references.fetch_sub(1, std::memory_order_acq_rel) == 1) FreeAllocation(allocation);
}

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
  auto* allocation = new AlignedAllocation{static_cast<uint8_t*>(data), size, alignment};
  Napi::ArrayBuffer buffer;
  try {
    buffer = Napi::ArrayBuffer::New(env, data, size, FinalizeAligned, allocation);
  } catch (...) {
    FreeAllocation(allocation);
    throw;
  }
  std::lock_guard<std::mutex> lock(registry_mutex);
  Registry()[reinterpret_cast<uintptr_t>(data)] = allocation;
  live.fetch_add(1, std::memory_order_relaxed);
  return buffer;
}

}  // namespace overlapped
