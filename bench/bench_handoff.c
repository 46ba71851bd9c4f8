/* bench_handoff: the floors of a handoff and of many independent locks, and
 * zklock on many paths (bench/bench_recipes.h lists the scenarios). Same
 * output as zklock-bench.c: one line of key=value figures per scenario,
 * nothing asserted.
 *
 *   rawhandoff    session A creates a node, session B sets a watch on it
 *                 (exists), A deletes it: the time from A's delete call to
 *                 the NodeDeleted event at B is what a handoff costs at
 *                 least (one commit, one notification). With -S the two
 *                 sessions are on different servers (B syncs before it
 *                 watches, untimed).
 *   paths:P:K     P*K sessions, one thread each, session i takes the mutex
 *                 of path i % P in a loop; N acquisitions in all.
 *   rawpaths:P:K  the same sessions doing sync create(ephemeral sequential)
 *                 + delete under parent i % P: the pairs/s the server can
 *                 do at that concurrency. */
#include "bench_recipes.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zklock.h>
#include <zookeeper/zookeeper.h>

static const bench_recipes_cfg *cfg;

static void bh_die(const char *what, const char *msg) {
  fprintf(stderr, "zklock-bench: %s: %s\n", what, msg);
  exit(1);
}

static void bh_path(char *buf, size_t len, const char *what) {
  static atomic_int counter;
  snprintf(buf, len, "/zklock-bench-%s-%ld-%lld-%d", what, (long)getpid(),
           (long long)br_now_us(), atomic_fetch_add(&counter, 1));
}

/* ---- a raw session: sync calls, plus one watch and one async delete ---- */

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int connected;
  int fired;       /* NodeDeleted seen */
  double fired_us; /* when */
  int deleted;     /* the async delete answered */
  int del_rc;
  int synced; /* zoo_async (sync) answered */
  zhandle_t *zh;
} rawsess;

static void rs_watcher(zhandle_t *zh, int type, int state, const char *path,
                       void *ctx) {
  (void)zh;
  (void)path;
  rawsess *r = ctx;
  double t = br_now_us();
  pthread_mutex_lock(&r->mu);
  if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE)
    r->connected = 1;
  else if (type == ZOO_DELETED_EVENT) {
    r->fired = 1;
    r->fired_us = t;
  }
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static void rs_open(rawsess *r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  char hp[1024];
  bench_session_hosts(cfg, hp, sizeof hp);
  r->zh = zookeeper_init(hp, rs_watcher, 10000, NULL, r, 0);
  if (!r->zh)
    bh_die("zookeeper_init", strerror(errno));
  pthread_mutex_lock(&r->mu);
  while (!r->connected)
    pthread_cond_wait(&r->cv, &r->mu);
  pthread_mutex_unlock(&r->mu);
}

static void rs_close(rawsess *r) {
  zookeeper_close(r->zh);
  pthread_cond_destroy(&r->cv);
  pthread_mutex_destroy(&r->mu);
}

static void rs_delete_done(int rc, const void *data) {
  rawsess *r = (rawsess *)data;
  pthread_mutex_lock(&r->mu);
  r->deleted = 1;
  r->del_rc = rc;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static void rs_sync_done(int rc, const char *value, const void *data) {
  (void)rc;
  (void)value;
  rawsess *r = (rawsess *)data;
  pthread_mutex_lock(&r->mu);
  r->synced = 1;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

/* Waits until *flag (a field of r) is set. */
static void rs_wait(rawsess *r, const int *flag) {
  pthread_mutex_lock(&r->mu);
  while (!*flag)
    pthread_cond_wait(&r->cv, &r->mu);
  pthread_mutex_unlock(&r->mu);
}

static void zk_check(const char *what, int zrc) {
  if (zrc != ZOK)
    bh_die(what, zerror(zrc));
}

/* One delete -> NodeDeleted: a deletes node, b watches it. */
static double rawhandoff_once(rawsess *a, rawsess *b, const char *node) {
  zk_check("create", zoo_create(a->zh, node, "", 0, &ZOO_OPEN_ACL_UNSAFE,
                                ZOO_EPHEMERAL, NULL, 0));
  /* b may be on another server, one that has not applied the create yet:
   * sync first (untimed), so the watch lands on an existing node */
  b->synced = 0;
  zk_check("sync", zoo_async(b->zh, node, rs_sync_done, b));
  rs_wait(b, &b->synced);
  struct Stat st;
  b->fired = 0;
  zk_check("exists(watch)", zoo_wexists(b->zh, node, rs_watcher, b, &st));
  a->deleted = 0;
  double t0 = br_now_us();
  zk_check("adelete", zoo_adelete(a->zh, node, -1, rs_delete_done, a));
  rs_wait(b, &b->fired);
  double us = b->fired_us - t0;
  rs_wait(a, &a->deleted);
  zk_check("delete", a->del_rc);
  return us;
}

static void bench_rawhandoff(void) {
  rawsess a, b;
  rs_open(&a);
  rs_open(&b);
  zhandle_t *zhs[2] = {a.zh, b.zh};
  char base[160], node[200];
  bh_path(base, sizeof base, "rawhandoff");
  zk_check("create parent",
           zoo_create(a.zh, base, "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0));
  int n = cfg->nops, w = cfg->warmup < n ? cfg->warmup : n;
  double *lat = malloc(sizeof *lat * (size_t)n);
  for (int i = -w; i < n; i++) {
    snprintf(node, sizeof node, "%s/n%d", base, i + w);
    double us = rawhandoff_once(&a, &b, node);
    if (i >= 0)
      lat[i] = us;
  }
  printf("raw handoff delete->NodeDeleted: n=%d median_us=%.1f p99_us=%.1f "
         "servers=%d violations=0\n",
         n, br_pct(lat, n, 1, 2), br_pct(lat, n, 99, 100),
         bench_servers_used(zhs, 2));
  fflush(stdout);
  zoo_delete(a.zh, base, -1);
  free(lat);
  rs_close(&a);
  rs_close(&b);
}

/* ---- paths:P:K and rawpaths:P:K: P*K sessions, one thread each ---- */

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int go;
  atomic_int left;
  atomic_int *inside; /* per path: holders now */
  atomic_int violations;
  int p, k, raw;
  char (*paths)[160];
} pgang;

typedef struct {
  pgang *g;
  int idx;
  zklock_client *c;
  zklock_mutex *m;
  rawsess rs;
  char prefix[200];
  double *lat;
  int nlat;
} pmember;

static void pgang_wait(pgang *g) {
  pthread_mutex_lock(&g->mu);
  while (!g->go)
    pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
}

/* One acquisition (or one raw create+delete pair) of member w. */
static void pmember_op(pmember *w) {
  pgang *g = w->g;
  if (g->raw) {
    char made[256];
    zk_check("create",
             zoo_create(w->rs.zh, w->prefix, "", 0, &ZOO_OPEN_ACL_UNSAFE,
                        ZOO_EPHEMERAL | ZOO_SEQUENCE, made, sizeof made));
    zk_check("delete", zoo_delete(w->rs.zh, made, -1));
    return;
  }
  int rc = zklock_mutex_lock(w->m, -1);
  if (rc)
    bh_die("paths lock", zklock_strerror(rc));
  atomic_int *in = &g->inside[w->idx % g->p];
  if (atomic_fetch_add(in, 1) != 0)
    atomic_fetch_add(&g->violations, 1);
  atomic_fetch_sub(in, 1);
  rc = zklock_mutex_unlock(w->m);
  if (rc)
    bh_die("paths unlock", zklock_strerror(rc));
}

static void *pmember_main(void *arg) {
  pmember *w = arg;
  pgang_wait(w->g);
  while (atomic_fetch_sub(&w->g->left, 1) > 0) {
    double s = br_now_us();
    pmember_op(w);
    w->lat[w->nlat++] = br_now_us() - s;
  }
  return NULL;
}

static void pmember_open(pgang *g, pmember *w, int i) {
  w->g = g;
  w->idx = i;
  w->lat = malloc(sizeof(double) * (size_t)cfg->nops);
  const char *path = g->paths[i % g->p];
  if (g->raw) {
    rs_open(&w->rs);
    snprintf(w->prefix, sizeof w->prefix, "%s/x-", path);
    return;
  }
  zklock_client_opts o;
  memset(&o, 0, sizeof o);
  o.await_release = cfg->await_release;
  char hp[1024];
  bench_session_hosts(cfg, hp, sizeof hp);
  int rc = zklock_client_open(hp, &o, &w->c);
  if (rc == ZKLOCK_OK)
    rc = zklock_mutex_new(w->c, path, &w->m);
  if (rc)
    bh_die("paths open", zklock_strerror(rc));
  /* the first acquisition creates the path: not timed */
  rc = zklock_mutex_lock(w->m, -1);
  if (rc == ZKLOCK_OK)
    rc = zklock_mutex_unlock(w->m);
  if (rc)
    bh_die("paths first lock", zklock_strerror(rc));
}

static zhandle_t *pmember_zh(pmember *w) {
  return w->g->raw ? w->rs.zh : zklock_client_zhandle(w->c);
}

static void pmember_close(pmember *w) {
  if (w->g->raw) {
    rs_close(&w->rs);
  } else {
    zklock_mutex_free(w->m);
    zklock_client_close(w->c);
  }
  free(w->lat);
}

/* Creates the raw scenario's parents (zklock makes its own). */
static void pgang_parents(pgang *g, const char *what) {
  for (int i = 0; i < g->p; i++)
    bh_path(g->paths[i], sizeof g->paths[i], what);
  if (!g->raw)
    return;
  rawsess r;
  rs_open(&r);
  for (int i = 0; i < g->p; i++)
    zk_check("create parent", zoo_create(r.zh, g->paths[i], "", 0,
                                         &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0));
  rs_close(&r);
}

/* Runs the timed part; returns its wall time in us, fills the requests. */
static double pgang_run(pgang *g, pmember *ws, long long *req) {
  int s = g->p * g->k;
  pthread_t *ts = calloc((size_t)s, sizeof *ts);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  for (int i = 0; i < s; i++) {
    int e = pthread_create(&ts[i], &attr, pmember_main, &ws[i]);
    if (e)
      bh_die("pthread_create", strerror(e));
  }
  pthread_attr_destroy(&attr);
  br_sleep_ms(100); /* every thread at the gate */
  long long p0 = bench_packets_all(cfg);
  double t0 = br_now_us();
  pthread_mutex_lock(&g->mu);
  g->go = 1;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
  for (int i = 0; i < s; i++)
    pthread_join(ts[i], NULL);
  double us = br_now_us() - t0;
  long long p1 = bench_packets_all(cfg);
  *req = (p0 < 0 || p1 < 0) ? -1 : p1 - p0;
  free(ts);
  return us;
}

static void bench_paths(int p, int k, int raw) {
  pgang g;
  memset(&g, 0, sizeof g);
  pthread_mutex_init(&g.mu, NULL);
  pthread_cond_init(&g.cv, NULL);
  atomic_init(&g.left, cfg->nops);
  g.p = p;
  g.k = k;
  g.raw = raw;
  g.inside = calloc((size_t)p, sizeof *g.inside);
  g.paths = calloc((size_t)p, sizeof *g.paths);
  pgang_parents(&g, raw ? "rawpaths" : "paths");
  int s = p * k;
  pmember *ws = calloc((size_t)s, sizeof *ws);
  zhandle_t **zhs = calloc((size_t)s, sizeof *zhs);
  for (int i = 0; i < s; i++) {
    pmember_open(&g, &ws[i], i);
    zhs[i] = pmember_zh(&ws[i]);
  }
  long long req;
  double us = pgang_run(&g, ws, &req);
  double *lat = malloc(sizeof *lat * (size_t)cfg->nops);
  int n = 0;
  for (int i = 0; i < s; i++) {
    memcpy(lat + n, ws[i].lat, sizeof *lat * (size_t)ws[i].nlat);
    n += ws[i].nlat;
  }
  printf("%s: paths=%d per_path=%d sessions=%d n=%d median_us=%.1f "
         "p99_us=%.1f ops_s=%.0f violations=%d requests_per_op=%.2f "
         "servers=%d\n",
         raw ? "raw paths create+delete" : "zklock mutex paths", p, k, s, n,
         br_pct(lat, n, 1, 2), br_pct(lat, n, 99, 100), n / (us / 1e6),
         atomic_load(&g.violations), req < 0 ? -1.0 : (double)req / n,
         bench_servers_used(zhs, s));
  fflush(stdout);
  for (int i = 0; i < s; i++)
    pmember_close(&ws[i]);
  free(lat);
  free(zhs);
  free(ws);
  free(g.inside);
  free(g.paths);
}

int bench_handoff_run(const char *scenario, const bench_recipes_cfg *c) {
  int a, b;
  char tail;
  cfg = c;
  if (strcmp(scenario, "rawhandoff") == 0)
    bench_rawhandoff();
  else if (sscanf(scenario, "paths:%d:%d%c", &a, &b, &tail) == 2 && a > 0 &&
           b > 0)
    bench_paths(a, b, 0);
  else if (sscanf(scenario, "rawpaths:%d:%d%c", &a, &b, &tail) == 2 && a > 0 &&
           b > 0)
    bench_paths(a, b, 1);
  else
    return 0;
  return 1;
}
