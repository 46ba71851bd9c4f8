/* Internal declarations shared by src/ and recipes/. Not installed. */
#ifndef ZKLOCK_INT_H
#define ZKLOCK_INT_H

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

/* ---- errors (src/error.c) ---- */
/* Maps a ZooKeeper return code to zklock_err and remembers it for
 * zklock_last_zk_error(). */
int zklock__zk_err(int zrc);
void zklock__set_zk_err(int zrc);

/* ---- client (src/client.c) ---- */
struct zklock__held;

/* One blocking operation in progress on a caller's thread. Completions and
 * watch events reach it through the client's list; all fields are guarded
 * by the client mutex. */
typedef struct zklock__op {
  struct zklock__op *next, *prev;
  zklock_client *c;
  pthread_cond_t cond;
  int pending; /* async completions outstanding */
  /* results */
  int create_rc;
  char created[ZKLOCK__NODE_MAX];
  struct Stat create_stat;
  int children_rc;
  struct String_vector children;
  int get_rc;
  struct Stat get_stat;
  int void_rc; /* delete, set, multi */
  /* watch: path this op waits on, and what happened to it */
  const char *watch_path;
  int watch_event;   /* 0, ZOO_DELETED_EVENT, ZOO_CHANGED_EVENT, ... */
  const int *cancel; /* the waiting handle's cancel flag, or NULL */
} zklock__op;

/* A lock node owned by a handle: tracked by the client so session and
 * deletion events can update lock state. */
typedef struct zklock__held {
  struct zklock__held *next, *prev;
  int linked;
  char node[ZKLOCK__NODE_MAX];
  const char *path;
  int state;   /* zklock_lock_state */
  int64_t sid; /* session that created the node */
} zklock__held;

struct zklock_client {
  unsigned magic;
  pthread_mutex_t mu;
  pthread_cond_t cond; /* session state changes, handle reopen */
  zhandle_t *zh;
  char *hosts;
  int session_timeout_ms;
  int connect_timeout_ms;
  char *auth;
  struct ACL_vector acl; /* deep copy, or empty to mean "default" */
  int acl_custom;
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
  int users; /* threads inside blocking calls using zh */
  int reopening;
  int starting; /* inside zookeeper_init2: adopt the first event's zh */
  pthread_t cb_thread;
  int cb_thread_known;
  zklock__op ops;              /* list head of waiting ops */
  zklock__held held;           /* list head of held lock nodes */
  struct zklock__bgdel *bgdel; /* deletes to retry on reconnect */
  int zh_gen;                  /* generation of zh, for stale completions */
};

/* Begin/end a blocking call: checks closed/callback thread, replaces an
 * expired session, and pins zh. On success returns the handle to use. */
int zklock__enter(zklock_client *c, zhandle_t **zh, int reopen);
void zklock__leave(zklock_client *c);
/* Marks the session expired (an answer said so before the event came), so
 * the next zklock__enter replaces it. */
void zklock__session_dead(zklock_client *c);
void zklock__client_ref(zklock_client *c);
void zklock__client_unref(zklock_client *c);

/* Links op into c's wait list (mutex held). */
void zklock__op_init(zklock__op *op, zklock_client *c);
void zklock__op_destroy(zklock__op *op); /* mutex held */
/* Waits (client mutex held) until op->pending == 0. */
void zklock__op_wait_pending(zklock_client *c, zklock__op *op);
/* Waits (mutex held) until the op is signalled or the deadline (ms on the
 * monotonic clock, <0 none) passes. Returns 0 if signalled, ETIMEDOUT. */
int zklock__op_wait(zklock_client *c, zklock__op *op, int64_t deadline);
/* Waits (mutex held) for a reconnect after a connection loss seen at
 * generation gen. Returns ZKLOCK_OK, ELOST, ECLOSED or ETIMEDOUT. */
int zklock__wait_connected(zklock_client *c, zklock__op *op, uint64_t gen,
                           int64_t deadline);
int64_t zklock__now_ms(void);

/* Async completions that fill an op (data = op). */
void zklock__create_done(int rc, const char *path, const struct Stat *st,
                         const void *data);
void zklock__children_done(int rc, const struct String_vector *sv,
                           const void *data);
void zklock__get_done(int rc, const char *v, int vlen, const struct Stat *st,
                      const void *data);
void zklock__void_done(int rc, const void *data);

/* Deletes node and waits for the answer (mutex held, zh pinned). On a
 * connection loss the delete is left to the background (retried on
 * reconnect). Returns the ZooKeeper code. */
int zklock__delete_node(zklock_client *c, zhandle_t *zh, zklock__op *op,
                        const char *node);

/* Starts tracking a fresh holder's node (mutex held) and watches it so a
 * foreign deletion turns the lock LOST. */
void zklock__held_link(zklock_client *c, zhandle_t *zh, zklock__held *h);
void zklock__held_unlink(zklock__held *h);
/* Re-arms the own-node watch (after our own setData consumed it). */
void zklock__held_watch(zklock_client *c, zhandle_t *zh, zklock__held *h);
/* Deletes a node we could not confirm yet: by guid under parent. */
/* Mutex held. Deletes node in the background: now if connected, else on
 * reconnect, until done or the session ends. With a guid, node is the
 * lock path and every child carrying that guid is deleted. */
void zklock__bg_delete(zklock_client *c, const char *node, const char *guid);
void zklock__sync_done(int rc, const char *value, const void *data);

const struct ACL_vector *zklock__acl(zklock_client *c);

/* ---- lock queue engine (src/queue.c) ---- */
typedef struct zklock__lock {
  unsigned magic;
  zklock_client *c;
  char *path;
  zklock__held h; /* our node while queued or held */
  char kind;      /* kind of our node: 'x' or 'r' */
  int64_t token;
  int wr_depth;        /* write/exclusive holds */
  int rd_depth;        /* read holds */
  int downgraded;      /* our x node now acts as a reader */
  int lost_create;     /* this attempt lost a create's answer */
  int cancel;          /* zklock_*_cancel: end the (next) wait */
  zklock__op *waiting; /* the op of a wait in progress, to wake */
  char guid[ZKLOCK__GUID_LEN + 1];
} zklock__lock;

/* Allocates a lock handle at path (validated) on client c. */
int zklock__lock_new(zklock_client *c, const char *path, zklock__lock **out);
/* Releases if held and frees; NULL or a dead handle is ignored. */
void zklock__lock_free(zklock__lock *l);
/* Takes a node of kind ('x' or 'r') in the queue. timeout_ms as the API. */
int zklock__lock_acquire(zklock__lock *l, char kind, int timeout_ms);
/* Deletes our node. */
int zklock__lock_release(zklock__lock *l);
/* Marks our x node as a reader (setData) so waiting readers proceed. */
int zklock__lock_downgrade(zklock__lock *l);
/* Cancels a wait in progress (or the next one); any thread. */
int zklock__lock_cancel(zklock__lock *l);
int zklock__lock_fenced_multi(zklock__lock *l, int n, const zoo_op_t *ops,
                              zoo_op_result_t *results);
/* Queries; NULL-safe (-1, UNLOCKED, NULL). */
int64_t zklock__lock_token(const zklock__lock *l);
int zklock__lock_state(const zklock__lock *l);
const char *zklock__lock_node(const zklock__lock *l);
/* ZKLOCK_OK if l is a live handle, else ZKLOCK_EINVAL (NULL-safe). */
int zklock__lock_check(const zklock__lock *l);

#endif
