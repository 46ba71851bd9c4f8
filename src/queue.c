/* The lock queue: the program every lock acquisition runs on the attempt
 * core (src/attempt.c), for every recipe and naming profile. Its steps:
 *
 *   ENQ     create2(our node) + getChildren pipelined (one round trip; the
 *           session applies them in order so the listing has our node),
 *           after container creates for missing ancestors when needed
 *   RECOVER a create whose answer was lost: sync + list, find our guid
 *   LIST    list again (after a handoff that was not the last one)
 *   WATCH   getData with a watch on the node(s) we must outlast
 *   WAIT    until a watch event for one of them
 * (and the core's CONN: until the connection or a replacement is back).
 *
 * What a contender must outlast is its recipe's rule (recipes/, asked by
 * evaluate()): an exclusive node the nearest earlier node of any kind, a
 * reader the nearest earlier writer (passing writers that downgraded), a
 * semaphore lease the holders ahead of it; in a profile, that library's
 * rule (src/compat.c). */
#include "attempt.h"
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S_ENQ = ZKLOCK__S_FIRST, S_RECOVER, S_RECGET, S_LIST, S_WATCH, S_WAIT };

/* How the watched nodes end a wait: the rule's mode (ZKLOCK__W_*). */
enum {
  W_CHAIN = ZKLOCK__W_CHAIN,
  W_ANY = ZKLOCK__W_ANY,
  W_TURN = ZKLOCK__W_TURN,
  W_PAIR = ZKLOCK__W_PAIR
};
/* Modes that watch all their nodes at once (not one after another). */
#define W_ALL(m) ((m) == W_ANY || (m) == W_PAIR)

typedef struct qatt {
  zklock__att at;  /* first: the casts of Q() are valid */
  zklock__lock *l; /* NULL once finished */
  char kind;
  int waited; /* a semaphore waiter: pass the turn on when granted */
  int lost_create;
  int create_rc, pathget_rc;
  int permits_ok; /* a semaphore: the count at the path was read and agrees */
  int parent_nonode; /* an ancestor create said NONODE (missing chroot?) */
  int nonode_rounds; /* creates that said NONODE after making the path */
  char *node;        /* our node once known */
  int64_t czxid, owner_sid;
  /* nodes to outlast */
  int nw, wtotal, wmode, widx;
  /* reads sent since the node we outlast last went (a handoff in
   * progress), -1 while none is (zklock_stats.handoff_reads) */
  int crit;
  char **wn;           /* full paths; one block with went (set_waits) */
  zklock__watch *went; /* armed watches, one per wn */
} qatt;

typedef zklock__req req;

static qatt *Q(zklock__att *a) { return (qatt *)a; }

static int conn_lost(int zrc) {
  return zrc == ZCONNECTIONLOSS || zrc == ZOPERATIONTIMEOUT;
}

/* ---- watches ---- */

static void disarm(qatt *a) {
  for (int i = 0; a->went && i < a->nw; i++)
    zklock__watch_disarm(a->at.c, &a->went[i]);
}

static void arm(qatt *a, int i) {
  zklock__watch_arm(&a->at, &a->went[i], a->wn[i]);
}

static void free_waits(qatt *a) {
  disarm(a);
  free(a->wn); /* one block: wn, went and the paths (set_waits) */
  a->wn = NULL;
  a->went = NULL;
  a->nw = a->wtotal = a->widx = 0;
}

/* ---- the program's life ---- */

static void q_destroy(zklock__att *at) {
  qatt *a = Q(at);
  free_waits(a);
  free(a->node);
  free(a);
}

static void q_end(zklock__att *at, int rc, zklock__cbq *q) {
  qatt *a = Q(at);
  zklock_client *c = at->c;
  zklock__lock *l = a->l;
  zklock__stat_end(l, a->kind, rc);
  free_waits(a);
  if (rc == ZKLOCK_OK) {
    l->h.node = a->node;
    a->node = NULL;
    l->token = a->czxid;
    l->kind = a->kind;
    l->downgraded = 0;
    l->h.revoke = 0;
    if (a->kind == 'r')
      l->rd_depth = 1;
    else
      l->wr_depth = 1;
    zklock__held_link(c, &l->h, q);
  } else {
    /* Timed out, busy, cancelled or failed while queued: take our node
     * out (unless it went with the session). */
    if (a->node && rc != ZKLOCK_ELOST && rc != ZKLOCK_ECLOSED)
      zklock__bg_delete(c, a->node, NULL);
    /* A create whose answer was lost, or is still out (we gave up first,
     * say with the servers not answering), may still land: sweep our
     * guid. The sweep's listing queues behind the create in the session,
     * or is retried after a reconnect. */
    int create_out = at->state == S_ENQ && at->pending > 0;
    if ((a->lost_create || create_out) && rc != ZKLOCK_ECLOSED)
      zklock__bg_delete(c, l->path, l->guid);
  }
  l->att = NULL;
  a->l = NULL;
}

static void finish(qatt *a, int rc, zklock__cbq *q) {
  zklock__att_finish(&a->at, rc, q);
}

/* Before we queued (no node of ours), a dead session is replaced and the
 * acquisition starts over once; after, the node went with it. */
static int q_fresh(const zklock__att *at) { return !((const qatt *)at)->node; }

static const char *q_node(const zklock__att *at) {
  return ((const qatt *)at)->node;
}

static void begin(qatt *a, int state) { zklock__att_begin(&a->at, state); }

static req *new_req(qatt *a, int idx) { return zklock__req_new(&a->at, idx); }

static int sent(qatt *a, req *r, int zrc, zklock__cbq *q) {
  return zklock__req_sent(&a->at, r, zrc, q);
}

static void failed(qatt *a, int zrc, int resume, zklock__cbq *q) {
  zklock__att_failed(&a->at, zrc, resume, q);
}

static void conn_wait(qatt *a, int resume, zklock__cbq *q) {
  zklock__att_conn_wait(&a->at, resume, q);
}

/* Mutex held: a completion's attempt, or NULL if its answer is stale (the
 * caller still calls done()). */
static qatt *take(req *r, int *stale) { return Q(zklock__req_take(r, stale)); }

static void req_done(req *r) { zklock__req_free(r); }

static void step(qatt *a, zklock__cbq *q) { zklock__att_step(&a->at, q); }
static void evaluate(qatt *a, const struct String_vector *sv, zklock__cbq *q);
static void send_list(qatt *a, zklock__cbq *q);

static void create_done(int rc, const char *path, const struct Stat *st,
                        const void *data);
static void kids_done(int rc, const struct String_vector *sv, const void *data);
static void pathget_done(int rc, const char *v, int vlen, const struct Stat *st,
                         const void *data);
static void parent_done(int rc, const char *path, const struct Stat *st,
                        const void *data);

static void node_data(zklock__lock *l, const char **v, int *len) {
  *v = l->data ? l->data : l->c->owner;
  *len = (int)strlen(*v);
}

/* Lock paths are containers (the server removes them once empty), except
 * where the server has none, and in the kazoo profile: kazoo makes a lock
 * path once per Lock object (ensure_path) and fails (NoNodeError) if it
 * is reaped between acquisitions. */
static int parent_mode(const zklock_client *c) {
  return c->no_containers || c->compat == ZKLOCK_COMPAT_KAZOO ? ZOO_PERSISTENT
                                                              : ZOO_CONTAINER;
}

/* pathget_rc: the path holds no count at all (not a ZooKeeper code). */
#define PATH_NOCOUNT 1

/* A semaphore reads the count stored at its path right after its own
 * node is there (pipelined behind the create, or before a listing once a
 * lost create is recovered): with our node under it the path cannot be
 * reaped and made again with another count, so the read sees the path
 * we queue at. On every acquisition: a path may be re-created between
 * two. -1 if the attempt ended. */
static int send_pathget(qatt *a, zklock__cbq *q) {
  a->pathget_rc = ZOK;
  if (a->l->permits <= 0 || a->permits_ok)
    return 0;
  req *r = new_req(a, 0);
  int zrc = r ? zoo_aget(a->at.c->zh, a->l->path, 0, pathget_done, r) : ZOK;
  return sent(a, r, zrc, q);
}

/* Step ENQ: [container creates for the ancestors] create2 [get path data]
 * + getChildren, all pipelined. */
static void send_enqueue(qatt *a, int parents, zklock__cbq *q) {
  zklock_client *c = a->at.c;
  zklock__lock *l = a->l;
  begin(a, S_ENQ);
  a->create_rc = a->pathget_rc = ZOK;
  if (parents) {
    char buf[ZKLOCK_PATH_MAX + 1];
    size_t len = strlen(l->path);
    memcpy(buf, l->path, len + 1);
    char pdata[32];
    int plen = l->permits > 0
                   ? snprintf(pdata, sizeof pdata, "permits=%d\n", l->permits)
                   : 0;
    for (size_t i = 1; i <= len; i++) {
      if (i < len && buf[i] != '/')
        continue;
      buf[i] = '\0';
      req *r = new_req(a, 0);
      int zrc = r ? zoo_acreate2(c->zh, buf, i == len ? pdata : "",
                                 i == len ? plen : 0, zklock__acl(c),
                                 parent_mode(c), parent_done, r)
                  : ZOK;
      if (sent(a, r, zrc, q))
        return;
      buf[i] = i == len ? '\0' : '/';
    }
  }
  char prefix[ZKLOCK__NODE_MAX];
  int plen = snprintf(prefix, sizeof prefix, "%s/", l->path);
  if (c->compat == ZKLOCK_COMPAT_NATIVE)
    snprintf(prefix + plen, sizeof prefix - (size_t)plen, "%c-%s-", a->kind,
             l->guid);
  else if (zklock__cname_prefix(c->compat, l->recipe, a->kind, l->guid,
                                prefix + plen,
                                sizeof prefix - (size_t)plen) < 0) {
    finish(a, ZKLOCK_EINVAL, q);
    return;
  }
  const char *v;
  int vlen;
  node_data(l, &v, &vlen);
  req *r1 = new_req(a, 0);
  int zrc = r1 ? zoo_acreate2(c->zh, prefix, v, vlen, zklock__acl(c),
                              ZOO_EPHEMERAL_SEQUENTIAL, create_done, r1)
               : ZOK;
  if (sent(a, r1, zrc, q))
    return;
  if (send_pathget(a, q))
    return;
  req *r2 = new_req(a, 1);
  zrc = r2 ? zoo_aget_children(c->zh, l->path, 0, kids_done, r2) : ZOK;
  if (!r2 || zrc != ZOK) {
    if (r2)
      zklock__req_drop(r2);
    /* the create is out: its answer decides; list later */
    a->create_rc = ZCONNECTIONLOSS;
  }
}

static void parent_done(int rc, const char *path, const struct Stat *st,
                        const void *data) {
  (void)path;
  (void)st;
  req *r = (req *)data;
  zklock_client *c = r->a->c;
  pthread_mutex_lock(&c->mu);
  int stale;
  qatt *a = take(r, &stale);
  /* NODEEXISTS is the usual answer; the create of our node after these
   * tells whether the path is there now. A server without containers
   * says UNIMPLEMENTED: fall back to persistent nodes next round. */
  if (!stale && rc == ZUNIMPLEMENTED)
    c->no_containers = 1;
  if (!stale && rc == ZNONODE)
    a->parent_nonode = 1;
  req_done(r);
  pthread_mutex_unlock(&c->mu);
}

static void pathget_done(int rc, const char *v, int vlen, const struct Stat *st,
                         const void *data) {
  (void)st;
  req *r = (req *)data;
  zklock_client *c = r->a->c;
  pthread_mutex_lock(&c->mu);
  int stale;
  qatt *a = take(r, &stale);
  if (!stale) {
    a->pathget_rc = rc;
    if (rc == ZOK) {
      int permits = 0;
      char buf[32];
      int n = vlen > 0 && vlen < (int)sizeof buf ? vlen : 0;
      memcpy(buf, v ? v : "", (size_t)n);
      buf[n] = '\0';
      /* A path made by another recipe (no count) is not a semaphore:
       * EKIND if that recipe's nodes are there, else EPERMITS. */
      if (sscanf(buf, "permits=%d", &permits) != 1)
        a->pathget_rc = PATH_NOCOUNT;
      else if (permits != a->l->permits)
        a->pathget_rc = ZBADARGUMENTS;
      else
        a->permits_ok = 1;
    }
  }
  req_done(r);
  pthread_mutex_unlock(&c->mu);
}

/* 1 if a child name carries our id (in the client's profile). */
static int same_id(zklock_client *c, const char *name, const char *id) {
  zklock__cname cn;
  return zklock__cname_parse(c->compat, name, &cn) == 0 &&
         strcmp(cn.id, id) == 0;
}

static void create_done(int rc, const char *path, const struct Stat *st,
                        const void *data) {
  req *r = (req *)data;
  zklock_client *c = r->a->c;
  pthread_mutex_lock(&c->mu);
  int stale;
  qatt *a = take(r, &stale);
  if (stale) {
    /* A node made for an attempt that already gave up: delete it now
     * (the guid sweep would find it too). */
    if (rc == ZOK && a->at.finished && r->zh_gen == c->zh_gen)
      zklock__bg_delete(c, path, NULL);
  } else {
    a->create_rc = rc;
    if (rc == ZOK) {
      free(a->node);
      a->node = strdup(path);
      a->czxid = st->czxid;
      a->owner_sid = st->ephemeralOwner;
      if (!a->node)
        a->create_rc = ZSYSTEMERROR;
    }
  }
  req_done(r);
  pthread_mutex_unlock(&c->mu);
}

/* Our create said the path is missing: make it, top down, and create
 * again. A container made for us may be reaped before our create lands,
 * so a few rounds are normal; an ancestor that cannot be made either
 * means the connection string's chroot does not exist. Either way a
 * persistent answer ends the attempt (ZKLOCK_EZK, ZNONODE behind it)
 * rather than looping at the speed of the round trip. */
#define NONODE_ROUNDS 5

static void enqueue_nonode(qatt *a, zklock__cbq *q) {
  if (++a->nonode_rounds > NONODE_ROUNDS ||
      (a->parent_nonode && a->nonode_rounds > 2)) {
    a->at.zrc = ZNONODE;
    finish(a, ZKLOCK_EZK, q);
    return;
  }
  a->parent_nonode = 0;
  send_enqueue(a, 1, q);
}

/* The listing after our create (ENQ), a recovery (RECOVER) or a handoff
 * (LIST). */
static void kids_done(int rc, const struct String_vector *sv,
                      const void *data) {
  req *r = (req *)data;
  zklock_client *c = r->a->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  int stale;
  qatt *a = take(r, &stale);
  if (!stale && a->at.pending == 0) {
    if (a->at.state == S_ENQ) {
      int crc = a->create_rc;
      if (a->pathget_rc == ZBADARGUMENTS) {
        /* permits differ from the semaphore's stored count */
        finish(a, ZKLOCK_EPERMITS, &q);
      } else if (crc == ZNONODE) {
        enqueue_nonode(a, &q);
      } else if (crc == ZOK) {
        if (rc == ZOK)
          evaluate(a, sv, &q);
        else
          failed(a, rc, S_LIST, &q);
      } else if (conn_lost(crc)) {
        /* Lost create: the node may exist. Find it by guid once
         * reconnected (the sweep at the end covers a later landing). */
        a->lost_create = 1;
        conn_wait(a, S_RECOVER, &q);
      } else {
        failed(a, crc, S_ENQ, &q);
      }
    } else if (a->at.state == S_RECOVER) {
      if (rc == ZNONODE) {
        send_enqueue(a, 0, &q);
      } else if (rc != ZOK) {
        failed(a, rc, S_RECOVER, &q);
      } else {
        const char *found = NULL;
        for (int i = 0; i < sv->count && !found; i++)
          if (same_id(c, sv->data[i], a->l->guid))
            found = sv->data[i];
        if (!found) {
          send_enqueue(a, 0, &q); /* not created: try again */
        } else {
          char node[ZKLOCK__NODE_MAX];
          snprintf(node, sizeof node, "%s/%s", a->l->path, found);
          free(a->node);
          a->node = strdup(node);
          if (!a->node) {
            finish(a, ZKLOCK_ENOMEM, &q);
          } else {
            a->at.state = S_RECGET;
            step(a, &q);
          }
        }
      }
    } else if (a->at.state == S_LIST) {
      if (a->pathget_rc == ZBADARGUMENTS)
        finish(a, ZKLOCK_EPERMITS, &q);
      else if (rc == ZOK)
        evaluate(a, sv, &q);
      else
        failed(a, rc, S_LIST, &q);
    }
  }
  req_done(r);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
}

static void send_list(qatt *a, zklock__cbq *q) {
  begin(a, S_LIST);
  a->crit += a->crit >= 0;
  if (send_pathget(a, q))
    return;
  req *r = new_req(a, 0);
  int zrc =
      r ? zoo_aget_children(a->at.c->zh, a->l->path, 0, kids_done, r) : ZOK;
  sent(a, r, zrc, q);
}

static void send_recover(qatt *a, zklock__cbq *q) {
  begin(a, S_RECOVER);
  /* The reconnect may land on a follower that has not applied our create
   * yet: a sync first (the session keeps the order) makes the listing see
   * it. */
  zoo_async(a->at.c->zh, a->l->path, zklock__sync_done, NULL);
  req *r = new_req(a, 0);
  int zrc =
      r ? zoo_aget_children(a->at.c->zh, a->l->path, 0, kids_done, r) : ZOK;
  sent(a, r, zrc, q);
}

static void recget_done(int rc, const char *v, int vlen, const struct Stat *st,
                        const void *data) {
  (void)v;
  (void)vlen;
  req *r = (req *)data;
  zklock_client *c = r->a->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  int stale;
  qatt *a = take(r, &stale);
  if (!stale) {
    if (rc == ZOK && st->ephemeralOwner == c->sid) {
      a->czxid = st->czxid;
      a->owner_sid = st->ephemeralOwner;
      send_list(a, &q);
    } else if (rc == ZOK || rc == ZNONODE) {
      /* gone, or our guid under another session: not ours */
      free(a->node);
      a->node = NULL;
      send_enqueue(a, 0, &q);
    } else {
      failed(a, rc, S_RECOVER, &q);
    }
  }
  req_done(r);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
}

/* ---- deciding ---- */

typedef struct {
  int32_t dist;
  const char *name;
} cand;

/* In a profile a contender watches only the node the library names and,
 * when it goes, lists again unless it was the only node ahead. Not two
 * (W_PAIR, native): a profile downgrade makes a read node at its writer's
 * counter, which can sort ahead of us after we listed. */
#define KEEP 1

static void watch_nodes(qatt *a, zklock__cbq *q);
static void grant(qatt *a, zklock__cbq *q);

/* 1 if the old waits hold a live server watch on path (see
 * zklock__watch): the node is still there after a listing showed it. */
static int watch_live(const qatt *a, const char *path) {
  for (int j = 0; a->went && j < a->nw; j++)
    if (a->went[j].a && a->went[j].set && !a->went[j].fired &&
        strcmp(a->wn[j], path) == 0)
      return 1;
  return 0;
}

/* Stores the nodes to outlast (names of cv[0..n-1]) as full paths, in one
 * block with their watches (a waiter's memory: 10,000 of them on one
 * thread). A node whose watch is still live is marked kept: a writer that
 * listed again when its farther node went keeps the nearer one's watch,
 * and no request goes out before that node's delete grants. */
static int set_waits(qatt *a, const cand *cv, int n, int total, int mode) {
  size_t plen = strlen(a->l->path);
  size_t size = (size_t)n * (sizeof(char *) + sizeof(zklock__watch));
  for (int i = 0; i < n; i++)
    size += plen + 1 + strlen(cv[i].name) + 1;
  char *blk = calloc(1, size);
  char **wn = (char **)blk;
  zklock__watch *went = blk ? (zklock__watch *)(wn + n) : NULL;
  char *p = blk ? (char *)(went + n) : NULL;
  for (int i = 0; blk && i < n; i++) {
    wn[i] = p;
    p += sprintf(p, "%s/%s", a->l->path, cv[i].name) + 1;
    went[i].kept = watch_live(a, wn[i]);
  }
  free_waits(a);
  if (!blk)
    return -1;
  a->wn = wn;
  a->went = went;
  a->nw = n;
  a->wtotal = total;
  a->wmode = mode;
  a->widx = 0;
  a->crit = -1; /* still waiting: what went was no handoff */
  return 0;
}

/* From a listing: grant, or what to watch. Nodes of another kind family
 * (a lock's x/r next to a semaphore's s) or of another library are never
 * ignored: that would let two lock protocols hold one path at once. */
/* In a Curator or kazoo profile the library's own rule decides (see
 * src/compat.c for each rule's source). */
static void evaluate_compat(qatt *a, const struct String_vector *sv,
                            zklock__cbq *q) {
  zklock_client *c = a->at.c;
  zklock__lock *l = a->l;
  const char *mine = strrchr(a->node, '/') + 1;
  int n = sv->count;
  int *idx = malloc(sizeof *idx * (size_t)(n + 1));
  cand *cv = malloc(sizeof *cv * (size_t)(n + 1));
  if (!idx || !cv) {
    free(idx);
    free(cv);
    finish(a, ZKLOCK_ENOMEM, q);
    return;
  }
  for (int i = 0; i < n; i++) {
    /* a second node of ours: a lost create that landed after all */
    if (strcmp(sv->data[i], mine) != 0 && same_id(c, sv->data[i], l->guid)) {
      char dup[ZKLOCK__NODE_MAX];
      snprintf(dup, sizeof dup, "%s/%s", l->path, sv->data[i]);
      zklock__bg_delete(c, dup, NULL);
    }
  }
  int k = 0, fidx = -1;
  int rc =
      zklock__must_outlast(c->compat, l->recipe, a->kind, mine,
                           (const char *const *)sv->data, n, idx, &k, &fidx);
  if (rc == ZKLOCK__C_OK && k > 0 && !a->at.try_only) {
    int keep = k > KEEP ? KEEP : k;
    for (int i = 0; i < keep; i++)
      cv[i].name = sv->data[idx[i]];
    rc = set_waits(a, cv, keep, k, W_CHAIN) ? ZKLOCK__C_EINVAL : rc;
  }
  free(idx);
  free(cv);
  if (rc == ZKLOCK__C_EFOREIGN)
    finish(a, ZKLOCK_EFOREIGN, q);
  else if (rc != ZKLOCK__C_OK)
    finish(a, ZKLOCK_EZK, q);
  else if (k == 0)
    grant(a, q);
  else if (a->at.try_only)
    finish(a, ZKLOCK_EBUSY, q);
  else
    watch_nodes(a, q);
}

/* Native profile: the listing as the recipe rules see it (recipes/), our
 * own node at *me. Nodes of another kind family (a lock's x/r next to a
 * semaphore's s) or of another library are never ignored: that would let
 * two lock protocols hold one path at once. ZKLOCK_EFOREIGN (another
 * library's nodes) or ZKLOCK_EKIND (another zklock recipe's). */
static int native_queue(qatt *a, const struct String_vector *sv,
                        const char *mine, zklock__qent *qv, const char **names,
                        int *nq, int *me) {
  zklock__lock *l = a->l;
  zklock__name my, nm;
  *nq = 0;
  *me = -1;
  if (zklock__name_parse(mine, &my))
    return ZKLOCK_EFOREIGN;
  int kind_rc = 0;
  for (int i = 0; i < sv->count; i++) {
    const char *name = sv->data[i];
    if (zklock__name_parse(name, &nm))
      return ZKLOCK_EFOREIGN;
    if ((nm.kind == 's') != (a->kind == 's')) {
      kind_rc = ZKLOCK_EKIND; /* unless a foreign node comes later */
      continue;
    }
    if (strcmp(nm.guid, my.guid) == 0 && strcmp(name, mine) != 0) {
      /* A second node of ours: a lost create that did land after all.
       * It would block everyone behind it until our session ends. */
      char dup[ZKLOCK__NODE_MAX];
      snprintf(dup, sizeof dup, "%s/%s", l->path, name);
      zklock__bg_delete(a->at.c, dup, NULL);
      continue;
    }
    if (strcmp(name, mine) == 0)
      *me = *nq;
    qv[*nq] = (zklock__qent){.kind = nm.kind, .seq = nm.seq};
    names[(*nq)++] = name;
  }
  if (*me < 0) { /* not listed (cannot happen after our create): add it */
    *me = *nq;
    qv[*nq] = (zklock__qent){.kind = my.kind, .seq = my.seq};
    names[(*nq)++] = mine;
  }
  return kind_rc;
}

static void evaluate(qatt *a, const struct String_vector *sv, zklock__cbq *q) {
  zklock__lock *l = a->l;
  if (a->at.c->compat != ZKLOCK_COMPAT_NATIVE) {
    evaluate_compat(a, sv, q);
    return;
  }
  size_t cap = (size_t)sv->count + 1;
  zklock__qent *qv = malloc(sizeof *qv * cap);
  const char **names = malloc(sizeof *names * cap);
  int *idx = malloc(sizeof *idx * cap);
  cand *cv = malloc(sizeof *cv * cap);
  int nq, me, rc = ZKLOCK_OK;
  zklock__verdict v = {0};
  if (!qv || !names || !idx || !cv)
    rc = ZKLOCK_ENOMEM;
  else if ((rc = native_queue(a, sv, strrchr(a->node, '/') + 1, qv, names, &nq,
                              &me)) == ZKLOCK_OK)
    zklock__rule_outlast(qv, nq, me, l->permits, idx, &v);
  if (rc == ZKLOCK_OK && a->pathget_rc == PATH_NOCOUNT)
    rc = ZKLOCK_EPERMITS; /* a lease at a path without a count */
  int mark = rc == ZKLOCK_OK && v.grant && a->kind == 's' &&
             zklock__rule_semaphore_mark(qv, nq, me, a->waited);
  /* A try reader probes the writers ahead (no watch): one may have
   * downgraded. Every other try ends here when it must wait. */
  int busy = !v.grant && a->at.try_only && a->kind != 'r';
  if (rc == ZKLOCK_OK && !v.grant && !busy) {
    for (int i = 0; i < v.nwatch; i++)
      cv[i].name = names[idx[i]];
    if (a->kind == 's')
      a->waited = 1;
    if (set_waits(a, cv, v.nwatch, v.total, v.mode))
      rc = ZKLOCK_ENOMEM;
  }
  free(qv);
  free(names);
  free(idx);
  free(cv);
  if (rc)
    finish(a, rc, q);
  else if (v.grant) {
    if (mark)
      a->waited = 1;
    grant(a, q);
  } else if (busy)
    finish(a, ZKLOCK_EBUSY, q);
  else
    watch_nodes(a, q);
}

static void wget_done(int rc, const char *v, int vlen, const struct Stat *st,
                      const void *data);

/* Step WATCH: getData (with a watch unless trying) on the node(s) we must
 * outlast. get rather than exists: no watch is left on a missing node. */
static void watch_nodes(qatt *a, zklock__cbq *q) {
  begin(a, S_WATCH);
  int from = W_ALL(a->wmode) ? 0 : a->widx;
  int to = W_ALL(a->wmode) ? a->nw : a->widx + 1;
  int reqs = 0;
  for (int i = from; i < to; i++) {
    zklock__watch *w = &a->went[i];
    if (!a->at.try_only)
      arm(a, i);
    if (w->kept && !a->at.try_only) {
      w->set = 1; /* the server still has it: nothing to ask */
      continue;
    }
    w->set = w->fired = 0; /* until this get is answered */
    reqs++;
    a->crit += a->crit >= 0;
    req *r = new_req(a, i);
    int zrc = r ? zoo_aget(a->at.c->zh, a->wn[i], !a->at.try_only, wget_done, r)
                : ZOK;
    if (sent(a, r, zrc, q))
      return;
  }
  /* A kept watch is good only right after the listing that found it. */
  for (int i = 0; i < a->nw; i++)
    a->went[i].kept = 0;
  if (reqs == 0)
    a->at.state = S_WAIT;
}

/* Re-arms the watch on wn[i] alone (a first semaphore waiter, a writer
 * watching two). */
static void rewatch(qatt *a, int i, zklock__cbq *q) {
  /* Not begin(): the gets still out on the other nodes stay good (one of
   * them may be the only news of that node's delete). */
  a->at.state = S_WATCH;
  a->went[i].set = a->went[i].fired = 0;
  req *r = new_req(a, i);
  int zrc = r ? zoo_aget(a->at.c->zh, a->wn[i], 1, wget_done, r) : ZOK;
  sent(a, r, zrc, q);
}

/* Node i that we outlast is gone. */
static void outlasted(qatt *a, int i, zklock__cbq *q) {
  if (i == 0 && a->crit < 0 && (a->wmode == W_CHAIN || a->wmode == W_PAIR))
    a->crit = 0; /* the nearest: a handoff, unless a listing says wait */
  if (a->wmode == W_ANY) {
    grant(a, q); /* fewer than permits ahead now */
  } else if (a->wmode == W_CHAIN && i == a->nw - 1 && a->nw == a->wtotal &&
             a->at.c->compat == ZKLOCK_COMPAT_NATIVE) {
    /* It was the oldest node listed: nothing can be ahead of us any more
     * (new nodes sort after us), so the lock is ours without a read. Not
     * in a profile: a downgrade there creates a read node at the writer's
     * own counter, which sorts ahead of us after we listed (the fault
     * checker caught a writer let in next to such a reader). */
    grant(a, q);
  } else {
    /* Older nodes were listed and may or may not be gone (a predecessor
     * that gave up deletes its node while older ones still wait): list
     * once more rather than probe each, which costs a round trip per
     * node already gone. */
    send_list(a, q);
  }
}

static void wget_done(int rc, const char *v, int vlen, const struct Stat *st,
                      const void *data) {
  req *r = (req *)data;
  zklock_client *c = r->a->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  int stale;
  qatt *a = take(r, &stale);
  if (!stale && a->at.state == S_WATCH) {
    if (rc == ZOK && !a->at.try_only)
      a->went[r->idx].set = 1;
    if (rc == ZNONODE) {
      outlasted(a, r->idx, &q);
    } else if (rc != ZOK) {
      failed(a, rc, S_WATCH, &q);
    } else if (a->wmode == W_TURN) {
      if (st->version > 0)
        send_list(a, &q); /* the predecessor became a holder */
      else
        a->at.state = S_WAIT;
    } else if (a->wmode == W_CHAIN && a->kind == 'r' &&
               c->compat == ZKLOCK_COMPAT_NATIVE &&
               zklock__mark_has(v, vlen, ZKLOCK__MARK_READ)) {
      /* a writer that downgraded: readers share with it, next one */
      disarm(a);
      if (++a->widx == a->nw)
        grant(a, &q);
      else
        watch_nodes(a, &q);
    } else if (a->at.try_only) {
      finish(a, ZKLOCK_EBUSY, &q);
    } else if (a->at.pending == 0) {
      a->at.state = S_WAIT;
    }
  }
  req_done(r);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
}

static void grant(qatt *a, zklock__cbq *q) {
  zklock_client *c = a->at.c;
  /* Only a node of this very session may lead (CURATOR-696: a closing
   * session's node mistaken for our own). */
  if (a->owner_sid != c->sid) {
    finish(a, ZKLOCK_ELOST, q);
    return;
  }
  /* A semaphore waiter that became a holder marks its node: the waiter
   * behind it watches it and lists again (it may hold now, or become the
   * first waiter). The mark only wakes; holding never depends on it, so
   * it goes out behind the grant and is retried after a reconnect. */
  if (a->waited)
    zklock__bg_mark(c, a->node);
  if (a->crit >= 0)
    c->stats.handoff_reads[a->crit < 3 ? a->crit : 3]++;
  finish(a, ZKLOCK_OK, q);
}

/* ---- the program's hooks (client mutex held) ---- */

static void q_step(zklock__att *at, zklock__cbq *q) {
  qatt *a = Q(at);
  switch (at->state) {
  case S_ENQ:
    send_enqueue(a, 0, q);
    return;
  case S_RECOVER:
    send_recover(a, q);
    return;
  case S_LIST:
    send_list(a, q);
    return;
  case S_WATCH:
  case S_WAIT:
    watch_nodes(a, q);
    return;
  case S_RECGET: {
    begin(a, S_RECGET);
    req *r = new_req(a, 0);
    int zrc = r ? zoo_aget(at->c->zh, a->node, 0, recget_done, r) : ZOK;
    sent(a, r, zrc, q);
    return;
  }
  }
}

/* A watch event on path, one of the nodes we outlast. */
static void q_event(zklock__att *at, int type, const char *path,
                    zklock__cbq *q) {
  qatt *a = Q(at);
  /* A first semaphore waiter (a writer watching two) has several gets
   * out at once: a node may go, or its watch fire on a change, before
   * the last answer is in. The model checker found a waiter stuck beside
   * a free permit when such a change was ignored. Otherwise an event in
   * WATCH is news the get's own answer brings. */
  if (at->state != S_WAIT && !(at->state == S_WATCH && W_ALL(a->wmode)))
    return;
  int idx = W_ALL(a->wmode) ? -1 : a->widx;
  for (int j = 0; idx < 0 && j < a->nw; j++)
    if (strcmp(a->wn[j], path) == 0)
      idx = j;
  if (type == ZOO_DELETED_EVENT && a->wmode != W_TURN) {
    outlasted(a, idx, q);
  } else if (a->wmode == W_TURN) {
    send_list(a, q);
  } else if (W_ALL(a->wmode) && idx >= 0) {
    /* a holder's data changed (its turn mark, a revoke mark): its watch
     * is used up, so read that one node again, not all */
    rewatch(a, idx, q);
  } else {
    /* changed (a reader may pass now) or anything else: look again,
     * which also re-arms the watch */
    disarm(a);
    watch_nodes(a, q);
  }
}

static const zklock__prog queue_prog = {
    .step = q_step,
    .event = q_event,
    .fresh = q_fresh,
    .restart = S_ENQ,
    .end = q_end,
    .node = q_node,
    .destroy = q_destroy,
};

/* ---- handles ---- */

int zklock__lock_check(const zklock__lock *l) {
  return l && l->magic == ZKLOCK__MAGIC_LOCK ? ZKLOCK_OK : ZKLOCK_EINVAL;
}

int zklock__lock_new(zklock_client *c, const char *path, zklock__lock **out) {
  if (out)
    *out = NULL;
  if (!out || !c || c->magic != ZKLOCK__MAGIC_CLIENT)
    return ZKLOCK_EINVAL;
  int rc = zklock_path_validate(path);
  if (rc)
    return rc;
  pthread_mutex_lock(&c->mu);
  int closed = c->closed;
  pthread_mutex_unlock(&c->mu);
  if (closed)
    return ZKLOCK_ECLOSED;
  zklock__lock *l = calloc(1, sizeof *l);
  if (!l || !(l->path = strdup(path))) {
    free(l);
    return ZKLOCK_ENOMEM;
  }
  l->magic = ZKLOCK__MAGIC_LOCK;
  l->c = c;
  l->h.path = l->path;
  l->token = -1;
  zklock__client_ref(c);
  *out = l;
  return ZKLOCK_OK;
}

/* Mutex held. Starts an acquisition; ZKLOCK_OK if it is under way. */
static int start(zklock__lock *l, char kind, int timeout_ms,
                 zklock_done_cb done, zklock__direct_cb direct, void *arg,
                 zklock__cbq *q) {
  zklock_client *c = l->c;
  if (c->closed)
    return ZKLOCK_ECLOSED;
  if (l->att || l->h.node)
    return ZKLOCK_EALREADY; /* one acquisition per handle at a time */
  if (l->cancel) {          /* cancelled before it began */
    l->cancel = 0;
    return ZKLOCK_ECANCELED;
  }
  /* a semaphore in a profile follows its library's lease layout
   * (src/compat_sem.c), never this engine's s nodes */
  if (kind == 's' && c->compat != ZKLOCK_COMPAT_NATIVE)
    return ZKLOCK_EINVAL;
  if (zklock__profile_id(c->compat, l->guid, sizeof l->guid) < 0) {
    zklock__set_zk_err(ZSYSTEMERROR);
    return ZKLOCK_EZK;
  }
  qatt *a = calloc(1, sizeof *a);
  if (!a)
    return ZKLOCK_ENOMEM;
  if (zklock__att_init(&a->at, &queue_prog, c, timeout_ms, done, direct, arg)) {
    free(a);
    return ZKLOCK_ENOMEM;
  }
  a->l = l;
  a->kind = kind;
  a->crit = -1;
  l->att = &a->at;
  zklock__stat_begin(l);
  zklock__att_start(&a->at, S_ENQ, q);
  return ZKLOCK_OK;
}

int zklock__lock_start_direct(zklock__lock *l, char kind, int timeout_ms,
                              zklock__direct_cb cb, void *arg, zklock__cbq *q) {
  return start(l, kind, timeout_ms, NULL, cb, arg, q);
}

int zklock__lock_busy(const zklock__lock *l) { return l->att != NULL; }

int zklock__lock_acquire_async(zklock__lock *l, char kind, int timeout_ms,
                               zklock_done_cb done, void *arg) {
  if (zklock__lock_check(l) || !done)
    return ZKLOCK_EINVAL;
  zklock_client *c = l->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  int rc = start(l, kind, timeout_ms, done, NULL, arg, &q);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
  return rc;
}

typedef struct {
  zklock__lock *l;
  char kind;
  int timeout_ms;
} acq_ctx;

static int acq_start(void *ctx, zklock_done_cb done, void *arg,
                     zklock__cbq *q) {
  acq_ctx *x = ctx;
  return start(x->l, x->kind, x->timeout_ms, done, NULL, arg, q);
}

int zklock__lock_acquire(zklock__lock *l, char kind, int timeout_ms) {
  if (zklock__lock_check(l))
    return ZKLOCK_EINVAL;
  acq_ctx x = {l, kind, timeout_ms};
  return zklock__wait_call(l->c, acq_start, &x);
}

/* Mutex held. Unlinks our hold; returns OK, or ELOST if it was lost. */
static int drop_hold(zklock__lock *l, int *send, zklock__cbq *q) {
  zklock_client *c = l->c;
  int lost = l->h.state == ZKLOCK_LOCK_LOST || l->h.sid != c->sid;
  zklock__stat_drop(c, &l->h);
  zklock__held_unlink(&l->h);
  l->h.state = ZKLOCK_LOCK_UNLOCKED;
  zklock__held_report(&l->h, ZKLOCK_LOCK_UNLOCKED, q);
  l->h.revoke = 0;
  l->token = -1;
  l->wr_depth = l->rd_depth = 0;
  l->downgraded = 0;
  *send = !lost && !c->closed;
  return c->closed ? ZKLOCK_ECLOSED : lost ? ZKLOCK_ELOST : ZKLOCK_OK;
}

typedef struct {
  zklock_client *c;
  zklock_done_cb done;
  void *arg;
  char node[];
} rel_req;

static void rel_done(int rc, const void *data) {
  rel_req *r = (rel_req *)data;
  zklock_client *c = r->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  if (conn_lost(rc))
    zklock__bg_delete(c, r->node, NULL); /* retried on reconnect */
  int out = rc == ZOK || conn_lost(rc) ? ZKLOCK_OK
            : rc == ZNONODE            ? ZKLOCK_ELOST
            : rc == ZCLOSING           ? ZKLOCK_ECLOSED
                                       : zklock__zk_err(rc);
  zklock__deliver(c, &q, r->done, r->arg, out, rc);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
  free(r);
}

/* Mutex held. Releases our node: the delete goes to the background
 * (pipelined: later requests of this session queue behind it) or, with
 * await_release, done gets its answer. */
static int release(zklock__lock *l, zklock_done_cb done, void *arg,
                   int *pending, zklock__cbq *q) {
  zklock_client *c = l->c;
  *pending = 0;
  if (!l->h.node)
    return ZKLOCK_ENOTHELD;
  int send;
  int rc = drop_hold(l, &send, q);
  char *node = l->h.node;
  l->h.node = NULL;
  if (send) {
    rel_req *r = c->await_release && done && c->zh &&
                         c->zstate == ZKLOCK_SESSION_CONNECTED
                     ? malloc(sizeof *r + strlen(node) + 1)
                     : NULL;
    if (r) {
      r->c = c;
      r->done = done;
      r->arg = arg;
      strcpy(r->node, node);
      if (zoo_adelete(c->zh, node, -1, rel_done, r) == ZOK)
        *pending = 1;
      else
        free(r);
    }
    if (!*pending)
      zklock__bg_delete(c, node, NULL);
  }
  free(node);
  return rc;
}

void zklock__lock_drop_locked(zklock__lock *l, zklock__cbq *q) {
  if (l->att)
    zklock__att_finish(l->att, ZKLOCK_ECANCELED, q);
  int pending;
  release(l, NULL, NULL, &pending, q);
}

int zklock__lock_release_async(zklock__lock *l, zklock_done_cb done,
                               void *arg) {
  if (zklock__lock_check(l))
    return ZKLOCK_EINVAL;
  zklock_client *c = l->c;
  zklock__cbq q; /* the listener's UNLOCKED after close */
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  int pending;
  int rc = release(l, done, arg, &pending, &q);
  if (!pending && done && rc != ZKLOCK_ENOTHELD)
    zklock__cb_defer(c, done, arg, rc);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
  return rc == ZKLOCK_ENOTHELD ? rc : ZKLOCK_OK;
}

int zklock__lock_release(zklock__lock *l) {
  if (zklock__lock_check(l))
    return ZKLOCK_EINVAL;
  zklock_client *c = l->c;
  if (c->await_release && zklock__on_cb_thread(c))
    return ZKLOCK_EDEADLK;
  zklock__sync w;
  zklock__sync_init(&w);
  zklock__cbq q; /* as in zklock__lock_release_async */
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  int pending;
  int rc = release(l, zklock__sync_cb, &w, &pending, &q);
  if (pending)
    rc = zklock__sync_wait(c, &w);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
  pthread_cond_destroy(&w.cond);
  return rc;
}

int zklock__lock_cancel(zklock__lock *l) {
  if (zklock__lock_check(l))
    return ZKLOCK_EINVAL;
  zklock_client *c = l->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  if (l->att)
    zklock__att_finish(l->att, ZKLOCK_ECANCELED, &q);
  else
    l->cancel = 1;
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
  return ZKLOCK_OK;
}

/* ---- one-shot calls on a held node ---- */

static void set_done(int rc, const struct Stat *st, const void *data) {
  (void)st;
  zklock__void_done(rc, data);
}

/* Runs fn with the client entered and its mutex held. */
static int held_call(zklock__lock *l,
                     int (*fn)(zklock__lock *, zhandle_t *, zklock__op *,
                               void *),
                     void *arg) {
  zklock_client *c = l->c;
  if (!l->h.node)
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

static int do_downgrade(zklock__lock *l, zhandle_t *zh, zklock__op *op,
                        void *arg) {
  (void)arg;
  zklock_client *c = l->c;
  /* A data mark on our x node is the downgrade: readers waiting on it get
   * NodeDataChanged, see the mark and pass; writers keep waiting. No new
   * node, so no writer can slip in between. */
  char data[ZKLOCK__OWNER_MAX + 16];
  int len = snprintf(data, sizeof data, "%s%s", c->owner, ZKLOCK__MARK_READ);
  for (;;) {
    uint64_t gen = c->conn_gen;
    op->pending++;
    int zrc = zoo_aset(zh, l->h.node, data, len, -1, set_done, op);
    if (zrc != ZOK) {
      op->pending--;
      return zklock__zk_err(zrc);
    }
    zklock__op_wait_pending(c, op);
    if (op->void_rc == ZNONODE)
      return ZKLOCK_ELOST;
    if (!conn_lost(op->void_rc))
      return zklock__zk_err(op->void_rc);
    /* The mark may have landed (readers may be in): setting it again is
     * harmless, giving up would leave a writer that is not alone. So wait
     * for the connection or the end of the session. */
    while (!c->closed && !zklock__session_dead(c) &&
           (c->zstate != ZKLOCK_SESSION_CONNECTED || c->conn_gen == gen))
      zklock__op_wait(c, op, zklock__now_ms() + 100);
    if (c->closed)
      return ZKLOCK_ECLOSED;
    if (zklock__session_dead(c))
      return ZKLOCK_ELOST;
  }
}

static void create_op_done(int rc, const char *path, const void *data) {
  (void)path;
  zklock__void_done(rc, data);
}

/* Curator/kazoo downgrade (CURATOR-621 as fixed in Curator 5.5): a read
 * node, EPHEMERAL and not sequential, named with our write node's counter
 * so it sorts where the write node is, then the write node goes. In
 * between we hold both: still a writer to everyone. */
static int do_downgrade_compat(zklock__lock *l, zhandle_t *zh, zklock__op *op,
                               void *arg) {
  (void)arg;
  zklock_client *c = l->c;
  char id[40], name[ZKLOCK__NAME_MAX * 2], node[ZKLOCK__NODE_MAX];
  if (zklock__profile_id(c->compat, id, sizeof id) < 0 ||
      zklock__cname_downgrade(c->compat, id, strrchr(l->h.node, '/') + 1, name,
                              sizeof name) < 0)
    return ZKLOCK_EINVAL;
  snprintf(node, sizeof node, "%s/%s", l->path, name);
  char *copy = strdup(node);
  if (!copy)
    return ZKLOCK_ENOMEM;
  op->pending++;
  int zrc = zoo_acreate(zh, node, c->owner, (int)strlen(c->owner),
                        zklock__acl(c), ZOO_EPHEMERAL, create_op_done, op);
  if (zrc != ZOK) {
    op->pending--;
    free(copy);
    return zklock__zk_err(zrc);
  }
  zklock__op_wait_pending(c, op);
  if (op->void_rc != ZOK) {
    if (conn_lost(op->void_rc))
      zklock__bg_delete(c, node, NULL); /* it may have landed */
    free(copy);
    return zklock__zk_err(op->void_rc);
  }
  /* the write node goes in the background (and with the session at the
   * latest); the read node is our hold from now on */
  zklock__bg_delete(c, l->h.node, NULL);
  free(l->h.node);
  l->h.node = copy;
  l->kind = 'r';
  zklock__held_watch(c, &l->h);
  return ZKLOCK_OK;
}

int zklock__lock_downgrade(zklock__lock *l) {
  if (l->c->compat != ZKLOCK_COMPAT_NATIVE) {
    if (l->kind != 'x')
      return ZKLOCK_ENOTHELD;
    return held_call(l, do_downgrade_compat, NULL);
  }
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
    /* check(version -1) succeeds only while our lock node exists; n = 0
     * is that check alone */
    zoo_check_op_init(&ops[0], l->h.node, -1);
    if (a->n > 0)
      memcpy(ops + 1, a->ops, sizeof *ops * (size_t)a->n);
    op->pending++;
    int zrc = zoo_amulti(zh, a->n + 1, ops, res, zklock__void_done, op);
    if (zrc != ZOK) {
      op->pending--;
      rc = zklock__zk_err(zrc);
    } else {
      zklock__op_wait_pending(l->c, op);
      if (a->results && a->n > 0)
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

/* One multi of check ops in flight for zklock__locks_verify. */
typedef struct {
  zklock_client *c;
  zklock__direct_cb cb;
  void *arg;
  int n;
  zoo_op_result_t *res;
  zoo_op_t ops[];
} verify_req;

static int verify_rc(int zrc) {
  switch (zrc) {
  case ZOK:
    return ZKLOCK_OK;
  case ZNONODE: /* a check failed: that node is gone */
  case ZSESSIONEXPIRED:
  case ZSESSIONMOVED:
  case ZINVALIDSTATE:
    return ZKLOCK_ELOST;
  case ZCLOSING:
    return ZKLOCK_ECLOSED;
  default:
    return conn_lost(zrc) ? ZKLOCK_ECONNLOSS : zklock__zk_err(zrc);
  }
}

static void verify_done(int rc, const void *data) {
  verify_req *v = (verify_req *)data;
  zklock_client *c = v->c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  v->cb(verify_rc(rc), v->arg, &q);
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
  free(v->res);
  free(v);
}

int zklock__locks_verify(zklock__lock *const *ls, int n, zklock__direct_cb cb,
                         void *arg) {
  zklock_client *c = ls[0]->c;
  for (int i = 0; i < n; i++)
    if (!ls[i]->h.node || ls[i]->h.state == ZKLOCK_LOCK_LOST ||
        ls[i]->h.sid != c->sid)
      return ZKLOCK_ELOST; /* known lost: no need to ask */
  if (zklock__session_dead(c) || !c->zh)
    return ZKLOCK_ELOST;
  verify_req *v = malloc(sizeof *v + sizeof v->ops[0] * (size_t)n);
  zoo_op_result_t *res = v ? calloc((size_t)n, sizeof *res) : NULL;
  if (!res) {
    free(v);
    return ZKLOCK_ENOMEM;
  }
  *v = (verify_req){.c = c, .cb = cb, .arg = arg, .n = n, .res = res};
  for (int i = 0; i < n; i++)
    zoo_check_op_init(&v->ops[i], ls[i]->h.node, -1);
  int zrc = zoo_amulti(c->zh, n, v->ops, res, verify_done, v);
  if (zrc != ZOK) {
    free(res);
    free(v);
    return verify_rc(zrc);
  }
  return ZKLOCK_OK;
}

const char *zklock__lock_node(const zklock__lock *l) {
  if (zklock__lock_check(l))
    return NULL;
  zklock_client *c = l->c;
  pthread_mutex_lock(&c->mu);
  const char *n = l->h.node ? l->h.node
                  : l->att  ? l->att->prog->node(l->att)
                            : NULL;
  pthread_mutex_unlock(&c->mu);
  return n;
}

int zklock__lock_set_listener(zklock__lock *l, zklock_listener_cb cb,
                              void *arg) {
  if (zklock__lock_check(l))
    return ZKLOCK_EINVAL;
  return zklock__hlisten_set(l->c, &l->h.lsn, l, cb, arg);
}

void zklock__lock_free(zklock__lock *l) {
  if (zklock__lock_check(l))
    return;
  zklock_client *c = l->c;
  /* first: no listener callback runs once free has returned, not even
   * the UNLOCKED of the release below */
  zklock__hlisten_set(c, &l->h.lsn, NULL, NULL, NULL);
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  if (l->att) /* a pending acquisition ends with ECANCELED */
    zklock__att_finish(l->att, ZKLOCK_ECANCELED, &q);
  int pending;
  release(l, NULL, NULL, &pending, &q);
  zklock__held_unlink(&l->h);
  free(l->h.node);
  l->h.node = NULL;
  l->magic = ZKLOCK__MAGIC_DEAD;
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
  free(l->path);
  free(l->data);
  free(l);
  zklock__client_unref(c);
}

int zklock__lock_state(const zklock__lock *l) {
  if (zklock__lock_check(l))
    return ZKLOCK_LOCK_UNLOCKED;
  zklock_client *c = l->c;
  pthread_mutex_lock(&c->mu);
  int st = l->h.linked || l->h.state == ZKLOCK_LOCK_LOST ? l->h.state
           : l->att                                      ? ZKLOCK_LOCK_WAITING
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
