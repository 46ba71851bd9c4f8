/* Multi-lock: several mutexes taken all or none. Every handle takes its
 * paths in one global order (path bytes), so two callers listing the same
 * paths in different orders can never each hold what the other waits for:
 * a wait only ever points from a smaller path to a larger one. */
#include "zklock_int.h"

#include <stdlib.h>
#include <string.h>

#define MULTI_MAX 64

struct zklock_multilock {
  unsigned magic;
  int n;
  int held;         /* 1 while all members are held */
  zklock_mutex **m; /* in lock order (sorted by path) */
  int *slot;        /* slot[i]: index in m of the caller's paths[i] */
};

static int path_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int zklock_multilock_new(zklock_client *c, const char *const *paths, int n,
                         zklock_multilock **out) {
  if (!out)
    return ZKLOCK_EINVAL;
  *out = NULL;
  if (!c || !paths || n < 1 || n > MULTI_MAX)
    return ZKLOCK_EINVAL;
  for (int i = 0; i < n; i++) {
    int rc = zklock_path_validate(paths[i]);
    if (rc)
      return rc;
  }
  const char *sorted[MULTI_MAX];
  memcpy(sorted, paths, (size_t)n * sizeof *sorted);
  qsort(sorted, (size_t)n, sizeof *sorted, path_cmp);
  /* A duplicate would wait for itself: its second handle queues behind
   * the first, which never lets go while the lock call runs. */
  for (int i = 1; i < n; i++)
    if (strcmp(sorted[i - 1], sorted[i]) == 0)
      return ZKLOCK_EINVAL;
  zklock_multilock *ml = calloc(1, sizeof *ml);
  if (!ml)
    return ZKLOCK_ENOMEM;
  ml->m = calloc((size_t)n, sizeof *ml->m);
  ml->slot = calloc((size_t)n, sizeof *ml->slot);
  if (!ml->m || !ml->slot) {
    free(ml->m);
    free(ml->slot);
    free(ml);
    return ZKLOCK_ENOMEM;
  }
  ml->magic = ZKLOCK__MAGIC_LOCK;
  ml->n = n;
  for (int i = 0; i < n; i++) {
    int rc = zklock_mutex_new(c, sorted[i], &ml->m[i]);
    if (rc) {
      zklock_multilock_free(ml);
      return rc;
    }
  }
  for (int i = 0; i < n; i++) {
    const char **hit =
        bsearch(&paths[i], sorted, (size_t)n, sizeof *sorted, path_cmp);
    ml->slot[i] = (int)(hit - sorted);
  }
  *out = ml;
  return ZKLOCK_OK;
}

static int ml_check(const zklock_multilock *ml) {
  return ml && ml->magic == ZKLOCK__MAGIC_LOCK ? ZKLOCK_OK : ZKLOCK_EINVAL;
}

/* Releases members [0, k) in reverse order; the first error wins. */
static int release_upto(zklock_multilock *ml, int k) {
  int first = ZKLOCK_OK;
  while (k-- > 0) {
    int rc = zklock_mutex_unlock(ml->m[k]);
    if (rc && !first)
      first = rc;
  }
  return first;
}

int zklock_multilock_lock(zklock_multilock *ml, int timeout_ms) {
  if (ml_check(ml))
    return ZKLOCK_EINVAL;
  if (ml->held)
    return ZKLOCK_EALREADY; /* not reentrant: a second hold has no meaning */
  int64_t deadline = timeout_ms > 0 ? zklock__now_ms() + timeout_ms : -1;
  for (int i = 0; i < ml->n; i++) {
    int t = timeout_ms;
    if (deadline >= 0) {
      int64_t left = deadline - zklock__now_ms();
      /* Out of time: one last try rather than a wait of 0 meaning a
       * negative (endless) timeout. */
      t = left > 0 ? (int)left : 0;
    }
    int rc = zklock_mutex_lock(ml->m[i], t);
    if (rc) {
      /* a try that found the deadline passed reports the timeout */
      if (rc == ZKLOCK_EBUSY && timeout_ms > 0)
        rc = ZKLOCK_ETIMEDOUT;
      release_upto(ml, i);
      return rc;
    }
  }
  /* A member taken earlier may have gone while we waited for a later one
   * (deleted by someone, or its session expired while the process was
   * paused: the last grant can even come from an event read before the
   * expiry is known). OK means every member is held on the current
   * session now, as the server says; otherwise none is. */
  int64_t vdeadline = deadline >= 0     ? deadline
                      : timeout_ms == 0 ? zklock__now_ms() + ZKLOCK_TRY_WAIT_MS
                                        : -1;
  int rc = zklock__locks_verify((zklock__lock *const *)ml->m, ml->n, vdeadline);
  if (rc) {
    release_upto(ml, ml->n);
    /* a try that got no answer cannot say it timed out */
    return rc == ZKLOCK_ETIMEDOUT && timeout_ms == 0 ? ZKLOCK_ECONNLOSS : rc;
  }
  ml->held = 1;
  return ZKLOCK_OK;
}

int zklock_multilock_unlock(zklock_multilock *ml) {
  if (ml_check(ml))
    return ZKLOCK_EINVAL;
  if (!ml->held)
    return ZKLOCK_ENOTHELD;
  ml->held = 0;
  return release_upto(ml, ml->n);
}

int64_t zklock_multilock_token(const zklock_multilock *ml, int i) {
  if (ml_check(ml) || i < 0 || i >= ml->n || !ml->held)
    return -1;
  return zklock_mutex_token(ml->m[ml->slot[i]]);
}

void zklock_multilock_free(zklock_multilock *ml) {
  if (ml_check(ml))
    return;
  for (int i = 0; i < ml->n; i++)
    zklock_mutex_free(ml->m[i]); /* releases a member still held */
  ml->magic = ZKLOCK__MAGIC_DEAD;
  free(ml->m);
  free(ml->slot);
  free(ml);
}
