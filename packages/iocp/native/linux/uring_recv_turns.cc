#include "uring_recv_turns.h"

#include "uring_ops.h"

namespace overlapped {

RecvTurns::Line* RecvTurns::LineOf(const Op* op, bool grow) {
  if (op->handle < 0) return nullptr;
  const size_t fd = static_cast<size_t>(op->handle);
  if (fd >= lines_.size()) {
    if (!grow) return nullptr;
    lines_.resize(fd + 1 > 2 * lines_.size() ? fd + 1 : 2 * lines_.size());
  }
  return &lines_[fd];
}

bool RecvTurns::Enter(Op* op) {
  Line* line = LineOf(op, true);
  if (line == nullptr) return true;  // a bad handle: the kernel says EBADF
  if (line->holder == nullptr) {
    line->holder = op;
    return true;
  }
  UringOpStateOf(op)->next_waiting = nullptr;
  if (line->last != nullptr) {
    UringOpStateOf(line->last)->next_waiting = op;
  } else {
    line->first = op;
  }
  line->last = op;
  return false;
}

Op* RecvTurns::Leave(Op* op) {
  Line* line = LineOf(op, false);
  if (line == nullptr || line->holder != op) return nullptr;
  Op* next = line->first;
  line->holder = next;
  if (next != nullptr) {
    line->first = UringOpStateOf(next)->next_waiting;
    if (line->first == nullptr) line->last = nullptr;
  }
  return next;
}

bool RecvTurns::Withdraw(Op* op) {
  Line* line = LineOf(op, false);
  if (line == nullptr) return false;
  Op* before = nullptr;
  for (Op* at = line->first; at != nullptr; before = at, at = UringOpStateOf(at)->next_waiting) {
    if (at != op) continue;
    Op* after = UringOpStateOf(at)->next_waiting;
    if (before != nullptr) {
      UringOpStateOf(before)->next_waiting = after;
    } else {
      line->first = after;
    }
    if (line->last == op) line->last = before;
    return true;
  }
  return false;
}

}  // namespace overlapped
