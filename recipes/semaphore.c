/* Counting semaphore: s lease nodes in the shared queue (src/queue.c),
 * which grants a lease while fewer than `permits` nodes are ahead of it.
 * A handle holds at most one lease; this file only sets the rules. In a
 * Curator or kazoo profile the library's layout is used instead
 * (src/compat_sem.c). */
#include "compat.h"
#include "zklock_int.h"

#include <string.h>

#define PERMITS_MAX 1000000

/* A semaphore is a lock handle; the first-member rule makes the casts
 * valid. */
struct zklock_semaphore {
  zklock__lock l;
};

static zklock__lock *L(zklock_semaphore *s) { return (zklock__lock *)s; }
static const zklock__lock *CL(const zklock_semaphore *s) {
  return (const zklock__lock *)s;
}

int zklock_semaphore_new(zklock_client *c, const char *path, int permits,
                         zklock_semaphore **out) {
  if (!out)
    return ZKLOCK_EINVAL;
  *out = NULL;
  /* The count is stored at the path as text; a bound keeps every
   * participant's "permits=N" parse exact. */
  if (permits < 1 || permits > PERMITS_MAX)
    return ZKLOCK_EINVAL;
  zklock__lock *l;
  int rc = zklock__lock_new(c, path, &l);
  if (rc)
    return rc;
  l->permits = permits;
  if (c->compat != ZKLOCK_COMPAT_NATIVE) {
    /* In a profile the library's own mutex guards the lease pool
     * (src/compat_sem.c): a second lock handle at its path. */
    char lock_path[ZKLOCK__NODE_MAX], pool[ZKLOCK__NODE_MAX];
    rc = zklock__sem_paths(c->compat, path, lock_path, sizeof lock_path, pool,
                           sizeof pool) ||
                 strlen(lock_path) > ZKLOCK_PATH_MAX
             ? ZKLOCK_EINVAL
             : zklock__lock_new(c, lock_path, &l->sub);
    if (rc) {
      zklock__lock_free(l);
      return rc;
    }
    l->sub->recipe = c->compat == ZKLOCK_COMPAT_CURATOR ? ZKLOCK__R_SEMLOCK
                                                        : ZKLOCK__R_MUTEX;
    /* the application's on_lock hears of its lease, not of this mutex */
    l->sub->h.quiet = 1;
  }
  *out = (zklock_semaphore *)l;
  return ZKLOCK_OK;
}

/* A lost lease is reported as such until released (as for locks); a
 * second lease on one handle is refused by the engine (ZKLOCK_EALREADY): one
 * node per handle keeps release unambiguous. */
static int lost(zklock_semaphore *s) {
  return zklock__lock_state(L(s)) == ZKLOCK_LOCK_LOST;
}

int zklock_semaphore_acquire(zklock_semaphore *s, int timeout_ms) {
  if (lost(s))
    return ZKLOCK_ELOST;
  if (zklock__lock_check(L(s)) == ZKLOCK_OK && L(s)->sub)
    return zklock__csem_acquire(L(s), timeout_ms);
  return zklock__lock_acquire(L(s), 's', timeout_ms);
}

int zklock_semaphore_acquire_async(zklock_semaphore *s, int timeout_ms,
                                   zklock_done_cb done, void *arg) {
  if (lost(s))
    return ZKLOCK_ELOST;
  if (zklock__lock_check(L(s)) == ZKLOCK_OK && L(s)->sub)
    return zklock__csem_acquire_async(L(s), timeout_ms, done, arg);
  return zklock__lock_acquire_async(L(s), 's', timeout_ms, done, arg);
}

int zklock_semaphore_tryacquire(zklock_semaphore *s) {
  return zklock_semaphore_acquire(s, 0);
}

int zklock_semaphore_release(zklock_semaphore *s) {
  return zklock__lock_release(L(s));
}

int zklock_semaphore_release_async(zklock_semaphore *s, zklock_done_cb done,
                                   void *arg) {
  return zklock__lock_release_async(L(s), done, arg);
}

const char *zklock_semaphore_node(const zklock_semaphore *s) {
  return zklock__lock_node(CL(s));
}

int64_t zklock_semaphore_token(const zklock_semaphore *s) {
  return zklock__lock_token(CL(s));
}

zklock_lock_state zklock_semaphore_state(const zklock_semaphore *s) {
  return (zklock_lock_state)zklock__lock_state(CL(s));
}

int zklock_semaphore_cancel(zklock_semaphore *s) {
  return zklock__lock_cancel(L(s));
}

/* On the lease's handle; the profile's inner mutex is quiet. */
int zklock_semaphore_set_listener(zklock_semaphore *s, zklock_listener_cb cb,
                                  void *arg) {
  return zklock__lock_set_listener(L(s), cb, arg);
}

void zklock_semaphore_free(zklock_semaphore *s) {
  if (zklock__lock_check(L(s)))
    return;
  zklock__lock *sub = L(s)->sub;
  zklock__lock_free(L(s)); /* ends an attempt, which lets go of sub */
  zklock__lock_free(sub);
}

/* ---- the rule ----
 * At most `permits` nodes have fewer than `permits` nodes ahead of them,
 * and a node's set of nodes ahead only shrinks (new ones sort after it):
 * so granting exactly those keeps at most `permits` holders. The first
 * waiter (exactly `permits` ahead, all holders or about to be) watches
 * them all: any one leaving frees its permit. Every later waiter watches
 * only its predecessor, a waiter, which marks its node when it becomes a
 * holder: a release wakes one waiter and nobody lists on every release. */
void zklock__rule_semaphore(const zklock__qent *q, int n, int me, int permits,
                            int *idx, zklock__verdict *v) {
  zklock__rule_ahead(q, n, me, "s", idx, &v->total);
  v->grant = v->total < permits;
  v->mode = v->total == permits ? ZKLOCK__W_ANY : ZKLOCK__W_TURN;
  v->nwatch = v->grant ? 0 : v->mode == ZKLOCK__W_ANY ? v->total : 1;
}

/* A lease marks its node on grant if it waited, or if the granting listing
 * shows a node behind it. That later node may have listed first, seen us
 * as a waiter and be watching us for the mark: without it, it would wait
 * beside a free permit until we release. No node behind us in our listing
 * means none listed before it: a node created after our listing sees us
 * with fewer than `permits` ahead (sets ahead only shrink), so it either
 * holds or is the first waiter watching the holders. (Reads on a follower
 * are no exception: the follower applies commits in zxid order, and the
 * later node's own read saw its create.) */
int zklock__rule_semaphore_mark(const zklock__qent *q, int n, int me,
                                int waited) {
  if (waited)
    return 1;
  for (int i = 0; i < n; i++)
    if (i != me && zklock__seq_dist(q[i].seq, q[me].seq) > 0)
      return 1;
  return 0;
}
