// Socket ops without Node, on every POSIX backend this build contains:
// accept ops and native echoes (forwards of a socket to itself, continuing
// ops) serve client threads that check every echoed byte; forwards
// between two sockets move 1 MiB streams byte for byte, both ways at once
// on one pair and through targets that read slowly; one multishot accept
// takes many connections (where the backend has it) and a cancel ends it;
// one echo is cancelled mid-stream; receives kept three in flight on one
// socket (some cancelled while they wait) take the stream's bytes in
// submission order; Stop runs with echoes and a multishot accept in flight. Built plainly, under ASan+UBSan and under TSan
// (the continuations and the reactor are where races would be). The main
// thread plays the JS thread: only it submits and cancels.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../common/backend.h"
#include "../common/socket_setup.h"

namespace {

using overlapped::Backend;
using overlapped::BackendConfig;
using overlapped::BackendError;
using overlapped::CompletionSink;
using overlapped::Op;
using overlapped::OpKind;
using overlapped::Posted;

class QueueSink final : public CompletionSink {
 public:
  void EnterRun() override {}
  void LeaveRun() override {}
  void Deliver(const Posted*, size_t) override {}
  void CompleteOp(Op* op) override {
    std::lock_guard<std::mutex> lock(mutex_);
    done_.push_back(op);
    ready_.notify_all();
  }
  // The op stays with the backend, so its result is copied now.
  void CompleteOpMore(Op* op) override {
    std::lock_guard<std::mutex> lock(mutex_);
    more_.emplace_back(op, op->result);
    ready_.notify_all();
  }
  // The next completion of a multishot op that stays in flight, or
  // {nullptr, 0} after `ms` without one.
  std::pair<Op*, int64_t> NextMore(int ms) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!ready_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return !more_.empty(); })) return {nullptr, 0};
    auto next = more_.front();
    more_.pop_front();
    return next;
  }
  // The next completed op, or nullptr after `ms` without one.
  Op* Next(int ms) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!ready_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return !done_.empty(); })) return nullptr;
    Op* op = done_.front();
    done_.pop_front();
    return op;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Op*> done_;
  std::deque<std::pair<Op*, int64_t>> more_;
};

bool Expect(bool condition, const std::string& backend, const std::string& what) {
  if (!condition) std::printf("%-10s FAIL (sockets): %s\n", backend.c_str(), what.c_str());
  return condition;
}

uint8_t PatternByte(int client, size_t index) { return static_cast<uint8_t>((index * 31 + client * 7) & 0xff); }

// 127.0.0.1:port.
sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// Up to `count` blocking clients connected to 127.0.0.1:port (a failed
// connect is left out, so the caller checks the size).
std::vector<int> ConnectClients(int port, size_t count) {
  const sockaddr_in to = Loopback(port);
  std::vector<int> clients;
  for (size_t i = 0; i < count; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0) clients.push_back(fd);
    else close(fd);
  }
  return clients;
}

// A blocking client: sends `rounds` messages of growing size, checks each
// echo byte for byte, then shuts down and expects the server's EOF.
bool RunClient(int port, int client, int rounds) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_in address = Loopback(port);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return false;
  }
  bool ok = true;
  std::vector<uint8_t> out;
  std::vector<uint8_t> in;
  for (int round = 0; round < rounds && ok; ++round) {
    const size_t size = 1 + static_cast<size_t>(round) * 977;
    out.resize(size);
    for (size_t i = 0; i < size; ++i) out[i] = PatternByte(client + round, i);
    if (send(fd, out.data(), size, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) ok = false;
    in.assign(size, 0);
    size_t got = 0;
    while (ok && got < size) {
      const ssize_t n = recv(fd, in.data() + got, size - got, 0);
      if (n <= 0) ok = false;
      else got += static_cast<size_t>(n);
    }
    ok = ok && in == out;
  }
  shutdown(fd, SHUT_WR);
  char byte;
  ok = ok && recv(fd, &byte, 1, 0) == 0;
  close(fd);
  return ok;
}

std::unique_ptr<Op> MakeOp(OpKind kind, int64_t handle) {
  auto op = std::make_unique<Op>();
  op->kind = kind;
  op->handle = handle;
  return op;
}

// A client streams 1 MiB in chunks with short pauses while this thread
// keeps three receives in flight on the accepted socket, cancelling every
// seventh at once (it takes no bytes if the cancel wins). Joined in
// submission order, the results must be the stream.
bool ReceivesKeepOrder(Backend* backend, QueueSink* sink, const std::string& name) {
  uint32_t raw = 0;
  const int64_t listener = overlapped::SocketOpen(4, &raw);
  std::string host;
  int port = 0;
  if (!Expect(listener >= 0 && overlapped::SocketBind(listener, "127.0.0.1", 0, 8, &raw) == 0 &&
                  overlapped::SocketName(listener, false, &host, &port, &raw) == 0,
              name, "receive-order listener")) {
    return false;
  }
  constexpr size_t kTotal = 1 << 20;
  std::thread client([port] {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in to = Loopback(port);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0) {
      std::vector<uint8_t> chunk;
      for (size_t at = 0, n = 0; at < kTotal; ++n) {
        const size_t size = std::min(kTotal - at, 1 + (n * 7919) % 20000);
        chunk.resize(size);
        for (size_t i = 0; i < size; ++i) chunk[i] = PatternByte(99, at + i);
        if (send(fd, chunk.data(), size, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) break;
        at += size;
        if (n % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }
    close(fd);
  });
  const int accepted = accept(static_cast<int>(listener), nullptr, nullptr);
  bool ok = Expect(accepted >= 0, name, "receive-order accept");
  std::vector<std::unique_ptr<Op>> ops;
  std::vector<std::unique_ptr<uint8_t[]>> buffers;
  size_t in_flight = 0;
  size_t received = 0;
  size_t cancels_won = 0;
  bool ended = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ok && !(ended && in_flight == 0) && std::chrono::steady_clock::now() < deadline) {
    while (!ended && in_flight < 3) {
      const size_t size = 1 + (ops.size() * 4099) % 8192;
      buffers.emplace_back(new uint8_t[size]);
      auto op = MakeOp(OpKind::kSocketRecv, accepted);
      op->buffers.push_back({buffers.back().get(), size});
      op->result = -1;
      ops.push_back(std::move(op));
      Op* raw_op = ops.back().get();
      backend->Submit(&raw_op, 1);
      ++in_flight;
      if (ops.size() % 7 == 0) {
        raw_op->cancel_requested.store(true);
        backend->Cancel(raw_op);
      }
    }
    Op* done = sink->Next(100);
    if (done == nullptr) continue;
    --in_flight;
    if (done->result == 0) ended = true;
    if (done->result == -ECANCELED) ++cancels_won;
    ok &= Expect(done->result >= 0 || done->result == -ECANCELED, name,
                 "a receive failed: " + std::to_string(done->result));
  }
  ok &= Expect(ended && in_flight == 0, name, "the stream ended and every receive completed");
  for (size_t k = 0; ok && k < ops.size(); ++k) {
    if (ops[k]->result <= 0) continue;
    for (int64_t i = 0; i < ops[k]->result; ++i) {
      if (buffers[k][i] != PatternByte(99, received + static_cast<size_t>(i))) {
        ok = Expect(false, name, "receive " + std::to_string(k) + " holds bytes out of stream order");
        break;
      }
    }
    received += static_cast<size_t>(ops[k]->result);
  }
  ok &= Expect(!ok || received == kTotal, name, std::to_string(received) + " of 1 MiB received in order");
  client.join();
  if (accepted >= 0) close(accepted);
  overlapped::SocketCloseNow(listener, &raw);
  if (ok) {
    std::printf("%-10s ok (sockets): %zu receives, three in flight, %zu cancelled before taking bytes, in order\n",
                name.c_str(), ops.size(), cancels_won);
  }
  return ok;
}

// Sends `total` bytes of stream `seed` on `fd` in uneven chunks, then shuts
// down its sending side.
void SendStream(int fd, int seed, size_t total) {
  std::vector<uint8_t> chunk;
  for (size_t at = 0, n = 0; at < total; ++n) {
    const size_t size = std::min(total - at, 1 + (n * 7919) % 30000);
    chunk.resize(size);
    for (size_t i = 0; i < size; ++i) chunk[i] = PatternByte(seed, at + i);
    if (send(fd, chunk.data(), size, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) break;
    at += size;
  }
  shutdown(fd, SHUT_WR);
}

// Receives on `fd` until the end; true if it was exactly stream `seed` of
// `total` bytes. `slow`: small reads with pauses, so the forward into it
// waits for it to drain.
bool ReceiveStream(int fd, int seed, size_t total, bool slow) {
  std::vector<uint8_t> in(slow ? 4096 : 65536);
  size_t got = 0;
  bool ok = true;
  for (int reads = 0;; ++reads) {
    const ssize_t n = recv(fd, in.data(), in.size(), 0);
    if (n <= 0) {
      ok = ok && n == 0;
      break;
    }
    for (ssize_t i = 0; ok && i < n; ++i) ok = in[i] == PatternByte(seed, got + static_cast<size_t>(i));
    got += static_cast<size_t>(n);
    if (slow && reads % 16 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return ok && got == total;
}

// A proxy's shape: client pairs joined through accepted sockets by
// forwards. Pairs 0-1: 1 MiB one way, into a target that reads slowly;
// pair 2: both ways at once (forward(a, b) and forward(b, a)). Each forward
// completes with the bytes it moved, and the far side sees every byte and
// then the end.
bool ForwardsBetweenSockets(Backend* backend, QueueSink* sink, const std::string& name) {
  uint32_t raw = 0;
  const int64_t listener = overlapped::SocketOpen(4, &raw);
  std::string host;
  int port = 0;
  if (!Expect(listener >= 0 && overlapped::SocketBind(listener, "127.0.0.1", 0, 16, &raw) == 0 &&
                  overlapped::SocketName(listener, false, &host, &port, &raw) == 0,
              name, "forward listener")) {
    return false;
  }
  constexpr size_t kTotal = 1 << 20;
  constexpr int kPairs = 3;
  const sockaddr_in address = Loopback(port);
  // Clients connect one at a time, each accepted before the next: client
  // 2k feeds accepted socket 2k, whose bytes go to accepted 2k+1's client.
  std::vector<int> clients;
  std::vector<int> accepted;
  for (int i = 0; i < 2 * kPairs; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) break;
    clients.push_back(fd);
    accepted.push_back(accept(static_cast<int>(listener), nullptr, nullptr));
  }
  bool ok = Expect(clients.size() == 2 * kPairs && std::find(accepted.begin(), accepted.end(), -1) == accepted.end(),
                   name, "forward pairs connected");
  std::vector<std::unique_ptr<Op>> ops;
  std::vector<std::unique_ptr<uint8_t[]>> buffers;
  std::vector<std::unique_ptr<double[]>> stats;
  auto submit_forward = [&](int64_t from, int64_t to) {
    constexpr size_t kBuffer = 8192;
    buffers.emplace_back(new uint8_t[kBuffer]);
    stats.emplace_back(new double[3]{0, 0, -1});
    auto op = MakeOp(OpKind::kSocketForward, from);
    op->arg = to;
    op->buffers.push_back({buffers.back().get(), kBuffer});
    op->buffers.push_back({reinterpret_cast<uint8_t*>(stats.back().get()), 24});
    ops.push_back(std::move(op));
    Op* raw_op = ops.back().get();
    backend->Submit(&raw_op, 1);
  };
  std::atomic<int> streams_ok{0};
  std::vector<std::thread> threads;
  if (ok) {
    for (int pair = 0; pair < kPairs; ++pair) {
      submit_forward(accepted[2 * pair], accepted[2 * pair + 1]);
      if (pair == 2) submit_forward(accepted[2 * pair + 1], accepted[2 * pair]);
    }
    for (int pair = 0; pair < kPairs; ++pair) {
      const int a = clients[2 * pair];
      const int b = clients[2 * pair + 1];
      threads.emplace_back([a, pair] { SendStream(a, 50 + pair, kTotal); });
      threads.emplace_back([b, pair, &streams_ok] {
        if (ReceiveStream(b, 50 + pair, kTotal, pair < 2)) streams_ok.fetch_add(1);
      });
      if (pair == 2) {
        threads.emplace_back([b] { SendStream(b, 70, kTotal); });
        threads.emplace_back([a, &streams_ok] {
          if (ReceiveStream(a, 70, kTotal, false)) streams_ok.fetch_add(1);
        });
      }
    }
  }
  size_t finished = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (ok && finished < ops.size() && std::chrono::steady_clock::now() < deadline) {
    Op* op = sink->Next(100);
    if (op == nullptr) continue;
    ++finished;
    const double* counters = reinterpret_cast<const double*>(op->buffers[1].data);
    ok &= Expect(op->result == static_cast<int64_t>(kTotal) && counters[0] == kTotal && counters[1] == kTotal, name,
                 "a forward moved " + std::to_string(op->result) + " bytes, not 1 MiB");
  }
  ok &= Expect(finished == ops.size(), name, "every forward completed");
  for (std::thread& thread : threads) thread.join();
  ok &= Expect(streams_ok.load() == kPairs + 1, name, std::to_string(streams_ok.load()) + " of 4 forwarded streams intact");
  for (int fd : accepted) if (fd >= 0) close(fd);
  for (int fd : clients) close(fd);
  overlapped::SocketCloseNow(listener, &raw);
  if (ok) std::printf("%-10s ok (sockets): 4 forwards between sockets moved 1 MiB each, byte for byte\n", name.c_str());
  return ok;
}

// Submits an echo (the socket forwarded to itself) through a buffer of
// `size` bytes, with its counters; the vectors keep op, buffer and counters
// alive until the test ends.
Op* SubmitEcho(Backend* backend, int64_t fd, size_t size, std::vector<std::unique_ptr<Op>>* ops,
               std::vector<std::unique_ptr<uint8_t[]>>* buffers, std::vector<std::unique_ptr<double[]>>* stats) {
  buffers->emplace_back(new uint8_t[size]);
  stats->emplace_back(new double[2]{0, 0});
  auto op = MakeOp(OpKind::kSocketForward, fd);
  op->arg = fd;
  op->buffers.push_back({buffers->back().get(), size});
  op->buffers.push_back({reinterpret_cast<uint8_t*>(stats->back().get()), 16});
  ops->push_back(std::move(op));
  Op* raw_op = ops->back().get();
  backend->Submit(&raw_op, 1);
  return raw_op;
}

// `count` blocking clients, each with an echo of its accepted socket
// through a buffer of `buffer` bytes; `what` names the checks. ok() is
// false when any of it failed (each failure is reported).
class EchoRig {
 public:
  EchoRig(Backend* backend, size_t count, size_t buffer, const std::string& name, const std::string& what)
      : backend_(backend), name_(name), what_(what) {
    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address = Loopback(0);
    socklen_t length = sizeof address;
    ok_ = Expect(listener >= 0 && bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                     listen(listener, 64) == 0 &&
                     getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0,
                 name, what + " listener");
    if (ok_) {
      clients_ = ConnectClients(ntohs(address.sin_port), count);
      ok_ = Expect(clients_.size() == count, name, what + " clients connect");
    }
    for (size_t i = 0; i < clients_.size() && ok_; ++i) {
      const int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      ok_ = Expect(fd >= 0, name, what + " accept");
      if (ok_) SubmitEcho(backend, fd, buffer, &ops_, &buffers_, &stats_);
    }
    if (listener >= 0) close(listener);
    const timeval wait{5, 0};
    for (int fd : clients_) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  }
  // Closes every socket; Finish must have run.
  ~EchoRig() {
    for (auto& op : ops_) close(static_cast<int>(op->handle));
    for (int fd : clients_) close(fd);
  }
  EchoRig(const EchoRig&) = delete;
  EchoRig& operator=(const EchoRig&) = delete;

  bool ok() const { return ok_; }
  const std::vector<int>& clients() const { return clients_; }

  // Waits up to 10 s for the echoes to end by themselves (their clients
  // ended), each having moved `moved` bytes; cancels those still waiting
  // (a failure above), so that none outlives its socket.
  bool Finish(QueueSink* sink, int64_t moved) {
    size_t finished = 0;
    size_t exact = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (finished < ops_.size() && std::chrono::steady_clock::now() < deadline) {
      Op* op = sink->Next(100);
      if (op == nullptr) continue;
      ++finished;
      if (op->result == moved) ++exact;
    }
    if (finished < ops_.size()) {
      for (auto& op : ops_) backend_->Cancel(op.get());
      while (finished < ops_.size() && sink->Next(1000) != nullptr) ++finished;
    }
    return Expect(exact == ops_.size(), name_,
                  std::to_string(exact) + " of " + std::to_string(ops_.size()) + " " + what_ + " echoes ended with every byte counted");
  }

 private:
  Backend* backend_;
  std::string name_;
  std::string what_;
  bool ok_ = false;
  std::vector<int> clients_;
  std::vector<std::unique_ptr<Op>> ops_;
  std::vector<std::unique_ptr<uint8_t[]>> buffers_;
  std::vector<std::unique_ptr<double[]>> stats_;
};

// Echoes (forwards of a socket to itself) that emptied their sockets and
// wait, then get their last bytes and the peer's FIN in one segment (the
// client corks, sends, shuts down): each must echo the bytes, then read
// the end, then finish with every byte counted. A reactor that took the
// short read for "nothing more to come" would never see the FIN, whose
// report came with the bytes.
bool EchoesSeeEndWithLastBytes(Backend* backend, QueueSink* sink, const std::string& name) {
  constexpr size_t kEchoes = 16;
  constexpr size_t kFirst = 64;
  constexpr size_t kLast = 100;
  EchoRig rig(backend, kEchoes, 4096, name, "end-with-bytes");  // larger than each message: short reads
  const std::vector<int>& clients = rig.clients();
  bool ok = rig.ok();
  auto read_exactly = [&](int fd, std::vector<uint8_t>* into, size_t size) {
    into->assign(size, 0);
    size_t got = 0;
    while (got < size) {
      const ssize_t n = recv(fd, into->data() + got, size - got, 0);
      if (n <= 0) return false;
      got += static_cast<size_t>(n);
    }
    return true;
  };
  // A first round trip each, so that every echo has emptied its socket.
  std::vector<uint8_t> out;
  std::vector<uint8_t> in;
  for (size_t c = 0; c < clients.size() && ok; ++c) {
    out.resize(kFirst);
    for (size_t i = 0; i < kFirst; ++i) out[i] = PatternByte(static_cast<int>(c), i);
    ok &= Expect(send(clients[c], out.data(), kFirst, MSG_NOSIGNAL) == static_cast<ssize_t>(kFirst) &&
                     read_exactly(clients[c], &in, kFirst) && in == out,
                 name, "end-with-bytes first round trip");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // The last bytes and the FIN in one segment, to each idle echo.
  for (size_t c = 0; c < clients.size() && ok; ++c) {
    const int one = 1;
    setsockopt(clients[c], IPPROTO_TCP, TCP_CORK, &one, sizeof one);
    out.resize(kLast);
    for (size_t i = 0; i < kLast; ++i) out[i] = PatternByte(static_cast<int>(c) + 1, i);
    ok &= Expect(send(clients[c], out.data(), kLast, MSG_NOSIGNAL) == static_cast<ssize_t>(kLast) &&
                     shutdown(clients[c], SHUT_WR) == 0,
                 name, "end-with-bytes last send");
  }
  size_t ended = 0;
  for (size_t c = 0; c < clients.size() && ok; ++c) {
    for (size_t i = 0; i < kLast; ++i) out[i] = PatternByte(static_cast<int>(c) + 1, i);
    char byte;
    const bool bytes = read_exactly(clients[c], &in, kLast) && in == out;
    const bool end = bytes && recv(clients[c], &byte, 1, 0) == 0;
    ok &= Expect(bytes, name, "an echo returned its last bytes, which came with the end");
    ok &= Expect(end, name, "an echo saw the end that came with its last bytes (no EOF within 5 s)");
    if (end) ++ended;
  }
  // The echoes end by themselves once they read the end.
  ok &= rig.Finish(sink, static_cast<int64_t>(kFirst + kLast));
  if (ok) std::printf("%-10s ok (sockets): %zu idle echoes got their last bytes and the end in one segment, echoed both\n", name.c_str(), ended);
  return ok;
}

// Echoes whose messages fill their buffer exactly (4 KiB through 4 KiB):
// a full receive cannot tell by its size whether more is queued, and the
// threadpool echo takes one receive per report of its level-triggered
// watch, trusting the next wait to report bytes still queued. Each client plays
// ping-pong, then sends four messages at once (bytes still queued after a
// full receive: the echo must go on without a new report), then one more
// after a pause (nothing queued: the echo waits for the report), then its
// end. A reactor that waited with bytes queued, or trusted a count it did
// not get, misses a round trip (5 s receive timeout) or the end.
bool EchoesMessagesThatFillTheBuffer(Backend* backend, QueueSink* sink, const std::string& name) {
  constexpr size_t kEchoes = 8;
  constexpr size_t kBuffer = 4096;
  constexpr int kPingPongs = 30;
  constexpr size_t kBurst = 4;
  EchoRig rig(backend, kEchoes, kBuffer, name, "full-buffer");
  const std::vector<int>& clients = rig.clients();
  bool ok = rig.ok();
  const size_t total = (kPingPongs + kBurst + 1) * kBuffer;
  std::atomic<size_t> clients_ok{0};
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients.size() && ok; ++c) {
    threads.emplace_back([&, c] {
      const int fd = clients[c];
      size_t sent = 0;
      size_t checked = 0;
      std::vector<uint8_t> out;
      std::vector<uint8_t> in;
      auto send_messages = [&](size_t count) {
        out.resize(count * kBuffer);
        for (size_t i = 0; i < out.size(); ++i) out[i] = PatternByte(static_cast<int>(c), sent + i);
        const bool whole = send(fd, out.data(), out.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(out.size());
        sent += out.size();
        return whole;
      };
      auto echoed = [&]() {
        in.assign(sent - checked, 0);
        size_t got = 0;
        while (got < in.size()) {
          const ssize_t n = recv(fd, in.data() + got, in.size() - got, 0);
          if (n <= 0) return false;
          got += static_cast<size_t>(n);
        }
        for (size_t i = 0; i < in.size(); ++i) {
          if (in[i] != PatternByte(static_cast<int>(c), checked + i)) return false;
        }
        checked = sent;
        return true;
      };
      bool good = true;
      for (int round = 0; round < kPingPongs && good; ++round) good = send_messages(1) && echoed();
      good = good && send_messages(kBurst) && echoed();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      good = good && send_messages(1) && echoed();
      char byte;
      good = good && shutdown(fd, SHUT_WR) == 0 && recv(fd, &byte, 1, 0) == 0;
      if (good) clients_ok.fetch_add(1);
    });
  }
  for (std::thread& thread : threads) thread.join();
  ok &= Expect(clients_ok.load() == clients.size(), name,
               std::to_string(clients_ok.load()) + " of " + std::to_string(clients.size()) +
                   " clients got every full-buffer message back, then the end");
  ok &= rig.Finish(sink, static_cast<int64_t>(total));
  if (ok) std::printf("%-10s ok (sockets): %zu echoes of messages that fill their buffer, ping-pong, a burst and a pause\n", name.c_str(), clients.size());
  return ok;
}

// `shared`: socket ops share the first ring (io_uring's path on kernels
// without multishot recv; see BackendConfig::sockets_share_ring).
bool RunBackend(const std::string& backend_name, bool shared) {
  bool ok = true;
  const std::string name = shared ? backend_name + "/shared" : backend_name;
  QueueSink sink;
  std::unique_ptr<Backend> backend(overlapped::CreateBackend(backend_name));
  BackendError why;
  BackendConfig config{2, 2};
  config.sockets_share_ring = shared;
  if (!backend->Start(config, &sink, &why)) return Expect(false, name, "start: " + why.message);
  uint32_t raw = 0;
  const int64_t listener = overlapped::SocketOpen(4, &raw);
  ok &= Expect(listener >= 0 && overlapped::SocketBind(listener, "127.0.0.1", 0, 128, &raw) == 0, name, "listen");
  std::string host;
  int port = 0;
  ok &= Expect(overlapped::SocketName(listener, false, &host, &port, &raw) == 0 && port > 0, name, "getsockname");

  std::vector<std::unique_ptr<Op>> ops;  // every op lives until the end
  std::vector<std::unique_ptr<double[]>> stats;
  std::vector<std::unique_ptr<uint8_t[]>> buffers;
  auto submit_accept = [&] {
    ops.push_back(MakeOp(OpKind::kSocketAccept, listener));
    Op* op = ops.back().get();
    backend->Submit(&op, 1);
  };
  // An echo: the socket forwarded to itself.
  auto submit_echo = [&](int64_t fd) {
    return SubmitEcho(backend.get(), fd, 4096, &ops, &buffers, &stats);  // smaller than the messages: partial rounds
  };

  // Phase 1: 16 clients echo to completion.
  constexpr int kClients = 16;
  constexpr int kRounds = 40;
  std::atomic<int> clients_ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      if (RunClient(port, c, kRounds)) clients_ok.fetch_add(1);
    });
  }
  submit_accept();
  submit_accept();
  int echoes_done = 0;
  int echoes_clean = 0;
  int accepted = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (echoes_done < kClients && std::chrono::steady_clock::now() < deadline) {
    Op* op = sink.Next(100);
    if (op == nullptr) continue;
    if (op->kind == OpKind::kSocketAccept) {
      if (op->result >= 0) {
        ++accepted;
        submit_echo(op->result);
      }
      if (accepted + 2 <= kClients + 1) submit_accept();
    } else if (op->kind == OpKind::kSocketForward) {
      ++echoes_done;
      // A forward closes nothing: its socket is ours to close.
      const double* counters = reinterpret_cast<const double*>(op->buffers[1].data);
      if (op->result >= 0 && op->result == counters[1]) ++echoes_clean;
      close(static_cast<int>(op->handle));
    }
  }
  for (std::thread& thread : clients) thread.join();
  ok &= Expect(clients_ok.load() == kClients, name, std::to_string(clients_ok.load()) + " of 16 clients got exact echoes");
  ok &= Expect(echoes_clean == kClients, name, std::to_string(echoes_clean) + " of 16 echo loops ended cleanly");
  double bytes_in = 0;
  double bytes_out = 0;
  for (auto& pair : stats) {
    bytes_in += pair[0];
    bytes_out += pair[1];
  }
  double expected = 0;
  for (int round = 0; round < kRounds; ++round) expected += 1 + round * 977;
  expected *= kClients;
  ok &= Expect(bytes_in == expected && bytes_out == expected, name, "echo counters add up");
  ok &= ReceivesKeepOrder(backend.get(), &sink, name);
  ok &= ForwardsBetweenSockets(backend.get(), &sink, name);
  ok &= EchoesSeeEndWithLastBytes(backend.get(), &sink, name);
  ok &= EchoesMessagesThatFillTheBuffer(backend.get(), &sink, name);

  // Phase 2, on a listener of its own: one accept op submitted with the
  // multishot flag. Where the backend has multishot accept, it takes every
  // connection and stays in flight until a cancel ends it with one final
  // ECANCELED; elsewhere the flag is ignored and it completes once.
  const int64_t multishot_listener = overlapped::SocketOpen(4, &raw);
  int multishot_port = 0;
  ok &= Expect(multishot_listener >= 0 && overlapped::SocketBind(multishot_listener, "127.0.0.1", 0, 128, &raw) == 0 &&
                   overlapped::SocketName(multishot_listener, false, &host, &multishot_port, &raw) == 0,
               name, "second listener");
  const bool multishot = backend->SupportsMultishot(OpKind::kSocketAccept);
  {
    ops.push_back(MakeOp(OpKind::kSocketAccept, multishot_listener));
    Op* shot = ops.back().get();
    shot->flags = overlapped::op_flags::kMultishot;
    backend->Submit(&shot, 1);
    constexpr size_t kShots = 40;
    const std::vector<int> shot_clients = ConnectClients(multishot_port, kShots);
    ok &= Expect(shot_clients.size() == kShots, name, "40 clients connect");
    std::vector<int64_t> taken;
    if (multishot) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (taken.size() < shot_clients.size() && std::chrono::steady_clock::now() < until) {
        auto [op, result] = sink.NextMore(100);
        if (op == nullptr) continue;
        ok &= Expect(op == shot && result >= 0, name, "a multishot completion is an accepted socket");
        if (result >= 0) taken.push_back(result);
      }
      ok &= Expect(taken.size() == shot_clients.size(), name,
                   "one multishot accept took " + std::to_string(taken.size()) + " of 40 connections");
      ok &= Expect(sink.Next(50) == nullptr, name, "a multishot accept stays in flight");
      shot->cancel_requested.store(true);
      backend->Cancel(shot);
      Op* last = sink.Next(5000);
      ok &= Expect(last == shot && shot->result == -ECANCELED, name, "a cancel ends a multishot accept with ECANCELED");
      ok &= Expect(sink.NextMore(50).first == nullptr, name, "nothing follows a multishot op's last completion");
    } else {
      Op* last = sink.Next(5000);
      ok &= Expect(last == shot && shot->result >= 0, name, "without multishot, the accept completes once");
      if (last == shot && shot->result >= 0) taken.push_back(shot->result);
      ok &= Expect(sink.NextMore(50).first == nullptr, name, "without multishot, no completion says more follow");
    }
    for (int64_t fd : taken) close(static_cast<int>(fd));
    for (int fd : shot_clients) close(fd);
  }

  // A burst bigger than the completion queue: 200 connections wait before
  // the multishot accept is submitted, and the kernel accepts them in one
  // go. When it cannot post a CQE it ends the op, and that last completion
  // still carries a socket; submitted again (as the socket package does),
  // the op takes the rest. Every connection is accepted exactly once.
  int kernel_ended = 0;
  if (multishot) {
    const int64_t burst_listener = overlapped::SocketOpen(4, &raw);
    int burst_port = 0;
    ok &= Expect(burst_listener >= 0 && overlapped::SocketBind(burst_listener, "127.0.0.1", 0, 512, &raw) == 0 &&
                     overlapped::SocketName(burst_listener, false, &host, &burst_port, &raw) == 0,
                 name, "burst listener");
    constexpr size_t kBurst = 200;
    const std::vector<int> burst_clients = ConnectClients(burst_port, kBurst);
    ok &= Expect(burst_clients.size() == kBurst, name, "200 clients wait");
    std::vector<int64_t> taken;
    Op* armed = nullptr;
    auto arm = [&] {
      ops.push_back(MakeOp(OpKind::kSocketAccept, burst_listener));
      armed = ops.back().get();
      armed->flags = overlapped::op_flags::kMultishot;
      backend->Submit(&armed, 1);
    };
    arm();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (taken.size() < kBurst && std::chrono::steady_clock::now() < until) {
      auto [op, result] = sink.NextMore(0);
      if (op != nullptr) {
        ok &= Expect(op == armed && result >= 0, name, "a burst completion is an accepted socket");
        if (result >= 0) taken.push_back(result);
        continue;
      }
      Op* last = sink.Next(10);
      if (last == nullptr) continue;
      ok &= Expect(last == armed, name, "the last completion is the armed op's");
      // Its earlier completions were handed over before it: take any that
      // arrived while this thread waited.
      for (auto more = sink.NextMore(0); more.first != nullptr; more = sink.NextMore(0)) {
        ok &= Expect(more.first == armed && more.second >= 0, name, "a burst completion is an accepted socket");
        if (more.second >= 0) taken.push_back(more.second);
      }
      if (last->result >= 0) taken.push_back(last->result);
      ++kernel_ended;
      arm();
    }
    std::sort(taken.begin(), taken.end());
    ok &= Expect(taken.size() == kBurst && std::unique(taken.begin(), taken.end()) == taken.end(), name,
                 std::to_string(taken.size()) + " distinct sockets from a burst of 200");
    armed->cancel_requested.store(true);
    backend->Cancel(armed);
    Op* last = sink.Next(5000);
    ok &= Expect(last == armed && armed->result == -ECANCELED, name, "a cancel ends the burst's multishot accept");
    for (int64_t fd : taken) close(static_cast<int>(fd));
    for (int fd : burst_clients) close(fd);
    overlapped::SocketCloseNow(burst_listener, &raw);
  }

  // Phase 3: a cancelled echo ends with ECANCELED and leaves its socket
  // open; then Stop with echoes (and an accept, and a multishot accept) in
  // flight completes them all.
  const int idle[3] = {socket(AF_INET, SOCK_STREAM, 0), socket(AF_INET, SOCK_STREAM, 0), socket(AF_INET, SOCK_STREAM, 0)};
  const sockaddr_in address = Loopback(port);
  for (int fd : idle) connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  std::vector<Op*> live;
  while (live.size() < 3 && std::chrono::steady_clock::now() < deadline + std::chrono::seconds(10)) {
    Op* op = sink.Next(100);
    if (op != nullptr && op->kind == OpKind::kSocketAccept && op->result >= 0) {
      live.push_back(submit_echo(op->result));
      submit_accept();
    }
  }
  ok &= Expect(live.size() == 3, name, "three idle connections accepted");
  if (live.size() == 3) {
    live[0]->cancel_requested.store(true);
    backend->Cancel(live[0]);
    Op* op = sink.Next(5000);
    ok &= Expect(op == live[0] && op->result == -ECANCELED, name, "a cancelled echo ends with ECANCELED");
    // Still open: what the client sends now waits there, unanswered.
    char byte = 7;
    ok &= Expect(send(idle[0], &byte, 1, MSG_NOSIGNAL) == 1, name, "a cancelled echo leaves its socket open");
    ok &= Expect(recv(static_cast<int>(live[0]->handle), &byte, 1, 0) == 1 && byte == 7, name,
                 "a cancelled echo leaves the next bytes to its socket's owner");
    close(static_cast<int>(live[0]->handle));
    ok &= Expect(recv(idle[0], &byte, 1, 0) == 0, name, "the socket closes when its owner closes it");
  }
  // (Without multishot, connections of phase 2 still wait on that
  // listener, so this accept may well succeed before Stop.)
  ops.push_back(MakeOp(OpKind::kSocketAccept, multishot_listener));
  Op* stop_shot = ops.back().get();
  stop_shot->flags = overlapped::op_flags::kMultishot;
  backend->Submit(&stop_shot, 1);
  backend->Stop();
  size_t stopped = 0;
  bool shot_ended = false;
  while (Op* op = sink.Next(0)) {
    ++stopped;
    shot_ended = shot_ended || (op == stop_shot && (op->result == -ECANCELED || !multishot));
    if (op == stop_shot && op->result >= 0) close(static_cast<int>(op->result));
    if (op->kind == OpKind::kSocketForward) close(static_cast<int>(op->handle));
  }
  ok &= Expect(stopped >= 4, name, "Stop completes the echoes and the accepts in flight");
  ok &= Expect(shot_ended, name, "Stop ends a multishot accept (ECANCELED where it is multishot)");
  for (int fd : idle) close(fd);
  overlapped::SocketCloseNow(listener, &raw);
  overlapped::SocketCloseNow(multishot_listener, &raw);
  if (ok) {
    const std::string shots =
        multishot ? "one multishot accept took 40 connections, a burst of 200 took " +
                        std::to_string(kernel_ended + 1) + " submissions (the kernel ended " +
                        std::to_string(kernel_ended) + ")"
                  : std::string("multishot flag ignored");
    std::printf("%-10s ok (sockets): 16 clients echoed byte for byte, %s, cancel and Stop end echoes\n",
                name.c_str(), shots.c_str());
  }
  return ok;
}

}  // namespace

int main() {
  bool ok = true;
  for (const std::string& name : overlapped::CompiledBackends()) {
    BackendError why;
    if (!overlapped::ProbeBackend(name, &why)) {
      std::printf("%-10s skipped (sockets): %s\n", name.c_str(), why.code.c_str());
      continue;
    }
    ok &= RunBackend(name, false);
    if (name == "io_uring") ok &= RunBackend(name, true);
  }
  return ok ? 0 : 1;
}
