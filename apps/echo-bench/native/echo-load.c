/*
 * echo-load: the engine of echo-bench. One thread, epoll, non-blocking
 * sockets: each of N connections keeps `pipeline` messages of `size` bytes in
 * flight, checks every echoed byte, and times every round trip. A small C
 * loop so that the load generator costs the machine far less per round trip
 * than the servers it measures (see the README for how that was shown).
 *
 *   echo-load HOST PORT CONNECTIONS SIZE PIPELINE WARMUP_S DURATION_S MAX_ROUND_TRIPS
 *
 * Prints one JSON object on stdout, and "window start" / "window end" lines
 * on stderr (unbuffered) as the measured window opens and closes, so that a
 * caller can sample the server's CPU at those moments. Exit 0: every byte came back as sent;
 * exit 1: a mismatch, a lost connection or a timeout, with "error" set.
 *
 * Byte check: a pseudo-random pattern of size + 256 bytes is made once; the
 * message with sequence number n on connection c is the slice starting at
 * shift(c, n) = (n * 37 + c * 11) % 251, so consecutive messages differ and a
 * dropped, repeated, reordered or altered byte fails the comparison with the
 * slice the sequence number says is due.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define RECV_CHUNK 65536
#define MAX_IOV 64
#define HIST_SUB 64
#define HIST_BUCKETS (64 * HIST_SUB)

struct conn {
  int fd;
  int index;
  int want_out;        /* EPOLLOUT registered */
  uint64_t send_msg;   /* next message to (finish) sending */
  uint64_t send_off;   /* bytes of send_msg already sent */
  uint64_t recv_msg;   /* message being received */
  uint64_t recv_off;   /* bytes of recv_msg already received */
  uint64_t limit;      /* messages that may be sent in total so far */
  uint64_t *sent_at;   /* send time of each in-flight message, ring of `pipeline` */
};

static unsigned char *pattern;
static uint64_t size;
static unsigned pipeline;
static uint64_t hist[HIST_BUCKETS];
static uint64_t measured_round_trips, measured_bytes, total_round_trips;
static int measuring, stopping;
static uint64_t max_round_trips;
static char error_text[512];

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* This process's user CPU seconds (and system ones in *sys). */
static double cpu_seconds(double *sys) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *sys = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
}

static unsigned shift_of(int c, uint64_t n) { return (unsigned)((n * 37 + (uint64_t)c * 11) % 251); }

static unsigned hist_index(uint64_t v) {
  if (v < HIST_SUB) return (unsigned)v;
  unsigned e = 63 - (unsigned)__builtin_clzll(v) - 5; /* v >> e is in [64, 127] */
  unsigned i = e * HIST_SUB + (unsigned)(v >> e);
  return i < HIST_BUCKETS ? i : HIST_BUCKETS - 1;
}

static uint64_t hist_value(unsigned i) {
  if (i < HIST_SUB * 2) return i; /* exact below 128 */
  unsigned e = i / HIST_SUB - 1;
  uint64_t sub = i % HIST_SUB + HIST_SUB;
  return (sub << e) + ((1ull << e) >> 1); /* the middle of the bucket */
}

static uint64_t max_latency;

/* The p-quantile of the measured latencies (bucket middle, at most the max). */
static uint64_t percentile(double p) {
  uint64_t count = 0;
  for (unsigned i = 0; i < HIST_BUCKETS; i++) count += hist[i];
  if (!count) return 0;
  uint64_t rank = (uint64_t)(p * (double)count);
  if (rank >= count) rank = count - 1;
  uint64_t seen = 0;
  for (unsigned i = 0; i < HIST_BUCKETS; i++) {
    seen += hist[i];
    if (seen > rank) return hist_value(i) < max_latency ? hist_value(i) : max_latency;
  }
  return 0;
}

static uint64_t max_latency;

/* Records the first error (later ones are consequences) and ends the run. */
static void fail(const char *fmt, ...) {
  if (!error_text[0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_text, sizeof error_text, fmt, ap);
    va_end(ap);
  }
  stopping = 2;
}

/* Sends what is due on c: messages send_msg .. limit-1, as one writev. */
static int pump_send(struct conn *c, int ep) {
  while (c->send_msg < c->limit) {
    struct iovec iov[MAX_IOV];
    int n = 0;
    uint64_t msg = c->send_msg, off = c->send_off;
    uint64_t t = now_ns();
    for (; msg < c->limit && n < MAX_IOV; msg++, off = 0) {
      if (off == 0) c->sent_at[msg % pipeline] = t;
      iov[n].iov_base = pattern + shift_of(c->index, msg) + off;
      iov[n].iov_len = size - off;
      n++;
    }
    ssize_t w = writev(c->fd, iov, n);
    if (w < 0) {
      if (errno == EAGAIN) break;
      fail("connection %d: send failed after %llu messages: %s", c->index, (unsigned long long)c->send_msg,
           strerror(errno));
      return -1;
    }
    uint64_t left = (uint64_t)w;
    while (left) {
      uint64_t rest = size - c->send_off;
      if (left >= rest) {
        left -= rest;
        c->send_msg++;
        c->send_off = 0;
      } else {
        c->send_off += left;
        left = 0;
      }
    }
  }
  int want = c->send_msg < c->limit;
  if (want != c->want_out) {
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want;
  }
  return 0;
}

static unsigned char recv_buf[RECV_CHUNK];

/* Reads what has arrived on c, checks it byte for byte, completes round trips. */
static int pump_recv(struct conn *c) {
  for (;;) {
    ssize_t r = read(c->fd, recv_buf, RECV_CHUNK);
    if (r < 0) {
      if (errno == EAGAIN) return 0;
      fail("connection %d: receive failed at message %llu offset %llu: %s", c->index,
           (unsigned long long)c->recv_msg, (unsigned long long)c->recv_off, strerror(errno));
      return -1;
    }
    if (r == 0) {
      fail("connection %d: the server closed the connection at message %llu offset %llu", c->index,
           (unsigned long long)c->recv_msg, (unsigned long long)c->recv_off);
      return -1;
    }
    if (c->recv_msg * size + c->recv_off + (uint64_t)r > c->send_msg * size + c->send_off) {
      /* More bytes than were sent: the server made some up. */
      fail("connection %d: received bytes that were never sent (message %llu offset %llu)", c->index,
           (unsigned long long)c->recv_msg, (unsigned long long)c->recv_off);
      return -1;
    }
    uint64_t t = 0;
    const unsigned char *p = recv_buf;
    uint64_t left = (uint64_t)r;
    while (left) {
      uint64_t take = size - c->recv_off;
      if (take > left) take = left;
      const unsigned char *want = pattern + shift_of(c->index, c->recv_msg) + c->recv_off;
      if (memcmp(p, want, take) != 0) {
        uint64_t k = 0;
        while (p[k] == want[k]) k++;
        fail("connection %d: byte mismatch in message %llu at offset %llu: expected %d, got %d", c->index,
             (unsigned long long)c->recv_msg, (unsigned long long)(c->recv_off + k), want[k], p[k]);
        return -1;
      }
      p += take;
      left -= take;
      c->recv_off += take;
      if (c->recv_off == size) {
        if (!t) t = now_ns();
        uint64_t lat = t - c->sent_at[c->recv_msg % pipeline];
        total_round_trips++;
        if (measuring) {
          hist[hist_index(lat)]++;
          if (lat > max_latency) max_latency = lat;
          measured_round_trips++;
          measured_bytes += size;
        }
        c->recv_msg++;
        c->recv_off = 0;
        if (!stopping && (!max_round_trips || total_round_trips < max_round_trips)) c->limit = c->recv_msg + pipeline;
        else if (!stopping) stopping = 1;
      }
    }
    if ((size_t)r < RECV_CHUNK) return 0;
  }
}

int main(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: echo-load HOST PORT CONNECTIONS SIZE PIPELINE WARMUP_S DURATION_S MAX_ROUND_TRIPS\n");
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]);
  int connections = atoi(argv[3]);
  size = strtoull(argv[4], NULL, 10);
  pipeline = (unsigned)atoi(argv[5]);
  double warmup = atof(argv[6]), duration = atof(argv[7]);
  max_round_trips = strtoull(argv[8], NULL, 10);
  if (connections < 1 || size < 1 || pipeline < 1 || duration <= 0) {
    fprintf(stderr, "echo-load: invalid arguments\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);

  pattern = malloc(size + 256);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (uint64_t i = 0; i < size + 256; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    pattern[i] = (unsigned char)(x >> 24);
  }

  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    printf("{\"ok\":false,\"error\":\"host must be an IPv4 address\"}\n");
    return 1;
  }
  int ep = epoll_create1(0);
  struct conn *conns = calloc((size_t)connections, sizeof *conns);
  for (int i = 0; i < connections; i++) {
    struct conn *c = &conns[i];
    c->index = i;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
      printf("{\"ok\":false,\"error\":\"connection %d: connect failed: %s\"}\n", i, strerror(errno));
      return 1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    c->sent_at = calloc(pipeline, sizeof(uint64_t));
    c->limit = pipeline;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  }

  uint64_t start = now_ns();
  uint64_t measure_start = start + (uint64_t)(warmup * 1e9);
  uint64_t measure_end = measure_start + (uint64_t)(duration * 1e9);
  uint64_t drain_deadline = 0;
  uint64_t measured_ns = 0;
  double user_start = 0, sys_start = 0, user_measured = 0, sys_measured = 0;
  if (warmup <= 0) {
    measuring = 1;
    user_start = cpu_seconds(&sys_start);
    fputs("window start\n", stderr);
  }
  for (int i = 0; i < connections && stopping < 2; i++) pump_send(&conns[i], ep);

  struct epoll_event events[256];
  for (;;) {
    uint64_t t = now_ns();
    if (!measuring && !stopping && t >= measure_start) {
      measuring = 1;
      measure_start = t;
      user_start = cpu_seconds(&sys_start);
      fputs("window start\n", stderr);
    }
    if (measuring && (t >= measure_end || stopping)) {
      /* The measured window ends here: stop sending new messages and let
         the ones in flight come back (they are still checked). */
      measured_ns = t - measure_start;
      fputs("window end\n", stderr);
      user_measured = cpu_seconds(&sys_measured) - user_start;
      sys_measured -= sys_start;
      measuring = 0;
      if (!stopping) stopping = 1;
      for (int i = 0; i < connections; i++) conns[i].limit = conns[i].send_msg + (conns[i].send_off ? 1 : 0);
      drain_deadline = t + 5000000000ull;
    }
    if (stopping == 2) break;
    if (stopping == 1) {
      int pending = 0;
      for (int i = 0; i < connections; i++)
        if (conns[i].recv_msg < conns[i].send_msg || conns[i].send_off) pending = 1;
      if (!pending) break;
      if (drain_deadline && t > drain_deadline) {
        snprintf(error_text, sizeof error_text, "timed out waiting for the last echoes");
        break;
      }
    }
    int timeout = 100;
    int n = epoll_wait(ep, events, 256, timeout);
    for (int i = 0; i < n && stopping < 2; i++) {
      struct conn *c = events[i].data.ptr;
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        if (pump_recv(c) < 0) break;
      }
      if (pump_send(c, ep) < 0) break;
    }
  }
  double seconds = measured_ns / 1e9;
  for (int i = 0; i < connections; i++) close(conns[i].fd);
  int ok = !error_text[0];
  printf("{\"ok\":%s,\"connections\":%d,\"size\":%llu,\"pipeline\":%u,\"seconds\":%.6f,\"roundTrips\":%llu,"
         "\"bytes\":%llu,\"totalRoundTrips\":%llu,\"clientUserSeconds\":%.6f,\"clientSystemSeconds\":%.6f,"
         "\"latencyNs\":{\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"max\":%llu}",
         ok ? "true" : "false", connections, (unsigned long long)size, pipeline, seconds,
         (unsigned long long)measured_round_trips, (unsigned long long)measured_bytes,
         (unsigned long long)total_round_trips, user_measured, sys_measured, (unsigned long long)percentile(0.5),
         (unsigned long long)percentile(0.9), (unsigned long long)percentile(0.99), (unsigned long long)max_latency);
  if (!ok) printf(",\"error\":\"%s\"", error_text);
  printf("}\n");
  return ok ? 0 : 1;
}
