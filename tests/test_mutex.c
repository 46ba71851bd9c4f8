/* Integration tests: the exclusive mutex against the real ensemble. */
#include "zkt.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zklock_int.h" /* zklock__name_parse, to check queue order */

#define raw zkt_rawzh

static void test_uncontended(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "uncontended");
  zklock_client *c = zkt_client(0);
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(c, root, &m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_state(m), ZKLOCK_LOCK_UNLOCKED);
  assert_int_equal(zklock_mutex_token(m), -1);
  int64_t last = -1;
  for (int i = 0; i < 5; i++) {
    assert_int_equal(zklock_mutex_lock(m, -1), ZKLOCK_OK);
    assert_int_equal(zklock_mutex_state(m), ZKLOCK_LOCK_HELD);
    int64_t t = zklock_mutex_token(m);
    assert_true(t > last); /* fencing tokens only grow */
    last = t;
    const char *node = zklock_mutex_node(m);
    assert_non_null(node);
    assert_int_equal(strncmp(node, root, strlen(root)), 0);
    assert_int_equal(zkt_nodes_settle(raw, root, 1), 1);
    /* owner metadata is in the node */
    char buf[512];
    int len = sizeof buf - 1;
    struct Stat st;
    assert_int_equal(zoo_get(raw, node, 0, buf, &len, &st), ZOK);
    buf[len] = '\0';
    assert_non_null(strstr(buf, "host="));
    assert_non_null(strstr(buf, "pid="));
    assert_non_null(strstr(buf, "user=zklock-test"));
    assert_int_equal(st.czxid, t);
    assert_int_equal(st.ephemeralOwner, zklock_client_session_id(c));
    assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
    assert_int_equal(zklock_mutex_state(m), ZKLOCK_LOCK_UNLOCKED);
    assert_int_equal(zkt_nodes_settle(raw, root, 0), 0);
  }
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_ENOTHELD);
  zklock_mutex_free(m);
  zklock_client_close(c);
  zkt_assert_empty(root);
}

static void test_reentrant(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "reentrant");
  zklock_client *c = zkt_client(0);
  zklock_mutex *m, *other;
  assert_int_equal(zklock_mutex_new(c, root, &m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(c, root, &other), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m, -1), ZKLOCK_OK);
  int64_t t = zklock_mutex_token(m);
  assert_int_equal(zklock_mutex_lock(m, 0), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_trylock(m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_token(m), t);
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1);
  /* another handle on the same client is another owner */
  assert_int_equal(zklock_mutex_trylock(other), ZKLOCK_EBUSY);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_state(m), ZKLOCK_LOCK_HELD);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_state(m), ZKLOCK_LOCK_UNLOCKED);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_ENOTHELD);
  assert_int_equal(zklock_mutex_trylock(other), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_unlock(other), ZKLOCK_OK);
  zklock_mutex_free(m);
  zklock_mutex_free(other);
  zklock_client_close(c);
  zkt_assert_empty(root);
}

static void test_trylock_busy_and_timeout(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "busy");
  zklock_client *a = zkt_client(0), *b = zkt_client(0);
  zklock_mutex *ma, *mb;
  assert_int_equal(zklock_mutex_new(a, root, &ma), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(b, root, &mb), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(ma, -1), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_trylock(mb), ZKLOCK_EBUSY);
  assert_int_equal(zklock_mutex_token(mb), -1);
  assert_null(zklock_mutex_node(mb));
  assert_int_equal(zkt_nodes_settle(raw, root, 1),
                   1); /* the trylock left none */
  int64_t t0 = zkt_now_ms();
  assert_int_equal(zklock_mutex_lock(mb, 400), ZKLOCK_ETIMEDOUT);
  int64_t took = zkt_now_ms() - t0;
  assert_true(took >= 400);
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1); /* timeout left none */
  assert_int_equal(zklock_mutex_unlock(mb), ZKLOCK_ENOTHELD);
  assert_int_equal(zklock_mutex_unlock(ma), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(mb, 1000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_unlock(mb), ZKLOCK_OK);
  zklock_mutex_free(ma);
  zklock_mutex_free(mb);
  zklock_client_close(a);
  zklock_client_close(b);
  zkt_assert_empty(root);
}

/* ---- queues of waiters in separate sessions ---- */

#define NW 8

typedef struct {
  const char *root;
  int idx;
  zklock_client *c;
  zklock_mutex *m;
  int rc;
  int hold_ms;
  int *order;
  int *norder;
  int64_t token;
  pthread_mutex_t *mu;
} waiter;

static void *waiter_main(void *arg) {
  waiter *w = arg;
  w->rc = zklock_mutex_lock(w->m, 30000);
  if (w->rc == ZKLOCK_OK) {
    w->token = zklock_mutex_token(w->m);
    pthread_mutex_lock(w->mu);
    w->order[(*w->norder)++] = w->idx;
    pthread_mutex_unlock(w->mu);
    zkt_sleep_ms(w->hold_ms);
    zklock_mutex_unlock(w->m);
  }
  return NULL;
}

typedef struct {
  const char *root;
  int want;
} count_arg;

static int has_children(void *p) {
  count_arg *a = p;
  return zkt_children(raw, a->root) >= a->want;
}

/* Queues NW waiters one by one behind a holder (so the queue order is
 * known), returns the holder. */
static zklock_mutex *queue_waiters(const char *root, zklock_client **hc,
                                   waiter *w, pthread_t *th, int *order,
                                   int *norder, pthread_mutex_t *mu) {
  *hc = zkt_client(0);
  zklock_mutex *holder;
  assert_int_equal(zklock_mutex_new(*hc, root, &holder), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(holder, -1), ZKLOCK_OK);
  for (int i = 0; i < NW; i++) {
    w[i] = (waiter){.root = root,
                    .idx = i,
                    .hold_ms = 20,
                    .order = order,
                    .norder = norder,
                    .mu = mu};
    w[i].c = zkt_client(0);
    assert_int_equal(zklock_mutex_new(w[i].c, root, &w[i].m), ZKLOCK_OK);
    pthread_create(&th[i], NULL, waiter_main, &w[i]);
    count_arg ca = {root, i + 2};
    assert_true(zkt_wait_for(has_children, &ca, 10000));
  }
  return holder;
}

static void finish_waiters(zklock_client *hc, zklock_mutex *holder, waiter *w,
                           pthread_t *th) {
  assert_int_equal(zklock_mutex_unlock(holder), ZKLOCK_OK);
  for (int i = 0; i < NW; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].rc, ZKLOCK_OK);
    zklock_mutex_free(w[i].m);
    zklock_client_close(w[i].c);
  }
  zklock_mutex_free(holder);
  zklock_client_close(hc);
}

static void test_fifo(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "fifo");
  waiter w[NW];
  pthread_t th[NW];
  int order[NW], norder = 0;
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  zklock_client *hc;
  zklock_mutex *holder = queue_waiters(root, &hc, w, th, order, &norder, &mu);
  int64_t htoken = zklock_mutex_token(holder);
  finish_waiters(hc, holder, w, th);
  assert_int_equal(norder, NW);
  for (int i = 0; i < NW; i++) {
    assert_int_equal(order[i], i); /* acquisition order = queue order */
    assert_true(w[i].token > (i ? w[i - 1].token : htoken));
  }
  zkt_assert_empty(root);
}

/* wchp output per server: "/path" then one "\t0xsession" line per
 * watcher. Collects the watched paths under root and counts the
 * (path, session) pairs, i.e. the watches. */
static int count_watched(const char *root, char paths[][ZKLOCK__NODE_MAX],
                         int max, int *npaths) {
  char hosts[512];
  snprintf(hosts, sizeof hosts, "%s", zkt_hosts());
  int watches = 0, in_root = 0;
  *npaths = 0;
  for (char *save, *hp = strtok_r(hosts, ",", &save); hp;
       hp = strtok_r(NULL, ",", &save)) {
    char *reply = zkt_4lw(hp, "wchp");
    assert_non_null(reply);
    for (char *s2, *line = strtok_r(reply, "\n", &s2); line;
         line = strtok_r(NULL, "\n", &s2)) {
      if (line[0] == '/') {
        in_root = strncmp(line, root, strlen(root)) == 0;
        if (in_root && *npaths < max)
          snprintf(paths[(*npaths)++], ZKLOCK__NODE_MAX, "%s", line);
      } else if (in_root && strstr(line, "0x")) {
        watches++;
      }
    }
    free(reply);
  }
  return watches;
}

static int node_seq_cmp(const void *a, const void *b) {
  zklock__name x, y;
  zklock__name_parse(strrchr(*(char *const *)a, '/') + 1, &x);
  zklock__name_parse(strrchr(*(char *const *)b, '/') + 1, &y);
  return zklock__seq_cmp(x.seq, y.seq);
}

static void test_herd_free(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "herd");
  waiter w[NW];
  pthread_t th[NW];
  int order[NW], norder = 0;
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  zklock_client *hc;
  zklock_mutex *holder = queue_waiters(root, &hc, w, th, order, &norder, &mu);
  /* Watches under root, per server, by path (wchp): each waiter watches
   * its two nearest nodes (the first one only the holder's), never more:
   * 2 * NW - 1, plus the holder's watch on its own node. (mntr's zk_watch_count
   * would also count child watches, but it is global and other tests run
   * alongside; zklock never asks for a child watch: getChildren always has
   * watch=0, which test_mock checks.) */
  char watched[4 * NW][ZKLOCK__NODE_MAX];
  int np, nwatch = 0;
  /* the last waiter's watch and the holder's own are set asynchronously */
  for (int i = 0; i < 100 && nwatch < 2 * NW; i++) {
    if (i)
      zkt_sleep_ms(50);
    nwatch = count_watched(root, watched, 4 * NW, &np);
  }
  assert_int_equal(nwatch, 2 * NW);
  const char *nodes[NW + 1];
  nodes[0] = zklock_mutex_node(holder);
  for (int i = 0; i < NW; i++)
    nodes[i + 1] = zklock_mutex_node(w[i].m);
  qsort(nodes, NW + 1, sizeof *nodes, node_seq_cmp);
  /* the watched paths are exactly the predecessors: every node but the
   * last; never the parent */
  for (int j = 0; j < np; j++) {
    assert_string_not_equal(watched[j], root);
    assert_string_not_equal(watched[j], nodes[NW]);
  }
  for (int i = 0; i < NW; i++) {
    int found = 0;
    for (int j = 0; j < np; j++)
      found += strcmp(watched[j], nodes[i]) == 0;
    assert_true(found >= 1);
  }
  finish_waiters(hc, holder, w, th);
  zkt_assert_empty(root);
}

/* N processes x M iterations of read-sleep-write on a file counter. */
static int counter_proc(const char *root, const char *file, int m) {
  zklock_client *c;
  int rc = zklock_client_open(zkt_hosts(), NULL, &c);
  if (rc) {
    fprintf(stderr, "counter child: open: %s (zk %d)\n", zklock_strerror(rc),
            zklock_last_zk_error());
    return 2;
  }
  zklock_mutex *mx;
  if (zklock_mutex_new(c, root, &mx))
    return 3;
  for (int i = 0; i < m; i++) {
    if (zklock_mutex_lock(mx, 60000))
      return 4;
    FILE *f = fopen(file, "r+");
    long v = 0;
    if (!f || fscanf(f, "%ld", &v) != 1)
      return 5;
    zkt_sleep_ms(2); /* widen the race window */
    rewind(f);
    fprintf(f, "%ld\n", v + 1);
    fclose(f);
    if (zklock_mutex_unlock(mx))
      return 6;
  }
  zklock_mutex_free(mx);
  zklock_client_close(c);
  return 0;
}

static void test_counter_processes(void **state) {
  (void)state;
  enum { P = 4, M = 25 };
  char root[256], file[] = "/tmp/zklock-counter-XXXXXX", ms[16];
  zkt_root(root, sizeof root, "counter");
  int fd = mkstemp(file);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "0\n", 2), 2);
  close(fd);
  snprintf(ms, sizeof ms, "%d", M);
  pid_t kids[P];
  for (int p = 0; p < P; p++) {
    const char *args[] = {"--counter", root, file, ms, NULL};
    kids[p] = zkt_spawn_self(args);
    assert_true(kids[p] > 0);
  }
  for (int p = 0; p < P; p++)
    assert_int_equal(zkt_wait_exit(kids[p]), 0);
  FILE *f = fopen(file, "r");
  long v = -1;
  assert_int_equal(fscanf(f, "%ld", &v), 1);
  fclose(f);
  unlink(file);
  assert_int_equal(v, P * M);
  zkt_assert_empty(root);
}

/* ---- session expiry ---- */

typedef struct {
  pthread_mutex_t mu;
  int lost, uncertain;
  int expired;
  int cb_checks, cb_wrong; /* blocking calls tried from on_session */
  int cb_rc;               /* the last wrong answer */
} events;

static void on_lock(zklock_client *c, const char *path, const char *node,
                    zklock_lock_state st, void *arg) {
  (void)c;
  (void)path;
  (void)node;
  events *e = arg;
  pthread_mutex_lock(&e->mu);
  e->lost += st == ZKLOCK_LOCK_LOST;
  e->uncertain += st == ZKLOCK_LOCK_UNCERTAIN;
  pthread_mutex_unlock(&e->mu);
}

/* Runs on a library thread: no cmocka assert here (cmocka's asserts
 * belong to the test's thread); what it sees is recorded and judged by
 * test_holder_expiry. */
static void on_session(zklock_client *c, zklock_session_state st, void *arg) {
  events *e = arg;
  /* blocking calls from a callback are refused, not deadlocked */
  zklock_mutex *m;
  int rc = zklock_mutex_new(c, "/cb-check", &m);
  if (rc == ZKLOCK_OK) {
    rc = zklock_mutex_lock(m, 0);
    zklock_mutex_free(m);
  } else {
    rc = -1000 - rc; /* the handle could not be made: wrong too */
  }
  pthread_mutex_lock(&e->mu);
  e->expired += st == ZKLOCK_SESSION_EXPIRED;
  e->cb_checks++;
  if (rc != ZKLOCK_EDEADLK) {
    e->cb_wrong++;
    e->cb_rc = rc;
  }
  pthread_mutex_unlock(&e->mu);
}

static int lost_seen(void *p) {
  events *e = p;
  pthread_mutex_lock(&e->mu);
  int v = e->lost > 0 && e->expired > 0;
  pthread_mutex_unlock(&e->mu);
  return v;
}

static void test_holder_expiry(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "expiry");
  events ev = {.mu = PTHREAD_MUTEX_INITIALIZER};
  zklock_client_opts o = {.session_timeout_ms = 4000,
                          .on_lock = on_lock,
                          .on_session = on_session,
                          .cb_arg = &ev};
  zklock_client *a;
  assert_int_equal(zklock_client_open(zkt_hosts(), &o, &a), ZKLOCK_OK);
  zklock_mutex *ma;
  assert_int_equal(zklock_mutex_new(a, root, &ma), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(ma, -1), ZKLOCK_OK);
  /* a waiter in another session */
  waiter w = {.root = root, .idx = 0, .hold_ms = 0};
  int order[1], norder = 0;
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  w.order = order;
  w.norder = &norder;
  w.mu = &mu;
  w.c = zkt_client(0);
  assert_int_equal(zklock_mutex_new(w.c, root, &w.m), ZKLOCK_OK);
  pthread_t th;
  pthread_create(&th, NULL, waiter_main, &w);
  count_arg ca = {root, 2};
  assert_true(zkt_wait_for(has_children, &ca, 10000));

  int64_t sid = zklock_client_session_id(a);
  zkt_expire(a);
  assert_true(zkt_wait_for(lost_seen, &ev, 15000));
  pthread_mutex_lock(&ev.mu);
  int checks = ev.cb_checks, wrong = ev.cb_wrong, wrong_rc = ev.cb_rc;
  pthread_mutex_unlock(&ev.mu);
  if (wrong)
    fprintf(stderr, "# a blocking call from on_session answered %d (%s)\n",
            wrong_rc, zklock_err_name(wrong_rc));
  assert_true(checks > 0);
  assert_int_equal(wrong, 0);
  assert_int_equal(zklock_mutex_state(ma), ZKLOCK_LOCK_LOST);
  assert_int_equal(zklock_mutex_token(ma), -1);
  pthread_join(th, NULL);
  assert_int_equal(w.rc, ZKLOCK_OK); /* the next waiter proceeded */
  assert_int_equal(norder, 1);
  /* relocking a lost hold is refused until it is unlocked */
  assert_int_equal(zklock_mutex_lock(ma, 0), ZKLOCK_ELOST);
  assert_int_equal(zklock_mutex_unlock(ma), ZKLOCK_ELOST);
  assert_int_equal(zklock_mutex_unlock(ma), ZKLOCK_ENOTHELD);
  /* the client replaces its session on the next blocking call */
  assert_int_equal(zklock_mutex_lock(ma, 5000), ZKLOCK_OK);
  assert_int_not_equal(zklock_client_session_id(a), sid);
  assert_int_equal(zklock_mutex_unlock(ma), ZKLOCK_OK);
  zklock_mutex_free(ma);
  zklock_client_close(a);
  zklock_mutex_free(w.m);
  zklock_client_close(w.c);
  zkt_assert_empty(root);
}

typedef struct {
  zklock_mutex *m;
  int rc;
} lock_arg;

static void *lock_main(void *p) {
  lock_arg *a = p;
  a->rc = zklock_mutex_lock(a->m, 30000);
  return NULL;
}

static void test_waiter_expiry(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "waiter-expiry");
  zklock_client *a = zkt_client(0), *b = zkt_client(4000);
  zklock_mutex *ma, *mb;
  assert_int_equal(zklock_mutex_new(a, root, &ma), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(b, root, &mb), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(ma, -1), ZKLOCK_OK);
  lock_arg la = {mb, 1};
  pthread_t th;
  pthread_create(&th, NULL, lock_main, &la);
  count_arg ca = {root, 2};
  assert_true(zkt_wait_for(has_children, &ca, 10000));
  zkt_expire(b);
  pthread_join(th, NULL);
  assert_int_equal(la.rc, ZKLOCK_ELOST);
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1);
  assert_int_equal(zklock_mutex_unlock(ma), ZKLOCK_OK);
  zklock_mutex_free(ma);
  zklock_mutex_free(mb);
  zklock_client_close(a);
  zklock_client_close(b);
  zkt_assert_empty(root);
}

/* Another thread cancels a wait: ECANCELED, no node left; a cancel
 * before a wait ends the next lock call, once. */
static void test_cancel(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "cancel");
  zklock_client *a = zkt_client(0), *b = zkt_client(0);
  zklock_mutex *ma, *mb;
  assert_int_equal(zklock_mutex_new(a, root, &ma), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(b, root, &mb), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(ma, -1), ZKLOCK_OK);
  lock_arg la = {mb, 1};
  pthread_t th;
  pthread_create(&th, NULL, lock_main, &la);
  count_arg ca = {root, 2};
  assert_true(zkt_wait_for(has_children, &ca, 10000));
  assert_int_equal(zklock_mutex_cancel(mb), ZKLOCK_OK);
  pthread_join(th, NULL);
  assert_int_equal(la.rc, ZKLOCK_ECANCELED);
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1); /* its node went */
  assert_int_equal(zklock_mutex_cancel(mb), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(mb, -1), ZKLOCK_ECANCELED);
  assert_int_equal(zklock_mutex_trylock(mb), ZKLOCK_EBUSY); /* consumed */
  assert_int_equal(zklock_mutex_cancel(NULL), ZKLOCK_EINVAL);
  assert_int_equal(zklock_mutex_unlock(ma), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(mb, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_unlock(mb), ZKLOCK_OK);
  zklock_mutex_free(ma);
  zklock_mutex_free(mb);
  zklock_client_close(a);
  zklock_client_close(b);
  zkt_assert_empty(root);
}

/* Someone else deletes the holder's node: LOST at once, not two owners. */
static void test_foreign_delete(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "foreign");
  events ev = {.mu = PTHREAD_MUTEX_INITIALIZER};
  zklock_client_opts o = {.on_lock = on_lock, .cb_arg = &ev};
  zklock_client *a;
  assert_int_equal(zklock_client_open(zkt_hosts(), &o, &a), ZKLOCK_OK);
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(a, root, &m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m, -1), ZKLOCK_OK);
  zkt_sleep_ms(100); /* the own-node watch is armed asynchronously */
  assert_int_equal(zoo_delete(raw, zklock_mutex_node(m), -1), ZOK);
  for (int i = 0; i < 500 && zklock_mutex_state(m) != ZKLOCK_LOCK_LOST; i++)
    zkt_sleep_ms(10);
  assert_int_equal(zklock_mutex_state(m), ZKLOCK_LOCK_LOST);
  assert_int_equal(zklock_mutex_token(m), -1);
  pthread_mutex_lock(&ev.mu);
  assert_int_equal(ev.lost, 1);
  pthread_mutex_unlock(&ev.mu);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_ELOST);
  zklock_mutex_free(m);
  zklock_client_close(a);
  zkt_assert_empty(root);
}

/* Closing the client ends the session: nodes go, handles say ECLOSED. */
static void test_close_while_held(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "close");
  zklock_client *a = zkt_client(0);
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(a, root, &m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m, -1), ZKLOCK_OK);
  zklock_client_close(a);
  assert_int_equal(zkt_nodes_settle(raw, root, 0), 0);
  assert_int_equal(zklock_mutex_lock(m, 0), ZKLOCK_ELOST);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_ECLOSED);
  assert_int_equal(zklock_mutex_state(m), ZKLOCK_LOCK_UNLOCKED);
  zklock_mutex *m2;
  assert_int_equal(zklock_mutex_new(a, root, &m2), ZKLOCK_ECLOSED);
  zklock_mutex_free(m); /* frees the closed client too */
  zkt_assert_empty(root);
}

/* Fencing: a write guarded by check(lock node) succeeds only while held. */
static void test_fenced_multi(void **state) {
  (void)state;
  char root[256], data[300];
  zkt_root(root, sizeof root, "fenced");
  snprintf(data, sizeof data, "%s-data", root);
  zklock_client *a = zkt_client(0);
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(a, root, &m), ZKLOCK_OK);
  zoo_op_t op;
  char created[512];
  zoo_create_op_init(&op, data, "v1", 2, &ZOO_OPEN_ACL_UNSAFE, 0, created,
                     sizeof created);
  zoo_op_result_t res;
  assert_int_equal(zklock_mutex_fenced_multi(m, 1, &op, &res), ZKLOCK_ENOTHELD);
  assert_int_equal(zklock_mutex_lock(m, -1), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_fenced_multi(m, 1, &op, &res), ZKLOCK_OK);
  assert_int_equal(res.err, ZOK);
  assert_string_equal(created, data);
  /* after a foreign delete of our node, the fenced write is refused */
  zoo_op_t set;
  zoo_set_op_init(&set, data, "v2", 2, -1, NULL);
  assert_int_equal(zoo_delete(raw, zklock_mutex_node(m), -1), ZOK);
  assert_int_equal(zklock_mutex_fenced_multi(m, 1, &set, &res), ZKLOCK_ELOST);
  char buf[8];
  int len = sizeof buf;
  zkt_sync(raw, data);
  assert_int_equal(zoo_get(raw, data, 0, buf, &len, NULL), ZOK);
  assert_int_equal(len, 2);
  assert_memory_equal(buf, "v1", 2);
  zklock_mutex_unlock(m);
  zklock_mutex_free(m);
  zklock_client_close(a);
  zoo_delete(raw, data, -1);
  zkt_assert_empty(root);
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "--counter") == 0)
    return counter_proc(argv[2], argv[3], atoi(argv[4]));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_uncontended),
      cmocka_unit_test(test_reentrant),
      cmocka_unit_test(test_trylock_busy_and_timeout),
      cmocka_unit_test(test_fifo),
      cmocka_unit_test(test_herd_free),
      cmocka_unit_test(test_counter_processes),
      cmocka_unit_test(test_holder_expiry),
      cmocka_unit_test(test_waiter_expiry),
      cmocka_unit_test(test_cancel),
      cmocka_unit_test(test_foreign_delete),
      cmocka_unit_test(test_close_while_held),
      cmocka_unit_test(test_fenced_multi),
  };
  return cmocka_run_group_tests_name("mutex", tests, zkt_group_setup,
                                     zkt_group_teardown);
}
