// Stress test for every native backend this build contains, without Node:
// native poster threads and the main thread post completions while the
// backend runs with threads=4 and concurrency=2; a checking sink verifies
// that each completion arrives exactly once and intact, that each Deliver
// keeps a poster's items in order, that Deliver only runs inside
// EnterRun/LeaveRun, and that no more than `concurrency` workers run at
// once. Exits non-zero on any failure.
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <unordered_map>
#include <cerrno>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../common/backend.h"

namespace {

using overlapped::Backend;
using overlapped::BackendConfig;
using overlapped::BackendError;
using overlapped::CompletionRecord;
using overlapped::CompletionSink;
using overlapped::Op;
using overlapped::OpKind;
using overlapped::Posted;

constexpr unsigned kThreads = 4;
constexpr unsigned kConcurrency = 2;
constexpr unsigned kNativePosters = 4;       // poster ids 1..4
constexpr uint64_t kNativeTotal = 1000000;   // over all native posters
constexpr uint64_t kMainThreadItems = 100000;  // poster 0
constexpr uint32_t kPosterCount = kNativePosters + 1;

// Every field is derived from (poster, seq), so the sink can tell a
// corrupted or misrouted record from a good one.
Posted MakePosted(uint32_t poster, uint64_t seq) {
  Posted posted;
  posted.record.key = poster + 1;
  posted.record.bytes = static_cast<double>(seq % 65536);
  posted.record.token = static_cast<double>(seq + 1);
  posted.record.status = -static_cast<double>(seq % 5);
  posted.poster = poster;
  posted.seq = seq;
  return posted;
}

bool RecordMatches(const Posted& posted) {
  const Posted expected = MakePosted(posted.poster, posted.seq);
  return posted.record.key == expected.record.key &&
         posted.record.bytes == expected.record.bytes &&
         posted.record.token == expected.record.token &&
         posted.record.status == expected.record.status;
}

thread_local bool tls_inside_run = false;

class CheckingSink final : public CompletionSink {
 public:
  CheckingSink(unsigned concurrency, std::vector<uint64_t> expected)
      : concurrency_(concurrency), expected_(std::move(expected)) {
    for (uint64_t count : expected_) seen_.emplace_back(count, 0);
  }

  void EnterRun() override {
    std::unique_lock<std::mutex> lock(gate_mutex_);
    gate_open_.wait(lock, [this] { return running_ < concurrency_; });
    ++running_;
    peak_running_ = std::max(peak_running_, running_);
    tls_inside_run = true;
  }

  void LeaveRun() override {
    tls_inside_run = false;
    {
      std::lock_guard<std::mutex> lock(gate_mutex_);
      --running_;
    }
    gate_open_.notify_one();
  }

  void CompleteOp(Op*) override {
    std::lock_guard<std::mutex> lock(check_mutex_);
    ++corrupt_;  // this test submits no ops
  }
  void CompleteOpMore(Op*) override {
    std::lock_guard<std::mutex> lock(check_mutex_);
    ++corrupt_;
  }

  void Deliver(const Posted* posted, size_t count) override {
    std::lock_guard<std::mutex> lock(check_mutex_);
    ++deliver_calls_;
    if (!tls_inside_run) ++outside_run_;
    // Within one Deliver, a poster's items must keep their posted order.
    int64_t last_seq[kPosterCount];
    std::fill(last_seq, last_seq + kPosterCount, -1);
    for (size_t index = 0; index < count; ++index) {
      const Posted& item = posted[index];
      if (item.poster >= kPosterCount || item.seq >= expected_[item.poster] ||
          !RecordMatches(item)) {
        ++corrupt_;
        continue;
      }
      uint8_t& seen = seen_[item.poster][item.seq];
      if (seen != 0) {
        ++duplicates_;
      } else {
        seen = 1;
        ++delivered_;
      }
      if (static_cast<int64_t>(item.seq) <= last_seq[item.poster]) {
        ++order_errors_;
      }
      last_seq[item.poster] = static_cast<int64_t>(item.seq);
    }
  }

  // Returns an empty string when every check passed.
  std::string Verdict() {
    std::lock_guard<std::mutex> lock(check_mutex_);
    uint64_t missing = 0;
    for (const std::vector<uint8_t>& seen : seen_) {
      missing += static_cast<uint64_t>(std::count(seen.begin(), seen.end(), 0));
    }
    std::string failures;
    auto fail = [&](const char* what, uint64_t count) {
      if (count != 0) failures += " " + std::to_string(count) + " " + what + ";";
    };
    fail("missing", missing);
    fail("duplicated", duplicates_);
    fail("corrupt", corrupt_);
    fail("out of order within a Deliver", order_errors_);
    fail("Deliver calls outside EnterRun/LeaveRun", outside_run_);
    if (peak_running_ > concurrency_) {
      failures += " peak running " + std::to_string(peak_running_) + " > " +
                  std::to_string(concurrency_) + ";";
    }
    return failures;
  }

  uint64_t delivered() {
    std::lock_guard<std::mutex> lock(check_mutex_);
    return delivered_;
  }
  uint64_t deliver_calls() {
    std::lock_guard<std::mutex> lock(check_mutex_);
    return deliver_calls_;
  }
  unsigned peak_running() {
    std::lock_guard<std::mutex> lock(gate_mutex_);
    return peak_running_;
  }

 private:
  const unsigned concurrency_;
  std::mutex gate_mutex_;
  std::condition_variable gate_open_;
  unsigned running_ = 0;
  unsigned peak_running_ = 0;

  std::mutex check_mutex_;
  const std::vector<uint64_t> expected_;
  std::vector<std::vector<uint8_t>> seen_;
  uint64_t delivered_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t corrupt_ = 0;
  uint64_t order_errors_ = 0;
  uint64_t outside_run_ = 0;
  uint64_t deliver_calls_ = 0;
};

// How posters slice their items into Post calls.
struct PostPattern {
  const char* label;
  std::vector<size_t> batch_sizes;  // cycled through
  uint64_t native_total;            // over all native posters
  uint64_t main_thread_items;       // poster 0
};

// Mixed batches exercise bulk appends; single items make nearly every Post
// race a worker's drain, which is where doorbell bookkeeping could slip.
const PostPattern kPatterns[] = {
    {"mixed batches", {1, 7, 64, 3, 200, 1, 1, 32, 500}, kNativeTotal,
     kMainThreadItems},
    {"single items", {1}, kNativeTotal / 4, kMainThreadItems / 4},
};

// Posts `total` items as `poster`, cycling through `batch_sizes`.
void PostAll(Backend* backend, uint32_t poster, uint64_t total,
             const std::vector<size_t>* batch_sizes) {
  std::vector<Posted> batch;
  uint64_t seq = 0;
  for (size_t round = 0; seq < total; ++round) {
    const size_t size = std::min<uint64_t>(
        (*batch_sizes)[round % batch_sizes->size()], total - seq);
    batch.clear();
    for (size_t index = 0; index < size; ++index) {
      batch.push_back(MakePosted(poster, seq++));
    }
    backend->Post(batch.data(), batch.size());
  }
}

bool Expect(bool condition, const std::string& backend, const std::string& what) {
  if (!condition) std::printf("%-10s FAIL: %s\n", backend.c_str(), what.c_str());
  return condition;
}

// The main run: four native posters and the main thread at once.
bool RunStress(const std::string& name, const PostPattern& pattern) {
  std::unique_ptr<Backend> backend(overlapped::CreateBackend(name));
  if (!Expect(backend != nullptr, name, "CreateBackend returned nullptr")) {
    return false;
  }
  std::vector<uint64_t> expected(kPosterCount,
                                 pattern.native_total / kNativePosters);
  expected[0] = pattern.main_thread_items;
  CheckingSink sink(kConcurrency, expected);
  BackendError error;
  if (!Expect(backend->Start(BackendConfig{kThreads, kConcurrency}, &sink,
                             &error),
              name, "Start: " + error.code + ": " + error.message)) {
    return false;
  }
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> posters;
  for (uint32_t poster = 1; poster <= kNativePosters; ++poster) {
    posters.emplace_back(PostAll, backend.get(), poster, expected[poster],
                         &pattern.batch_sizes);
  }
  PostAll(backend.get(), 0, expected[0], &pattern.batch_sizes);
  for (std::thread& poster : posters) poster.join();
  backend->Stop();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  backend->Stop();  // Stop is idempotent.
  const std::string failures = sink.Verdict();
  uint64_t total = 0;
  for (uint64_t count : expected) total += count;
  if (!Expect(failures.empty(), name, failures)) return false;
  std::printf(
      "%-10s ok (%s): %llu completions exactly once, peak running %u/%u, "
      "%llu Deliver calls, %.3f s, %.2f M completions/s\n",
      name.c_str(), pattern.label,
      static_cast<unsigned long long>(sink.delivered()),
      sink.peak_running(), kConcurrency,
      static_cast<unsigned long long>(sink.deliver_calls()), seconds,
      total / seconds / 1e6);
  return sink.delivered() == total;
}

// Edge cases: bad configs are refused, Stop delivers what is still queued,
// Stop without Start and a second Stop do nothing.
bool RunEdgeCases(const std::string& name) {
  bool ok = true;
  {
    std::unique_ptr<Backend> backend(overlapped::CreateBackend(name));
    CheckingSink sink(1, {1});
    BackendError error;
    ok &= Expect(!backend->Start(BackendConfig{0, 1}, &sink, &error) &&
                     error.code == "EINVAL" && error.errnum != 0,
                 name, "Start with threads=0 must fail with EINVAL");
    backend->Stop();
  }
  {
    std::unique_ptr<Backend> backend(overlapped::CreateBackend(name));
    backend->Stop();  // never started
  }
  {
    // Many small posts, then an immediate Stop: everything still queued
    // must be delivered before Stop returns.
    const uint64_t items = 20000;
    std::unique_ptr<Backend> backend(overlapped::CreateBackend(name));
    CheckingSink sink(1, {items});
    BackendError error;
    ok &= Expect(backend->Start(BackendConfig{2, 1}, &sink, &error), name,
                 "Start for the drain case: " + error.message);
    for (uint64_t seq = 0; seq < items; ++seq) {
      const Posted posted = MakePosted(0, seq);
      backend->Post(&posted, 1);
    }
    backend->Stop();
    const std::string failures = sink.Verdict();
    ok &= Expect(failures.empty(), name, "drain on Stop:" + failures);
    ok &= Expect(backend->Start(BackendConfig{1, 1}, &sink, &error) == false,
                 name, "Start after Stop must be refused");
  }
  return ok;
}

}  // namespace

// Counts op completions: each op must complete exactly once, with the
// result its kind and cancellation allow.
class OpSink final : public CompletionSink {
 public:
  void EnterRun() override {}
  void LeaveRun() override {}
  void Deliver(const Posted*, size_t) override {}
  void CompleteOp(Op* op) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (++completions_[op] != 1) ++duplicates_;
    done_.notify_all();
  }
  // No op here is multishot: a completion that says more follow is wrong.
  void CompleteOpMore(Op*) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++duplicates_;
  }
  bool WaitFor(size_t count, int seconds) {
    std::unique_lock<std::mutex> lock(mutex_);
    return done_.wait_for(lock, std::chrono::seconds(seconds),
                          [&] { return completions_.size() >= count; });
  }
  size_t completed() {
    std::lock_guard<std::mutex> lock(mutex_);
    return completions_.size();
  }
  bool Completed(Op* op) {
    std::lock_guard<std::mutex> lock(mutex_);
    return completions_.count(op) != 0;
  }
  uint64_t duplicates() {
    std::lock_guard<std::mutex> lock(mutex_);
    return duplicates_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::unordered_map<Op*, int> completions_;
  uint64_t duplicates_ = 0;
};

// Ops through the backend: NOPs (some cancelled right after submission), a
// kind no backend knows (ENOSYS), and Stop with ops in flight, which must
// complete every op before it returns.
bool RunOpChecks(const std::string& name) {
  bool ok = true;
  constexpr size_t kOps = 20000;
  std::vector<std::unique_ptr<Op>> ops;
  for (size_t i = 0; i < kOps; ++i) {
    auto op = std::make_unique<Op>();
    op->kind = i % 1000 == 999 ? static_cast<OpKind>(127) : OpKind::kNop;
    op->token = -static_cast<double>(i + 1);
    ops.push_back(std::move(op));
  }
  OpSink sink;
  std::unique_ptr<Backend> backend(overlapped::CreateBackend(name));
  BackendError why;
  if (!backend->Start(BackendConfig{4, 2}, &sink, &why)) {
    return Expect(false, name, "start for the op checks: " + why.message);
  }
  for (size_t i = 0; i < kOps / 2; ++i) {
    Op* op = ops[i].get();
    backend->Submit(&op, 1);
    if (i % 7 == 0 && !op->cancel_requested.exchange(true)) backend->Cancel(op);
  }
  ok &= Expect(sink.WaitFor(kOps / 2, 30), name, "every submitted op completes");
  // Stop right after a burst: what is in flight must still complete, once.
  for (size_t i = kOps / 2; i < kOps; ++i) {
    Op* op = ops[i].get();
    backend->Submit(&op, 1);
  }
  backend->Stop();
  ok &= Expect(sink.completed() == kOps, name,
               "Stop completes the ops in flight (" + std::to_string(sink.completed()) + " of " +
                   std::to_string(kOps) + ")");
  ok &= Expect(sink.duplicates() == 0, name, "no op completes twice");
  size_t nop_failures = 0;
  size_t unknown_ok = 0;
  for (size_t i = 0; i < kOps; ++i) {
    const Op& op = *ops[i];
    if (op.kind == OpKind::kNop) {
      // A NOP finishes with 0, or with ECANCELED if a cancel or Stop won.
      if (op.result != 0 && op.result != -ECANCELED && op.result >= 0) nop_failures++;
    } else if (op.result == -ENOSYS || op.result == -ECANCELED) {
      // ENOSYS, or ECANCELED where Stop cancelled it before it ran.
      unknown_ok++;
    }
  }
  ok &= Expect(nop_failures == 0, name, "NOPs finish with 0 or ECANCELED");
  ok &= Expect(unknown_ok == kOps / 1000, name, "an unknown kind fails with ENOSYS (or ECANCELED)");
  if (ok) std::printf("%-10s ok (ops): %zu ops completed exactly once\n", name.c_str(), kOps);
  return ok;
}

// File ops through the backend, in batches (one Submit call for many ops):
// open a temporary file, write blocks at positions past 4 GiB, read them
// back, stat, sync, allocate, truncate and close; every op completes once
// with the result its kind promises.
bool RunFileOpChecks(const std::string& name) {
  bool ok = true;
  char path[] = "/tmp/overlapped-stress-file-XXXXXX";
  const int scratch = mkstemp(path);
  if (scratch < 0) return Expect(false, name, "mkstemp for the file op checks");
  close(scratch);
  OpSink sink;
  std::unique_ptr<Backend> backend(overlapped::CreateBackend(name));
  BackendError why;
  if (!backend->Start(BackendConfig{2, 2}, &sink, &why)) {
    unlink(path);
    return Expect(false, name, "start for the file op checks: " + why.message);
  }
  size_t submitted = 0;
  // Every op of a multi-op Submit is marked as one batch, as
  // CompletionPort.submitOps does: the pool may then run and complete
  // several of them together.
  auto start = [&](std::vector<std::unique_ptr<Op>>& batch) {
    std::vector<Op*> raw;
    for (auto& op : batch) {
      op->token = -static_cast<double>(++submitted);
      if (batch.size() > 1) op->flags |= overlapped::op_flags::kBatch;
      raw.push_back(op.get());
    }
    backend->Submit(raw.data(), raw.size());
    return raw;
  };
  auto run = [&](std::vector<std::unique_ptr<Op>>& batch) {
    start(batch);
    return sink.WaitFor(submitted, 30);
  };
  auto make = [](OpKind kind, int64_t handle, int64_t offset, int64_t arg) {
    auto op = std::make_unique<Op>();
    op->kind = kind;
    op->handle = handle;
    op->offset = offset;
    op->arg = arg;
    return op;
  };
  namespace f = overlapped::file_open;
  std::vector<std::unique_ptr<Op>> open_batch;
  open_batch.push_back(make(OpKind::kFileOpen, -1, -1, f::kOpenExisting | f::kAccessRead | f::kAccessWrite));
  open_batch[0]->path = path;
  ok &= Expect(run(open_batch) && open_batch[0]->result >= 0, name, "open a temporary file");
  const int64_t fd = open_batch[0]->result;
  constexpr size_t kBlocks = 300;  // more than one SQ's worth in one Submit
  constexpr int64_t kBase = int64_t{5} << 30;
  std::vector<std::vector<uint8_t>> blocks(kBlocks, std::vector<uint8_t>(512));
  std::vector<std::vector<uint8_t>> backs(kBlocks, std::vector<uint8_t>(512));
  std::vector<std::unique_ptr<Op>> writes, reads;
  for (size_t i = 0; i < kBlocks && fd >= 0; ++i) {
    std::fill(blocks[i].begin(), blocks[i].end(), static_cast<uint8_t>(i * 13));
    writes.push_back(make(OpKind::kFileWrite, fd, kBase + static_cast<int64_t>(i) * 4096, 0));
    writes.back()->buffers.push_back({blocks[i].data(), blocks[i].size()});
    reads.push_back(make(OpKind::kFileRead, fd, kBase + static_cast<int64_t>(i) * 4096, 0));
    reads.back()->buffers.push_back({backs[i].data(), backs[i].size()});
  }
  if (fd >= 0) {
    ok &= Expect(run(writes), name, "a batch of writes completes");
    ok &= Expect(run(reads), name, "a batch of reads completes");
    size_t wrong = 0;
    for (size_t i = 0; i < kBlocks; ++i) {
      if (writes[i]->result != 512 || reads[i]->result != 512 || backs[i] != blocks[i]) ++wrong;
    }
    ok &= Expect(wrong == 0, name, "blocks past 4 GiB read back as written");
    // Copy the written range to a second file on a worker (a pool worker,
    // or an io_uring helper thread).
    std::string copy_path = std::string(path) + ".copy";
    std::vector<std::unique_ptr<Op>> second;
    second.push_back(make(OpKind::kFileOpen, -1, -1, f::kCreateAlways | f::kAccessRead | f::kAccessWrite));
    second[0]->path = copy_path;
    ok &= Expect(run(second) && second[0]->result >= 0, name, "open the copy's target");
    std::vector<uint8_t> bounce(8192);
    std::vector<std::unique_ptr<Op>> copy;
    copy.push_back(make(OpKind::kFileCopyRange, fd, kBase, second[0]->result));
    copy[0]->length = kBlocks * 4096;
    copy[0]->buffers.push_back({bounce.data(), bounce.size()});
    ok &= Expect(run(copy), name, "copy range completes");
    const int64_t expected_copy = (kBlocks - 1) * 4096 + 512;  // the source ends early
    ok &= Expect(copy[0]->result == expected_copy, name,
                 "copy range moves the range up to the source's end (" + std::to_string(copy[0]->result) + ")");
    std::vector<std::unique_ptr<Op>> second_close;
    second_close.push_back(make(OpKind::kFileClose, second[0]->result, -1, 0));
    ok &= Expect(run(second_close) && second_close[0]->result == 0, name, "close the copy");
    unlink(copy_path.c_str());
    // An op that blocks (opening a FIFO that has no writer yet) holds up at
    // most the batch it came in: a batch submitted after it completes while
    // it waits, and it completes once a writer comes.
    const std::string fifo = std::string(path) + ".fifo";
    // Ops stay allocated until the backend stops, so that no later op can
    // take an address the sink has already seen.
    std::vector<std::unique_ptr<Op>> stuck, later;
    if (mkfifo(fifo.c_str(), 0600) == 0) {
      stuck.push_back(make(OpKind::kFileOpen, -1, -1, f::kOpenExisting | f::kAccessRead));
      stuck[0]->path = fifo;
      stuck.push_back(make(OpKind::kFileRead, fd, kBase, 0));
      stuck[1]->buffers.push_back({backs[0].data(), backs[0].size()});
      const std::vector<Op*> stuck_raw = start(stuck);
      for (size_t i = 0; i < 8; ++i) {
        later.push_back(make(OpKind::kFileRead, fd, kBase + static_cast<int64_t>(i) * 4096, 0));
        later.back()->buffers.push_back({backs[i + 1].data(), backs[i + 1].size()});
      }
      const std::vector<Op*> later_raw = start(later);
      bool later_done = false;
      for (int tries = 0; tries < 3000 && !later_done; ++tries) {
        later_done = std::all_of(later_raw.begin(), later_raw.end(), [&](Op* op) { return sink.Completed(op); });
        if (!later_done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      ok &= Expect(later_done, name, "a batch completes while an earlier batch's op blocks");
      // io_uring's openat first tries without blocking, and a FIFO opens
      // for reading with no writer that way: only the pool really waits.
      if (name == "threadpool") {
        ok &= Expect(!sink.Completed(stuck_raw[0]), name, "the FIFO open waits for a writer");
      }
      const int writer = open(fifo.c_str(), O_WRONLY);  // meets the waiting reader
      ok &= Expect(writer >= 0 && sink.WaitFor(submitted, 30), name, "the blocked batch completes once a writer comes");
      if (writer >= 0) close(writer);
      if (stuck[0]->result >= 0) close(static_cast<int>(stuck[0]->result));
      ok &= Expect(stuck[0]->result >= 0 && stuck[1]->result == 512, name, "the blocked batch's ops succeed");
      unlink(fifo.c_str());
    } else {
      ok &= Expect(false, name, "mkfifo for the blocked batch check");
    }
    double fields[overlapped::kStatFieldCount] = {};
    std::vector<std::unique_ptr<Op>> meta;
    meta.push_back(make(OpKind::kFileDatasync, fd, -1, 0));
    meta.push_back(make(OpKind::kFileAllocate, fd, -1, 1 << 20));
    ok &= Expect(run(meta) && meta[0]->result == 0 && meta[1]->result == 0, name, "fdatasync and fallocate");
    std::vector<std::unique_ptr<Op>> trim;
    trim.push_back(make(OpKind::kFileTruncate, fd, -1, 4096));
    ok &= Expect(run(trim) && trim[0]->result == 0, name, "ftruncate");
    std::vector<std::unique_ptr<Op>> stat;
    stat.push_back(make(OpKind::kFileStat, fd, -1, 0));
    stat[0]->buffers.push_back({reinterpret_cast<uint8_t*>(fields), sizeof fields});
    ok &= Expect(run(stat) && stat[0]->result == 0 && fields[overlapped::kStatSize] == 4096, name,
                 "fstat sees the truncated size");
    std::vector<std::unique_ptr<Op>> closing;
    closing.push_back(make(OpKind::kFileClose, fd, -1, 0));
    ok &= Expect(run(closing) && closing[0]->result == 0, name, "close");
  }
  backend->Stop();
  ok &= Expect(sink.duplicates() == 0, name, "no file op completes twice");
  unlink(path);
  if (ok) std::printf("%-10s ok (file ops): %zu ops in batches\n", name.c_str(), submitted);
  return ok;
}

// The copy op on its own: stripes copied by several ops at once land byte
// for byte; a bad fd fails with EBADF; a cancel stops a running copy
// between two chunks with ECANCELED; Stop with copies running or queued
// completes each one exactly once before it returns.
bool RunCopyOpChecks(const std::string& name) {
  bool ok = true;
  char source_path[] = "/tmp/overlapped-stress-copy-XXXXXX";
  const int source = mkstemp(source_path);
  if (source < 0) return Expect(false, name, "mkstemp for the copy checks");
  const std::string target_path = std::string(source_path) + ".target";
  const int target = open(target_path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  OpSink sink;
  std::unique_ptr<Backend> backend(overlapped::CreateBackend(name));
  BackendError why;
  if (target < 0 || !backend->Start(BackendConfig{2, 2}, &sink, &why)) {
    close(source);
    if (target >= 0) close(target);
    unlink(source_path);
    unlink(target_path.c_str());
    return Expect(false, name, "start for the copy checks: " + why.message);
  }
  size_t submitted = 0;
  // Each op carries a bounce buffer of its own.
  struct CopyOp {
    std::unique_ptr<Op> op = std::make_unique<Op>();
    std::vector<uint8_t> bounce;
  };
  auto make_copy = [&](int from, int to, int64_t offset, int64_t length, size_t chunk) {
    auto copy = std::make_unique<CopyOp>();
    copy->op->kind = OpKind::kFileCopyRange;
    copy->op->handle = from;
    copy->op->arg = to;
    copy->op->offset = offset;
    copy->op->token = -static_cast<double>(++submitted);
    copy->op->length = length;
    copy->bounce.resize(chunk);
    copy->op->buffers.push_back({copy->bounce.data(), copy->bounce.size()});
    return copy;
  };
  auto submit = [&](std::vector<std::unique_ptr<CopyOp>>& copies) {
    std::vector<Op*> raw;
    for (auto& copy : copies) raw.push_back(copy->op.get());
    backend->Submit(raw.data(), raw.size());
  };

  // Stripes: 6 MiB + 1234 bytes of a pattern, 12 ops of 512 KiB at once.
  constexpr int64_t kSize = (int64_t{6} << 20) + 1234;
  constexpr int64_t kStripe = 512 << 10;
  std::vector<uint8_t> data(static_cast<size_t>(kSize));
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  ok &= Expect(pwrite(source, data.data(), data.size(), 0) == kSize, name, "write the copy source");
  std::vector<std::unique_ptr<CopyOp>> stripes;
  for (int64_t at = 0; at < kSize; at += kStripe) {
    stripes.push_back(make_copy(source, target, at, std::min(kStripe, kSize - at), 64 << 10));
  }
  submit(stripes);
  ok &= Expect(sink.WaitFor(submitted, 30), name, "copy stripes complete");
  int64_t copied = 0;
  for (auto& copy : stripes) copied += copy->op->result;
  std::vector<uint8_t> back(data.size());
  ok &= Expect(copied == kSize && pread(target, back.data(), back.size(), 0) == kSize && back == data,
               name, "copied stripes hold the source's bytes (" + std::to_string(copied) + ")");

  // A closed fd as the source.
  std::vector<std::unique_ptr<CopyOp>> bad;
  bad.push_back(make_copy(-1, target, 0, 4096, 4096));
  submit(bad);
  ok &= Expect(sink.WaitFor(submitted, 30), name, "the copy from a bad fd completes");
  ok &= Expect(bad[0]->op->result == -EBADF, name,
               "a copy from a bad fd fails with EBADF (" + std::to_string(bad[0]->op->result) + ")");

  // A long copy (256 MiB of a sparse source in 4 KiB chunks: tens of
  // thousands of syscalls) is cancelled once its first bytes have landed.
  constexpr int64_t kLong = int64_t{256} << 20;
  ok &= Expect(ftruncate(source, kLong) == 0 && ftruncate(target, 0) == 0, name, "make the long source");
  std::vector<std::unique_ptr<CopyOp>> long_copy;
  long_copy.push_back(make_copy(source, target, 0, kLong, 4096));
  submit(long_copy);
  struct stat info {};
  for (int spin = 0; spin < 1000000 && fstat(target, &info) == 0 && info.st_size == 0; ++spin) {
    sched_yield();
  }
  Op* running = long_copy[0]->op.get();
  if (!running->cancel_requested.exchange(true)) backend->Cancel(running);
  ok &= Expect(sink.WaitFor(submitted, 30), name, "the cancelled copy completes");
  fstat(target, &info);
  ok &= Expect(running->result == -ECANCELED && info.st_size < kLong, name,
               "a cancelled copy stops with ECANCELED (" + std::to_string(running->result) + ", " +
                   std::to_string(info.st_size) + " bytes landed)");

  // Stop with long copies running (bytes landed) and queued: each
  // completes once, and on io_uring (which cancels what runs) with
  // ECANCELED.
  ok &= Expect(ftruncate(target, 0) == 0, name, "empty the target");
  std::vector<std::unique_ptr<CopyOp>> at_stop;
  for (int i = 0; i < 6; ++i) at_stop.push_back(make_copy(source, target, 0, kLong, 4096));
  submit(at_stop);
  info.st_size = 0;
  for (int spin = 0; spin < 1000000 && fstat(target, &info) == 0 && info.st_size == 0; ++spin) {
    sched_yield();
  }
  backend->Stop();
  ok &= Expect(sink.completed() == submitted && sink.duplicates() == 0, name,
               "Stop completes every copy exactly once (" + std::to_string(sink.completed()) + " of " +
                   std::to_string(submitted) + ")");
  size_t cancelled = 0;
  for (auto& copy : at_stop) cancelled += copy->op->result == -ECANCELED ? 1 : 0;
  if (name == "io_uring") {
    ok &= Expect(cancelled == at_stop.size(), name,
                 "Stop cancels the copies in flight (" + std::to_string(cancelled) + " of 6)");
  }
  close(source);
  close(target);
  unlink(source_path);
  unlink(target_path.c_str());
  if (ok) std::printf("%-10s ok (copy ops): %zu copies\n", name.c_str(), submitted);
  return ok;
}

int main() {
  bool ok = true;
  for (const std::string& name : overlapped::CompiledBackends()) {
    BackendError why;
    if (!overlapped::ProbeBackend(name, &why)) {
      // A compiled backend that cannot run here is reported, not failed:
      // the fallback ladder exists for exactly this case.
      std::printf("%-10s skipped: %s: %s\n", name.c_str(), why.code.c_str(),
                  why.message.c_str());
      continue;
    }
    ok &= RunEdgeCases(name);
    ok &= RunOpChecks(name);
    ok &= RunFileOpChecks(name);
    ok &= RunCopyOpChecks(name);
    for (const PostPattern& pattern : kPatterns) {
      ok &= RunStress(name, pattern);
    }
  }
  BackendError why;
  ok &= Expect(!overlapped::ProbeBackend("no-such-backend", &why) &&
                   !why.code.empty() && !why.message.empty(),
               "registry", "probing an unknown backend must fail with a reason");
  ok &= Expect(overlapped::CreateBackend("no-such-backend") == nullptr,
               "registry", "creating an unknown backend must give nullptr");
  return ok ? 0 : 1;
}
