/*
 * zklock: fair, herd-free ZooKeeper locks for C.
 *
 * One public header. Every function returns ZKLOCK_OK (0) or a negative
 * zklock_err code; zklock_strerror() turns a code into text.
 *
 * Lock recipes create ephemeral sequential znodes under a lock path
 * ("<path>/x-<guid>-0000000042" for exclusive/write, "r-..." for read).
 * Each waiter watches only the node it must wait for next (a writer also
 * the one before it), never the parent: a release wakes the waiter(s) that
 * may proceed and at most one more, which lists ahead of its turn.
 *
 * THREAD SAFETY
 *   - A zklock_client (one ZooKeeper session) may be shared by any number of
 *     threads.
 *   - A zklock_mutex / zklock_rwlock handle is used by one thread at a time
 *     (like a FILE*): lock, unlock and free of the same handle must not run
 *     concurrently. The exception is zklock_*_cancel, which any thread may
 *     call to end a wait. Different handles, even on the same path, are
 *     independent locks: two handles on one path exclude each other.
 *   - Reentrancy is per handle: the holder may lock again and must unlock as
 *     many times.
 *
 * CALLBACKS
 *   State callbacks (zklock_client_opts.on_session / on_lock) run on the
 *   ZooKeeper client's completion thread (exception: LOST notices for a
 *   session that a blocking call replaces before its expiry event came run
 *   on that caller's thread, after the replacement). Keep them short.
 *   From a callback, call only the non-blocking functions (zklock_*_token,
 *   zklock_*_state, zklock_*_mode, zklock_*_node, zklock_*_cancel,
 *   zklock_strerror). Calls that wait for the server on this client (lock,
 *   downgrade, fenced multi, queue list, and unlock with await_release = 1)
 *   return ZKLOCK_EDEADLK there; a default unlock does not wait (pipelined)
 *   and returns ZKLOCK_OK; zklock_client_close is ignored there.
 *   Opening another client from a callback is allowed but blocks the
 *   callback thread.
 *
 * FAULTS
 *   - Session expired: every held lock becomes ZKLOCK_LOCK_LOST, the
 *     on_lock callback fires, tokens read -1 and waits end with ZKLOCK_ELOST.
 *     The next blocking call on the client opens a fresh session. A handle
 *     whose hold was lost answers lock calls with ZKLOCK_ELOST until it is
 *     unlocked (that unlock returns ZKLOCK_ELOST and resets the handle).
 *   - Connection lost (session may survive): held locks become
 *     ZKLOCK_LOCK_UNCERTAIN until the client reconnects (HELD again) or the
 *     session expires (LOST). A careful holder pauses its work while
 *     UNCERTAIN.
 *   - Timeouts, cancellations and failures never leave a lock node behind:
 *     a node whose deletion hits a connection loss is deleted on reconnect
 *     (or vanishes with the session).
 */
#ifndef ZKLOCK_H
#define ZKLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <zookeeper/zookeeper.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define ZKLOCK_EXTERN __attribute__((visibility("default")))
#else
#define ZKLOCK_EXTERN
#endif

#define ZKLOCK_VERSION_MAJOR 0
#define ZKLOCK_VERSION_MINOR 4
#define ZKLOCK_VERSION_PATCH 0
#define ZKLOCK_VERSION_HEX                                                     \
  ((ZKLOCK_VERSION_MAJOR << 16) | (ZKLOCK_VERSION_MINOR << 8) |                \
   ZKLOCK_VERSION_PATCH)
#define ZKLOCK_VERSION_STRING "0.4.0"

/* Version of the library actually linked (compare with ZKLOCK_VERSION_HEX). */
ZKLOCK_EXTERN unsigned zklock_version(void);
ZKLOCK_EXTERN const char *zklock_version_string(void);

/* Error codes, written once: XX(name, value, message). */
#define ZKLOCK_ERRNO_MAP(XX)                                                   \
  XX(OK, 0, "success")                                                         \
  XX(EINVAL, -1, "invalid argument")                                           \
  XX(ETIMEDOUT, -2, "timed out waiting for the lock")                          \
  XX(EBUSY, -3, "lock is held by another owner")                               \
  XX(ELOST, -4, "lock lost (session expired or node deleted)")                 \
  XX(ECONNLOSS, -5, "connection to ZooKeeper lost (outcome unknown)")          \
  XX(ENOTHELD, -6, "lock is not held by this handle")                          \
  XX(ECLOSED, -7, "client is closed")                                          \
  XX(ENOMEM, -8, "out of memory")                                              \
  XX(EAUTH, -9, "not authorized (ZooKeeper ACL or authentication)")            \
  XX(EDEADLK, -10, "blocking call from a zklock callback thread")              \
  XX(EZK, -11, "ZooKeeper error (see zklock_last_zk_error)")                   \
  XX(EUPGRADE, -12, "read-to-write upgrade would deadlock; unlock first")      \
  XX(EPATH, -13, "invalid lock path")                                          \
  XX(ECANCELED, -14, "wait cancelled")                                         \
  XX(EFOREIGN, -15,                                                            \
     "lock path has nodes of another lock library; use the matching "          \
     "compat profile")                                                         \
  XX(EPERMITS, -16,                                                            \
     "semaphore permit count differs from the one stored at "                  \
     "its path")                                                               \
  XX(ENOLEADER, -17, "no candidate at this election path")                     \
  XX(EALREADY, -18, "this handle already holds it (or is acquiring it)")       \
  XX(EKIND, -19,                                                               \
     "lock path is used by another kind of zklock recipe (a lock next to a "   \
     "semaphore)")                                                             \
  XX(ERANGE, -20, "buffer too small for the value (see the man page)")         \
  XX(ENOTSUP, -21,                                                             \
     "not supported by this build (TLS needs a libzookeeper built with "       \
     "OpenSSL)")

typedef enum {
#define ZKLOCK_XX_(name, val, msg) ZKLOCK_##name = (val),
  ZKLOCK_ERRNO_MAP(ZKLOCK_XX_)
#undef ZKLOCK_XX_
} zklock_err;

/* Text for a zklock_err; never NULL (unknown codes give "unknown error"). */
ZKLOCK_EXTERN const char *zklock_strerror(int err);
/* Symbolic name ("ZKLOCK_ETIMEDOUT"); never NULL. */
ZKLOCK_EXTERN const char *zklock_err_name(int err);
/* The ZooKeeper return code (ZOK, ZNOAUTH, ...) behind the last error this
 * thread got from zklock, or ZOK. */
ZKLOCK_EXTERN int zklock_last_zk_error(void);

typedef struct zklock_client zklock_client; /* one ZooKeeper session */
typedef struct zklock_mutex zklock_mutex;   /* exclusive lock at a path */
typedef struct zklock_rwlock zklock_rwlock; /* shared/exclusive lock */

typedef enum {
  ZKLOCK_SESSION_CONNECTING = 0, /* (re)connecting; session may survive */
  ZKLOCK_SESSION_CONNECTED = 1,
  ZKLOCK_SESSION_EXPIRED = 2, /* all locks of this session are lost */
  ZKLOCK_SESSION_AUTH_FAILED = 3,
  ZKLOCK_SESSION_CLOSED = 4
} zklock_session_state;

typedef enum {
  ZKLOCK_LOCK_UNLOCKED = 0,  /* not held by this handle */
  ZKLOCK_LOCK_HELD = 1,      /* held and the session is connected */
  ZKLOCK_LOCK_UNCERTAIN = 2, /* held, but disconnected: may yet be lost */
  ZKLOCK_LOCK_LOST = 3,      /* session expired or node deleted by others */
  /* Only in on_lock notices, never a handle's state: another client asked
   * this holder to let go (zklock_revoke). The hold stays until unlocked. */
  ZKLOCK_LOCK_REVOKE_REQUESTED = 4,
  /* An acquisition is in flight on this handle (queued, or on its way):
   * not held yet. */
  ZKLOCK_LOCK_WAITING = 5
} zklock_lock_state;

typedef void (*zklock_session_cb)(zklock_client *c, zklock_session_state st,
                                  void *arg);
/* path is the lock path; node the full path of this holder's lock node. */
typedef void (*zklock_lock_cb)(zklock_client *c, const char *path,
                               const char *node, zklock_lock_state st,
                               void *arg);
/* Per-handle listener (zklock_mutex_set_listener and the like): handle is
 * the handle it was set on, state a zklock_lock_state: HELD on a grant
 * (an election: leading) and again on reconnect, UNCERTAIN, LOST,
 * REVOKE_REQUESTED, and UNLOCKED when the hold ends. Runs in the order of
 * the changes on the library's service thread, or from
 * zklock_client_dispatch in loop mode (see dispatch), never with the
 * library's locks held, never after the handle's free returned (freeing
 * from inside it is allowed). */
typedef void (*zklock_listener_cb)(void *handle, int state, void *arg);

/* Accepted zklock_client_opts timeouts (zklock_client_open answers
 * ZKLOCK_EINVAL outside them). Until the server negotiates it, the
 * requested session timeout also bounds the ZooKeeper C client's
 * connection handshake: 1 or 2 ms fail even on loopback, and below 100 ms
 * a handshake is at the mercy of one network round trip. From 2^30 ms the
 * client's arithmetic on the timeout overflows. Servers clamp the session
 * timeout to [2, 20] ticks anyway (4 s .. 40 s with the default tickTime),
 * so an hour is far beyond what one grants; the connect timeout is capped
 * alike so that a mistaken huge value cannot make zklock_client_open hang
 * for days. */
#define ZKLOCK_SESSION_TIMEOUT_MIN_MS 100
#define ZKLOCK_SESSION_TIMEOUT_MAX_MS 3600000
#define ZKLOCK_CONNECT_TIMEOUT_MAX_MS 3600000

/* zklock_client_opts.dispatch: where callbacks run. */
typedef enum {
  ZKLOCK_DISPATCH_THREAD = 0,
  ZKLOCK_DISPATCH_LOOP = 1
} zklock_dispatch;

/* zklock_client_opts.compat: the naming profile. */
typedef enum {
  ZKLOCK_COMPAT_NATIVE = 0,
  ZKLOCK_COMPAT_CURATOR = 1,
  ZKLOCK_COMPAT_KAZOO = 2
} zklock_compat;

typedef struct zklock_client_opts {
  /* 0: 10000, else within [ZKLOCK_SESSION_TIMEOUT_MIN_MS,
   * ZKLOCK_SESSION_TIMEOUT_MAX_MS]. The server clamps it to its limits. */
  int session_timeout_ms;
  /* 0: 15000, else at most ZKLOCK_CONNECT_TIMEOUT_MAX_MS.
   * zklock_client_open gives up after it. */
  int connect_timeout_ms;
  const char *auth; /* "user:password" digest credentials, or NULL */
  /* ACL for nodes zklock creates. NULL: with auth, creator-all + world-read;
   * without auth, world:anyone (open). */
  const struct ACL_vector *acl;
  const char *owner_text; /* free text stored in lock nodes (<=256 bytes) */
  zklock_session_cb on_session;
  zklock_lock_cb on_lock;
  void *cb_arg;
  /* ZooKeeper client log lines go here; NULL drops them. */
  void (*log)(const char *message);
  /* Where callbacks run: ZKLOCK_DISPATCH_THREAD (0) on the ZooKeeper
   * completion thread or the library's service thread;
   * ZKLOCK_DISPATCH_LOOP queued for zklock_client_dispatch on the
   * application's own thread (zklock_client_fd turns readable). */
  zklock_dispatch dispatch;
  /* 0 (default): unlock hands the delete to the session and returns at
   * once (pipelined release; the next request of this client queues
   * behind it). 1: unlock waits for the server's answer. */
  int await_release;
  /* Naming profile: ZKLOCK_COMPAT_NATIVE (0), _CURATOR or _KAZOO, to share
   * lock paths with those libraries' processes. */
  zklock_compat compat;
  /* TLS to the servers' secureClientPort (all NULL: plain TCP). PEM files:
   * the CA that signed the servers' certificates, this client's
   * certificate (chain) and private key; the key's password or NULL. CA,
   * certificate and key go together; no commas (the ZooKeeper C client's
   * "ca,cert,key,password" spec). A client without TLS (zookeeper_init_ssl)
   * answers ZKLOCK_ENOTSUP; an unreadable file ZKLOCK_EINVAL; a handshake
   * the servers or this client refuse ZKLOCK_ECONNLOSS after the connect
   * timeout, with zklock_last_zk_error() ZSSLCONNECTIONERROR. */
  const char *tls_ca;
  const char *tls_cert;
  const char *tls_key;
  const char *tls_key_password;
} zklock_client_opts;

/* A try (timeout 0) waits at most this long for the servers' answers; with
 * no answer at all it returns ZKLOCK_ECONNLOSS, not ZKLOCK_EBUSY. A bounded
 * wait, so a try never blocks for a session timeout while the ensemble is
 * unreachable, yet long enough for a round trip to a distant or busy
 * server. */
#define ZKLOCK_TRY_WAIT_MS 1000

/* Completion of an asynchronous call. rc is what the blocking form would
 * have returned. A call that returns ZKLOCK_OK calls it exactly once; one
 * that returns an error never does. Where it runs: see dispatch. */
typedef void (*zklock_done_cb)(int rc, void *arg);

/* opts may be NULL for defaults. On success *out is a connected client. */
ZKLOCK_EXTERN int zklock_client_open(const char *hosts,
                                     const zklock_client_opts *opts,
                                     zklock_client **out);
/* Ends the session (its lock nodes go with it) and wakes any waiter with
 * ZKLOCK_ECLOSED. Lock handles stay valid (every call returns ECLOSED)
 * until freed. NULL is fine. Must not be called from a callback: there
 * (including a callback run by zklock_client_dispatch) it is ignored.
 * The client pointer is invalid after this call: do not pass it to any
 * function again (its memory goes with the last lock handle freed, or at
 * once when there is none). */
ZKLOCK_EXTERN void zklock_client_close(zklock_client *c);
/* Loop mode (ZKLOCK_DISPATCH_LOOP): an fd that is readable while
 * callbacks are queued (poll it for POLLIN), and the call that runs them on
 * the calling thread, in order. dispatch returns how many ran or an error
 * (ZKLOCK_EINVAL in thread mode). Both ZKLOCK_ECLOSED after close. */
ZKLOCK_EXTERN int zklock_client_fd(zklock_client *c);
ZKLOCK_EXTERN int zklock_client_dispatch(zklock_client *c);
/* The underlying handle, for the application's own znode work. It changes
 * when an expired session is replaced; do not close it. */
ZKLOCK_EXTERN zhandle_t *zklock_client_zhandle(zklock_client *c);
ZKLOCK_EXTERN zklock_session_state zklock_client_state(const zklock_client *c);
/* Session id of the current session (0 if none). */
ZKLOCK_EXTERN int64_t zklock_client_session_id(const zklock_client *c);

/* ---- statistics (src/stats.c) ----
 * Always on and cheap: a few increments under the client mutex per
 * acquisition. Counters run from zklock_client_open; gauges are now.
 * Histograms count microseconds in log2 buckets: bucket 0 is [0, 2),
 * bucket i is [2^i, 2^(i+1)), the last also holds everything longer
 * (2^31 us is about 36 minutes). The struct starts with its size and may
 * grow at its end in later versions: set out->size = sizeof *out; the
 * library fills as much as both it and the caller know (zeros past its
 * own part) and sets size to the bytes it filled. */
#define ZKLOCK_STATS_BUCKETS 32
typedef struct zklock_stats {
  size_t size; /* in: sizeof(zklock_stats) as the caller knows it */
  /* acquisitions granted, by recipe (a multi-lock counts each path) */
  uint64_t acquired_mutex;
  uint64_t acquired_read;  /* zklock_rwlock read side */
  uint64_t acquired_write; /* zklock_rwlock write side */
  uint64_t acquired_semaphore;
  uint64_t acquired_election; /* campaigns won */
  uint64_t busy;              /* tries (timeout 0) that found it taken */
  uint64_t timeouts;
  uint64_t cancels;
  uint64_t failures;    /* waits ended by another error (ELOST, ...) */
  uint64_t locks_lost;  /* holds that turned ZKLOCK_LOCK_LOST */
  uint64_t revocations; /* revocation requests holders got */
  uint64_t session_expiries;
  uint64_t reconnects;   /* connections made after the first */
  uint64_t requests;     /* requests sent to ZooKeeper */
  uint64_t watch_events; /* node events ZooKeeper delivered */
  /* gauges */
  int64_t held;    /* holds now (reentrant locks count once) */
  int64_t waiting; /* acquisitions in flight now */
  /* from the call to the grant, for granted acquisitions */
  uint64_t wait_us[ZKLOCK_STATS_BUCKETS];
  uint64_t wait_us_sum;
  /* from the grant to the unlock (or free), lost holds included */
  uint64_t hold_us[ZKLOCK_STATS_BUCKETS];
  uint64_t hold_us_sum;
  /* Handoffs (since 0.4): grants that followed the going of the node a
   * lock waiter had to outlast last, by the reads sent between that delete
   * and the grant: [0] none (the delete itself granted), [1], [2], [3] three
   * or more. */
  uint64_t handoff_reads[4];
} zklock_stats;

/* Copies the statistics of c into *out (out->size set by the caller; at
 * least offsetof(zklock_stats, acquired_mutex) + 8). ZKLOCK_OK, or
 * ZKLOCK_EINVAL (NULL, closed client, size too small). Any thread, also
 * from a callback. */
ZKLOCK_EXTERN int zklock_client_stats(zklock_client *c, zklock_stats *out);

/* ---- exclusive mutex (recipes/mutex.c) ----
 * timeout_ms: < 0 waits forever, 0 tries once (like trylock), > 0 gives up
 * after that many milliseconds with ZKLOCK_ETIMEDOUT, whatever the servers
 * do (a call returns within about timeout_ms + 250 ms even while no server
 * answers). A try (timeout 0, trylock, tryrdlock, trywrlock) waits at most
 * ZKLOCK_TRY_WAIT_MS for the server's answer and returns ZKLOCK_ECONNLOSS
 * if none came. A request answered after the call gave up leaves no lock
 * node behind: it is deleted when the answer arrives. */
ZKLOCK_EXTERN int zklock_mutex_new(zklock_client *c, const char *path,
                                   zklock_mutex **out);
ZKLOCK_EXTERN int zklock_mutex_lock(zklock_mutex *m, int timeout_ms);
ZKLOCK_EXTERN int zklock_mutex_trylock(zklock_mutex *m);
ZKLOCK_EXTERN int zklock_mutex_unlock(zklock_mutex *m);
/* Asynchronous forms: return at once; done(rc) follows exactly once when
 * they return ZKLOCK_OK. One acquisition per handle at a time
 * (ZKLOCK_EBUSY otherwise). Freeing a handle with a pending acquisition
 * ends it with ZKLOCK_ECANCELED. unlock's done may be NULL. */
ZKLOCK_EXTERN int zklock_mutex_lock_async(zklock_mutex *m, int timeout_ms,
                                          zklock_done_cb done, void *arg);
ZKLOCK_EXTERN int zklock_mutex_unlock_async(zklock_mutex *m,
                                            zklock_done_cb done, void *arg);
/* Fencing token of the current hold (the lock node's czxid): strictly
 * increasing across all holders. -1 when not held or lost. */
ZKLOCK_EXTERN int64_t zklock_mutex_token(const zklock_mutex *m);
ZKLOCK_EXTERN zklock_lock_state zklock_mutex_state(const zklock_mutex *m);
/* Full path of this handle's lock node while held or queued, else NULL. */
ZKLOCK_EXTERN const char *zklock_mutex_node(const zklock_mutex *m);
/* Run ops atomically only while this lock is still held: a multi of
 * check(lock node) followed by ops. results has room for n entries (may be
 * NULL). Returns ZKLOCK_ELOST if the lock node is gone. n = 0 (ops and
 * results may be NULL) only checks, on the server, that the lock is still
 * held: ZKLOCK_OK or ZKLOCK_ELOST. */
ZKLOCK_EXTERN int zklock_mutex_fenced_multi(zklock_mutex *m, int n,
                                            const zoo_op_t *ops,
                                            zoo_op_result_t *results);
/* Makes a wait in zklock_mutex_lock on m return ZKLOCK_ECANCELED (its
 * queue node is removed), from any thread; if m is not waiting, its next
 * lock call returns ZKLOCK_ECANCELED at once. The one call that may run
 * concurrently with another call on the same handle. */
ZKLOCK_EXTERN int zklock_mutex_cancel(zklock_mutex *m);
/* Sets (cb NULL: removes) m's listener (see zklock_listener_cb); the one
 * it replaces runs no more once this returns. ZKLOCK_EINVAL on a bad
 * handle. The client's on_lock is called as before. */
ZKLOCK_EXTERN int zklock_mutex_set_listener(zklock_mutex *m,
                                            zklock_listener_cb cb, void *arg);
/* Releases the lock if held. NULL is fine. */
ZKLOCK_EXTERN void zklock_mutex_free(zklock_mutex *m);

/* ---- read-write lock (recipes/rwlock.c) ----
 * Readers share; a writer excludes everyone, including zklock_mutex holders
 * at the same path. A reader waits only for the nearest earlier writer, a
 * writer for the nearest earlier node of any kind: FIFO-fair, so a queued
 * writer is never starved by later readers.
 * Reentrancy: a writer may also take read holds; taking write while holding
 * only read returns ZKLOCK_EUPGRADE at once (an upgrade can deadlock).
 * unlock releases a read hold if any, else a write hold; the node goes when
 * the last hold goes. To go from write to read without a gap, call
 * zklock_rwlock_downgrade. */
ZKLOCK_EXTERN int zklock_rwlock_new(zklock_client *c, const char *path,
                                    zklock_rwlock **out);
ZKLOCK_EXTERN int zklock_rwlock_rdlock(zklock_rwlock *l, int timeout_ms);
ZKLOCK_EXTERN int zklock_rwlock_wrlock(zklock_rwlock *l, int timeout_ms);
ZKLOCK_EXTERN int zklock_rwlock_tryrdlock(zklock_rwlock *l);
ZKLOCK_EXTERN int zklock_rwlock_trywrlock(zklock_rwlock *l);
ZKLOCK_EXTERN int zklock_rwlock_rdlock_async(zklock_rwlock *l, int timeout_ms,
                                             zklock_done_cb done, void *arg);
ZKLOCK_EXTERN int zklock_rwlock_wrlock_async(zklock_rwlock *l, int timeout_ms,
                                             zklock_done_cb done, void *arg);
ZKLOCK_EXTERN int zklock_rwlock_unlock_async(zklock_rwlock *l,
                                             zklock_done_cb done, void *arg);
/* Write -> read without ever letting another writer in; never waits for
 * other holders (one round trip). */
ZKLOCK_EXTERN int zklock_rwlock_downgrade(zklock_rwlock *l);
ZKLOCK_EXTERN int zklock_rwlock_unlock(zklock_rwlock *l);
ZKLOCK_EXTERN int64_t zklock_rwlock_token(const zklock_rwlock *l);
ZKLOCK_EXTERN zklock_lock_state zklock_rwlock_state(const zklock_rwlock *l);
/* 'w' holding write, 'r' holding read only, 0 not held. */
ZKLOCK_EXTERN int zklock_rwlock_mode(const zklock_rwlock *l);
ZKLOCK_EXTERN const char *zklock_rwlock_node(const zklock_rwlock *l);
/* As zklock_mutex_cancel, for rdlock/wrlock waits. */
ZKLOCK_EXTERN int zklock_rwlock_cancel(zklock_rwlock *l);
/* As zklock_mutex_fenced_multi (n = 0 included), for a read or write
 * hold. */
ZKLOCK_EXTERN int zklock_rwlock_fenced_multi(zklock_rwlock *l, int n,
                                             const zoo_op_t *ops,
                                             zoo_op_result_t *results);
/* As zklock_mutex_set_listener. */
ZKLOCK_EXTERN int zklock_rwlock_set_listener(zklock_rwlock *l,
                                             zklock_listener_cb cb, void *arg);
ZKLOCK_EXTERN void zklock_rwlock_free(zklock_rwlock *l);

/* ---- semaphore (recipes/semaphore.c) ----
 * At most `permits` handles hold a lease at once; waiters are served first
 * come, first served, and a release wakes at most one waiter. Every
 * participant at a path must use the same count (stored at the path;
 * a different one gives ZKLOCK_EPERMITS). permits: 1..1000000. A handle
 * holds at most one lease: acquire while holding returns ZKLOCK_EBUSY
 * (as a try on a full semaphore does). The token is the lease node's
 * czxid: unique, and increasing in the order the waiters queued. */
typedef struct zklock_semaphore zklock_semaphore;
ZKLOCK_EXTERN int zklock_semaphore_new(zklock_client *c, const char *path,
                                       int permits, zklock_semaphore **out);
ZKLOCK_EXTERN int zklock_semaphore_acquire(zklock_semaphore *s, int timeout_ms);
ZKLOCK_EXTERN int zklock_semaphore_acquire_async(zklock_semaphore *s,
                                                 int timeout_ms,
                                                 zklock_done_cb done,
                                                 void *arg);
ZKLOCK_EXTERN int zklock_semaphore_release(zklock_semaphore *s);
/* acquire(s, 0): a lease at once or ZKLOCK_EBUSY (no node left). */
ZKLOCK_EXTERN int zklock_semaphore_tryacquire(zklock_semaphore *s);
/* As zklock_mutex_unlock_async. */
ZKLOCK_EXTERN int zklock_semaphore_release_async(zklock_semaphore *s,
                                                 zklock_done_cb done,
                                                 void *arg);
/* The lease node while queued or held, else NULL (as zklock_mutex_node). */
ZKLOCK_EXTERN const char *zklock_semaphore_node(const zklock_semaphore *s);
ZKLOCK_EXTERN int64_t zklock_semaphore_token(const zklock_semaphore *s);
ZKLOCK_EXTERN zklock_lock_state
zklock_semaphore_state(const zklock_semaphore *s);
ZKLOCK_EXTERN int zklock_semaphore_cancel(zklock_semaphore *s);
/* As zklock_mutex_set_listener, for the lease. */
ZKLOCK_EXTERN int zklock_semaphore_set_listener(zklock_semaphore *s,
                                                zklock_listener_cb cb,
                                                void *arg);
ZKLOCK_EXTERN void zklock_semaphore_free(zklock_semaphore *s);

/* ---- leader election (recipes/election.c) ----
 * Candidates queue at path; the earliest leads until it resigns or its
 * session ends. id (1..255 bytes of UTF-8, no control characters) is
 * stored in the candidate's node for others to read. campaign returns
 * ZKLOCK_OK once this candidate leads (state HELD); timeouts as for
 * locks; ZKLOCK_EBUSY while already campaigning or leading. resign gives
 * up the lead, or withdraws a campaign in progress (it ends with
 * ZKLOCK_ECANCELED) from any thread. The token is the term: strictly
 * increasing from one leader to the next. */
typedef struct zklock_election zklock_election;
typedef struct zklock_observer zklock_observer;
ZKLOCK_EXTERN int zklock_election_new(zklock_client *c, const char *path,
                                      const char *id, zklock_election **out);
ZKLOCK_EXTERN int zklock_election_campaign(zklock_election *e, int timeout_ms);
ZKLOCK_EXTERN int zklock_election_campaign_async(zklock_election *e,
                                                 int timeout_ms,
                                                 zklock_done_cb done,
                                                 void *arg);
ZKLOCK_EXTERN int zklock_election_resign(zklock_election *e);
/* Lead at once or ZKLOCK_EBUSY (another candidate leads); no node is
 * left behind. */
ZKLOCK_EXTERN int zklock_election_trycampaign(zklock_election *e);
/* As zklock_election_resign; done runs once (see zklock_done_cb). While
 * still campaigning this withdraws: the campaign ends with
 * ZKLOCK_ECANCELED and done gets ZKLOCK_OK. */
ZKLOCK_EXTERN int zklock_election_resign_async(zklock_election *e,
                                               zklock_done_cb done, void *arg);
/* Ends a campaign in progress (or the next one) with ZKLOCK_ECANCELED;
 * any thread. */
ZKLOCK_EXTERN int zklock_election_cancel(zklock_election *e);
/* The candidate node while campaigning or leading, else NULL. */
ZKLOCK_EXTERN const char *zklock_election_node(const zklock_election *e);
ZKLOCK_EXTERN zklock_lock_state zklock_election_state(const zklock_election *e);
ZKLOCK_EXTERN int64_t zklock_election_token(const zklock_election *e);
/* The current leader's id into id (len bytes; ZKLOCK_ELECTION_ID_MAX + 1
 * = 256 always suffice, a smaller buffer that does not fit gives
 * ZKLOCK_ERANGE; id may be NULL with len 0). ZKLOCK_ENOLEADER when there
 * is no candidate. */
#define ZKLOCK_ELECTION_ID_MAX 255
ZKLOCK_EXTERN int zklock_election_leader(zklock_client *c, const char *path,
                                         char *id, size_t len);
/* Follows the leadership without campaigning: cb(leader_id, term, arg) on
 * every change of leader, cb(NULL, -1, arg) when there is none (the first
 * call tells the state found). Runs like other callbacks (see
 * dispatch). zklock_observer_free stops it: no call starts after it
 * returns, and one running on another thread is waited for (freeing from
 * inside cb is allowed). */
typedef void (*zklock_observer_cb)(const char *leader_id, int64_t term,
                                   void *arg);
ZKLOCK_EXTERN int zklock_election_observe(zklock_client *c, const char *path,
                                          zklock_observer_cb cb, void *arg,
                                          zklock_observer **out);
ZKLOCK_EXTERN void zklock_observer_free(zklock_observer *o);
/* As zklock_mutex_set_listener: HELD when e leads, UNLOCKED when it
 * resigns. */
ZKLOCK_EXTERN int zklock_election_set_listener(zklock_election *e,
                                               zklock_listener_cb cb,
                                               void *arg);
ZKLOCK_EXTERN void zklock_election_free(zklock_election *e);

/* ---- multi-lock (recipes/multilock.c) ----
 * Locks on n paths (1..64, no duplicates), taken all or none.
 * Deadlock-free whatever order callers list the paths in: every handle
 * takes them in one global order (path bytes). timeout_ms covers the whole
 * call (< 0 forever, 0 tries each once); on failure nothing stays held or
 * queued. Not reentrant: lock while held returns ZKLOCK_EALREADY. */
typedef struct zklock_multilock zklock_multilock;
/* Every path exclusive (as a zklock_mutex). */
ZKLOCK_EXTERN int zklock_multilock_new(zklock_client *c,
                                       const char *const *paths, int n,
                                       zklock_multilock **out);
/* modes[i] (n chars, no NUL needed) for paths[i]: 'x' exclusive, 'r'
 * shared (a reader, as zklock_rwlock_rdlock: excludes writers and mutexes
 * at that path, not readers); anything else is ZKLOCK_EINVAL. */
ZKLOCK_EXTERN int zklock_multilock_new_modes(zklock_client *c,
                                             const char *const *paths,
                                             const char *modes, int n,
                                             zklock_multilock **out);
ZKLOCK_EXTERN int zklock_multilock_lock(zklock_multilock *ml, int timeout_ms);
ZKLOCK_EXTERN int zklock_multilock_unlock(zklock_multilock *ml);
/* lock(ml, 0): every member at once or ZKLOCK_EBUSY, none held. */
ZKLOCK_EXTERN int zklock_multilock_trylock(zklock_multilock *ml);
/* The lock as a completion (see zklock_done_cb): the members are taken in
 * path order on the engine, then confirmed with the server in one round
 * trip; done gets ZKLOCK_OK only if every member is held on the current
 * session at that moment; otherwise every member is released and done
 * gets ZKLOCK_ELOST (also when the confirmation got no answer). */
ZKLOCK_EXTERN int zklock_multilock_lock_async(zklock_multilock *ml,
                                              int timeout_ms,
                                              zklock_done_cb done, void *arg);
/* Releases every member; done (may be NULL) runs once, with the first
 * error of the members' releases. */
ZKLOCK_EXTERN int zklock_multilock_unlock_async(zklock_multilock *ml,
                                                zklock_done_cb done, void *arg);
/* Ends a lock call under way (or the next one) with ZKLOCK_ECANCELED;
 * any thread. Nothing stays held. */
ZKLOCK_EXTERN int zklock_multilock_cancel(zklock_multilock *ml);
/* WAITING while a lock call is under way; HELD while every member is;
 * UNCERTAIN or LOST as the worst member; UNLOCKED otherwise. */
ZKLOCK_EXTERN zklock_lock_state
zklock_multilock_state(const zklock_multilock *ml);
/* Fencing token of paths[i] (the caller's order); -1 if not held. */
ZKLOCK_EXTERN int64_t zklock_multilock_token(const zklock_multilock *ml, int i);
/* As zklock_mutex_set_listener, for the whole: HELD once every member is
 * held and confirmed, then UNCERTAIN or LOST as the worst member (HELD
 * again when all are back), REVOKE_REQUESTED for any member, UNLOCKED
 * once on unlock; nothing while the members are being taken. */
ZKLOCK_EXTERN int zklock_multilock_set_listener(zklock_multilock *ml,
                                                zklock_listener_cb cb,
                                                void *arg);
/* Releases the locks if held. NULL is fine. */
ZKLOCK_EXTERN void zklock_multilock_free(zklock_multilock *ml);

/* ---- cooperative revocation (src/revoke.c) ----
 * Asks the exclusive holder (mutex or writer, also a downgraded one) of
 * path to let go, the leader of an election path to resign, or every
 * current lease holder of a semaphore path to release: its on_lock callback
 * (and listener) gets ZKLOCK_LOCK_REVOKE_REQUESTED. The hold stays until
 * the holder lets go. ZKLOCK_ENOTHELD if no node is queued or readers hold
 * the lock. */
ZKLOCK_EXTERN int zklock_revoke(zklock_client *c, const char *path);

/* ---- inspection (for tools and tests) ---- */
typedef struct zklock_node_info {
  char kind;        /* 'x' (exclusive/write), 'r' (read), 's' (lease) */
  int32_t seq;      /* sequence number ZooKeeper assigned */
  int64_t token;    /* czxid */
  int64_t ctime_ms; /* creation time, ms since the epoch */
  int64_t owner_session;
  int holder;      /* 1 if this node currently holds the lock */
  char name[96];   /* node name under the lock path */
  char owner[320]; /* owner data ("host=..\npid=..\n..."), NUL-terminated */
  /* Library whose naming the node follows: "zklock", or for a node zklock
   * does not own, "Curator", "kazoo", "ZooKeeper recipes" or "unknown"
   * (listed last, holder 0: acquiring there returns ZKLOCK_EFOREIGN). */
  char library[24];
  int permits; /* kind 's' (semaphore lease): the path's permit count */
} zklock_node_info;

/* Lists the lock queue at path in order (holders first). *out is malloc'd
 * (free() it); *n is its length. Nodes that vanish while listed are left
 * out. */
ZKLOCK_EXTERN int zklock_queue_list(zklock_client *c, const char *path,
                                    zklock_node_info **out, int *n);

/* Every lock path under root ("/" for the whole tree; root itself
 * included), in byte order of the paths: cb(path, nodes, n, arg) with the
 * queue exactly as zklock_queue_list gives it (n > 0; nodes valid during
 * the call only). A lock path is a node with a child named like a lock
 * node of zklock or of a library a profile knows; /zookeeper is skipped.
 * What these credentials may not read is left out (an unreadable root
 * gives ZKLOCK_EAUTH).
 * cb returns 0 to go on; any other value stops the walk and is returned.
 * Not a snapshot: each path is listed at its own moment. */
ZKLOCK_EXTERN int zklock_queue_walk(zklock_client *c, const char *root,
                                    int (*cb)(const char *path,
                                              const zklock_node_info *nodes,
                                              int n, void *arg),
                                    void *arg);

/* ---- deadlock detection (src/deadlock.c) ----
 * A cycle of n sessions in the wait-for graph: session sessions[i] waits
 * at paths[i] (its queued node nodes[i], waiting for wait_ms) for
 * sessions[(i + 1) % n], which holds paths[i] with holder_nodes[i].
 * hosts, pids and owners come from session i's node data ("" / 0 when
 * absent). Every array has n entries; all of it is valid only during the
 * callback. Later versions may append members (never reorder them). */
typedef struct zklock_cycle {
  int n;
  const int64_t *sessions; /* ephemeralOwner of the nodes */
  const char *const *paths;
  const char *const *nodes;        /* waiting node names under paths[i] */
  const char *const *holder_nodes; /* the next session's holding node */
  const char *const *hosts;
  const int64_t *pids;
  const char *const *owners; /* the whole owner text of nodes[i] */
  const int64_t *wait_ms;
} zklock_cycle;

/* Scans every lock under root twice (see zklock_queue_walk) and calls
 * cb(cycle, arg) for each cycle of waiting sessions seen in both scans
 * (the listing is not atomic across paths: a cycle in one scan alone may
 * be an artefact of its timing). Returns the number of cycles (0: none),
 * or a negative zklock_err. cb may be NULL to count only. */
ZKLOCK_EXTERN int
zklock_find_deadlocks(zklock_client *c, const char *root,
                      void (*cb)(const zklock_cycle *cy, void *arg), void *arg);

/* Checks a lock path: absolute, no empty, "." or ".." components, no
 * trailing slash, not under /zookeeper, valid UTF-8 without control
 * characters, at most ZKLOCK_PATH_MAX bytes, and nothing ZooKeeper's
 * server refuses (U+007F..U+009F, U+E000..U+F8FF, U+FFF0 and up: every
 * character outside the BMP). ZKLOCK_OK or ZKLOCK_EPATH. */
#define ZKLOCK_PATH_MAX 1024
ZKLOCK_EXTERN int zklock_path_validate(const char *path);

#ifdef __cplusplus
}
#endif
#endif /* ZKLOCK_H */
