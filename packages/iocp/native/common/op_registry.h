// The ops a port has in flight, by token; only the JS thread touches it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "backend.h"

namespace overlapped {

// JS issues op tokens in order (-1, -2, ...) and most ops end soon, so op
// `token` lives in slot -token mod kSlots of a fixed table: no hashing and
// no node allocated per op, where a hash map did both (a drain of 64 reads
// spent more time finding and erasing its ops than submitting them). An op
// whose slot is still taken by an older one that lasts (an accept, an idle
// receive) goes to a map beside the table.
class OpRegistry {
 public:
  OpRegistry() : slots_(kSlots) {}

  // Whether `token` can name an op: a negative integer that a double holds
  // exactly (JS's tokens are negative safe integers).
  static bool IsToken(double token) {
    return token <= -1 && token >= -kMaxSafeInteger && static_cast<double>(static_cast<int64_t>(token)) == token;
  }

  // The op with `token`, or nullptr.
  Op* Find(double token) const {
    if (!IsToken(token)) return nullptr;
    Op* op = slots_[SlotOf(token)].get();
    if (op != nullptr && op->token == token) return op;
    if (overflow_.empty()) return nullptr;
    auto it = overflow_.find(token);
    return it == overflow_.end() ? nullptr : it->second.get();
  }

  // Takes `op`, whose token IsToken and names no op here.
  void Insert(std::unique_ptr<Op> op) {
    std::unique_ptr<Op>& slot = slots_[SlotOf(op->token)];
    if (slot == nullptr) {
      slot = std::move(op);
    } else {
      const double token = op->token;
      overflow_.emplace(token, std::move(op));
    }
    ++size_;
  }

  // Hands back the op with `token` (nullptr if there is none).
  std::unique_ptr<Op> Remove(double token) {
    if (!IsToken(token)) return nullptr;
    std::unique_ptr<Op>& slot = slots_[SlotOf(token)];
    std::unique_ptr<Op> op;
    if (slot != nullptr && slot->token == token) {
      op = std::move(slot);
    } else {
      auto it = overflow_.empty() ? overflow_.end() : overflow_.find(token);
      if (it == overflow_.end()) return nullptr;
      op = std::move(it->second);
      overflow_.erase(it);
    }
    --size_;
    return op;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Calls `visit(Op*)` for every op here (the table must not change meanwhile).
  template <typename Visit>
  void ForEach(Visit visit) const {
    if (size_ == 0) return;
    for (const std::unique_ptr<Op>& op : slots_) {
      if (op != nullptr) visit(op.get());
    }
    for (const auto& entry : overflow_) visit(entry.second.get());
  }

  void Clear() {
    for (std::unique_ptr<Op>& op : slots_) op.reset();
    overflow_.clear();
    size_ = 0;
  }

 private:
  static constexpr size_t kSlots = 4096;  // a power of two
  static constexpr double kMaxSafeInteger = 9007199254740991.0;

  static size_t SlotOf(double token) { return static_cast<size_t>(static_cast<uint64_t>(-token) & (kSlots - 1)); }

  std::vector<std::unique_ptr<Op>> slots_;
  std::unordered_map<double, std::unique_ptr<Op>> overflow_;
  size_t size_ = 0;
};

}  // namespace overlapped
