/* zkproxy: a fault-injecting TCP proxy for ZooKeeper clients (loopback).
 *
 *   zkproxy HOST:PORT[,HOST:PORT...]
 *   zkproxy --peers 127.0.0.1:Q1:E1,127.0.0.1:Q2:E2,...
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
 * --peers proxies the links between ZooKeeper servers instead (quorum and
 * election ports, given per server), so a test can cut some of them while
 * clients stay connected. It listens once per directed pair I>J and port
 * kind, forwards raw bytes to server J, and prints
 *
 *   link I J QPORT EPORT      (one line per directed pair)
 *   ctl C
 *
 * Server I's config must name server J by I's QPORT:EPORT for J. Commands:
 *
 *   cut I J 0|1   1: close and refuse every link between I and J (both
 *                 directions, quorum and election); 0: restore
 *   isolate N 0|1 cut (or restore) N from every other server
 *   heal          restore every link
 *   cuts          the cut pairs, e.g. "ok cuts 1-2 1-3"
 *
 * A server that accepts an election connection from a lower id drops it
 * and dials back the address the lower id announced in its first message
 * (its real port, which would bypass us), so the election link's first
 * message is rewritten to announce our listener for the way back.
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
#define MAX_PEERS 5
#define MAX_LISTEN (MAX_PEERS * MAX_PEERS * 2)
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
  int lidx; /* listener it came through */
  /* --peers: upstream refused; sfd is -1 until a retry gets through */
  int64_t retry_at, give_up_at;
} conn;

/* A listening port: a client port (framed ZooKeeper packets), or in
 * --peers mode one direction of a server pair (raw bytes). */
typedef struct {
  int fd;
  struct sockaddr_in up;
  int raw;
  int from, to;  /* --peers: server ids (1-based) */
  int back_port; /* election link: our listener for to -> from, else 0 */
} listener;

static struct {
  int nl;
  listener l[MAX_LISTEN];
  int cut[MAX_PEERS + 1][MAX_PEERS + 1]; /* by unordered pair, [lo][hi] */
  int ctl;
  conn conns[MAX_CONN];
  int delay_ms;
  int swallow_left;
  int block;
  long accepted, dropped, swallowed, pkts_c2s, pkts_s2c, refused, rewritten;
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
  if (k->sfd >= 0)
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

static void queue_pkt(dir *d, const unsigned char *data, size_t len) {
  pkt *p = malloc(sizeof *p + len);
  if (!p)
    return;
  p->next = NULL;
  p->due = now_ms() + P.delay_ms;
  p->len = len;
  p->off = 0;
  memcpy(p->data, data, len);
  if (d->tail)
    d->tail->next = p;
  else
    d->head = p;
  d->tail = p;
}

/* Raw (--peers) link: forwards the buffered bytes as they are, except the
 * first message of an election link (int64 protocol version < 0, int64
 * sid, int32 length, address text), whose address becomes our listener
 * for the way back. Returns -1 to close. */
static int raw_take(conn *k, int c2s) {
  dir *d = c2s ? &k->c2s : &k->s2c;
  listener *l = &P.l[k->lidx];
  if (c2s && l->back_port && !d->seen_handshake) {
    if (d->inlen < 8)
      return 0;
    int64_t ver = (int64_t)((uint64_t)be32(d->in) << 32 | be32(d->in + 4));
    if (ver < 0) {
      if (d->inlen < 20)
        return 0;
      uint32_t alen = be32(d->in + 16);
      if (alen > 4096)
        return -1;
      if (d->inlen < 20 + (size_t)alen)
        return 0;
      unsigned char msg[64];
      char addr[32];
      int n = snprintf(addr, sizeof addr, "127.0.0.1:%d", l->back_port);
      memcpy(msg, d->in, 16);
      msg[16] = 0, msg[17] = 0, msg[18] = 0, msg[19] = (unsigned char)n;
      memcpy(msg + 20, addr, (size_t)n);
      queue_pkt(d, msg, 20 + (size_t)n);
      size_t used = 20 + (size_t)alen;
      memmove(d->in, d->in + used, d->inlen - used);
      d->inlen -= used;
      P.rewritten++;
    }
    d->seen_handshake = 1;
  }
  if (d->inlen) {
    queue_pkt(d, d->in, d->inlen);
    d->inlen = 0;
  }
  return 0;
}

/* Reads what is available from fd into d, queueing whole packets. Returns
 * -1 when the connection must close. */
static int pump_out(dir *d, int fd, int64_t now);

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
    if (r == 0) {
      /* A server that dials a higher id sends its first message and
       * closes at once (the other side dials back): deliver what came
       * before the EOF. */
      int out = c2s ? k->sfd : k->cfd;
      if (P.l[k->lidx].raw && out >= 0)
        pump_out(d, out, INT64_MAX);
      return -1;
    }
    if (r < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    d->inlen += (size_t)r;
    if (P.l[k->lidx].raw) {
      if (raw_take(k, c2s))
        return -1;
      continue;
    }
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

/* Loopback connects finish at once (a stopped server's kernel still
 * completes the handshake), so a blocking connect is fine here. */
static int up_connect(int idx) {
  int sfd = socket(AF_INET, SOCK_STREAM, 0);
  if (sfd < 0)
    return -1;
  if (connect(sfd, (struct sockaddr *)&P.l[idx].up, sizeof P.l[idx].up)) {
    close(sfd);
    return -1;
  }
  int one = 1;
  setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(sfd, F_SETFL, O_NONBLOCK);
  return sfd;
}

static int is_cut(const listener *l) {
  int a = l->from < l->to ? l->from : l->to, b = l->from ^ l->to ^ a;
  return l->raw && P.cut[a][b];
}

static void accept_one(int idx) {
  int cfd = accept(P.l[idx].fd, NULL, NULL);
  if (cfd < 0)
    return;
  if (P.block || is_cut(&P.l[idx])) {
    P.refused++;
    close(cfd);
    return;
  }
  int sfd = up_connect(idx);
  /* A server dialing a peer whose port is not open yet (a new leader
   * still setting up) retries on "refused"; an accepted-then-closed
   * connection instead makes it give up and start a new election. So a
   * peer link keeps the accepted side and retries upstream for a while. */
  if (sfd < 0 && !P.l[idx].raw) {
    P.refused++;
    close(cfd);
    return;
  }
  conn *k = NULL;
  for (int i = 0; i < MAX_CONN && !k; i++)
    if (!P.conns[i].used)
      k = &P.conns[i];
  if (!k) {
    close(cfd);
    if (sfd >= 0)
      close(sfd);
    return;
  }
  memset(k, 0, sizeof *k);
  k->used = 1;
  k->lidx = idx;
  k->cfd = cfd;
  k->sfd = sfd;
  if (sfd < 0) {
    k->retry_at = now_ms() + 100;
    k->give_up_at = now_ms() + 3000;
  }
  int one = 1;
  setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(cfd, F_SETFL, O_NONBLOCK);
  P.accepted++;
}

/* Retries the upstream of peer links that were refused (see accept_one). */
static void retry_pending(int64_t now) {
  for (int i = 0; i < MAX_CONN; i++) {
    conn *k = &P.conns[i];
    if (!k->used || k->sfd >= 0 || now < k->retry_at)
      continue;
    if ((k->sfd = up_connect(k->lidx)) >= 0)
      continue;
    if (now >= k->give_up_at) {
      P.refused++;
      conn_close(k);
    } else {
      k->retry_at = now + 100;
    }
  }
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

/* Cuts (or restores) the links between servers a and b; a cut also ends
 * the connections already open, as a real partition would. */
static void set_cut(int a, int b, int on) {
  int lo = a < b ? a : b, hi = a ^ b ^ lo;
  P.cut[lo][hi] = on != 0;
  if (!on)
    return;
  for (int i = 0; i < MAX_CONN; i++) {
    if (P.conns[i].used && is_cut(&P.l[P.conns[i].lidx])) {
      conn_close(&P.conns[i]);
      P.dropped++;
    }
  }
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
  int quit = 0, v = 0, a = 0, b = 0;
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
  } else if (sscanf(line, "cut %d %d %d", &a, &b, &v) == 3 && a != b &&
             a >= 1 && b >= 1 && a <= MAX_PEERS && b <= MAX_PEERS) {
    set_cut(a, b, v);
    snprintf(reply, sizeof reply, "ok cut %d %d %d\n", a, b, v != 0);
  } else if (sscanf(line, "isolate %d %d", &a, &v) == 2 && a >= 1 &&
             a <= MAX_PEERS) {
    for (b = 1; b <= MAX_PEERS; b++)
      if (b != a)
        set_cut(a, b, v);
    snprintf(reply, sizeof reply, "ok isolate %d %d\n", a, v != 0);
  } else if (strcmp(line, "heal") == 0) {
    memset(P.cut, 0, sizeof P.cut);
    snprintf(reply, sizeof reply, "ok heal\n");
  } else if (strcmp(line, "cuts") == 0) {
    int o = snprintf(reply, sizeof reply, "ok cuts");
    for (a = 1; a <= MAX_PEERS; a++)
      for (b = a + 1; b <= MAX_PEERS; b++)
        if (P.cut[a][b])
          o += snprintf(reply + o, sizeof reply - (size_t)o, " %d-%d", a, b);
    snprintf(reply + o, sizeof reply - (size_t)o, "\n");
  } else if (strcmp(line, "stats") == 0) {
    snprintf(reply, sizeof reply,
             "ok conns %d accepted %ld refused %ld dropped %ld swallowed %ld "
             "requests %ld replies %ld delay %d swallow_pending %d "
             "rewritten %ld\n",
             live_conns(), P.accepted, P.refused, P.dropped, P.swallowed,
             P.pkts_c2s, P.pkts_s2c, P.delay_ms, P.swallow_left, P.rewritten);
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

/* Parses "127.0.0.1:P1:P2..." into addr and up to nports ports. */
static int parse_hp(char *hp, struct sockaddr_in *sa, int *ports, int nports) {
  char *c = strchr(hp, ':');
  if (!c)
    return -1;
  *c = '\0';
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  if (inet_pton(AF_INET, hp, &sa->sin_addr) != 1 ||
      ntohl(sa->sin_addr.s_addr) >> 24 != 127)
    return -1; /* loopback only */
  for (int i = 0; i < nports; i++) {
    ports[i] = c ? atoi(c + 1) : 0;
    if (ports[i] <= 0 || ports[i] > 65535)
      return -1;
    c = strchr(c + 1, ':');
  }
  return c ? -1 : 0;
}

static int add_listener(const struct sockaddr_in *sa, int port, int raw,
                        int from, int to) {
  if (P.nl == MAX_LISTEN)
    return -1;
  listener *l = &P.l[P.nl];
  l->up = *sa;
  l->up.sin_port = htons((uint16_t)port);
  l->raw = raw, l->from = from, l->to = to;
  if ((l->fd = listen_any()) < 0)
    return -1;
  return P.nl++;
}

static int client_mode(char *list) {
  printf("hosts ");
  for (char *save, *hp = strtok_r(list, ",", &save); hp;
       hp = strtok_r(NULL, ",", &save)) {
    struct sockaddr_in sa;
    int port, i;
    if (P.nl == MAX_UP || parse_hp(hp, &sa, &port, 1) ||
        (i = add_listener(&sa, port, 0, 0, 0)) < 0)
      return -1;
    printf("%s127.0.0.1:%d", i ? "," : "", port_of(P.l[i].fd));
  }
  return P.nl > 0 ? 0 : -1;
}

static int peer_mode(char *list) {
  struct sockaddr_in sa[MAX_PEERS];
  int ports[MAX_PEERS][2], n = 0;
  for (char *save, *hp = strtok_r(list, ",", &save); hp;
       hp = strtok_r(NULL, ",", &save)) {
    if (n == MAX_PEERS || parse_hp(hp, &sa[n], ports[n], 2))
      return -1;
    n++;
  }
  if (n < 2)
    return -1;
  int idx[MAX_PEERS][MAX_PEERS][2];
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      for (int k = 0; i != j && k < 2; k++)
        if ((idx[i][j][k] =
                 add_listener(&sa[j], ports[j][k], 1, i + 1, j + 1)) < 0)
          return -1;
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < n; j++) {
      if (i == j)
        continue;
      P.l[idx[i][j][1]].back_port = port_of(P.l[idx[j][i][1]].fd);
      printf("link %d %d %d %d\n", i + 1, j + 1, port_of(P.l[idx[i][j][0]].fd),
             port_of(P.l[idx[i][j][1]].fd));
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  int peers = argc == 3 && strcmp(argv[1], "--peers") == 0;
  if ((argc != 2 && !peers) ||
      (peers ? peer_mode(argv[2]) : client_mode(argv[1]))) {
    fprintf(stderr, "usage: zkproxy 127.0.0.1:PORT[,127.0.0.1:PORT...]\n"
                    "       zkproxy --peers 127.0.0.1:QPORT:EPORT,...\n");
    return 2;
  }
  if ((P.ctl = listen_any()) < 0) {
    perror("zkproxy: listen");
    return 1;
  }
  printf("%sctl %d\n", peers ? "" : " ", port_of(P.ctl));
  fflush(stdout);

  static struct pollfd pf[MAX_LISTEN + 1 + 2 * MAX_CONN];
  static int who[MAX_LISTEN + 1 + 2 * MAX_CONN]; /* conn*2+side, or <0 */
  for (;;) {
    int n = 0;
    int64_t now = now_ms(), next_due = -1;
    retry_pending(now);
    for (int i = 0; i < P.nl; i++) {
      pf[n] = (struct pollfd){P.l[i].fd, POLLIN, 0};
      who[n++] = -2 - i;
    }
    pf[n] = (struct pollfd){P.ctl, POLLIN, 0};
    who[n++] = -1;
    for (int i = 0; i < MAX_CONN; i++) {
      conn *k = &P.conns[i];
      if (!k->used)
        continue;
      if (k->sfd < 0 && (next_due < 0 || k->retry_at < next_due))
        next_due = k->retry_at;
      /* side 0: client socket, written from s2c; side 1: server socket */
      for (int side = 0; side < (k->sfd < 0 ? 1 : 2); side++) {
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
      if (k->used && ((k->sfd >= 0 && pump_out(&k->c2s, k->sfd, now)) ||
                      pump_out(&k->s2c, k->cfd, now)))
        conn_close(k);
    }
  }
}
