/* Semaphores in a profile (issue 15): Curator InterProcessSemaphoreV2 and
 * kazoo Semaphore, step by step as those libraries do it (sources and
 * line numbers in src/compat.c), so zklock holders count in their pools.
 * A program on the attempt core (src/attempt.c), as the lock queue is:
 * the core owns its requests, timers, connection waits, session
 * replacement, watch routing, cancel and close; these are its steps.
 *
 *   ENSURE  kazoo: create the pool node with max_leases as its data, or
 *           read and compare it (_ensure_path); once per handle
 *   MUTEX   the library's mutex: a lock-queue attempt of l->sub
 *   CREATE  Curator: our lease "_c_<uuid>-lease-<seq>" (sequential);
 *           kazoo: "<32 hex>" (plain) once the pool has room
 *   LIST    the pool's children WITH a watch, then the pool rule
 *           (zklock__sem_rule): hold, create, or wait
 *   WAIT    until the pool's children change, still holding the mutex
 *           (so one waiter at a time waits here); any change wakes it,
 *           also one that frees no permit: the libraries' way, kept so
 *           they and we count alike
 * A hold releases the mutex at once; the lease is the hold. */
#include "attempt.h"
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C_ENSURE = ZKLOCK__S_FIRST, C_MUTEX, C_CREATE, C_LIST, C_WAIT };

typedef struct csatt {
  zklock__att at;  /* first: the casts of S() are valid */
  zklock__lock *l; /* NULL once finished */
  int queued;      /* the library's mutex was ours: the attempt queued */
  int create_out;  /* a lease create whose answer is not in */
  int lost_create; /* ... or whose answer was lost: sweep by id */
  int parents;     /* lease parent creates tried (bounded) */
  int profile, max;
  char pool[ZKLOCK__NODE_MAX];
  char id[40];      /* our lease's id (uuid / hex), fresh per attempt */
  char *lease;      /* our lease's full path once created */
  int64_t czxid;    /* the lease's, the hold's token */
  zklock__watch pw; /* the pool's children (LIST, WAIT) */
} csatt;

typedef zklock__req creq;

static csatt *S(zklock__att *a) { return (csatt *)a; }

static int conn_lost(int zrc) {
  return zrc == ZCONNECTIONLOSS || zrc == ZOPERATIONTIMEOUT;
}

static void s_destroy(zklock__att *at) {
  free(S(at)->lease);
  free(at);
}

/* Ends the attempt: the lease becomes l's hold, or every node of the
 * attempt goes (lease, a create that may still land, the mutex). */
static void s_end(zklock__att *at, int rc, zklock__cbq *q) {
  csatt *s = S(at);
  zklock_client *c = at->c;
  zklock__lock *l = s->l;
  zklock__watch_disarm(c, &s->pw);
  /* the mutex is only ever held for the pool step */
  zklock__lock_drop_locked(l->sub, q);
  if (rc == ZKLOCK_OK) {
    l->h.node = s->lease;
    s->lease = NULL;
    l->token = s->czxid;
    l->kind = 's';
    l->wr_depth = 1;
    l->downgraded = 0;
    zklock__held_link(c, &l->h, q);
    zklock__stat_granted(l);
  } else if (rc != ZKLOCK_ECLOSED && rc != ZKLOCK_ELOST) {
    if (s->lease)
      zklock__bg_delete(c, s->lease, NULL);
    if (s->create_out || s->lost_create)
      zklock__bg_delete(c, s->pool, s->id);
  }
  l->att = NULL;
  s->l = NULL;
}

static void finish(csatt *s, int rc, zklock__cbq *q) {
  zklock__att_finish(&s->at, rc, q);
}

static creq *new_req(csatt *s) { return zklock__req_new(&s->at, 0); }

static void sent(csatt *s, creq *r, int zrc, zklock__cbq *q) {
  zklock__req_sent(&s->at, r, zrc, q);
}

static void begin(csatt *s, int state) { zklock__att_begin(&s->at, state); }

static void step(csatt *s, zklock__cbq *q) { zklock__att_step(&s->at, q); }

/* Mutex held: a completion's attempt, or NULL if its answer is stale
 * (zklock__req_free(r) after, either way). */
static csatt *take(creq *r) {
  int stale;
  zklock__att *a = zklock__req_take(r, &stale);
  return stale ? NULL : S(a);
}

/* An answer that is not success. A lost lease create cannot be told from
 * one that landed: the attempt ends (ECONNLOSS) and the id sweep removes
 * it; anything else lost is asked again. */
static void failed(csatt *s, int zrc, zklock__cbq *q) {
  if (conn_lost(zrc) && s->at.state == C_CREATE) {
    s->lost_create = 1;
    s->at.zrc = zrc;
    finish(s, zklock__zk_err(zrc), q);
    return;
  }
  zklock__att_failed(&s->at, zrc, s->at.state, q);
}

static int first_state(const csatt *s) {
  return s->profile == ZKLOCK__P_KAZOO && !s->l->path_checked ? C_ENSURE
                                                              : C_MUTEX;
}

/* The session ended. While the mutex attempt is out, it decides (its end
 * is ours). Before the mutex was ours (no lease made or out either: the
 * pool step comes after it), start over once on the replacement session,
 * as every attempt does; after, the lease went with the session. */
static void s_gone(zklock__att *at, zklock__cbq *q) {
  csatt *s = S(at);
  if (at->state == C_MUTEX && s->l->sub->att)
    return;
  if (!s->queued && !at->retried)
    zklock__lock_drop_locked(s->l->sub, q);
  zklock__att_gone(at, !s->queued, first_state(s), q);
}

static int s_fresh(const zklock__att *at) {
  return !((const csatt *)at)->queued;
}

/* ---- ENSURE (kazoo) ---- */

static void ensure_get_done(int rc, const char *v, int vlen,
                            const struct Stat *st, const void *data) {
  (void)st;
  creq *r = (creq *)data;
  csatt *s0 = S(r->a);
  zklock_client *c = s0->at.c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  csatt *s = take(r);
  int max;
  if (!s) {
  } else if (rc != ZOK) {
    failed(s, rc, &q); /* NONODE (deleted meanwhile) ends it too */
  } else if (zklock__kazoo_max_leases(v, vlen, &max) && max != s->max) {
    finish(s, ZKLOCK_EPERMITS, &q); /* "Inconsistent max leases" */
  } else {
    s->l->path_checked = 1; /* not a number: kazoo ignores it as well */
    begin(s, C_MUTEX);
    step(s, &q);
  }
  zklock__req_free(r);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
}

static void ensure_done(int rc, const char *path, const void *data) {
  (void)path;
  creq *r = (creq *)data;
  csatt *s0 = S(r->a);
  zklock_client *c = s0->at.c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  csatt *s = take(r);
  if (!s) {
  } else if (rc == ZOK) {
    s->l->path_checked = 1; /* created with our count */
    begin(s, C_MUTEX);
    step(s, &q);
  } else if (rc == ZNODEEXISTS) {
    creq *r2 = new_req(s);
    sent(s, r2,
         r2 ? zoo_aget(c->zh, s->pool, 0, ensure_get_done, r2) : ZSYSTEMERROR,
         &q);
  } else {
    failed(s, rc, &q);
  }
  zklock__req_free(r);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
}

static void parent_done(int rc, const char *path, const void *data) {
  (void)rc;
  (void)path;
  creq *r = (creq *)data;
  csatt *s0 = S(r->a);
  zklock_client *c = s0->at.c;
  pthread_mutex_lock(&c->mu);
  /* NODEEXISTS is the usual answer; the next create decides */
  zklock__req_free(r);
  pthread_mutex_unlock(&c->mu);
}

/* kazoo ensure_path: every ancestor, then the pool with max_leases as its
 * data, all PERSISTENT (as kazoo makes them), pipelined. */
static void send_ensure(csatt *s, zklock__cbq *q) {
  zklock_client *c = s->at.c;
  begin(s, C_ENSURE);
  char buf[ZKLOCK__NODE_MAX];
  snprintf(buf, sizeof buf, "%s", s->pool);
  for (char *p = strchr(buf + 1, '/'); p; p = strchr(p + 1, '/')) {
    *p = '\0';
    creq *r = new_req(s);
    int zrc = r ? zoo_acreate(c->zh, buf, "", 0, zklock__acl(c), ZOO_PERSISTENT,
                              parent_done, r)
                : ZSYSTEMERROR;
    *p = '/';
    if (zrc != ZOK) {
      sent(s, r, zrc, q);
      return;
    }
  }
  char max[16];
  int n = snprintf(max, sizeof max, "%d", s->max);
  creq *r = new_req(s);
  sent(s, r,
       r ? zoo_acreate(c->zh, s->pool, max, n, zklock__acl(c), ZOO_PERSISTENT,
                       ensure_done, r)
         : ZSYSTEMERROR,
       q);
}

/* ---- MUTEX ---- */

static void mutex_done(int rc, void *arg, zklock__cbq *q) {
  csatt *s = arg;
  if (!s->at.finished && s->at.state == C_MUTEX) {
    if (rc != ZKLOCK_OK) {
      finish(s, rc, q);
    } else {
      s->at.answered = s->queued = 1;
      begin(s, s->profile == ZKLOCK__P_CURATOR ? C_CREATE : C_LIST);
      step(s, q);
    }
  }
  zklock__att_unref(&s->at);
}

static void send_mutex(csatt *s, zklock__cbq *q) {
  begin(s, C_MUTEX);
  int timeout = -1;
  if (s->at.try_only) {
    timeout = 0;
  } else if (s->at.deadline >= 0) {
    int64_t left = s->at.deadline - zklock__now_ms();
    if (left <= 0) {
      finish(s, ZKLOCK_ETIMEDOUT, q);
      return;
    }
    timeout = left > 0x7fffffff ? 0x7fffffff : (int)left;
  }
  zklock__att_ref(&s->at);
  int rc = zklock__lock_start_direct(s->l->sub, 'x', timeout, mutex_done, s, q);
  if (rc != ZKLOCK_OK) {
    zklock__att_unref(&s->at);
    finish(s, rc, q);
  }
}

/* ---- CREATE, LIST ---- */

static void send_list(csatt *s, zklock__cbq *q);

static void create_done(int rc, const char *path, const struct Stat *st,
                        const void *data) {
  creq *r = (creq *)data;
  csatt *s0 = S(r->a);
  zklock_client *c = s0->at.c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  s0->create_out = 0;
  csatt *s = take(r);
  if (!s) {
    /* made for an attempt that already ended: the sweep may have missed
     * it, delete it now */
    if (rc == ZOK)
      zklock__bg_delete(c, path, NULL);
  } else if (rc == ZNONODE && s->profile == ZKLOCK__P_CURATOR &&
             s->parents++ < 3) {
    /* no "<path>/leases" yet: Curator creates parent containers */
    creq *r2 = new_req(s);
    int zrc =
        r2 ? zoo_acreate(c->zh, s->pool, "", 0, zklock__acl(c),
                         c->no_containers ? ZOO_PERSISTENT : ZOO_CONTAINER,
                         parent_done, r2)
           : ZSYSTEMERROR;
    sent(s, r2, zrc, &q);
    if (!s->at.finished)
      step(s, &q);
  } else if (rc != ZOK) {
    failed(s, rc, &q);
  } else if (!(s->lease = strdup(path))) {
    finish(s, ZKLOCK_ENOMEM, &q);
  } else if (st->ephemeralOwner != c->sid) {
    finish(s, ZKLOCK_ELOST, &q); /* not this session's (CURATOR-696) */
  } else {
    s->czxid = st->czxid;
    if (s->profile == ZKLOCK__P_KAZOO)
      finish(s, ZKLOCK_OK, &q); /* _get_lease: it exists, we hold */
    else
      send_list(s, &q); /* Curator counts after creating */
  }
  zklock__req_free(r);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
}

static void send_create(csatt *s, zklock__cbq *q) {
  zklock_client *c = s->at.c;
  begin(s, C_CREATE);
  char node[ZKLOCK__NODE_MAX];
  int plen = snprintf(node, sizeof node, "%s/", s->pool);
  if (zklock__cname_prefix(s->profile, ZKLOCK__R_SEMLOCK, 'l', s->id,
                           node + plen, sizeof node - (size_t)plen) < 0) {
    finish(s, ZKLOCK_EINVAL, q);
    return;
  }
  creq *r = new_req(s);
  int zrc = r ? zoo_acreate2(c->zh, node, c->owner, (int)strlen(c->owner),
                             zklock__acl(c),
                             zklock__cname_sequential(s->profile, 'l')
                                 ? ZOO_EPHEMERAL_SEQUENTIAL
                                 : ZOO_EPHEMERAL,
                             create_done, r)
              : ZSYSTEMERROR;
  if (zrc == ZOK)
    s->create_out = 1;
  sent(s, r, zrc, q);
}

static void list_done(int rc, const struct String_vector *sv,
                      const void *data) {
  creq *r = (creq *)data;
  csatt *s0 = S(r->a);
  zklock_client *c = s0->at.c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  csatt *s = take(r);
  if (!s) {
  } else if (rc == ZNONODE && s->profile == ZKLOCK__P_KAZOO) {
    finish(s, ZKLOCK_ELOST, &q); /* the pool went while we held its mutex */
  } else if (rc != ZOK) {
    failed(s, rc, &q);
  } else {
    const char *mine = s->lease ? strrchr(s->lease, '/') + 1 : NULL;
    int v = zklock__sem_rule(s->profile, mine, (const char *const *)sv->data,
                             sv->count, s->max);
    if (v == 2) {
      finish(s, ZKLOCK_OK, &q);
    } else if (v == 1) {
      send_create(s, &q);
    } else if (v == ZKLOCK__C_ENOTME) {
      /* our lease vanished (RETRY_DUE_TO_MISSING_NODE): a new one */
      free(s->lease);
      s->lease = NULL;
      begin(s, s->profile == ZKLOCK__P_CURATOR ? C_CREATE : C_LIST);
      step(s, &q);
    } else if (v != 0) {
      finish(s, ZKLOCK_EINVAL, &q);
    } else if (s->at.try_only) {
      finish(s, ZKLOCK_EBUSY, &q);
    } else {
      begin(s, C_WAIT); /* the watch set by this listing wakes us */
    }
  }
  zklock__req_free(r);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
}

static void send_list(csatt *s, zklock__cbq *q) {
  begin(s, C_LIST);
  zklock__watch_arm(&s->at, &s->pw, s->pool);
  creq *r = new_req(s);
  sent(s, r,
       r ? zoo_aget_children(s->at.c->zh, s->pool, 1, list_done, r)
         : ZSYSTEMERROR,
       q);
}

/* ---- the program's hooks (mutex held) ---- */

static void s_step(zklock__att *at, zklock__cbq *q) {
  csatt *s = S(at);
  switch (at->state) {
  case C_ENSURE:
    send_ensure(s, q);
    return;
  case C_MUTEX:
    send_mutex(s, q);
    return;
  case C_CREATE:
    send_create(s, q);
    return;
  case C_LIST:
  case C_WAIT:
    send_list(s, q);
    return;
  }
}

/* Any event on the pool (children changed, deleted) while we wait. */
static void s_event(zklock__att *at, int type, const char *path,
                    zklock__cbq *q) {
  (void)type;
  (void)path; /* the pool's: our only watch */
  if (at->state == C_WAIT)
    send_list(S(at), q);
}

static const char *s_node(const zklock__att *at) {
  return ((const csatt *)at)->lease;
}

static const zklock__prog csem_prog = {
    .step = s_step,
    .event = s_event,
    .gone = s_gone,
    .fresh = s_fresh,
    .restart = C_MUTEX,
    .end = s_end,
    .node = s_node,
    .destroy = s_destroy,
};

/* ---- starting ---- */

/* Mutex held. */
static int start(zklock__lock *l, int timeout_ms, zklock_done_cb done,
                 void *arg, zklock__cbq *q) {
  zklock_client *c = l->c;
  if (c->closed)
    return ZKLOCK_ECLOSED;
  if (!l->sub)
    return ZKLOCK_EINVAL;
  /* one lease per handle, as for a native semaphore (the inner mutex is
   * only ever busy for this handle's own attempt) */
  if (l->att || l->h.node || l->sub->att || l->sub->h.node)
    return ZKLOCK_EALREADY;
  if (l->cancel) {
    l->cancel = 0;
    return ZKLOCK_ECANCELED;
  }
  csatt *s = calloc(1, sizeof *s);
  if (!s)
    return ZKLOCK_ENOMEM;
  char lock_path[ZKLOCK__NODE_MAX];
  if (zklock__sem_paths(c->compat, l->path, lock_path, sizeof lock_path,
                        s->pool, sizeof s->pool) ||
      zklock__profile_id(c->compat, s->id, sizeof s->id) < 0) {
    free(s);
    return ZKLOCK_EINVAL;
  }
  if (zklock__att_init(&s->at, &csem_prog, c, timeout_ms, done, NULL, arg)) {
    free(s);
    return ZKLOCK_ENOMEM;
  }
  s->l = l;
  s->profile = c->compat;
  s->max = l->permits;
  l->att = &s->at;
  zklock__att_start(&s->at, first_state(s), q);
  return ZKLOCK_OK;
}

int zklock__csem_acquire_async(zklock__lock *l, int timeout_ms,
                               zklock_done_cb done, void *arg) {
  if (zklock__lock_check(l) || !done)
    return ZKLOCK_EINVAL;
  zklock_client *c = l->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  int rc = start(l, timeout_ms, done, arg, &q);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
  return rc;
}

typedef struct {
  zklock__lock *l;
  int timeout_ms;
} acq_ctx;

static int acq_start(void *ctx, zklock_done_cb done, void *arg,
                     zklock__cbq *q) {
  acq_ctx *x = ctx;
  return start(x->l, x->timeout_ms, done, arg, q);
}

int zklock__csem_acquire(zklock__lock *l, int timeout_ms) {
  if (zklock__lock_check(l))
    return ZKLOCK_EINVAL;
  acq_ctx x = {l, timeout_ms};
  return zklock__wait_call(l->c, acq_start, &x);
}
