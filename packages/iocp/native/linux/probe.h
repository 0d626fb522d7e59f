// Whether io_uring can serve this process, and why not when it cannot.
#pragma once

#include "../common/backend.h"
#include "ring.h"

namespace overlapped {
namespace uring {

// Creates the ring one io_uring worker uses. The probe builds the very same
// ring, so a successful probe predicts a successful Start. Returns 0 or
// -errno.
int SetUpWorkerRing(Ring* ring);

// Fills *why with the errno name and an actionable sentence for a failed
// io_uring_setup or ring mmap (`errnum` positive), naming the sysctl,
// seccomp or memlock cause when one applies.
void ExplainRingSetupFailure(int errnum, BackendError* why);

// Checks that a ring created by SetUpWorkerRing offers the IORING_FEAT_*
// features and the opcodes (IORING_REGISTER_PROBE) the backend relies on,
// and that a NOP submitted to it completes (which also proves that
// io_uring_enter is allowed). Leaves the ring empty.
bool CheckWorkerRing(Ring* ring, BackendError* why);

// Checks, without risking a crash or a hang, that a worker ring can be
// created here and offers the features and opcodes the backend relies on,
// and that a NOP completes. On failure fills *why and returns false.
bool ProbeIoUring(BackendError* why);

}  // namespace uring
}  // namespace overlapped
