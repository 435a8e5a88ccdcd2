/* The same ping-pong as pingpong_netlib.cc, on libevent 2.1 bufferevents, as the yardstick: the
 * server moves its input evbuffer to its output (evbuffer echo); the client opens N connections, each
 * sends one message at start and then echoes whatever comes back.
 *
 *   pingpong_libevent server <port>        port 0 picks a free one; prints "port=<n>" once listening
 *   pingpong_libevent client <host> <port> <conns> <msgsize> <seconds>
 *
 * The client prints one line: bytes=<received after all connected> msgs=<bytes/msgsize> seconds=<t>.
 * One thread per process; TCP_NODELAY on both sides, as netlib does. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

/* How long the client waits for all connections before it measures with those it has. */
#define CONNECT_DEADLINE_SEC 10

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(void) {
  fprintf(stderr,
          "usage: pingpong_libevent server <port>\n"
          "       pingpong_libevent client <host> <port> <conns> <msgsize> <seconds>\n");
  exit(2);
}

static long parse_number(const char* s, const char* what, long min) {
  char* end = NULL;
  long v = strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < min) {
    fprintf(stderr, "pingpong_libevent: bad %s '%s'\n", what, s);
    exit(2);
  }
  return v;
}

static void set_nodelay(evutil_socket_t fd) {
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

/* ---- server ---- */

static void server_read(struct bufferevent* bev, void* arg) {
  (void)arg;
  bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

static void server_event(struct bufferevent* bev, short what, void* arg) {
  (void)arg;
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) bufferevent_free(bev);
}

static void server_accept(struct evconnlistener* listener, evutil_socket_t fd, struct sockaddr* sa, int len,
                          void* arg) {
  (void)listener;
  (void)sa;
  (void)len;
  struct event_base* base = arg;
  struct bufferevent* bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    evutil_closesocket(fd);
    return;
  }
  set_nodelay(fd);
  bufferevent_setcb(bev, server_read, NULL, server_event, NULL);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static int run_server(uint16_t port) {
  struct event_base* base = event_base_new();
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct evconnlistener* listener =
      evconnlistener_new_bind(base, server_accept, base, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE, 4096,
                              (struct sockaddr*)&sin, sizeof sin);
  if (!listener) {
    perror("pingpong_libevent server: listen");
    return 1;
  }
  struct sockaddr_in bound;
  socklen_t blen = sizeof bound;
  getsockname(evconnlistener_get_fd(listener), (struct sockaddr*)&bound, &blen);
  printf("port=%u\n", (unsigned)ntohs(bound.sin_port));
  fflush(stdout);
  event_base_dispatch(base); /* until SIGTERM */
  evconnlistener_free(listener);
  event_base_free(base);
  return 0;
}

/* ---- client ---- */

struct client {
  struct event_base* base;
  char* message;
  size_t msg_size;
  int conns;
  int connected;
  int measuring;
  int finished;
  double seconds;
  uint64_t bytes_read;
  uint64_t start_bytes;
  double start_time;
  struct event* deadline;
  struct event* stop;
};

static void client_finish(evutil_socket_t fd, short what, void* arg) {
  (void)fd;
  (void)what;
  struct client* c = arg;
  c->finished = 1;
  double elapsed = now_seconds() - c->start_time;
  uint64_t bytes = c->bytes_read - c->start_bytes;
  printf("bytes=%llu msgs=%llu seconds=%.3f\n", (unsigned long long)bytes,
         (unsigned long long)(bytes / c->msg_size), elapsed);
  fflush(stdout);
  event_base_loopbreak(c->base);
}

static void client_start_measuring(struct client* c) {
  if (c->measuring) return;
  c->measuring = 1;
  c->start_bytes = c->bytes_read;
  c->start_time = now_seconds();
  struct timeval tv;
  tv.tv_sec = (time_t)c->seconds;
  tv.tv_usec = (suseconds_t)((c->seconds - (double)tv.tv_sec) * 1e6);
  evtimer_add(c->stop, &tv);
}

static void client_deadline(evutil_socket_t fd, short what, void* arg) {
  (void)fd;
  (void)what;
  struct client* c = arg;
  if (!c->measuring) {
    fprintf(stderr, "pingpong_libevent client: only %d of %d connected; measuring those\n", c->connected,
            c->conns);
    client_start_measuring(c);
  }
}

static void client_read(struct bufferevent* bev, void* arg) {
  struct client* c = arg;
  struct evbuffer* input = bufferevent_get_input(bev);
  c->bytes_read += evbuffer_get_length(input);
  bufferevent_write_buffer(bev, input);
}

static void client_event(struct bufferevent* bev, short what, void* arg) {
  struct client* c = arg;
  if (what & BEV_EVENT_CONNECTED) {
    set_nodelay(bufferevent_getfd(bev));
    bufferevent_write(bev, c->message, c->msg_size);
    if (++c->connected == c->conns) client_start_measuring(c);
    return;
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    if (!c->finished) fprintf(stderr, "pingpong_libevent client: a connection closed during the run\n");
    bufferevent_free(bev);
  }
}

static int run_client(const char* host, uint16_t port, int conns, size_t msg_size, double seconds) {
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
    fprintf(stderr, "pingpong_libevent client: '%s' is not a numeric IPv4 address\n", host);
    return 2;
  }
  struct client c;
  memset(&c, 0, sizeof c);
  c.base = event_base_new();
  c.conns = conns;
  c.msg_size = msg_size;
  c.seconds = seconds;
  c.message = malloc(msg_size);
  for (size_t i = 0; i < msg_size; ++i) c.message[i] = (char)(i % 128);
  c.stop = evtimer_new(c.base, client_finish, &c);
  c.deadline = evtimer_new(c.base, client_deadline, &c);
  struct bufferevent** bevs = calloc((size_t)conns, sizeof *bevs);
  for (int i = 0; i < conns; ++i) {
    bevs[i] = bufferevent_socket_new(c.base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bevs[i], client_read, NULL, client_event, &c);
    bufferevent_enable(bevs[i], EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(bevs[i], (struct sockaddr*)&sin, sizeof sin) != 0) {
      fprintf(stderr, "pingpong_libevent client: connect failed\n");
      return 1;
    }
  }
  struct timeval deadline = {CONNECT_DEADLINE_SEC, 0};
  evtimer_add(c.deadline, &deadline);
  event_base_dispatch(c.base);
  /* Exit without freeing the bufferevents: some may already be gone, and the process ends here. */
  free(bevs);
  free(c.message);
  return 0;
}

int main(int argc, char* argv[]) {
  if (argc == 3 && strcmp(argv[1], "server") == 0) {
    return run_server((uint16_t)parse_number(argv[2], "port", 0));
  }
  if (argc == 7 && strcmp(argv[1], "client") == 0) {
    uint16_t port = (uint16_t)parse_number(argv[3], "port", 1);
    int conns = (int)parse_number(argv[4], "conns", 1);
    size_t msg_size = (size_t)parse_number(argv[5], "msgsize", 1);
    double seconds = atof(argv[6]);
    if (seconds <= 0) usage();
    return run_client(argv[2], port, conns, msg_size, seconds);
  }
  usage();
  return 2;
}
