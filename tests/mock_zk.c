/* The fake ZooKeeper behind mock_zk.h. One lock (mu) guards the tree, the
 * handles and their queues; callbacks always run with it released, on the
 * handle's own thread, as with the real client. */
#include "mock_zk.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zookeeper/proto.h>

/* The wrapped calls: the linker sends the library's calls here. */
zhandle_t *__wrap_zookeeper_init2(const char *host, watcher_fn fn,
                                  int recv_timeout, const clientid_t *clientid,
                                  void *context, int flags,
                                  log_callback_fn log_callback);
int __wrap_zookeeper_close(zhandle_t *zh);
const clientid_t *__wrap_zoo_client_id(zhandle_t *zh);
int __wrap_zoo_add_auth(zhandle_t *zh, const char *scheme, const char *cert,
                        int certLen, void_completion_t completion,
                        const void *data);
int __wrap_zoo_acreate2(zhandle_t *zh, const char *path, const char *value,
                        int valuelen, const struct ACL_vector *acl, int mode,
                        string_stat_completion_t completion, const void *data);
int __wrap_zoo_aget_children(zhandle_t *zh, const char *path, int watch,
                             strings_completion_t completion, const void *data);
int __wrap_zoo_aget(zhandle_t *zh, const char *path, int watch,
                    data_completion_t completion, const void *data);
int __wrap_zoo_adelete(zhandle_t *zh, const char *path, int version,
                       void_completion_t completion, const void *data);
int __wrap_zoo_aset(zhandle_t *zh, const char *path, const char *buffer,
                    int buflen, int version, stat_completion_t completion,
                    const void *data);
int __wrap_zoo_amulti(zhandle_t *zh, int count, const zoo_op_t *ops,
                      zoo_op_result_t *results, void_completion_t completion,
                      const void *data);
int __wrap_zoo_async(zhandle_t *zh, const char *path,
                     string_completion_t completion, const void *data);
int __wrap_zoo_state(zhandle_t *zh);
const void *__wrap_zoo_get_context(zhandle_t *zh);
int __wrap_zoo_set_servers_resolution_delay(zhandle_t *zh, int delay_ms);

#define MZ_MAGIC 0x6d7a6862u /* "mzhb" */
#define MZ_MULTI_MAX 64

typedef struct mz_node {
  struct mz_node *next;
  char *path;
  char *data;
  int datalen;
  int mode;
  struct Stat st;
} mz_node;

typedef struct mz_watch {
  struct mz_watch *next;
  struct mz_handle *h;
  char *path;
} mz_watch;

enum {
  IT_VOID,
  IT_STAT,
  IT_DATA,
  IT_STRINGS,
  IT_STRING_STAT,
  IT_STRING,
  IT_MULTI,
  IT_EVENT,
  IT_RECONNECT /* timer: reconnect if still disconnected */
};

typedef struct mz_item {
  struct mz_item *next;
  int kind;
  int rc;
  int64_t due; /* timers only */
  union {
    void_completion_t v;
    stat_completion_t s;
    data_completion_t d;
    strings_completion_t sv;
    string_stat_completion_t ss;
    string_completion_t str;
  } fn;
  const void *data;
  struct Stat st;
  char *str; /* created path, node data, or event path */
  int len;
  struct String_vector vec;
  int type, state; /* event */
  zoo_op_result_t *results;
  int count;
  int errs[MZ_MULTI_MAX];
} mz_item;

typedef struct mz_handle {
  unsigned magic;
  struct mz_handle *next;
  watcher_fn fn;
  void *ctx;
  clientid_t id;
  int state; /* what the "server" thinks; the client learns by events */
  int closing;
  int first_delivered;
  pthread_t thread;
  pthread_cond_t cond;
  mz_item *head, *tail; /* to deliver, in order */
  mz_item *parked;      /* watch events held while disconnected */
  mz_item *timers;
} mz_handle;

typedef struct mz_fault_rec {
  struct mz_fault_rec *next;
  mz_op op;
  mz_fault_kind kind;
  int zrc;
} mz_fault_rec;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static mz_node *nodes;
static mz_watch *watches;
static mz_handle *handles;
static mz_fault_rec *faults;
static int64_t zxid = (int64_t)1 << 32; /* epoch 1, like a real ensemble */
static int64_t next_sid = 0x1000000000000;
static int inits;
static int reconnect_ms = 20;
static int no_containers;
static int event_before_init;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *xcalloc(size_t n, size_t sz) {
  void *p = calloc(n, sz);
  if (!p)
    abort(); /* a test fake: no point limping on */
  return p;
}

static char *xstrdup(const char *s) {
  char *p = strdup(s);
  if (!p)
    abort();
  return p;
}

/* ---- tree ---- */

static mz_node *find(const char *path) {
  for (mz_node *n = nodes; n; n = n->next)
    if (strcmp(n->path, path) == 0)
      return n;
  return NULL;
}

/* Parent path of path into buf ("/" for top-level nodes). */
static void parent_of(const char *path, char *buf, size_t len) {
  const char *slash = strrchr(path, '/');
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  if (n >= len)
    n = len - 1;
  memcpy(buf, path, n);
  buf[n] = '\0';
}

static int is_child(const char *parent, const char *path) {
  size_t pl = strcmp(parent, "/") == 0 ? 0 : strlen(parent);
  return strncmp(path, parent, pl) == 0 && path[pl] == '/' && path[pl + 1] &&
         !strchr(path + pl + 1, '/');
}

static int num_children(const char *path) {
  int k = 0;
  for (mz_node *n = nodes; n; n = n->next)
    if (is_child(path, n->path))
      k++;
  return k;
}

static void node_free(mz_node *n) {
  free(n->path);
  free(n->data);
  free(n);
}

static void enqueue(mz_handle *h, mz_item *it);

static void fire_watches(const char *path, int type) {
  for (mz_watch **pw = &watches; *pw;) {
    mz_watch *w = *pw;
    if (strcmp(w->path, path) != 0) {
      pw = &w->next;
      continue;
    }
    *pw = w->next;
    mz_item *it = xcalloc(1, sizeof *it);
    it->kind = IT_EVENT;
    it->type = type;
    it->state = ZOO_CONNECTED_STATE;
    it->str = xstrdup(path);
    if (w->h->state == ZOO_CONNECTED_STATE) {
      enqueue(w->h, it);
    } else {
      /* a real server re-fires it when the session reconnects */
      it->next = w->h->parked;
      w->h->parked = it;
    }
    free(w->path);
    free(w);
  }
}

static void add_watch(mz_handle *h, const char *path) {
  for (mz_watch *w = watches; w; w = w->next)
    if (w->h == h && strcmp(w->path, path) == 0)
      return; /* one watch per path and session, as on the server */
  mz_watch *w = xcalloc(1, sizeof *w);
  w->h = h;
  w->path = xstrdup(path);
  w->next = watches;
  watches = w;
}

static void drop_watches(mz_handle *h) {
  for (mz_watch **pw = &watches; *pw;) {
    mz_watch *w = *pw;
    if (w->h == h) {
      *pw = w->next;
      free(w->path);
      free(w);
    } else {
      pw = &w->next;
    }
  }
}

static int is_container(int mode) { return mode == ZOO_CONTAINER; }
static int is_ephemeral(int mode) {
  return mode == ZOO_EPHEMERAL || mode == ZOO_EPHEMERAL_SEQUENTIAL;
}
static int is_sequential(int mode) {
  return mode == ZOO_PERSISTENT_SEQUENTIAL || mode == ZOO_EPHEMERAL_SEQUENTIAL;
}

/* Checks a create without applying it. */
static int create_check(const char *path, int mode) {
  if (!path || path[0] != '/')
    return ZBADARGUMENTS;
  if (is_container(mode) && no_containers)
    return ZUNIMPLEMENTED;
  char parent[1200];
  parent_of(path, parent, sizeof parent);
  mz_node *p = find(parent);
  if (!p)
    return ZNONODE;
  if (p->st.ephemeralOwner)
    return ZNOCHILDRENFOREPHEMERALS;
  if (!is_sequential(mode) && find(path))
    return ZNODEEXISTS;
  return ZOK;
}

static int create_apply(const char *path, const char *data, int datalen,
                        int mode, int64_t owner, mz_node **out) {
  int zrc = create_check(path, mode);
  if (zrc != ZOK)
    return zrc;
  char parent[1200];
  parent_of(path, parent, sizeof parent);
  mz_node *p = find(parent);
  mz_node *n = xcalloc(1, sizeof *n);
  size_t len = strlen(path) + 16;
  n->path = xcalloc(1, len);
  if (is_sequential(mode)) /* ZooKeeper: String.format("%010d", cversion) */
    snprintf(n->path, len, "%s%010d", path, p->st.cversion);
  else
    snprintf(n->path, len, "%s", path);
  if (find(n->path)) {
    node_free(n);
    return ZNODEEXISTS;
  }
  if (data && datalen > 0) {
    n->data = xcalloc(1, (size_t)datalen);
    memcpy(n->data, data, (size_t)datalen);
    n->datalen = datalen;
  }
  n->mode = mode;
  zxid++;
  n->st.czxid = n->st.mzxid = n->st.pzxid = zxid;
  n->st.ctime = n->st.mtime = (int64_t)time(NULL) * 1000;
  n->st.ephemeralOwner = is_ephemeral(mode) ? owner : 0;
  n->st.dataLength = n->datalen;
  /* the counter wraps like Java's int */
  p->st.cversion = (int32_t)((uint32_t)p->st.cversion + 1);
  p->st.pzxid = zxid;
  n->next = nodes;
  nodes = n;
  if (out)
    *out = n;
  return ZOK;
}

static int delete_check(const char *path, int version) {
  mz_node *n = find(path);
  if (!n)
    return ZNONODE;
  if (version != -1 && version != n->st.version)
    return ZBADVERSION;
  if (num_children(path) > 0)
    return ZNOTEMPTY;
  return ZOK;
}

static int delete_apply(const char *path, int version) {
  int zrc = delete_check(path, version);
  if (zrc != ZOK)
    return zrc;
  for (mz_node **pn = &nodes; *pn; pn = &(*pn)->next) {
    if (strcmp((*pn)->path, path) != 0)
      continue;
    mz_node *n = *pn;
    *pn = n->next;
    char parent[1200];
    parent_of(path, parent, sizeof parent);
    mz_node *p = find(parent);
    zxid++;
    if (p) {
      p->st.cversion = (int32_t)((uint32_t)p->st.cversion + 1);
      p->st.pzxid = zxid;
    }
    node_free(n);
    break;
  }
  fire_watches(path, ZOO_DELETED_EVENT);
  return ZOK;
}

static int set_check(const char *path, int version) {
  mz_node *n = find(path);
  if (!n)
    return ZNONODE;
  if (version != -1 && version != n->st.version)
    return ZBADVERSION;
  return ZOK;
}

static int set_apply(const char *path, const char *data, int datalen,
                     int version, struct Stat *st) {
  int zrc = set_check(path, version);
  if (zrc != ZOK)
    return zrc;
  mz_node *n = find(path);
  free(n->data);
  n->data = NULL;
  n->datalen = 0;
  if (data && datalen > 0) {
    n->data = xcalloc(1, (size_t)datalen);
    memcpy(n->data, data, (size_t)datalen);
    n->datalen = datalen;
  }
  n->st.version++;
  n->st.mzxid = ++zxid;
  n->st.dataLength = n->datalen;
  if (st)
    *st = n->st;
  fire_watches(path, ZOO_CHANGED_EVENT);
  return ZOK;
}

static void fill_stat(mz_node *n, struct Stat *st) {
  *st = n->st;
  st->numChildren = num_children(n->path);
}

/* Deletes the ephemeral nodes of a session, as the server does when it
 * ends. */
static void drop_ephemerals(int64_t sid) {
  for (;;) {
    mz_node *victim = NULL;
    for (mz_node *n = nodes; n && !victim; n = n->next)
      if (n->st.ephemeralOwner == sid)
        victim = n;
    if (!victim)
      return;
    char *path = xstrdup(victim->path);
    delete_apply(path, -1);
    free(path);
  }
}

/* ---- delivery ---- */

static void item_free(mz_item *it) {
  free(it->str);
  if (it->vec.data) {
    for (int i = 0; i < it->vec.count; i++)
      free(it->vec.data[i]);
    free(it->vec.data);
  }
  free(it);
}

static void enqueue(mz_handle *h, mz_item *it) {
  it->next = NULL;
  if (h->tail)
    h->tail->next = it;
  else
    h->head = it;
  h->tail = it;
  pthread_cond_broadcast(&h->cond);
}

static void session_event(mz_handle *h, int state) {
  mz_item *it = xcalloc(1, sizeof *it);
  it->kind = IT_EVENT;
  it->type = ZOO_SESSION_EVENT;
  it->state = state;
  enqueue(h, it);
}

static void deliver(mz_handle *h, mz_item *it) {
  zhandle_t *zh = (zhandle_t *)h;
  int ok = it->rc == ZOK;
  switch (it->kind) {
  case IT_VOID:
    it->fn.v(it->rc, it->data);
    break;
  case IT_STAT:
    it->fn.s(it->rc, ok ? &it->st : NULL, it->data);
    break;
  case IT_DATA:
    it->fn.d(it->rc, ok ? it->str : NULL, ok ? it->len : -1,
             ok ? &it->st : NULL, it->data);
    break;
  case IT_STRINGS:
    it->fn.sv(it->rc, ok ? &it->vec : NULL, it->data);
    break;
  case IT_STRING_STAT:
    it->fn.ss(it->rc, ok ? it->str : NULL, ok ? &it->st : NULL, it->data);
    break;
  case IT_STRING:
    it->fn.str(it->rc, ok ? it->str : NULL, it->data);
    break;
  case IT_MULTI:
    for (int i = 0; i < it->count; i++)
      it->results[i].err = it->rc == ZCONNECTIONLOSS || it->rc == ZCLOSING
                               ? it->rc
                               : it->errs[i];
    it->fn.v(it->rc, it->data);
    break;
  case IT_EVENT:
    h->fn(zh, it->type, it->state,
          it->type == ZOO_SESSION_EVENT ? NULL : it->str, h->ctx);
    break;
  }
}

static void reconnect(mz_handle *h) {
  if (h->state != ZOO_CONNECTING_STATE)
    return;
  h->state = ZOO_CONNECTED_STATE;
  session_event(h, ZOO_CONNECTED_STATE);
  /* parked events were pushed newest first */
  mz_item *rev = NULL;
  while (h->parked) {
    mz_item *it = h->parked;
    h->parked = it->next;
    it->next = rev;
    rev = it;
  }
  while (rev) {
    mz_item *it = rev;
    rev = it->next;
    enqueue(h, it);
  }
}

static void *completion_thread(void *arg) {
  mz_handle *h = arg;
  pthread_mutex_lock(&mu);
  for (;;) {
    int64_t now = now_ms(), next_due = -1;
    for (mz_item **pt = &h->timers; *pt;) {
      mz_item *t = *pt;
      if (t->due <= now) {
        *pt = t->next;
        reconnect(h);
        item_free(t);
      } else {
        if (next_due < 0 || t->due < next_due)
          next_due = t->due;
        pt = &t->next;
      }
    }
    mz_item *it = h->head;
    if (it) {
      h->head = it->next;
      if (!h->head)
        h->tail = NULL;
      pthread_mutex_unlock(&mu);
      deliver(h, it);
      item_free(it);
      pthread_mutex_lock(&mu);
      if (!h->first_delivered) {
        h->first_delivered = 1;
        pthread_cond_broadcast(&h->cond);
      }
      continue;
    }
    if (h->closing)
      break;
    if (next_due < 0) {
      pthread_cond_wait(&h->cond, &mu);
    } else {
      /* the handle's cond uses CLOCK_MONOTONIC */
      struct timespec ts = {.tv_sec = next_due / 1000,
                            .tv_nsec = (next_due % 1000) * 1000000};
      pthread_cond_timedwait(&h->cond, &mu, &ts);
    }
  }
  pthread_mutex_unlock(&mu);
  return NULL;
}

/* Connection drop: answers not yet delivered are lost, the client sees
 * CONNECTING, and a timer brings it back unless the test keeps it down. */
static void drop_conn(mz_handle *h, int schedule) {
  if (h->state != ZOO_CONNECTED_STATE)
    return;
  h->state = ZOO_CONNECTING_STATE;
  for (mz_item *it = h->head; it; it = it->next)
    if (it->kind != IT_EVENT)
      it->rc = ZCONNECTIONLOSS;
  session_event(h, ZOO_CONNECTING_STATE);
  if (schedule && reconnect_ms >= 0) {
    mz_item *t = xcalloc(1, sizeof *t);
    t->kind = IT_RECONNECT;
    t->due = now_ms() + reconnect_ms;
    t->next = h->timers;
    h->timers = t;
    pthread_cond_broadcast(&h->cond);
  }
}

static void drop_list(mz_item **list) {
  while (*list) {
    mz_item *it = *list;
    *list = it->next;
    item_free(it);
  }
}

static void expire(mz_handle *h) {
  if (h->state == ZOO_EXPIRED_SESSION_STATE)
    return;
  drop_conn(h, 0);
  drop_list(&h->timers);
  drop_list(&h->parked);
  drop_watches(h);
  drop_ephemerals(h->id.client_id);
  h->state = ZOO_EXPIRED_SESSION_STATE;
  session_event(h, ZOO_EXPIRED_SESSION_STATE);
}

/* ---- requests ---- */

static mz_handle *handle(zhandle_t *zh) {
  mz_handle *h = (mz_handle *)zh;
  for (mz_handle *x = handles; x; x = x->next)
    if (x == h && h->magic == MZ_MAGIC)
      return h;
  return NULL;
}

/* Common start of a request: mu held. Returns ZOK to go on, or the code
 * the call itself returns. */
static int begin(mz_handle *h) {
  if (!h || h->closing)
    return ZBADARGUMENTS;
  if (h->state == ZOO_EXPIRED_SESSION_STATE ||
      h->state == ZOO_AUTH_FAILED_STATE)
    return ZINVALIDSTATE;
  return ZOK;
}

/* The next armed fault for op, removed from the list; NULL if none. */
static mz_fault_rec *take_fault(mz_op op) {
  for (mz_fault_rec **pf = &faults; *pf; pf = &(*pf)->next) {
    if ((*pf)->op == op) {
      mz_fault_rec *f = *pf;
      *pf = f->next;
      return f;
    }
  }
  return NULL;
}

/* Decides how a request goes: 1 apply it, 0 not. Sets *rc_override to
 * the code to answer with instead of the real result (ZOK: none) and
 * *drop to a connection drop after queueing. */
static int plan(mz_handle *h, mz_op op, int *rc_override, int *drop) {
  *rc_override = ZOK;
  *drop = 0;
  if (h->state != ZOO_CONNECTED_STATE) {
    *rc_override = ZCONNECTIONLOSS; /* the connect attempt failed too */
    return 0;
  }
  mz_fault_rec *f = take_fault(op);
  if (!f)
    return 1;
  int apply = f->kind == MZ_LOSS_APPLIED;
  *rc_override = f->kind == MZ_ERROR ? f->zrc : ZCONNECTIONLOSS;
  *drop = f->kind != MZ_ERROR;
  free(f);
  return apply;
}

static void finish(mz_handle *h, mz_item *it, int rc_override, int drop) {
  if (rc_override != ZOK)
    it->rc = rc_override;
  enqueue(h, it);
  if (drop)
    drop_conn(h, 1);
}

/* One wrapped async call: takes mu; when the call itself succeeds (ZOK)
 * there is a new answer item of kind, and apply says whether the request
 * takes effect (faults may drop it). */
typedef struct {
  mz_handle *h;
  mz_item *it;
  int over, drop, apply;
} mz_req;

static int req_open(mz_req *r, zhandle_t *zh, int kind, mz_op op,
                    const void *data) {
  pthread_mutex_lock(&mu);
  r->h = handle(zh);
  r->it = NULL;
  int zrc = begin(r->h);
  if (zrc == ZOK) {
    r->it = xcalloc(1, sizeof *r->it);
    r->it->kind = kind;
    r->it->data = data;
    r->apply = plan(r->h, op, &r->over, &r->drop);
  }
  return zrc;
}

/* Queues the answer, if any, drops mu and returns the call's code. */
static int req_close(mz_req *r, int zrc) {
  if (r->it)
    finish(r->h, r->it, r->over, r->drop);
  pthread_mutex_unlock(&mu);
  return zrc;
}

zhandle_t *__wrap_zookeeper_init2(const char *host, watcher_fn fn,
                                  int recv_timeout, const clientid_t *clientid,
                                  void *context, int flags,
                                  log_callback_fn log_callback) {
  (void)recv_timeout;
  (void)clientid;
  (void)flags;
  (void)log_callback;
  if (!host || !*host) {
    errno = EINVAL;
    return NULL;
  }
  mz_handle *h = xcalloc(1, sizeof *h);
  h->magic = MZ_MAGIC;
  h->fn = fn;
  h->ctx = context;
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(&h->cond, &a);
  pthread_condattr_destroy(&a);
  pthread_mutex_lock(&mu);
  h->id.client_id = next_sid++;
  memcpy(h->id.passwd, "mockpassword0123", sizeof h->id.passwd);
  inits++;
  h->state = ZOO_CONNECTED_STATE;
  h->next = handles;
  handles = h;
  session_event(h, ZOO_CONNECTED_STATE);
  if (pthread_create(&h->thread, NULL, completion_thread, h) != 0)
    abort();
  while (event_before_init && !h->first_delivered)
    pthread_cond_wait(&h->cond, &mu);
  pthread_mutex_unlock(&mu);
  return (zhandle_t *)h;
}

int __wrap_zookeeper_close(zhandle_t *zh) {
  pthread_mutex_lock(&mu);
  mz_handle *h = handle(zh);
  if (!h || h->closing) {
    pthread_mutex_unlock(&mu);
    return ZBADARGUMENTS;
  }
  h->closing = 1;
  if (h->state != ZOO_EXPIRED_SESSION_STATE) {
    /* closeSession: the server drops the session's ephemerals */
    drop_watches(h);
    drop_ephemerals(h->id.client_id);
  }
  drop_list(&h->timers);
  drop_list(&h->parked);
  /* Pending requests end with ZCLOSING; queued events are dropped. */
  for (mz_item **pi = &h->head; *pi;) {
    mz_item *it = *pi;
    if (it->kind == IT_EVENT) {
      *pi = it->next;
      item_free(it);
    } else {
      it->rc = ZCLOSING;
      pi = &it->next;
    }
  }
  h->tail = NULL;
  for (mz_item *it = h->head; it; it = it->next)
    h->tail = it;
  pthread_cond_broadcast(&h->cond);
  pthread_mutex_unlock(&mu);
  pthread_join(h->thread, NULL);
  pthread_mutex_lock(&mu);
  for (mz_handle **ph = &handles; *ph; ph = &(*ph)->next) {
    if (*ph == h) {
      *ph = h->next;
      break;
    }
  }
  pthread_mutex_unlock(&mu);
  pthread_cond_destroy(&h->cond);
  h->magic = 0;
  free(h);
  return ZOK;
}

const clientid_t *__wrap_zoo_client_id(zhandle_t *zh) {
  pthread_mutex_lock(&mu);
  mz_handle *h = handle(zh);
  pthread_mutex_unlock(&mu);
  return h ? &h->id : NULL;
}

int __wrap_zoo_add_auth(zhandle_t *zh, const char *scheme, const char *cert,
                        int certLen, void_completion_t completion,
                        const void *data) {
  (void)scheme;
  (void)cert;
  (void)certLen;
  pthread_mutex_lock(&mu);
  mz_handle *h = handle(zh);
  int zrc = begin(h);
  if (zrc == ZOK && completion) {
    int over, drop;
    plan(h, MZ_AUTH, &over, &drop);
    mz_item *it = xcalloc(1, sizeof *it);
    it->kind = IT_VOID;
    it->fn.v = completion;
    it->data = data;
    finish(h, it, over, drop);
  }
  pthread_mutex_unlock(&mu);
  return zrc;
}

int __wrap_zoo_acreate2(zhandle_t *zh, const char *path, const char *value,
                        int valuelen, const struct ACL_vector *acl, int mode,
                        string_stat_completion_t completion, const void *data) {
  (void)acl;
  mz_req r;
  int zrc = req_open(&r, zh, IT_STRING_STAT, MZ_CREATE, data);
  if (zrc == ZOK) {
    r.it->fn.ss = completion;
    if (r.apply) {
      mz_node *n = NULL;
      r.it->rc =
          create_apply(path, value, valuelen, mode, r.h->id.client_id, &n);
      if (n) {
        r.it->str = xstrdup(n->path);
        fill_stat(n, &r.it->st);
      }
    }
  }
  return req_close(&r, zrc);
}

/* Newest first: ZooKeeper promises no order, so neither does the fake. */
static void list_children(const char *path, struct String_vector *vec) {
  int k = num_children(path), i = 0;
  vec->count = k;
  vec->data = k ? xcalloc((size_t)k, sizeof(char *)) : NULL;
  size_t pl = strcmp(path, "/") == 0 ? 0 : strlen(path);
  for (mz_node *n = nodes; n && i < k; n = n->next)
    if (is_child(path, n->path))
      vec->data[i++] = xstrdup(n->path + pl + 1);
}

int __wrap_zoo_aget_children(zhandle_t *zh, const char *path, int watch,
                             strings_completion_t completion,
                             const void *data) {
  if (watch) { /* herd-freedom: the library never watches the parent */
    fprintf(stderr, "mock_zk: child watch requested on %s\n", path);
    abort();
  }
  mz_req r;
  int zrc = req_open(&r, zh, IT_STRINGS, MZ_CHILDREN, data);
  if (zrc == ZOK) {
    r.it->fn.sv = completion;
    if (r.apply) {
      if (!find(path))
        r.it->rc = ZNONODE;
      else
        list_children(path, &r.it->vec);
    }
  }
  return req_close(&r, zrc);
}

int __wrap_zoo_aget(zhandle_t *zh, const char *path, int watch,
                    data_completion_t completion, const void *data) {
  mz_req r;
  int zrc = req_open(&r, zh, IT_DATA, MZ_GET, data);
  if (zrc == ZOK) {
    r.it->fn.d = completion;
    if (r.apply) {
      mz_node *n = find(path);
      if (!n) {
        r.it->rc = ZNONODE; /* and no watch, as on the server */
      } else {
        fill_stat(n, &r.it->st);
        r.it->len = n->datalen;
        r.it->str = xcalloc(1, (size_t)n->datalen + 1);
        if (n->datalen)
          memcpy(r.it->str, n->data, (size_t)n->datalen);
        if (watch)
          add_watch(r.h, path);
      }
    }
  }
  return req_close(&r, zrc);
}

int __wrap_zoo_adelete(zhandle_t *zh, const char *path, int version,
                       void_completion_t completion, const void *data) {
  mz_req r;
  int zrc = req_open(&r, zh, IT_VOID, MZ_DELETE, data);
  if (zrc == ZOK) {
    r.it->fn.v = completion;
    if (r.apply)
      r.it->rc = delete_apply(path, version);
  }
  return req_close(&r, zrc);
}

int __wrap_zoo_aset(zhandle_t *zh, const char *path, const char *buffer,
                    int buflen, int version, stat_completion_t completion,
                    const void *data) {
  mz_req r;
  int zrc = req_open(&r, zh, IT_STAT, MZ_SET, data);
  if (zrc == ZOK) {
    r.it->fn.s = completion;
    if (r.apply)
      r.it->rc = set_apply(path, buffer, buflen, version, &r.it->st);
  }
  return req_close(&r, zrc);
}

/* Check every op first, then apply all: atomic as long as the ops touch
 * different nodes (enough for check + the caller's op). */
static int multi_apply(mz_handle *h, int count, const zoo_op_t *ops,
                       int *errs) {
  int first = ZOK;
  for (int i = 0; i < count; i++) {
    const zoo_op_t *o = &ops[i];
    int e;
    if (first != ZOK) {
      errs[i] = ZRUNTIMEINCONSISTENCY;
      continue;
    }
    switch (o->type) {
    case ZOO_CREATE_OP:
      e = create_check(o->create_op.path, o->create_op.flags);
      break;
    case ZOO_DELETE_OP:
      e = delete_check(o->delete_op.path, o->delete_op.version);
      break;
    case ZOO_SETDATA_OP:
      e = set_check(o->set_op.path, o->set_op.version);
      break;
    case ZOO_CHECK_OP:
      e = set_check(o->check_op.path, o->check_op.version);
      break;
    default:
      e = ZUNIMPLEMENTED;
    }
    errs[i] = e;
    if (e != ZOK) {
      first = e;
      for (int j = 0; j < i; j++)
        errs[j] = ZOK;
    }
  }
  if (first != ZOK)
    return first;
  for (int i = 0; i < count; i++) {
    const zoo_op_t *o = &ops[i];
    mz_node *n = NULL;
    switch (o->type) {
    case ZOO_CREATE_OP:
      create_apply(o->create_op.path, o->create_op.data, o->create_op.datalen,
                   o->create_op.flags, h->id.client_id, &n);
      if (n && o->create_op.buf && o->create_op.buflen > 0)
        snprintf(o->create_op.buf, (size_t)o->create_op.buflen, "%s", n->path);
      break;
    case ZOO_DELETE_OP:
      delete_apply(o->delete_op.path, o->delete_op.version);
      break;
    case ZOO_SETDATA_OP:
      set_apply(o->set_op.path, o->set_op.data, o->set_op.datalen,
                o->set_op.version, o->set_op.stat);
      break;
    }
  }
  return ZOK;
}

int __wrap_zoo_amulti(zhandle_t *zh, int count, const zoo_op_t *ops,
                      zoo_op_result_t *results, void_completion_t completion,
                      const void *data) {
  if (count < 0 || count > MZ_MULTI_MAX)
    return ZBADARGUMENTS;
  mz_req r;
  int zrc = req_open(&r, zh, IT_MULTI, MZ_MULTI, data);
  if (zrc == ZOK) {
    r.it->fn.v = completion;
    r.it->results = results;
    r.it->count = count;
    if (r.apply)
      r.it->rc = multi_apply(r.h, count, ops, r.it->errs);
  }
  return req_close(&r, zrc);
}

int __wrap_zoo_async(zhandle_t *zh, const char *path,
                     string_completion_t completion, const void *data) {
  mz_req r;
  int zrc = req_open(&r, zh, IT_STRING, MZ_SYNC, data);
  if (zrc == ZOK) {
    r.it->fn.str = completion;
    /* one server: every read already sees every write */
    if (r.apply && !find(path))
      r.it->rc = ZNONODE;
    r.it->str = xstrdup(path);
  }
  return req_close(&r, zrc);
}

/* The library counts its requests by the handle's context (its client). */
const void *__wrap_zoo_get_context(zhandle_t *zh) {
  pthread_mutex_lock(&mu);
  mz_handle *h = handle(zh);
  void *ctx = h ? h->ctx : NULL;
  pthread_mutex_unlock(&mu);
  return ctx;
}

int __wrap_zoo_state(zhandle_t *zh) {
  pthread_mutex_lock(&mu);
  mz_handle *h = handle(zh);
  int st = h ? h->state : 0;
  pthread_mutex_unlock(&mu);
  return st;
}

/* The fake resolves nothing: accept and ignore. */
int __wrap_zoo_set_servers_resolution_delay(zhandle_t *zh, int delay_ms) {
  (void)zh;
  (void)delay_ms;
  return ZOK;
}

/* Calls the fake does not implement. Passing the fake's handle to the real
 * client would crash somewhere deep; stop with the name instead. */
static void unsupported(const char *name) {
  fprintf(stderr,
          "mock_zk: %s is not faked: add it to tests/mock_zk.c and "
          "tests/mock.mk\n",
          name);
  abort();
}

#define MZ_UNSUPPORTED(name)                                                   \
  int __wrap_##name(void);                                                     \
  int __wrap_##name(void) {                                                    \
    unsupported(#name);                                                        \
    return ZSYSTEMERROR;                                                       \
  }
MZ_UNSUPPORTED(zoo_acreate)
MZ_UNSUPPORTED(zoo_aexists)
MZ_UNSUPPORTED(zoo_awexists)
MZ_UNSUPPORTED(zoo_awget)
MZ_UNSUPPORTED(zoo_aget_children2)
MZ_UNSUPPORTED(zoo_awget_children)
MZ_UNSUPPORTED(zoo_awget_children2)
MZ_UNSUPPORTED(zoo_create)
MZ_UNSUPPORTED(zoo_create2)
MZ_UNSUPPORTED(zoo_delete)
MZ_UNSUPPORTED(zoo_exists)
MZ_UNSUPPORTED(zoo_get)
MZ_UNSUPPORTED(zoo_get_children)
MZ_UNSUPPORTED(zoo_set)
MZ_UNSUPPORTED(zoo_multi)

/* ---- test controls ---- */

void mz_reset(void) {
  pthread_mutex_lock(&mu);
  if (handles)
    abort(); /* a test left a client open */
  while (nodes) {
    mz_node *n = nodes;
    nodes = n->next;
    node_free(n);
  }
  while (watches) {
    mz_watch *w = watches;
    watches = w->next;
    free(w->path);
    free(w);
  }
  while (faults) {
    mz_fault_rec *f = faults;
    faults = f->next;
    free(f);
  }
  mz_node *root = xcalloc(1, sizeof *root);
  root->path = xstrdup("/");
  root->mode = ZOO_PERSISTENT;
  nodes = root;
  reconnect_ms = 20;
  no_containers = 0;
  event_before_init = 0;
  inits = 0;
  pthread_mutex_unlock(&mu);
}

int mz_open_handles(void) {
  pthread_mutex_lock(&mu);
  int k = 0;
  for (mz_handle *h = handles; h; h = h->next)
    k++;
  pthread_mutex_unlock(&mu);
  return k;
}

void mz_fault(mz_op op, mz_fault_kind kind, int zrc) {
  mz_fault_rec *f = xcalloc(1, sizeof *f);
  f->op = op;
  f->kind = kind;
  f->zrc = zrc;
  pthread_mutex_lock(&mu);
  mz_fault_rec **pf = &faults;
  while (*pf)
    pf = &(*pf)->next;
  *pf = f;
  pthread_mutex_unlock(&mu);
}

void mz_set_reconnect_ms(int ms) {
  pthread_mutex_lock(&mu);
  reconnect_ms = ms;
  pthread_mutex_unlock(&mu);
}

void mz_set_no_containers(int on) {
  pthread_mutex_lock(&mu);
  no_containers = on;
  pthread_mutex_unlock(&mu);
}

void mz_set_event_before_init(int on) {
  pthread_mutex_lock(&mu);
  event_before_init = on;
  pthread_mutex_unlock(&mu);
}

void mz_disconnect(void) {
  pthread_mutex_lock(&mu);
  for (mz_handle *h = handles; h; h = h->next)
    if (!h->closing)
      drop_conn(h, 0);
  pthread_mutex_unlock(&mu);
}

void mz_connect(void) {
  pthread_mutex_lock(&mu);
  for (mz_handle *h = handles; h; h = h->next)
    if (!h->closing) {
      drop_list(&h->timers);
      reconnect(h);
    }
  pthread_mutex_unlock(&mu);
}

void mz_expire(void) {
  pthread_mutex_lock(&mu);
  for (mz_handle *h = handles; h; h = h->next)
    if (!h->closing)
      expire(h);
  pthread_mutex_unlock(&mu);
}

int64_t mz_session_id(void) {
  pthread_mutex_lock(&mu);
  int64_t sid = 0;
  for (mz_handle *h = handles; h && !sid; h = h->next) /* newest first */
    if (!h->closing)
      sid = h->id.client_id;
  pthread_mutex_unlock(&mu);
  return sid;
}

int mz_init_count(void) {
  pthread_mutex_lock(&mu);
  int k = inits;
  pthread_mutex_unlock(&mu);
  return k;
}

int mz_create(const char *path, int mode, int64_t owner, char *out,
              size_t outlen) {
  pthread_mutex_lock(&mu);
  mz_node *n = NULL;
  int zrc = create_apply(path, "", 0, mode, owner, &n);
  if (n && out && outlen)
    snprintf(out, outlen, "%s", n->path);
  pthread_mutex_unlock(&mu);
  return zrc;
}

int mz_delete(const char *path) {
  pthread_mutex_lock(&mu);
  int zrc = delete_apply(path, -1);
  pthread_mutex_unlock(&mu);
  return zrc;
}

int mz_exists(const char *path) {
  pthread_mutex_lock(&mu);
  int e = find(path) != NULL;
  pthread_mutex_unlock(&mu);
  return e;
}

int mz_stat(const char *path, struct Stat *st, int *mode) {
  pthread_mutex_lock(&mu);
  mz_node *n = find(path);
  if (n) {
    if (st)
      fill_stat(n, st);
    if (mode)
      *mode = n->mode;
  }
  pthread_mutex_unlock(&mu);
  return n ? ZOK : ZNONODE;
}

int mz_children(const char *parent, char *name, size_t namelen) {
  pthread_mutex_lock(&mu);
  int k = -1;
  if (find(parent)) {
    k = num_children(parent);
    if (name && namelen) {
      name[0] = '\0';
      size_t pl = strcmp(parent, "/") == 0 ? 0 : strlen(parent);
      for (mz_node *n = nodes; n; n = n->next)
        if (is_child(parent, n->path))
          snprintf(name, namelen, "%s", n->path + pl + 1);
    }
  }
  pthread_mutex_unlock(&mu);
  return k;
}

void mz_set_cversion(const char *parent, int32_t v) {
  pthread_mutex_lock(&mu);
  mz_node *n = find(parent);
  if (n)
    n->st.cversion = v;
  pthread_mutex_unlock(&mu);
}

int mz_has_watch(const char *path) {
  pthread_mutex_lock(&mu);
  int k = 0;
  for (mz_watch *w = watches; w; w = w->next)
    if (strcmp(w->path, path) == 0)
      k = 1;
  pthread_mutex_unlock(&mu);
  return k;
}

int mz_wait_for(int (*pred)(void *), void *arg, int timeout_ms) {
  int64_t end = now_ms() + timeout_ms;
  for (;;) {
    int v = pred(arg);
    if (v || now_ms() >= end)
      return v;
    usleep(2000);
  }
}
