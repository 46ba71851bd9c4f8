/* One-shot calls on the attempt core (src/call.c): the queue listing,
 * the walk's directory listing, revoke, the leader lookup, downgrade and
 * fenced multi. Each is a zklock__call program: its own steps (which
 * requests a state sends, what an answer does), the rest is the core's
 * (timeout, close, connection waits, session replacement). Not
 * installed. Every function here runs with the client mutex held, except
 * zklock__call_wait. */
#ifndef ZKLOCK_CALL_H
#define ZKLOCK_CALL_H

#include "attempt.h"

typedef struct zklock__call zklock__call;

/* One answer of the current step (stale answers never come here). */
typedef struct zklock__ans {
  int rc;
  int idx;                          /* the request's, as sent */
  const struct String_vector *kids; /* getChildren */
  const char *v;                    /* getData */
  int vlen;
  const struct Stat *st; /* getData */
} zklock__ans;

typedef struct zklock__call_ops {
  /* Sends the requests of k->at.state; the session is connected. */
  void (*send)(zklock__call *k, zklock__cbq *q);
  /* Moves on: zklock__call_next, zklock__att_finish or
   * zklock__att_failed (which resends the step once connected). */
  void (*answer)(zklock__call *k, const zklock__ans *ans, zklock__cbq *q);
  /* Mutex held, before start (NULL: none): an error code ends the call
   * at once (a hold that is gone). */
  int (*check)(zklock__call *k);
  /* The last reference went: free what the operation owns, not k. */
  void (*destroy)(zklock__call *k);
  int first; /* the first state, and the restart on a replacement */
  /* 1: nothing of the call lives in the session, so a replacement may
   * run it again; 0: it works on a hold, which the session took. */
  int fresh;
  /* 1: no deadline (a downgrade that gives up would lie about readers
   * that may already pass the node). */
  int patient;
} zklock__call_ops;

/* Operations embed it first and are calloc'd; k->ops set. */
struct zklock__call {
  zklock__att at; /* first: the casts are valid */
  const zklock__call_ops *ops;
  zklock_client *c;
  zklock_done_cb done;
  void *arg;
};

/* Starts k (mutex held): ZKLOCK_OK and done later, or an error and k is
 * freed. */
int zklock__call_start(zklock__call *k, zklock_done_cb done, void *arg,
                       zklock__cbq *q);
/* The blocking form: k on c, waited for (k is freed either way). */
int zklock__call_wait(zklock_client *c, zklock__call *k);
/* The next step: a new deadline (an answer came, so a server is there). */
void zklock__call_next(zklock__call *k, int state, zklock__cbq *q);

/* Requests of the current step; 0 under way, -1 the call ended. */
int zklock__call_children(zklock__call *k, const char *path, int idx,
                          zklock__cbq *q);
int zklock__call_get(zklock__call *k, const char *path, int idx,
                     zklock__cbq *q);
int zklock__call_set(zklock__call *k, const char *path, const char *v, int vlen,
                     int version, zklock__cbq *q);
int zklock__call_create(zklock__call *k, const char *path, const char *v,
                        int vlen, int flags, zklock__cbq *q);
int zklock__call_multi(zklock__call *k, int n, const zoo_op_t *ops,
                       zoo_op_result_t *res, zklock__cbq *q);
/* 1 if zrc is the connection's or the session's, not the request's
 * (zklock__att_failed waits or replaces for it). */
int zklock__call_transient(int zrc);
/* A sync of path, its answer not awaited: our server may lag the one a
 * holder used, and the session keeps the order. */
void zklock__call_sync(zklock__call *k, const char *path);

#endif
