/* Leader election. A candidate is an exclusive (x) node in the shared
 * queue (src/queue.c) whose data is the candidate's id: the lowest node
 * leads, and its czxid is the term. Observers follow the lowest node
 * without being candidates. */
#include "compat.h"
#include "zklock_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_MAX ZKLOCK_ELECTION_ID_MAX

/* An election handle is a lock handle; the first-member rule makes the
 * casts valid. */
struct zklock_election {
  zklock__lock l;
};

static zklock__lock *L(zklock_election *e) { return (zklock__lock *)e; }
static const zklock__lock *CL(const zklock_election *e) {
  return (const zklock__lock *)e;
}

int zklock_election_new(zklock_client *c, const char *path, const char *id,
                        zklock_election **out) {
  if (!out)
    return ZKLOCK_EINVAL;
  *out = NULL;
  /* Observers hand the id to applications as a C string: no NUL inside
   * (the API cannot carry one), bounded, printable UTF-8. */
  if (!id || !*id || strlen(id) > ID_MAX || !zklock__text_valid(id))
    return ZKLOCK_EINVAL;
  char *data = strdup(id);
  if (!data)
    return ZKLOCK_ENOMEM;
  zklock__lock *l;
  int rc = zklock__lock_new(c, path, &l);
  if (rc) {
    free(data);
    return rc;
  }
  l->data = data; /* written as the node's data instead of the owner */
  /* In a profile the engine names and orders by the library's election:
   * Curator LeaderLatch "latch-" nodes, kazoo Election's Lock nodes. */
  l->recipe = ZKLOCK__R_ELECTION;
  *out = (zklock_election *)l;
  return ZKLOCK_OK;
}

/* A lost lead is reported as such until resigned (as for locks). */
static int lost(zklock_election *e) {
  return zklock__lock_state(L(e)) == ZKLOCK_LOCK_LOST;
}

int zklock_election_campaign(zklock_election *e, int timeout_ms) {
  if (lost(e))
    return ZKLOCK_ELOST;
  return zklock__lock_acquire(L(e), 'x', timeout_ms);
}

int zklock_election_campaign_async(zklock_election *e, int timeout_ms,
                                   zklock_done_cb done, void *arg) {
  if (lost(e))
    return ZKLOCK_ELOST;
  return zklock__lock_acquire_async(L(e), 'x', timeout_ms, done, arg);
}

/* Whether e leads (holds its node) and whether a campaign is under way. */
static void standing(zklock_election *e, int *held, int *busy) {
  pthread_mutex_lock(&e->l.c->mu);
  *held = e->l.h.node != NULL;
  *busy = e->l.att != NULL;
  pthread_mutex_unlock(&e->l.c->mu);
}

int zklock_election_resign(zklock_election *e) {
  if (zklock__lock_check(L(e)))
    return ZKLOCK_EINVAL;
  int held, busy;
  standing(e, &held, &busy);
  /* Not leading yet: withdraw the candidacy (the campaign ends with
   * ZKLOCK_ECANCELED). */
  if (!held)
    return busy ? zklock__lock_cancel(L(e)) : ZKLOCK_ENOTHELD;
  return zklock__lock_release(L(e));
}

/* Lead at once or ZKLOCK_EBUSY; the engine's try leaves no node. */
int zklock_election_trycampaign(zklock_election *e) {
  return zklock_election_campaign(e, 0);
}

int zklock_election_resign_async(zklock_election *e, zklock_done_cb done,
                                 void *arg) {
  if (zklock__lock_check(L(e)))
    return ZKLOCK_EINVAL;
  zklock_client *c = e->l.c;
  int held, busy;
  standing(e, &held, &busy);
  if (held)
    return zklock__lock_release_async(L(e), done, arg);
  if (!busy)
    return ZKLOCK_ENOTHELD;
  /* Not leading yet: withdraw (the campaign ends with ECANCELED); done
   * still runs once, never from inside this call. */
  int rc = zklock__lock_cancel(L(e));
  if (rc == ZKLOCK_OK && done) {
    pthread_mutex_lock(&c->mu);
    zklock__cb_defer(c, done, arg, ZKLOCK_OK);
    pthread_mutex_unlock(&c->mu);
  }
  return rc;
}

int zklock_election_cancel(zklock_election *e) {
  return zklock__lock_cancel(L(e));
}

const char *zklock_election_node(const zklock_election *e) {
  return zklock__lock_node(CL(e));
}

zklock_lock_state zklock_election_state(const zklock_election *e) {
  return (zklock_lock_state)zklock__lock_state(CL(e));
}

int64_t zklock_election_token(const zklock_election *e) {
  return zklock__lock_token(CL(e));
}

/* Leading is holding the candidate node: the lock handle's reports. */
int zklock_election_set_listener(zklock_election *e, zklock_listener_cb cb,
                                 void *arg) {
  return zklock__lock_set_listener(L(e), cb, arg);
}

void zklock_election_free(zklock_election *e) { zklock__lock_free(L(e)); }

/* The leader among listed children, ordered as the profile's library
 * orders its candidates (src/compat.c): native the lowest counter
 * (wrap-safe), Curator the lowest key text after "latch-" (LeaderLatch
 * sorts every child, so any other name makes the order unknowable),
 * kazoo the lowest "__lock__" counter text (Election.contenders() skips
 * names its regex does not match). *best is NULL when nobody runs.
 * Returns ZKLOCK_OK or ZKLOCK_EFOREIGN. */
static int leader_of(int profile, const struct String_vector *sv,
                     const char **best) {
  *best = NULL;
  const char *bkey = NULL;
  zklock__name bn = {0}, nm;
  for (int i = 0; sv && i < sv->count; i++) {
    const char *name = sv->data[i];
    if (profile == ZKLOCK_COMPAT_NATIVE) {
      if (zklock__name_parse(name, &nm) || nm.kind != 'x')
        return ZKLOCK_EFOREIGN;
      if (!*best || zklock__seq_cmp(nm.seq, bn.seq) < 0) {
        *best = name;
        bn = nm;
      }
      continue;
    }
    zklock__cname cn;
    int ok = zklock__cname_parse(profile, name, &cn) == 0 &&
             cn.profile == profile && cn.key_off >= 0;
    if (profile == ZKLOCK_COMPAT_CURATOR && (!ok || cn.kind != 'e'))
      return ZKLOCK_EFOREIGN;
    if (profile == ZKLOCK_COMPAT_KAZOO && (!ok || cn.kind != 'x' || !cn.seq_ok))
      continue;
    const char *key = name + cn.key_off;
    if (!*best || strcmp(key, bkey) < 0) {
      *best = name;
      bkey = key;
    }
  }
  return ZKLOCK_OK;
}

/* ---- the current leader, once ---- */

typedef struct {
  zklock__op *op;
  int rc;
  int len;
  char data[ID_MAX + 1];
} leader_read;

static void leader_get_done(int rc, const char *v, int vlen,
                            const struct Stat *st, const void *data) {
  (void)st;
  leader_read *r = (leader_read *)data;
  zklock_client *c = r->op->c;
  pthread_mutex_lock(&c->mu);
  r->rc = rc;
  r->len = rc == ZOK && v && vlen > 0 ? vlen : 0;
  if (r->len > ID_MAX)
    r->len = ID_MAX; /* not one of our candidates; show what fits */
  memcpy(r->data, v ? v : "", (size_t)r->len);
  r->data[r->len] = '\0';
  r->op->pending--;
  pthread_cond_signal(&r->op->cond);
  pthread_mutex_unlock(&c->mu);
}

int zklock_election_leader(zklock_client *c, const char *path, char *id,
                           size_t len) {
  if (id && len > 0)
    id[0] = '\0';
  if (!id && len > 0)
    return ZKLOCK_EINVAL;
  int rc = zklock_path_validate(path);
  if (rc)
    return rc;
  zhandle_t *zh;
  rc = zklock__enter(c, &zh, 1);
  if (rc)
    return rc;
  zklock__op op;
  pthread_mutex_lock(&c->mu);
  zklock__op_init(&op, c);
  /* A leader that resigns between the listing and the read: list again.
   * Each round means one candidate left, so this ends. */
  for (;;) {
    /* A server that lags would not show a leader elected a moment ago on
     * another server: sync first (the session keeps the order). */
    zoo_async(zh, path, zklock__sync_done, NULL);
    op.pending++;
    int zrc = zoo_aget_children(zh, path, 0, zklock__children_done, &op);
    if (zrc != ZOK) {
      op.pending--;
      op.children_rc = zrc;
    }
    zklock__op_wait_pending(c, &op);
    if (op.children_rc == ZNONODE) {
      rc = ZKLOCK_ENOLEADER;
      break;
    }
    if (op.children_rc != ZOK) {
      rc = zklock__zk_err(op.children_rc);
      break;
    }
    const char *best;
    rc = leader_of(c->compat, &op.children, &best);
    if (rc)
      break;
    if (!best) {
      rc = ZKLOCK_ENOLEADER;
      break;
    }
    char node[ZKLOCK__NODE_MAX];
    snprintf(node, sizeof node, "%s/%s", path, best);
    leader_read r = {.op = &op};
    op.pending++;
    zrc = zoo_aget(zh, node, 0, leader_get_done, &r);
    if (zrc != ZOK) {
      op.pending--;
      r.rc = zrc;
    }
    zklock__op_wait_pending(c, &op);
    if (r.rc == ZNONODE)
      continue;
    if (r.rc != ZOK) {
      rc = zklock__zk_err(r.rc);
    } else if (id && (size_t)r.len >= len) {
      rc = ZKLOCK_ERANGE; /* ID_MAX + 1 bytes always suffice */
    } else if (id) {
      memcpy(id, r.data, (size_t)r.len + 1);
    }
    break;
  }
  zklock__op_destroy(&op);
  pthread_mutex_unlock(&c->mu);
  zklock__leave(c);
  return rc;
}

/* ---- observers ----
 * Event-driven, never blocking the completion thread: list the children
 * without a watch, then getData with a watch on the lowest node; its
 * deletion (or change) means list again. Only when there is no candidate
 * does an observer watch the parent (a getChildren watch), or the path's
 * creation (exists) when the path is missing: observers are few, and the
 * candidates themselves never watch the parent. */

typedef zklock_observer_cb observe_cb;

struct zklock_observer {
  zklock__listener li; /* first member: the casts below are valid */
  char *path;
  observe_cb cb;
  void *arg;
  unsigned epoch;              /* answers of older rounds are stale */
  char node[ZKLOCK__NODE_MAX]; /* the leader node watched, "" if none */
  int reported;                /* something was reported yet */
  int64_t term;                /* last reported term, -1 for none */
};

typedef struct {
  zklock_observer *o;
  unsigned epoch;
  int watched; /* a listing that also set a child watch */
} oreq;

static zklock_observer *O(zklock__listener *li) {
  return (zklock_observer *)li;
}

static void o_kids_done(int rc, const struct String_vector *sv,
                        const void *data);
static void o_get_done(int rc, const char *v, int vlen, const struct Stat *st,
                       const void *data);
static void o_exists_done(int rc, const struct Stat *st, const void *data);

static oreq *o_req(zklock_observer *o, int watched) {
  oreq *r = malloc(sizeof *r);
  if (!r)
    return NULL;
  r->o = o;
  r->epoch = o->epoch;
  r->watched = watched;
  zklock__listener_ref(&o->li);
  return r;
}

/* Mutex held. A request that could not go out: the next session event
 * (reconnect or replacement) starts a new round. */
static void o_unsent(zklock_observer *o, oreq *r) {
  if (r) {
    free(r);
    zklock__listener_unref(&o->li);
  }
}

static int o_can_send(zklock_observer *o) {
  zklock_client *c = o->li.c;
  return !o->li.dead && !c->closed && c->zh &&
         c->zstate == ZKLOCK_SESSION_CONNECTED;
}

/* Mutex held. Starts a round: list the candidates. */
static void o_list(zklock_observer *o, int watch) {
  o->epoch++;
  o->node[0] = '\0';
  if (!o_can_send(o))
    return;
  oreq *r = o_req(o, watch);
  if (!r ||
      zoo_aget_children(o->li.c->zh, o->path, watch, o_kids_done, r) != ZOK)
    o_unsent(o, r);
}

static void o_report(zklock_observer *o, zklock__cbq *q, const char *id,
                     int64_t term) {
  if (o->reported && o->term == term)
    return;
  o->reported = 1;
  o->term = term;
  zklock__listener_cb(&o->li, q, id, term);
}

/* Mutex held: takes an answer; NULL if stale (freed then). */
static zklock_observer *o_take(oreq *r) {
  zklock_observer *o = r->o;
  int stale = o->li.dead || r->epoch != o->epoch;
  free(r);
  if (stale) {
    zklock__listener_unref(&o->li);
    return NULL;
  }
  return o;
}

/* Mutex held: a failed answer. An expired session is replaced by the
 * service thread; the CONNECTED event then starts the next round. */
static void o_failed(zklock_observer *o, int rc) {
  if (rc == ZSESSIONEXPIRED || rc == ZINVALIDSTATE)
    zklock__want_reopen(o->li.c);
}

static void o_kids_done(int rc, const struct String_vector *sv,
                        const void *data) {
  oreq *r = (oreq *)data;
  int watched = r->watched;
  zklock_client *c = r->o->li.c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  zklock_observer *o = o_take(r);
  if (o) {
    /* foreign nodes: nobody can be told the leader; the parent watch
     * below tells when they go */
    const char *best = NULL;
    if (rc == ZOK && leader_of(c->compat, sv, &best))
      best = NULL;
    if (rc == ZNONODE) {
      o_report(o, &q, NULL, -1);
      if (o_can_send(o)) {
        oreq *r2 = o_req(o, 0);
        if (!r2 || zoo_aexists(c->zh, o->path, 1, o_exists_done, r2) != ZOK)
          o_unsent(o, r2);
      }
    } else if (rc != ZOK) {
      o_failed(o, rc);
    } else if (best) {
      snprintf(o->node, sizeof o->node, "%s/%s", o->path, best);
      oreq *r2 = o_can_send(o) ? o_req(o, 0) : NULL;
      if (!r2 || zoo_aget(c->zh, o->node, 1, o_get_done, r2) != ZOK)
        o_unsent(o, r2);
    } else {
      o_report(o, &q, NULL, -1);
      /* Nobody to watch: a child watch on the parent tells of the next
       * candidate. A watched listing that came back empty just waits. */
      if (!watched)
        o_list(o, 1);
    }
    zklock__listener_unref(&o->li);
  }
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
}

static void o_exists_done(int rc, const struct Stat *st, const void *data) {
  (void)st;
  oreq *r = (oreq *)data;
  zklock_client *c = r->o->li.c;
  pthread_mutex_lock(&c->mu);
  zklock_observer *o = o_take(r);
  if (o) {
    if (rc == ZOK)
      o_list(o, 0); /* created meanwhile */
    else if (rc != ZNONODE)
      o_failed(o, rc);
    zklock__listener_unref(&o->li);
  }
  pthread_mutex_unlock(&c->mu);
}

static void o_get_done(int rc, const char *v, int vlen, const struct Stat *st,
                       const void *data) {
  oreq *r = (oreq *)data;
  zklock_client *c = r->o->li.c;
  zklock__cbq q;
  ZKLOCK__CBQ_INIT(&q);
  pthread_mutex_lock(&c->mu);
  zklock_observer *o = o_take(r);
  if (o) {
    if (rc == ZNONODE) {
      o_list(o, 0); /* the leader left before we looked */
    } else if (rc != ZOK) {
      o_failed(o, rc);
    } else {
      char id[ID_MAX + 1];
      int n = v && vlen > 0 ? (vlen > ID_MAX ? ID_MAX : vlen) : 0;
      memcpy(id, v ? v : "", (size_t)n);
      id[n] = '\0';
      o_report(o, &q, id, st->czxid);
    }
    zklock__listener_unref(&o->li);
  }
  pthread_mutex_unlock(&c->mu);
  zklock__cb_flush(c, &q);
}

static void o_event(zklock__listener *li, int type, int state, const char *path,
                    zklock__cbq *q) {
  (void)q;
  zklock_observer *o = O(li);
  if (type == ZOO_SESSION_EVENT) {
    /* Watches survive a reconnect but events may have been missed, and a
     * replacement session has none: look again either way. */
    if (state == ZKLOCK_SESSION_CONNECTED)
      o_list(o, 0);
    else if (state == ZKLOCK_SESSION_EXPIRED)
      zklock__want_reopen(li->c);
    return;
  }
  if (strcmp(path, o->path) == 0 || (o->node[0] && !strcmp(path, o->node)))
    o_list(o, 0);
}

static void o_run(zklock__listener *li, const zklock__cb *cb) {
  zklock_observer *o = O(li);
  o->cb(cb->rc ? cb->path : NULL, cb->rc ? cb->value : -1, o->arg);
}

static void o_destroy(zklock__listener *li) {
  zklock_observer *o = O(li);
  free(o->path);
  free(o);
}

int zklock_election_observe(zklock_client *c, const char *path, observe_cb cb,
                            void *arg, zklock_observer **out) {
  if (out)
    *out = NULL;
  if (!out || !cb || !c || c->magic != ZKLOCK__MAGIC_CLIENT)
    return ZKLOCK_EINVAL;
  int rc = zklock_path_validate(path);
  if (rc)
    return rc;
  zklock_observer *o = calloc(1, sizeof *o);
  if (!o || !(o->path = strdup(path))) {
    free(o);
    return ZKLOCK_ENOMEM;
  }
  o->cb = cb;
  o->arg = arg;
  o->term = -1;
  o->li.event = o_event;
  o->li.run = o_run;
  o->li.destroy = o_destroy;
  pthread_mutex_lock(&c->mu);
  if (c->closed) {
    pthread_mutex_unlock(&c->mu);
    o_destroy(&o->li);
    return ZKLOCK_ECLOSED;
  }
  c->refs++; /* the client outlives its observers */
  zklock__listen(c, &o->li);
  if (zklock__session_dead(c)) {
    zklock__want_reopen(c); /* the CONNECTED event starts the first round */
  } else {
    /* Our server may lag behind the one a candidate used: a sync first
     * (the session keeps the order) so the first report is not older
     * than this call. Later rounds follow watch events, which come in
     * order. */
    if (o_can_send(o))
      zoo_async(c->zh, path, zklock__sync_done, NULL);
    o_list(o, 0);
  }
  pthread_mutex_unlock(&c->mu);
  *out = o;
  return ZKLOCK_OK;
}

void zklock_observer_free(zklock_observer *o) {
  if (!o)
    return;
  zklock_client *c = o->li.c;
  zklock__unlisten(&o->li);
  zklock__client_unref(c);
}
