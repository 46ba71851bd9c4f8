/* zkfault: mutual-exclusion and lost-update checker under injected faults.
 *
 * N worker processes loop acquire -> critical section -> release on one
 * lock path, with the lock kind given by --lock (kinds[]: mutex, rwlock,
 * and deliberately broken variants the checker must catch). Each hold
 * appends a record (token, mode, pid, enter / downgrade / exit time on
 * CLOCK_MONOTONIC, shared by all processes of the machine) to shared
 * memory. A write hold does two read-modify-writes:
 *   - a counter znode, written with the kind's fenced multi (check of the
 *     lock node + setData with the version read): a failed version check
 *     means someone else wrote inside "our" section;
 *   - a counter in a local file, read at entry and written at exit with no
 *     other guard than the lock: overlapping sections lose increments.
 * A read hold (and the read part of a downgraded write hold) reads the file
 * counter at its start and end: a change means a writer got in.
 * Meanwhile this process injects faults (seeded, at random intervals): kill
 * -9 / SIGSTOP of ZooKeeper servers, restart of the whole ensemble, session
 * expiry, kill -9 of the holder, (through tests/fault/zkproxy) dropped
 * connections, delays, swallowed create replies and partitions, and
 * (through the peer proxy of ensemble.sh ZK_PEER_PROXY) the leader or a
 * follower cut off from the other servers while clients stay connected.
 *
 * A hold counts as "lost" when the holder could have known it was in doubt:
 * the on_lock callback reported UNCERTAIN/LOST, the session changed state,
 * the state read at exit was not HELD, the fenced write said ELOST, the
 * downgrade or the unlock did not return OK. Lost holds may overlap (that
 * is what fencing is for); the checker reports, among all other holds:
 *   overlaps        a write hold intersecting any other hold in time, a
 *                   read hold intersecting a write hold
 *   token order     a token not above the last earlier write hold's
 *   read changes    the file counter changed under a read hold
 *   lost updates    file increments lost; znode version conflicts
 *   orphans         lock nodes left by live sessions after every worker
 *                   released, and any node left after every session ended
 *   recovery        time from each fault to the next successful acquire
 * It exits 0 if the figures match --expect (clean: none; violations: some).
 *
 * Run `zkfault --help` for options; tests/fault/test_fault.sh runs it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "naive.h"
#include "zklock.h"

extern char **environ;

#define MAXW 64
#define MAX_FAULTS 4096
#define MAXP 3 /* lock paths of a run (multilock kinds use all three) */

/* R_PAUSED: the acquire call that began the hold spanned a pause-worker
 * fault (the process was stopped past its session timeout inside it). */
enum {
  R_LOST = 1,
  R_KILLED = 2,
  R_OPEN = 4,
  R_WROTE = 8,
  R_NOTOKEN = 16,
  R_PAUSED = 32
};

/* One hold. mode 'w' (exclusive), 'r' (shared) or 's' (one of the kind's
 * permits); a downgraded hold is 'w' from enter to down and 'r' from down
 * to exit. */
typedef struct {
  int64_t token;
  int64_t enter_ns, down_ns, exit_ns;
  int32_t worker, pid;
  _Atomic int32_t flags;
  int32_t mode;
  int32_t paths;      /* bit p: the hold covers S->paths[p] */
  int64_t ptok[MAXP]; /* token on each path it covers */
} rec_t;

#define COUNTERS(X)                                                            \
  X(acquires)                                                                  \
  X(timeouts)                                                                  \
  X(busy)                                                                      \
  X(elost)                                                                     \
  X(econnloss)                                                                 \
  X(eother)                                                                    \
  X(lost_holds)                                                                \
  X(unlock_err)                                                                \
  X(zk_ok)                                                                     \
  X(zk_badversion)                                                             \
  X(zk_regress)                                                                \
  X(zk_doubt)                                                                  \
  X(async_late)                                                                \
  X(zk_fenced)                                                                 \
  X(zk_unknown)                                                                \
  X(zk_other)                                                                  \
  X(file_incs)                                                                 \
  X(file_incs_lost)                                                            \
  X(downgrades)                                                                \
  X(downgrade_err)                                                             \
  X(read_holds)                                                                \
  X(read_changed)                                                              \
  X(opens)                                                                     \
  X(open_fail)

typedef struct {
  _Atomic int pid;
  _Atomic int64_t sid;
  char passwd[16];
  _Atomic long open_rec;                /* index + 1 of the open record, or 0 */
  _Atomic int file_pending, zk_pending; /* a write in flight */
  _Atomic int done;
  _Atomic int in_acquire; /* inside K->acquire */
  _Atomic int long_wait;  /* ... with a timeout longer than a pause */
  _Atomic int paused;     /* stopped by pause-worker inside K->acquire */
#define X(n) _Atomic long n;
  COUNTERS(X)
#undef X
} wslot;

typedef struct {
  char hosts[1024]; /* what workers connect to (maybe the proxy) */
  char lock_path[256];
  char paths[MAXP][300]; /* multilock kinds: three lock paths */
  char counter_path[256];
  char file_path[512];
  int kind, hold_ms, session_ms, nworkers;
  int permits; /* semaphore kinds */
  int compat;  /* zklock_client_opts.compat of every worker */
  uint64_t seed;
  _Atomic int stop, close_go;
  _Atomic long nrec;
  long maxrec;
  wslot w[MAXW];
  rec_t recs[];
} shm_t;

static shm_t *S;

/* ---- small helpers ---- */

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

static void sleep_ms(long ms) { sleep_us(ms * 1000); }

/* splitmix64: reproducible from the seed on every platform. */
static uint64_t rnd_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static long rnd_range(uint64_t *s, long lo, long hi) {
  return hi <= lo ? lo : lo + (long)(rnd_next(s) % (uint64_t)(hi - lo + 1));
}

static void quiet(const char *m) { (void)m; }

static FILE *faultlog;

__attribute__((format(printf, 1, 2))) static void flog(const char *fmt, ...) {
  if (!faultlog)
    return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(faultlog, "[%.3f] ", (double)now_ns() / 1e9);
  vfprintf(faultlog, fmt, ap);
  fputc('\n', faultlog);
  fflush(faultlog);
  va_end(ap);
}

/* ---- local file counter ---- */

static long long file_read(int fd) {
  char b[32] = "";
  ssize_t r = pread(fd, b, sizeof b - 1, 0);
  if (r <= 0)
    return -1;
  b[r] = '\0';
  return atoll(b);
}

static void file_write(int fd, long long v) {
  char b[32];
  int n = snprintf(b, sizeof b, "%020lld\n", v);
  if (pwrite(fd, b, (size_t)n, 0) != n)
    perror("zkfault: pwrite");
}

/* ---- worker ---- */

static wslot *W;
static int widx;
static atomic_int lost_flag, sess_events;

static void on_lock(zklock_client *c, const char *path, const char *node,
                    zklock_lock_state st, void *arg) {
  (void)c, (void)path, (void)node, (void)arg;
  if (st == ZKLOCK_LOCK_UNCERTAIN || st == ZKLOCK_LOCK_LOST)
    atomic_store(&lost_flag, 1);
}

static void on_session(zklock_client *c, zklock_session_state st, void *arg) {
  (void)c, (void)arg;
  if (st != ZKLOCK_SESSION_CONNECTED)
    atomic_fetch_add(&sess_events, 1);
}

static void publish_id(zhandle_t *zh) {
  const clientid_t *id = zh ? zoo_client_id(zh) : NULL;
  if (!id || atomic_load(&W->sid) == id->client_id)
    return;
  atomic_store(&W->sid, 0);
  memcpy(W->passwd, id->passwd, sizeof W->passwd);
  atomic_store(&W->sid, id->client_id);
}

/* ---- lock kinds ----
 * Each kind is one row of kinds[]: how a worker opens a handle, takes a
 * hold (and in which mode), and what the hold's token, state and fenced
 * write are. Adding a recipe is one set of these functions and one row. */

typedef struct {
  int done, rc;
} adone; /* completion of an async call (async kinds) */

typedef struct {
  zklock_client *c;
  void *h;       /* the recipe handle (zklock_mutex *, zklock_rwlock *, ...) */
  naive_lock *n; /* naive kinds: the raw-API lock instead of c and h */
  int mode;      /* of the current hold: 'w', 'r' or 's' */
  /* multi-path kinds: this worker's paths (indexes into S->paths) in the
   * order it names them, and the broken kinds' one mutex per path */
  int np, pidx[MAXP];
  zklock_mutex *hx[MAXP];
  int held[MAXP];
  int fake;       /* broken kinds: "holding" without a lease */
  int64_t cached; /* election-noresign-check: the term it believes in */
  adone ad;       /* in the handle: a freed handle may still complete into it */
} wlock;

typedef struct {
  const char *name;
  const char *about;
  int naive;  /* naive_kind of naive.c, or 0 for a zklock recipe */
  int broken; /* a deliberately wrong use: the checker must catch it */
  int (*make)(wlock *l); /* the recipe handle on l->c */
  void (*destroy)(wlock *l);
  /* ZKLOCK_* result; sets l->mode. timeout_ms 0 means a try. */
  int (*acquire)(wlock *l, int timeout_ms, uint64_t *rs);
  int64_t (*token)(wlock *l);
  zklock_lock_state (*state)(wlock *l);
  int (*fenced_multi)(wlock *l, int n, const zoo_op_t *ops,
                      zoo_op_result_t *res); /* NULL: a plain multi */
  /* Write -> read. NULL if the kind has no downgrade. */
  int (*downgrade)(wlock *l);
  int downgrade_pct; /* of the write holds */
  int (*release)(wlock *l);
  int permits; /* 's' holds allowed at once (default; --lock KIND:N) */
  /* Multi-path kinds: token of the hold on path i of l->pidx, or NULL
   * for one path. Each path gets its own overlap and token check. */
  int64_t (*ptoken)(wlock *l, int i);
  int ignores_lost; /* broken on purpose: never asks whether it lost */
  int loop;         /* ZKLOCK_DISPATCH_LOOP client, driven by poll */
  int progress;     /* fail if a worker starves (deadlock check) */
  int compat_ok;    /* --compat applies */
} kind_ops;

static const kind_ops *K;

/* mutex */
static int mx_make(wlock *l) {
  return zklock_mutex_new(l->c, S->lock_path, (zklock_mutex **)&l->h);
}
static void mx_destroy(wlock *l) { zklock_mutex_free(l->h); }
static int mx_acquire(wlock *l, int timeout_ms, uint64_t *rs) {
  (void)rs;
  l->mode = 'w';
  return timeout_ms ? zklock_mutex_lock(l->h, timeout_ms)
                    : zklock_mutex_trylock(l->h);
}
static int64_t mx_token(wlock *l) { return zklock_mutex_token(l->h); }
static zklock_lock_state mx_state(wlock *l) { return zklock_mutex_state(l->h); }
static int mx_fenced(wlock *l, int n, const zoo_op_t *ops,
                     zoo_op_result_t *res) {
  return zklock_mutex_fenced_multi(l->h, n, ops, res);
}
static int mx_release(wlock *l) { return zklock_mutex_unlock(l->h); }

/* rwlock: about 40% writers, so readers often share and writers queue
 * behind readers and the other way round. */
static int rw_make(wlock *l) {
  return zklock_rwlock_new(l->c, S->lock_path, (zklock_rwlock **)&l->h);
}
static void rw_destroy(wlock *l) { zklock_rwlock_free(l->h); }
static int rw_acquire(wlock *l, int timeout_ms, uint64_t *rs) {
  l->mode = rnd_range(rs, 0, 9) < 4 ? 'w' : 'r';
  if (l->mode == 'w')
    return timeout_ms ? zklock_rwlock_wrlock(l->h, timeout_ms)
                      : zklock_rwlock_trywrlock(l->h);
  return timeout_ms ? zklock_rwlock_rdlock(l->h, timeout_ms)
                    : zklock_rwlock_tryrdlock(l->h);
}
static int64_t rw_token(wlock *l) { return zklock_rwlock_token(l->h); }
static zklock_lock_state rw_state(wlock *l) {
  return zklock_rwlock_state(l->h);
}
static int rw_fenced(wlock *l, int n, const zoo_op_t *ops,
                     zoo_op_result_t *res) {
  return zklock_rwlock_fenced_multi(l->h, n, ops, res);
}
static int rw_downgrade(wlock *l) { return zklock_rwlock_downgrade(l->h); }
static int rw_release(wlock *l) { return zklock_rwlock_unlock(l->h); }

/* Broken: readers take no lock at all, so they do not wait for writers. */
static int rwb_acquire_nowait(wlock *l, int timeout_ms, uint64_t *rs) {
  l->mode = rnd_range(rs, 0, 9) < 4 ? 'w' : 'r';
  if (l->mode == 'r')
    return ZKLOCK_OK; /* the bug: "reading needs no lock" */
  return timeout_ms ? zklock_rwlock_wrlock(l->h, timeout_ms)
                    : zklock_rwlock_trywrlock(l->h);
}
static int64_t rwb_token(wlock *l) {
  return l->mode == 'r' ? 0 : zklock_rwlock_token(l->h);
}
static zklock_lock_state rwb_state(wlock *l) {
  return l->mode == 'r' ? ZKLOCK_LOCK_HELD : zklock_rwlock_state(l->h);
}
static int rwb_release(wlock *l) {
  return l->mode == 'r' ? ZKLOCK_OK : zklock_rwlock_unlock(l->h);
}

/* Broken: downgrade by unlocking and taking read again; a writer queued
 * behind us gets in between, while we believe we still hold. */
static int rwb_downgrade_gap(wlock *l) {
  int rc = zklock_rwlock_unlock(l->h);
  return rc ? rc : zklock_rwlock_rdlock(l->h, 10000);
}

/* naive.c locks on the raw API (they need no zklock_client). */
static int nv_acquire(wlock *l, int timeout_ms, uint64_t *rs) {
  (void)rs;
  l->mode = 'w';
  return naive_acquire(l->n, timeout_ms ? timeout_ms : 1) ? ZKLOCK_ETIMEDOUT
                                                          : ZKLOCK_OK;
}
static int64_t nv_token(wlock *l) { return naive_token(l->n); }
static zklock_lock_state nv_state(wlock *l) {
  (void)l;
  return ZKLOCK_LOCK_HELD; /* the naive lock believes it always holds */
}
static int nv_release(wlock *l) {
  naive_release(l->n);
  return ZKLOCK_OK;
}

/* async: the mutex driven from an event loop. The client runs in loop
 * mode, so every callback (the done of lock/unlock, on_lock, on_session)
 * runs only when the worker polls zklock_client_fd and dispatches. */
static void as_done(int rc, void *arg) {
  adone *d = arg;
  d->rc = rc;
  d->done = 1;
}

/* Runs queued callbacks without waiting. */
static void wl_pump(wlock *l) {
  if (K->loop && l->c)
    zklock_client_dispatch(l->c);
}

/* Polls and dispatches until l->ad completes. A completion later than
 * the call's timeout + 2 s is counted: the API promises about + 250 ms. */
static int as_wait(wlock *l, int timeout_ms) {
  int64_t late = now_ns() + (int64_t)(timeout_ms + 2000) * 1000000;
  int counted = 0;
  while (!l->ad.done) {
    int fd = zklock_client_fd(l->c);
    if (fd < 0)
      return fd;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 100) > 0)
      zklock_client_dispatch(l->c);
    if (!counted && now_ns() > late) {
      atomic_fetch_add(&W->async_late, 1);
      counted = 1;
    }
  }
  return l->ad.rc;
}
static int as_acquire(wlock *l, int timeout_ms, uint64_t *rs) {
  (void)rs;
  l->mode = 'w';
  l->ad = (adone){0, 0};
  int rc = zklock_mutex_lock_async(l->h, timeout_ms, as_done, &l->ad);
  return rc ? rc : as_wait(l, timeout_ms);
}
static int as_release(wlock *l) {
  l->ad = (adone){0, 0};
  int rc = zklock_mutex_unlock_async(l->h, as_done, &l->ad);
  return rc ? rc : as_wait(l, 0);
}

/* semaphore: every hold is one of S->permits leases. */
static int sm_make(wlock *l) {
  return zklock_semaphore_new(l->c, S->lock_path, S->permits,
                              (zklock_semaphore **)&l->h);
}
static void sm_destroy(wlock *l) { zklock_semaphore_free(l->h); }
static int sm_acquire(wlock *l, int timeout_ms, uint64_t *rs) {
  (void)rs;
  l->mode = 's';
  return zklock_semaphore_acquire(l->h, timeout_ms);
}
static int64_t sm_token(wlock *l) { return zklock_semaphore_token(l->h); }
static zklock_lock_state sm_state(wlock *l) {
  return zklock_semaphore_state(l->h);
}
static int sm_release(wlock *l) { return zklock_semaphore_release(l->h); }

/* Broken: a try, and on a full semaphore (EBUSY) it goes in anyway. */
static int smb_acquire(wlock *l, int timeout_ms, uint64_t *rs) {
  (void)rs, (void)timeout_ms;
  l->mode = 's';
  int rc = zklock_semaphore_acquire(l->h, 0);
  l->fake = rc == ZKLOCK_EBUSY;
  return l->fake ? ZKLOCK_OK : rc; /* the bug: "busy is good enough" */
}
static int64_t smb_token(wlock *l) { return l->fake ? 0 : sm_token(l); }
static zklock_lock_state smb_state(wlock *l) {
  return l->fake ? ZKLOCK_LOCK_HELD : sm_state(l);
}
static int smb_release(wlock *l) {
  int rc = l->fake ? ZKLOCK_OK : sm_release(l);
  l->fake = 0;
  return rc;
}

/* election: a hold is a term as leader; the term is the token written
 * with the counter, so a lower term writing after a higher one shows two
 * leaders at once even where the times do not. */
static int el_make(wlock *l) {
  char id[32];
  snprintf(id, sizeof id, "worker-%d", widx);
  return zklock_election_new(l->c, S->lock_path, id, (zklock_election **)&l->h);
}
static void el_destroy(wlock *l) { zklock_election_free(l->h); }
static int el_acquire(wlock *l, int timeout_ms, uint64_t *rs) {
  (void)rs;
  l->mode = 'w';
  return zklock_election_campaign(l->h, timeout_ms);
}
static int64_t el_token(wlock *l) { return zklock_election_token(l->h); }
static zklock_lock_state el_state(wlock *l) {
  return zklock_election_state(l->h);
}
static int el_release(wlock *l) { return zklock_election_resign(l->h); }

/* Broken: once elected it acts as leader cycle after cycle on the term it
 * was given and never looks at the state again; it resigns now and then
 * so that leadership moves. An expired session leaves it "leading". */
static int elb_acquire(wlock *l, int timeout_ms, uint64_t *rs) {
  (void)rs;
  l->mode = 'w';
  if (l->cached > 0)
    return ZKLOCK_OK;
  int rc = zklock_election_campaign(l->h, timeout_ms);
  if (rc == ZKLOCK_OK)
    l->cached = zklock_election_token(l->h);
  return rc;
}
static int64_t elb_token(wlock *l) { return l->cached; }
static zklock_lock_state elb_state(wlock *l) {
  (void)l;
  return ZKLOCK_LOCK_HELD;
}
static int elb_release(wlock *l) {
  if (rand() % 8)
    return ZKLOCK_OK;
  l->cached = 0;
  zklock_election_resign(l->h);
  return ZKLOCK_OK;
}

/* multilock: worker i locks two of the three paths, {0,1}, {1,2} or
 * {2,0}, every other triple of workers in the reverse order: any two sets
 * share a path (so the counters stay guarded) and the orders cross (so a
 * recipe that took them as listed could deadlock). */
static void ml_paths(wlock *l) {
  l->np = 2;
  l->pidx[0] = widx % 3;
  l->pidx[1] = (widx + 1) % 3;
  if ((widx / 3) % 2) {
    l->pidx[0] = (widx + 1) % 3;
    l->pidx[1] = widx % 3;
  }
}
static int ml_make(wlock *l) {
  ml_paths(l);
  const char *p[MAXP];
  for (int i = 0; i < l->np; i++)
    p[i] = S->paths[l->pidx[i]];
  return zklock_multilock_new(l->c, p, l->np, (zklock_multilock **)&l->h);
}
static void ml_destroy(wlock *l) { zklock_multilock_free(l->h); }
static int ml_acquire(wlock *l, int timeout_ms, uint64_t *rs) {
  (void)rs;
  l->mode = 'w';
  return zklock_multilock_lock(l->h, timeout_ms);
}
static int64_t ml_ptoken(wlock *l, int i) {
  return zklock_multilock_token(l->h, i);
}
static int64_t ml_token(wlock *l) { /* the highest: for the log only */
  int64_t t = -1;
  for (int i = 0; i < l->np; i++)
    if (K->ptoken(l, i) > t)
      t = K->ptoken(l, i);
  return t;
}
/* No state call for a multilock: its tokens read -1 once a path is lost. */
static zklock_lock_state ml_state(wlock *l) {
  for (int i = 0; i < l->np; i++)
    if (K->ptoken(l, i) <= 0)
      return ZKLOCK_LOCK_LOST;
  return ZKLOCK_LOCK_HELD;
}
static int ml_release(wlock *l) { return zklock_multilock_unlock(l->h); }

/* Broken: one mutex per path, taken one by one in the caller's order with
 * a short timeout each; when the second times out it goes on without it
 * (it "avoids the deadlock" by not waiting). */
static int mlb_make(wlock *l) {
  ml_paths(l);
  for (int i = 0; i < l->np; i++) {
    int rc = zklock_mutex_new(l->c, S->paths[l->pidx[i]], &l->hx[i]);
    if (rc) {
      while (i-- > 0)
        zklock_mutex_free(l->hx[i]);
      return rc;
    }
  }
  l->h = l; /* so wl_close calls destroy */
  return ZKLOCK_OK;
}
static void mlb_destroy(wlock *l) {
  for (int i = 0; i < l->np; i++)
    zklock_mutex_free(l->hx[i]);
}
static int mlb_acquire(wlock *l, int timeout_ms, uint64_t *rs) {
  (void)rs;
  l->mode = 'w';
  int each = timeout_ms ? timeout_ms / 4 + 1 : 0;
  for (int i = 0; i < l->np; i++) {
    int rc = each ? zklock_mutex_lock(l->hx[i], each)
                  : zklock_mutex_trylock(l->hx[i]);
    l->held[i] = rc == ZKLOCK_OK;
    if (i == 0 && rc)
      return rc;
  }
  return ZKLOCK_OK; /* the bug: with or without the second */
}
static int64_t mlb_ptoken(wlock *l, int i) {
  return l->held[i] ? zklock_mutex_token(l->hx[i]) : 0;
}
static zklock_lock_state mlb_state(wlock *l) {
  (void)l;
  return ZKLOCK_LOCK_HELD;
}
static int mlb_release(wlock *l) {
  int rc = ZKLOCK_OK;
  for (int i = l->np - 1; i >= 0; i--)
    if (l->held[i]) {
      int u = zklock_mutex_unlock(l->hx[i]);
      rc = u ? u : rc;
    }
  memset(l->held, 0, sizeof l->held);
  return rc;
}

/* A new recipe is one row here plus its functions: .acquire sets the mode
 * of the hold ('w' exclusive, 'r' shared, 's' one of .permits leases) and
 * returns a ZKLOCK_* code; .token, .state and .release are those of the
 * recipe; .fenced_multi if it has one (else the counter write is a plain
 * multi with a version check, made only while the hold looks held);
 * .ptoken if a hold covers several of S->paths; .loop for a loop-mode
 * client; .progress to fail on a starving worker; .broken (and
 * .ignores_lost for a holder that never asks) for a variant the checker
 * must catch. */
static const kind_ops kinds[] = {
    {.name = "mutex",
     .about = "zklock_mutex",
     .make = mx_make,
     .destroy = mx_destroy,
     .acquire = mx_acquire,
     .token = mx_token,
     .state = mx_state,
     .fenced_multi = mx_fenced,
     .release = mx_release,
     .compat_ok = 1},
    {.name = "rwlock",
     .about = "zklock_rwlock, 40% writers, a quarter of them downgrade",
     .make = rw_make,
     .destroy = rw_destroy,
     .acquire = rw_acquire,
     .token = rw_token,
     .state = rw_state,
     .fenced_multi = rw_fenced,
     .downgrade = rw_downgrade,
     .downgrade_pct = 25,
     .release = rw_release,
     .compat_ok = 1},
    {.name = "naive-nowait",
     .about = "broken: no wait for the nodes ahead",
     .naive = NAIVE_NOWAIT,
     .broken = 1,
     .acquire = nv_acquire,
     .token = nv_token,
     .state = nv_state,
     .release = nv_release},
    {.name = "naive-nolost",
     .about = "broken: ignores session expiry",
     .naive = NAIVE_NOLOST,
     .broken = 1,
     .acquire = nv_acquire,
     .token = nv_token,
     .state = nv_state,
     .release = nv_release},
    {.name = "rwlock-nowait-readers",
     .about = "broken: readers take no lock",
     .broken = 1,
     .make = rw_make,
     .destroy = rw_destroy,
     .acquire = rwb_acquire_nowait,
     .token = rwb_token,
     .state = rwb_state,
     .fenced_multi = rw_fenced,
     .release = rwb_release},
    {.name = "rwlock-gap-downgrade",
     .about = "broken: downgrade = unlock + rdlock, every writer downgrades",
     .broken = 1,
     .make = rw_make,
     .destroy = rw_destroy,
     .acquire = rw_acquire,
     .token = rw_token,
     .state = rw_state,
     .fenced_multi = rw_fenced,
     .downgrade = rwb_downgrade_gap,
     .downgrade_pct = 100,
     .release = rw_release},
    {.name = "semaphore",
     .about = "zklock_semaphore (semaphore:N for N permits, default 3)",
     .make = sm_make,
     .destroy = sm_destroy,
     .acquire = sm_acquire,
     .token = sm_token,
     .state = sm_state,
     .release = sm_release,
     .permits = 3},
    {.name = "multilock",
     .about = "zklock_multilock, two of three paths, orders crossed",
     .make = ml_make,
     .destroy = ml_destroy,
     .acquire = ml_acquire,
     .token = ml_token,
     .ptoken = ml_ptoken,
     .state = ml_state,
     .release = ml_release,
     .progress = 1},
    {.name = "election",
     .about = "zklock_election, the term written with the counter",
     .make = el_make,
     .destroy = el_destroy,
     .acquire = el_acquire,
     .token = el_token,
     .state = el_state,
     .release = el_release},
    {.name = "async",
     .about = "zklock_mutex_lock_async/unlock_async on a poll loop",
     .make = mx_make,
     .destroy = mx_destroy,
     .acquire = as_acquire,
     .token = mx_token,
     .state = mx_state,
     .fenced_multi = mx_fenced,
     .release = as_release,
     .loop = 1},
    {.name = "semaphore-nowait",
     .about = "broken: a try, and in anyway when the semaphore is full",
     .broken = 1,
     .make = sm_make,
     .destroy = sm_destroy,
     .acquire = smb_acquire,
     .token = smb_token,
     .state = smb_state,
     .release = smb_release,
     .permits = 2},
    {.name = "multilock-unsorted",
     .about = "broken: one mutex at a time in caller order, goes on "
              "without the second after a timeout",
     .broken = 1,
     .make = mlb_make,
     .destroy = mlb_destroy,
     .acquire = mlb_acquire,
     .token = ml_token,
     .ptoken = mlb_ptoken,
     .state = mlb_state,
     .release = mlb_release,
     .ignores_lost = 1},
    {.name = "election-noresign-check",
     .about = "broken: a leader that never checks its state again",
     .broken = 1,
     .make = el_make,
     .destroy = el_destroy,
     .acquire = elb_acquire,
     .token = elb_token,
     .state = elb_state,
     .release = elb_release,
     .ignores_lost = 1},
};
#define NKINDS ((int)(sizeof kinds / sizeof kinds[0]))

/* "KIND" or "KIND:N" (N permits for a semaphore kind, in *permits). */
static const kind_ops *kind_by_name(const char *name, int *permits) {
  if (strcmp(name, "zklock") == 0) /* the old name of mutex */
    name = "mutex";
  size_t len = strcspn(name, ":");
  for (int i = 0; i < NKINDS; i++) {
    if (strlen(kinds[i].name) != len || strncmp(kinds[i].name, name, len))
      continue;
    *permits = kinds[i].permits;
    if (name[len] &&
        (!kinds[i].permits || (*permits = atoi(name + len + 1)) < 1))
      return NULL;
    return &kinds[i];
  }
  return NULL;
}

static zhandle_t *wl_zh(wlock *l) {
  return l->n ? naive_zhandle(l->n) : zklock_client_zhandle(l->c);
}

static int wl_open(wlock *l) {
  if (K->naive) {
    l->n =
        naive_open(S->hosts, S->session_ms, (naive_kind)K->naive, S->lock_path);
    return l->n ? 0 : -1;
  }
  zklock_client_opts o = {0};
  o.session_timeout_ms = S->session_ms;
  o.connect_timeout_ms = 5000;
  o.owner_text = "zkfault";
  o.on_lock = on_lock;
  o.on_session = on_session;
  o.dispatch = K->loop ? ZKLOCK_DISPATCH_LOOP : ZKLOCK_DISPATCH_THREAD;
  o.compat = S->compat;
  if (zklock_client_open(S->hosts, &o, &l->c))
    return -1;
  if (K->make(l)) {
    zklock_client_close(l->c);
    l->c = NULL;
    return -1;
  }
  return 0;
}

static void wl_close(wlock *l) {
  if (l->h)
    K->destroy(l);
  zklock_client_close(l->c);
  naive_close(l->n);
  memset(l, 0, sizeof *l);
}

/* The znode counter holds "<value> <token of the writer>". After a
 * connection loss the writer's token tells whether our write landed. */
static void zk_increment(wlock *l, int got, const char *buf,
                         const struct Stat *st, int64_t token, int *fenced,
                         int *badver, int *regress) {
  if (!got)
    return;
  long long v = atoll(buf);
  const char *sp = strchr(buf, ' ');
  int64_t prev = sp ? strtoll(sp + 1, NULL, 10) : 0;
  char nb[64];
  int nlen = snprintf(nb, sizeof nb, "%lld %" PRId64, v + 1, token);
  zoo_op_t op;
  zoo_op_result_t res = {0};
  struct Stat st2;
  zoo_set_op_init(&op, S->counter_path, nb, nlen, st->version, &st2);
  int rc, zerr;
  atomic_store(&W->zk_pending, 1);
  if (K->fenced_multi) {
    rc = K->fenced_multi(l, 1, &op, &res);
    zerr = rc == ZKLOCK_ECONNLOSS ? ZCONNECTIONLOSS : res.err;
  } else {
    rc = zoo_multi(wl_zh(l), 1, &op, &res);
    zerr = rc == ZOK ? ZOK : res.err ? res.err : rc;
    if (rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT)
      zerr = ZCONNECTIONLOSS;
  }
  if (rc == ZOK) {
    atomic_fetch_add(&W->zk_ok, 1);
    atomic_store(&W->zk_pending, 0);
    /* Our token replaced a higher one: its holder came before us, yet we
     * held (single-token kinds: for a multilock the highest of its
     * tokens does not follow the order of the holds). */
    *regress = !K->ptoken && token > 0 && prev > token;
  } else if (rc == ZKLOCK_ELOST && K->fenced_multi) {
    atomic_fetch_add(&W->zk_fenced, 1);
    *fenced = 1;
  } else if (zerr == ZBADVERSION) {
    *badver = 1;
  } else if (zerr == ZCONNECTIONLOSS) {
    atomic_fetch_add(&W->zk_unknown, 1);
  } else {
    atomic_fetch_add(&W->zk_other, 1);
  }
  atomic_store(&W->zk_pending, 0);
}

/* Nobody may write the file counter while we read: its value must stay
 * the one seen at the start of the read phase. */
static void read_phase(int fd, long long seen, uint64_t *rs, int *changed) {
  sleep_us(rnd_range(rs, 0, (long)S->hold_ms * 1000));
  long long now = file_read(fd);
  if (seen >= 0 && now >= 0 && now != seen)
    *changed = 1;
}

static void critical_section(wlock *l, int fd, uint64_t *rs) {
  wl_pump(l); /* loop mode: state callbacks from before the hold */
  int64_t token = K->token(l);
  int64_t sid0 = l->c ? zklock_client_session_id(l->c) : 0;
  int ev0 = atomic_load(&sess_events);
  publish_id(wl_zh(l));
  long ri = atomic_fetch_add(&S->nrec, 1);
  rec_t spare, *r = ri < S->maxrec ? &S->recs[ri] : &spare;
  r->token = token;
  r->worker = widx;
  r->pid = (int32_t)getpid();
  r->mode = l->mode;
  r->paths = 1;
  r->ptok[0] = token;
  if (K->ptoken) {
    r->paths = 0;
    for (int i = 0; i < l->np; i++) {
      r->paths |= 1 << l->pidx[i];
      r->ptok[l->pidx[i]] = K->ptoken(l, i);
    }
  }
  r->down_ns = 0;
  r->exit_ns = 0;
  atomic_store(&r->flags, R_OPEN);
  r->enter_ns = now_ns();
  if (r != &spare)
    atomic_store(&W->open_rec, ri + 1);

  int fenced = 0, wrote = 0, changed = 0, dgerr = 0, badver = 0, regress = 0;
  if (l->mode != 'w') { /* shared: read only */
    atomic_fetch_add(&W->read_holds, 1);
    read_phase(fd, file_read(fd), rs, &changed);
  } else {
    char buf[64] = "";
    int blen = sizeof buf - 1;
    struct Stat st;
    int got = zoo_get(wl_zh(l), S->counter_path, 0, buf, &blen, &st) == ZOK;
    if (got)
      buf[blen < 0 ? 0 : blen] = '\0';
    long long fv = file_read(fd);
    sleep_us(rnd_range(rs, 0, (long)S->hold_ms * 1000));
    wl_pump(l);
    int ok = K->state(l) == ZKLOCK_LOCK_HELD &&
             (K->ignores_lost ||
              (!atomic_load(&lost_flag) && atomic_load(&sess_events) == ev0));
    if (ok && fv >= 0) {
      atomic_store(&W->file_pending, 1);
      file_write(fd, fv + 1);
      atomic_fetch_add(&W->file_incs, 1);
      atomic_store(&W->file_pending, 0);
      wrote = 1;
    }
    /* Unfenced kinds write only while the hold looks held, as a careful
     * application would; fenced ones always, to exercise the fence. */
    zk_increment(l, got && (ok || K->fenced_multi), buf, &st, token, &fenced,
                 &badver, &regress);
    if (K->downgrade && rnd_range(rs, 0, 99) < K->downgrade_pct) {
      /* From here on we count as a reader, whatever the call does. */
      r->down_ns = now_ns();
      int drc = K->downgrade(l);
      if (drc == ZKLOCK_OK) {
        atomic_fetch_add(&W->downgrades, 1);
        l->mode = 'r';
        read_phase(fd, wrote ? fv + 1 : file_read(fd), rs, &changed);
      } else {
        atomic_fetch_add(&W->downgrade_err, 1);
        dgerr = 1;
      }
    }
  }

  r->exit_ns = now_ns();
  int lost = 0;
  wl_pump(l);
  if (!K->naive && !K->ignores_lost) {
    int st_end = K->state(l);
    int urc = K->release(l);
    if (urc != ZKLOCK_OK)
      atomic_fetch_add(&W->unlock_err, 1);
    zhandle_t *zh = zklock_client_zhandle(l->c);
    lost = st_end != ZKLOCK_LOCK_HELD || fenced || urc != ZKLOCK_OK || dgerr ||
           atomic_load(&lost_flag) || atomic_load(&sess_events) != ev0 || !zh ||
           zoo_state(zh) != ZOO_CONNECTED_STATE ||
           zklock_client_session_id(l->c) != sid0;
  } else if (K->release(l) != ZKLOCK_OK) {
    atomic_fetch_add(&W->unlock_err, 1);
  }
  /* A conflict in a hold its holder knew was in doubt is what fencing is
   * for; without a fence it is no fault of the recipe. */
  int excused = lost && !K->fenced_multi;
  if (badver)
    atomic_fetch_add(excused ? &W->zk_doubt : &W->zk_badversion, 1);
  if (regress)
    atomic_fetch_add(excused ? &W->zk_doubt : &W->zk_regress, 1);
  if (lost) {
    atomic_fetch_add(&W->lost_holds, 1);
    if (wrote)
      atomic_fetch_add(&W->file_incs_lost, 1);
  } else if (changed) {
    atomic_fetch_add(&W->read_changed, 1);
  }
  atomic_store(&r->flags, (lost ? R_LOST : 0) | (wrote ? R_WROTE : 0) |
                              (token <= 0 && K->broken ? R_NOTOKEN : 0) |
                              (atomic_load(&W->paused) ? R_PAUSED : 0));
  atomic_store(&W->open_rec, 0);
}

static int worker_main(int idx, int shm_fd) {
  size_t hdr = sizeof(shm_t);
  shm_t *h = mmap(NULL, hdr, PROT_READ, MAP_SHARED, shm_fd, 0);
  if (h == MAP_FAILED)
    return 1;
  size_t total = hdr + (size_t)h->maxrec * sizeof(rec_t);
  munmap(h, hdr);
  S = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0);
  if (S == MAP_FAILED)
    return 1;
  widx = idx;
  W = &S->w[idx];
  K = &kinds[S->kind];
  int fd = open(S->file_path, O_RDWR);
  if (fd < 0)
    return 1;
  uint64_t rs = S->seed * 1000003 + (uint64_t)idx * 7919 + (uint64_t)getpid();
  wlock l = {0};
  while (!atomic_load(&S->stop)) {
    if (!l.c && !l.n) { /* (re)open after a failed open or ECLOSED */
      if (wl_open(&l)) {
        atomic_fetch_add(&W->open_fail, 1);
        sleep_ms(200);
        continue;
      }
      atomic_fetch_add(&W->opens, 1);
    }
    publish_id(wl_zh(&l));
    int timeout =
        rnd_range(&rs, 0, 9) == 0 ? 0 : (int)rnd_range(&rs, 300, 3000);
    /* Some waits outlast a pause past the session timeout (a real
     * application waits long or forever): pause-worker picks those. */
    int long_wait = timeout > 0 && rnd_range(&rs, 0, 4) == 0;
    if (long_wait)
      timeout = S->session_ms * 4 + 5000;
    atomic_store(&W->long_wait, long_wait);
    atomic_store(&lost_flag, 0);
    atomic_store(&W->paused, 0);
    atomic_store(&W->in_acquire, 1);
    int rc = K->acquire(&l, timeout, &rs);
    atomic_store(&W->in_acquire, 0);
    switch (rc) {
    case ZKLOCK_OK:
      atomic_fetch_add(&W->acquires, 1);
      critical_section(&l, fd, &rs);
      break;
    case ZKLOCK_ETIMEDOUT:
      atomic_fetch_add(&W->timeouts, 1);
      break;
    case ZKLOCK_EBUSY:
      atomic_fetch_add(&W->busy, 1);
      sleep_ms(1);
      break;
    case ZKLOCK_ELOST:
      atomic_fetch_add(&W->elost, 1);
      break;
    case ZKLOCK_ECONNLOSS:
      atomic_fetch_add(&W->econnloss, 1);
      sleep_ms(20);
      break;
    default:
      atomic_fetch_add(&W->eother, 1);
      sleep_ms(50);
      if (rc == ZKLOCK_ECLOSED)
        wl_close(&l);
      break;
    }
  }
  /* Released everything: stay connected until the controller has looked
   * for orphan nodes of live sessions, then end the session. */
  atomic_store(&W->done, 1);
  while (!atomic_load(&S->close_go))
    sleep_ms(20);
  wl_close(&l);
  close(fd);
  return 0;
}

/* ---- controller ---- */

typedef enum {
  F_KILL_LEADER,
  F_PAUSE_LEADER,
  F_PAUSE_FOLLOWER,
  F_RESTART_ALL,
  F_EXPIRE,
  F_KILL_HOLDER,
  F_PAUSE_WORKER,
  F_PROXY_DROP,
  F_PROXY_DELAY,
  F_PROXY_SWALLOW,
  F_PARTITION,
  F_ISOLATE_LEADER,
  F_ISOLATE_FOLLOWER,
  F_NKINDS
} fkind;

enum { N_ENS = 1, N_PROXY = 2, N_PEER = 4 }; /* what a fault kind needs */

static const struct {
  const char *name;
  int needs;
  int settle; /* wait for the ensemble to serve again afterwards */
} ftab[F_NKINDS] = {
    {"kill-leader", N_ENS, 1},
    {"pause-leader", N_ENS, 1},
    {"pause-follower", N_ENS, 1},
    {"restart-all", N_ENS, 1},
    {"expire", 0, 0},
    {"kill-holder", 0, 0},
    {"pause-worker", 0, 0},
    {"proxy-drop", N_PROXY, 0},
    {"proxy-delay", N_PROXY, 0},
    {"proxy-swallow", N_PROXY, 0},
    {"partition", N_PROXY, 0},
    {"isolate-leader", N_ENS | N_PEER, 1},
    {"isolate-follower", N_ENS | N_PEER, 1},
};

typedef struct {
  int kind;
  int64_t start_ns, end_ns;
  int ok;
  int verified;     /* isolate-*: the servers' modes showed it took effect */
  int64_t elect_ns; /* isolate-leader: cut to a new leader serving */
} fault_t;

static struct {
  const char *ensemble; /* tests/ensemble.sh */
  char real_hosts[1024];
  int proxy_ctl; /* 0: no proxy */
  int peer_ctl;  /* 0: no peer proxy (ensemble.sh ZK_PEER_PROXY) */
  int client_port[3];
  pid_t proxy_pid;
  pid_t wpid[MAXW];
  int shm_fd;
  char self[4096];
  fault_t faults[MAX_FAULTS];
  int nfaults;
  long file_unknown, zk_unknown; /* writes in flight when killed */
  int expect_violations;
  long min_holds; /* a clean run needs this many clean holds */
} C;

static pid_t spawn_worker(int idx) {
  char a_idx[16], a_fd[16];
  snprintf(a_idx, sizeof a_idx, "%d", idx);
  snprintf(a_fd, sizeof a_fd, "%d", C.shm_fd);
  char *argv[] = {C.self, "--worker", a_idx, "--shm-fd", a_fd, NULL};
  pid_t pid;
  if (posix_spawn(&pid, C.self, NULL, NULL, argv, environ) != 0)
    return -1;
  atomic_store(&S->w[idx].pid, pid);
  return pid;
}

/* Runs "ensemble.sh ARGS" (stderr to the fault log); returns its first
 * stdout line as an int in *out if out, else the exit status. */
static int ens(int *out, const char *env, const char *args) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "%s '%s' %s 2>>'%s/zkfault-ens.log'",
           env ? env : "", C.ensemble, args, getenv("ZKFAULT_WORKDIR"));
  flog("ensemble %s", args);
  FILE *p = popen(cmd, "r");
  if (!p)
    return -1;
  char line[256] = "";
  int have = fgets(line, sizeof line, p) != NULL;
  while (fgetc(p) != EOF)
    ;
  int st = pclose(p);
  int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  if (out) {
    if (rc != 0 || !have)
      return -1;
    *out = atoi(line);
    return 0;
  }
  return rc;
}

/* When the fault really struck, if later than the call to inject() (the
 * holder-targeted kinds first wait for a holder; isolate-* sample the
 * servers' modes before the cut). */
static int64_t struck_ns;

/* Sends msg to 127.0.0.1:port and reads the answer up to EOF into buf
 * (NUL-terminated, empty if none). A 1 s timeout each way: a server that
 * is stopped or electing must not stall the fault loop. */
static void tcp_ask(int port, const char *msg, char *buf, size_t len) {
  size_t got = 0;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd >= 0) {
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ssize_t r, n = (ssize_t)strlen(msg);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        write(fd, msg, (size_t)n) == n) {
      while (got < len - 1 && (r = read(fd, buf + got, len - 1 - got)) > 0)
        got += (size_t)r;
    }
    close(fd);
  }
  buf[got] = '\0';
}

/* One command line to a zkproxy control port; 0 if it answered "ok". */
static int ctl_cmd(int port, const char *cmd, char *reply, size_t rlen) {
  if (!port)
    return -1;
  char buf[512], line[160];
  snprintf(line, sizeof line, "%s\n", cmd);
  tcp_ask(port, line, buf, sizeof buf);
  buf[strcspn(buf, "\n")] = '\0';
  flog("%s %s -> %s", port == C.peer_ctl ? "peer-proxy" : "proxy", cmd, buf);
  if (reply)
    snprintf(reply, rlen, "%s", buf);
  return strncmp(buf, "ok", 2) == 0 ? 0 : -1;
}

static int proxy_cmd(const char *cmd, char *reply, size_t rlen) {
  return ctl_cmd(C.proxy_ctl, cmd, reply, rlen);
}

/* Mode of server n (1..3) from the four-letter word srvr: "leader",
 * "follower", "not-serving" (electing, or cut off from a quorum) or
 * "no-answer". Direct, not via ensemble.sh: sampled every 250 ms. */
static void server_mode(int n, char *out, size_t len) {
  char buf[2048];
  tcp_ask(C.client_port[n - 1], "srvr", buf, sizeof buf);
  const char *m = strstr(buf, "Mode: ");
  if (m)
    snprintf(out, len, "%.*s", (int)strcspn(m + 6, "\r\n"), m + 6);
  else if (strstr(buf, "not currently serving"))
    snprintf(out, len, "not-serving");
  else
    snprintf(out, len, "no-answer");
}

/* "1=leader 2=follower 3=not-serving" into line; the one leader, or 0. */
static int server_modes(char *line, size_t len, char modes[3][32]) {
  int leader = 0, o = 0;
  line[0] = '\0';
  for (int n = 1; n <= 3; n++) {
    server_mode(n, modes[n - 1], sizeof modes[n - 1]);
    if (strcmp(modes[n - 1], "leader") == 0)
      leader = leader ? -1 : n;
    o += snprintf(line + o, len - (size_t)o, "%s%d=%s", n > 1 ? " " : "", n,
                  modes[n - 1]);
  }
  return leader < 0 ? 0 : leader;
}

/* Cuts server target from both others at the peer proxy (client links
 * stay up) for ms, sampling the servers' modes. Isolating the leader
 * must make it step down (no quorum after syncLimit ticks) and the two
 * followers elect one of themselves; if that has not happened when ms is
 * up, the cut lasts until it has (at most 20 s), so every isolate-leader
 * really exercises a change of leader. Sets f->verified. */
static int isolate(fault_t *f, int target, int old_leader, long ms) {
  char cmd[64], line[160], prev[160] = "", modes[3][32];
  server_modes(line, sizeof line, modes);
  flog("isolate server %d (leader %d) for %ld ms; before: %s", target,
       old_leader, ms, line);
  snprintf(cmd, sizeof cmd, "isolate %d 1", target);
  struck_ns = now_ns(); /* recovery counts from the cut */
  int rc = ctl_cmd(C.peer_ctl, cmd, NULL, 0);
  int64_t t_cut = now_ns(), heal = t_cut + ms * 1000000,
          limit = t_cut + (int64_t)20 * 1000000000;
  int is_leader = target == old_leader, elected = 0, out = 0, kept = 1;
  for (;;) {
    int64_t t = now_ns();
    if (t >= heal && (!is_leader || elected || t >= limit))
      break;
    int ld = server_modes(line, sizeof line, modes);
    const char *tm = modes[target - 1];
    if (strcmp(tm, "leader") != 0 && strcmp(tm, "follower") != 0)
      out = 1;
    if (is_leader && ld && ld != target && !elected) {
      elected = 1;
      f->elect_ns = now_ns() - t_cut;
    }
    if (!is_leader && ld != old_leader)
      kept = 0;
    if (strcmp(line, prev) != 0) {
      flog("  isolated +%.0f ms: %s", (now_ns() - t_cut) / 1e6, line);
      snprintf(prev, sizeof prev, "%s", line);
    }
    sleep_ms(250);
  }
  int64_t held = now_ns() - t_cut;
  snprintf(cmd, sizeof cmd, "isolate %d 0", target);
  rc |= ctl_cmd(C.peer_ctl, cmd, NULL, 0);
  f->verified = out && (is_leader ? elected : kept);
  if (is_leader)
    flog("isolate-leader: server %d cut for %.0f ms; %s; new leader %s", target,
         held / 1e6, out ? "it left service" : "it kept serving",
         elected ? "elected among the followers" : "NOT elected");
  else
    flog("isolate-follower: server %d cut for %.0f ms; %s; leader %d %s",
         target, held / 1e6, out ? "it left service" : "it kept serving",
         old_leader, kept ? "kept leading" : "did not keep leading");
  return rc;
}

static int holder_worker(void) {
  int n = 0, pick[MAXW];
  for (int i = 0; i < S->nworkers; i++)
    if (atomic_load(&S->w[i].open_rec))
      pick[n++] = i;
  return n ? pick[rand() % n] : -1;
}

/* Waits up to ms for some worker to be inside its critical section. */
static int wait_holder(int ms) {
  for (int t = 0; t < ms; t += 2) {
    int h = holder_worker();
    if (h >= 0)
      return h;
    sleep_ms(2);
  }
  return -1;
}

static int expire_worker(int idx) {
  wslot *w = &S->w[idx];
  clientid_t id;
  id.client_id = atomic_load(&w->sid);
  memcpy(id.passwd, w->passwd, sizeof id.passwd);
  if (!id.client_id)
    return -1;
  flog("expire worker %d session 0x%" PRIx64, idx, (uint64_t)id.client_id);
  zhandle_t *twin =
      zookeeper_init2(C.real_hosts, NULL, 10000, &id, NULL, 0, quiet);
  if (!twin)
    return -1;
  for (int i = 0; i < 500 && zoo_state(twin) != ZOO_CONNECTED_STATE; i++)
    sleep_ms(10);
  int ok = zoo_state(twin) == ZOO_CONNECTED_STATE;
  zookeeper_close(twin); /* closing the twin ends the shared session */
  return ok ? 0 : -1;
}

/* A worker inside its acquire call (queued or on its way), or -1. */
static int acquiring_worker(void) {
  int n = 0, pick[MAXW];
  for (int i = 0; i < S->nworkers; i++)
    if (atomic_load(&S->w[i].in_acquire) && atomic_load(&S->w[i].long_wait) &&
        !atomic_load(&S->w[i].open_rec))
      pick[n++] = i;
  return n ? pick[rand() % n] : -1;
}

/* SIGSTOP past the session timeout, then SIGCONT: the process learns of
 * its expiry only after reading what queued up meanwhile (a watch event
 * that seems to grant, say). */
static int pause_worker(uint64_t *rs) {
  int idx = -1;
  for (int t = 0; t < 2000 && idx < 0; t += 2) {
    idx = acquiring_worker();
    if (idx < 0)
      sleep_ms(2);
  }
  if (idx < 0)
    idx = (int)rnd_range(rs, 0, S->nworkers - 1);
  wslot *w = &S->w[idx];
  pid_t pid = atomic_load(&w->pid);
  if (pid <= 0)
    return -1;
  struck_ns = now_ns();
  if (kill(pid, SIGSTOP))
    return -1;
  int in = atomic_load(&w->in_acquire);
  if (in)
    atomic_store(&w->paused, 1);
  long ms = S->session_ms * 3 / 2 + rnd_range(rs, 0, 1000);
  sleep_ms(ms);
  kill(pid, SIGCONT);
  flog("paused worker %d pid %d for %ld ms (%s)", idx, (int)pid, ms,
       in ? "inside acquire" : "not acquiring");
  return 0;
}

static int kill_worker(int idx) {
  wslot *w = &S->w[idx];
  pid_t pid = atomic_load(&w->pid);
  if (pid <= 0)
    return -1;
  kill(pid, SIGKILL);
  int64_t t = now_ns();
  waitpid(pid, NULL, 0);
  long ri = atomic_load(&w->open_rec);
  if (ri) {
    rec_t *r = &S->recs[ri - 1];
    /* a killed holder does nothing more: its section ends here */
    if (!r->exit_ns)
      r->exit_ns = t;
    atomic_store(&r->flags, R_KILLED);
  }
  /* killed mid-write: the outcome is unknown */
  C.file_unknown += atomic_load(&w->file_pending);
  C.zk_unknown += atomic_load(&w->zk_pending);
  flog("killed worker %d pid %d (holding: %s)", idx, (int)pid,
       ri ? "yes" : "no");
  atomic_store(&w->open_rec, 0);
  atomic_store(&w->file_pending, 0);
  atomic_store(&w->zk_pending, 0);
  atomic_store(&w->sid, 0);
  C.wpid[idx] = spawn_worker(idx);
  return 0;
}

static void wait_healthy(void) {
  if (ens(NULL, NULL, "wait 90") != 0)
    flog("ensemble did not settle");
}

static int inject(fault_t *f, uint64_t *rs) {
  int kind = f->kind;
  int l = 0, rc = 0;
  long ms;
  char buf[256];
  switch (kind) {
  case F_KILL_LEADER:
    if (ens(&l, NULL, "leader 20"))
      return -1;
    snprintf(buf, sizeof buf, "kill %d", l);
    rc = ens(NULL, NULL, buf);
    sleep_ms(rnd_range(rs, 0, 1000));
    snprintf(buf, sizeof buf, "restart %d", l);
    rc |= ens(NULL, NULL, buf);
    break;
  case F_PAUSE_LEADER:
  case F_PAUSE_FOLLOWER:
    if (ens(&l, NULL, "leader 20"))
      return -1;
    if (kind == F_PAUSE_FOLLOWER) /* one of the other two */
      l = (l + (int)rnd_range(rs, 0, 1)) % 3 + 1;
    ms = rnd_range(rs, 300, S->session_ms * 3 / 2);
    snprintf(buf, sizeof buf, "pause %d", l);
    rc = ens(NULL, NULL, buf);
    sleep_ms(ms);
    snprintf(buf, sizeof buf, "resume %d", l);
    rc |= ens(NULL, NULL, buf);
    flog("paused server %d for %ld ms", l, ms);
    break;
  case F_RESTART_ALL:
    for (int n = 1; n <= 3; n++) {
      snprintf(buf, sizeof buf, "kill %d", n);
      rc |= ens(NULL, NULL, buf);
    }
    sleep_ms(rnd_range(rs, 0, 1000));
    /* "restart N" waits for N to serve, which needs a quorum: launch the
     * first two without waiting, then the third with. */
    ens(NULL, "ZK_START_TIMEOUT=0", "restart 1");
    ens(NULL, "ZK_START_TIMEOUT=0", "restart 2");
    rc |= ens(NULL, NULL, "restart 3");
    break;
  case F_EXPIRE: {
    int h = wait_holder(2000);
    if (h < 0)
      h = (int)rnd_range(rs, 0, S->nworkers - 1);
    struck_ns = now_ns();
    rc = expire_worker(h);
    break;
  }
  case F_KILL_HOLDER: {
    int h = wait_holder(2000);
    if (h < 0)
      h = (int)rnd_range(rs, 0, S->nworkers - 1);
    struck_ns = now_ns();
    rc = kill_worker(h);
    break;
  }
  case F_PAUSE_WORKER:
    rc = pause_worker(rs);
    break;
  case F_PROXY_DROP:
    rc = proxy_cmd("drop", NULL, 0);
    break;
  case F_PROXY_DELAY:
    snprintf(buf, sizeof buf, "delay %ld",
             rnd_range(rs, 100, S->session_ms / 2));
    rc = proxy_cmd(buf, NULL, 0);
    sleep_ms(rnd_range(rs, 500, 3000));
    rc |= proxy_cmd("delay 0", NULL, 0);
    break;
  case F_PROXY_SWALLOW: {
    rc = proxy_cmd("swallow 1", NULL, 0);
    for (int i = 0; i < 300 && rc == 0; i++) {
      char reply[512];
      proxy_cmd("stats", reply, sizeof reply);
      const char *p = strstr(reply, "swallow_pending ");
      if (p && atoi(p + 16) == 0)
        break;
      sleep_ms(10);
    }
    proxy_cmd("swallow 0", NULL, 0);
    break;
  }
  case F_ISOLATE_LEADER:
  case F_ISOLATE_FOLLOWER:
    if (ens(&l, NULL, "leader 20"))
      return -1;
    ms = rnd_range(rs, 2000, 8000);
    rc = isolate(
        f,
        kind == F_ISOLATE_LEADER ? l : (l + (int)rnd_range(rs, 0, 1)) % 3 + 1,
        l, ms);
    break;
  case F_PARTITION:
    ms = rnd_range(rs, S->session_ms / 2, S->session_ms * 2);
    rc = proxy_cmd("block 1", NULL, 0);
    rc |= proxy_cmd("drop", NULL, 0);
    sleep_ms(ms);
    rc |= proxy_cmd("block 0", NULL, 0);
    flog("partition for %ld ms", ms);
    break;
  }
  return rc ? -1 : 0;
}

static int start_proxy(const char *bin, char *hosts_out, size_t len) {
  int pfd[2];
  if (pipe(pfd))
    return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
  posix_spawn_file_actions_addclose(&fa, pfd[0]);
  char *argv[] = {(char *)bin, C.real_hosts, NULL};
  int rc = posix_spawn(&C.proxy_pid, bin, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pfd[1]);
  if (rc) {
    close(pfd[0]);
    return -1;
  }
  FILE *f = fdopen(pfd[0], "r");
  char line[2048] = "", h[1024] = "";
  int ok = f && fgets(line, sizeof line, f) &&
           sscanf(line, "hosts %1023s ctl %d", h, &C.proxy_ctl) == 2;
  if (f)
    fclose(f);
  if (!ok)
    return -1;
  snprintf(hosts_out, len, "%s", h);
  return 0;
}

static int cmp_enter(const void *a, const void *b) {
  const rec_t *x = *(rec_t *const *)a, *y = *(rec_t *const *)b;
  return (x->enter_ns > y->enter_ns) - (x->enter_ns < y->enter_ns);
}

static void mkpath(zhandle_t *zh, const char *path, const char *data) {
  zoo_create(zh, path, data, data ? (int)strlen(data) : -1,
             &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
}

static void rmr(zhandle_t *zh, const char *path) {
  struct String_vector sv = {0, NULL};
  if (zoo_get_children(zh, path, 0, &sv) == ZOK) {
    for (int i = 0; i < sv.count; i++) {
      char child[1024];
      snprintf(child, sizeof child, "%s/%s", path, sv.data[i]);
      rmr(zh, child);
    }
    deallocate_String_vector(&sv);
  }
  zoo_delete(zh, path, -1);
}

static zhandle_t *raw_connect(void) {
  for (int attempt = 0; attempt < 5; attempt++) {
    zhandle_t *zh =
        zookeeper_init2(C.real_hosts, NULL, 15000, NULL, NULL, 0, quiet);
    for (int i = 0; zh && i < 1000 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++)
      sleep_ms(10);
    if (zh && zoo_state(zh) == ZOO_CONNECTED_STATE)
      return zh;
    if (zh)
      zookeeper_close(zh);
  }
  return NULL;
}

/* Ephemeral (lock) nodes now under dir, at any depth (multilock paths
 * are children of the lock path): all of them, and those whose owner is
 * a live worker session (one that released all). */
static void count_under(zhandle_t *zh, const char *dir, int depth, int *all,
                        int *live_owned) {
  struct String_vector sv = {0, NULL};
  int rc = zoo_get_children(zh, dir, 0, &sv);
  if (rc != ZOK) {
    if (rc != ZNONODE)
      *all = -1;
    return;
  }
  for (int i = 0; i < sv.count && *all >= 0; i++) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, sv.data[i]);
    struct Stat st;
    if (zoo_exists(zh, p, 0, &st) != ZOK)
      continue;
    if (!st.ephemeralOwner) {
      if (depth < 2)
        count_under(zh, p, depth + 1, all, live_owned);
      continue;
    }
    (*all)++;
    for (int w = 0; w < S->nworkers; w++) {
      if (st.ephemeralOwner == atomic_load(&S->w[w].sid) &&
          atomic_load(&S->w[w].done)) {
        (*live_owned)++;
        flog("node %s owned by live worker %d", p, w);
      }
    }
  }
  deallocate_String_vector(&sv);
}

static void count_nodes(zhandle_t *zh, int *all, int *live_owned) {
  *all = *live_owned = 0;
  count_under(zh, S->lock_path, 0, all, live_owned);
}

/* Logs the queue (with the worker owning each node) when acquires stall:
 * the evidence for a node that blocks everyone. */
static void log_queue(zhandle_t *zh) {
  struct String_vector sv = {0, NULL};
  if (zoo_get_children(zh, S->lock_path, 0, &sv) != ZOK)
    return;
  flog("stall: %d nodes under %s", sv.count, S->lock_path);
  for (int i = 0; i < sv.count; i++) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", S->lock_path, sv.data[i]);
    struct Stat st;
    if (zoo_exists(zh, p, 0, &st) != ZOK)
      continue;
    int owner = -1;
    for (int w = 0; w < S->nworkers; w++)
      if (st.ephemeralOwner == atomic_load(&S->w[w].sid))
        owner = w;
    flog("  %s czxid %" PRId64 " session 0x%" PRIx64 " worker %d", sv.data[i],
         st.czxid, (uint64_t)st.ephemeralOwner, owner);
  }
  deallocate_String_vector(&sv);
}

/* ---- the overlap check ----
 * Every clean hold is one segment, or two when downgraded (write until
 * down_ns, read after). Sweeping the segments' ends and starts in time
 * order (ends first at equal times: a downgrade's halves only touch), a
 * segment that starts while an incompatible one is open is an overlap:
 * a writer with anyone, a reader with a writer, a permit holder with a
 * writer or with all the permits already taken. */
typedef struct {
  int64_t t;
  int start; /* 1 start, 0 end */
  long seg;
} sev;

typedef struct {
  const rec_t *r;
  int64_t from, to;
  int mode;
} seg_t;

static int cmp_sev(const void *a, const void *b) {
  const sev *x = a, *y = b;
  if (x->t != y->t)
    return (x->t > y->t) - (x->t < y->t);
  return x->start - y->start;
}

static void segs_check(rec_t **clean, long nclean, int permits,
                       long *overlaps) {
  seg_t *sg = malloc(sizeof *sg * (size_t)(2 * nclean + 1));
  sev *ev = malloc(sizeof *ev * (size_t)(4 * nclean + 1));
  long *open = malloc(sizeof *open * (size_t)(2 * nclean + 1));
  long ns = 0, ne = 0, nopen = 0;
  for (long i = 0; i < nclean; i++) {
    const rec_t *r = clean[i];
    if (r->mode == 'w' && r->down_ns) {
      sg[ns++] = (seg_t){r, r->enter_ns, r->down_ns, 'w'};
      sg[ns++] = (seg_t){r, r->down_ns, r->exit_ns, 'r'};
    } else {
      sg[ns++] = (seg_t){r, r->enter_ns, r->exit_ns, r->mode};
    }
  }
  for (long i = 0; i < ns; i++) {
    ev[ne++] = (sev){sg[i].from, 1, i};
    ev[ne++] = (sev){sg[i].to, 0, i};
  }
  qsort(ev, (size_t)ne, sizeof *ev, cmp_sev);
  for (long e = 0; e < ne; e++) {
    long si = ev[e].seg;
    if (!ev[e].start) {
      for (long j = 0; j < nopen; j++)
        if (open[j] == si) {
          open[j] = open[--nopen];
          break;
        }
      continue;
    }
    const seg_t *a = &sg[si], *b = NULL;
    int nperm = 0;
    for (long j = 0; j < nopen && !b; j++) {
      const seg_t *o = &sg[open[j]];
      nperm += o->mode == 's';
      if (a->mode == 'w' || o->mode == 'w' ||
          (a->mode == 's' && o->mode == 's' && nperm >= permits))
        b = o;
    }
    if (b) {
      if (*overlaps < 5)
        printf("  overlap: worker %d %c token %" PRId64 " [%.6f, %.6f] and "
               "worker %d %c token %" PRId64 " [%.6f, %.6f]\n",
               b->r->worker, b->mode, b->r->token, b->from / 1e9, b->to / 1e9,
               a->r->worker, a->mode, a->r->token, a->from / 1e9, a->to / 1e9);
      (*overlaps)++;
    }
    open[nopen++] = si;
  }
  free(sg);
  free(ev);
  free(open);
}

/* ---- late grants ----
 * A hold whose acquire call spanned a pause past the session timeout and
 * that then counted as lost is excused from the overlap check like every
 * lost hold, but not if it BEGAN inside a clean hold on one of its paths:
 * the call returned OK while someone else held what it claimed (a
 * multi-lock member taken before the pause and gone with the session, a
 * grant from an event read before the expiry was known). One residual
 * window remains, undetectable from outside: a pause landing between the
 * library's last check and the return. */
static long late_grants(rec_t **clean, long nclean, int p, int permits) {
  long late = 0, nrec = atomic_load(&S->nrec);
  if (nrec > S->maxrec)
    nrec = S->maxrec;
  for (long i = 0; i < nrec; i++) {
    const rec_t *l = &S->recs[i];
    int fl = atomic_load(&l->flags);
    if (!(fl & R_LOST) || !(fl & R_PAUSED) || !(l->paths & (1 << p)))
      continue;
    int inside = 0, conflict = 0;
    for (long j = 0; j < nclean && !conflict; j++) {
      const rec_t *c = clean[j];
      if (!(c->paths & (1 << p)) || c->enter_ns >= l->enter_ns ||
          c->exit_ns <= l->enter_ns)
        continue;
      inside++;
      conflict = c->mode == 'w' || l->mode == 'w' ||
                 (c->mode == 's' && l->mode == 's' && inside >= permits);
    }
    if (conflict) {
      if (late < 5)
        printf("  late grant: worker %d %c token %" PRId64
               " entered at %.6f inside a clean hold on path %d\n",
               l->worker, l->mode, l->token, l->enter_ns / 1e9, p);
      late++;
    }
  }
  return late;
}

static void usage(void) {
  fputs(
      "usage: zkfault [options]\n"
      "  --lock KIND        mutex (default; also \"zklock\"), rwlock,\n"
      "                     semaphore[:N] (N permits, default 3), multilock,\n"
      "                     election, async; broken on purpose:\n"
      "                     naive-nowait, naive-nolost,\n"
      "                     rwlock-nowait-readers, rwlock-gap-downgrade,\n"
      "                     semaphore-nowait[:N], multilock-unsorted,\n"
      "                     election-noresign-check\n"
      "  --compat PROFILE   native (default), curator or kazoo naming\n"
      "                     (mutex and rwlock only)\n"
      "  --workers N        worker processes (default 8)\n"
      "  --duration SEC     how long to inject faults (default 60)\n"
      "  --seed N           fault schedule seed (default: time)\n"
      "  --faults LIST      comma-separated kinds, or all / none (default "
      "all)\n"
      "                     kill-leader pause-leader pause-follower "
      "restart-all\n"
      "                     expire kill-holder proxy-drop proxy-delay\n"
      "                     proxy-swallow partition isolate-leader\n"
      "                     isolate-follower (isolate-*: ensemble.sh run\n"
      "                     with ZK_PEER_PROXY)\n"
      "  --require LIST     these faults come first and must take effect\n"
      "  --interval MIN:MAX ms between faults (default 1000:4000)\n"
      "  --hold-ms MS       max time inside the section (default 5)\n"
      "  --session-ms MS    worker session timeout (default 4000)\n"
      "  --hosts H          ensemble (default $ZKLOCK_ENSEMBLE_DIR/hosts)\n"
      "  --ensemble PATH    tests/ensemble.sh, for server faults\n"
      "  --proxy PATH       zkproxy binary: workers connect through it\n"
      "  --expect WHAT      clean (default) or violations\n"
      "  --min-holds N      clean holds a clean run needs (default 200)\n"
      "  --workdir DIR      logs and the counter file (default $TMPDIR)\n",
      stderr);
}

static int parse_faults(const char *list, int *enabled) {
  int all = strcmp(list, "all") == 0;
  for (int k = 0; k < F_NKINDS; k++)
    enabled[k] = all;
  if (all || strcmp(list, "none") == 0)
    return 0;
  char *dup = strdup(list), *save;
  for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    int k;
    for (k = 0; k < F_NKINDS && strcmp(t, ftab[k].name) != 0; k++)
      ;
    if (k == F_NKINDS) {
      fprintf(stderr, "zkfault: unknown fault '%s'\n", t);
      free(dup);
      return -1;
    }
    enabled[k] = 1;
  }
  free(dup);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "--worker") == 0)
    return worker_main(atoi(argv[2]), atoi(argv[4]));
  zoo_set_debug_level(0);

  int nworkers = 8, duration = 60, hold_ms = 5, session_ms = 4000;
  int imin = 1000, imax = 4000, kind = 0, permits = 0, compat = 0;
  uint64_t seed = (uint64_t)time(NULL);
  const char *hosts = NULL, *proxy = NULL, *faults = "all", *require = NULL;
  const char *workdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  static const struct option opts[] = {
      {"lock", 1, 0, 'l'},      {"workers", 1, 0, 'w'},
      {"duration", 1, 0, 'd'},  {"seed", 1, 0, 's'},
      {"faults", 1, 0, 'f'},    {"interval", 1, 0, 'i'},
      {"hold-ms", 1, 0, 'H'},   {"session-ms", 1, 0, 'S'},
      {"hosts", 1, 0, 'z'},     {"ensemble", 1, 0, 'e'},
      {"proxy", 1, 0, 'p'},     {"expect", 1, 0, 'x'},
      {"min-holds", 1, 0, 'm'}, {"require", 1, 0, 'r'},
      {"workdir", 1, 0, 'W'},   {"compat", 1, 0, 'c'},
      {"help", 0, 0, 'h'},      {0, 0, 0, 0}};
  /* 200: the 20 s runs of make check see 1,000 to 3,500 clean holds per
   * kind under faults; a run far below that checked too little. */
  C.min_holds = 200;
  int o;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
    case 'l':
      K = kind_by_name(optarg, &permits);
      kind = K ? (int)(K - kinds) : -1;
      break;
    case 'c':
      compat = strcmp(optarg, "curator") == 0  ? ZKLOCK_COMPAT_CURATOR
               : strcmp(optarg, "kazoo") == 0  ? ZKLOCK_COMPAT_KAZOO
               : strcmp(optarg, "native") == 0 ? ZKLOCK_COMPAT_NATIVE
                                               : -1;
      break;
    case 'r':
      require = optarg;
      break;
    case 'w':
      nworkers = atoi(optarg);
      break;
    case 'd':
      duration = atoi(optarg);
      break;
    case 's':
      seed = strtoull(optarg, NULL, 0);
      break;
    case 'f':
      faults = optarg;
      break;
    case 'i':
      if (sscanf(optarg, "%d:%d", &imin, &imax) != 2)
        imin = -1;
      break;
    case 'H':
      hold_ms = atoi(optarg);
      break;
    case 'S':
      session_ms = atoi(optarg);
      break;
    case 'z':
      hosts = optarg;
      break;
    case 'e':
      C.ensemble = optarg;
      break;
    case 'p':
      proxy = optarg;
      break;
    case 'x':
      C.expect_violations = strcmp(optarg, "violations") == 0;
      break;
    case 'm':
      C.min_holds = atol(optarg);
      break;
    case 'W':
      workdir = optarg;
      break;
    default:
      usage();
      return 2;
    }
  }
  int enabled[F_NKINDS], required[F_NKINDS] = {0};
  K = &kinds[kind < 0 ? 0 : kind];
  if ((require && parse_faults(require, required)) || kind < 0 || compat < 0 ||
      (compat && !K->compat_ok) || nworkers < 1 || nworkers > MAXW ||
      duration < 0 || hold_ms < 0 || session_ms < 1000 || imin < 0 ||
      imax < imin || parse_faults(faults, enabled)) {
    usage();
    return 2;
  }
  setenv("ZKFAULT_WORKDIR", workdir, 1);
  if (!hosts) {
    const char *dir = getenv("ZKLOCK_ENSEMBLE_DIR");
    static char hb[1024];
    char p[1024];
    snprintf(p, sizeof p, "%s/hosts", dir ? dir : ".");
    FILE *f = dir ? fopen(p, "r") : NULL;
    if (!f || !fgets(hb, sizeof hb, f)) {
      fprintf(stderr,
              "zkfault: no --hosts and no $ZKLOCK_ENSEMBLE_DIR/hosts\n");
      return 77;
    }
    fclose(f);
    hb[strcspn(hb, "\r\n")] = '\0';
    hosts = hb;
  }
  snprintf(C.real_hosts, sizeof C.real_hosts, "%s", hosts);
  for (int i = 0, n = 0; i < 3; i++) {
    const char *c = n < 0 ? NULL : strchr(C.real_hosts + n, ':');
    C.client_port[i] = c ? atoi(c + 1) : 0;
    const char *comma = c ? strchr(c, ',') : NULL;
    n = comma ? (int)(comma - C.real_hosts) + 1 : -1;
  }
  ssize_t sl = readlink("/proc/self/exe", C.self, sizeof C.self - 1);
  if (sl <= 0)
    return 1;
  C.self[sl] = '\0';
  char logpath[1024];
  snprintf(logpath, sizeof logpath, "%s/zkfault-faults.log", workdir);
  faultlog = fopen(logpath, "a");
  signal(SIGPIPE, SIG_IGN);
  if (C.ensemble && ens(&C.peer_ctl, NULL, "peerctl"))
    C.peer_ctl = 0;
  int have = (C.ensemble ? N_ENS : 0) | (proxy ? N_PROXY : 0) |
             (C.peer_ctl ? N_PEER : 0);
  for (int k = 0; k < F_NKINDS; k++) {
    if ((ftab[k].needs & have) == ftab[k].needs)
      continue;
    if (required[k]) {
      fprintf(stderr, "zkfault: fault %s is required but needs %s\n",
              ftab[k].name,
              ftab[k].needs & N_PEER    ? "ensemble.sh with ZK_PEER_PROXY"
              : ftab[k].needs & N_PROXY ? "--proxy"
                                        : "--ensemble");
      return 2;
    }
    enabled[k] = 0;
  }
  for (int k = 0; k < F_NKINDS; k++)
    enabled[k] |= required[k];

  /* shared memory for the workers: config, slots, records */
  long maxrec = (long)duration * 3000 + 100000;
  size_t total = sizeof(shm_t) + (size_t)maxrec * sizeof(rec_t);
  C.shm_fd = memfd_create("zkfault", 0);
  if (C.shm_fd < 0 || ftruncate(C.shm_fd, (off_t)total))
    return 1;
  S = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, C.shm_fd, 0);
  if (S == MAP_FAILED)
    return 1;
  S->maxrec = maxrec;
  S->kind = kind;
  S->hold_ms = hold_ms;
  S->session_ms = session_ms;
  S->nworkers = nworkers;
  S->seed = seed;
  S->permits = permits;
  S->compat = compat;
  snprintf(S->hosts, sizeof S->hosts, "%s", hosts);
  if (proxy && start_proxy(proxy, S->hosts, sizeof S->hosts)) {
    fprintf(stderr, "zkfault: could not start %s\n", proxy);
    return 1;
  }

  zhandle_t *zh = raw_connect();
  if (!zh) {
    fprintf(stderr, "zkfault: cannot connect to %s\n", C.real_hosts);
    return 1;
  }
  char base[128];
  snprintf(base, sizeof base, "/zkfault/run-%ld-%" PRIu64, (long)getpid(),
           seed);
  mkpath(zh, "/zkfault", NULL);
  mkpath(zh, base, NULL);
  snprintf(S->lock_path, sizeof S->lock_path, "%s/lock", base);
  snprintf(S->counter_path, sizeof S->counter_path, "%s/counter", base);
  /* A semaphore keeps its permits in the path's data: it creates it. */
  if (!K->permits)
    mkpath(zh, S->lock_path, NULL);
  for (int p = 0; p < MAXP; p++)
    snprintf(S->paths[p], sizeof S->paths[p], "%s/%c", S->lock_path, 'a' + p);
  mkpath(zh, S->counter_path, "0 0");
  snprintf(S->file_path, sizeof S->file_path, "%s/zkfault-counter-%ld", workdir,
           (long)getpid());
  int ffd = open(S->file_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (ffd < 0) {
    perror(S->file_path);
    return 1;
  }
  file_write(ffd, 0);

  static const char *const cname[] = {"native", "curator", "kazoo"};
  printf("zkfault: lock=%s (%s) permits=%d compat=%s workers=%d "
         "duration=%ds seed=%" PRIu64
         " hold<=%dms session=%dms proxy=%s peer-proxy=%s\n",
         K->name, K->about, permits, cname[compat], nworkers, duration, seed,
         hold_ms, session_ms, proxy ? "yes" : "no", C.peer_ctl ? "yes" : "no");
  fflush(stdout);
  flog("start seed %" PRIu64 " lock %s", seed, K->name);
  for (int i = 0; i < nworkers; i++)
    C.wpid[i] = spawn_worker(i);

  /* ---- inject faults: kinds in a seeded shuffled round-robin, so a
   * short run still sees every kind ---- */
  uint64_t rs = seed;
  srand((unsigned)seed);
  int order[F_NKINDS], norder = 0, pos = 0;
  int64_t t0 = now_ns(), t_end = t0 + (int64_t)duration * 1000000000;
  for (int k = 0; k < F_NKINDS; k++)
    if (enabled[k])
      order[norder++] = k;
  long last_nrec = 0;
  int64_t last_progress = now_ns();
  while (now_ns() < t_end) {
    long nr = atomic_load(&S->nrec);
    if (nr != last_nrec) {
      last_nrec = nr;
      last_progress = now_ns();
    } else if (now_ns() - last_progress > (int64_t)3 * session_ms * 1000000) {
      log_queue(zh);
      last_progress = now_ns();
    }
    long iv = rnd_range(&rs, imin, imax);
    int64_t left = (t_end - now_ns()) / 1000000;
    sleep_ms(iv < left ? iv : left);
    if (now_ns() >= t_end || norder == 0 || C.nfaults == MAX_FAULTS)
      continue;
    if (pos % norder == 0) {
      for (int i = norder - 1; i > 0; i--) {
        int j = (int)rnd_range(&rs, 0, i), t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
      /* Required kinds open the first round: a short run sees them. */
      for (int i = 0, front = 0; pos == 0 && i < norder; i++) {
        if (required[order[i]]) {
          int t = order[front];
          order[front++] = order[i];
          order[i] = t;
        }
      }
    }
    int k = order[pos++ % norder];
    fault_t *f = &C.faults[C.nfaults++];
    f->kind = k;
    f->start_ns = now_ns();
    flog("fault %s", ftab[k].name);
    struck_ns = 0;
    f->ok = inject(f, &rs) == 0;
    if (struck_ns)
      f->start_ns = struck_ns;
    f->end_ns = now_ns();
    if (ftab[k].settle)
      wait_healthy();
  }

  /* ---- wind down: heal, let workers release, look for orphans ---- */
  atomic_store(&S->stop, 1);
  int64_t t_stop = now_ns();
  if (C.peer_ctl)
    ctl_cmd(C.peer_ctl, "heal", NULL, 0);
  if (proxy) {
    proxy_cmd("delay 0", NULL, 0);
    proxy_cmd("block 0", NULL, 0);
    proxy_cmd("swallow 0", NULL, 0);
  }
  if (C.ensemble)
    wait_healthy();
  int stuck = 0;
  for (int i = 0; i < nworkers; i++) {
    int64_t end = now_ns() + 60 * (int64_t)1000000000;
    while (!atomic_load(&S->w[i].done) && now_ns() < end)
      sleep_ms(20);
    if (!atomic_load(&S->w[i].done)) {
      stuck++;
      fprintf(stderr, "zkfault: worker %d did not finish\n", i);
    }
  }
  /* Background deletes finish once clients are connected; nodes of killed
   * or expired sessions go when the server expires them. */
  int all = 0, live = 0;
  int64_t grace = now_ns() + (int64_t)(2 * session_ms + 5000) * 1000000;
  do {
    count_nodes(zh, &all, &live);
    if (all == 0)
      break;
    sleep_ms(100);
  } while (now_ns() < grace);
  int orphans_live = live;
  atomic_store(&S->close_go, 1);
  for (int i = 0; i < nworkers; i++) {
    int64_t end = now_ns() + 30 * (int64_t)1000000000;
    int st;
    while (waitpid(C.wpid[i], &st, WNOHANG) == 0) {
      if (now_ns() > end) {
        kill(C.wpid[i], SIGKILL);
        waitpid(C.wpid[i], &st, 0);
        stuck++;
        break;
      }
      sleep_ms(20);
    }
  }
  grace = now_ns() + (int64_t)(2 * session_ms + 5000) * 1000000;
  do {
    count_nodes(zh, &all, &live);
    if (all == 0)
      break;
    sleep_ms(100);
  } while (now_ns() < grace);
  int orphans_after = all;

  /* ---- analysis ---- */
  long nrec = atomic_load(&S->nrec);
  if (nrec > S->maxrec)
    nrec = S->maxrec;
  rec_t **clean = malloc(sizeof *clean * (size_t)(nrec + 1));
  long nclean = 0, nlost = 0, nkilled = 0, nopen = 0;
  for (long i = 0; i < nrec; i++) {
    rec_t *r = &S->recs[i];
    int fl = atomic_load(&r->flags);
    if (fl & R_OPEN || r->exit_ns == 0)
      nopen++;
    else if (fl & R_LOST)
      nlost++;
    else {
      nkilled += (fl & R_KILLED) != 0;
      clean[nclean++] = r;
    }
  }
  qsort(clean, (size_t)nclean, sizeof *clean, cmp_enter);
  char dump[1100];
  snprintf(dump, sizeof dump, "%s/zkfault-records.txt", workdir);
  FILE *df = fopen(dump, "w");
  for (long i = 0; df && i < nrec; i++) {
    rec_t *r = &S->recs[i];
    fprintf(df, "%d %d %" PRId64 " %c %.6f %.6f %.6f %d\n", r->worker, r->pid,
            r->token, r->mode ? r->mode : '?', r->enter_ns / 1e9,
            r->down_ns / 1e9, r->exit_ns / 1e9, (int)atomic_load(&r->flags));
  }
  if (df)
    fclose(df);
  long overlaps = 0, token_bad = 0, late = 0;
  /* Each path on its own: the overlap sweep over the holds that cover it,
   * and token order with their tokens on it. Tokens grow in queue order:
   * each write hold's beyond every earlier write hold's, and a reader
   * that entered after a writer queued after it (else the writer would
   * have waited for it). */
  rec_t **onp = malloc(sizeof *onp * (size_t)(nclean + 1));
  for (int p = 0; p < MAXP; p++) {
    long n = 0;
    for (long i = 0; i < nclean; i++)
      if (clean[i]->paths & (1 << p))
        onp[n++] = clean[i];
    if (n == 0)
      continue;
    segs_check(onp, n, S->permits, &overlaps);
    late += late_grants(onp, n, p, S->permits);
    const rec_t *lastw = NULL;
    for (long i = 0; i < n; i++) {
      rec_t *r = onp[i];
      if (K->broken && r->ptok[p] <= 0)
        continue; /* a broken kind's hold without a node there */
      if (lastw && r->ptok[p] <= lastw->ptok[p]) {
        if (token_bad < 5)
          printf("  token order: path %d %c %" PRId64 " acquired after w "
                 "%" PRId64 "\n",
                 p, r->mode, r->ptok[p], lastw->ptok[p]);
        token_bad++;
      }
      if (r->mode == 'w')
        lastw = r;
    }
  }
  free(onp);

  /* Progress: every worker's longest time without an acquire (from the
   * start, between acquires, to the stop), and how often the others
   * acquired meanwhile. A deadlock-free recipe keeps every worker
   * going; .progress kinds fail on a worker with no cycle at all, or one
   * idle for more than half the run (at least 4 session timeouts: a
   * killed holder blocks its paths for one) while the others went on. */
  long wcyc[MAXW] = {0}, starved = 0;
  int64_t wgap[MAXW], wlast[MAXW];
  long wothers[MAXW] = {0};
  int64_t wfrom[MAXW];
  for (int i = 0; i < nworkers; i++)
    wlast[i] = wfrom[i] = t0, wgap[i] = 0;
  for (long i = 0; i < nclean + 1; i++) {
    int last = i == nclean;
    const rec_t *r = last ? NULL : clean[i];
    for (int w = 0; w < nworkers; w++) {
      if (!last && r->worker != w)
        continue;
      int64_t t = last ? t_stop : r->enter_ns, g = t - wlast[w];
      if (g > wgap[w])
        wgap[w] = g, wfrom[w] = wlast[w];
      wlast[w] = t;
      wcyc[w] += !last;
    }
  }
  int64_t gap_limit = (t_stop - t0) / 2;
  if (gap_limit < (int64_t)4 * session_ms * 1000000)
    gap_limit = (int64_t)4 * session_ms * 1000000;
  int worst = 0;
  for (int w = 0; w < nworkers; w++) {
    for (long i = 0; i < nclean; i++)
      if (clean[i]->worker != w && clean[i]->enter_ns > wfrom[w] &&
          clean[i]->enter_ns < wfrom[w] + wgap[w])
        wothers[w]++;
    if (wgap[w] > wgap[worst])
      worst = w;
    if (K->progress &&
        (wcyc[w] == 0 || (wgap[w] > gap_limit && wothers[w] > 0)))
      starved++;
  }

  /* recovery: from each fault to the next acquire (any hold) */
  int64_t *enters = malloc(sizeof *enters * (size_t)(nrec + 1));
  long ne = 0;
  for (long i = 0; i < nrec; i++)
    if (S->recs[i].enter_ns)
      enters[ne++] = S->recs[i].enter_ns;
  for (long i = 1; i < ne; i++) { /* insertion sort is fine: nearly sorted */
    int64_t v = enters[i];
    long j = i - 1;
    for (; j >= 0 && enters[j] > v; j--)
      enters[j + 1] = enters[j];
    enters[j + 1] = v;
  }
  int64_t rec_max[F_NKINDS] = {0}, heal_max[F_NKINDS] = {0};
  int nk[F_NKINDS] = {0}, nk_ok[F_NKINDS] = {0}, nk_ver[F_NKINDS] = {0};
  int64_t rec_all = 0, unrecovered = 0, elect_max = 0;
  for (int i = 0; i < C.nfaults; i++) {
    fault_t *f = &C.faults[i];
    nk[f->kind]++;
    nk_ok[f->kind] += f->ok;
    nk_ver[f->kind] += f->ok && f->verified;
    if (f->elect_ns > elect_max)
      elect_max = f->elect_ns;
    long lo = 0, hi = ne;
    while (lo < hi) {
      long mid = (lo + hi) / 2;
      if (enters[mid] <= f->start_ns)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo == ne) {
      unrecovered++;
      continue;
    }
    int64_t d = enters[lo] - f->start_ns;
    if (d > rec_max[f->kind])
      rec_max[f->kind] = d;
    if (d > rec_all)
      rec_all = d;
    lo = 0, hi = ne;
    while (lo < hi) {
      long mid = (lo + hi) / 2;
      if (enters[mid] <= f->end_ns)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo < ne && enters[lo] - f->end_ns > heal_max[f->kind])
      heal_max[f->kind] = enters[lo] - f->end_ns;
  }

  long tot[32] = {0};
  int ci = 0;
#define X(n) ci++;
  COUNTERS(X)
#undef X
  for (int i = 0; i < nworkers; i++) {
    ci = 0;
#define X(n) tot[ci++] += atomic_load(&S->w[i].n);
    COUNTERS(X)
#undef X
  }
  ci = 0;
#define X(n) long n = tot[ci++];
  COUNTERS(X)
#undef X
  (void)opens;
  (void)lost_holds;

  char buf[64] = "";
  int blen = sizeof buf - 1;
  long long zk_final = -1;
  if (zoo_get(zh, S->counter_path, 0, buf, &blen, NULL) == ZOK) {
    buf[blen < 0 ? 0 : blen] = '\0';
    zk_final = atoll(buf);
  }
  long long file_final = file_read(ffd);
  /* zk: acknowledged increments must all be there; unknown outcomes may
   * or may not be. file: every counted write must be there. */
  zk_unknown += C.zk_unknown;
  long zk_lost = zk_final < zk_ok ? (long)(zk_ok - zk_final) : 0;
  long zk_phantom =
      zk_final > zk_ok + zk_unknown ? (long)(zk_final - zk_ok - zk_unknown) : 0;
  long file_lost = file_final < file_incs ? (long)(file_incs - file_final) : 0;
  long file_phantom = file_final > file_incs + C.file_unknown
                          ? (long)(file_final - file_incs - C.file_unknown)
                          : 0;
  /* Increments made by holds later found lost may be lost legitimately. */
  long file_lost_unexplained =
      file_lost > file_incs_lost ? file_lost - file_incs_lost : 0;

  printf("zkfault report: %s (seed %" PRIu64 ", %.1f s)\n", K->name, seed,
         (double)(now_ns() - t0) / 1e9);
  printf("  cycles           %ld acquired, %ld recorded (clean %ld, lost "
         "%ld, killed %ld, incomplete %ld)\n",
         acquires, nrec, nclean, nlost, nkilled, nopen);
  printf("  lock errors      timeout %ld busy %ld elost %ld econnloss %ld "
         "other %ld unlock-errors %ld client-open-failures %ld\n",
         timeouts, busy, elost, econnloss, eother, unlock_err, open_fail);
  printf("  holds            write %ld, read %ld, downgraded %ld "
         "(downgrade errors %ld)\n",
         acquires - read_holds, read_holds, downgrades, downgrade_err);
  printf("  faults           %d:", C.nfaults);
  for (int k = 0; k < F_NKINDS; k++)
    if (nk[k])
      printf(" %s=%d", ftab[k].name, nk[k]);
  printf("\n");
  for (int k = 0; k < F_NKINDS; k++) {
    if (!nk[k])
      continue;
    printf("  recovery %-16s max %6.0f ms after start, %6.0f ms after "
           "heal (%d/%d injected ok",
           ftab[k].name, rec_max[k] / 1e6, heal_max[k] / 1e6, nk_ok[k], nk[k]);
    if (ftab[k].needs & N_PEER)
      printf(", %d/%d verified by the servers' modes", nk_ver[k], nk[k]);
    if (k == F_ISOLATE_LEADER && elect_max)
      printf(", new leader at most %.0f ms after the cut", elect_max / 1e6);
    printf(")\n");
  }
  int req_bad = 0;
  for (int k = 0; k < F_NKINDS; k++) {
    int want = ftab[k].needs & N_PEER ? nk_ver[k] : nk_ok[k];
    if (required[k] && (nk[k] == 0 || want < nk[k])) {
      printf("  required fault %s: %d/%d took effect\n", ftab[k].name, want,
             nk[k]);
      req_bad++;
    }
  }
  printf("  recovery max     %.0f ms (faults with no acquire after: %" PRId64
         ")\n",
         rec_all / 1e6, unrecovered);
  printf("  per worker       cycles");
  for (int w = 0; w < nworkers; w++)
    printf(" %ld", wcyc[w]);
  printf("; longest gap %.1f s (worker %d, %ld acquires by others "
         "meanwhile)\n",
         wgap[worst] / 1e9, worst, wothers[worst]);
  if (K->progress)
    printf("  starved workers  %ld (limit %.1f s)\n", starved, gap_limit / 1e9);
  if (K->loop)
    printf("  async            %ld completions later than timeout + 2 s\n",
           async_late);
  printf("  overlaps         %ld\n", overlaps);
  printf("  late grants      %ld (OK returned after a pause, inside a clean "
         "hold)\n",
         late);
  printf("  token order      %ld violations\n", token_bad);
  printf("  read changes     %ld (the counter changed under a clean read "
         "hold)\n",
         read_changed);
  printf("  zk counter       final %lld, acknowledged %ld, unknown outcome "
         "%ld, fenced off %ld, version conflicts %ld, other errors %ld -> "
         "lost %ld, phantom %ld\n",
         zk_final, zk_ok, zk_unknown, zk_fenced, zk_badversion, zk_other,
         zk_lost, zk_phantom);
  printf("  term order       %ld writes of a lower token over a higher one "
         "(%ld conflicts in holds found lost, unfenced: not counted)\n",
         zk_regress, zk_doubt);
  printf("  file counter     final %lld, increments %ld (%ld by holds found "
         "lost) -> lost updates %ld (unexplained %ld), phantom %ld\n",
         file_final, file_incs, file_incs_lost, file_lost,
         file_lost_unexplained, file_phantom);
  printf("  orphans          %d nodes of live sessions after release, %d "
         "nodes after all sessions ended\n",
         orphans_live, orphans_after);
  if (stuck)
    printf("  stuck workers    %d\n", stuck);

  long violations = overlaps + late + token_bad + zk_lost + zk_phantom +
                    zk_badversion + zk_regress + file_lost_unexplained +
                    file_phantom + orphans_live + orphans_after + read_changed +
                    starved;
  printf("  violations       %ld\n", violations);
  /* The other figures are explained: timeouts, busy, ELOST and
   * ECONNLOSS answers are what callers get under faults (no hold
   * followed); unlock and downgrade errors make their hold lost; failed
   * client opens are retried; unknown zk outcomes are writes in doubt
   * (the phantom check bounds them); fenced-off writes are the fence
   * working; conflicts in lost holds are what fencing is for; faults
   * with no acquire after them were injected at the end of the run.
   * These are not, and fail a clean run: */
  long unexplained = eother + zk_other + async_late;
  printf("  unexplained      %ld (other lock errors %ld, other zk errors %ld, "
         "async completions later than timeout + 2 s %ld)\n",
         unexplained, eother, zk_other, async_late);
  if (!C.expect_violations)
    printf("  clean holds      %ld, at least %ld needed\n", nclean,
           C.min_holds);

  if (proxy) {
    char reply[512];
    if (proxy_cmd("stats", reply, sizeof reply) == 0)
      printf("  proxy            %s\n", reply + 3);
    proxy_cmd("quit", NULL, 0);
    waitpid(C.proxy_pid, NULL, 0);
  }
  rmr(zh, base);
  zookeeper_close(zh);
  close(ffd);
  unlink(S->file_path);
  free(clean);
  free(enters);
  if (faultlog)
    fclose(faultlog);

  int pass = C.expect_violations
                 ? violations > 0
                 : violations == 0 && stuck == 0 && req_bad == 0 &&
                       unexplained == 0 && nclean >= C.min_holds;
  printf("zkfault: %s (expected %s)\n", pass ? "PASS" : "FAIL",
         C.expect_violations ? "violations" : "no violations");
  return pass ? 0 : 1;
}
