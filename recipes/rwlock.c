/* Read-write lock: r and x nodes in one queue (src/queue.c). A reader
 * waits for the nearest earlier writer, a writer for the nearest earlier
 * node of any kind; the queue code picks the candidates by kind. */
#include "compat.h"
#include "zklock_int.h"

/* An rwlock is a lock handle; the first-member rule makes the casts
 * valid. */
struct zklock_rwlock {
  zklock__lock l;
};

static zklock__lock *L(zklock_rwlock *l) { return (zklock__lock *)l; }
static const zklock__lock *CL(const zklock_rwlock *l) {
  return (const zklock__lock *)l;
}

#define CHECK(x)                                                               \
  do {                                                                         \
    if (zklock__lock_check(CL(x)))                                             \
      return ZKLOCK_EINVAL;                                                    \
  } while (0)

int zklock_rwlock_new(zklock_client *c, const char *path, zklock_rwlock **out) {
  if (!out)
    return ZKLOCK_EINVAL;
  zklock__lock *l;
  int rc = zklock__lock_new(c, path, &l);
  if (rc == ZKLOCK_OK)
    l->recipe = ZKLOCK__R_RWLOCK; /* Curator names its nodes by recipe */
  *out = (zklock_rwlock *)l;
  return rc;
}

static int held(zklock_rwlock *l) { return l->l.wr_depth + l->l.rd_depth > 0; }

int zklock_rwlock_rdlock(zklock_rwlock *l, int timeout_ms) {
  CHECK(l);
  if (held(l)) {
    if (zklock__lock_state(L(l)) == ZKLOCK_LOCK_LOST)
      return ZKLOCK_ELOST;
    l->l.rd_depth++; /* a writer or reader may add read holds */
    return ZKLOCK_OK;
  }
  return zklock__lock_acquire(L(l), 'r', timeout_ms); /* sets the depth */
}

int zklock_rwlock_wrlock(zklock_rwlock *l, int timeout_ms) {
  CHECK(l);
  if (held(l)) {
    if (l->l.wr_depth == 0)
      return ZKLOCK_EUPGRADE; /* two upgrading readers would deadlock */
    if (zklock__lock_state(L(l)) == ZKLOCK_LOCK_LOST)
      return ZKLOCK_ELOST;
    l->l.wr_depth++;
    return ZKLOCK_OK;
  }
  return zklock__lock_acquire(L(l), 'x', timeout_ms);
}

/* Reentrant holds answer at once (done deferred); otherwise the engine. */
static int lock_async(zklock_rwlock *l, char kind, int timeout_ms,
                      zklock_done_cb done, void *arg) {
  CHECK(l);
  if (!done)
    return ZKLOCK_EINVAL;
  if (held(l)) {
    if (kind == 'x' && l->l.wr_depth == 0)
      return ZKLOCK_EUPGRADE;
    if (zklock__lock_state(L(l)) == ZKLOCK_LOCK_LOST)
      return ZKLOCK_ELOST;
    if (kind == 'x')
      l->l.wr_depth++;
    else
      l->l.rd_depth++;
    pthread_mutex_lock(&l->l.c->mu);
    zklock__cb_defer(l->l.c, done, arg, ZKLOCK_OK);
    pthread_mutex_unlock(&l->l.c->mu);
    return ZKLOCK_OK;
  }
  return zklock__lock_acquire_async(L(l), kind, timeout_ms, done, arg);
}

int zklock_rwlock_rdlock_async(zklock_rwlock *l, int timeout_ms,
                               zklock_done_cb done, void *arg) {
  return lock_async(l, 'r', timeout_ms, done, arg);
}

int zklock_rwlock_wrlock_async(zklock_rwlock *l, int timeout_ms,
                               zklock_done_cb done, void *arg) {
  return lock_async(l, 'x', timeout_ms, done, arg);
}

int zklock_rwlock_unlock_async(zklock_rwlock *l, zklock_done_cb done,
                               void *arg) {
  CHECK(l);
  if (!held(l))
    return ZKLOCK_ENOTHELD;
  if (l->l.rd_depth + l->l.wr_depth > 1) {
    if (l->l.rd_depth > 0)
      l->l.rd_depth--;
    else
      l->l.wr_depth--;
    if (done) {
      pthread_mutex_lock(&l->l.c->mu);
      zklock__cb_defer(l->l.c, done, arg, ZKLOCK_OK);
      pthread_mutex_unlock(&l->l.c->mu);
    }
    return ZKLOCK_OK;
  }
  return zklock__lock_release_async(L(l), done, arg);
}

int zklock_rwlock_tryrdlock(zklock_rwlock *l) {
  return zklock_rwlock_rdlock(l, 0);
}

int zklock_rwlock_trywrlock(zklock_rwlock *l) {
  return zklock_rwlock_wrlock(l, 0);
}

int zklock_rwlock_downgrade(zklock_rwlock *l) {
  CHECK(l);
  if (l->l.wr_depth == 0)
    return ZKLOCK_ENOTHELD;
  int rc = zklock__lock_downgrade(L(l));
  if (rc == ZKLOCK_OK) {
    l->l.rd_depth += l->l.wr_depth;
    l->l.wr_depth = 0;
  }
  return rc;
}

int zklock_rwlock_unlock(zklock_rwlock *l) {
  CHECK(l);
  if (!held(l))
    return ZKLOCK_ENOTHELD;
  int *depth = l->l.rd_depth > 0 ? &l->l.rd_depth : &l->l.wr_depth;
  if (l->l.rd_depth + l->l.wr_depth > 1) {
    /* Read holds go first, so a write hold under read holds is never
     * dropped here: that is zklock_rwlock_downgrade's job. */
    (*depth)--;
    return ZKLOCK_OK;
  }
  (void)depth; /* the engine resets both depths once released */
  return zklock__lock_release(L(l));
}

int zklock_rwlock_cancel(zklock_rwlock *l) { return zklock__lock_cancel(L(l)); }

int64_t zklock_rwlock_token(const zklock_rwlock *l) {
  return zklock__lock_token(CL(l));
}

zklock_lock_state zklock_rwlock_state(const zklock_rwlock *l) {
  return (zklock_lock_state)zklock__lock_state(CL(l));
}

int zklock_rwlock_mode(const zklock_rwlock *l) {
  if (zklock__lock_check(CL(l)))
    return 0;
  return l->l.wr_depth > 0 ? 'w' : l->l.rd_depth > 0 ? 'r' : 0;
}

const char *zklock_rwlock_node(const zklock_rwlock *l) {
  return zklock__lock_node(CL(l));
}

int zklock_rwlock_fenced_multi(zklock_rwlock *l, int n, const zoo_op_t *ops,
                               zoo_op_result_t *results) {
  return zklock__lock_fenced_multi(L(l), n, ops, results);
}

int zklock_rwlock_set_listener(zklock_rwlock *l, zklock_listener_cb cb,
                               void *arg) {
  return zklock__lock_set_listener(L(l), cb, arg);
}

void zklock_rwlock_free(zklock_rwlock *l) { zklock__lock_free(L(l)); }

/* ---- the rule ----
 * A writer follows the exclusive rule (recipes/mutex.c). A reader outlasts
 * every earlier writer, nearest first, and keeps them all: it passes a
 * writer whose data carries the read mark (a downgrade) and must then
 * still see the older ones. Readers never wait for readers. */
void zklock__rule_reader(const zklock__qent *q, int n, int me, int *idx,
                         zklock__verdict *v) {
  zklock__rule_ahead(q, n, me, "x", idx, &v->total);
  v->grant = v->total == 0;
  v->mode = ZKLOCK__W_CHAIN;
  v->nwatch = v->total;
}
