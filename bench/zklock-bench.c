/* zklock-bench: latency and throughput of zklock's locks against a live
 * ZooKeeper, next to the bare C client doing the same znode work. Prints one
 * line per scenario in the format of the comparison anchors
 * (key=value figures); asserts nothing.
 *
 *   zklock-bench [-z HOSTS] [-n N] [-w WARMUP] [-t SECS] [-R MS] [-A]
 *                [-M HOSTS] [-S] [SCENARIO...]
 *
 * -n acquisitions per scenario (2000), -w warm-up rounds (200), -t limit for
 * the herd (300 s), -R zoo_set_servers_resolution_delay() for the raw
 * handles (default: the C client's own, re-resolving on every poll), -A
 * opens every zklock client with await_release=1 (unlock waits for the
 * delete; default: pipelined release), -M the servers to count requests on
 * with mntr (default: HOSTS; give the real ones when HOSTS is a proxy), -S
 * spreads the sessions: session i connects with HOSTS rotated by i places
 * and zoo_deterministic_conn_order(1), so an ensemble's servers each get
 * their share (contended lines report servers=, the distinct ones used).
 *
 * SCENARIO (default: all of them, with contended:2 contended:8
 * contended:32 rwlock:8 herd:20:1000):
 *   raw          create(ephemeral sequential) + delete, synchronous: the floor
 *   rawasync     the same with the async API (answers reach the caller through
 *                the client's completion thread, as zklock's do)
 *   rawseq       create, getChildren, delete in turn, sync (Curator's order)
 *   rawpipe      async create2 + getChildren sent back to back, then delete:
 *                what an uncontended zklock acquire+release does on the wire
 *   rawwatch     rawpipe plus the fire-and-forget getData(watch) on the own
 *                node that zklock sends after acquiring
 *   mutex        uncontended zklock_mutex lock+unlock
 *   rwread       uncontended zklock_rwlock rdlock+unlock
 *   contended:K  K sessions (one thread each) take one mutex N times in all;
 *                handoff_*: from the holder's unlock call to the next
 *                holder's grant (CLOCK_MONOTONIC across the threads), when
 *                that holder was already waiting; handoff_requests_*: the
 *                requests (zklock_stats.requests) the next holder's client
 *                sent in that time, i.e. on the critical path (median, max)
 *   rwlock:K     K sessions, 1 op in 4 a write, N ops in all
 *   herd:S:W     W waiters over S sessions queue behind a holder; drain time
 *                after its release, server requests per handoff, memory per
 *                waiting lock
 *   asyncherd:S:W the same with W zklock_mutex_lock_async waiters on one
 *                thread (S loop-mode clients, one poll() loop); requests
 *                counted on every server of HOSTS
 *   rwlock:K:R, sem:P:S   see bench/bench_recipes.h
 *   rawhandoff, paths:P:K, rawpaths:P:K   see bench/bench_recipes.h
 *
 * Requests are counted with the servers' `mntr` zk_packets_received (every
 * host of -M or HOSTS; needs 4lw.commands.whitelist to include mntr), so
 * run against servers nobody else is using. */
#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zklock.h>
#include <zookeeper/zookeeper.h>

#include "bench_recipes.h"

static const char *hosts = "127.0.0.1:2181";
static int nops = 2000;
static int warmup = 200;
/* -R: zoo_set_servers_resolution_delay() for the raw handles; 0 keeps the
 * C client's default (re-resolve the host names on every poll) */
static int resolve_delay_ms = 0;
/* -A: zklock clients wait for the server's answer in unlock */
static int await_release = 0;

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* rc is a zklock_err */
static void die(const char *what, int rc) {
  fprintf(stderr, "zklock-bench: %s: %s\n", what, zklock_strerror(rc));
  exit(1);
}

/* zrc is a ZooKeeper code (or errno for the system calls) */
static void die_zk(const char *what, int zrc) {
  fprintf(stderr, "zklock-bench: %s: %s\n", what, zerror(zrc));
  exit(1);
}

static int dbl_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sorts lat and returns the element at rank num/den (like the anchors:
 * lat[n/2] and lat[n*99/100]). */
static double pct(double *lat, int n, int num, int den) {
  if (n <= 0)
    return 0;
  qsort(lat, (size_t)n, sizeof *lat, dbl_cmp);
  return lat[(long)n * num / den];
}

static char *unique_path(const char *what) {
  static int counter;
  char buf[128];
  snprintf(buf, sizeof buf, "/zklock-bench-%s-%ld-%lld-%d", what,
           (long)getpid(), (long long)now_us(), counter++);
  return strdup(buf);
}

/* ---- server statistics (four-letter words) ---- */

/* -S, -M and the rest, for bench_recipes.c and bench_handoff.c too */
static bench_recipes_cfg bcfg;

/* mntr zk_packets_received over every server of -M (default: HOSTS):
 * sessions spread over an ensemble send to all of them. -1 if any is
 * unavailable. */
static long long packets_received(void) { return bench_packets_all(&bcfg); }

static long long packets_received_all(void) { return bench_packets_all(&bcfg); }

/* Requests per op from two packet counts, or -1 when mntr is unavailable. */
static double per(long long before, long long after, int n) {
  if (before < 0 || after < 0 || n <= 0)
    return -1;
  return (double)(after - before) / n;
}

static long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, res = 0;
  if (!f)
    return 0;
  if (fscanf(f, "%ld %ld", &size, &res) != 2)
    res = 0;
  fclose(f);
  return res * sysconf(_SC_PAGESIZE);
}

/* ---- raw C client ---- */

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int connected;
  int pending;
  int rc;
  char created[256];
} rawctx;

static void raw_watcher(zhandle_t *zh, int type, int state, const char *path,
                        void *ctx) {
  (void)zh;
  (void)path;
  rawctx *r = ctx;
  if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) {
    pthread_mutex_lock(&r->mu);
    r->connected = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
  }
}

static zhandle_t *raw_open(rawctx *r) {
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  r->connected = 0;
  char hp[1024];
  bench_session_hosts(&bcfg, hp, sizeof hp);
  zhandle_t *zh = zookeeper_init(hp, raw_watcher, 10000, NULL, r, 0);
  if (!zh)
    die_zk("zookeeper_init", errno);
  if (resolve_delay_ms)
    zoo_set_servers_resolution_delay(zh, resolve_delay_ms);
  pthread_mutex_lock(&r->mu);
  while (!r->connected)
    pthread_cond_wait(&r->cv, &r->mu);
  pthread_mutex_unlock(&r->mu);
  return zh;
}

static void raw_done(rawctx *r, int rc) {
  pthread_mutex_lock(&r->mu);
  if (rc != ZOK)
    r->rc = rc;
  if (--r->pending == 0)
    pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static void raw_create_done(int rc, const char *path, const struct Stat *st,
                            const void *data) {
  (void)st;
  rawctx *r = (rawctx *)data;
  if (rc == ZOK)
    snprintf(r->created, sizeof r->created, "%s", path);
  raw_done(r, rc);
}

static void raw_children_done(int rc, const struct String_vector *sv,
                              const void *data) {
  (void)sv;
  raw_done((rawctx *)data, rc);
}

static void raw_void_done(int rc, const void *data) {
  raw_done((rawctx *)data, rc);
}

static void raw_ignore_get(int rc, const char *v, int vlen,
                           const struct Stat *st, const void *data) {
  (void)rc;
  (void)v;
  (void)vlen;
  (void)st;
  (void)data;
}

/* Waits for the async calls counted in r->pending. */
static void raw_wait(rawctx *r, const char *what) {
  pthread_mutex_lock(&r->mu);
  while (r->pending > 0)
    pthread_cond_wait(&r->cv, &r->mu);
  pthread_mutex_unlock(&r->mu);
  if (r->rc != ZOK)
    die_zk(what, r->rc);
}

static void raw_expect(rawctx *r, int n) {
  pthread_mutex_lock(&r->mu);
  r->pending = n;
  r->rc = ZOK;
  pthread_mutex_unlock(&r->mu);
}

/* The bare C client doing (parts of) what a lock acquire+release does, to
 * split zklock's time into its pieces. */
enum {
  RAW_SYNC,  /* create + delete, sync API (answers on the I/O thread) */
  RAW_ASYNC, /* create2 + delete, async API (via the completion thread) */
  RAW_SEQ,   /* create, getChildren, delete one after another, sync */
  RAW_PIPE,  /* create2 + getChildren back to back, then delete, async */
  RAW_WATCH, /* RAW_PIPE plus an unawaited getData(watch) on the node */
  /* getChildren sent BEFORE create2, so the read need not queue behind
   * the create's fsync (timing only: such a listing could miss a node) */
  RAW_PRE,
  RAW_NMODES
};

static const char *raw_names[RAW_NMODES] = {
    "raw create+delete",
    "raw async create2+delete",
    "raw create+getChildren+delete",
    "raw async create2+getChildren+delete",
    "raw async create2+getChildren+getData(w)+delete",
    "raw async getChildren+create2+delete"};

typedef struct {
  rawctx r;
  zhandle_t *zh;
  char *path;
  char prefix[300];
  char data[64];
  int dlen;
} rawbench;

static void raw_setup(rawbench *rb) {
  memset(rb, 0, sizeof *rb);
  rb->zh = raw_open(&rb->r);
  rb->path = unique_path("raw");
  int zrc =
      zoo_create(rb->zh, rb->path, "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
  if (zrc != ZOK)
    die_zk("create parent", zrc);
  snprintf(rb->prefix, sizeof rb->prefix,
           "%s/x-0123456789abcdef0123456789abcdef-", rb->path);
  /* about the size of zklock's owner data, so the writes match */
  rb->dlen = snprintf(rb->data, sizeof rb->data, "host=benchhost\npid=%ld\n",
                      (long)getpid());
}

static void raw_teardown(rawbench *rb) {
  zoo_delete(rb->zh, rb->path, -1);
  zookeeper_close(rb->zh);
  free(rb->path);
}

/* One acquire+release worth of znode work in the given mode. */
static void raw_op(rawbench *rb, int mode) {
  rawctx *r = &rb->r;
  zhandle_t *zh = rb->zh;
  int zrc;
  if (mode == RAW_SYNC || mode == RAW_SEQ) {
    zrc =
        zoo_create(zh, rb->prefix, rb->data, rb->dlen, &ZOO_OPEN_ACL_UNSAFE,
                   ZOO_EPHEMERAL | ZOO_SEQUENCE, r->created, sizeof r->created);
    if (zrc != ZOK)
      die_zk("create", zrc);
    if (mode == RAW_SEQ) {
      struct String_vector sv;
      zrc = zoo_get_children(zh, rb->path, 0, &sv);
      if (zrc != ZOK)
        die_zk("getChildren", zrc);
      deallocate_String_vector(&sv);
    }
    zrc = zoo_delete(zh, r->created, -1);
    if (zrc != ZOK)
      die_zk("delete", zrc);
    return;
  }
  raw_expect(r, mode == RAW_ASYNC ? 1 : 2);
  zrc = ZOK;
  if (mode == RAW_PRE)
    zrc = zoo_aget_children(zh, rb->path, 0, raw_children_done, r);
  if (zrc == ZOK)
    zrc = zoo_acreate2(zh, rb->prefix, rb->data, rb->dlen, &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_EPHEMERAL | ZOO_SEQUENCE, raw_create_done, r);
  if (zrc == ZOK && (mode == RAW_PIPE || mode == RAW_WATCH))
    zrc = zoo_aget_children(zh, rb->path, 0, raw_children_done, r);
  if (zrc != ZOK)
    die_zk("acreate2/aget_children", zrc);
  raw_wait(r, "create2");
  if (mode == RAW_WATCH)
    zoo_aget(zh, r->created, 1, raw_ignore_get, NULL);
  raw_expect(r, 1);
  zrc = zoo_adelete(zh, r->created, -1, raw_void_done, r);
  if (zrc != ZOK)
    die_zk("adelete", zrc);
  raw_wait(r, "delete");
}

/* Times nops calls of op after warmup untimed ones and prints one line:
 * median and p99 latency, throughput, server requests per call. */
static void measure(const char *name, void (*op)(void *), void *arg) {
  double *lat = malloc(sizeof *lat * (size_t)nops);
  long long p0 = 0;
  double t0 = 0;
  for (int i = -warmup; i < nops; i++) {
    if (i == 0) {
      p0 = packets_received();
      t0 = now_us();
    }
    double s = now_us();
    op(arg);
    if (i >= 0)
      lat[i] = now_us() - s;
  }
  double t1 = now_us();
  long long p1 = packets_received();
  printf("%s: n=%d median_us=%.1f p99_us=%.1f ops_s=%.0f violations=0 "
         "requests_per_op=%.2f\n",
         name, nops, pct(lat, nops, 1, 2), pct(lat, nops, 99, 100),
         nops / ((t1 - t0) / 1e6), per(p0, p1, nops));
  fflush(stdout);
  free(lat);
}

typedef struct {
  rawbench rb;
  int mode;
} raw_arg;

static void raw_call(void *p) {
  raw_arg *a = p;
  raw_op(&a->rb, a->mode);
}

static void bench_raw(int mode) {
  raw_arg a = {.mode = mode};
  raw_setup(&a.rb);
  measure(raw_names[mode], raw_call, &a);
  raw_teardown(&a.rb);
}

/* ---- zklock, uncontended ---- */

static zklock_client *open_client(void) {
  zklock_client_opts o;
  memset(&o, 0, sizeof o);
  o.await_release = await_release;
  zklock_client *c;
  char hp[1024];
  bench_session_hosts(&bcfg, hp, sizeof hp);
  int rc = zklock_client_open(hp, &o, &c);
  if (rc)
    die("zklock_client_open", rc);
  return c;
}

typedef struct {
  zklock_mutex *m;
  zklock_rwlock *l;
} lock_pair;

static void lock_unlock(void *p) {
  lock_pair *a = p;
  int rc = a->l ? zklock_rwlock_rdlock(a->l, -1) : zklock_mutex_lock(a->m, -1);
  if (rc)
    die("lock", rc);
  rc = a->l ? zklock_rwlock_unlock(a->l) : zklock_mutex_unlock(a->m);
  if (rc)
    die("unlock", rc);
}

static void bench_uncontended(int rw) {
  zklock_client *c = open_client();
  char *path = unique_path(rw ? "rwread" : "mutex");
  lock_pair a = {NULL, NULL};
  int rc =
      rw ? zklock_rwlock_new(c, path, &a.l) : zklock_mutex_new(c, path, &a.m);
  if (rc)
    die("new", rc);
  measure(rw ? "zklock rwlock read uncontended" : "zklock mutex uncontended",
          lock_unlock, &a);
  zklock_mutex_free(a.m);
  zklock_rwlock_free(a.l);
  zklock_client_close(c);
  free(path);
}

/* ---- zklock, contended (K sessions, one thread each) ---- */

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int go;
  atomic_int left;
  atomic_int inside; /* holders in the critical section (mutex / writers) */
  atomic_int readers;
  atomic_int violations;
  atomic_int reads, writes;
  /* CLOCK_MONOTONIC ns of the last holder's unlock call (mutex only):
   * written while holding, read by the next holder at its grant */
  atomic_llong unlock_ns;
  /* contended mutex: every worker's client, and its request counter
   * (zklock_stats.requests) as the last holder saw it at its unlock call */
  int k;
  zklock_client **cl;
  atomic_llong *req_at_unlock;
  int rw;
  const char *path;
} shared;

typedef struct {
  shared *sh;
  zklock_client *c;
  double *lat;
  int nlat;
  double *hand; /* handoffs: previous unlock call -> this grant */
  double *hreq; /* requests this waiter sent in that time */
  int nhand;
  int id;
  unsigned seed;
} worker;

static void gate_wait(shared *sh) {
  pthread_mutex_lock(&sh->mu);
  while (!sh->go)
    pthread_cond_wait(&sh->cv, &sh->mu);
  pthread_mutex_unlock(&sh->mu);
}

static void gate_open(shared *sh) {
  pthread_mutex_lock(&sh->mu);
  sh->go = 1;
  pthread_cond_broadcast(&sh->cv);
  pthread_mutex_unlock(&sh->mu);
}

static void critical_exclusive(shared *sh) {
  if (atomic_fetch_add(&sh->inside, 1) != 0 || atomic_load(&sh->readers) != 0)
    atomic_fetch_add(&sh->violations, 1);
  atomic_fetch_sub(&sh->inside, 1);
}

static void critical_shared(shared *sh) {
  atomic_fetch_add(&sh->readers, 1);
  if (atomic_load(&sh->inside) != 0)
    atomic_fetch_add(&sh->violations, 1);
  atomic_fetch_sub(&sh->readers, 1);
}

static long long client_requests(zklock_client *c) {
  zklock_stats st;
  memset(&st, 0, sizeof st);
  st.size = sizeof st;
  return zklock_client_stats(c, &st) == ZKLOCK_OK ? (long long)st.requests : -1;
}

/* The holder, at its unlock call: the time, every client's requests. */
static void handoff_mark(shared *sh) {
  for (int j = 0; j < sh->k; j++)
    atomic_store(&sh->req_at_unlock[j], client_requests(sh->cl[j]));
  atomic_store(&sh->unlock_ns, (long long)(now_us() * 1e3));
}

/* At a grant: if this waiter asked (at start_us) before the previous
 * holder called unlock, the time since that call is one handoff, and the
 * requests its client sent since are the ones on the critical path. */
static void handoff_note(worker *w, double start_us) {
  double g = now_us();
  long long u = atomic_load(&w->sh->unlock_ns);
  if (u > 0 && u / 1e3 > start_us) {
    long long r0 = atomic_load(&w->sh->req_at_unlock[w->id]);
    w->hreq[w->nhand] = (double)(client_requests(w->c) - r0);
    w->hand[w->nhand++] = g - u / 1e3;
  }
}

static void *contend_main(void *arg) {
  worker *w = arg;
  shared *sh = w->sh;
  zklock_mutex *m = NULL;
  zklock_rwlock *l = NULL;
  int rc = sh->rw ? zklock_rwlock_new(w->c, sh->path, &l)
                  : zklock_mutex_new(w->c, sh->path, &m);
  if (rc)
    die("new", rc);
  gate_wait(sh);
  while (atomic_fetch_sub(&sh->left, 1) > 0) {
    double s = now_us();
    int write = !sh->rw || rand_r(&w->seed) % 4 == 0;
    if (!sh->rw)
      rc = zklock_mutex_lock(m, -1);
    else if (write)
      rc = zklock_rwlock_wrlock(l, -1);
    else
      rc = zklock_rwlock_rdlock(l, -1);
    if (rc)
      die("lock", rc);
    if (!sh->rw)
      handoff_note(w, s);
    if (write)
      critical_exclusive(sh);
    else
      critical_shared(sh);
    atomic_fetch_add(write ? &sh->writes : &sh->reads, 1);
    if (!sh->rw)
      handoff_mark(sh);
    rc = sh->rw ? zklock_rwlock_unlock(l) : zklock_mutex_unlock(m);
    if (rc)
      die("unlock", rc);
    w->lat[w->nlat++] = now_us() - s;
  }
  zklock_mutex_free(m);
  zklock_rwlock_free(l);
  return NULL;
}

static void shared_init(shared *sh, int rw, const char *path, int n) {
  memset(sh, 0, sizeof *sh);
  pthread_mutex_init(&sh->mu, NULL);
  pthread_cond_init(&sh->cv, NULL);
  atomic_init(&sh->left, n);
  sh->rw = rw;
  sh->path = path;
}

static void bench_contended(int k, int rw) {
  shared sh;
  char *path = unique_path(rw ? "rwlock" : "contended");
  shared_init(&sh, rw, path, nops);
  worker *ws = calloc((size_t)k, sizeof *ws);
  pthread_t *ts = calloc((size_t)k, sizeof *ts);
  sh.k = k;
  sh.cl = calloc((size_t)k, sizeof *sh.cl);
  sh.req_at_unlock = calloc((size_t)k, sizeof *sh.req_at_unlock);
  for (int i = 0; i < k; i++) {
    ws[i].sh = &sh;
    ws[i].id = i;
    ws[i].c = sh.cl[i] = open_client();
    ws[i].lat = malloc(sizeof(double) * (size_t)nops);
    ws[i].hand = malloc(sizeof(double) * (size_t)nops);
    ws[i].hreq = malloc(sizeof(double) * (size_t)nops);
    ws[i].seed = (unsigned)i * 2654435761u + 1;
    pthread_create(&ts[i], NULL, contend_main, &ws[i]);
  }
  sleep_ms(100); /* let every worker get to the gate */
  long long p0 = packets_received();
  double t0 = now_us();
  gate_open(&sh);
  for (int i = 0; i < k; i++)
    pthread_join(ts[i], NULL);
  double t1 = now_us();
  long long p1 = packets_received();
  double *lat = malloc(sizeof *lat * (size_t)nops);
  double *hand = malloc(sizeof *hand * (size_t)nops);
  double *hreq = malloc(sizeof *hreq * (size_t)nops);
  zhandle_t **zhs = calloc((size_t)k, sizeof *zhs);
  int n = 0, nh = 0;
  for (int i = 0; i < k; i++) {
    memcpy(lat + n, ws[i].lat, sizeof *lat * (size_t)ws[i].nlat);
    n += ws[i].nlat;
    memcpy(hand + nh, ws[i].hand, sizeof *hand * (size_t)ws[i].nhand);
    memcpy(hreq + nh, ws[i].hreq, sizeof *hreq * (size_t)ws[i].nhand);
    nh += ws[i].nhand;
    free(ws[i].lat);
    free(ws[i].hand);
    free(ws[i].hreq);
    zhs[i] = zklock_client_zhandle(ws[i].c);
  }
  int servers = bench_servers_used(zhs, k);
  for (int i = 0; i < k; i++)
    zklock_client_close(ws[i].c);
  if (rw)
    printf("zklock rwlock mixed: clients=%d n=%d reads=%d writes=%d ", k, n,
           atomic_load(&sh.reads), atomic_load(&sh.writes));
  else
    printf("zklock mutex contended: clients=%d n=%d handoffs=%d "
           "handoff_median_us=%.1f handoff_p99_us=%.1f "
           "handoff_requests_median=%.0f handoff_requests_max=%.0f ",
           k, n, nh, pct(hand, nh, 1, 2), pct(hand, nh, 99, 100),
           pct(hreq, nh, 1, 2), nh ? hreq[nh - 1] : 0.0);
  printf("median_us=%.1f p99_us=%.1f ops_s=%.0f violations=%d "
         "requests_per_op=%.2f servers=%d\n",
         pct(lat, n, 1, 2), pct(lat, n, 99, 100), n / ((t1 - t0) / 1e6),
         atomic_load(&sh.violations), per(p0, p1, n), servers);
  fflush(stdout);
  free(lat);
  free(hand);
  free(hreq);
  free(zhs);
  free(sh.cl);
  free(sh.req_at_unlock);
  free(ws);
  free(ts);
  free(path);
}

/* ---- thundering herd: W waiters over S sessions behind one holder ---- */

typedef struct {
  shared *sh;
  zklock_client *c;
  atomic_int *queued, *done;
} herder;

static void *herd_main(void *arg) {
  herder *h = arg;
  shared *sh = h->sh;
  gate_wait(sh);
  zklock_mutex *m;
  int rc = zklock_mutex_new(h->c, sh->path, &m);
  if (rc)
    die("new", rc);
  atomic_fetch_add(h->queued, 1);
  rc = zklock_mutex_lock(m, -1);
  if (rc)
    die("herd lock", rc);
  critical_exclusive(sh);
  rc = zklock_mutex_unlock(m);
  if (rc)
    die("herd unlock", rc);
  zklock_mutex_free(m);
  atomic_fetch_add(h->done, 1);
  return NULL;
}

static int children_count(zhandle_t *zh, const char *path) {
  struct String_vector sv;
  if (zoo_get_children(zh, path, 0, &sv) != ZOK)
    return -1;
  int n = sv.count;
  deallocate_String_vector(&sv);
  return n;
}

static void bench_herd(int s, int w, int limit_s) {
  shared sh;
  char *path = unique_path("herd");
  shared_init(&sh, 0, path, 0);
  zklock_client **cs = calloc((size_t)s, sizeof *cs);
  for (int i = 0; i < s; i++)
    cs[i] = open_client();
  zklock_mutex *holder;
  int rc = zklock_mutex_new(cs[0], path, &holder);
  if (rc == ZKLOCK_OK)
    rc = zklock_mutex_lock(holder, -1);
  if (rc)
    die("holder lock", rc);
  atomic_int queued, done;
  atomic_init(&queued, 0);
  atomic_init(&done, 0);
  herder *hs = calloc((size_t)w, sizeof *hs);
  pthread_t *ts = calloc((size_t)w, sizeof *ts);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  /* small stacks so a thousand threads stay cheap; RSS counts touched
   * pages only, and the baseline below already includes the threads */
  pthread_attr_setstacksize(&attr, 256 * 1024);
  for (int i = 0; i < w; i++) {
    hs[i] = (herder){&sh, cs[i % s], &queued, &done};
    int e = pthread_create(&ts[i], &attr, herd_main, &hs[i]);
    if (e) {
      fprintf(stderr, "zklock-bench: pthread_create: %s\n", strerror(e));
      exit(1);
    }
  }
  pthread_attr_destroy(&attr);
  sleep_ms(200); /* threads parked at the gate */
  long rss0 = rss_bytes();
  gate_open(&sh);
  zhandle_t *zh = zklock_client_zhandle(cs[0]);
  double q0 = now_us();
  while (children_count(zh, path) < w + 1) {
    if (now_us() - q0 > limit_s * 1e6)
      die_zk("waiters did not queue in time", ZOPERATIONTIMEOUT);
    sleep_ms(20);
  }
  sleep_ms(200); /* let the waiters' watches land */
  long rss1 = rss_bytes();
  long long p0 = packets_received();
  double t0 = now_us();
  rc = zklock_mutex_unlock(holder);
  if (rc)
    die("holder unlock", rc);
  while (atomic_load(&done) < w && now_us() - t0 < limit_s * 1e6)
    sleep_ms(1);
  double t1 = now_us();
  long long p1 = packets_received();
  int drained = atomic_load(&done);
  printf("zklock mutex herd: sessions=%d waiters=%d drained=%d drain_ms=%.0f "
         "per_handoff_us=%.0f requests_per_handoff=%.2f "
         "mem_per_waiter_bytes=%.0f violations=%d\n",
         s, w, drained, (t1 - t0) / 1e3, drained ? (t1 - t0) / drained : 0.0,
         per(p0, p1, drained), (double)(rss1 - rss0) / w,
         atomic_load(&sh.violations));
  fflush(stdout);
  if (drained < w) {
    /* Stuck or too slow: the blocked threads cannot be cancelled cleanly,
     * so leave and let the server drop the sessions. */
    fprintf(stderr, "zklock-bench: herd did not drain within %d s\n", limit_s);
    _exit(0);
  }
  for (int i = 0; i < w; i++)
    pthread_join(ts[i], NULL);
  zklock_mutex_free(holder);
  for (int i = 0; i < s; i++)
    zklock_client_close(cs[i]);
  free(cs);
  free(hs);
  free(ts);
  free(path);
}

/* ---- asyncherd: W asynchronous waiters on one thread ----
 * The herd without a thread per waiter: S loop-mode clients, W handles
 * queued with zklock_mutex_lock_async behind a holder, one poll() loop
 * dispatching. Each grant releases from inside its completion. */

typedef struct {
  zklock_mutex *m;
  int *inside, *violations, *done;
} awaiter;

static void aherd_done(int rc, void *arg) {
  awaiter *a = arg;
  if (rc)
    die("asyncherd lock", rc);
  if ((*a->inside)++ != 0)
    (*a->violations)++;
  (*a->inside)--;
  rc = zklock_mutex_unlock_async(a->m, NULL, NULL);
  if (rc)
    die("asyncherd unlock", rc);
  (*a->done)++;
}

static int thread_count(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  int n = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "Threads: %d", &n) == 1)
      break;
  if (f)
    fclose(f);
  return n;
}

/* Dispatches the clients' queued callbacks until *done reaches want or
 * the limit passes; returns 0 on time, -1 late. */
static int aherd_loop(zklock_client **cs, int s, const int *done, int want,
                      double limit_us) {
  struct pollfd *pfd = calloc((size_t)s, sizeof *pfd);
  for (int i = 0; i < s; i++) {
    pfd[i].fd = zklock_client_fd(cs[i]);
    pfd[i].events = POLLIN;
  }
  double t0 = now_us();
  while (*done < want && now_us() - t0 < limit_us)
    if (poll(pfd, (nfds_t)s, 100) > 0)
      for (int i = 0; i < s; i++)
        if (pfd[i].revents & POLLIN)
          zklock_client_dispatch(cs[i]);
  free(pfd);
  return *done < want ? -1 : 0;
}

/* Heap bytes in use (every arena, mmapped chunks too). */
static long heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return (long)(mi.uordblks + mi.hblkhd);
}

/* Waits until the heap stops moving: the listings the waiters asked for
 * are answered and dropped, leaving what a queued waiter keeps. */
static void heap_settle(double limit_us) {
  double t0 = now_us();
  long prev = heap_in_use();
  int still = 0; /* consecutive quiet seconds */
  while (still < 3 && now_us() - t0 < limit_us) {
    sleep_ms(1000);
    long cur = heap_in_use();
    still = labs(cur - prev) <= cur / 500 ? still + 1 : 0;
    prev = cur;
  }
}

/* Connection losses during a run: each makes the waits in flight resend,
 * which shows in the requests per handoff. Runs in the loop (dispatch). */
static void aherd_session(zklock_client *c, zklock_session_state st,
                          void *arg) {
  (void)c;
  if (st == ZKLOCK_SESSION_CONNECTING)
    (*(int *)arg)++;
}

static void bench_asyncherd(int s, int w, int limit_s) {
  char *path = unique_path("asyncherd");
  zklock_client **cs = calloc((size_t)s, sizeof *cs);
  static int disconnects;
  disconnects = 0;
  zklock_client_opts o = {0};
  o.dispatch = ZKLOCK_DISPATCH_LOOP;
  o.on_session = aherd_session;
  o.cb_arg = &disconnects;
  for (int i = 0; i < s; i++) {
    char hp[1024];
    bench_session_hosts(&bcfg, hp, sizeof hp);
    int rc = zklock_client_open(hp, &o, &cs[i]);
    if (rc)
      die("zklock_client_open", rc);
  }
  zklock_mutex *holder;
  int rc = zklock_mutex_new(cs[0], path, &holder);
  if (rc == ZKLOCK_OK) /* blocking calls work on a loop-mode client */
    rc = zklock_mutex_lock(holder, -1);
  if (rc)
    die("holder lock", rc);
  int inside = 0, violations = 0, done = 0;
  awaiter *as = calloc((size_t)w, sizeof *as);
  int threads0 = thread_count();
  long rss0 = rss_bytes(), heap0 = heap_in_use();
  double q0 = now_us();
  /* handles first, so their share of the memory shows apart */
  for (int i = 0; i < w; i++) {
    as[i] = (awaiter){NULL, &inside, &violations, &done};
    rc = zklock_mutex_new(cs[i % s], path, &as[i].m);
    if (rc)
      die("asyncherd new", rc);
  }
  long heap_handles = heap_in_use();
  for (int i = 0; i < w; i++) {
    rc = zklock_mutex_lock_async(as[i].m, -1, aherd_done, &as[i]);
    if (rc)
      die("asyncherd lock_async", rc);
  }
  zhandle_t *zh = zklock_client_zhandle(cs[0]);
  while (children_count(zh, path) < w + 1) {
    if (now_us() - q0 > limit_s * 1e6)
      die_zk("waiters did not queue in time", ZOPERATIONTIMEOUT);
    sleep_ms(20);
  }
  double queue_ms = (now_us() - q0) / 1e3;
  long rss_peak = rss_bytes(); /* the listings still in flight count here */
  heap_settle(limit_s * 1e6);
  double settle_ms = (now_us() - q0) / 1e3 - queue_ms;
  long rss1 = rss_bytes(), heap1 = heap_in_use();
  malloc_trim(0); /* what stays resident once freed listings are returned */
  long rss_trim = rss_bytes();
  int threads1 = thread_count();
  long long p0 = packets_received_all();
  double t0 = now_us();
  rc = zklock_mutex_unlock(holder);
  if (rc)
    die("holder unlock", rc);
  int late = aherd_loop(cs, s, &done, w, limit_s * 1e6);
  double t1 = now_us();
  long long p1 = packets_received_all();
  printf("zklock mutex asyncherd: sessions=%d waiters=%d drained=%d "
         "queue_ms=%.0f settle_ms=%.0f drain_ms=%.0f per_handoff_us=%.0f "
         "requests_per_handoff=%.2f rss_at_queued_per_waiter=%.0f "
         "mem_per_waiter_bytes=%.0f rss_trimmed_per_waiter=%.0f "
         "heap_per_waiter_bytes=%.0f handle_heap_bytes=%.0f threads_before=%d "
         "threads_queued=%d "
         "violations=%d disconnects=%d\n",
         s, w, done, queue_ms, settle_ms, (t1 - t0) / 1e3,
         done ? (t1 - t0) / done : 0.0, per(p0, p1, done),
         (double)(rss_peak - rss0) / w, (double)(rss1 - rss0) / w,
         (double)(rss_trim - rss0) / w, (double)(heap1 - heap0) / w,
         (double)(heap_handles - heap0) / w, threads0, threads1, violations,
         disconnects);
  fflush(stdout);
  if (late)
    fprintf(stderr, "zklock-bench: asyncherd did not drain within %d s\n",
            limit_s);
  /* freeing a still-queued handle ends its wait (ECANCELED): no hang */
  for (int i = 0; i < w; i++)
    zklock_mutex_free(as[i].m);
  zklock_mutex_free(holder);
  for (int i = 0; i < s; i++)
    zklock_client_close(cs[i]);
  free(cs);
  free(as);
  free(path);
}

/* ---- split: where the uncontended time goes ----
 * Runs one op of each raw mode and one zklock lock+unlock per round, in
 * turn, so slow phases of a shared machine hit every variant alike; the
 * differences between medians price each extra request. */
static void bench_split(void) {
  enum { NV = RAW_NMODES + 1 };
  rawbench rb;
  raw_setup(&rb);
  zklock_client *c = open_client();
  char *path = unique_path("split");
  zklock_mutex *m;
  int rc = zklock_mutex_new(c, path, &m);
  if (rc)
    die("new", rc);
  double *lat[NV];
  for (int v = 0; v < NV; v++)
    lat[v] = malloc(sizeof(double) * (size_t)nops);
  for (int i = -warmup; i < nops; i++) {
    for (int k = 0; k < NV; k++) {
      int v = (i + k) % NV; /* rotate the order too */
      if (v < 0)
        v += NV;
      double s = now_us();
      if (v < RAW_NMODES) {
        raw_op(&rb, v);
      } else {
        rc = zklock_mutex_lock(m, -1);
        if (rc == ZKLOCK_OK)
          rc = zklock_mutex_unlock(m);
        if (rc)
          die("lock/unlock", rc);
      }
      if (i >= 0)
        lat[v][i] = now_us() - s;
    }
  }
  double base = pct(lat[RAW_SYNC], nops, 1, 2);
  for (int v = 0; v < NV; v++) {
    double med = pct(lat[v], nops, 1, 2);
    printf("split %s: n=%d median_us=%.1f p99_us=%.1f vs_raw=%.2f\n",
           v < RAW_NMODES ? raw_names[v] : "zklock mutex lock+unlock", nops,
           med, pct(lat[v], nops, 99, 100), base > 0 ? med / base : 0.0);
    free(lat[v]);
  }
  fflush(stdout);
  zklock_mutex_free(m);
  zklock_client_close(c);
  raw_teardown(&rb);
  free(path);
}

static void usage(void) {
  fprintf(stderr,
          "usage: zklock-bench [-z HOSTS] [-n N] [-w WARMUP] [-t SECS] [-R MS] "
          "[-A] [-M HOSTS] [-S] [SCENARIO...]\n"
          "  scenarios: raw rawasync rawseq rawpipe rawwatch rawpre split\n"
          "             mutex rwread contended:K rwlock:K herd:S:W "
          "asyncherd:S:W\n"
          "             rwlock:K:R sem:P:S rawhandoff paths:P:K "
          "rawpaths:P:K\n"
          "  HOSTS defaults to $ZKLOCK_HOSTS, then 127.0.0.1:2181\n");
  exit(2);
}

int main(int argc, char **argv) {
  int limit_s = 300;
  const char *env = getenv("ZKLOCK_HOSTS");
  if (env && *env)
    hosts = env;
  int opt;
  while ((opt = getopt(argc, argv, "z:n:w:t:R:AM:Sh")) != -1) {
    switch (opt) {
    case 'M':
      bcfg.mntr_hosts = optarg;
      break;
    case 'S':
      bcfg.spread = 1;
      break;
    case 'z':
      hosts = optarg;
      break;
    case 'n':
      nops = atoi(optarg);
      break;
    case 'w':
      warmup = atoi(optarg);
      break;
    case 't':
      limit_s = atoi(optarg);
      break;
    case 'R':
      resolve_delay_ms = atoi(optarg);
      break;
    case 'A':
      await_release = 1;
      break;
    default:
      usage();
    }
  }
  if (nops <= 0 || warmup < 0 || limit_s <= 0)
    usage();
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  static const char *all[] = {"raw",          "rawpipe",     "rawwatch",
                              "mutex",        "contended:2", "contended:8",
                              "contended:32", "rwlock:8",    "herd:20:1000"};
  int nsc = argc - optind;
  const char **sc = (const char **)argv + optind;
  if (nsc == 0) {
    sc = all;
    nsc = (int)(sizeof all / sizeof *all);
  }
  bcfg.hosts = hosts;
  bcfg.nops = nops;
  bcfg.warmup = warmup;
  bcfg.limit_s = limit_s;
  bcfg.await_release = await_release;
  if (bcfg.spread) /* try the rotated lists in their order */
    zoo_deterministic_conn_order(1);
  for (int i = 0; i < nsc; i++) {
    int a, b;
    if (bench_recipes_run(sc[i], &bcfg))
      continue; /* bench/bench_recipes.c */
    if (bench_handoff_run(sc[i], &bcfg))
      continue; /* bench/bench_handoff.c */
    if (strcmp(sc[i], "raw") == 0)
      bench_raw(RAW_SYNC);
    else if (strcmp(sc[i], "rawasync") == 0)
      bench_raw(RAW_ASYNC);
    else if (strcmp(sc[i], "rawseq") == 0)
      bench_raw(RAW_SEQ);
    else if (strcmp(sc[i], "rawpipe") == 0)
      bench_raw(RAW_PIPE);
    else if (strcmp(sc[i], "rawwatch") == 0)
      bench_raw(RAW_WATCH);
    else if (strcmp(sc[i], "rawpre") == 0)
      bench_raw(RAW_PRE);
    else if (strcmp(sc[i], "split") == 0)
      bench_split();
    else if (strcmp(sc[i], "mutex") == 0)
      bench_uncontended(0);
    else if (strcmp(sc[i], "rwread") == 0)
      bench_uncontended(1);
    else if (sscanf(sc[i], "contended:%d", &a) == 1 && a > 0)
      bench_contended(a, 0);
    else if (sscanf(sc[i], "rwlock:%d", &a) == 1 && a > 0)
      bench_contended(a, 1);
    else if (sscanf(sc[i], "herd:%d:%d", &a, &b) == 2 && a > 0 && b > 0)
      bench_herd(a, b, limit_s);
    else if (sscanf(sc[i], "asyncherd:%d:%d", &a, &b) == 2 && a > 0 && b > 0)
      bench_asyncherd(a, b, limit_s);
    else
      usage();
  }
  return 0;
}
