/* The lock queue shared by every recipe: enqueue an ephemeral sequential
 * node, wait for the one node that must go first, release, downgrade. */
#include "zklock_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int conn_lost(int zrc) {
  return zrc == ZCONNECTIONLOSS || zrc == ZOPERATIONTIMEOUT;
}

static int zklock__lock_init(zklock__lock *l, zklock_client *c,
                             const char *path) {
  if (!c || c->magic != ZKLOCK__MAGIC_CLIENT)
    return ZKLOCK_EINVAL;
  int rc = zklock_path_validate(path);
  if (rc)
    return rc;
  pthread_mutex_lock(&c->mu);
  int closed = c->closed;
  pthread_mutex_unlock(&c->mu);
  if (closed)
    return ZKLOCK_ECLOSED;
  memset(l, 0, sizeof *l);
  l->path = strdup(path);
  if (!l->path)
    return ZKLOCK_ENOMEM;
  l->magic = ZKLOCK__MAGIC_LOCK;
  l->c = c;
  l->h.path = l->path;
  l->token = -1;
  zklock__client_ref(c);
  return ZKLOCK_OK;
}

int zklock__lock_check(const zklock__lock *l) {
  return l && l->magic == ZKLOCK__MAGIC_LOCK ? ZKLOCK_OK : ZKLOCK_EINVAL;
}

/* Sends one async call and waits for its completion (mutex held). */
#define CALL(c, op, expr)                                                      \
  do {                                                                         \
    (op)->pending++;                                                           \
    int call_zrc_ = (expr);                                                    \
    if (call_zrc_ != ZOK) {                                                    \
      (op)->pending--;                                                         \
      return zklock__zk_err(call_zrc_);                                        \
    }                                                                          \
    zklock__op_wait_pending((c), (op));                                        \
  } while (0)

/* Creates the lock path and its missing ancestors, top down, as container
 * nodes (removed by the server once empty), falling back to persistent
 * nodes on servers without containers. */
static int ensure_parents(zklock__lock *l, zhandle_t *zh, zklock__op *op,
                          int64_t deadline) {
  zklock_client *c = l->c;
  char buf[ZKLOCK_PATH_MAX + 1];
  size_t len = strlen(l->path);
  memcpy(buf, l->path, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (i < len && buf[i] != '/')
      continue;
    char save = buf[i];
    buf[i] = '\0';
    int mode = ZOO_CONTAINER;
    for (;;) {
      uint64_t gen = c->conn_gen;
      CALL(c, op,
           zoo_acreate2(zh, buf, "", 0, zklock__acl(c), mode,
                        zklock__create_done, op));
      int zrc = op->create_rc;
      if (zrc == ZOK || zrc == ZNODEEXISTS)
        break;
      if (zrc == ZUNIMPLEMENTED && mode == ZOO_CONTAINER) {
        mode = ZOO_PERSISTENT;
        continue;
      }
      if (!conn_lost(zrc))
        return zklock__zk_err(zrc);
      int rc = zklock__wait_connected(c, op, gen, deadline);
      if (rc)
        return rc;
    }
    buf[i] = save;
  }
  return ZKLOCK_OK;
}

/* After a create whose answer was lost: is a node with our guid there?
 * Leaves the listing in op->children. 1 found (node/token set), 0 not. */
static int find_lost_create(zklock__lock *l, zhandle_t *zh, zklock__op *op,
                            const char *guid, int *found) {
  zklock_client *c = l->c;
  *found = 0;
  /* The reconnect may land on a follower that has not applied our create
   * yet: a sync first (the session keeps the order) makes the listing see
   * it. */
  zoo_async(zh, l->path, zklock__sync_done, NULL);
  CALL(c, op, zoo_aget_children(zh, l->path, 0, zklock__children_done, op));
  if (op->children_rc == ZNONODE)
    return ZKLOCK_OK;
  if (op->children_rc != ZOK)
    return zklock__zk_err(op->children_rc);
  zklock__name nm;
  for (int i = 0; i < op->children.count; i++) {
    const char *name = op->children.data[i];
    if (zklock__name_parse(name, &nm) || strcmp(nm.guid, guid) != 0)
      continue;
    char node[ZKLOCK__NODE_MAX];
    snprintf(node, sizeof node, "%s/%s", l->path, name);
    CALL(c, op, zoo_aget(zh, node, 0, zklock__get_done, op));
    if (op->get_rc == ZNONODE)
      return ZKLOCK_OK;
    if (op->get_rc != ZOK)
      return zklock__zk_err(op->get_rc);
    /* Our guid, but make sure it is this session's node. */
    if (op->get_stat.ephemeralOwner != c->sid)
      return ZKLOCK_OK;
    snprintf(l->h.node, sizeof l->h.node, "%s", node);
    l->token = op->get_stat.czxid;
    *found = 1;
    return ZKLOCK_OK;
  }
  return ZKLOCK_OK;
}

/* Step 1: create our node and list the queue in one round trip (the
 * session applies requests in order, so the listing includes our node). */
static int enqueue(zklock__lock *l, zhandle_t *zh, zklock__op *op, char kind,
                   const char *guid, int64_t deadline) {
  zklock_client *c = l->c;
  char prefix[ZKLOCK__NODE_MAX];
  snprintf(prefix, sizeof prefix, "%s/%c-%s-", l->path, kind, guid);
  for (;;) {
    uint64_t gen = c->conn_gen;
    op->pending += 2;
    int zrc = zoo_acreate2(zh, prefix, c->owner, (int)strlen(c->owner),
                           zklock__acl(c), ZOO_EPHEMERAL_SEQUENTIAL,
                           zklock__create_done, op);
    if (zrc != ZOK) {
      op->pending -= 2;
      return zklock__zk_err(zrc);
    }
    zrc = zoo_aget_children(zh, l->path, 0, zklock__children_done, op);
    if (zrc != ZOK) {
      op->pending--;
      op->children_rc = zrc;
    }
    zklock__op_wait_pending(c, op);
    zrc = op->create_rc;
    if (zrc == ZOK) {
      snprintf(l->h.node, sizeof l->h.node, "%s", op->created);
      l->token = op->create_stat.czxid;
      return ZKLOCK_OK;
    }
    if (zrc == ZNONODE) {
      int rc = ensure_parents(l, zh, op, deadline);
      if (rc)
        return rc;
      continue;
    }
    if (!conn_lost(zrc))
      return zklock__zk_err(zrc);
    l->lost_create = 1;
    /* Lost create: the node may exist. Find it by guid once reconnected;
     * if we must give up first, leave the search-and-delete to the
     * background so it cannot become an orphan. */
    for (;;) {
      int rc = zklock__wait_connected(c, op, gen, deadline);
      if (rc)
        return rc; /* the caller sweeps our guid */
      gen = c->conn_gen;
      int found;
      rc = find_lost_create(l, zh, op, guid, &found);
      if (rc == ZKLOCK_ECONNLOSS)
        continue;
      if (rc)
        return rc;
      if (found)
        return ZKLOCK_OK;
      break; /* not created: try again */
    }
  }
}

typedef struct {
  int32_t dist;
  char name[ZKLOCK__NAME_MAX];
} candidate;

static int cand_cmp(const void *a, const void *b) {
  int32_t x = ((const candidate *)a)->dist, y = ((const candidate *)b)->dist;
  return (x < y) - (x > y); /* nearest (largest negative distance) first */
}

/* Waiting needs only the nearest few listed nodes; keeping all would cost
 * O(queue length) memory per waiter for the whole wait. */
#define ZKLOCK__CAND_KEEP 4

/* From the listing in op->children, the nodes we must outlast, nearest
 * first: any kind for an exclusive node, writers only for a reader. For an
 * exclusive node at most ZKLOCK__CAND_KEEP of them in *out; *total counts
 * all. */
static int candidates(zklock__lock *l, zklock__op *op, char kind,
                      candidate **out, int *n, int *total) {
  const char *mine = strrchr(l->h.node, '/') + 1;
  zklock__name me, nm;
  if (zklock__name_parse(mine, &me))
    return ZKLOCK_EZK;
  candidate *cv = malloc(sizeof *cv * (size_t)(op->children.count + 1));
  if (!cv)
    return ZKLOCK_ENOMEM;
  int k = 0;
  for (int i = 0; i < op->children.count; i++) {
    const char *name = op->children.data[i];
    if (zklock__name_parse(name, &nm))
      continue;
    if (strcmp(nm.guid, me.guid) == 0) {
      /* A second node of ours: a lost create that did land after all.
       * It would block everyone behind it until our session ends. */
      if (strcmp(name, mine) != 0) {
        char dup[ZKLOCK__NODE_MAX];
        snprintf(dup, sizeof dup, "%s/%s", l->path, name);
        zklock__bg_delete(l->c, dup, NULL);
      }
      continue;
    }
    int32_t d = zklock__seq_dist(nm.seq, me.seq);
    if (d >= 0 || (kind == 'r' && nm.kind != 'x'))
      continue;
    cv[k].dist = d;
    snprintf(cv[k].name, sizeof cv[k].name, "%s", name);
    k++;
  }
  qsort(cv, (size_t)k, sizeof *cv, cand_cmp);
  *total = k;
  /* Only writers' lists are cut: a reader may pass downgraded writers and
   * must then still see every older writer it listed. */
  if (kind == 'x' && k > ZKLOCK__CAND_KEEP) {
    k = ZKLOCK__CAND_KEEP;
    candidate *small = realloc(cv, sizeof *cv * (size_t)k);
    if (small)
      cv = small;
  }
  *out = cv;
  *n = k;
  return ZKLOCK_OK;
}

/* Waits until the node at path is gone. Returns OK when it is (or never
 * was), 1 if a reader may pass it (a downgraded writer), or an error. */
static int outlast(zklock__lock *l, zhandle_t *zh, zklock__op *op, char kind,
                   const char *path, int64_t deadline) {
  zklock_client *c = l->c;
  for (;;) {
    uint64_t gen = c->conn_gen;
    op->watch_path = path;
    op->watch_event = 0;
    /* get rather than exists: no watch is left behind on a missing node */
    CALL(c, op, zoo_aget(zh, path, 1, zklock__get_done, op));
    if (op->get_rc == ZNONODE)
      return ZKLOCK_OK;
    if (conn_lost(op->get_rc)) {
      int rc = zklock__wait_connected(c, op, gen, deadline);
      if (rc)
        return rc;
      continue;
    }
    if (op->get_rc != ZOK)
      return zklock__zk_err(op->get_rc);
    if (kind == 'r' && op->get_stat.version > 0)
      return 1; /* a writer that downgraded: readers share with it */
    while (!op->watch_event) {
      if (c->closed)
        return ZKLOCK_ECLOSED;
      if (l->cancel)
        return ZKLOCK_ECANCELED;
      if (c->zstate == ZKLOCK_SESSION_EXPIRED ||
          c->zstate == ZKLOCK_SESSION_AUTH_FAILED)
        return ZKLOCK_ELOST;
      if (c->conn_gen != gen)
        break; /* reconnected: look again in case we missed the event */
      if (zklock__op_wait(c, op, deadline) && !op->watch_event)
        return ZKLOCK_ETIMEDOUT;
    }
    if (op->watch_event == ZOO_DELETED_EVENT)
      return ZKLOCK_OK;
  }
}

/* Steps 2-3: wait for the nearest node ahead of us. When it goes and it
 * was the oldest node of our listing, nothing can be ahead of us any more
 * (new nodes sort after us): the lock is ours without another read. When
 * older nodes were listed, they may or may not be gone (a predecessor that
 * gave up deletes its node while older ones still wait), so list once
 * more rather than probe each listed node in turn: probing costs a round
 * trip per node already gone, O(queue length) per handoff. */
static int wait_turn(zklock__lock *l, zhandle_t *zh, zklock__op *op, char kind,
                     int64_t deadline, int try_only) {
  zklock_client *c = l->c;
  for (;;) {
    while (op->children_rc != ZOK) {
      uint64_t gen = c->conn_gen;
      CALL(c, op, zoo_aget_children(zh, l->path, 0, zklock__children_done, op));
      if (conn_lost(op->children_rc)) {
        int rc = zklock__wait_connected(c, op, gen, deadline);
        if (rc)
          return rc;
      } else if (op->children_rc != ZOK) {
        return zklock__zk_err(op->children_rc);
      }
    }
    candidate *cv;
    int n, total, rc = candidates(l, op, kind, &cv, &n, &total);
    deallocate_String_vector(&op->children);
    op->children_rc = ZCONNECTIONLOSS; /* used up: list again next time */
    if (rc)
      return rc;
    if (n > 0 && try_only) {
      free(cv);
      return ZKLOCK_EBUSY;
    }
    char path[ZKLOCK__NODE_MAX];
    int relist = 0;
    for (int i = 0; i < n; i++) {
      snprintf(path, sizeof path, "%s/%s", l->path, cv[i].name);
      rc = outlast(l, zh, op, kind, path, deadline);
      if (rc < 0)
        break;
      if (rc > 0) { /* a downgraded writer a reader may pass: next one */
        rc = ZKLOCK_OK;
        continue;
      }
      relist = i < n - 1 || n < total;
      break;
    }
    op->watch_path = NULL;
    free(cv);
    if (rc || !relist)
      return rc;
  }
}

/* Mutex held. After a lost create, a copy of our node may still commit
 * later (or was never found): delete every node carrying our guid once
 * we are done with this attempt. */
static void sweep_lost_create(zklock__lock *l) {
  if (l->lost_create)
    zklock__bg_delete(l->c, l->path, l->guid);
  l->lost_create = 0;
}

/* One attempt; *queued tells whether we held a place in the queue. */
static int acquire_once(zklock__lock *l, char kind, int try_only,
                        int64_t deadline, int *queued) {
  zklock_client *c = l->c;
  zhandle_t *zh;
  char *guid = l->guid;
  if (zklock__guid(guid)) {
    zklock__set_zk_err(ZSYSTEMERROR);
    return ZKLOCK_EZK;
  }
  int rc = zklock__enter(c, &zh, 1);
  if (rc)
    return rc;
  zklock__op op;
  pthread_mutex_lock(&c->mu);
  zklock__op_init(&op, c);
  if (l->cancel) { /* cancelled before it began */
    l->cancel = 0;
    zklock__op_destroy(&op);
    pthread_mutex_unlock(&c->mu);
    zklock__leave(c);
    return ZKLOCK_ECANCELED;
  }
  op.cancel = &l->cancel;
  l->waiting = &op;
  l->h.node[0] = '\0';
  l->lost_create = 0;
  rc = enqueue(l, zh, &op, kind, guid, deadline);
  *queued = l->h.node[0] != '\0';
  if (rc == ZKLOCK_OK)
    rc = wait_turn(l, zh, &op, kind, deadline, try_only);
  if (rc == ZKLOCK_OK) {
    l->kind = kind;
    l->downgraded = 0;
    zklock__held_link(c, zh, &l->h);
  } else {
    /* Timed out, busy or failed while queued: take our node out. */
    if (l->h.node[0] && rc != ZKLOCK_ELOST && rc != ZKLOCK_ECLOSED)
      zklock__delete_node(c, zh, &op, l->h.node);
    l->h.node[0] = '\0';
    l->token = -1;
    sweep_lost_create(l);
  }
  if (rc == ZKLOCK_ECANCELED)
    l->cancel = 0; /* consumed */
  l->waiting = NULL;
  zklock__op_destroy(&op);
  pthread_mutex_unlock(&c->mu);
  zklock__leave(c);
  return rc;
}

int zklock__lock_acquire(zklock__lock *l, char kind, int timeout_ms) {
  int64_t deadline = timeout_ms < 0 ? -1 : zklock__now_ms() + timeout_ms;
  int queued = 0;
  int rc = acquire_once(l, kind, timeout_ms == 0, deadline, &queued);
  /* A session that was already gone before we queued is replaced and the
   * attempt made again (a create lost with it went with its session);
   * once queued, an expiry is the caller's ELOST. */
  if (rc == ZKLOCK_ELOST && !queued) {
    /* the server said so, even if the handle has not heard it yet */
    zklock__session_dead(l->c);
    rc = acquire_once(l, kind, timeout_ms == 0, deadline, &queued);
  }
  return rc;
}

int zklock__lock_release(zklock__lock *l) {
  zklock_client *c = l->c;
  if (!l->h.node[0])
    return ZKLOCK_ENOTHELD;
  zhandle_t *zh;
  int rc = zklock__enter(c, &zh, 0);
  if (rc != ZKLOCK_OK && rc != ZKLOCK_ECLOSED)
    return rc; /* nothing changed: the caller may retry */
  pthread_mutex_lock(&c->mu);
  int state = l->h.state;
  zklock__held_unlink(&l->h);
  l->h.state = ZKLOCK_LOCK_UNLOCKED;
  l->token = -1;
  if (rc == ZKLOCK_OK) {
    if (state == ZKLOCK_LOCK_LOST || l->h.sid != c->sid) {
      rc = ZKLOCK_ELOST; /* the node went with the session */
    } else {
      zklock__op op;
      zklock__op_init(&op, c);
      int zrc = zklock__delete_node(c, zh, &op, l->h.node);
      zklock__op_destroy(&op);
      /* On a connection loss the delete continues in the background:
       * the caller has released either way. */
      rc = zrc == ZOK || conn_lost(zrc) ? ZKLOCK_OK
           : zrc == ZNONODE             ? ZKLOCK_ELOST
                                        : zklock__zk_err(zrc);
    }
    sweep_lost_create(l);
  }
  l->h.node[0] = '\0';
  pthread_mutex_unlock(&c->mu);
  if (rc != ZKLOCK_ECLOSED)
    zklock__leave(c);
  return rc;
}

/* Runs fn with the client entered and its mutex held, for the one-shot
 * calls below. */
static int held_call(zklock__lock *l,
                     int (*fn)(zklock__lock *, zhandle_t *, zklock__op *,
                               void *),
                     void *arg) {
  zklock_client *c = l->c;
  if (!l->h.node[0])
    return ZKLOCK_ENOTHELD;
  zhandle_t *zh;
  int rc = zklock__enter(c, &zh, 0);
  if (rc)
    return rc;
  pthread_mutex_lock(&c->mu);
  if (l->h.state == ZKLOCK_LOCK_LOST || l->h.sid != c->sid) {
    rc = ZKLOCK_ELOST;
  } else {
    zklock__op op;
    zklock__op_init(&op, c);
    rc = fn(l, zh, &op, arg);
    zklock__op_destroy(&op);
  }
  pthread_mutex_unlock(&c->mu);
  zklock__leave(c);
  return rc;
}

static void set_done(int rc, const struct Stat *st, const void *data) {
  (void)st;
  zklock__void_done(rc, data);
}

static int do_downgrade(zklock__lock *l, zhandle_t *zh, zklock__op *op,
                        void *arg) {
  (void)arg;
  zklock_client *c = l->c;
  /* A data change on our x node is the downgrade mark: readers waiting on
   * it get NodeDataChanged, see version > 0 and pass; writers keep
   * waiting. No new node, so no writer can slip in between. */
  char data[ZKLOCK__OWNER_MAX + 16];
  int len = snprintf(data, sizeof data, "%smode=r\n", c->owner);
  for (;;) {
    uint64_t gen = c->conn_gen;
    CALL(c, op, zoo_aset(zh, l->h.node, data, len, -1, set_done, op));
    if (op->void_rc == ZNONODE)
      return ZKLOCK_ELOST;
    if (!conn_lost(op->void_rc))
      return zklock__zk_err(op->void_rc);
    /* The mark may have landed (readers may be in): setting it again is
     * harmless, giving up would leave a writer that is not alone. So wait
     * for the connection or the end of the session. */
    int rc = zklock__wait_connected(c, op, gen, -1);
    if (rc)
      return rc;
  }
}

int zklock__lock_cancel(zklock__lock *l) {
  if (zklock__lock_check(l))
    return ZKLOCK_EINVAL;
  zklock_client *c = l->c;
  pthread_mutex_lock(&c->mu);
  l->cancel = 1;
  if (l->waiting)
    pthread_cond_signal(&l->waiting->cond);
  pthread_mutex_unlock(&c->mu);
  return ZKLOCK_OK;
}

int zklock__lock_downgrade(zklock__lock *l) {
  if (l->kind != 'x')
    return ZKLOCK_ENOTHELD;
  if (l->downgraded)
    return ZKLOCK_OK;
  int rc = held_call(l, do_downgrade, NULL);
  if (rc == ZKLOCK_OK)
    l->downgraded = 1;
  return rc;
}

typedef struct {
  int n;
  const zoo_op_t *ops;
  zoo_op_result_t *results;
} multi_args;

static int do_fenced_multi(zklock__lock *l, zhandle_t *zh, zklock__op *op,
                           void *arg) {
  multi_args *a = arg;
  zoo_op_t *ops = calloc((size_t)a->n + 1, sizeof *ops);
  zoo_op_result_t *res = calloc((size_t)a->n + 1, sizeof *res);
  int rc = ZKLOCK_ENOMEM;
  if (ops && res) {
    /* check(version -1) succeeds only while our lock node exists */
    zoo_check_op_init(&ops[0], l->h.node, -1);
    memcpy(ops + 1, a->ops, sizeof *ops * (size_t)a->n);
    op->pending++;
    int zrc = zoo_amulti(zh, a->n + 1, ops, res, zklock__void_done, op);
    if (zrc != ZOK) {
      op->pending--;
      rc = zklock__zk_err(zrc);
    } else {
      zklock__op_wait_pending(l->c, op);
      if (a->results)
        memcpy(a->results, res + 1, sizeof *res * (size_t)a->n);
      rc = op->void_rc != ZOK && res[0].err == ZNONODE
               ? ZKLOCK_ELOST
               : zklock__zk_err(op->void_rc);
    }
  }
  free(ops);
  free(res);
  return rc;
}

int zklock__lock_fenced_multi(zklock__lock *l, int n, const zoo_op_t *ops,
                              zoo_op_result_t *results) {
  if (zklock__lock_check(l))
    return ZKLOCK_EINVAL;
  if (n < 0 || (n > 0 && !ops) || n > 1000)
    return ZKLOCK_EINVAL;
  multi_args a = {n, ops, results};
  return held_call(l, do_fenced_multi, &a);
}

const char *zklock__lock_node(const zklock__lock *l) {
  return zklock__lock_check(l) || !l->h.node[0] ? NULL : l->h.node;
}

int zklock__lock_new(zklock_client *c, const char *path, zklock__lock **out) {
  if (out)
    *out = NULL;
  if (!out)
    return ZKLOCK_EINVAL;
  zklock__lock *l = calloc(1, sizeof *l);
  if (!l)
    return ZKLOCK_ENOMEM;
  int rc = zklock__lock_init(l, c, path);
  if (rc) {
    free(l);
    return rc;
  }
  *out = l;
  return ZKLOCK_OK;
}

void zklock__lock_free(zklock__lock *l) {
  if (zklock__lock_check(l))
    return;
  if (l->h.node[0])
    zklock__lock_release(l);
  zklock_client *c = l->c;
  pthread_mutex_lock(&c->mu);
  zklock__held_unlink(&l->h); /* if the release could not run */
  pthread_mutex_unlock(&c->mu);
  free(l->path);
  l->magic = ZKLOCK__MAGIC_DEAD;
  zklock__client_unref(c);
  free(l);
}

int zklock__lock_state(const zklock__lock *l) {
  if (zklock__lock_check(l))
    return ZKLOCK_LOCK_UNLOCKED;
  zklock_client *c = l->c;
  pthread_mutex_lock(&c->mu);
  int st = l->h.linked || l->h.state == ZKLOCK_LOCK_LOST ? l->h.state
                                                         : ZKLOCK_LOCK_UNLOCKED;
  pthread_mutex_unlock(&c->mu);
  return st;
}

int64_t zklock__lock_token(const zklock__lock *l) {
  if (zklock__lock_check(l))
    return -1;
  zklock_client *c = l->c;
  pthread_mutex_lock(&c->mu);
  int64_t t = l->h.linked && l->h.state != ZKLOCK_LOCK_LOST ? l->token : -1;
  pthread_mutex_unlock(&c->mu);
  return t;
}
