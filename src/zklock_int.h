/* Internal declarations shared by src/ and recipes/. Not installed. */
#ifndef ZKLOCK_INT_H
#define ZKLOCK_INT_H

#include "stats.h"
#include "zklock.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define ZKLOCK__GUID_LEN 32 /* 128 bits in hex */
/* "/x-<32 hex>-" + up to 11 chars of sequence + NUL */
#define ZKLOCK__NAME_MAX 64
#define ZKLOCK__NODE_MAX (ZKLOCK_PATH_MAX + ZKLOCK__NAME_MAX)
#define ZKLOCK__OWNER_MAX 300

#define ZKLOCK__MAGIC_CLIENT 0x7a6b6c63u /* "zklc" */
#define ZKLOCK__MAGIC_LOCK 0x7a6b6c6bu   /* "zklk" */
#define ZKLOCK__MAGIC_DEAD 0xdeadbeefu

/* ---- names and ordering (src/names.c) ---- */
typedef struct zklock__name {
  char kind; /* 'x' or 'r' */
  char guid[ZKLOCK__GUID_LEN + 1];
  int32_t seq;
} zklock__name;

/* Parses "<kind>-<guid>-<seq>"; 0 on success, -1 if not a zklock node. */
int zklock__name_parse(const char *name, zklock__name *out);
/* Serial-number order: <0 if a was created before b, 0 equal, >0 after.
 * Correct across the 2^31 wrap as long as live nodes span < 2^31. */
static inline int zklock__seq_cmp(int32_t a, int32_t b) {
  int32_t d = (int32_t)((uint32_t)a - (uint32_t)b);
  return (d > 0) - (d < 0);
}
/* Distance of seq from ref in serial arithmetic (negative: before ref). */
static inline int32_t zklock__seq_dist(int32_t seq, int32_t ref) {
  return (int32_t)((uint32_t)seq - (uint32_t)ref);
}
int zklock__guid(char out[ZKLOCK__GUID_LEN + 1]);
/* 1 if s is valid UTF-8 without control characters. */
int zklock__text_valid(const char *s);

/* ---- errors (src/error.c) ---- */
/* Maps a ZooKeeper return code to zklock_err and remembers it for
 * zklock_last_zk_error(). */
int zklock__zk_err(int zrc);
void zklock__set_zk_err(int zrc);

/* ---- client (src/client.c) ---- */
struct zklock__held;
struct zklock__cbq;
typedef struct zklock__att zklock__att;
typedef struct zklock__lock zklock__lock;

/* One blocking one-shot call in progress on a caller's thread (queue
 * listing, fenced multi, client open). Completions reach it through the
 * client's list; all fields are guarded by the client mutex. */
typedef struct zklock__op {
  struct zklock__op *next, *prev;
  zklock_client *c;
  pthread_cond_t cond;
  int pending; /* async completions outstanding */
  int create_rc;
  char created[ZKLOCK__NODE_MAX];
  struct Stat create_stat;
  int children_rc;
  struct String_vector children;
  int get_rc;
  struct Stat get_stat;
  int void_rc; /* delete, set, multi */
} zklock__op;

/* A lock node owned by a handle: tracked by the client so session and
 * deletion events can update lock state. */
typedef struct zklock__held {
  struct zklock__held *next, *prev;
  int linked;
  char *node; /* malloc'd full path, NULL when none */
  const char *path;
  int state;   /* zklock_lock_state */
  int64_t sid; /* session that created the node */
  int revoke;  /* a revocation request was already reported */
  int quiet;   /* internal (a profile semaphore's mutex): no on_lock */
  /* zklock_*_set_listener: the handle's listener, or NULL */
  struct zklock__listener *lsn;
  /* an internal observer of the state changes (a multi-lock's member);
   * called with the mutex held */
  void (*hook)(void *arg, int state, struct zklock__cbq *q);
  void *hook_arg;
  /* src/stats.c: the wait's start, then the grant's (microseconds) */
  int64_t stat_t0_us;
} zklock__held;

/* A callback to run once the client mutex is dropped: on the calling
 * thread (ZKLOCK_DISPATCH_THREAD, or a blocking caller's own wait), or
 * from the application's loop via zklock_client_dispatch. */
typedef struct zklock__cb {
  struct zklock__cb *next;
  int type; /* ZKLOCK__CB_DONE, _LOCK, _SESSION, _LISTENER */
  int rc;   /* done: result; lock/session: state */
  zklock_done_cb done;
  void *arg;     /* listener: the zklock__listener */
  int64_t value; /* listener: a number to report (election term) */
  char *path;
  char node[];
} zklock__cb;
enum {
  ZKLOCK__CB_DONE = 1,
  ZKLOCK__CB_LOCK,
  ZKLOCK__CB_SESSION,
  ZKLOCK__CB_LISTENER
};

typedef struct zklock__cbq {
  zklock__cb *head, **tail;
} zklock__cbq;
#define ZKLOCK__CBQ_INIT(q) ((q)->head = NULL, (q)->tail = &(q)->head)

/* An armed data watch of an acquisition, hashed by path. */
typedef struct zklock__watch {
  struct zklock__watch *next;
  zklock__att *a;
  const char *path;
  /* The server holds our watch on path: its getData(watch) was answered,
   * and no event for path has come since (set, not fired). A listing that
   * shows the node again may then keep the watch instead of reading it
   * (src/queue.c set_waits). `kept`: set_waits found it so. */
  unsigned set : 1, fired : 1, kept : 1;
} zklock__watch;
#define ZKLOCK__WTAB 1024

/* The engine's own state inside the client (src/attempt.c). */
typedef struct zklock__engine {
  zklock__att *atts;  /* in flight (doubly linked) */
  zklock__att **heap; /* timers: attempts by wake-up time */
  int nheap, heapcap;
  zklock__watch *wtab[ZKLOCK__WTAB];
} zklock__engine;

struct zklock_client {
  unsigned magic;
  pthread_mutex_t mu;
  pthread_cond_t cond; /* session state changes, handle reopen */
  zhandle_t *zh;
  char *hosts;
  int session_timeout_ms;
  int connect_timeout_ms;
  char *auth;
  char *tls; /* "ca,cert,key[,password]" for zookeeper_init_ssl, or NULL */
  struct ACL_vector acl; /* deep copy, or empty to mean "default" */
  int acl_custom;
  int no_containers; /* the server lacks container nodes */
  int dispatch;      /* ZKLOCK_DISPATCH_* */
  int await_release;
  int compat;
  char owner[ZKLOCK__OWNER_MAX];
  zklock_session_cb on_session;
  zklock_lock_cb on_lock;
  void *cb_arg;
  void (*log)(const char *);
  int zstate;        /* zklock_session_state */
  uint64_t conn_gen; /* bumps on every CONNECTED event */
  int64_t sid;       /* current session id, 0 before connected */
  int closed;
  int refs;  /* 1 for the open client + 1 per lock handle */
  int users; /* threads inside blocking one-shot calls using zh */
  int reopening;
  int reopen_wanted; /* the service thread should replace the session */
  int starting;      /* inside zookeeper_init2: adopt the first event's zh */
  pthread_t cb_thread;
  int cb_thread_known;
  zklock__op ops;              /* list head of waiting ops */
  zklock__held held;           /* list head of held lock nodes */
  struct zklock__bgdel *bgdel; /* deletes to retry on reconnect */
  int zh_gen;                  /* generation of zh, for stale completions */
  zklock__engine eng;          /* src/attempt.c */
  /* the service thread: timers, session replacement, deferred callbacks */
  pthread_t svc;
  int svc_running, svc_stop;
  pthread_cond_t svc_cond;
  zklock__cbq svcq; /* callbacks the service thread runs (thread mode) */
  /* loop mode */
  int evfd;
  zklock__cbq loopq;
  pthread_t dispatcher; /* the thread inside zklock_client_dispatch */
  int dispatching;
  struct zklock__listener *listeners; /* src/listen.c */
  zklock_stats stats;                 /* src/stats.c; mutex held */
  uint64_t stat_requests;             /* src/stats.c; atomic */
};

/* Begin/end a blocking one-shot call: checks closed/callback thread,
 * replaces an expired session (bounded by deadline, <0 connect timeout),
 * and pins zh. On success returns the handle to use. */
int zklock__enter(zklock_client *c, zhandle_t **zh, int reopen);
void zklock__leave(zklock_client *c);
/* Marks the session expired (an answer said so before the event came), so
 * the next use replaces it. Mutex held. */
void zklock__session_dead_locked(zklock_client *c);
void zklock__client_ref(zklock_client *c);
void zklock__client_unref(zklock_client *c);
/* Mutex held: asks the service thread to replace a dead session. */
void zklock__want_reopen(zklock_client *c);
/* Mutex held: 1 if the session is expired or its credentials failed. */
int zklock__session_dead(const zklock_client *c);
/* 1 if the caller runs on the ZooKeeper completion or service thread,
 * where a blocking call would deadlock. */
int zklock__on_cb_thread(const zklock_client *c);

/* Callbacks (mutex held to queue, NOT held to run). */
void zklock__cb_done(zklock_client *c, zklock__cbq *q, zklock_done_cb done,
                     void *arg, int rc);
void zklock__cb_lock(zklock_client *c, zklock__cbq *q, const char *path,
                     const char *node, int state);
/* Hands q over: to the loop queue (loop mode) or runs it (mutex NOT
 * held). */
void zklock__cb_flush(zklock_client *c, zklock__cbq *q);
/* Mutex held: queues done(rc) for the service thread to run (a result
 * known at once is never reported from inside the call). */
void zklock__cb_defer(zklock_client *c, zklock_done_cb done, void *arg, int rc);
/* Mutex held: hands q to the service thread (thread mode) or the loop, in
 * order; after close (nobody runs them there) q keeps them for the caller
 * to flush. */
void zklock__cb_defer_q(zklock_client *c, zklock__cbq *q);
/* Mutex held: the service thread should look at the timers again. */
void zklock__svc_kick(zklock_client *c);

void zklock__op_init(zklock__op *op, zklock_client *c);
void zklock__op_destroy(zklock__op *op); /* mutex held */
/* Waits (client mutex held) until op->pending == 0. */
void zklock__op_wait_pending(zklock_client *c, zklock__op *op);
int zklock__op_wait(zklock_client *c, zklock__op *op, int64_t deadline);
int64_t zklock__now_ms(void);

/* src/tls.c. Checks the TLS options (EINVAL, ENOTSUP without TLS) and
 * loads their files once; sets c->tls. */
int zklock__tls_setup(zklock_client *c, const zklock_client_opts *o);
void zklock__tls_free(zklock_client *c);
/* zookeeper_init_ssl with c->tls (NULL without TLS). */
zhandle_t *zklock__tls_init(zklock_client *c, watcher_fn watcher);
/* Handshake failures the process's TLS handles have logged so far. */
unsigned long zklock__tls_failures(void);

/* Async completions that fill an op (data = op). */
void zklock__create_done(int rc, const char *path, const struct Stat *st,
                         const void *data);
void zklock__children_done(int rc, const struct String_vector *sv,
                           const void *data);
void zklock__get_done(int rc, const char *v, int vlen, const struct Stat *st,
                      const void *data);
void zklock__void_done(int rc, const void *data);
void zklock__sync_done(int rc, const char *value, const void *data);

/* Starts tracking a fresh holder's node (mutex held) and watches it so a
 * foreign deletion turns the lock LOST; reports HELD. */
void zklock__held_link(zklock_client *c, zklock__held *h, zklock__cbq *q);
void zklock__held_unlink(zklock__held *h);
/* Mutex held: tells h's hook and listener of state (a zklock_lock_state,
 * REVOKE_REQUESTED included); nothing for a quiet hold. */
void zklock__held_report(zklock__held *h, int state, zklock__cbq *q);
/* Mutex held: (re)arms the own-node watch of a held node. */
void zklock__held_watch(zklock_client *c, zklock__held *h);
/* Mutex held: sets h's state and queues an on_lock notice. */
void zklock__held_set(zklock_client *c, zklock__held *h, int state,
                      zklock__cbq *q);
/* Mutex held. Deletes node in the background: now if connected, else on
 * reconnect, until done or the session ends. With a guid, node is the
 * lock path and every child carrying that guid is deleted. If done is
 * given, it gets the outcome (ZOK, ZNONODE, ...) once known. */
void zklock__bg_delete(zklock_client *c, const char *node, const char *guid);
/* Mutex held: sets the semaphore turn mark on node the same way (now or
 * on reconnect, until done or the session ends). */
void zklock__bg_mark(zklock_client *c, const char *node);

const struct ACL_vector *zklock__acl(zklock_client *c);

/* zklock_queue_list, with sync 0 when the caller synced the session
 * already (src/walk.c, once for a whole tree). */
int zklock__queue_list(zklock_client *c, const char *path, int sync,
                       zklock_node_info **out, int *n);

/* ---- listeners (src/listen.c) ----
 * Watch users outside the lock engine (election observers). The client's
 * watcher hands every path event and session change to each listener
 * (mutex held); a listener queues its application callbacks as
 * ZKLOCK__CB_LISTENER entries, which run like every other callback. */
typedef struct zklock__listener zklock__listener;
struct zklock__listener {
  zklock__listener *next, **pprev;
  zklock_client *c;
  int refs;    /* the client's list + requests in flight + queued cbs */
  int dead;    /* the application let go: run no more callbacks */
  int running; /* callbacks running now */
  pthread_t runner;
  pthread_cond_t idle;
  /* Mutex held. type is a ZOO_*_EVENT; for ZOO_SESSION_EVENT state is the
   * new zklock_session_state and path NULL. */
  void (*event)(zklock__listener *li, int type, int state, const char *path,
                zklock__cbq *q);
  /* Mutex NOT held: the application callback for one queued entry. */
  void (*run)(zklock__listener *li, const zklock__cb *cb);
  /* Mutex held: the last reference went; free the enclosing object. */
  void (*destroy)(zklock__listener *li);
};

/* Mutex held: starts delivering events to li (refs = 1). */
void zklock__listen(zklock_client *c, zklock__listener *li);
/* Mutex NOT held: stops li; once it returns no callback of li runs or will
 * run, except the one calling it (from inside its own callback). Drops the
 * list's reference. */
void zklock__unlisten(zklock__listener *li);
void zklock__listener_ref(zklock__listener *li);   /* mutex held */
void zklock__listener_unref(zklock__listener *li); /* mutex held */
/* Mutex held: queues li->run with text (NULL allowed) and value. */
void zklock__listener_cb(zklock__listener *li, zklock__cbq *q, const char *text,
                         int64_t value);
/* Per-handle listeners (zklock_*_set_listener): a listener outside the
 * client's list, whose entries carry the state as value. Mutex NOT held:
 * puts a listener calling cb(handle, state, arg) into *slot (guarded by
 * c's mutex), or none for a NULL cb; the one it replaces runs no more once
 * this returns (see zklock__unlisten). */
int zklock__hlisten_set(zklock_client *c, zklock__listener **slot, void *handle,
                        zklock_listener_cb cb, void *arg);
/* Mutex held: queues state for li (NULL: nothing) behind its earlier
 * reports (zklock__cb_defer_q; q only after close). */
void zklock__hlisten_report(zklock__listener *li, int state, zklock__cbq *q);
/* Mutex NOT held: zklock__hlisten_set for a lock handle. */
int zklock__lock_set_listener(zklock__lock *l, zklock_listener_cb cb,
                              void *arg);
/* Called by the client (mutex held / NOT held for _run). */
void zklock__listeners_event(zklock_client *c, int type, int state,
                             const char *path, zklock__cbq *q);
void zklock__listener_run(zklock_client *c, zklock__cb *cb);

/* ---- recipe rules (recipes/) ----
 * Pure functions of one listing, asked by the engine (who must outlast
 * what, how the wait ends), by zklock_queue_list and revoke (who holds),
 * and by the model checker (tests/model). q[0..n-1] are the listed nodes
 * of the caller's recipe family, in any order; only seq and kind count. */
typedef struct zklock__qent {
  char kind;   /* 'x' (exclusive/writer), 'r' (reader), 's' (lease) */
  int marked;  /* a writer's read mark (it downgraded); who-holds only */
  int32_t seq; /* sequence number */
} zklock__qent;

/* How the watched nodes end a wait. */
enum {
  ZKLOCK__W_CHAIN = 1, /* outlast idx[0], nearest first; when the last of
                          `total` goes, nothing is ahead any more. A reader
                          passes a writer whose data has the read mark. */
  ZKLOCK__W_ANY,       /* first semaphore waiter: any one leaving frees a
                          permit */
  ZKLOCK__W_TURN,      /* later semaphore waiter: the predecessor's delete
                          or turn mark sends us to list again */
  ZKLOCK__W_PAIR       /* a writer with two or more ahead: watch the nearest
                          two; either going sends us to list again, so when
                          the farther one goes (the nearer one still waits
                          or holds) the listing shows the nearer one as the
                          only one ahead and its delete grants at once */
};

typedef struct zklock__verdict {
  int grant;  /* 1: holds now */
  int mode;   /* ZKLOCK__W_*, when not granted */
  int total;  /* conflicting nodes ahead */
  int nwatch; /* how many of idx (nearest first) to watch */
} zklock__verdict;

/* idx (room for n) gets the conflicting nodes ahead of q[me], nearest
 * first. */
void zklock__rule_exclusive(const zklock__qent *q, int n, int me, int *idx,
                            zklock__verdict *v); /* mutex.c */
void zklock__rule_reader(const zklock__qent *q, int n, int me, int *idx,
                         zklock__verdict *v); /* rwlock.c */
void zklock__rule_semaphore(const zklock__qent *q, int n, int me, int permits,
                            int *idx, zklock__verdict *v); /* semaphore.c */
/* 1 if a lease granted now must set its turn mark: it waited, or the
 * listing that granted it shows a node behind it (which may have listed
 * first and be watching it for the mark). */
int zklock__rule_semaphore_mark(const zklock__qent *q, int n, int me,
                                int waited);
/* The nodes of the given kinds ("xr", ...) ahead of q[me] into idx, *k of
 * them, nearest first (src/names.c). */
void zklock__rule_ahead(const zklock__qent *q, int n, int me, const char *kinds,
                        int *idx, int *k);
/* recipes/rules.c: dispatches on q[me].kind ('x', 'r', 's'). */
void zklock__rule_outlast(const zklock__qent *q, int n, int me, int permits,
                          int *idx, zklock__verdict *v);
/* recipes/rules.c. Who holds: holder[i] = 1 for every q[i] the rules
 * above grant now (a downgraded writer as a reader); -1 out of memory
 * (holder all 0). */
int zklock__rule_holders(const zklock__qent *q, int n, int permits,
                         int *holder);
/* 1 if node data v (vlen bytes) has mark (a whole line, e.g.
 * ZKLOCK__MARK_READ). The one parser of marks (src/names.c). */
int zklock__mark_has(const char *v, int vlen, const char *mark);

/* ---- the engine (src/queue.c) ----
 * Every acquisition is a state machine driven only by ZooKeeper
 * completions, watch events and the service thread's timers; nothing in
 * it blocks. The blocking calls wait on the same machine. */

/* Reader data mark on a downgraded writer's node, and a revocation
 * request on a holder's node. */
#define ZKLOCK__MARK_READ "mode=r\n"
#define ZKLOCK__MARK_REVOKE "revoke=1\n"
/* A semaphore lease that became a holder (its waiter behind lists). */
#define ZKLOCK__MARK_TURN "turn=1\n"

struct zklock__lock {
  unsigned magic;
  zklock_client *c;
  char *path;
  zklock__held h; /* our node while queued or held */
  char kind;      /* kind of our node: 'x', 'r' or 's' */
  int64_t token;
  int wr_depth;     /* write/exclusive holds */
  int rd_depth;     /* read holds */
  int downgraded;   /* our x node now acts as a reader */
  int cancel;       /* zklock_*_cancel before a wait: end the next one */
  int permits;      /* semaphore: > 0 */
  int path_checked; /* kazoo-profile semaphore: the path was ensured */
  char *data;       /* node data (election id); NULL: owner text */
  zklock__att *att; /* acquisition in flight (src/attempt.h) */
  int recipe;       /* ZKLOCK__R_* (src/compat.h): names in a profile */
  /* semaphore in a profile (src/compat_sem.c): the library's mutex guarding
   * the lease pool */
  zklock__lock *sub;
  /* id tying our nodes to this attempt: zklock guid, Curator uuid or kazoo
   * hex, by profile */
  char guid[40];
};

/* Allocates a lock handle at path (validated) on client c. */
int zklock__lock_new(zklock_client *c, const char *path, zklock__lock **out);
/* Ends a pending acquisition (ECANCELED), releases if held, frees; NULL or
 * a dead handle is ignored. */
void zklock__lock_free(zklock__lock *l);
/* A blocking call as a wait on an asynchronous one: start_fn (mutex held)
 * starts it with done/arg as its completion and returns ZKLOCK_OK if it is
 * under way; the caller's thread then waits for that completion, woken
 * directly under the mutex (no dispatch needed in loop mode). EDEADLK on a
 * callback thread. */
typedef int (*zklock__start_fn)(void *ctx, zklock_done_cb done, void *arg,
                                zklock__cbq *q);
int zklock__wait_call(zklock_client *c, zklock__start_fn start_fn, void *ctx);
/* Mutex held: reports rc to done (a blocking caller of zklock__wait_call
 * at once, anything else through q). */
void zklock__deliver(zklock_client *c, zklock__cbq *q, zklock_done_cb done,
                     void *arg, int rc, int zrc);
/* Queues a node of kind ('x', 'r' or 's') and waits for its turn. The
 * async form calls done exactly once when it returns ZKLOCK_OK. */
int zklock__lock_acquire(zklock__lock *l, char kind, int timeout_ms);
int zklock__lock_acquire_async(zklock__lock *l, char kind, int timeout_ms,
                               zklock_done_cb done, void *arg);
/* Deletes our node (pipelined unless the client awaits releases). */
int zklock__lock_release(zklock__lock *l);
int zklock__lock_release_async(zklock__lock *l, zklock_done_cb done, void *arg);
/* Marks our x node as a reader (setData) so waiting readers proceed. */
int zklock__lock_downgrade(zklock__lock *l);
/* Cancels a wait in progress (or the next one); any thread. */
int zklock__lock_cancel(zklock__lock *l);
int zklock__lock_fenced_multi(zklock__lock *l, int n, const zoo_op_t *ops,
                              zoo_op_result_t *results);
/* Mutex held. Asks the server, in one multi of check ops, whether every
 * node held by ls[0..n-1] (handles of one client) exists on the current
 * session at that moment; cb gets ZKLOCK_OK, ZKLOCK_ELOST (one is gone,
 * or the session), ZKLOCK_ECONNLOSS (no answer) or ZKLOCK_ECLOSED, unless
 * this returns an error (then cb is never called). For recipes that
 * compose several holds: a grant may come from an event the client reads
 * before it learns that its session ended. */
typedef void (*zklock__direct_cb)(int rc, void *arg, zklock__cbq *q);
int zklock__locks_verify(zklock__lock *const *ls, int n, zklock__direct_cb cb,
                         void *arg);
/* Queries; NULL-safe (-1, UNLOCKED, NULL). */
int64_t zklock__lock_token(const zklock__lock *l);
int zklock__lock_state(const zklock__lock *l);
const char *zklock__lock_node(const zklock__lock *l);
/* ZKLOCK_OK if l is a live handle, else ZKLOCK_EINVAL (NULL-safe). */
int zklock__lock_check(const zklock__lock *l);
/* 1 while an acquisition is in flight on l. */
int zklock__lock_busy(const zklock__lock *l);

/* zklock__direct_cb (above): an internal acquisition's result, run with
 * the mutex held from inside the engine (no dispatch needed in loop
 * mode); q collects callbacks. */
/* Mutex held: zklock__lock_acquire_async with a direct callback (called
 * exactly once when this returns ZKLOCK_OK). */
int zklock__lock_start_direct(zklock__lock *l, char kind, int timeout_ms,
                              zklock__direct_cb cb, void *arg, zklock__cbq *q);
/* Mutex held: ends l's acquisition in flight (ECANCELED) and releases a
 * hold (the node goes in the background). */
void zklock__lock_drop_locked(zklock__lock *l, zklock__cbq *q);

/* ---- semaphores in a profile (src/compat_sem.c) ----
 * Curator InterProcessSemaphoreV2 and kazoo Semaphore: the library's
 * mutex (an engine acquisition of l->sub), then the lease pool step. */
int zklock__csem_acquire(zklock__lock *l, int timeout_ms);
int zklock__csem_acquire_async(zklock__lock *l, int timeout_ms,
                               zklock_done_cb done, void *arg);
/* Engine hooks called by the client (mutex held). */
void zklock__engine_session(zklock_client *c, int zstate, zklock__cbq *q);
void zklock__engine_event(zklock_client *c, int type, const char *path,
                          zklock__cbq *q);
/* Runs due timers; returns the next wake-up (monotonic ms) or -1. */
int64_t zklock__engine_timers(zklock_client *c, zklock__cbq *q);
/* Ends every acquisition with rc (client close). */
void zklock__engine_abort(zklock_client *c, int rc, zklock__cbq *q);

#endif
