/*
 * echo-epoll: the floor of the echo benchmark. One thread, one epoll set,
 * level-triggered: for each readable connection one recv() and one send() of
 * what it read, nothing else per message (no ring, no queue, no JS). What it
 * costs per round trip is, near enough, what the kernel's TCP work for one
 * recv and one send costs on this machine, which every echo server pays
 * whatever it is written with: no server can sit far below it, so the
 * benchmark prints every contender's CPU against it too.
 *
 * It is still a correct echo: a send that does not take everything (the peer
 * stopped reading) keeps the rest, stops reading that connection and waits
 * for EPOLLOUT; a connection ends on the peer's shutdown, reset or error.
 *
 *   cc -O2 -o echo-epoll echo-epoll.c
 *   ./echo-epoll [port] [host] [buffer-size]      prints "listening <port>"
 *
 * SIGINT / SIGTERM end it with exit 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* One connection: its socket and the bytes of its last recv still to send. */
struct conn {
  int fd;
  unsigned len;  /* bytes received into buf */
  unsigned sent; /* bytes of buf already sent */
  unsigned char buf[];
};

static volatile sig_atomic_t stopping;
static void on_signal(int sig) { (void)sig; stopping = 1; }

static int epoll_fd;
static unsigned buffer_size = 16384;

static void watch(struct conn *c, int op, unsigned events) {
  struct epoll_event event;
  memset(&event, 0, sizeof event);
  event.events = events;
  event.data.ptr = c;
  epoll_ctl(epoll_fd, op, c->fd, &event);
}

static void end(struct conn *c) {
  close(c->fd); /* also leaves the epoll set */
  free(c);
}

/* Sends what is left of the last recv. Returns 0 when all of it went out, 1
   when the socket is full (now watched for EPOLLOUT), -1 when the connection
   ended. */
static int flush(struct conn *c) {
  while (c->sent < c->len) {
    ssize_t n = send(c->fd, c->buf + c->sent, c->len - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c->sent += (unsigned)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      watch(c, EPOLL_CTL_MOD, EPOLLOUT);
      return 1;
    } else {
      end(c);
      return -1;
    }
  }
  return 0;
}

static void on_event(struct conn *c, unsigned events) {
  if (c->sent < c->len) {
    /* Waiting for room: finish the send, then read again. */
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int flushed = flush(c);
    if (flushed == 0) watch(c, EPOLL_CTL_MOD, EPOLLIN);
    return;
  }
  ssize_t n = recv(c->fd, c->buf, buffer_size, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n == 0) {
    /* The peer shut down; everything it sent is echoed already. */
    shutdown(c->fd, SHUT_WR);
    end(c);
    return;
  }
  if (n < 0) {
    end(c);
    return;
  }
  c->len = (unsigned)n;
  c->sent = 0;
  flush(c);
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  const char *host = argc > 2 ? argv[2] : "127.0.0.1";
  if (argc > 3) buffer_size = (unsigned)atoi(argv[3]);
  if (buffer_size < 1) buffer_size = 16384;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: epoll_wait returns EINTR */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  int listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1 || bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
      listen(listen_fd, 1024) < 0) {
    perror("echo-epoll: bind/listen");
    return 1;
  }
  socklen_t alen = sizeof addr;
  getsockname(listen_fd, (struct sockaddr *)&addr, &alen);

  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event listen_event;
  memset(&listen_event, 0, sizeof listen_event);
  listen_event.events = EPOLLIN;
  listen_event.data.ptr = NULL; /* the listener: no conn */
  if (epoll_fd < 0 || epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &listen_event) < 0) {
    perror("echo-epoll: epoll");
    return 1;
  }
  printf("listening %d\n", ntohs(addr.sin_port));
  fflush(stdout);

  struct epoll_event events[256];
  while (!stopping) {
    int count = epoll_wait(epoll_fd, events, 256, -1);
    if (count < 0) {
      if (errno == EINTR) continue;
      perror("echo-epoll: epoll_wait");
      return 1;
    }
    for (int i = 0; i < count; i++) {
      struct conn *c = events[i].data.ptr;
      if (c != NULL) {
        on_event(c, events[i].events);
        continue;
      }
      int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) continue;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      struct conn *nc = malloc(sizeof *nc + buffer_size);
      if (nc == NULL) {
        close(fd);
        continue;
      }
      nc->fd = fd;
      nc->len = nc->sent = 0;
      watch(nc, EPOLL_CTL_ADD, EPOLLIN);
    }
  }
  return 0;
}
