/* Multi-lock: several mutexes or read locks taken all or none. Every
 * handle takes its paths in one global order (path bytes), so two callers
 * listing the same paths in different orders can never each hold what the
 * other waits for: a wait only ever points from a smaller path to a larger
 * one (readers only share, so they add no other edge). */
#include "zklock_int.h"

#include <stdlib.h>
#include <string.h>

#define MULTI_MAX 64

struct zklock_multilock {
  unsigned magic;
  zklock_client *c;
  int n;
  zklock__lock **m; /* in lock order (sorted by path) */
  char *mode;       /* mode[k]: 'x' or 'r' for m[k] */
  int *slot;        /* slot[i]: index in m of the caller's paths[i] */
  /* guarded by the client mutex */
  zklock__listener *lsn; /* zklock_multilock_set_listener */
  int lstate;            /* the aggregate state last reported to it */
  int held;              /* 1 while all members are held */
  int busy;              /* a lock call is under way: members taken in order */
  int cancel;            /* cancelled before a call: end the next one */
  int step;              /* the member being taken */
  int timeout_ms;
  int64_t deadline;    /* monotonic ms, <0 none */
  zklock_done_cb done; /* the caller's completion (or a blocking wait) */
  void *arg;
};

typedef struct {
  const char *path;
  char mode;
} member;

static int member_cmp(const void *a, const void *b) {
  return strcmp(((const member *)a)->path, ((const member *)b)->path);
}

/* Checks the arguments; on success sorted[] holds them in lock order. */
static int ml_args(const char *const *paths, const char *modes, int n,
                   member *sorted) {
  for (int i = 0; i < n; i++) {
    int rc = zklock_path_validate(paths[i]);
    if (rc)
      return rc;
    if (modes[i] != 'x' && modes[i] != 'r')
      return ZKLOCK_EINVAL;
    sorted[i] = (member){paths[i], modes[i]};
  }
  qsort(sorted, (size_t)n, sizeof *sorted, member_cmp);
  /* A duplicate would wait for itself: its second handle queues behind
   * the first, which never lets go while the lock call runs. */
  for (int i = 1; i < n; i++)
    if (strcmp(sorted[i - 1].path, sorted[i].path) == 0)
      return ZKLOCK_EINVAL;
  return ZKLOCK_OK;
}

static void ml_member_state(void *arg, int state, zklock__cbq *q);

/* Readers are rwlock handles: a profile names their nodes as its read
 * lock's, as zklock_rwlock_rdlock does. */
static int member_new(zklock_multilock *ml, int k, const member *mb) {
  zklock_rwlock *rw = NULL;
  zklock_mutex *mx = NULL;
  int rc = mb->mode == 'r' ? zklock_rwlock_new(ml->c, mb->path, &rw)
                           : zklock_mutex_new(ml->c, mb->path, &mx);
  ml->m[k] = rw ? (zklock__lock *)rw : (zklock__lock *)mx;
  if (rc == ZKLOCK_OK) {
    ml->mode[k] = mb->mode;
    ml->m[k]->h.hook = ml_member_state;
    ml->m[k]->h.hook_arg = ml;
  }
  return rc;
}

int zklock_multilock_new_modes(zklock_client *c, const char *const *paths,
                               const char *modes, int n,
                               zklock_multilock **out) {
  if (!out)
    return ZKLOCK_EINVAL;
  *out = NULL;
  if (!c || !paths || !modes || n < 1 || n > MULTI_MAX)
    return ZKLOCK_EINVAL;
  member sorted[MULTI_MAX];
  int rc = ml_args(paths, modes, n, sorted);
  if (rc)
    return rc;
  zklock_multilock *ml = calloc(1, sizeof *ml);
  if (!ml)
    return ZKLOCK_ENOMEM;
  ml->m = calloc((size_t)n, sizeof *ml->m);
  ml->mode = calloc((size_t)n, 1);
  ml->slot = calloc((size_t)n, sizeof *ml->slot);
  if (!ml->m || !ml->mode || !ml->slot) {
    free(ml->m);
    free(ml->mode);
    free(ml->slot);
    free(ml);
    return ZKLOCK_ENOMEM;
  }
  ml->magic = ZKLOCK__MAGIC_LOCK;
  ml->c = c;
  ml->n = n;
  for (int k = 0; k < n; k++) {
    if ((rc = member_new(ml, k, &sorted[k]))) {
      zklock_multilock_free(ml);
      return rc;
    }
  }
  for (int i = 0; i < n; i++) {
    member key = {paths[i], 0};
    const member *hit =
        bsearch(&key, sorted, (size_t)n, sizeof *sorted, member_cmp);
    ml->slot[i] = (int)(hit - sorted);
  }
  *out = ml;
  return ZKLOCK_OK;
}

int zklock_multilock_new(zklock_client *c, const char *const *paths, int n,
                         zklock_multilock **out) {
  char modes[MULTI_MAX]; /* new_modes reads n <= MULTI_MAX of them */
  memset(modes, 'x', sizeof modes);
  return zklock_multilock_new_modes(c, paths, modes, n, out);
}

static int ml_check(const zklock_multilock *ml) {
  return ml && ml->magic == ZKLOCK__MAGIC_LOCK ? ZKLOCK_OK : ZKLOCK_EINVAL;
}

static zklock__lock *M(const zklock_multilock *ml, int i) { return ml->m[i]; }

/* Mutex held: the whole as its worst member. */
static int ml_worst(const zklock_multilock *ml) {
  int st = ZKLOCK_LOCK_HELD;
  for (int i = 0; i < ml->n; i++) {
    const zklock__held *h = &M(ml, i)->h;
    if (!h->linked || h->state == ZKLOCK_LOCK_LOST)
      return ZKLOCK_LOCK_LOST;
    if (h->state == ZKLOCK_LOCK_UNCERTAIN)
      st = ZKLOCK_LOCK_UNCERTAIN;
  }
  return st;
}

/* Mutex held: tells the listener of a new aggregate state. */
static void ml_report(zklock_multilock *ml, int st, zklock__cbq *q) {
  if (st == ml->lstate)
    return;
  ml->lstate = st;
  zklock__hlisten_report(ml->lsn, st, q);
}

/* A member's hook (mutex held). While the members are being taken or
 * released the whole is not held, and the lock call's end reports. */
static void ml_member_state(void *arg, int state, zklock__cbq *q) {
  zklock_multilock *ml = arg;
  if (!ml->held)
    return;
  if (state == ZKLOCK_LOCK_REVOKE_REQUESTED)
    zklock__hlisten_report(ml->lsn, state, q); /* a request, not a state */
  else
    ml_report(ml, ml_worst(ml), q);
}

static void ml_member_done(int rc, void *arg, zklock__cbq *q);

/* Mutex held. The call ends: on failure every member taken goes (in the
 * background) before the caller hears of it. */
static void ml_end(zklock_multilock *ml, int rc, zklock__cbq *q) {
  if (!ml->busy)
    return;
  ml->busy = 0; /* first: dropping a member in flight calls back */
  if (rc == ZKLOCK_OK) {
    ml->held = 1;
    ml_report(ml, ml_worst(ml), q);
  } else {
    for (int i = 0; i < ml->n; i++)
      zklock__lock_drop_locked(M(ml, i), q);
  }
  zklock__deliver(ml->c, q, ml->done, ml->arg, rc, ZOK);
}

/* Mutex held: the next member, with what is left of the caller's time. */
static void ml_next(zklock_multilock *ml, zklock__cbq *q) {
  int t = ml->timeout_ms;
  if (ml->deadline >= 0) {
    int64_t left = ml->deadline - zklock__now_ms();
    /* Out of time: one last try rather than a wait of 0 meaning a
     * negative (endless) timeout. */
    t = left > 0 ? (int)left : 0;
  }
  int rc = zklock__lock_start_direct(M(ml, ml->step), ml->mode[ml->step], t,
                                     ml_member_done, ml, q);
  if (rc)
    ml_end(ml, rc, q);
}

/* No answer to the confirmation counts as lost: what is known is that
 * the members could not be confirmed, and they all go. */
static void ml_verified(int rc, void *arg, zklock__cbq *q) {
  ml_end(arg, rc == ZKLOCK_ECONNLOSS ? ZKLOCK_ELOST : rc, q);
}

static void ml_member_done(int rc, void *arg, zklock__cbq *q) {
  zklock_multilock *ml = arg;
  if (!ml->busy)
    return; /* ended already (cancel, close): this is its echo */
  if (rc) {
    /* a try that found the deadline passed reports the timeout */
    ml_end(ml, rc == ZKLOCK_EBUSY && ml->timeout_ms > 0 ? ZKLOCK_ETIMEDOUT : rc,
           q);
    return;
  }
  if (++ml->step < ml->n) {
    ml_next(ml, q);
    return;
  }
  /* A member taken earlier may have gone while we waited for a later one
   * (deleted by someone, or its session expired while the process was
   * paused: the last grant can even come from an event read before the
   * expiry is known). OK means the server says every member is held on
   * the current session now; otherwise none is. */
  rc = zklock__locks_verify(ml->m, ml->n, ml_verified, ml);
  if (rc)
    ml_end(ml, rc, q);
}

/* Mutex held. Starts a call; ZKLOCK_OK if it is under way. */
static int ml_start(zklock_multilock *ml, int timeout_ms, zklock_done_cb done,
                    void *arg, zklock__cbq *q) {
  if (ml->c->closed)
    return ZKLOCK_ECLOSED;
  if (ml->held || ml->busy)
    return ZKLOCK_EALREADY; /* not reentrant: a second hold has no meaning */
  if (ml->cancel) {
    ml->cancel = 0;
    return ZKLOCK_ECANCELED;
  }
  ml->busy = 1;
  ml->step = 0;
  ml->timeout_ms = timeout_ms;
  ml->deadline = timeout_ms > 0 ? zklock__now_ms() + timeout_ms : -1;
  ml->done = done;
  ml->arg = arg;
  ml_next(ml, q);
  return ZKLOCK_OK;
}

int zklock_multilock_lock_async(zklock_multilock *ml, int timeout_ms,
                                zklock_done_cb done, void *arg) {
  if (ml_check(ml) || !done)
    return ZKLOCK_EINVAL;
  zklock_client *c = ml->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  int rc = ml_start(ml, timeout_ms, done, arg, &q);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
  return rc;
}

typedef struct {
  zklock_multilock *ml;
  int timeout_ms;
} lock_ctx;

static int lock_start(void *ctx, zklock_done_cb done, void *arg,
                      zklock__cbq *q) {
  lock_ctx *x = ctx;
  return ml_start(x->ml, x->timeout_ms, done, arg, q);
}

int zklock_multilock_lock(zklock_multilock *ml, int timeout_ms) {
  if (ml_check(ml))
    return ZKLOCK_EINVAL;
  lock_ctx x = {ml, timeout_ms};
  return zklock__wait_call(ml->c, lock_start, &x);
}

int zklock_multilock_trylock(zklock_multilock *ml) {
  return zklock_multilock_lock(ml, 0);
}

int zklock_multilock_cancel(zklock_multilock *ml) {
  if (ml_check(ml))
    return ZKLOCK_EINVAL;
  zklock_client *c = ml->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  if (ml->busy)
    ml_end(ml, ZKLOCK_ECANCELED, &q);
  else
    ml->cancel = 1; /* ends the next call, as for a mutex */
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
  return ZKLOCK_OK;
}

/* Ends the hold as a whole: ZKLOCK_ENOTHELD if there was none. The
 * listener hears UNLOCKED once, and nothing of the members' releases. */
static int ml_unhold(zklock_multilock *ml) {
  zklock_client *c = ml->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  int held = ml->held;
  ml->held = 0;
  if (held)
    ml_report(ml, ZKLOCK_LOCK_UNLOCKED, &q);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q); /* (only after close: see hlisten_report) */
  return held ? ZKLOCK_OK : ZKLOCK_ENOTHELD;
}

/* Releases every member in reverse order; the first error wins. The
 * engine's release resets a reader's depth as a writer's: one path for
 * both modes. */
static int release_all(zklock_multilock *ml) {
  int first = ZKLOCK_OK;
  for (int k = ml->n; k-- > 0;) {
    int rc = zklock__lock_release(M(ml, k));
    if (rc && !first)
      first = rc;
  }
  return first;
}

int zklock_multilock_unlock(zklock_multilock *ml) {
  if (ml_check(ml))
    return ZKLOCK_EINVAL;
  int rc = ml_unhold(ml);
  return rc ? rc : release_all(ml);
}

/* The members' releases of one unlock_async, reported once. */
typedef struct {
  zklock_done_cb done;
  void *arg;
  int left, rc;
  pthread_mutex_t mu;
} ml_rel;

static void ml_rel_done(int rc, void *arg) {
  ml_rel *r = arg;
  pthread_mutex_lock(&r->mu);
  if (rc && !r->rc)
    r->rc = rc;
  int last = --r->left == 0;
  pthread_mutex_unlock(&r->mu);
  if (!last)
    return;
  r->done(r->rc, r->arg);
  pthread_mutex_destroy(&r->mu);
  free(r);
}

int zklock_multilock_unlock_async(zklock_multilock *ml, zklock_done_cb done,
                                  void *arg) {
  if (ml_check(ml))
    return ZKLOCK_EINVAL;
  ml_rel *r = done ? calloc(1, sizeof *r) : NULL;
  if (done && !r)
    return ZKLOCK_ENOMEM;
  int rc = ml_unhold(ml);
  if (rc) {
    free(r);
    return rc;
  }
  if (r) {
    *r = (ml_rel){.done = done, .arg = arg, .left = ml->n};
    pthread_mutex_init(&r->mu, NULL);
  }
  for (int k = ml->n; k-- > 0;) {
    rc = zklock__lock_release_async(M(ml, k), r ? ml_rel_done : NULL, r);
    if (rc != ZKLOCK_OK && r)
      ml_rel_done(rc, r); /* that member reports no more */
  }
  return ZKLOCK_OK;
}

/* Held while every member is; the worst member state otherwise. */
zklock_lock_state zklock_multilock_state(const zklock_multilock *ml) {
  if (ml_check(ml))
    return ZKLOCK_LOCK_UNLOCKED;
  pthread_mutex_lock(&ml->c->mu);
  int busy = ml->busy, held = ml->held;
  pthread_mutex_unlock(&ml->c->mu);
  if (busy)
    return ZKLOCK_LOCK_WAITING;
  if (!held)
    return ZKLOCK_LOCK_UNLOCKED;
  zklock_lock_state st = ZKLOCK_LOCK_HELD;
  for (int i = 0; i < ml->n; i++) {
    int m = zklock__lock_state(M(ml, i));
    if (m == ZKLOCK_LOCK_LOST || m == ZKLOCK_LOCK_UNLOCKED)
      return ZKLOCK_LOCK_LOST;
    if (m == ZKLOCK_LOCK_UNCERTAIN)
      st = ZKLOCK_LOCK_UNCERTAIN;
  }
  return st;
}

int64_t zklock_multilock_token(const zklock_multilock *ml, int i) {
  if (ml_check(ml) || i < 0 || i >= ml->n || !ml->held)
    return -1;
  return zklock__lock_token(M(ml, ml->slot[i]));
}

int zklock_multilock_set_listener(zklock_multilock *ml, zklock_listener_cb cb,
                                  void *arg) {
  if (ml_check(ml))
    return ZKLOCK_EINVAL;
  return zklock__hlisten_set(ml->c, &ml->lsn, ml, cb, arg);
}

void zklock_multilock_free(zklock_multilock *ml) {
  if (ml_check(ml))
    return;
  /* first: nothing reaches the listener once free has returned */
  zklock__hlisten_set(ml->c, &ml->lsn, NULL, NULL, NULL);
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&ml->c->mu);
  ml_end(ml, ZKLOCK_ECANCELED, &q); /* a call under way ends */
  /* the members go one by one: the hooks must not look at freed ones */
  ml->held = 0;
  for (int i = 0; i < ml->n; i++)
    if (M(ml, i))
      M(ml, i)->h.hook = NULL;
  pthread_mutex_unlock(&ml->c->mu);
  zklock__cb_flush(ml->c, &q);
  for (int i = 0; i < ml->n; i++)
    zklock__lock_free(M(ml, i)); /* releases a member still held */
  ml->magic = ZKLOCK__MAGIC_DEAD;
  free(ml->m);
  free(ml->mode);
  free(ml->slot);
  free(ml);
}
