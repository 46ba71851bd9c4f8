/* The one-shot program on the attempt core: see src/call.h. A call is an
 * attempt whose steps its operation supplies; this file turns the
 * ZooKeeper completions of every request kind into one answer shape. */
#include "call.h"

#include <stdlib.h>

static zklock__call *K(zklock__att *a) { return (zklock__call *)a; }

static void free_call(zklock__call *k) {
  if (k->ops->destroy)
    k->ops->destroy(k);
  free(k);
}

/* ---- the program's hooks ---- */

static void c_step(zklock__att *a, zklock__cbq *q) { K(a)->ops->send(K(a), q); }

static void c_event(zklock__att *a, int type, const char *path,
                    zklock__cbq *q) {
  (void)a, (void)type, (void)path, (void)q; /* a call arms no watch */
}

static void c_gone(zklock__att *a, zklock__cbq *q) {
  zklock__att_gone(a, K(a)->ops->fresh, K(a)->ops->first, q);
}

static int c_fresh(const zklock__att *a) {
  return ((const zklock__call *)a)->ops->fresh;
}

static void c_end(zklock__att *a, int rc, zklock__cbq *q) {
  (void)a, (void)rc, (void)q; /* answers hand results over as they come */
}

static const char *c_node(const zklock__att *a) {
  (void)a;
  return NULL;
}

static void c_destroy(zklock__att *a) { free_call(K(a)); }

static const zklock__prog call_prog = {
    .step = c_step,
    .event = c_event,
    .gone = c_gone,
    .fresh = c_fresh,
    .end = c_end,
    .node = c_node,
    .destroy = c_destroy,
};

/* The result: a one-shot call waits for no one, so running out of time
 * means no server answered (ECONNLOSS, as documented), not a wait that
 * timed out. */
static void call_done(int rc, void *arg, zklock__cbq *q) {
  zklock__call *k = arg;
  if (rc == ZKLOCK_ETIMEDOUT) {
    rc = ZKLOCK_ECONNLOSS;
    if (k->at.zrc == ZOK)
      k->at.zrc = ZCONNECTIONLOSS;
    zklock__set_zk_err(k->at.zrc);
  }
  zklock__deliver(k->c, q, k->done, k->arg, rc, k->at.zrc);
}

/* ---- starting ---- */

int zklock__call_start(zklock__call *k, zklock_done_cb done, void *arg,
                       zklock__cbq *q) {
  zklock_client *c = k->c;
  int rc = c->closed ? ZKLOCK_ECLOSED : ZKLOCK_OK;
  /* The handle may know of the expiry before its event reaches us. */
  if (!rc && !c->reopening && c->zh && !zklock__session_dead(c) &&
      zoo_state(c->zh) == ZOO_EXPIRED_SESSION_STATE)
    zklock__session_dead_locked(c);
  if (!rc && !k->ops->fresh &&
      (zklock__session_dead(c) || c->reopening || c->reopen_wanted))
    rc = ZKLOCK_ELOST; /* a hold does not outlive its session */
  if (!rc && k->ops->check)
    rc = k->ops->check(k);
  k->done = done;
  k->arg = arg;
  if (!rc && zklock__att_init(&k->at, &call_prog, c,
                              k->ops->patient ? -1 : c->connect_timeout_ms,
                              NULL, call_done, k))
    rc = ZKLOCK_ENOMEM;
  if (rc) {
    free_call(k);
    return rc;
  }
  zklock__att_start(&k->at, k->ops->first, q);
  return ZKLOCK_OK;
}

typedef struct {
  zklock__call *k;
  int started;
} wait_ctx;

static int wait_start(void *ctx, zklock_done_cb done, void *arg,
                      zklock__cbq *q) {
  wait_ctx *w = ctx;
  w->started = 1;
  return zklock__call_start(w->k, done, arg, q);
}

int zklock__call_wait(zklock_client *c, zklock__call *k) {
  if (!k)
    return ZKLOCK_ENOMEM;
  if (!c || c->magic != ZKLOCK__MAGIC_CLIENT) {
    free_call(k);
    return ZKLOCK_EINVAL;
  }
  k->c = c;
  wait_ctx w = {k, 0};
  int rc = zklock__wait_call(c, wait_start, &w);
  if (!w.started) /* refused before it started (EDEADLK) */
    free_call(k);
  return rc;
}

void zklock__call_next(zklock__call *k, int state, zklock__cbq *q) {
  if (!k->ops->patient) {
    k->at.deadline = zklock__now_ms() + k->c->connect_timeout_ms;
    zklock__att_timers(&k->at);
  }
  zklock__att_begin(&k->at, state);
  zklock__att_step(&k->at, q);
}

/* ---- completions: every kind becomes one zklock__ans ---- */

static void answered(zklock__req *r, zklock__ans *ans) {
  zklock_client *c = r->a->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  int stale;
  zklock__att *a = zklock__req_take(r, &stale);
  ans->idx = r->idx;
  if (!stale)
    K(a)->ops->answer(K(a), ans, &q);
  zklock__req_free(r);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
}

static void children_cb(int rc, const struct String_vector *sv,
                        const void *data) {
  zklock__ans ans = {.rc = rc, .kids = sv};
  answered((zklock__req *)data, &ans);
}

static void get_cb(int rc, const char *v, int vlen, const struct Stat *st,
                   const void *data) {
  zklock__ans ans = {.rc = rc, .v = v, .vlen = vlen, .st = st};
  answered((zklock__req *)data, &ans);
}

static void stat_cb(int rc, const struct Stat *st, const void *data) {
  zklock__ans ans = {.rc = rc, .st = st};
  answered((zklock__req *)data, &ans);
}

static void string_cb(int rc, const char *path, const void *data) {
  (void)path;
  zklock__ans ans = {.rc = rc};
  answered((zklock__req *)data, &ans);
}

static void void_cb(int rc, const void *data) {
  zklock__ans ans = {.rc = rc};
  answered((zklock__req *)data, &ans);
}

/* ---- requests ---- */

int zklock__call_children(zklock__call *k, const char *path, int idx,
                          zklock__cbq *q) {
  zklock__req *r = zklock__req_new(&k->at, idx);
  return zklock__req_sent(
      &k->at, r,
      r ? zoo_aget_children(k->c->zh, path, 0, children_cb, r) : ZSYSTEMERROR,
      q);
}

int zklock__call_get(zklock__call *k, const char *path, int idx,
                     zklock__cbq *q) {
  zklock__req *r = zklock__req_new(&k->at, idx);
  return zklock__req_sent(
      &k->at, r, r ? zoo_aget(k->c->zh, path, 0, get_cb, r) : ZSYSTEMERROR, q);
}

int zklock__call_set(zklock__call *k, const char *path, const char *v, int vlen,
                     int version, zklock__cbq *q) {
  zklock__req *r = zklock__req_new(&k->at, 0);
  return zklock__req_sent(
      &k->at, r,
      r ? zoo_aset(k->c->zh, path, v, vlen, version, stat_cb, r) : ZSYSTEMERROR,
      q);
}

int zklock__call_create(zklock__call *k, const char *path, const char *v,
                        int vlen, int flags, zklock__cbq *q) {
  zklock__req *r = zklock__req_new(&k->at, 0);
  return zklock__req_sent(&k->at, r,
                          r ? zoo_acreate(k->c->zh, path, v, vlen,
                                          zklock__acl(k->c), flags, string_cb,
                                          r)
                            : ZSYSTEMERROR,
                          q);
}

int zklock__call_multi(zklock__call *k, int n, const zoo_op_t *ops,
                       zoo_op_result_t *res, zklock__cbq *q) {
  zklock__req *r = zklock__req_new(&k->at, 0);
  return zklock__req_sent(
      &k->at, r,
      r ? zoo_amulti(k->c->zh, n, ops, res, void_cb, r) : ZSYSTEMERROR, q);
}

int zklock__call_transient(int zrc) {
  return zrc == ZCONNECTIONLOSS || zrc == ZOPERATIONTIMEOUT ||
         zrc == ZSESSIONEXPIRED || zrc == ZSESSIONMOVED || zrc == ZINVALIDSTATE;
}

void zklock__call_sync(zklock__call *k, const char *path) {
  zoo_async(k->c->zh, path, zklock__sync_done, NULL);
}
