/* Client: one ZooKeeper session, watcher dispatch, session state, and the
 * background deletes that keep timeouts and failures from leaving orphans. */
#include "zklock_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A node to delete once the connection is back; with a guid, a lost create
 * to find among node's children (node is then the lock path). */
typedef struct zklock__bgdel {
  struct zklock__bgdel *next;
  zklock_client *c;
  uint64_t gen; /* conn_gen when last sent */
  char guid[ZKLOCK__GUID_LEN + 1];
  char node[ZKLOCK__NODE_MAX];
} zklock__bgdel;

/* An own-node watch being armed for a holder. */
typedef struct {
  zklock_client *c;
  char node[ZKLOCK__NODE_MAX];
} zklock__ownwatch;

/* A lock-state change reported once the mutex is dropped. */
typedef struct zklock__notice {
  struct zklock__notice *next;
  int state;
  char *path;
  char node[];
} zklock__notice;

static void drop_log(const char *message) { (void)message; }

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

static int session_dead(const zklock_client *c) {
  return c->zstate == ZKLOCK_SESSION_EXPIRED ||
         c->zstate == ZKLOCK_SESSION_AUTH_FAILED;
}

int zklock__wait_connected(zklock_client *c, zklock__op *op, uint64_t gen,
                           int64_t deadline) {
  /* The CONNECTING event may trail the failed completion: while the state
   * still reads CONNECTED at the old generation, retry after a pause
   * rather than spin. */
  int64_t pause_until = zklock__now_ms() + 100;
  for (;;) {
    if (c->closed)
      return ZKLOCK_ECLOSED;
    if (op->cancel && *op->cancel)
      return ZKLOCK_ECANCELED;
    if (session_dead(c))
      return ZKLOCK_ELOST;
    int connected = c->zstate == ZKLOCK_SESSION_CONNECTED;
    if (connected && c->conn_gen != gen)
      return ZKLOCK_OK;
    int64_t now = zklock__now_ms();
    if (deadline >= 0 && now >= deadline)
      return ZKLOCK_ETIMEDOUT;
    if (connected && now >= pause_until)
      return ZKLOCK_OK;
    int64_t until = connected ? pause_until : deadline;
    if (deadline >= 0 && (until < 0 || deadline < until))
      until = deadline;
    zklock__op_wait(c, op, until);
  }
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
  if (c->closed || session_dead(c) || !c->zh) {
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
    zklock__name nm;
    for (int i = 0; rc == ZOK && sv && i < sv->count; i++) {
      if (zklock__name_parse(sv->data[i], &nm) == 0 &&
          strcmp(nm.guid, b->guid) == 0) {
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

/* Mutex held. */
static void bg_send(zklock__bgdel *b) {
  zklock_client *c = b->c;
  b->gen = c->conn_gen;
  int zrc;
  if (b->guid[0]) {
    /* sync first: a create that just committed must show in the list */
    zoo_async(c->zh, b->node, zklock__sync_done, NULL);
    zrc = zoo_aget_children(c->zh, b->node, 0, bg_children_done, b);
  } else {
    zrc = zoo_adelete(c->zh, b->node, -1, bg_delete_done, b);
  }
  if (zrc != ZOK)
    free(b); /* invalid state: the session is gone */
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
    if (session_dead(c))
      free(b);
    else
      bg_send(b);
    b = next;
  }
}

int zklock__delete_node(zklock_client *c, zhandle_t *zh, zklock__op *op,
                        const char *node) {
  uint64_t gen = c->conn_gen;
  op->pending++;
  int zrc = zoo_adelete(zh, node, -1, zklock__void_done, op);
  if (zrc != ZOK) {
    op->pending--;
    return zrc;
  }
  zklock__op_wait_pending(c, op);
  if (conn_lost(op->void_rc)) {
    /* retry on the next reconnect (sooner if it already happened) */
    zklock__bgdel *b = bg_new(c, node, NULL);
    if (b) {
      b->gen = gen;
      bg_retry(c, b);
    }
  }
  return op->void_rc;
}

/* ---- held locks ---- */

static void own_watch_done(int rc, const char *v, int vlen,
                           const struct Stat *st, const void *data);

void zklock__held_watch(zklock_client *c, zhandle_t *zh, zklock__held *h) {
  zklock__ownwatch *w = malloc(sizeof *w);
  if (!w)
    return;
  w->c = c;
  snprintf(w->node, sizeof w->node, "%s", h->node);
  /* get, not exists: exists on a missing node would leave a watch for its
   * creation behind. */
  if (zoo_aget(zh, h->node, 1, own_watch_done, w) != ZOK)
    free(w);
}

void zklock__held_link(zklock_client *c, zhandle_t *zh, zklock__held *h) {
  h->next = c->held.next;
  h->prev = &c->held;
  c->held.next->prev = h;
  c->held.next = h;
  h->linked = 1;
  h->state = ZKLOCK_LOCK_HELD;
  h->sid = c->sid;
  zklock__held_watch(c, zh, h);
}

void zklock__held_unlink(zklock__held *h) {
  if (!h->linked)
    return;
  h->prev->next = h->next;
  h->next->prev = h->prev;
  h->next = h->prev = NULL;
  h->linked = 0;
}

/* Mutex held. Sets the state of h and queues a notice for on_lock. */
static void held_set(zklock_client *c, zklock__held *h, int state,
                     zklock__notice **notices) {
  if (h->state == state || h->state == ZKLOCK_LOCK_LOST)
    return;
  h->state = state;
  if (!c->on_lock)
    return;
  size_t len = strlen(h->node) + 1;
  zklock__notice *n = malloc(sizeof *n + len);
  if (!n)
    return;
  memcpy(n->node, h->node, len);
  n->path = strdup(h->path);
  n->state = state;
  n->next = *notices;
  *notices = n;
}

/* Mutex NOT held: runs the callbacks queued while it was. */
static void notify(zklock_client *c, zklock__notice *notices, int session,
                   int session_state) {
  if (session && c->on_session)
    c->on_session(c, (zklock_session_state)session_state, c->cb_arg);
  while (notices) {
    zklock__notice *n = notices;
    notices = n->next;
    if (c->on_lock)
      c->on_lock(c, n->path ? n->path : "", n->node,
                 (zklock_lock_state)n->state, c->cb_arg);
    free(n->path);
    free(n);
  }
}

static void own_watch_done(int rc, const char *v, int vlen,
                           const struct Stat *st, const void *data) {
  (void)v;
  (void)vlen;
  (void)st;
  zklock__ownwatch *w = (zklock__ownwatch *)data;
  zklock_client *c = w->c;
  zklock__notice *notices = NULL;
  pthread_mutex_lock(&c->mu);
  if (rc == ZNONODE) {
    for (zklock__held *h = c->held.next; h != &c->held; h = h->next)
      if (strcmp(h->node, w->node) == 0)
        held_set(c, h, ZKLOCK_LOCK_LOST, &notices);
  }
  pthread_mutex_unlock(&c->mu);
  free(w);
  notify(c, notices, 0, 0);
}

/* ---- watcher ---- */

static void watcher(zhandle_t *zh, int type, int state, const char *path,
                    void *ctx) {
  zklock_client *c = (zklock_client *)ctx;
  zklock__notice *notices = NULL;
  int session = 0, new_state = 0;
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
    int held_state = -1;
    if (state == ZOO_CONNECTED_STATE) {
      new_state = ZKLOCK_SESSION_CONNECTED;
      c->conn_gen++;
      const clientid_t *id = zoo_client_id(zh);
      c->sid = id ? id->client_id : 0;
      held_state = ZKLOCK_LOCK_HELD;
    } else if (state == ZOO_EXPIRED_SESSION_STATE) {
      new_state = ZKLOCK_SESSION_EXPIRED;
      held_state = ZKLOCK_LOCK_LOST;
    } else if (state == ZOO_AUTH_FAILED_STATE) {
      new_state = ZKLOCK_SESSION_AUTH_FAILED;
      held_state = ZKLOCK_LOCK_LOST;
    } else {
      new_state = ZKLOCK_SESSION_CONNECTING;
      held_state = ZKLOCK_LOCK_UNCERTAIN;
    }
    session = new_state != c->zstate;
    c->zstate = new_state;
    for (zklock__held *h = c->held.next; h != &c->held; h = h->next)
      held_set(c, h, held_state, &notices);
    if (new_state == ZKLOCK_SESSION_CONNECTED)
      bg_flush(c);
    wake_all(c);
  } else if (path) {
    for (zklock__op *op = c->ops.next; op != &c->ops; op = op->next) {
      if (op->watch_path && strcmp(op->watch_path, path) == 0) {
        op->watch_event = type;
        pthread_cond_signal(&op->cond);
      }
    }
    for (zklock__held *h = c->held.next; h != &c->held; h = h->next) {
      if (strcmp(h->node, path) != 0)
        continue;
      if (type == ZOO_DELETED_EVENT)
        held_set(c, h, ZKLOCK_LOCK_LOST, &notices);
      else if (type == ZOO_CHANGED_EVENT)
        zklock__held_watch(c, zh, h); /* our downgrade consumed it */
    }
  }
  pthread_mutex_unlock(&c->mu);
  notify(c, notices, session, new_state);
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
  zhandle_t *zh = zookeeper_init2(c->hosts, watcher, c->session_timeout_ms,
                                  NULL, c, 0, c->log ? c->log : drop_log);
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
      zklock__set_zk_err(ZCONNECTIONLOSS);
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
  free(c->hosts);
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
      (o.owner_text && strlen(o.owner_text) > 256))
    return ZKLOCK_EINVAL;

  zklock_client *c = calloc(1, sizeof *c);
  if (!c)
    return ZKLOCK_ENOMEM;
  c->magic = ZKLOCK__MAGIC_CLIENT;
  pthread_mutex_init(&c->mu, NULL);
  cond_init_mono(&c->cond);
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

static int on_cb_thread(const zklock_client *c) {
  return c->cb_thread_known && pthread_equal(c->cb_thread, pthread_self());
}

int zklock__enter(zklock_client *c, zhandle_t **zh, int reopen) {
  if (!c || c->magic != ZKLOCK__MAGIC_CLIENT)
    return ZKLOCK_EINVAL;
  pthread_mutex_lock(&c->mu);
  int rc = ZKLOCK_OK;
  zklock__notice *notices = NULL;
  for (;;) {
    if (c->closed) {
      rc = ZKLOCK_ECLOSED;
      break;
    }
    if (on_cb_thread(c)) {
      rc = ZKLOCK_EDEADLK;
      break;
    }
    if (c->reopening) {
      pthread_cond_wait(&c->cond, &c->mu);
      continue;
    }
    /* The handle may know of the expiry before its event reaches us. */
    int dead = session_dead(c) ||
               (c->zh && zoo_state(c->zh) == ZOO_EXPIRED_SESSION_STATE);
    if (!dead || !reopen)
      break;
    /* Replace the expired session once every thread has left the old
     * handle (they all return ELOST promptly). */
    c->reopening = 1;
    while (c->users > 0)
      pthread_cond_wait(&c->cond, &c->mu);
    for (zklock__held *h = c->held.next; h != &c->held; h = h->next)
      held_set(c, h, ZKLOCK_LOCK_LOST, &notices); /* if no event said so */
    end_session(c);
    rc = open_session(c);
    c->reopening = 0;
    pthread_cond_broadcast(&c->cond);
    if (rc != ZKLOCK_OK && c->zstate == ZKLOCK_SESSION_CONNECTING)
      c->zstate = ZKLOCK_SESSION_EXPIRED; /* retry the reopen next time */
    break;
  }
  if (rc == ZKLOCK_OK && !c->zh)
    rc = ZKLOCK_ELOST;
  if (rc == ZKLOCK_OK) {
    c->users++;
    *zh = c->zh;
  }
  pthread_mutex_unlock(&c->mu);
  /* After the reopen is over, so a callback may call zklock again. */
  notify(c, notices, 0, 0);
  return rc;
}

void zklock__session_dead(zklock_client *c) {
  pthread_mutex_lock(&c->mu);
  if (!c->closed && c->zstate != ZKLOCK_SESSION_AUTH_FAILED)
    c->zstate = ZKLOCK_SESSION_EXPIRED;
  pthread_mutex_unlock(&c->mu);
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

void zklock_client_close(zklock_client *c) {
  if (!c || c->magic != ZKLOCK__MAGIC_CLIENT)
    return;
  pthread_mutex_lock(&c->mu);
  if (c->closed || on_cb_thread(c)) {
    pthread_mutex_unlock(&c->mu);
    return;
  }
  c->closed = 1;
  wake_all(c);
  while (c->users > 0 || c->reopening)
    pthread_cond_wait(&c->cond, &c->mu);
  end_session(c);
  c->zstate = ZKLOCK_SESSION_CLOSED;
  for (zklock__held *h = c->held.next; h != &c->held; h = h->next)
    h->state = ZKLOCK_LOCK_LOST;
  pthread_mutex_unlock(&c->mu);
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
