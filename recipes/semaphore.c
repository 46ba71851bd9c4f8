/* Counting semaphore: s lease nodes in the shared queue (src/queue.c),
 * which grants a lease while fewer than `permits` nodes are ahead of it.
 * A handle holds at most one lease; this file only sets the rules. */
#include "zklock_int.h"

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
  if (rc == ZKLOCK_OK)
    l->permits = permits;
  *out = (zklock_semaphore *)l;
  return rc;
}

/* A lost lease is reported as such until released (as for locks); a
 * second lease on one handle is refused by the engine (ZKLOCK_EBUSY): one
 * node per handle keeps release unambiguous. */
static int lost(zklock_semaphore *s) {
  return zklock__lock_state(L(s)) == ZKLOCK_LOCK_LOST;
}

int zklock_semaphore_acquire(zklock_semaphore *s, int timeout_ms) {
  if (lost(s))
    return ZKLOCK_ELOST;
  return zklock__lock_acquire(L(s), 's', timeout_ms);
}

int zklock_semaphore_acquire_async(zklock_semaphore *s, int timeout_ms,
                                   zklock_done_cb done, void *arg) {
  if (lost(s))
    return ZKLOCK_ELOST;
  return zklock__lock_acquire_async(L(s), 's', timeout_ms, done, arg);
}

int zklock_semaphore_release(zklock_semaphore *s) {
  return zklock__lock_release(L(s));
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

void zklock_semaphore_free(zklock_semaphore *s) { zklock__lock_free(L(s)); }
