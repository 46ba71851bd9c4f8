/* zkproxy: a fault-injecting TCP proxy for ZooKeeper clients (loopback).
 *
 *   zkproxy HOST:PORT[,HOST:PORT...]
 *
 * Listens on one 127.0.0.1 port per upstream server and forwards whole
 * ZooKeeper packets (4-byte big-endian length + payload) both ways. On
 * start it prints one line to stdout:
 *
 *   hosts 127.0.0.1:A,127.0.0.1:B,... ctl C
 *
 * and then serves. Faults are commands on the control port (one line per
 * TCP connection, one reply line back):
 *
 *   drop          close every proxied connection (clients see conn loss)
 *   delay MS      hold every packet MS ms before forwarding (0: off)
 *   swallow N     for the next N create/create2 requests, drop the reply
 *                 and close that connection: the client cannot know if
 *                 its node exists (the "lost create" of SPEC.md)
 *   block 0|1     1: refuse new connections (close them at once)
 *   stats         counters
 *   quit          exit
 *
 * It parses just enough of the protocol to pair requests with replies:
 * the first packet each way is the connect handshake (no header); then a
 * request starts with xid(int32) type(int32), a reply with xid(int32)
 * zxid(int64) err(int32).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_UP 8
#define MAX_CONN 256
#define MAX_WATCH 32
#define MAX_PACKET (16 * 1024 * 1024)
#define ZK_CREATE 1
#define ZK_CREATE2 15

typedef struct pkt {
  struct pkt *next;
  int64_t due; /* monotonic ms at which it may be forwarded */
  size_t len, off;
  unsigned char data[];
} pkt;

/* One direction of a proxied connection. */
typedef struct {
  unsigned char *in; /* bytes read, not yet a whole packet */
  size_t inlen, incap;
  int seen_handshake;
  pkt *head, *tail; /* whole packets waiting to be written */
} dir;

typedef struct {
  int used;
  int cfd, sfd;
  dir c2s, s2c;
  int32_t watch[MAX_WATCH]; /* create xids whose reply we swallow */
  int nwatch;
} conn;

static struct {
  int nup;
  struct sockaddr_in up[MAX_UP];
  int lfd[MAX_UP];
  int ctl;
  conn conns[MAX_CONN];
  int delay_ms;
  int swallow_left;
  int block;
  long accepted, dropped, swallowed, pkts_c2s, pkts_s2c, refused;
} P;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static int listen_any(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 128)) {
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

static int port_of(int fd) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &len);
  return ntohs(sa.sin_port);
}

static void dir_free(dir *d) {
  free(d->in);
  while (d->head) {
    pkt *p = d->head;
    d->head = p->next;
    free(p);
  }
  memset(d, 0, sizeof *d);
}

static void conn_close(conn *k) {
  if (!k->used)
    return;
  close(k->cfd);
  close(k->sfd);
  dir_free(&k->c2s);
  dir_free(&k->s2c);
  k->used = 0;
}

static void watch_add(conn *k, int32_t xid) {
  if (k->nwatch < MAX_WATCH)
    k->watch[k->nwatch++] = xid;
}

static int watch_take(conn *k, int32_t xid) {
  for (int i = 0; i < k->nwatch; i++) {
    if (k->watch[i] == xid) {
      k->watch[i] = k->watch[--k->nwatch];
      return 1;
    }
  }
  return 0;
}

/* Inspects one whole packet (length prefix included) read from the client
 * (c2s) or the server. Returns 0 to forward it, 1 to swallow it and close
 * the connection. */
static int inspect(conn *k, int c2s, const unsigned char *p, size_t len) {
  dir *d = c2s ? &k->c2s : &k->s2c;
  if (!d->seen_handshake) {
    d->seen_handshake = 1;
    return 0;
  }
  if (len < 12)
    return 0;
  int32_t xid = (int32_t)be32(p + 4);
  if (c2s) {
    P.pkts_c2s++;
    int32_t type = (int32_t)be32(p + 8);
    if ((type == ZK_CREATE || type == ZK_CREATE2) && P.swallow_left > 0) {
      P.swallow_left--;
      watch_add(k, xid);
    }
    return 0;
  }
  P.pkts_s2c++;
  if (k->nwatch && watch_take(k, xid)) {
    P.swallowed++;
    return 1;
  }
  return 0;
}

/* Reads what is available from fd into d, queueing whole packets. Returns
 * -1 when the connection must close. */
static int pump_in(conn *k, int c2s) {
  dir *d = c2s ? &k->c2s : &k->s2c;
  int fd = c2s ? k->cfd : k->sfd;
  for (;;) {
    if (d->incap - d->inlen < 4096) {
      size_t cap = d->incap ? d->incap * 2 : 65536;
      unsigned char *n = realloc(d->in, cap);
      if (!n)
        return -1;
      d->in = n;
      d->incap = cap;
    }
    ssize_t r = read(fd, d->in + d->inlen, d->incap - d->inlen);
    if (r == 0)
      return -1;
    if (r < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    d->inlen += (size_t)r;
    size_t off = 0;
    while (d->inlen - off >= 4) {
      uint32_t plen = be32(d->in + off);
      if (plen > MAX_PACKET)
        return -1;
      size_t total = 4 + (size_t)plen;
      if (d->inlen - off < total)
        break;
      if (inspect(k, c2s, d->in + off, total))
        return -1;
      pkt *p = malloc(sizeof *p + total);
      if (!p)
        return -1;
      p->next = NULL;
      p->due = now_ms() + P.delay_ms;
      p->len = total;
      p->off = 0;
      memcpy(p->data, d->in + off, total);
      if (d->tail)
        d->tail->next = p;
      else
        d->head = p;
      d->tail = p;
      off += total;
    }
    memmove(d->in, d->in + off, d->inlen - off);
    d->inlen -= off;
  }
}

/* Writes due packets of d to fd. -1 on a write error. */
static int pump_out(dir *d, int fd, int64_t now) {
  while (d->head && d->head->due <= now) {
    pkt *p = d->head;
    ssize_t w = write(fd, p->data + p->off, p->len - p->off);
    if (w < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    p->off += (size_t)w;
    if (p->off < p->len)
      return 0;
    d->head = p->next;
    if (!d->head)
      d->tail = NULL;
    free(p);
  }
  return 0;
}

static void accept_one(int idx) {
  int cfd = accept(P.lfd[idx], NULL, NULL);
  if (cfd < 0)
    return;
  if (P.block) {
    P.refused++;
    close(cfd);
    return;
  }
  int sfd = socket(AF_INET, SOCK_STREAM, 0);
  /* Loopback connects finish at once (a stopped server's kernel still
   * completes the handshake), so a blocking connect is fine here. */
  if (sfd < 0 ||
      connect(sfd, (struct sockaddr *)&P.up[idx], sizeof P.up[idx]) != 0) {
    P.refused++;
    close(cfd);
    if (sfd >= 0)
      close(sfd);
    return;
  }
  conn *k = NULL;
  for (int i = 0; i < MAX_CONN && !k; i++)
    if (!P.conns[i].used)
      k = &P.conns[i];
  if (!k) {
    close(cfd);
    close(sfd);
    return;
  }
  memset(k, 0, sizeof *k);
  k->used = 1;
  k->cfd = cfd;
  k->sfd = sfd;
  int one = 1;
  setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(cfd, F_SETFL, O_NONBLOCK);
  fcntl(sfd, F_SETFL, O_NONBLOCK);
  P.accepted++;
}

static void drop_all(void) {
  for (int i = 0; i < MAX_CONN; i++) {
    if (P.conns[i].used) {
      conn_close(&P.conns[i]);
      P.dropped++;
    }
  }
}

static int live_conns(void) {
  int n = 0;
  for (int i = 0; i < MAX_CONN; i++)
    n += P.conns[i].used;
  return n;
}

/* Handles one control connection: one command line, one reply line. */
static int control(void) {
  int fd = accept(P.ctl, NULL, NULL);
  if (fd < 0)
    return 0;
  struct timeval tv = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char line[256];
  size_t len = 0;
  while (len < sizeof line - 1) {
    ssize_t r = read(fd, line + len, sizeof line - 1 - len);
    if (r <= 0)
      break;
    len += (size_t)r;
    if (memchr(line, '\n', len))
      break;
  }
  line[len] = '\0';
  line[strcspn(line, "\r\n")] = '\0';
  char reply[512];
  int quit = 0, v = 0;
  if (strcmp(line, "drop") == 0) {
    int n = live_conns();
    drop_all();
    snprintf(reply, sizeof reply, "ok dropped %d\n", n);
  } else if (sscanf(line, "delay %d", &v) == 1 && v >= 0) {
    P.delay_ms = v;
    snprintf(reply, sizeof reply, "ok delay %d\n", v);
  } else if (sscanf(line, "swallow %d", &v) == 1 && v >= 0) {
    P.swallow_left = v;
    snprintf(reply, sizeof reply, "ok swallow %d\n", v);
  } else if (sscanf(line, "block %d", &v) == 1) {
    P.block = v != 0;
    snprintf(reply, sizeof reply, "ok block %d\n", P.block);
  } else if (strcmp(line, "stats") == 0) {
    snprintf(reply, sizeof reply,
             "ok conns %d accepted %ld refused %ld dropped %ld swallowed %ld "
             "requests %ld replies %ld delay %d swallow_pending %d\n",
             live_conns(), P.accepted, P.refused, P.dropped, P.swallowed,
             P.pkts_c2s, P.pkts_s2c, P.delay_ms, P.swallow_left);
  } else if (strcmp(line, "quit") == 0) {
    snprintf(reply, sizeof reply, "ok bye\n");
    quit = 1;
  } else {
    snprintf(reply, sizeof reply, "error unknown command\n");
  }
  if (write(fd, reply, strlen(reply)) < 0) {
    /* the controller went away; nothing to tell it */
  }
  close(fd);
  return quit;
}

static int parse_upstreams(char *list) {
  for (char *save, *hp = strtok_r(list, ",", &save); hp;
       hp = strtok_r(NULL, ",", &save)) {
    char *colon = strrchr(hp, ':');
    if (!colon || P.nup == MAX_UP)
      return -1;
    *colon = '\0';
    struct sockaddr_in *sa = &P.up[P.nup];
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, hp, &sa->sin_addr) != 1 ||
        ntohl(sa->sin_addr.s_addr) >> 24 != 127)
      return -1; /* loopback only */
    P.nup++;
  }
  return P.nup > 0 ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc != 2 || parse_upstreams(argv[1])) {
    fprintf(stderr, "usage: zkproxy 127.0.0.1:PORT[,127.0.0.1:PORT...]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  for (int i = 0; i < P.nup; i++) {
    if ((P.lfd[i] = listen_any()) < 0) {
      perror("zkproxy: listen");
      return 1;
    }
  }
  if ((P.ctl = listen_any()) < 0) {
    perror("zkproxy: listen");
    return 1;
  }
  printf("hosts ");
  for (int i = 0; i < P.nup; i++)
    printf("%s127.0.0.1:%d", i ? "," : "", port_of(P.lfd[i]));
  printf(" ctl %d\n", port_of(P.ctl));
  fflush(stdout);

  static struct pollfd pf[MAX_UP + 1 + 2 * MAX_CONN];
  static int who[MAX_UP + 1 + 2 * MAX_CONN]; /* conn index*2+side, or <0 */
  for (;;) {
    int n = 0;
    int64_t now = now_ms(), next_due = -1;
    for (int i = 0; i < P.nup; i++) {
      pf[n] = (struct pollfd){P.lfd[i], POLLIN, 0};
      who[n++] = -2 - i;
    }
    pf[n] = (struct pollfd){P.ctl, POLLIN, 0};
    who[n++] = -1;
    for (int i = 0; i < MAX_CONN; i++) {
      conn *k = &P.conns[i];
      if (!k->used)
        continue;
      /* side 0: client socket, written from s2c; side 1: server socket */
      for (int side = 0; side < 2; side++) {
        dir *out = side ? &k->c2s : &k->s2c;
        short ev = POLLIN;
        if (out->head && out->head->due <= now)
          ev |= POLLOUT;
        else if (out->head && (next_due < 0 || out->head->due < next_due))
          next_due = out->head->due;
        pf[n] = (struct pollfd){side ? k->sfd : k->cfd, ev, 0};
        who[n++] = i * 2 + side;
      }
    }
    int timeout = next_due < 0 ? 1000 : (int)(next_due - now);
    if (timeout < 0)
      timeout = 0;
    if (poll(pf, (nfds_t)n, timeout) < 0 && errno != EINTR) {
      perror("zkproxy: poll");
      return 1;
    }
    now = now_ms();
    for (int j = 0; j < n; j++) {
      if (who[j] == -1) {
        if ((pf[j].revents & POLLIN) && control())
          return 0;
        continue;
      }
      if (who[j] <= -2) {
        if (pf[j].revents & POLLIN)
          accept_one(-2 - who[j]);
        continue;
      }
      conn *k = &P.conns[who[j] / 2];
      int side = who[j] % 2;
      if (!k->used || pf[j].fd != (side ? k->sfd : k->cfd))
        continue; /* closed (and maybe reused) earlier in this round */
      int bad = 0;
      if (pf[j].revents & (POLLIN | POLLHUP | POLLERR))
        bad = pump_in(k, side == 0);
      if (!bad)
        bad = pump_out(side ? &k->c2s : &k->s2c, pf[j].fd, now);
      if (bad)
        conn_close(k);
    }
    /* Delayed packets that fell due while nothing else happened. */
    for (int i = 0; i < MAX_CONN; i++) {
      conn *k = &P.conns[i];
      if (k->used &&
          (pump_out(&k->c2s, k->sfd, now) || pump_out(&k->s2c, k->cfd, now)))
        conn_close(k);
    }
  }
}
