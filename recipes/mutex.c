/* Exclusive mutex: one x node in the shared queue (src/queue.c). */
#include "zklock_int.h"

#include <stdlib.h>

struct zklock_mutex {
  zklock__lock l;
};

#define CHECK(m)                                                               \
  do {                                                                         \
    if (!(m) || zklock__lock_check(&(m)->l))                                   \
      return ZKLOCK_EINVAL;                                                    \
  } while (0)

int zklock_mutex_new(zklock_client *c, const char *path, zklock_mutex **out) {
  if (out)
    *out = NULL;
  if (!out)
    return ZKLOCK_EINVAL;
  zklock_mutex *m = calloc(1, sizeof *m);
  if (!m)
    return ZKLOCK_ENOMEM;
  int rc = zklock__lock_init(&m->l, c, path);
  if (rc) {
    free(m);
    return rc;
  }
  *out = m;
  return ZKLOCK_OK;
}

int zklock_mutex_lock(zklock_mutex *m, int timeout_ms) {
  CHECK(m);
  if (m->l.wr_depth > 0) {
    if (zklock__lock_state(&m->l) == ZKLOCK_LOCK_LOST)
      return ZKLOCK_ELOST;
    m->l.wr_depth++; /* reentrant */
    return ZKLOCK_OK;
  }
  int rc = zklock__lock_acquire(&m->l, 'x', timeout_ms);
  if (rc == ZKLOCK_OK)
    m->l.wr_depth = 1;
  return rc;
}

int zklock_mutex_trylock(zklock_mutex *m) { return zklock_mutex_lock(m, 0); }

int zklock_mutex_unlock(zklock_mutex *m) {
  CHECK(m);
  if (m->l.wr_depth == 0)
    return ZKLOCK_ENOTHELD;
  if (--m->l.wr_depth > 0)
    return ZKLOCK_OK;
  int rc = zklock__lock_release(&m->l);
  if (rc == ZKLOCK_EDEADLK || rc == ZKLOCK_EINVAL)
    m->l.wr_depth++; /* not released: the caller may try again */
  return rc;
}

int64_t zklock_mutex_token(const zklock_mutex *m) {
  if (!m || zklock__lock_check(&m->l))
    return -1;
  return zklock__lock_token(&m->l);
}

zklock_lock_state zklock_mutex_state(const zklock_mutex *m) {
  if (!m || zklock__lock_check(&m->l))
    return ZKLOCK_LOCK_UNLOCKED;
  return (zklock_lock_state)zklock__lock_state(&m->l);
}

const char *zklock_mutex_node(const zklock_mutex *m) {
  if (!m || zklock__lock_check(&m->l) || !m->l.h.node[0])
    return NULL;
  return m->l.h.node;
}

int zklock_mutex_fenced_multi(zklock_mutex *m, int n, const zoo_op_t *ops,
                              zoo_op_result_t *results) {
  CHECK(m);
  return zklock__lock_fenced_multi(&m->l, n, ops, results);
}

void zklock_mutex_free(zklock_mutex *m) {
  if (!m || zklock__lock_check(&m->l))
    return;
  zklock__lock_destroy(&m->l);
  free(m);
}
