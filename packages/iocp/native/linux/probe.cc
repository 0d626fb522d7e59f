#include "probe.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../posix/errno_name.h"

namespace overlapped {
namespace uring {

namespace {

// Each worker's ring carries doorbell NOPs today and, later, the file and
// socket operations its worker submits; 64 entries keep the locked memory of
// a ring near three pages, which matters on kernels before 5.12 where it
// counts against RLIMIT_MEMLOCK.
constexpr unsigned kWorkerRingEntries = 64;

// SUBMIT_ALL (5.18) keeps submitting a batch past an SQE that fails early.
// Deliberately absent: SINGLE_ISSUER (and DEFER_TASKRUN, which needs it),
// because any thread may submit to a worker's ring; and COOP_TASKRUN, because
// task work for an operation a non-worker thread submitted would then wait
// until that thread next enters the kernel.
constexpr unsigned kRequiredSetupFlags = 0;
constexpr unsigned kOptionalSetupFlags = IORING_SETUP_SUBMIT_ALL;

struct RequiredFeature {
  uint32_t bit;
  const char* name;
  const char* since;
};

// NODROP: a full CQ overflows into a kernel list instead of losing CQEs.
// SUBMIT_STABLE: the kernel copies what an SQE points to at submission, so
// submitters need not keep it alive afterwards.
constexpr RequiredFeature kRequiredFeatures[] = {
    {IORING_FEAT_NODROP, "IORING_FEAT_NODROP", "5.5"},
    {IORING_FEAT_SUBMIT_STABLE, "IORING_FEAT_SUBMIT_STABLE", "5.5"},
};

struct RequiredOpcode {
  uint8_t opcode;
  const char* name;
  const char* since;
};

// The opcodes the backend's doorbell and its file and socket operations
// use. A kernel that lacks one is served by the threadpool backend rather
// than failing operation by operation.
constexpr RequiredOpcode kRequiredOpcodes[] = {
    {IORING_OP_NOP, "NOP", "5.1"},
    {IORING_OP_READ, "READ", "5.6"},
    {IORING_OP_WRITE, "WRITE", "5.6"},
    {IORING_OP_FSYNC, "FSYNC", "5.1"},
    {IORING_OP_FALLOCATE, "FALLOCATE", "5.6"},
    {IORING_OP_CLOSE, "CLOSE", "5.6"},
    {IORING_OP_ACCEPT, "ACCEPT", "5.5"},
    {IORING_OP_CONNECT, "CONNECT", "5.5"},
    {IORING_OP_SEND, "SEND", "5.6"},
    {IORING_OP_RECV, "RECV", "5.6"},
    {IORING_OP_SHUTDOWN, "SHUTDOWN", "5.11"},
    {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL", "5.5"},
};

constexpr const char kUseThreadpool[] =
    " The threadpool backend works without io_uring.";

void Fill(BackendError* why, int errnum, std::string message) {
  if (why == nullptr) return;
  why->code = ErrnoName(errnum);
  why->errnum = errnum;
  why->message = std::move(message);
}

// Reads the first integer of a /proc file; -1 if it is absent or unreadable.
long ReadProcInteger(const char* path) {
  std::FILE* file = std::fopen(path, "re");
  if (file == nullptr) return -1;
  long value = -1;
  if (std::fscanf(file, "%ld", &value) != 1) value = -1;
  std::fclose(file);
  return value;
}

// kernel.io_uring_disabled (Linux 6.6+): 0 allows io_uring, 1 allows it to
// privileged processes and the kernel.io_uring_group, 2 forbids it.
long IoUringDisabledSysctl() {
  return ReadProcInteger("/proc/sys/kernel/io_uring_disabled");
}

// The Seccomp line of /proc/self/status: 0 none, 1 strict, 2 filter.
int SeccompMode() {
  std::FILE* file = std::fopen("/proc/self/status", "re");
  if (file == nullptr) return -1;
  int mode = -1;
  char line[256];
  while (std::fgets(line, sizeof line, file) != nullptr) {
    if (std::strncmp(line, "Seccomp:", 8) == 0) {
      mode = std::atoi(line + 8);
      break;
    }
  }
  std::fclose(file);
  return mode;
}

std::string MemlockLimitText() {
  rlimit limit{};
  if (getrlimit(RLIMIT_MEMLOCK, &limit) != 0) return "unknown";
  if (limit.rlim_cur == RLIM_INFINITY) return "unlimited";
  return std::to_string(limit.rlim_cur / 1024) + " KiB";
}

// A seccomp filter may kill the process (SECCOMP_RET_KILL_*) or raise
// SIGSYS (SECCOMP_RET_TRAP) instead of returning an error, so while one is
// installed the three io_uring system calls are first tried in a child
// process. The child inherits the filter, calls only async-signal-safe
// functions (fork may come from a multi-threaded process) and ignores the
// calls' errors: the probe repeats them in-process to explain those. Returns
// false with *why filled if the child could not be run; *fatal_signal is the
// signal that killed it, or 0.
bool TrySyscallsInChild(int* fatal_signal, BackendError* why) {
  *fatal_signal = 0;
  const pid_t child = fork();
  if (child < 0) {
    const int errnum = errno;
    Fill(why, errnum,
         std::string("could not fork to probe io_uring safely under this "
                     "process's seccomp filter: ") +
             std::strerror(errnum) + "." + kUseThreadpool);
    return false;
  }
  if (child == 0) {
    io_uring_params params;
    std::memset(&params, 0, sizeof params);
    const int ring_fd = SysSetup(kWorkerRingEntries, &params);
    // Filters see the system call number whatever the arguments, so an
    // invalid descriptor still exercises the rule for each call.
    SysEnter(ring_fd, 0, 0, IORING_ENTER_GETEVENTS);
    alignas(io_uring_probe) unsigned char
        probe[sizeof(io_uring_probe) + 256 * sizeof(io_uring_probe_op)];
    std::memset(probe, 0, sizeof probe);
    SysRegister(ring_fd, IORING_REGISTER_PROBE, probe, 256);
    _exit(0);
  }
  int status = 0;
  pid_t waited;
  do {
    waited = waitpid(child, &status, 0);
  } while (waited < 0 && errno == EINTR);
  if (waited < 0) {
    // SIGCHLD set to SIG_IGN reaps children before we can; then the
    // outcome is unknown, and unknown is not safe.
    const int errnum = errno;
    Fill(why, errnum,
         std::string("could not learn whether this process's seccomp "
                     "filter allows io_uring (waitpid: ") +
             std::strerror(errnum) + ")." + kUseThreadpool);
    return false;
  }
  if (WIFSIGNALED(status)) *fatal_signal = WTERMSIG(status);
  return true;
}

// Waits up to about a second for one CQE without blocking in the kernel, so
// that an io_uring that accepts SQEs but never completes them cannot hang
// the probe.
bool AwaitOneCompletion(Ring* ring, io_uring_cqe* out) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    bool found = false;
    ring->ReapCompletions([&](const io_uring_cqe& cqe) {
      if (!found) *out = cqe;
      found = true;
    });
    if (found) return true;
    SysEnter(ring->fd(), 0, 0, IORING_ENTER_GETEVENTS);
    timespec pause{0, 1000000};
    nanosleep(&pause, nullptr);
  }
  return false;
}

bool CheckFeatures(const Ring& ring, BackendError* why) {
  for (const RequiredFeature& feature : kRequiredFeatures) {
    if ((ring.features() & feature.bit) == 0) {
      Fill(why, ENOTSUP,
           std::string("this kernel's io_uring lacks ") + feature.name +
               " (Linux " + feature.since + "+), which the io_uring "
               "backend relies on." + kUseThreadpool);
      return false;
    }
  }
  return true;
}

bool CheckOpcodes(Ring* ring, BackendError* why) {
  const size_t op_slots = 256;
  std::vector<unsigned char> storage(sizeof(io_uring_probe) +
                                     op_slots * sizeof(io_uring_probe_op));
  auto* probe = reinterpret_cast<io_uring_probe*>(storage.data());
  const int result =
      SysRegister(ring->fd(), IORING_REGISTER_PROBE, probe, op_slots);
  if (result < 0) {
    const int errnum = -result;
    std::string message =
        errnum == EINVAL
            ? "this kernel's io_uring cannot list its opcodes "
              "(IORING_REGISTER_PROBE needs Linux 5.6+)."
            : std::string("io_uring_register(IORING_REGISTER_PROBE) "
                          "failed: ") +
                  std::strerror(errnum) +
                  (errnum == EPERM || errnum == ENOSYS
                       ? " (a seccomp filter may block io_uring_register)."
                       : ".");
    Fill(why, errnum == EINVAL ? ENOTSUP : errnum, message + kUseThreadpool);
    return false;
  }
  std::string missing;
  for (const RequiredOpcode& required : kRequiredOpcodes) {
    const bool supported =
        required.opcode <= probe->last_op &&
        (probe->ops[required.opcode].flags & IO_URING_OP_SUPPORTED) != 0;
    if (!supported) {
      if (!missing.empty()) missing += ", ";
      missing += std::string("IORING_OP_") + required.name + " (Linux " +
                 required.since + "+)";
    }
  }
  if (!missing.empty()) {
    Fill(why, ENOTSUP,
         "this kernel's io_uring lacks opcodes the io_uring backend uses: " +
             missing + "." + kUseThreadpool);
    return false;
  }
  return true;
}

bool CheckNopRoundTrip(Ring* ring, BackendError* why) {
  constexpr uint64_t kProbeUserData = 0x70726f6265ull;  // "probe"
  io_uring_sqe* sqe = ring->GetSqe();
  if (sqe == nullptr) {
    Fill(why, EBUSY, "a fresh io_uring ring had no free SQE.");
    return false;
  }
  Ring::PrepareNop(sqe, kProbeUserData);
  int submitted;
  do {
    submitted = ring->Submit();
  } while (submitted == -EINTR);
  if (submitted < 0) {
    const int errnum = -submitted;
    Fill(why, errnum,
         std::string("io_uring_enter failed to submit a NOP: ") +
             std::strerror(errnum) +
             (errnum == EPERM || errnum == ENOSYS
                  ? " (a seccomp filter may block io_uring_enter)."
                  : ".") +
             kUseThreadpool);
    return false;
  }
  io_uring_cqe cqe{};
  if (!AwaitOneCompletion(ring, &cqe)) {
    Fill(why, ETIMEDOUT,
         std::string("an io_uring NOP did not complete within a second; "
                     "this kernel's io_uring (or an emulation of it) does "
                     "not work as expected.") +
             kUseThreadpool);
    return false;
  }
  if (cqe.user_data != kProbeUserData || cqe.res != 0) {
    const int errnum = cqe.res < 0 ? -cqe.res : EIO;
    Fill(why, errnum,
         std::string("an io_uring NOP completed wrongly (result ") +
             std::to_string(cqe.res) + ")." + kUseThreadpool);
    return false;
  }
  return true;
}

}  // namespace

int SetUpWorkerRing(Ring* ring) {
  return ring->Setup(kWorkerRingEntries, kRequiredSetupFlags,
                     kOptionalSetupFlags);
}

int SetUpSingleIssuerRing(Ring* ring) {
  const unsigned single = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_R_DISABLED;
  const int deferred = ring->Setup(kWorkerRingEntries, single | IORING_SETUP_DEFER_TASKRUN, kOptionalSetupFlags);
  if (deferred != -EINVAL) return deferred;
  return ring->Setup(kWorkerRingEntries, single, kOptionalSetupFlags);
}

bool CheckWorkerRing(Ring* ring, BackendError* why) {
  return CheckFeatures(*ring, why) && CheckOpcodes(ring, why) &&
         CheckNopRoundTrip(ring, why);
}

void ExplainRingSetupFailure(int errnum, BackendError* why) {
  const long disabled = IoUringDisabledSysctl();
  const bool seccomp_filter = SeccompMode() == 2;
  std::string message;
  switch (errnum) {
    case EPERM:
      if (disabled == 2) {
        message = "io_uring is disabled on this system (sysctl "
                  "kernel.io_uring_disabled=2); set it to 0 to use it.";
      } else if (disabled == 1) {
        message = "io_uring is restricted to privileged processes on this "
                  "system (sysctl kernel.io_uring_disabled=1); add the user "
                  "to the group named by kernel.io_uring_group, or set the "
                  "sysctl to 0.";
      } else if (seccomp_filter) {
        message = "io_uring_setup was refused (EPERM) by this process's "
                  "seccomp filter; container runtimes commonly block "
                  "io_uring: allow io_uring_setup, io_uring_enter and "
                  "io_uring_register in the seccomp profile.";
      } else {
        message = "io_uring_setup was refused (EPERM), most likely by a "
                  "security policy (seccomp, SELinux or another LSM).";
      }
      break;
    case ENOSYS:
      message = seccomp_filter
                    ? "io_uring_setup is blocked (ENOSYS) by this process's "
                      "seccomp filter; container runtimes commonly block "
                      "io_uring: allow io_uring_setup, io_uring_enter and "
                      "io_uring_register in the seccomp profile."
                    : "this kernel has no io_uring (ENOSYS): it needs Linux "
                      "5.1+ built with CONFIG_IO_URING.";
      break;
    case ENOMEM:
      message = "io_uring_setup could not allocate or lock the ring's memory "
                "(ENOMEM). Kernels before 5.12 charge rings to "
                "RLIMIT_MEMLOCK, which is " +
                MemlockLimitText() +
                " here: raise it (ulimit -l, LimitMEMLOCK= for a systemd "
                "service, --ulimit memlock= for a container) or use Linux "
                "5.12+.";
      break;
    case EMFILE:
    case ENFILE:
      message = "io_uring_setup needs a file descriptor and none is left (" +
                std::string(ErrnoName(errnum)) +
                "); raise the limit (ulimit -n) or close descriptors.";
      break;
    case EINVAL:
      message = "io_uring_setup rejected the ring parameters (EINVAL); this "
                "kernel's io_uring is older than the backend supports.";
      break;
    default:
      message = std::string("io_uring_setup failed: ") +
                std::strerror(errnum) + ".";
      break;
  }
  Fill(why, errnum, message + kUseThreadpool);
}

bool ReleaseAtLeast(const char* release, int major, int minor) {
  int found_major = 0;
  int found_minor = 0;
  if (std::sscanf(release, "%d.%d", &found_major, &found_minor) != 2) return false;
  return found_major > major || (found_major == major && found_minor >= minor);
}

bool KernelHasMultishotAccept() {
  // IORING_REGISTER_PROBE lists opcodes, not their flags, so the release
  // is what tells. A distribution kernel that backported the flag to an
  // older release only loses the optimization.
  static const bool supported = [] {
    utsname name{};
    return uname(&name) == 0 && ReleaseAtLeast(name.release, 5, 19);
  }();
  return supported;
}

bool KernelHasRecvPollFirst() {
  // Same release as multishot accept, and the same reason to read it.
  return KernelHasMultishotAccept();
}

bool KernelHasMultishotRecv() {
  // As for multishot accept, only the release tells (6.0 added the flag).
  static const bool supported = [] {
    utsname name{};
    return uname(&name) == 0 && ReleaseAtLeast(name.release, 6, 0);
  }();
  return supported;
}

bool ProbeIoUring(BackendError* why) {
  // With the sysctl at 2 every io_uring_setup fails, so say why at once.
  if (IoUringDisabledSysctl() == 2) {
    ExplainRingSetupFailure(EPERM, why);
    return false;
  }
  if (SeccompMode() == 2) {
    int fatal_signal = 0;
    if (!TrySyscallsInChild(&fatal_signal, why)) return false;
    if (fatal_signal != 0) {
      Fill(why, EPERM,
           "an io_uring system call killed a probe process (signal " +
               std::to_string(fatal_signal) + ", " +
               strsignal(fatal_signal) +
               "): this process's seccomp filter forbids io_uring; allow "
               "io_uring_setup, io_uring_enter and io_uring_register in "
               "the seccomp profile." +
               kUseThreadpool);
      return false;
    }
  }
  Ring ring;
  const int setup = SetUpWorkerRing(&ring);
  if (setup < 0) {
    ExplainRingSetupFailure(-setup, why);
    return false;
  }
  return CheckWorkerRing(&ring, why);
}

}  // namespace uring
}  // namespace overlapped
