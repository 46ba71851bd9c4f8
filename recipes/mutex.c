/* Exclusive mutex: one x node in the shared queue (src/queue.c). */
#include "zklock_int.h"

/* A mutex is a lock handle; the first-member rule makes the casts valid. */
struct zklock_mutex {
  zklock__lock l;
};

static zklock__lock *L(zklock_mutex *m) { return (zklock__lock *)m; }
static const zklock__lock *CL(const zklock_mutex *m) {
  return (const zklock__lock *)m;
}

int zklock_mutex_new(zklock_client *c, const char *path, zklock_mutex **out) {
  if (!out)
    return ZKLOCK_EINVAL;
  zklock__lock *l;
  int rc = zklock__lock_new(c, path, &l);
  *out = (zklock_mutex *)l;
  return rc;
}

int zklock_mutex_lock(zklock_mutex *m, int timeout_ms) {
  if (zklock__lock_check(L(m)))
    return ZKLOCK_EINVAL;
  if (m->l.wr_depth > 0) {
    if (zklock__lock_state(L(m)) == ZKLOCK_LOCK_LOST)
      return ZKLOCK_ELOST; /* unlock first, then lock again */
    m->l.wr_depth++;       /* reentrant */
    return ZKLOCK_OK;
  }
  return zklock__lock_acquire(L(m), 'x', timeout_ms); /* sets the depth */
}

int zklock_mutex_lock_async(zklock_mutex *m, int timeout_ms,
                            zklock_done_cb done, void *arg) {
  if (zklock__lock_check(L(m)) || !done)
    return ZKLOCK_EINVAL;
  if (m->l.wr_depth > 0) {
    if (zklock__lock_state(L(m)) == ZKLOCK_LOCK_LOST)
      return ZKLOCK_ELOST;
    m->l.wr_depth++;
    pthread_mutex_lock(&m->l.c->mu);
    zklock__cb_defer(m->l.c, done, arg, ZKLOCK_OK);
    pthread_mutex_unlock(&m->l.c->mu);
    return ZKLOCK_OK;
  }
  return zklock__lock_acquire_async(L(m), 'x', timeout_ms, done, arg);
}

int zklock_mutex_unlock_async(zklock_mutex *m, zklock_done_cb done, void *arg) {
  if (zklock__lock_check(L(m)))
    return ZKLOCK_EINVAL;
  if (m->l.wr_depth == 0)
    return ZKLOCK_ENOTHELD;
  if (m->l.wr_depth > 1) {
    m->l.wr_depth--;
    if (done) {
      pthread_mutex_lock(&m->l.c->mu);
      zklock__cb_defer(m->l.c, done, arg, ZKLOCK_OK);
      pthread_mutex_unlock(&m->l.c->mu);
    }
    return ZKLOCK_OK;
  }
  return zklock__lock_release_async(L(m), done, arg);
}

int zklock_mutex_trylock(zklock_mutex *m) { return zklock_mutex_lock(m, 0); }

int zklock_mutex_unlock(zklock_mutex *m) {
  if (zklock__lock_check(L(m)))
    return ZKLOCK_EINVAL;
  if (m->l.wr_depth == 0)
    return ZKLOCK_ENOTHELD;
  if (--m->l.wr_depth > 0)
    return ZKLOCK_OK;
  m->l.wr_depth++; /* the engine resets it once released */
  int rc = zklock__lock_release(L(m));
  if (rc != ZKLOCK_EDEADLK && rc != ZKLOCK_EINVAL)
    m->l.wr_depth = 0;
  return rc;
}

int zklock_mutex_cancel(zklock_mutex *m) { return zklock__lock_cancel(L(m)); }

int64_t zklock_mutex_token(const zklock_mutex *m) {
  return zklock__lock_token(CL(m));
}

zklock_lock_state zklock_mutex_state(const zklock_mutex *m) {
  return (zklock_lock_state)zklock__lock_state(CL(m));
}

const char *zklock_mutex_node(const zklock_mutex *m) {
  return zklock__lock_node(CL(m));
}

int zklock_mutex_fenced_multi(zklock_mutex *m, int n, const zoo_op_t *ops,
                              zoo_op_result_t *results) {
  return zklock__lock_fenced_multi(L(m), n, ops, results);
}

int zklock_mutex_set_listener(zklock_mutex *m, zklock_listener_cb cb,
                              void *arg) {
  return zklock__lock_set_listener(L(m), cb, arg);
}

void zklock_mutex_free(zklock_mutex *m) { zklock__lock_free(L(m)); }

/* ---- the rule ---- */

/* An exclusive node (mutex, writer) outlasts every earlier node of either
 * kind. With one node ahead it watches that one, whose delete grants (new
 * nodes sort after us). With more it watches the nearest two: the farther
 * one goes first in a FIFO queue, and the listing that follows (while the
 * nearer one still holds or waits) leaves the nearer one alone ahead, so
 * no read is left on the path of the handoff. */
void zklock__rule_exclusive(const zklock__qent *q, int n, int me, int *idx,
                            zklock__verdict *v) {
  zklock__rule_ahead(q, n, me, "xr", idx, &v->total);
  v->grant = v->total == 0;
  v->mode = v->total >= 2 ? ZKLOCK__W_PAIR : ZKLOCK__W_CHAIN;
  v->nwatch = v->total >= 2 ? 2 : v->total;
}
