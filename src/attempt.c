/* The attempt core: see src/attempt.h. Every operation that asks the
 * server on an attempt's behalf (a lock acquisition of any kind and
 * profile, the steps of a profile semaphore) lives on these functions, so
 * each has the same timeout, cancel, close and session-loss behaviour. */
#include "attempt.h"

#include <stdlib.h>
#include <string.h>

static int conn_lost(int zrc) {
  return zrc == ZCONNECTIONLOSS || zrc == ZOPERATIONTIMEOUT;
}

/* ---- timers: a binary heap of attempts by wake-up time ---- */

static int64_t wake_at(const zklock__att *a) {
  if (a->deadline < 0)
    return a->retry_at;
  if (a->retry_at < 0 || a->deadline < a->retry_at)
    return a->deadline;
  return a->retry_at;
}

static void heap_swap(zklock__engine *e, int i, int j) {
  zklock__att *t = e->heap[i];
  e->heap[i] = e->heap[j];
  e->heap[j] = t;
  e->heap[i]->hidx = i;
  e->heap[j]->hidx = j;
}

static void heap_fix(zklock__engine *e, int i) {
  while (i > 0 && wake_at(e->heap[(i - 1) / 2]) > wake_at(e->heap[i])) {
    heap_swap(e, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
  for (;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    if (l < e->nheap && wake_at(e->heap[l]) < wake_at(e->heap[m]))
      m = l;
    if (r < e->nheap && wake_at(e->heap[r]) < wake_at(e->heap[m]))
      m = r;
    if (m == i)
      return;
    heap_swap(e, i, m);
    i = m;
  }
}

static void heap_remove(zklock__engine *e, zklock__att *a) {
  int i = a->hidx;
  if (i < 0)
    return;
  a->hidx = -1;
  e->nheap--;
  if (i == e->nheap)
    return;
  e->heap[i] = e->heap[e->nheap];
  e->heap[i]->hidx = i;
  heap_fix(e, i);
}

int zklock__att_timers(zklock__att *a) {
  zklock__engine *e = &a->c->eng;
  if (wake_at(a) < 0) {
    heap_remove(e, a);
    return 0;
  }
  if (a->hidx < 0) {
    if (e->nheap == e->heapcap) {
      int cap = e->heapcap ? 2 * e->heapcap : 64;
      zklock__att **h = realloc(e->heap, sizeof *h * (size_t)cap);
      if (!h)
        return -1;
      e->heap = h;
      e->heapcap = cap;
    }
    a->hidx = e->nheap++;
    e->heap[a->hidx] = a;
  }
  heap_fix(e, a->hidx);
  zklock__svc_kick(a->c);
  return 0;
}

/* ---- watches: path -> attempts waiting on it ---- */

static unsigned path_hash(const char *p) {
  unsigned h = 2166136261u;
  for (; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  return h % ZKLOCK__WTAB;
}

void zklock__watch_arm(zklock__att *a, zklock__watch *w, const char *path) {
  if (w->a)
    return;
  w->a = a;
  w->path = path;
  w->fired = 0;
  unsigned b = path_hash(path);
  w->next = a->c->eng.wtab[b];
  a->c->eng.wtab[b] = w;
}

void zklock__watch_disarm(zklock_client *c, zklock__watch *w) {
  if (!w->a)
    return;
  for (zklock__watch **pp = &c->eng.wtab[path_hash(w->path)]; *pp;
       pp = &(*pp)->next) {
    if (*pp == w) {
      *pp = w->next;
      break;
    }
  }
  w->a = NULL;
}

/* ---- life ---- */

int zklock__att_init(zklock__att *a, const zklock__prog *p, zklock_client *c,
                     int timeout_ms, zklock_done_cb done,
                     zklock__direct_cb direct, void *arg) {
  a->prog = p;
  a->c = c;
  a->refs = 1;
  a->hidx = -1;
  a->try_only = timeout_ms == 0;
  int64_t now = zklock__now_ms();
  a->deadline = timeout_ms < 0    ? -1
                : timeout_ms == 0 ? now + ZKLOCK_TRY_WAIT_MS
                                  : now + timeout_ms;
  a->retry_at = -1;
  a->done = done;
  a->direct = direct;
  a->arg = arg;
  a->state = ZKLOCK__S_CONN;
  a->gen = c->conn_gen;
  if (zklock__att_timers(a))
    return -1;
  a->next = c->eng.atts;
  if (c->eng.atts)
    c->eng.atts->prev = a;
  c->eng.atts = a;
  return 0;
}

void zklock__att_start(zklock__att *a, int state, zklock__cbq *q) {
  a->resume = state;
  if (zklock__session_dead(a->c)) {
    /* a dead session is replaced first (by the service thread) */
    a->retried = 1;
    zklock__want_reopen(a->c);
    a->retry_at = zklock__now_ms() + 1000;
    zklock__att_timers(a);
    return;
  }
  zklock__att_step(a, q);
}

void zklock__att_ref(zklock__att *a) { a->refs++; }

void zklock__att_unref(zklock__att *a) {
  if (--a->refs == 0)
    a->prog->destroy(a);
}

void zklock__att_finish(zklock__att *a, int rc, zklock__cbq *q) {
  if (a->finished)
    return;
  zklock_client *c = a->c;
  a->finished = 1;
  a->epoch++;
  heap_remove(&c->eng, a);
  if (a->prev)
    a->prev->next = a->next;
  else
    c->eng.atts = a->next;
  if (a->next)
    a->next->prev = a->prev;
  a->prog->end(a, rc, q);
  zklock__set_zk_err(a->zrc);
  if (a->direct)
    a->direct(rc, a->arg, q);
  else
    zklock__deliver(c, q, a->done, a->arg, rc, a->zrc);
  zklock__att_unref(a);
}

/* ---- steps ---- */

void zklock__att_begin(zklock__att *a, int state) {
  a->epoch++;
  a->pending = 0;
  a->state = state;
  a->gen = a->c->conn_gen;
}

void zklock__att_step(zklock__att *a, zklock__cbq *q) {
  zklock_client *c = a->c;
  if (zklock__session_dead(c) || !c->zh) {
    if (a->prog->gone)
      a->prog->gone(a, q);
    else
      zklock__att_gone(a, a->prog->fresh(a), a->prog->restart, q);
    return;
  }
  if (c->zstate != ZKLOCK_SESSION_CONNECTED) {
    zklock__att_conn_wait(a, a->state == ZKLOCK__S_CONN ? a->resume : a->state,
                          q);
    return;
  }
  if (a->state == ZKLOCK__S_CONN) {
    a->retry_at = -1;
    zklock__att_timers(a);
    a->state = a->resume;
  }
  a->prog->step(a, q);
}

/* The CONNECTING event may trail a failed answer: retry after a pause if
 * the state still reads connected at the old generation. */
void zklock__att_conn_wait(zklock__att *a, int resume, zklock__cbq *q) {
  zklock_client *c = a->c;
  uint64_t gen = a->gen;
  zklock__att_begin(a, ZKLOCK__S_CONN);
  a->gen = gen;
  a->resume = resume;
  a->retry_at = zklock__now_ms() + 100;
  if (c->zstate == ZKLOCK_SESSION_CONNECTED && c->conn_gen != gen) {
    a->retry_at = -1;
    zklock__att_timers(a);
    a->state = resume;
    a->prog->step(a, q);
    return;
  }
  zklock__att_timers(a);
}

void zklock__att_gone(zklock__att *a, int fresh, int restart, zklock__cbq *q) {
  zklock_client *c = a->c;
  if (c->zstate == ZKLOCK_SESSION_AUTH_FAILED) {
    zklock__att_finish(a, fresh ? ZKLOCK_EAUTH : ZKLOCK_ELOST, q);
    return;
  }
  if (!fresh || a->retried || c->closed) {
    zklock__att_finish(a, ZKLOCK_ELOST, q);
    return;
  }
  a->retried = 1;
  zklock__session_dead_locked(c);
  zklock__want_reopen(c);
  zklock__att_begin(a, ZKLOCK__S_CONN);
  a->resume = restart;
  a->retry_at = zklock__now_ms() + 1000;
  zklock__att_timers(a);
}

static void gone(zklock__att *a, zklock__cbq *q) {
  if (a->prog->gone)
    a->prog->gone(a, q);
  else
    zklock__att_gone(a, a->prog->fresh(a), a->prog->restart, q);
}

void zklock__att_failed(zklock__att *a, int zrc, int resume, zklock__cbq *q) {
  if (conn_lost(zrc)) {
    zklock__att_conn_wait(a, resume, q);
  } else if (zrc == ZSESSIONEXPIRED || zrc == ZSESSIONMOVED ||
             zrc == ZINVALIDSTATE) {
    gone(a, q);
  } else {
    a->zrc = zrc;
    zklock__att_finish(a, zklock__zk_err(zrc), q);
  }
}

/* ---- requests ---- */

zklock__req *zklock__req_new(zklock__att *a, int idx) {
  zklock__req *r = malloc(sizeof *r);
  if (!r)
    return NULL;
  r->a = a;
  r->epoch = a->epoch;
  r->zh_gen = a->c->zh_gen;
  r->idx = idx;
  a->refs++;
  a->pending++;
  return r;
}

void zklock__req_drop(zklock__req *r) {
  r->a->pending--;
  zklock__att_unref(r->a);
  free(r);
}

int zklock__req_sent(zklock__att *a, zklock__req *r, int zrc, zklock__cbq *q) {
  if (r && zrc == ZOK)
    return 0;
  if (r)
    zklock__req_drop(r);
  a->zrc = zrc;
  zklock__att_finish(a, !r || zrc == ZOK ? ZKLOCK_ENOMEM : zklock__zk_err(zrc),
                     q);
  return -1;
}

zklock__att *zklock__req_take(zklock__req *r, int *stale) {
  zklock__att *a = r->a;
  *stale = a->finished || r->epoch != a->epoch || r->zh_gen != a->c->zh_gen;
  if (!*stale) {
    a->pending--;
    a->answered = 1;
  }
  return a;
}

void zklock__req_free(zklock__req *r) {
  zklock__att_unref(r->a);
  free(r);
}

/* ---- engine hooks (client mutex held) ---- */

/* The attempts in flight, each referenced (handling one may finish
 * others); NULL with *n 0 if none or out of memory (the timers retry). */
static zklock__att **collect(zklock_client *c, int *n) {
  *n = 0;
  for (zklock__att *a = c->eng.atts; a; a = a->next)
    (*n)++;
  zklock__att **v = *n ? malloc(sizeof *v * (size_t)*n) : NULL;
  if (!v) {
    *n = 0;
    return NULL;
  }
  *n = 0;
  for (zklock__att *a = c->eng.atts; a; a = a->next) {
    a->refs++;
    v[(*n)++] = a;
  }
  return v;
}

void zklock__engine_session(zklock_client *c, int zstate, zklock__cbq *q) {
  if (zstate != ZKLOCK_SESSION_CONNECTED && zstate != ZKLOCK_SESSION_EXPIRED &&
      zstate != ZKLOCK_SESSION_AUTH_FAILED)
    return; /* a disconnect: the answers in flight say so themselves */
  int n;
  zklock__att **v = collect(c, &n);
  for (int i = 0; i < n; i++) {
    zklock__att *a = v[i];
    if (a->finished) {
    } else if (zstate == ZKLOCK_SESSION_CONNECTED) {
      if (a->state == ZKLOCK__S_CONN)
        zklock__att_step(a, q);
    } else {
      gone(a, q);
    }
    zklock__att_unref(a);
  }
  free(v);
}

/* Every attempt with a watch on path, once each, referenced; NULL if
 * none. The server's watches on path are used up, whoever acts now. */
static zklock__att **watchers(zklock_client *c, const char *path, int *n) {
  zklock__att *one[16], **v = one;
  int cap = 16;
  *n = 0;
  for (zklock__watch *w = c->eng.wtab[path_hash(path)]; w; w = w->next) {
    if (strcmp(w->path, path) != 0)
      continue;
    w->fired = 1;
    if (w->a->hit)
      continue;
    if (*n == cap) {
      zklock__att **g = malloc(sizeof *g * (size_t)cap * 2);
      if (!g)
        break; /* the rest learn of it from their next answer or timer */
      memcpy(g, v, sizeof *g * (size_t)cap);
      if (v != one)
        free(v);
      v = g;
      cap *= 2;
    }
    w->a->hit = 1;
    w->a->refs++;
    v[(*n)++] = w->a;
  }
  if (*n == 0)
    return NULL;
  zklock__att **out = v;
  if (v == one && !(out = malloc(sizeof *out * (size_t)*n))) {
    for (int i = 0; i < *n; i++) { /* cannot hand them over: none act */
      one[i]->hit = 0;
      one[i]->refs--;
    }
    *n = 0;
    return NULL;
  }
  if (v == one)
    memcpy(out, one, sizeof *out * (size_t)*n);
  for (int i = 0; i < *n; i++)
    out[i]->hit = 0;
  return out;
}

void zklock__engine_event(zklock_client *c, int type, const char *path,
                          zklock__cbq *q) {
  int n;
  zklock__att **v = watchers(c, path, &n);
  for (int i = 0; i < n; i++) {
    if (!v[i]->finished)
      v[i]->prog->event(v[i], type, path, q);
    zklock__att_unref(v[i]);
  }
  free(v);
}

int64_t zklock__engine_timers(zklock_client *c, zklock__cbq *q) {
  zklock__engine *e = &c->eng;
  int64_t now = zklock__now_ms();
  while (e->nheap > 0 && wake_at(e->heap[0]) <= now) {
    zklock__att *a = e->heap[0];
    if (a->deadline >= 0 && a->deadline <= now) {
      /* A try that got no answer at all cannot say busy. */
      zklock__att_finish(a,
                         a->try_only && !a->answered ? ZKLOCK_ECONNLOSS
                         : a->try_only               ? ZKLOCK_EBUSY
                                                     : ZKLOCK_ETIMEDOUT,
                         q);
      continue;
    }
    a->retry_at = -1;
    zklock__att_timers(a);
    if (a->state == ZKLOCK__S_CONN) {
      if (zklock__session_dead(c)) {
        zklock__want_reopen(c);
        a->retry_at = now + 1000;
        zklock__att_timers(a);
      } else if (c->zstate == ZKLOCK_SESSION_CONNECTED) {
        a->refs++;
        zklock__att_step(a, q);
        zklock__att_unref(a);
      }
    }
  }
  return e->nheap > 0 ? wake_at(e->heap[0]) : -1;
}

void zklock__engine_abort(zklock_client *c, int rc, zklock__cbq *q) {
  while (c->eng.atts)
    zklock__att_finish(c->eng.atts, rc, q);
}

/* ---- blocking calls: a wait on an attempt ---- */

typedef zklock__sync sync_wait;

void zklock__sync_cb(int rc, void *arg) {
  sync_wait *w = arg;
  w->rc = rc;
  w->done = 1;
  pthread_cond_signal(&w->cond);
}

void zklock__deliver(zklock_client *c, zklock__cbq *q, zklock_done_cb done,
                     void *arg, int rc, int zrc) {
  if (done == zklock__sync_cb) {
    ((sync_wait *)arg)->zrc = zrc;
    zklock__sync_cb(rc, arg);
  } else if (done) {
    zklock__cb_done(c, q, done, arg, rc);
  }
}

int zklock__wait_call(zklock_client *c, zklock__start_fn start_fn, void *ctx) {
  if (zklock__on_cb_thread(c))
    return ZKLOCK_EDEADLK;
  sync_wait w;
  zklock__sync_init(&w);
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  int rc = start_fn(ctx, zklock__sync_cb, &w, &q);
  if (rc == ZKLOCK_OK) {
    pthread_mutex_unlock(&c->mu);
    zklock__cb_flush(c, &q); /* notices queued on the way in */
    ZKLOCK__CBQ_INIT(&q);
    pthread_mutex_lock(&c->mu);
    rc = zklock__sync_wait(c, &w);
    zklock__set_zk_err(w.zrc);
  }
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
  pthread_cond_destroy(&w.cond);
  return rc;
}

void zklock__sync_init(zklock__sync *w) {
  w->done = w->rc = 0;
  w->zrc = ZOK;
  pthread_cond_init(&w->cond, NULL);
}

int zklock__sync_wait(zklock_client *c, zklock__sync *w) {
  while (!w->done)
    pthread_cond_wait(&w->cond, &c->mu);
  return w->rc;
}
