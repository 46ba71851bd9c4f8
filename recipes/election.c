/* Leader election. A candidate is an exclusive (x) node in the shared
 * queue (src/queue.c) whose data is the candidate's id: the lowest node
 * leads, and its czxid is the term. Observers follow the lowest node
 * without being candidates. */
#include "call.h"
#include "compat.h"

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

/* The leader lookup: a call (src/call.c).
 *   LIST  (a sync, then) the children: the lowest candidate
 *   GET   its data, the id; a leader that resigned in between: LIST
 *         again (each such round means one candidate left, so it ends) */
enum { L_LIST = ZKLOCK__S_FIRST, L_GET };

typedef struct {
  zklock__call k; /* first: the casts are valid */
  char path[ZKLOCK_PATH_MAX + 1];
  char node[ZKLOCK__NODE_MAX]; /* the leader's */
  char *id;                    /* the caller's */
  size_t len;
} leader_call;

static void leader_send(zklock__call *k, zklock__cbq *q) {
  leader_call *x = (leader_call *)k;
  if (k->at.state == L_GET) {
    zklock__call_get(k, x->node, 0, q);
    return;
  }
  /* A server that lags would not show a leader elected a moment ago on
   * another server: sync first (the session keeps the order). */
  zklock__call_sync(k, x->path);
  zklock__call_children(k, x->path, 0, q);
}

/* GET's answer: the id into the caller's buffer. */
static int leader_id(leader_call *x, const zklock__ans *ans) {
  size_t n = ans->v && ans->vlen > 0 ? (size_t)ans->vlen : 0;
  if (n > ID_MAX)
    n = ID_MAX; /* not one of our candidates; show what fits */
  if (x->id && n >= x->len)
    return ZKLOCK_ERANGE; /* ID_MAX + 1 bytes always suffice */
  if (x->id) {
    memcpy(x->id, n ? ans->v : "", n);
    x->id[n] = '\0';
  }
  return ZKLOCK_OK;
}

static void leader_answer(zklock__call *k, const zklock__ans *ans,
                          zklock__cbq *q) {
  leader_call *x = (leader_call *)k;
  const char *best = NULL;
  int rc = ZKLOCK_OK;
  if (ans->rc == ZNONODE && k->at.state == L_GET) {
    zklock__call_next(k, L_LIST, q); /* it resigned: list again */
  } else if (ans->rc == ZNONODE) {
    zklock__att_finish(&k->at, ZKLOCK_ENOLEADER, q);
  } else if (ans->rc != ZOK) {
    zklock__att_failed(&k->at, ans->rc, k->at.state, q);
  } else if (k->at.state == L_GET) {
    zklock__att_finish(&k->at, leader_id(x, ans), q);
  } else if ((rc = leader_of(k->c->compat, ans->kids, &best)) || !best) {
    zklock__att_finish(&k->at, rc ? rc : ZKLOCK_ENOLEADER, q);
  } else {
    snprintf(x->node, sizeof x->node, "%s/%s", x->path, best);
    zklock__call_next(k, L_GET, q);
  }
}

static const zklock__call_ops leader_ops = {
    .send = leader_send,
    .answer = leader_answer,
    .first = L_LIST,
    .fresh = 1,
};

int zklock_election_leader(zklock_client *c, const char *path, char *id,
                           size_t len) {
  if (id && len > 0)
    id[0] = '\0';
  if (!id && len > 0)
    return ZKLOCK_EINVAL;
  int rc = zklock_path_validate(path);
  if (rc)
    return rc;
  leader_call *x = calloc(1, sizeof *x);
  if (!x)
    return ZKLOCK_ENOMEM;
  x->k.ops = &leader_ops;
  snprintf(x->path, sizeof x->path, "%s", path);
  x->id = id;
  x->len = len;
  return zklock__call_wait(c, &x->k);
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
