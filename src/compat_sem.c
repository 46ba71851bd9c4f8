/* Semaphores in a profile (issue 15): Curator InterProcessSemaphoreV2 and
 * kazoo Semaphore, step by step as those libraries do it (sources and
 * line numbers in src/compat.c), so zklock holders count in their pools.
 * Event-driven like src/queue.c: completions, watch events and the service
 * thread's timers move an attempt on; nothing here blocks.
 *
 *   ENSURE  kazoo: create the pool node with max_leases as its data, or
 *           read and compare it (_ensure_path); once per handle
 *   MUTEX   the library's mutex: an engine acquisition of l->sub
 *   CREATE  Curator: our lease "_c_<uuid>-lease-<seq>" (sequential);
 *           kazoo: "<32 hex>" (plain) once the pool has room
 *   LIST    the pool's children WITH a watch, then the pool rule
 *           (zklock__sem_rule): hold, create, or wait
 *   WAIT    until the pool's children change, still holding the mutex
 *           (so one waiter at a time waits here); any change wakes it,
 *           also one that frees no permit: the libraries' way, kept so
 *           they and we count alike
 *   CONN    until the connection is back, then the step again
 * A hold releases the mutex at once; the lease is the hold. */
#include "compat.h"
#include "zklock_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C_ENSURE = 1, C_MUTEX, C_CREATE, C_LIST, C_WAIT, C_CONN };

typedef struct zklock__csem {
  struct zklock__csem *next, *prev; /* c->csems */
  zklock_client *c;
  zklock__lock *l; /* NULL once finished */
  int refs;        /* 1 while active + 1 per request or mutex attempt */
  int finished;
  unsigned epoch; /* answers of older steps are stale */
  int state, resume;
  int try_only;
  int answered;    /* some answer came (a try that got none: ECONNLOSS) */
  int retried;     /* started over once on a replacement session */
  int queued;      /* the library's mutex was ours: the attempt queued */
  int create_out;  /* a lease create whose answer is not in */
  int lost_create; /* ... or whose answer was lost: sweep by id */
  int parents;     /* lease parent creates tried (bounded) */
  int64_t deadline, retry_at;
  int profile, max;
  char pool[ZKLOCK__NODE_MAX];
  char id[40];   /* our lease's id (uuid / hex), fresh per attempt */
  char *lease;   /* our lease's full path once created */
  int64_t czxid; /* the lease's, the hold's token */
  int zrc;
  zklock__direct_cb fin; /* the result, mutex held */
  void *arg;
  zklock_done_cb done; /* async form: the application's callback */
  void *uarg;
} zklock__csem;

typedef struct {
  zklock__csem *s;
  unsigned epoch;
} creq;

static int conn_lost(int zrc) {
  return zrc == ZCONNECTIONLOSS || zrc == ZOPERATIONTIMEOUT;
}

static void unref(zklock__csem *s) {
  if (--s->refs > 0)
    return;
  free(s->lease);
  free(s);
}

static void step(zklock__csem *s, zklock__cbq *q);

/* Mutex held. Ends the attempt: the lease becomes l's hold, or every node
 * of the attempt goes (lease, a create that may still land, the mutex). */
static void finish(zklock__csem *s, int rc, zklock__cbq *q) {
  if (s->finished)
    return;
  zklock_client *c = s->c;
  zklock__lock *l = s->l;
  s->finished = 1;
  s->epoch++;
  if (s->prev)
    s->prev->next = s->next;
  else
    c->csems = s->next;
  if (s->next)
    s->next->prev = s->prev;
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
  l->csem = NULL;
  s->l = NULL;
  zklock__set_zk_err(s->zrc);
  s->fin(rc, s->arg, q);
  unref(s);
}

static creq *new_req(zklock__csem *s) {
  creq *r = malloc(sizeof *r);
  if (!r)
    return NULL;
  r->s = s;
  r->epoch = s->epoch;
  s->refs++;
  return r;
}

/* Mutex held: s of a completion, or NULL if the answer is stale (r is
 * freed either way; the caller unrefs s). */
static zklock__csem *take(creq *r) {
  zklock__csem *s = r->s;
  int stale = s->finished || r->epoch != s->epoch;
  free(r);
  if (stale)
    return NULL;
  s->answered = 1;
  return s;
}

static void begin(zklock__csem *s, int state) {
  s->epoch++;
  s->state = state;
}

static void sent(zklock__csem *s, creq *r, int zrc, zklock__cbq *q) {
  if (zrc == ZOK)
    return;
  if (r) {
    free(r);
    s->refs--;
  }
  s->zrc = zrc;
  finish(s, r ? zklock__zk_err(zrc) : ZKLOCK_ENOMEM, q);
}

/* Until the connection is back (the CONNECTED event or the timer). */
static void conn_wait(zklock__csem *s, int resume) {
  begin(s, C_CONN);
  s->resume = resume;
  s->retry_at = zklock__now_ms() + 100;
  zklock__svc_kick(s->c);
}

/* An answer that is not success. A lost lease create cannot be told from
 * one that landed: the attempt ends (ECONNLOSS) and the id sweep removes
 * it; anything else lost is asked again. */
static void failed(zklock__csem *s, int zrc, zklock__cbq *q) {
  if (conn_lost(zrc) && s->state != C_CREATE) {
    conn_wait(s, s->state == C_WAIT ? C_LIST : s->state);
    return;
  }
  if (conn_lost(zrc))
    s->lost_create = 1;
  s->zrc = zrc;
  finish(s,
         zrc == ZSESSIONEXPIRED || zrc == ZSESSIONMOVED ? ZKLOCK_ELOST
                                                        : zklock__zk_err(zrc),
         q);
}

/* ---- ENSURE (kazoo) ---- */

static void ensure_get_done(int rc, const char *v, int vlen,
                            const struct Stat *st, const void *data) {
  (void)st;
  creq *r = (creq *)data;
  zklock__csem *s0 = r->s;
  zklock_client *c = s0->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  zklock__csem *s = take(r);
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
  unref(s0);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
}

static void ensure_done(int rc, const char *path, const void *data) {
  (void)path;
  creq *r = (creq *)data;
  zklock__csem *s0 = r->s;
  zklock_client *c = s0->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  zklock__csem *s = take(r);
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
  unref(s0);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
}

static void parent_done(int rc, const char *path, const void *data) {
  (void)rc;
  (void)path;
  creq *r = (creq *)data;
  zklock__csem *s0 = r->s;
  zklock_client *c = s0->c;
  pthread_mutex_lock(&c->mu);
  free(r); /* NODEEXISTS is the usual answer; the next create decides */
  unref(s0);
  pthread_mutex_unlock(&c->mu);
}

/* kazoo ensure_path: every ancestor, then the pool with max_leases as its
 * data, all PERSISTENT (as kazoo makes them), pipelined. */
static void send_ensure(zklock__csem *s, zklock__cbq *q) {
  zklock_client *c = s->c;
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
  zklock__csem *s = arg;
  if (!s->finished && s->state == C_MUTEX) {
    if (rc != ZKLOCK_OK) {
      finish(s, rc, q);
    } else {
      s->answered = s->queued = 1;
      begin(s, s->profile == ZKLOCK__P_CURATOR ? C_CREATE : C_LIST);
      step(s, q);
    }
  }
  unref(s);
}

static void send_mutex(zklock__csem *s, zklock__cbq *q) {
  begin(s, C_MUTEX);
  int timeout = -1;
  if (s->try_only) {
    timeout = 0;
  } else if (s->deadline >= 0) {
    int64_t left = s->deadline - zklock__now_ms();
    if (left <= 0) {
      finish(s, ZKLOCK_ETIMEDOUT, q);
      return;
    }
    timeout = left > 0x7fffffff ? 0x7fffffff : (int)left;
  }
  s->refs++;
  int rc = zklock__lock_start_direct(s->l->sub, 'x', timeout, mutex_done, s, q);
  if (rc != ZKLOCK_OK) {
    s->refs--;
    finish(s, rc, q);
  }
}

/* ---- CREATE, LIST ---- */

static void send_list(zklock__csem *s, zklock__cbq *q);

static void create_done(int rc, const char *path, const struct Stat *st,
                        const void *data) {
  creq *r = (creq *)data;
  zklock__csem *s0 = r->s;
  zklock_client *c = s0->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  s0->create_out = 0;
  zklock__csem *s = take(r);
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
    if (!s->finished)
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
  unref(s0);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
}

static void send_create(zklock__csem *s, zklock__cbq *q) {
  zklock_client *c = s->c;
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
  zklock__csem *s0 = r->s;
  zklock_client *c = s0->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  zklock__csem *s = take(r);
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
    } else if (s->try_only) {
      finish(s, ZKLOCK_EBUSY, &q);
    } else {
      begin(s, C_WAIT); /* the watch set by this listing wakes us */
    }
  }
  unref(s0);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
}

static void send_list(zklock__csem *s, zklock__cbq *q) {
  begin(s, C_LIST);
  creq *r = new_req(s);
  sent(s, r,
       r ? zoo_aget_children(s->c->zh, s->pool, 1, list_done, r) : ZSYSTEMERROR,
       q);
}

/* As the engine's session_gone(): an attempt that has not queued (no
 * mutex held yet, hence no lease made or out either: the pool step comes
 * after the mutex) starts over once on the replacement session, from its
 * first step. 0 if it cannot: the session's end is then the attempt's
 * (ELOST). */
static int start_over(zklock__csem *s, zklock__cbq *q) {
  zklock_client *c = s->c;
  if (s->retried || s->queued || c->zstate == ZKLOCK_SESSION_AUTH_FAILED ||
      c->closed)
    return 0;
  s->retried = 1;
  zklock__lock_drop_locked(s->l->sub, q);
  zklock__session_dead_locked(c);
  zklock__want_reopen(c);
  conn_wait(s, s->profile == ZKLOCK__P_KAZOO && !s->l->path_checked ? C_ENSURE
                                                                    : C_MUTEX);
  s->retry_at = zklock__now_ms() + 1000;
  return 1;
}

/* (Re)sends the requests of s->state. */
static void step(zklock__csem *s, zklock__cbq *q) {
  zklock_client *c = s->c;
  if (zklock__session_dead(c) || !c->zh) {
    if (s->state == C_CONN && s->retried && !c->closed) {
      /* the replacement is not there yet: wait on (the deadline holds) */
      zklock__want_reopen(c);
      s->retry_at = zklock__now_ms() + 1000;
      zklock__svc_kick(c);
    } else if (!start_over(s, q)) {
      finish(s, ZKLOCK_ELOST, q);
    }
    return;
  }
  if (c->zstate != ZKLOCK_SESSION_CONNECTED && s->state != C_MUTEX) {
    if (s->state != C_CONN)
      conn_wait(s, s->state == C_WAIT ? C_LIST : s->state);
    return;
  }
  s->retry_at = -1;
  switch (s->state) {
  case C_CONN:
    s->state = s->resume;
    step(s, q);
    return;
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

/* ---- starting ---- */

/* The async form's result: the application's callback, queued. */
static void async_fin(int rc, void *arg, zklock__cbq *q) {
  zklock__csem *s = arg;
  zklock__cb_done(s->c, q, s->done, s->uarg, rc);
}

/* Mutex held. */
static int start(zklock__lock *l, int timeout_ms, zklock__direct_cb fin,
                 void *arg, zklock_done_cb done, void *uarg, zklock__cbq *q) {
  zklock_client *c = l->c;
  if (c->closed)
    return ZKLOCK_ECLOSED;
  if (!l->sub)
    return ZKLOCK_EINVAL;
  if (l->att || l->csem || l->h.node || l->sub->att || l->sub->h.node)
    return ZKLOCK_EBUSY;
  if (l->cancel) {
    l->cancel = 0;
    return ZKLOCK_ECANCELED;
  }
  zklock__csem *s = calloc(1, sizeof *s);
  if (!s)
    return ZKLOCK_ENOMEM;
  char lock_path[ZKLOCK__NODE_MAX];
  if (zklock__sem_paths(c->compat, l->path, lock_path, sizeof lock_path,
                        s->pool, sizeof s->pool) ||
      zklock__profile_id(c->compat, s->id, sizeof s->id) < 0) {
    free(s);
    return ZKLOCK_EINVAL;
  }
  s->refs = 1;
  s->c = c;
  s->l = l;
  s->profile = c->compat;
  s->max = l->permits;
  s->try_only = timeout_ms == 0;
  int64_t now = zklock__now_ms();
  s->deadline = timeout_ms < 0    ? -1
                : timeout_ms == 0 ? now + ZKLOCK_TRY_WAIT_MS
                                  : now + timeout_ms;
  s->retry_at = -1;
  s->fin = fin;
  s->arg = fin == async_fin ? s : arg;
  s->done = done;
  s->uarg = uarg;
  s->next = c->csems;
  if (c->csems)
    c->csems->prev = s;
  c->csems = s;
  l->csem = s;
  zklock__svc_kick(c); /* a new deadline */
  s->state =
      s->profile == ZKLOCK__P_KAZOO && !l->path_checked ? C_ENSURE : C_MUTEX;
  if (s->state == C_MUTEX) {
    send_mutex(s, q); /* the engine waits for the connection itself */
  } else if (zklock__session_dead(c)) {
    /* replaced by the service thread; the CONNECTED event resumes us */
    zklock__want_reopen(c);
    conn_wait(s, C_ENSURE);
  } else {
    step(s, q);
  }
  return ZKLOCK_OK;
}

typedef struct {
  pthread_cond_t cond;
  int done, rc;
} sync_wait;

static void sync_fin(int rc, void *arg, zklock__cbq *q) {
  (void)q;
  sync_wait *w = arg;
  w->rc = rc;
  w->done = 1;
  pthread_cond_signal(&w->cond);
}

int zklock__csem_acquire_async(zklock__lock *l, int timeout_ms,
                               zklock_done_cb done, void *arg) {
  if (zklock__lock_check(l) || !done)
    return ZKLOCK_EINVAL;
  zklock_client *c = l->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  /* async_fin finds the application's callback in the attempt itself */
  int rc = start(l, timeout_ms, async_fin, NULL, done, arg, &q);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
  return rc;
}

int zklock__csem_acquire(zklock__lock *l, int timeout_ms) {
  if (zklock__lock_check(l))
    return ZKLOCK_EINVAL;
  zklock_client *c = l->c;
  if (zklock__on_cb_thread(c))
    return ZKLOCK_EDEADLK;
  sync_wait w = {.done = 0, .rc = 0};
  pthread_cond_init(&w.cond, NULL);
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  int rc = start(l, timeout_ms, sync_fin, &w, NULL, NULL, &q);
  if (rc == ZKLOCK_OK) {
    pthread_mutex_unlock(&c->mu);
    zklock__cb_flush(c, &q);
    ZKLOCK__CBQ_INIT(&q);
    pthread_mutex_lock(&c->mu);
    while (!w.done)
      pthread_cond_wait(&w.cond, &c->mu);
    rc = w.rc;
  }
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
  pthread_cond_destroy(&w.cond);
  return rc;
}

/* ---- engine hooks (mutex held) ---- */

void zklock__csem_end(zklock__lock *l, int rc, zklock__cbq *q) {
  if (l->csem)
    finish(l->csem, rc, q);
}

/* Runs fn on every attempt; each may finish (and unlink) itself. */
static void each(zklock_client *c,
                 void (*fn)(zklock__csem *, void *, zklock__cbq *), void *arg,
                 zklock__cbq *q) {
  int n = 0;
  for (zklock__csem *s = c->csems; s; s = s->next)
    n++;
  if (n == 0)
    return;
  zklock__csem **v = malloc(sizeof *v * (size_t)n);
  if (!v)
    return; /* the timers look again */
  n = 0;
  for (zklock__csem *s = c->csems; s; s = s->next) {
    s->refs++;
    v[n++] = s;
  }
  for (int i = 0; i < n; i++) {
    if (!v[i]->finished)
      fn(v[i], arg, q);
    unref(v[i]);
  }
  free(v);
}

static void on_session(zklock__csem *s, void *arg, zklock__cbq *q) {
  int zstate = *(int *)arg;
  if (zstate == ZKLOCK_SESSION_CONNECTED) {
    if (s->state == C_CONN)
      step(s, q);
  } else if (s->state != C_MUTEX && s->state != C_CONN) {
    /* the session ended: the mutex went with it, and our lease if there
     * is one (while in MUTEX the engine's own attempt decides) */
    if (!start_over(s, q))
      finish(s, ZKLOCK_ELOST, q);
  }
}

void zklock__csem_session(zklock_client *c, int zstate, zklock__cbq *q) {
  each(c, on_session, &zstate, q);
}

static void on_event(zklock__csem *s, void *arg, zklock__cbq *q) {
  const char *path = arg;
  if (s->state == C_WAIT && strcmp(path, s->pool) == 0)
    send_list(s, q);
}

void zklock__csem_event(zklock_client *c, int type, const char *path,
                        zklock__cbq *q) {
  (void)type; /* any event on the pool (children changed, deleted) */
  each(c, on_event, (void *)path, q);
}

static void on_timer(zklock__csem *s, void *arg, zklock__cbq *q) {
  int64_t now = *(int64_t *)arg;
  /* As the engine: a try that got no answer at all cannot say busy
   * (zklock.h promises ZKLOCK_ECONNLOSS). */
  if (s->deadline >= 0 && s->deadline <= now)
    finish(s,
           !s->try_only  ? ZKLOCK_ETIMEDOUT
           : s->answered ? ZKLOCK_EBUSY
                         : ZKLOCK_ECONNLOSS,
           q);
  else if (s->state == C_CONN && s->retry_at >= 0 && s->retry_at <= now)
    step(s, q);
}

int64_t zklock__csem_timers(zklock_client *c, zklock__cbq *q) {
  int64_t now = zklock__now_ms(), next = -1;
  each(c, on_timer, &now, q);
  for (zklock__csem *s = c->csems; s; s = s->next) {
    int64_t t[2] = {s->deadline, s->state == C_CONN ? s->retry_at : -1};
    for (int i = 0; i < 2; i++)
      if (t[i] >= 0 && (next < 0 || t[i] < next))
        next = t[i];
  }
  return next;
}

static void on_abort(zklock__csem *s, void *arg, zklock__cbq *q) {
  finish(s, *(int *)arg, q);
}

void zklock__csem_abort(zklock_client *c, int rc, zklock__cbq *q) {
  each(c, on_abort, &rc, q);
}
