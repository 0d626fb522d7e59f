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
// Sets up a worker ring that only its worker thread enters (see
// io_uring_backend.h, Worker::single_issuer): SINGLE_ISSUER and, where the
// kernel has it (6.1), DEFER_TASKRUN, created disabled so that the worker
// becomes its submitter by enabling it (IORING_REGISTER_ENABLE_RINGS).
// Returns -errno where the kernel takes neither; the caller then uses
// SetUpWorkerRing.
int SetUpSingleIssuerRing(Ring* ring);

// Fills *why with the errno name and an actionable sentence for a failed
// io_uring_setup or ring mmap (`errnum` positive), naming the sysctl,
// seccomp or memlock cause when one applies.
void ExplainRingSetupFailure(int errnum, BackendError* why);

// Checks that a ring created by SetUpWorkerRing offers the IORING_FEAT_*
// features and the opcodes (IORING_REGISTER_PROBE) the backend relies on,
// and that a NOP submitted to it completes (which also proves that
// io_uring_enter is allowed). Leaves the ring empty.
bool CheckWorkerRing(Ring* ring, BackendError* why);

// Whether the kernel's IORING_OP_ACCEPT takes IORING_ACCEPT_MULTISHOT
// (Linux 5.19+): one SQE that posts a CQE per accepted connection. Read
// from the kernel release once; an older kernel rejects the flag with
// EINVAL, so the backend then keeps single-shot accepts posted instead.
bool KernelHasMultishotAccept();
// Whether IORING_OP_RECV takes IORING_RECVSEND_POLL_FIRST (Linux 5.19+, as
// multishot accept): an older kernel rejects a recv with it with EINVAL.
bool KernelHasRecvPollFirst();
// Whether IORING_OP_RECV takes IORING_RECV_MULTISHOT with a ring of
// provided buffers (IORING_REGISTER_PBUF_RING): Linux 6.0+.
bool KernelHasMultishotRecv();

// Whether a kernel release string ("6.18.0-1-amd64") names major.minor or
// later; false if it does not start with a version.
bool ReleaseAtLeast(const char* release, int major, int minor);

// Checks, without risking a crash or a hang, that a worker ring can be
// created here and offers the features and opcodes the backend relies on,
// and that a NOP completes. On failure fills *why and returns false.
bool ProbeIoUring(BackendError* why);

}  // namespace uring
}  // namespace overlapped
