/* Client: one ZooKeeper session, watcher dispatch, session state, and the
 * background deletes that keep timeouts and failures from leaving orphans. */
#define _GNU_SOURCE /* memmem */
#include "compat.h"
#include "zklock_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* A node to delete once the connection is back; with a guid, a lost create
 * to find among node's children (node is then the lock path). */
typedef struct zklock__bgdel {
  struct zklock__bgdel *next;
  zklock_client *c;
  uint64_t gen;  /* conn_gen when last sent */
  char guid[40]; /* id of the nodes to sweep, in the client's profile */
  int mark;      /* not a delete: set the semaphore turn mark on node */
  char node[ZKLOCK__NODE_MAX];
} zklock__bgdel;

static void drop_log(const char *message) { (void)message; }
static void *svc_main(void *arg);

int64_t zklock__now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cond_init_mono(pthread_cond_t *cv) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(cv, &a);
  pthread_condattr_destroy(&a);
}

/* Waits on cv until signalled or deadline (monotonic ms; <0 none). */
static int cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu,
                           int64_t deadline) {
  if (deadline < 0)
    return pthread_cond_wait(cv, mu);
  struct timespec ts = {.tv_sec = deadline / 1000,
                        .tv_nsec = (deadline % 1000) * 1000000};
  return pthread_cond_timedwait(cv, mu, &ts);
}

void zklock__op_init(zklock__op *op, zklock_client *c) {
  memset(op, 0, sizeof *op);
  op->c = c;
  cond_init_mono(&op->cond);
  op->next = c->ops.next;
  op->prev = &c->ops;
  c->ops.next->prev = op;
  c->ops.next = op;
}

void zklock__op_destroy(zklock__op *op) {
  op->prev->next = op->next;
  op->next->prev = op->prev;
  deallocate_String_vector(&op->children);
  pthread_cond_destroy(&op->cond);
}

static void wake_all(zklock_client *c) {
  for (zklock__op *op = c->ops.next; op != &c->ops; op = op->next)
    pthread_cond_signal(&op->cond);
  pthread_cond_broadcast(&c->cond);
}

void zklock__op_wait_pending(zklock_client *c, zklock__op *op) {
  while (op->pending > 0)
    pthread_cond_wait(&op->cond, &c->mu);
}

int zklock__op_wait(zklock_client *c, zklock__op *op, int64_t deadline) {
  return cond_wait_until(&op->cond, &c->mu, deadline) == ETIMEDOUT ? ETIMEDOUT
                                                                   : 0;
}

int zklock__session_dead(const zklock_client *c) {
  return c->zstate == ZKLOCK_SESSION_EXPIRED ||
         c->zstate == ZKLOCK_SESSION_AUTH_FAILED;
}

/* ---- completions: record the result, then wake the op's thread ---- */

static void op_done(zklock__op *op) {
  /* Wake the caller once, when its last answer is in: pipelined calls
   * would otherwise wake it for each. */
  if (--op->pending == 0)
    pthread_cond_signal(&op->cond);
}

void zklock__create_done(int rc, const char *path, const struct Stat *st,
                         const void *data) {
  zklock__op *op = (zklock__op *)data;
  pthread_mutex_lock(&op->c->mu);
  op->create_rc = rc;
  if (rc == ZOK) {
    snprintf(op->created, sizeof op->created, "%s", path);
    op->create_stat = *st;
  }
  op_done(op);
  pthread_mutex_unlock(&op->c->mu);
}

void zklock__children_done(int rc, const struct String_vector *sv,
                           const void *data) {
  zklock__op *op = (zklock__op *)data;
  pthread_mutex_lock(&op->c->mu);
  op->children_rc = rc;
  deallocate_String_vector(&op->children);
  if (rc == ZOK && sv) {
    /* Take the strings over: the client frees its vector after we return,
     * so copy the pointer array only. */
    op->children.count = sv->count;
    op->children.data = NULL;
    if (sv->count > 0) {
      op->children.data = calloc((size_t)sv->count, sizeof(char *));
      if (!op->children.data) {
        op->children.count = 0;
        op->children_rc = ZSYSTEMERROR;
      } else {
        for (int i = 0; i < sv->count; i++) {
          op->children.data[i] = strdup(sv->data[i]);
          if (!op->children.data[i]) {
            op->children_rc = ZSYSTEMERROR;
            break;
          }
        }
      }
    }
  }
  op_done(op);
  pthread_mutex_unlock(&op->c->mu);
}

void zklock__get_done(int rc, const char *v, int vlen, const struct Stat *st,
                      const void *data) {
  (void)v;
  (void)vlen;
  zklock__op *op = (zklock__op *)data;
  pthread_mutex_lock(&op->c->mu);
  op->get_rc = rc;
  if (rc == ZOK && st)
    op->get_stat = *st;
  op_done(op);
  pthread_mutex_unlock(&op->c->mu);
}

void zklock__void_done(int rc, const void *data) {
  zklock__op *op = (zklock__op *)data;
  pthread_mutex_lock(&op->c->mu);
  op->void_rc = rc;
  op_done(op);
  pthread_mutex_unlock(&op->c->mu);
}

/* ---- background deletes ---- */

static int conn_lost(int zrc) {
  return zrc == ZCONNECTIONLOSS || zrc == ZOPERATIONTIMEOUT;
}

static void bg_send(zklock__bgdel *b);

/* Mutex held. Requeues b for the next reconnect, or sends it now if the
 * connection already came back since it was sent. */
static void bg_retry(zklock_client *c, zklock__bgdel *b) {
  if (c->closed || zklock__session_dead(c) || !c->zh) {
    free(b); /* the session is gone, and its ephemeral nodes with it */
    return;
  }
  if (c->zstate == ZKLOCK_SESSION_CONNECTED && c->conn_gen != b->gen) {
    bg_send(b);
    return;
  }
  b->next = c->bgdel;
  c->bgdel = b;
}

static void bg_delete_done(int rc, const void *data) {
  zklock__bgdel *b = (zklock__bgdel *)data;
  zklock_client *c = b->c;
  pthread_mutex_lock(&c->mu);
  if (conn_lost(rc))
    bg_retry(c, b);
  else
    free(b);
  pthread_mutex_unlock(&c->mu);
}

static zklock__bgdel *bg_new(zklock_client *c, const char *node,
                             const char *guid) {
  zklock__bgdel *b = calloc(1, sizeof *b);
  if (!b)
    return NULL; /* the node goes with the session at the latest */
  b->c = c;
  snprintf(b->node, sizeof b->node, "%s", node);
  if (guid)
    snprintf(b->guid, sizeof b->guid, "%s", guid);
  return b;
}

static void bg_children_done(int rc, const struct String_vector *sv,
                             const void *data) {
  zklock__bgdel *b = (zklock__bgdel *)data;
  zklock_client *c = b->c;
  pthread_mutex_lock(&c->mu);
  if (conn_lost(rc)) {
    bg_retry(c, b);
  } else {
    zklock__cname nm;
    for (int i = 0; rc == ZOK && sv && i < sv->count; i++) {
      if (zklock__cname_parse(c->compat, sv->data[i], &nm) == 0 &&
          strcmp(nm.id, b->guid) == 0) {
        zklock__bgdel *d = bg_new(c, b->node, NULL);
        if (d) {
          size_t len = strlen(d->node);
          snprintf(d->node + len, sizeof d->node - len, "/%s", sv->data[i]);
          bg_send(d);
        }
      }
    }
    free(b);
  }
  pthread_mutex_unlock(&c->mu);
}

void zklock__sync_done(int rc, const char *value, const void *data) {
  (void)rc;
  (void)value;
  (void)data;
}

static void bg_mark_done(int rc, const struct Stat *st, const void *data) {
  (void)st;
  bg_delete_done(rc, data); /* the same retry rule */
}

/* Mutex held. */
static void bg_send(zklock__bgdel *b) {
  zklock_client *c = b->c;
  b->gen = c->conn_gen;
  int zrc;
  if (b->mark) {
    /* the lease's data stays its owner's (zklock status shows it); only
     * the version change wakes the waiter behind */
    char data[ZKLOCK__OWNER_MAX + 8];
    int len = snprintf(data, sizeof data, "%s%s", c->owner, ZKLOCK__MARK_TURN);
    zrc = zoo_aset(c->zh, b->node, data, len, -1, bg_mark_done, b);
  } else if (b->guid[0]) {
    /* sync first: a create that just committed must show in the list */
    zoo_async(c->zh, b->node, zklock__sync_done, NULL);
    zrc = zoo_aget_children(c->zh, b->node, 0, bg_children_done, b);
  } else {
    zrc = zoo_adelete(c->zh, b->node, -1, bg_delete_done, b);
  }
  if (zrc != ZOK)
    free(b); /* invalid state: the session is gone */
}

void zklock__bg_mark(zklock_client *c, const char *node) {
  zklock__bgdel *b = bg_new(c, node, NULL);
  if (!b)
    return;
  b->mark = 1;
  if (c->zh && c->zstate == ZKLOCK_SESSION_CONNECTED) {
    bg_send(b);
  } else {
    b->gen = c->conn_gen;
    bg_retry(c, b);
  }
}

void zklock__bg_delete(zklock_client *c, const char *node, const char *guid) {
  zklock__bgdel *b = bg_new(c, node, guid);
  if (!b)
    return;
  if (c->zh && c->zstate == ZKLOCK_SESSION_CONNECTED) {
    bg_send(b);
  } else {
    b->gen = c->conn_gen;
    bg_retry(c, b);
  }
}

static void bg_flush(zklock_client *c) {
  zklock__bgdel *b = c->bgdel;
  c->bgdel = NULL;
  while (b) {
    zklock__bgdel *next = b->next;
    if (zklock__session_dead(c))
      free(b);
    else
      bg_send(b);
    b = next;
  }
}

/* ---- callbacks ---- */

static zklock__cb *cb_new(int type, int rc, const char *path,
                          const char *node) {
  size_t len = node ? strlen(node) + 1 : 1;
  zklock__cb *cb = malloc(sizeof *cb + len);
  if (!cb)
    return NULL;
  cb->next = NULL;
  cb->type = type;
  cb->rc = rc;
  cb->done = NULL;
  cb->arg = NULL;
  cb->path = path ? strdup(path) : NULL;
  memcpy(cb->node, node ? node : "", len);
  return cb;
}

static void cbq_push(zklock__cbq *q, zklock__cb *cb) {
  *q->tail = cb;
  q->tail = &cb->next;
}

void zklock__cb_done(zklock_client *c, zklock__cbq *q, zklock_done_cb done,
                     void *arg, int rc) {
  (void)c;
  zklock__cb *cb = cb_new(ZKLOCK__CB_DONE, rc, NULL, NULL);
  if (!cb)
    return; /* out of memory: nothing better to do than drop it */
  cb->done = done;
  cb->arg = arg;
  cbq_push(q, cb);
}

void zklock__cb_lock(zklock_client *c, zklock__cbq *q, const char *path,
                     const char *node, int state) {
  if (!c->on_lock)
    return;
  zklock__cb *cb = cb_new(ZKLOCK__CB_LOCK, state, path, node);
  if (cb)
    cbq_push(q, cb);
}

static void cb_session(zklock_client *c, zklock__cbq *q, int state) {
  if (!c->on_session)
    return;
  zklock__cb *cb = cb_new(ZKLOCK__CB_SESSION, state, NULL, NULL);
  if (cb)
    cbq_push(q, cb);
}

/* Runs and frees a list of callbacks (mutex NOT held). */
static void cb_run(zklock_client *c, zklock__cb *cb) {
  while (cb) {
    zklock__cb *next = cb->next;
    if (cb->type == ZKLOCK__CB_DONE)
      cb->done(cb->rc, cb->arg);
    else if (cb->type == ZKLOCK__CB_LOCK && c->on_lock)
      c->on_lock(c, cb->path ? cb->path : "", cb->node,
                 (zklock_lock_state)cb->rc, c->cb_arg);
    else if (cb->type == ZKLOCK__CB_SESSION && c->on_session)
      c->on_session(c, (zklock_session_state)cb->rc, c->cb_arg);
    else if (cb->type == ZKLOCK__CB_LISTENER)
      zklock__listener_run(c, cb);
    free(cb->path);
    free(cb);
    cb = next;
  }
}

static void evfd_signal(zklock_client *c) {
  uint64_t one = 1;
  if (c->evfd >= 0 && write(c->evfd, &one, sizeof one) < 0) {
    /* the counter is already non-zero: still readable */
  }
}

/* Mutex held: appends q to the loop queue. */
static void loop_push(zklock_client *c, zklock__cbq *q) {
  if (!q->head)
    return;
  int was_empty = c->loopq.head == NULL;
  *c->loopq.tail = q->head;
  c->loopq.tail = q->tail;
  ZKLOCK__CBQ_INIT(q);
  if (was_empty)
    evfd_signal(c);
}

void zklock__cb_flush(zklock_client *c, zklock__cbq *q) {
  if (!q->head)
    return;
  if (c->dispatch == ZKLOCK_DISPATCH_LOOP) {
    pthread_mutex_lock(&c->mu);
    /* after close nobody dispatches: run them here */
    if (c->evfd >= 0) {
      loop_push(c, q);
      pthread_mutex_unlock(&c->mu);
      return;
    }
    pthread_mutex_unlock(&c->mu);
  }
  zklock__cb *cb = q->head;
  ZKLOCK__CBQ_INIT(q);
  cb_run(c, cb);
}

void zklock__svc_kick(zklock_client *c) { pthread_cond_signal(&c->svc_cond); }

void zklock__cb_defer_q(zklock_client *c, zklock__cbq *q) {
  if (c->dispatch == ZKLOCK_DISPATCH_LOOP && c->evfd >= 0) {
    loop_push(c, q);
  } else if (q->head && c->svc_running && !c->svc_stop) {
    *c->svcq.tail = q->head;
    c->svcq.tail = q->tail;
    ZKLOCK__CBQ_INIT(q);
    zklock__svc_kick(c);
  }
}

void zklock__cb_defer(zklock_client *c, zklock_done_cb done, void *arg,
                      int rc) {
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  zklock__cb_done(c, &q, done, arg, rc);
  if (c->dispatch == ZKLOCK_DISPATCH_LOOP && c->evfd >= 0) {
    loop_push(c, &q);
  } else if (q.head) {
    *c->svcq.tail = q.head;
    c->svcq.tail = q.tail;
    zklock__svc_kick(c);
  }
}

int zklock_client_fd(zklock_client *c) {
  if (!c || c->magic != ZKLOCK__MAGIC_CLIENT)
    return ZKLOCK_EINVAL;
  pthread_mutex_lock(&c->mu);
  int fd = c->closed                             ? ZKLOCK_ECLOSED
           : c->dispatch != ZKLOCK_DISPATCH_LOOP ? ZKLOCK_EINVAL
                                                 : c->evfd;
  pthread_mutex_unlock(&c->mu);
  return fd;
}

int zklock_client_dispatch(zklock_client *c) {
  if (!c || c->magic != ZKLOCK__MAGIC_CLIENT)
    return ZKLOCK_EINVAL;
  pthread_mutex_lock(&c->mu);
  if (c->dispatch != ZKLOCK_DISPATCH_LOOP) {
    pthread_mutex_unlock(&c->mu);
    return ZKLOCK_EINVAL;
  }
  if (c->closed) {
    pthread_mutex_unlock(&c->mu);
    return ZKLOCK_ECLOSED;
  }
  zklock__cb *cb = c->loopq.head;
  ZKLOCK__CBQ_INIT(&c->loopq);
  /* Empty now: clear the fd. A callback queued after this makes it
   * readable again. */
  uint64_t v;
  if (read(c->evfd, &v, sizeof v) < 0) {
    /* EAGAIN: nothing was signalled */
  }
  c->dispatcher = pthread_self();
  c->dispatching++;
  pthread_mutex_unlock(&c->mu);
  int n = 0;
  for (zklock__cb *p = cb; p; p = p->next)
    n++;
  cb_run(c, cb);
  pthread_mutex_lock(&c->mu);
  c->dispatching--;
  pthread_mutex_unlock(&c->mu);
  return n;
}

/* ---- held locks ---- */

typedef struct {
  zklock_client *c;
  char node[];
} ownwatch;

static void own_watch_done(int rc, const char *v, int vlen,
                           const struct Stat *st, const void *data);

void zklock__held_watch(zklock_client *c, zklock__held *h) {
  if (!c->zh)
    return;
  ownwatch *w = malloc(sizeof *w + strlen(h->node) + 1);
  if (!w)
    return;
  w->c = c;
  strcpy(w->node, h->node);
  /* get, not exists: exists on a missing node would leave a watch for its
   * creation behind. */
  if (zoo_aget(c->zh, h->node, 1, own_watch_done, w) != ZOK)
    free(w);
}

void zklock__held_link(zklock_client *c, zklock__held *h, zklock__cbq *q) {
  h->next = c->held.next;
  h->prev = &c->held;
  c->held.next->prev = h;
  c->held.next = h;
  h->linked = 1;
  h->state = ZKLOCK_LOCK_HELD;
  h->sid = c->sid;
  h->revoke = 0;
  zklock__held_watch(c, h);
  zklock__held_report(h, ZKLOCK_LOCK_HELD, q);
}

void zklock__held_report(zklock__held *h, int state, zklock__cbq *q) {
  if (h->quiet)
    return;
  if (h->hook)
    h->hook(h->hook_arg, state, q);
  zklock__hlisten_report(h->lsn, state, q);
}

void zklock__held_unlink(zklock__held *h) {
  if (!h->linked)
    return;
  h->prev->next = h->next;
  h->next->prev = h->prev;
  h->next = h->prev = NULL;
  h->linked = 0;
}

void zklock__held_set(zklock_client *c, zklock__held *h, int state,
                      zklock__cbq *q) {
  if (h->state == state || h->state == ZKLOCK_LOCK_LOST)
    return;
  if (state == ZKLOCK_LOCK_LOST)
    zklock__stat_lost(c, h);
  h->state = state;
  if (!h->quiet)
    zklock__cb_lock(c, q, h->path, h->node, state);
  zklock__held_report(h, state, q);
}

static void own_watch_done(int rc, const char *v, int vlen,
                           const struct Stat *st, const void *data) {
  (void)st;
  ownwatch *w = (ownwatch *)data;
  zklock_client *c = w->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  for (zklock__held *h = c->held.next; h != &c->held; h = h->next) {
    if (strcmp(h->node, w->node) != 0)
      continue;
    if (rc == ZNONODE) {
      zklock__held_set(c, h, ZKLOCK_LOCK_LOST, &q);
    } else if (rc == ZOK && !h->revoke && v &&
               (zklock__mark_has(v, vlen, ZKLOCK__MARK_REVOKE) ||
                (c->compat == ZKLOCK_COMPAT_CURATOR &&
                 zklock__curator_is_revoke(v, vlen)))) {
      /* someone asked us to let go; the hold stays until we unlock */
      h->revoke = 1;
      if (!h->quiet)
        zklock__cb_lock(c, &q, h->path, h->node, ZKLOCK_LOCK_REVOKE_REQUESTED);
      c->stats.revocations += !h->quiet;
      zklock__held_report(h, ZKLOCK_LOCK_REVOKE_REQUESTED, &q);
    }
  }
  pthread_mutex_unlock(&c->mu);
  free(w);
  zklock__cb_flush(c, &q);
}

/* ---- watcher ---- */

static void watcher(zhandle_t *zh, int type, int state, const char *path,
                    void *ctx) {
  zklock_client *c = (zklock_client *)ctx;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  if (!c->cb_thread_known) {
    c->cb_thread = pthread_self();
    c->cb_thread_known = 1;
  }
  if (zh != c->zh) {
    /* The first event can beat zookeeper_init2's return to start_session;
     * otherwise this is a replaced or closing handle. */
    if (!c->starting || c->zh) {
      pthread_mutex_unlock(&c->mu);
      return;
    }
    c->zh = zh;
  }
  if (type == ZOO_SESSION_EVENT) {
    int new_state, held_state;
    if (state == ZOO_CONNECTED_STATE) {
      new_state = ZKLOCK_SESSION_CONNECTED;
      c->stats.reconnects += c->conn_gen > 0; /* src/stats.c */
      c->conn_gen++;
      const clientid_t *id = zoo_client_id(zh);
      c->sid = id ? id->client_id : 0;
      held_state = ZKLOCK_LOCK_HELD;
    } else if (state == ZOO_EXPIRED_SESSION_STATE) {
      new_state = ZKLOCK_SESSION_EXPIRED;
      held_state = ZKLOCK_LOCK_LOST;
      c->stats.session_expiries++;
    } else if (state == ZOO_AUTH_FAILED_STATE) {
      new_state = ZKLOCK_SESSION_AUTH_FAILED;
      held_state = ZKLOCK_LOCK_LOST;
    } else {
      new_state = ZKLOCK_SESSION_CONNECTING;
      held_state = ZKLOCK_LOCK_UNCERTAIN;
    }
    if (new_state != c->zstate)
      cb_session(c, &q, new_state);
    c->zstate = new_state;
    for (zklock__held *h = c->held.next; h != &c->held; h = h->next)
      zklock__held_set(c, h, held_state, &q);
    /* pending deletes go first: an acquire resumed below queues behind */
    if (new_state == ZKLOCK_SESSION_CONNECTED)
      bg_flush(c);
    zklock__engine_session(c, new_state, &q);
    zklock__listeners_event(c, type, new_state, NULL, &q);
    wake_all(c);
  } else if (path) {
    c->stats.watch_events++;
    zklock__engine_event(c, type, path, &q);
    zklock__listeners_event(c, type, 0, path, &q);
    for (zklock__held *h = c->held.next; h != &c->held; h = h->next) {
      if (strcmp(h->node, path) != 0)
        continue;
      if (type == ZOO_DELETED_EVENT)
        zklock__held_set(c, h, ZKLOCK_LOCK_LOST, &q);
      else if (type == ZOO_CHANGED_EVENT)
        zklock__held_watch(c, h); /* re-arm; a revocation shows in data */
    }
  }
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
}

/* ---- open / close ---- */

static void auth_done(int rc, const void *data) {
  zklock__op *op = (zklock__op *)data;
  zklock__void_done(rc, op);
}

/* Mutex held; drops it around zookeeper_init2. */
static int start_session(zklock_client *c) {
  c->zstate = ZKLOCK_SESSION_CONNECTING;
  c->sid = 0;
  c->cb_thread_known = 0; /* a new handle has its own completion thread */
  c->starting = 1;
  pthread_mutex_unlock(&c->mu);
  zhandle_t *zh =
      c->tls ? zklock__tls_init(c, watcher)
             : zookeeper_init2(c->hosts, watcher, c->session_timeout_ms, NULL,
                               c, 0, c->log ? c->log : drop_log);
  int err = errno;
  pthread_mutex_lock(&c->mu);
  c->starting = 0;
  if (!zh)
    return err == ENOMEM ? ZKLOCK_ENOMEM : ZKLOCK_EINVAL;
  /* The C client re-resolves the host names on every poll by default: a
   * getaddrinfo (netlink socket, /etc/hosts reads) per request, about
   * 100 us of CPU each on a small VM. Once a minute is plenty to notice
   * DNS changes; a connection loss re-resolves anyway. */
  zoo_set_servers_resolution_delay(zh, 60000);
  c->zh = zh;
  c->zh_gen++;
  return ZKLOCK_OK;
}

/* Mutex held. Waits for the session (and credentials) to be accepted. */
static int await_session(zklock_client *c, zklock__op *op) {
  int64_t deadline = zklock__now_ms() + c->connect_timeout_ms;
  unsigned long tls_failures = zklock__tls_failures();
  if (c->auth) {
    op->pending++;
    if (zoo_add_auth(c->zh, "digest", c->auth, (int)strlen(c->auth), auth_done,
                     op) != ZOK) {
      op->pending--;
      return ZKLOCK_EAUTH;
    }
  }
  while (c->zstate == ZKLOCK_SESSION_CONNECTING || op->pending > 0) {
    if (zklock__op_wait(c, op, deadline) == ETIMEDOUT &&
        c->zstate == ZKLOCK_SESSION_CONNECTING) {
      zklock__set_zk_err(c->tls && zklock__tls_failures() != tls_failures
                             ? ZSSLCONNECTIONERROR
                             : ZCONNECTIONLOSS);
      return ZKLOCK_ECONNLOSS;
    }
    if (c->zstate == ZKLOCK_SESSION_AUTH_FAILED)
      return ZKLOCK_EAUTH;
    if (c->zstate == ZKLOCK_SESSION_EXPIRED)
      return ZKLOCK_ELOST;
  }
  if (c->auth && op->void_rc != ZOK)
    return zklock__zk_err(op->void_rc) == ZKLOCK_ECONNLOSS ? ZKLOCK_ECONNLOSS
                                                           : ZKLOCK_EAUTH;
  return ZKLOCK_OK;
}

/* Mutex held: a new session, connected and authenticated. */
static int open_session(zklock_client *c) {
  int rc = start_session(c);
  if (rc == ZKLOCK_OK) {
    zklock__op op;
    zklock__op_init(&op, c);
    rc = await_session(c, &op);
    zklock__op_destroy(&op);
  }
  return rc;
}

/* Mutex held; drops it while the handle closes (its threads must be able to
 * take the mutex to deliver the last completions). */
static void end_session(zklock_client *c) {
  zhandle_t *zh = c->zh;
  c->zh = NULL;
  if (!zh)
    return;
  pthread_mutex_unlock(&c->mu);
  zookeeper_close(zh);
  pthread_mutex_lock(&c->mu);
}

static int copy_acl(zklock_client *c, const struct ACL_vector *acl) {
  if (!acl)
    return ZKLOCK_OK;
  if (acl->count <= 0 || !acl->data)
    return ZKLOCK_EINVAL;
  c->acl.data = calloc((size_t)acl->count, sizeof(struct ACL));
  if (!c->acl.data)
    return ZKLOCK_ENOMEM;
  c->acl_custom = 1;
  for (int i = 0; i < acl->count; i++) {
    const struct ACL *a = &acl->data[i];
    if (!a->id.scheme || !a->id.id)
      return ZKLOCK_EINVAL;
    c->acl.data[i].perms = a->perms;
    c->acl.data[i].id.scheme = strdup(a->id.scheme);
    c->acl.data[i].id.id = strdup(a->id.id);
    c->acl.count = i + 1;
    if (!c->acl.data[i].id.scheme || !c->acl.data[i].id.id)
      return ZKLOCK_ENOMEM;
  }
  return ZKLOCK_OK;
}

static int auth_valid(const char *auth) {
  const char *colon = strchr(auth, ':');
  return colon && colon != auth && strlen(auth) < 1024;
}

static void client_free(zklock_client *c) {
  while (c->bgdel) {
    zklock__bgdel *b = c->bgdel;
    c->bgdel = b->next;
    free(b);
  }
  for (int i = 0; i < c->acl.count; i++) {
    free(c->acl.data[i].id.scheme);
    free(c->acl.data[i].id.id);
  }
  free(c->acl.data);
  if (c->auth) {
    /* scrub the password from memory we hand back */
    memset(c->auth, 0, strlen(c->auth));
    free(c->auth);
  }
  zklock__tls_free(c);
  free(c->hosts);
  free(c->eng.heap);
  if (c->evfd >= 0)
    close(c->evfd);
  pthread_cond_destroy(&c->svc_cond);
  pthread_cond_destroy(&c->cond);
  pthread_mutex_destroy(&c->mu);
  c->magic = ZKLOCK__MAGIC_DEAD;
  free(c);
}

int zklock_client_open(const char *hosts, const zklock_client_opts *opts,
                       zklock_client **out) {
  if (out)
    *out = NULL;
  if (!hosts || !*hosts || !out)
    return ZKLOCK_EINVAL;
  zklock_client_opts o = {0};
  if (opts)
    o = *opts;
  /* 0 means the default; anything else out of range fails at once rather
   * than after a connect timeout that cannot succeed (see zklock.h). */
  if ((o.session_timeout_ms != 0 &&
       (o.session_timeout_ms < ZKLOCK_SESSION_TIMEOUT_MIN_MS ||
        o.session_timeout_ms > ZKLOCK_SESSION_TIMEOUT_MAX_MS)) ||
      o.connect_timeout_ms < 0 ||
      o.connect_timeout_ms > ZKLOCK_CONNECT_TIMEOUT_MAX_MS ||
      (o.auth && !auth_valid(o.auth)) ||
      (o.owner_text && strlen(o.owner_text) > 256) ||
      (o.dispatch != ZKLOCK_DISPATCH_THREAD &&
       o.dispatch != ZKLOCK_DISPATCH_LOOP) ||
      (o.await_release != 0 && o.await_release != 1) ||
      (o.compat != ZKLOCK_COMPAT_NATIVE && o.compat != ZKLOCK_COMPAT_CURATOR &&
       o.compat != ZKLOCK_COMPAT_KAZOO))
    return ZKLOCK_EINVAL;

  zklock_client *c = calloc(1, sizeof *c);
  if (!c)
    return ZKLOCK_ENOMEM;
  c->magic = ZKLOCK__MAGIC_CLIENT;
  pthread_mutex_init(&c->mu, NULL);
  cond_init_mono(&c->cond);
  cond_init_mono(&c->svc_cond);
  c->evfd = -1;
  ZKLOCK__CBQ_INIT(&c->svcq);
  ZKLOCK__CBQ_INIT(&c->loopq);
  c->dispatch = o.dispatch;
  c->await_release = o.await_release;
  c->compat = o.compat;
  c->ops.next = c->ops.prev = &c->ops;
  c->held.next = c->held.prev = &c->held;
  c->refs = 1;
  c->session_timeout_ms = o.session_timeout_ms ? o.session_timeout_ms : 10000;
  c->connect_timeout_ms = o.connect_timeout_ms ? o.connect_timeout_ms : 15000;
  c->on_session = o.on_session;
  c->on_lock = o.on_lock;
  c->cb_arg = o.cb_arg;
  c->log = o.log;
  c->hosts = strdup(hosts);
  c->auth = o.auth ? strdup(o.auth) : NULL;
  /* With credentials and no ACL given: creator full rights, world
   * read-only (so anyone can still list the queue). */
  struct ACL protect[2] = {{ZOO_PERM_ALL, ZOO_AUTH_IDS},
                           {ZOO_PERM_READ, ZOO_ANYONE_ID_UNSAFE}};
  struct ACL_vector protect_acl = {2, protect};
  const struct ACL_vector *acl = o.acl ? o.acl : o.auth ? &protect_acl : NULL;
  int rc =
      (!c->hosts || (o.auth && !c->auth)) ? ZKLOCK_ENOMEM : copy_acl(c, acl);
  if (!rc)
    rc = zklock__tls_setup(c, &o);
  if (!rc && c->dispatch == ZKLOCK_DISPATCH_LOOP &&
      (c->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
    rc = ZKLOCK_ENOMEM;
  if (rc) {
    client_free(c);
    return rc;
  }
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  snprintf(c->owner, sizeof c->owner, "host=%s\npid=%ld\n%s%s%s", host,
           (long)getpid(), o.owner_text ? "user=" : "",
           o.owner_text ? o.owner_text : "", o.owner_text ? "\n" : "");
  /* Newlines in the owner text would forge fields; flatten them. */
  for (char *p = strstr(c->owner, "user="); p && *p; p++)
    if (*p == '\n' && p[1] != '\0')
      *p = ' ';

  pthread_mutex_lock(&c->mu);
  rc = open_session(c);
  if (rc == ZKLOCK_OK) {
    if (pthread_create(&c->svc, NULL, svc_main, c) == 0)
      c->svc_running = 1;
    else
      rc = ZKLOCK_ENOMEM;
  }
  if (rc != ZKLOCK_OK) {
    end_session(c);
    pthread_mutex_unlock(&c->mu);
    client_free(c);
    return rc;
  }
  pthread_mutex_unlock(&c->mu);
  *out = c;
  return ZKLOCK_OK;
}

int zklock__on_cb_thread(const zklock_client *c) {
  if (c->svc_running && pthread_equal(c->svc, pthread_self()))
    return 1;
  return c->cb_thread_known && pthread_equal(c->cb_thread, pthread_self());
}

void zklock__want_reopen(zklock_client *c) {
  if (c->closed || c->reopen_wanted || c->reopening)
    return;
  c->reopen_wanted = 1;
  zklock__svc_kick(c);
}

/* Service thread, mutex held: replaces a dead session once every blocking
 * one-shot call has left the old handle (they all end promptly). */
static void reopen(zklock_client *c, zklock__cbq *q) {
  c->reopen_wanted = 0;
  if (c->closed || !zklock__session_dead(c))
    return;
  c->reopening = 1;
  while (c->users > 0 && !c->closed)
    pthread_cond_wait(&c->cond, &c->mu);
  for (zklock__held *h = c->held.next; h != &c->held; h = h->next)
    zklock__held_set(c, h, ZKLOCK_LOCK_LOST, q); /* if no event said so */
  end_session(c);
  if (!c->closed && start_session(c) == ZKLOCK_OK && c->auth)
    zoo_add_auth(c->zh, "digest", c->auth, (int)strlen(c->auth), NULL, NULL);
  if (!c->zh)
    c->zstate = ZKLOCK_SESSION_EXPIRED; /* waiting attempts retry it */
  c->reopening = 0;
  pthread_cond_broadcast(&c->cond);
}

/* The library's own thread: lock timeouts, session replacement and
 * callbacks whose result was known at once (never run inside the call
 * that produced them). */
static void *svc_main(void *arg) {
  zklock_client *c = arg;
  pthread_mutex_lock(&c->mu);
  while (!c->svc_stop) {
    zklock__cbq q;
    ZKLOCK__CBQ_INIT(&q);
    if (c->reopen_wanted)
      reopen(c, &q);
    int64_t next = zklock__engine_timers(c, &q);
    if (c->svcq.head) {
      *q.tail = c->svcq.head;
      q.tail = c->svcq.tail;
      ZKLOCK__CBQ_INIT(&c->svcq);
    }
    if (q.head) {
      pthread_mutex_unlock(&c->mu);
      zklock__cb_flush(c, &q);
      pthread_mutex_lock(&c->mu);
      continue;
    }
    if (c->svc_stop || c->reopen_wanted)
      continue;
    struct timespec ts;
    if (next < 0) {
      pthread_cond_wait(&c->svc_cond, &c->mu);
    } else {
      ts.tv_sec = next / 1000;
      ts.tv_nsec = (next % 1000) * 1000000;
      pthread_cond_timedwait(&c->svc_cond, &c->mu, &ts);
    }
  }
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

int zklock__enter(zklock_client *c, zhandle_t **zh, int reopen_ok) {
  if (!c || c->magic != ZKLOCK__MAGIC_CLIENT)
    return ZKLOCK_EINVAL;
  pthread_mutex_lock(&c->mu);
  int rc = ZKLOCK_OK;
  int64_t deadline = zklock__now_ms() + c->connect_timeout_ms;
  for (;;) {
    if (c->closed) {
      rc = ZKLOCK_ECLOSED;
      break;
    }
    if (zklock__on_cb_thread(c)) {
      rc = ZKLOCK_EDEADLK;
      break;
    }
    /* The handle may know of the expiry before its event reaches us. */
    if (!c->reopening && c->zh && !zklock__session_dead(c) &&
        zoo_state(c->zh) == ZOO_EXPIRED_SESSION_STATE)
      zklock__session_dead_locked(c);
    int dead = zklock__session_dead(c) || c->reopening || c->reopen_wanted;
    if (!dead)
      break;
    if (!reopen_ok) {
      rc = ZKLOCK_ELOST;
      break;
    }
    /* The service thread replaces it; wait for the new session. */
    zklock__want_reopen(c);
    struct timespec ts = {.tv_sec = deadline / 1000,
                          .tv_nsec = (deadline % 1000) * 1000000};
    if (pthread_cond_timedwait(&c->cond, &c->mu, &ts) == ETIMEDOUT) {
      rc = ZKLOCK_ECONNLOSS;
      break;
    }
  }
  if (rc == ZKLOCK_OK && !c->zh)
    rc = ZKLOCK_ELOST;
  if (rc == ZKLOCK_OK) {
    c->users++;
    *zh = c->zh;
  }
  pthread_mutex_unlock(&c->mu);
  return rc;
}

void zklock__session_dead_locked(zklock_client *c) {
  if (!c->closed && c->zstate != ZKLOCK_SESSION_AUTH_FAILED)
    c->zstate = ZKLOCK_SESSION_EXPIRED;
}

void zklock__leave(zklock_client *c) {
  pthread_mutex_lock(&c->mu);
  if (--c->users == 0)
    pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->mu);
}

void zklock__client_ref(zklock_client *c) {
  pthread_mutex_lock(&c->mu);
  c->refs++;
  pthread_mutex_unlock(&c->mu);
}

void zklock__client_unref(zklock_client *c) {
  pthread_mutex_lock(&c->mu);
  int last = --c->refs == 0;
  pthread_mutex_unlock(&c->mu);
  if (last)
    client_free(c);
}

/* The close barrier's answer and the closer each mark it done; whichever
 * comes second frees it. The completion never touches the client: once
 * the closer gave up waiting, the client may be gone. */
static void barrier_done(int rc, const char *value, const void *data) {
  (void)rc;
  (void)value;
  int *done = (int *)data;
  if (__atomic_exchange_n(done, 1, __ATOMIC_ACQ_REL))
    free(done);
}

/* Mutex held. Waits (bounded by the session timeout) until every request
 * sent before now has its answer. */
static void barrier(zklock_client *c) {
  if (!c->zh || zklock__session_dead(c))
    return;
  int *done = calloc(1, sizeof *done);
  if (!done)
    return;
  if (zoo_async(c->zh, "/", barrier_done, done) != ZOK) {
    free(done);
    return;
  }
  int64_t deadline = zklock__now_ms() + c->session_timeout_ms;
  pthread_mutex_unlock(&c->mu);
  while (!__atomic_load_n(done, __ATOMIC_ACQUIRE) &&
         zklock__now_ms() < deadline)
    usleep(1000);
  pthread_mutex_lock(&c->mu);
  if (__atomic_exchange_n(done, 1, __ATOMIC_ACQ_REL))
    free(done);
}

void zklock_client_close(zklock_client *c) {
  if (!c || c->magic != ZKLOCK__MAGIC_CLIENT)
    return;
  pthread_mutex_lock(&c->mu);
  /* From a callback (completion or service thread, or a loop's dispatch
   * with more callbacks of the batch still to run) a close is ignored:
   * the client must outlive the callback that is running. */
  if (c->closed || zklock__on_cb_thread(c) ||
      (c->dispatching && pthread_equal(c->dispatcher, pthread_self()))) {
    pthread_mutex_unlock(&c->mu);
    return;
  }
  c->closed = 1;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  /* every pending call ends with ECLOSED, exactly once */
  zklock__engine_abort(c, ZKLOCK_ECLOSED, &q);
  wake_all(c);
  while (c->users > 0 || c->reopening)
    pthread_cond_wait(&c->cond, &c->mu);
  c->svc_stop = 1;
  pthread_cond_signal(&c->svc_cond);
  int joined = c->svc_running;
  pthread_mutex_unlock(&c->mu);
  if (joined)
    pthread_join(c->svc, NULL);
  pthread_mutex_lock(&c->mu);
  c->svc_running = 0;
  /* Pipelined deletes and every other request still out are answered
   * before the session ends: a barrier request queues behind them. It
   * keeps releases from being cut off by the close, and the C client
   * from dropping answers (with their memory) it never delivers. */
  barrier(c);
  end_session(c);
  c->zstate = ZKLOCK_SESSION_CLOSED;
  for (zklock__held *h = c->held.next; h != &c->held; h = h->next)
    h->state = ZKLOCK_LOCK_LOST;
  /* Callbacks still queued for the loop and the service thread run here:
   * nobody may dispatch a closed client. */
  zklock__cb *rest = c->loopq.head;
  ZKLOCK__CBQ_INIT(&c->loopq);
  if (c->svcq.head) {
    *c->svcq.tail = rest;
    rest = c->svcq.head;
    ZKLOCK__CBQ_INIT(&c->svcq);
  }
  if (c->evfd >= 0)
    close(c->evfd);
  c->evfd = -1;
  pthread_mutex_unlock(&c->mu);
  cb_run(c, rest);
  zklock__cb_flush(c, &q);
  zklock__client_unref(c);
}

zhandle_t *zklock_client_zhandle(zklock_client *c) {
  if (!c || c->magic != ZKLOCK__MAGIC_CLIENT)
    return NULL;
  pthread_mutex_lock(&c->mu);
  zhandle_t *zh = c->closed ? NULL : c->zh;
  pthread_mutex_unlock(&c->mu);
  return zh;
}

zklock_session_state zklock_client_state(const zklock_client *c) {
  if (!c || c->magic != ZKLOCK__MAGIC_CLIENT)
    return ZKLOCK_SESSION_CLOSED;
  zklock_client *m = (zklock_client *)c;
  pthread_mutex_lock(&m->mu);
  int st = m->zstate;
  pthread_mutex_unlock(&m->mu);
  return (zklock_session_state)st;
}

int64_t zklock_client_session_id(const zklock_client *c) {
  if (!c || c->magic != ZKLOCK__MAGIC_CLIENT)
    return 0;
  zklock_client *m = (zklock_client *)c;
  pthread_mutex_lock(&m->mu);
  int64_t sid = m->closed ? 0 : m->sid;
  pthread_mutex_unlock(&m->mu);
  return sid;
}

const struct ACL_vector *zklock__acl(zklock_client *c) {
  return c->acl_custom ? &c->acl : &ZOO_OPEN_ACL_UNSAFE;
}
