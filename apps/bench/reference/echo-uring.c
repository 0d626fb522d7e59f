/*
 * echo-uring: the reference io_uring echo server the echo benchmark compares
 * against. One ring, one thread, nothing clever: accept -> recv -> send (until
 * every byte is sent) -> recv, one buffer per connection, no multishot, no
 * registered buffers, no SQPOLL. Raw syscalls over <linux/io_uring.h>, so it
 * builds with the plain toolchain (no liburing):
 *
 *   cc -O2 -o echo-uring echo-uring.c
 *   ./echo-uring [port] [host] [buffer-size]     prints "listening <port>"
 *
 * SIGINT / SIGTERM end it with exit 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RING_ENTRIES 1024

enum { OP_ACCEPT = 1, OP_RECV = 2, OP_SEND = 3, OP_CLOSE = 4 };

/* One connection: its socket, its one buffer, and how much of the buffer is
   still to be sent. The struct is owned by the loop; it is freed when the
   close completes, and no other op is in flight for it at that point. */
struct conn {
  int fd;
  unsigned len;  /* bytes received into buf */
  unsigned sent; /* bytes of buf already sent */
  unsigned char buf[];
};

struct ring {
  int fd;
  unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
  unsigned *cq_head, *cq_tail, *cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
  unsigned to_submit;
};

static volatile sig_atomic_t stopping;
static void on_signal(int sig) { (void)sig; stopping = 1; }

static int ring_setup(struct ring *r) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  r->fd = (int)syscall(__NR_io_uring_setup, RING_ENTRIES, &p);
  if (r->fd < 0) return -1;
  size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  unsigned char *sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
  unsigned char *cq = mmap(NULL, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
  r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                 r->fd, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED) return -1;
  r->sq_head = (unsigned *)(sq + p.sq_off.head);
  r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
  r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  r->sq_array = (unsigned *)(sq + p.sq_off.array);
  r->cq_head = (unsigned *)(cq + p.cq_off.head);
  r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
  r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  r->to_submit = 0;
  return 0;
}

/* Submits what is queued and, when wait is set, waits for one completion. */
static int ring_enter(struct ring *r, int wait) {
  int n = (int)syscall(__NR_io_uring_enter, r->fd, r->to_submit, wait ? 1 : 0, wait ? IORING_ENTER_GETEVENTS : 0, NULL, 0);
  if (n >= 0) r->to_submit -= (unsigned)n;
  return n;
}

static struct io_uring_sqe *ring_sqe(struct ring *r) {
  unsigned head = atomic_load_explicit((_Atomic unsigned *)r->sq_head, memory_order_acquire);
  unsigned tail = *r->sq_tail;
  if (tail - head >= RING_ENTRIES) {
    /* The submission queue is full: hand it to the kernel first. */
    ring_enter(r, 0);
    head = atomic_load_explicit((_Atomic unsigned *)r->sq_head, memory_order_acquire);
    if (tail - head >= RING_ENTRIES) return NULL;
  }
  unsigned index = tail & *r->sq_mask;
  struct io_uring_sqe *sqe = &r->sqes[index];
  memset(sqe, 0, sizeof *sqe);
  r->sq_array[index] = index;
  atomic_store_explicit((_Atomic unsigned *)r->sq_tail, tail + 1, memory_order_release);
  r->to_submit++;
  return sqe;
}

static uint64_t tag(struct conn *c, int op) { return (uint64_t)(uintptr_t)c | (uint64_t)op; }

static int listen_fd;
static unsigned buffer_size = 16384;

static void queue_accept(struct ring *r) {
  struct io_uring_sqe *sqe = ring_sqe(r);
  if (!sqe) return;
  sqe->opcode = IORING_OP_ACCEPT;
  sqe->fd = listen_fd;
  sqe->user_data = OP_ACCEPT; /* no conn pointer: the tag alone */
}

static void queue_recv(struct ring *r, struct conn *c) {
  struct io_uring_sqe *sqe = ring_sqe(r);
  if (!sqe) return;
  sqe->opcode = IORING_OP_RECV;
  sqe->fd = c->fd;
  sqe->addr = (uint64_t)(uintptr_t)c->buf;
  sqe->len = buffer_size;
  sqe->user_data = tag(c, OP_RECV);
}

static void queue_send(struct ring *r, struct conn *c) {
  struct io_uring_sqe *sqe = ring_sqe(r);
  if (!sqe) return;
  sqe->opcode = IORING_OP_SEND;
  sqe->fd = c->fd;
  sqe->addr = (uint64_t)(uintptr_t)(c->buf + c->sent);
  sqe->len = c->len - c->sent;
  sqe->msg_flags = MSG_NOSIGNAL;
  sqe->user_data = tag(c, OP_SEND);
}

static void queue_close(struct ring *r, struct conn *c) {
  struct io_uring_sqe *sqe = ring_sqe(r);
  if (!sqe) return;
  sqe->opcode = IORING_OP_CLOSE;
  sqe->fd = c->fd;
  sqe->user_data = tag(c, OP_CLOSE);
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  const char *host = argc > 2 ? argv[2] : "127.0.0.1";
  if (argc > 3) buffer_size = (unsigned)atoi(argv[3]);
  if (buffer_size < 1) buffer_size = 16384;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: io_uring_enter returns EINTR */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1 || bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
      listen(listen_fd, 1024) < 0) {
    perror("echo-uring: bind/listen");
    return 1;
  }
  socklen_t alen = sizeof addr;
  getsockname(listen_fd, (struct sockaddr *)&addr, &alen);

  struct ring r;
  if (ring_setup(&r) < 0) {
    perror("echo-uring: io_uring_setup");
    return 1;
  }
  printf("listening %d\n", ntohs(addr.sin_port));
  fflush(stdout);

  queue_accept(&r);
  while (!stopping) {
    if (ring_enter(&r, 1) < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EBUSY) continue;
      perror("echo-uring: io_uring_enter");
      return 1;
    }
    unsigned head = *r.cq_head;
    unsigned tail = atomic_load_explicit((_Atomic unsigned *)r.cq_tail, memory_order_acquire);
    for (; head != tail; head++) {
      struct io_uring_cqe *cqe = &r.cqes[head & *r.cq_mask];
      int op = (int)(cqe->user_data & 7);
      struct conn *c = (struct conn *)(uintptr_t)(cqe->user_data & ~(uint64_t)7);
      int res = cqe->res;
      switch (op) {
        case OP_ACCEPT:
          if (res >= 0) {
            setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            struct conn *nc = malloc(sizeof *nc + buffer_size);
            nc->fd = res;
            nc->len = nc->sent = 0;
            queue_recv(&r, nc);
          }
          queue_accept(&r);
          break;
        case OP_RECV:
          if (res <= 0) {
            /* Peer shut down (0) or reset (< 0): everything received has
               been echoed already, since recv is only re-armed after the
               send finished. */
            queue_close(&r, c);
          } else {
            c->len = (unsigned)res;
            c->sent = 0;
            queue_send(&r, c);
          }
          break;
        case OP_SEND:
          if (res < 0) {
            queue_close(&r, c);
          } else {
            c->sent += (unsigned)res;
            if (c->sent < c->len)
              queue_send(&r, c); /* partial send: the rest first */
            else
              queue_recv(&r, c);
          }
          break;
        case OP_CLOSE:
          free(c);
          break;
      }
    }
    atomic_store_explicit((_Atomic unsigned *)r.cq_head, head, memory_order_release);
  }
  return 0;
}
