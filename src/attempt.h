/* The attempt core (src/attempt.c): what every operation on a session has
 * in common, whatever it asks the server. Not installed.
 *
 * An attempt is a state machine moved on only by ZooKeeper completions,
 * watch events and the service thread's timers. The core owns its life
 * (start, finish exactly once, references), its requests in flight and
 * their staleness (an epoch per step, the handle's generation), waiting
 * for the connection and replacing an expired session, its deadline and
 * retry timer (one heap per client), routing watch events to it (one hash
 * table per client), cancel and close. A program (struct zklock__prog)
 * supplies only its steps: the lock queue (src/queue.c), a semaphore in a
 * naming profile (src/compat_sem.c).
 *
 * Programs embed zklock__att as their first member. Every function here
 * runs with the client mutex held, except zklock__wait_call. */
#ifndef ZKLOCK_ATTEMPT_H
#define ZKLOCK_ATTEMPT_H

#include "zklock_int.h"

/* The state every program shares: waiting for the connection (or a
 * replacement session), then resuming at a->resume. A program numbers its
 * own states from ZKLOCK__S_FIRST. */
enum { ZKLOCK__S_CONN = 1, ZKLOCK__S_FIRST };

typedef struct zklock__prog {
  /* Sends the requests of a->state (a program state); the session is
   * connected. */
  void (*step)(zklock__att *a, zklock__cbq *q);
  /* A watch event on path, where a has a watch (zklock__watch_arm). */
  void (*event)(zklock__att *a, int type, const char *path, zklock__cbq *q);
  /* The session expired or its credentials failed; NULL: the default
   * (zklock__att_gone with fresh() and restart). */
  void (*gone)(zklock__att *a, zklock__cbq *q);
  /* 1 if nothing of the attempt lives in the session yet (it may start
   * over once on a replacement, at state restart). */
  int (*fresh)(const zklock__att *a);
  int restart;
  /* Finishing with rc, before the caller is told: hand the result over,
   * or take the attempt's nodes out. Watches and timers are gone. */
  void (*end)(zklock__att *a, int rc, zklock__cbq *q);
  /* The attempt's node while it waits (zklock_*_node), or NULL. */
  const char *(*node)(const zklock__att *a);
  /* The last reference went. */
  void (*destroy)(zklock__att *a);
} zklock__prog;

struct zklock__att {
  zklock__att *next, *prev; /* the client's attempts in flight */
  const zklock__prog *prog;
  zklock_client *c;
  int refs;       /* 1 while active + 1 per request in flight */
  int finished;   /* the result is delivered; answers are stale */
  unsigned epoch; /* answers of older steps are stale */
  int state, resume;
  int try_only;
  int retried;  /* the session was replaced once before anything lived */
  int answered; /* some answer came (a try that got none: ECONNLOSS) */
  int pending;  /* requests of this step in flight */
  int hit;      /* event routing: already collected */
  int hidx;     /* index in the timer heap, -1 if not there */
  uint64_t gen; /* conn_gen when this step's requests went out */
  int64_t deadline, retry_at;
  int zrc; /* the ZooKeeper code behind a failure */
  zklock_done_cb done;
  zklock__direct_cb direct; /* instead of done: an internal user */
  void *arg;
};

/* One request in flight: its completion's data. */
typedef struct zklock__req {
  zklock__att *a;
  unsigned epoch;
  int zh_gen;
  int idx; /* the program's: which of its nodes */
} zklock__req;

/* Sets a up (timeout_ms < 0: none, 0: a try) and links it; 0, or -1 out
 * of memory (a is not linked then). */
int zklock__att_init(zklock__att *a, const zklock__prog *p, zklock_client *c,
                     int timeout_ms, zklock_done_cb done,
                     zklock__direct_cb direct, void *arg);
/* Runs a's first step at state (after a replacement when the session is
 * dead: that is the one start-over). */
void zklock__att_start(zklock__att *a, int state, zklock__cbq *q);
/* Ends a with rc (once; later calls are ignored): the program's end, then
 * the caller's callback. */
void zklock__att_finish(zklock__att *a, int rc, zklock__cbq *q);
void zklock__att_ref(zklock__att *a);
void zklock__att_unref(zklock__att *a);
/* Starts a step: answers of the previous one become stale. */
void zklock__att_begin(zklock__att *a, int state);
/* Sends the requests of a->state, or waits for the connection first. */
void zklock__att_step(zklock__att *a, zklock__cbq *q);
/* Waits for the connection, then resumes at resume. */
void zklock__att_conn_wait(zklock__att *a, int resume, zklock__cbq *q);
/* An answer that is not success: connection loss waits and resumes at
 * resume; an expired session goes to the program's gone(); anything else
 * ends the attempt with its code. */
void zklock__att_failed(zklock__att *a, int zrc, int resume, zklock__cbq *q);
/* The default session end: credentials failed: EAUTH if fresh, else
 * ELOST; expired: start over once at restart if fresh, else ELOST. */
void zklock__att_gone(zklock__att *a, int fresh, int restart, zklock__cbq *q);
/* Puts a's timers (deadline, retry_at) into the heap; -1 out of memory. */
int zklock__att_timers(zklock__att *a);

/* A request of a's current step (counted in refs and pending), or NULL. */
zklock__req *zklock__req_new(zklock__att *a, int idx);
/* After sending r (zrc; r NULL: out of memory): 0 if under way, else the
 * attempt ends (its code or ENOMEM) and -1. */
int zklock__req_sent(zklock__att *a, zklock__req *r, int zrc, zklock__cbq *q);
/* A request that was not sent and need not end the attempt. */
void zklock__req_drop(zklock__req *r);
/* A completion's attempt; *stale if the answer belongs to an older step,
 * handle or a finished attempt. Call zklock__req_free after. */
zklock__att *zklock__req_take(zklock__req *r, int *stale);
void zklock__req_free(zklock__req *r);

/* Watches: a's interest in events on path (w lives in the program). */
void zklock__watch_arm(zklock__att *a, zklock__watch *w, const char *path);
void zklock__watch_disarm(zklock_client *c, zklock__watch *w);

/* A blocking caller's wait on one result, woken directly under the mutex
 * (never through the loop queue: a loop-mode client needs no dispatch for
 * its blocking calls). zklock__sync_cb(rc, w) is its callback. */
typedef struct zklock__sync {
  pthread_cond_t cond;
  int done, rc;
  int zrc; /* the ZooKeeper code behind rc, for zklock_last_zk_error */
} zklock__sync;
void zklock__sync_init(zklock__sync *w);
void zklock__sync_cb(int rc, void *arg);
/* Mutex held: until the result is in; returns it (w stays to destroy). */
int zklock__sync_wait(zklock_client *c, zklock__sync *w);

#endif
