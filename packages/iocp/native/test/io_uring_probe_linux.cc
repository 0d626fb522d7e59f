// io_uring-only test (Linux): the probe must survive and explain every way
// a process can be denied io_uring. Each scenario runs in a child process
// that installs a seccomp filter (or a memlock limit) first; the child must
// exit normally with the expected BackendError, never be killed.
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>

#include "../common/backend.h"
#include "../linux/probe.h"
#include "../linux/ring.h"

namespace {

using overlapped::Backend;
using overlapped::BackendConfig;
using overlapped::BackendError;
using overlapped::CompletionSink;
using overlapped::Posted;

struct Scenario {
  const char* label;
  long syscall_number;    // -1: no seccomp filter
  uint32_t action;        // seccomp action for that system call
  long memlock_bytes;     // -1: leave RLIMIT_MEMLOCK alone
  bool expect_usable;
  const char* expect_code;
  const char* expect_in_message;
  bool try_start;         // Start must fail the same way (errno actions only)
};

const Scenario kScenarios[] = {
    {"setup returns EPERM", __NR_io_uring_setup,
     SECCOMP_RET_ERRNO | EPERM, -1, false, "EPERM", "seccomp", true},
    {"setup returns ENOSYS", __NR_io_uring_setup,
     SECCOMP_RET_ERRNO | ENOSYS, -1, false, "ENOSYS", "seccomp", true},
    {"setup returns ENOMEM", __NR_io_uring_setup,
     SECCOMP_RET_ERRNO | ENOMEM, -1, false, "ENOMEM", "RLIMIT_MEMLOCK", true},
    {"setup kills the process", __NR_io_uring_setup,
     SECCOMP_RET_KILL_PROCESS, -1, false, "EPERM", "killed", false},
    {"setup raises SIGSYS", __NR_io_uring_setup, SECCOMP_RET_TRAP, -1, false,
     "EPERM", "killed", false},
    {"enter kills the process", __NR_io_uring_enter,
     SECCOMP_RET_KILL_PROCESS, -1, false, "EPERM", "killed", false},
    {"enter returns ENOSYS", __NR_io_uring_enter,
     SECCOMP_RET_ERRNO | ENOSYS, -1, false, "ENOSYS", "io_uring_enter", true},
    {"register returns EPERM", __NR_io_uring_register,
     SECCOMP_RET_ERRNO | EPERM, -1, false, "EPERM", "io_uring_register", true},
    {"unrelated filter", __NR_mknod, SECCOMP_RET_ERRNO | EPERM, -1, true, "",
     "", false},
    // Kernels since 5.12 no longer charge rings to RLIMIT_MEMLOCK, so a zero
    // limit must not matter here; older kernels fail with ENOMEM instead.
    {"RLIMIT_MEMLOCK of 0", -1, 0, 0, true, "", "", false},
};

bool InstallFilter(long syscall_number, uint32_t action) {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
               static_cast<uint32_t>(syscall_number), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, action),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]),
                     filter};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

class NullSink final : public CompletionSink {
 public:
  void Deliver(const Posted*, size_t) override {}
  void EnterRun() override {}
  void LeaveRun() override {}
  void CompleteOp(overlapped::Op*) override {}
  void CompleteOpMore(overlapped::Op*) override {}
};

// Runs in the child; returns its exit status.
int RunScenario(const Scenario& scenario) {
  if (scenario.memlock_bytes >= 0) {
    rlimit limit{static_cast<rlim_t>(scenario.memlock_bytes),
                 static_cast<rlim_t>(scenario.memlock_bytes)};
    if (setrlimit(RLIMIT_MEMLOCK, &limit) != 0) {
      std::printf("  cannot set RLIMIT_MEMLOCK\n");
      return 2;
    }
  }
  if (scenario.syscall_number >= 0 &&
      !InstallFilter(scenario.syscall_number, scenario.action)) {
    std::printf("  cannot install the seccomp filter\n");
    return 2;
  }
  BackendError why;
  const bool usable = overlapped::ProbeBackend("io_uring", &why);
  std::printf("  probe: %s%s%s%s\n", usable ? "usable" : "unusable: ",
              why.code.c_str(), usable ? "" : ": ", why.message.c_str());
  bool ok = usable == scenario.expect_usable;
  if (!usable) {
    ok = ok && why.code == scenario.expect_code && why.errnum != 0 &&
         why.message.find(scenario.expect_in_message) != std::string::npos;
  }
  BackendError threadpool_why;
  ok = ok && overlapped::ProbeBackend("threadpool", &threadpool_why);
  if (scenario.try_start || usable) {
    std::unique_ptr<Backend> backend(overlapped::CreateBackend("io_uring"));
    NullSink sink;
    BackendError start_error;
    const bool started =
        backend->Start(BackendConfig{2, 1}, &sink, &start_error);
    if (started) backend->Stop();
    std::printf("  start: %s %s\n", started ? "ok" : start_error.code.c_str(),
                start_error.message.c_str());
    ok = ok && started == usable &&
         (usable || start_error.code == scenario.expect_code);
  }
  std::fflush(stdout);
  return ok ? 0 : 1;
}

}  // namespace

// A setup flag newer than the kernel must be dropped, not fail the ring;
// bit 31 stands in for it, since no kernel defines it.
bool UnknownOptionalFlagIsDropped() {
  overlapped::uring::Ring ring;
  const unsigned future_flag = 1u << 31;
  const int result = ring.Setup(8, 0, future_flag | IORING_SETUP_SUBMIT_ALL);
  const bool ok = result == 0 && (ring.setup_flags() & future_flag) == 0;
  std::printf("setup with an unknown optional flag: %s (result %d, flags "
              "0x%x)\n",
              ok ? "dropped" : "FAIL", result, ring.setup_flags());
  return ok;
}

// Multishot accept is chosen by the kernel release: 5.19 and later have
// IORING_ACCEPT_MULTISHOT. Releases as distributions spell them.
bool MultishotAcceptReleasesAreRead() {
  using overlapped::uring::ReleaseAtLeast;
  struct Case {
    const char* release;
    bool expected;
  };
  const Case cases[] = {
      {"5.19.0", true},          {"5.18.19-generic", false}, {"6.1.0-18-amd64", true},
      {"6.18.0", true},          {"4.19.0", false},          {"5.4.0-150-generic", false},
      {"10.0", true},            {"", false},                {"linux", false},
      {"5.19", true},
  };
  bool ok = true;
  for (const Case& test : cases) {
    if (ReleaseAtLeast(test.release, 5, 19) != test.expected) {
      std::printf("  FAIL: release \"%s\" read as %s 5.19\n", test.release,
                  test.expected ? "before" : "at least");
      ok = false;
    }
  }
  std::printf("kernel releases for multishot accept: %s (this kernel: %s)\n",
              ok ? "read right" : "FAIL",
              overlapped::uring::KernelHasMultishotAccept() ? "multishot" : "single-shot");
  return ok;
}

int main() {
  int failures = UnknownOptionalFlagIsDropped() ? 0 : 1;
  if (!MultishotAcceptReleasesAreRead()) ++failures;
  for (const Scenario& scenario : kScenarios) {
    std::printf("%s\n", scenario.label);
    std::fflush(stdout);
    const pid_t child = fork();
    if (child == 0) _exit(RunScenario(scenario));
    int status = 0;
    waitpid(child, &status, 0);
    const bool passed = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!passed) {
      ++failures;
      if (WIFSIGNALED(status)) {
        std::printf("  FAIL: the process was killed by signal %d\n",
                    WTERMSIG(status));
      } else {
        std::printf("  FAIL\n");
      }
    }
  }
  std::printf("io_uring probe: %d of %zu scenarios failed\n", failures,
              sizeof kScenarios / sizeof kScenarios[0]);
  return failures == 0 ? 0 : 1;
}
