// Receives on one socket take turns in the kernel. Two IORING_OP_RECVs in
// flight on a stream socket race: when data arrives, each armed request is
// retried from task work, and a later one may take bytes before an earlier
// one, so results joined in call order would garble the stream (io_uring
// orders nothing between requests unless they are linked, and links only
// join SQEs of one submission). IOCP fills posted receives in posting
// order, and the thread pool's reactor keeps a queue per socket; here a
// socket's receives form a line: the first is in the kernel, the others
// wait, and the worker that reaps one submits the next with its next wait.
// A lone receive (the ping-pong case) only marks and clears its line.
#pragma once

#include <vector>

#include "../common/backend.h"

namespace overlapped {

// Not thread-safe: the io_uring backend calls it under the worker's
// ops_mutex. Lines are indexed by descriptor, as descriptors are small and
// reused lowest first.
class RecvTurns {
 public:
  // Whether `op` (a receive) may go to the kernel now; if not, it waits
  // behind the receives before it on its socket.
  bool Enter(Op* op);
  // `op`, whose turn it was, has left the kernel: returns the next waiting
  // receive, whose turn it is now, or nullptr.
  Op* Leave(Op* op);
  // Takes `op` out of its line if it is waiting (a cancel); false if it is
  // not (it holds the turn, or it is no receive in a line).
  bool Withdraw(Op* op);

 private:
  struct Line {
    Op* holder = nullptr;  // the receive in the kernel
    Op* first = nullptr;   // the waiting ones, linked by next_waiting
    Op* last = nullptr;
  };
  Line* LineOf(const Op* op, bool grow);
  std::vector<Line> lines_;
};

}  // namespace overlapped
