/* Regression tests for issue 12 (hardening), against the test ensemble:
 * test_timeouts_paused (bug 1), test_tryrd_downgraded (bug 3) and
 * test_fenced_check_only (bug 5).
 *
 * test_timeouts_paused SIGSTOPs every server of the ensemble for a few
 * seconds (tests/ensemble.sh pause), so tests/Makefile.inc runs this
 * program after every other test on that ensemble. An ensemble named by
 * ZKLOCK_TEST_HOSTS is someone else's and is never paused: the test then
 * starts a private one (tests/ensemble.sh start), and stops it at exit.
 * The servers are resumed in every exit path: the test's teardown,
 * atexit, and SIGCONT from a handler for the signals that end a test
 * run. */
#include "zkt.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define raw zkt_rawzh
#define NSERVERS 3
/* The contract under test: a call with a timeout returns within that
 * timeout plus SLACK_MS whatever the servers do (ZKT_SLACK_MS, 2 s: see
 * tests/zkt.h), which tells an honoured timeout from one that waits for
 * the session (10 s here) or for a server's answer. */
#define SLACK_MS ZKT_SLACK_MS

/* ---- pausing the ensemble, and always resuming it ---- */

static volatile sig_atomic_t paused;
static pid_t server_pid[NSERVERS];

/* What we stopped, continued with the one call that is safe anywhere
 * (signal handlers, atexit); the script's own resume follows when it can
 * run. */
static void sigcont_servers(void) {
  for (int i = 0; i < NSERVERS; i++)
    if (server_pid[i] > 0)
      kill(server_pid[i], SIGCONT);
}

static void on_fatal_signal(int sig) {
  if (paused)
    sigcont_servers();
  zkt_private_kill(); /* if one was started: the script cannot run here */
  signal(sig, SIG_DFL);
  raise(sig);
}

static int ensemble(const char *cmd, int n, char *out, size_t outlen) {
  char args[64];
  snprintf(args, sizeof args, "%s %d", cmd, n);
  return zkt_ensemble_sh(args, out, outlen);
}

static void at_exit_resume(void) {
  if (paused)
    sigcont_servers();
}

/* Only an ensemble this suite runs may be paused: not one named by
 * ZKLOCK_TEST_HOSTS. For that one (or none) a private ensemble is
 * started (zkt_private_ensemble: zkt's helpers use it, exit stops it). */
static void pausable_ensemble(void) {
  if (!getenv("top_srcdir"))
    fail_msg("top_srcdir is not set (run under make check, or set it to "
             "the source tree: tests/ensemble.sh pauses the servers)");
  const char *h = getenv("ZKLOCK_TEST_HOSTS");
  if (!(h && *h) && getenv("ZKLOCK_ENSEMBLE_DIR"))
    return;
  const char *hosts = zkt_private_ensemble("regress");
  printf("  ZKLOCK_TEST_HOSTS names another ensemble: paused a private "
         "one at %s\n",
         hosts);
}

static void pause_all(void) {
  for (int n = 1; n <= NSERVERS; n++) {
    char buf[64];
    assert_int_equal(ensemble("pid", n, buf, sizeof buf), 0);
    server_pid[n - 1] = (pid_t)atol(buf);
    assert_true(server_pid[n - 1] > 0);
  }
  paused = 1; /* before the first STOP: any exit from here resumes */
  for (int n = 1; n <= NSERVERS; n++)
    assert_int_equal(ensemble("pause", n, NULL, 0), 0);
}

static void resume_all(void) {
  if (!paused)
    return;
  for (int n = 1; n <= NSERVERS; n++)
    ensemble("resume", n, NULL, 0);
  sigcont_servers(); /* in case the script could not run */
  paused = 0;
}

static int resume_teardown(void **state) {
  (void)state;
  resume_all();
  return 0;
}

/* Lock nodes under path whose ephemeral owner is sid; -1 if unreadable. */
static int nodes_of_session(zhandle_t *zh, const char *path, int64_t sid) {
  zkt_sync(zh, path);
  struct String_vector v = {0, NULL};
  int rc = zoo_get_children(zh, path, 0, &v);
  if (rc == ZNONODE)
    return 0;
  if (rc != ZOK)
    return -1;
  int n = 0;
  for (int i = 0; i < v.count; i++) {
    char p[1024];
    struct Stat st;
    snprintf(p, sizeof p, "%s/%s", path, v.data[i]);
    if (zoo_exists(zh, p, 0, &st) == ZOK && st.ephemeralOwner == sid)
      n++;
  }
  deallocate_String_vector(&v);
  return n;
}

/* What test_timeouts_paused works on: one path per call, a holding
 * client a (mutex and writer: the waits are on held locks) and a waiting
 * client b (thread mode: its async completions run on its own thread).
 * The semaphore, election and multi-lock paths are free: with the servers
 * stopped nothing may be granted, and were they not stopped the calls
 * would succeed, so the check cannot pass by accident. */
enum { P_M, P_R, P_S, P_E, P_ML1, P_ML2, P_AM, P_AR, P_AW, P_AS, P_AE, NP };
static const char *const pname[NP] = {"m",  "r",  "s",  "e",  "ml1", "ml2",
                                      "am", "ar", "aw", "as", "ae"};
struct paused {
  char root[NP][256];
  zklock_client *a, *b;
  zklock_mutex *ma, *mb, *amb;
  zklock_rwlock *wa, *rb, *arb, *awb;
  zklock_semaphore *sb, *asb;
  zklock_election *eb, *aeb;
  zklock_multilock *mlb;
};

struct leftover {
  zhandle_t *zh;
  const struct paused *p;
  int64_t sid;
};

static int no_leftover(void *arg) {
  const struct leftover *l = arg;
  for (int i = 0; i < NP; i++)
    if (nodes_of_session(l->zh, l->p->root[i], l->sid) != 0)
      return 0;
  return 1;
}

/* One timed call while the servers are stopped. */
struct timed {
  const char *what;
  int rc, want;
  int64_t took, lo, hi;
  int64_t t0;
  int done;
};

static void report(const struct timed *t) {
  printf("  %s: %s after %lld ms (want %s within %lld..%lld ms)\n", t->what,
         zklock_err_name(t->rc), (long long)t->took, zklock_err_name(t->want),
         (long long)t->lo, (long long)t->hi);
}

static void paused_open(struct paused *p) {
  for (int i = 0; i < NP; i++) {
    char name[64];
    snprintf(name, sizeof name, "regress-pause-%s", pname[i]);
    zkt_root(p->root[i], sizeof p->root[i], name);
  }
  p->a = zkt_client(0);
  p->b = zkt_client(0);
  zklock_client *a = p->a, *b = p->b;
  assert_int_equal(zklock_mutex_new(a, p->root[P_M], &p->ma), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(b, p->root[P_M], &p->mb), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_new(a, p->root[P_R], &p->wa), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_new(b, p->root[P_R], &p->rb), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_new(b, p->root[P_S], 1, &p->sb), ZKLOCK_OK);
  assert_int_equal(zklock_election_new(b, p->root[P_E], "b", &p->eb),
                   ZKLOCK_OK);
  const char *ml[2] = {p->root[P_ML1], p->root[P_ML2]};
  assert_int_equal(zklock_multilock_new(b, ml, 2, &p->mlb), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(b, p->root[P_AM], &p->amb), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_new(b, p->root[P_AR], &p->arb), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_new(b, p->root[P_AW], &p->awb), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_new(b, p->root[P_AS], 1, &p->asb),
                   ZKLOCK_OK);
  assert_int_equal(zklock_election_new(b, p->root[P_AE], "ab", &p->aeb),
                   ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(p->ma, -1), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_wrlock(p->wa, -1), ZKLOCK_OK);
}

#define NSYNC 7
#define NASYNC 5
#define ASYNC_MS 300

/* The blocking calls, one after the other. */
static void paused_sync(struct paused *p, struct timed *t) {
  for (int i = 0; i < NSYNC; i++) {
    int64_t t0 = zkt_now_ms();
    switch (i) {
    case 0:
      t[i].rc = zklock_mutex_lock(p->mb, 500);
      break;
    case 1:
      t[i].rc = zklock_mutex_trylock(p->mb);
      break;
    case 2:
      t[i].rc = zklock_rwlock_rdlock(p->rb, 300);
      break;
    case 3:
      t[i].rc = zklock_rwlock_trywrlock(p->rb);
      break;
    case 4:
      t[i].rc = zklock_semaphore_acquire(p->sb, 300);
      break;
    case 5:
      t[i].rc = zklock_election_campaign(p->eb, 300);
      break;
    default:
      t[i].rc = zklock_multilock_lock(p->mlb, 300);
      break;
    }
    t[i].took = zkt_now_ms() - t0;
  }
}

static void async_end(int rc, void *arg) {
  struct timed *t = arg;
  t->rc = rc;
  t->took = zkt_now_ms() - t->t0;
  __atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
}

static int all_done(void *arg) {
  const struct timed *t = arg;
  for (int i = 0; i < NASYNC; i++)
    if (!__atomic_load_n(&t[i].done, __ATOMIC_ACQUIRE))
      return 0;
  return 1;
}

/* Every asynchronous acquisition at once; their completions are awaited
 * (bounded) while the servers are still stopped. */
static void paused_async(struct paused *p, struct timed *t) {
  for (int i = 0; i < NASYNC; i++) {
    int rc;
    t[i].t0 = zkt_now_ms();
    switch (i) {
    case 0:
      rc = zklock_mutex_lock_async(p->amb, ASYNC_MS, async_end, &t[i]);
      break;
    case 1:
      rc = zklock_rwlock_rdlock_async(p->arb, ASYNC_MS, async_end, &t[i]);
      break;
    case 2:
      rc = zklock_rwlock_wrlock_async(p->awb, ASYNC_MS, async_end, &t[i]);
      break;
    case 3:
      rc = zklock_semaphore_acquire_async(p->asb, ASYNC_MS, async_end, &t[i]);
      break;
    default:
      rc = zklock_election_campaign_async(p->aeb, ASYNC_MS, async_end, &t[i]);
      break;
    }
    if (rc != ZKLOCK_OK) { /* no completion follows */
      t[i].rc = rc;
      __atomic_store_n(&t[i].done, 1, __ATOMIC_RELEASE);
    }
  }
  zkt_wait_for(all_done, t, ASYNC_MS + SLACK_MS + 1000);
  for (int i = 0; i < NASYNC; i++)
    if (!__atomic_load_n(&t[i].done, __ATOMIC_ACQUIRE))
      t[i].rc = -1000, t[i].took = zkt_now_ms() - t[i].t0; /* none yet */
}

/* After the servers are back: the holders still hold, and every waiter
 * gets in once the way is free (nothing the timed-out calls left blocks
 * it). */
static void paused_after(struct paused *p) {
  assert_int_equal(zklock_mutex_state(p->ma), ZKLOCK_LOCK_HELD);
  assert_int_equal(zklock_mutex_unlock(p->ma), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(p->mb, 10000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_unlock(p->mb), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_unlock(p->wa), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_rdlock(p->rb, 10000), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_unlock(p->rb), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_acquire(p->sb, 10000), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_release(p->sb), ZKLOCK_OK);
  assert_int_equal(zklock_election_campaign(p->eb, 10000), ZKLOCK_OK);
  assert_int_equal(zklock_election_resign(p->eb), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_lock(p->mlb, 10000), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_unlock(p->mlb), ZKLOCK_OK);
  zklock_mutex_free(p->ma);
  zklock_mutex_free(p->mb);
  zklock_mutex_free(p->amb);
  zklock_rwlock_free(p->wa);
  zklock_rwlock_free(p->rb);
  zklock_rwlock_free(p->arb);
  zklock_rwlock_free(p->awb);
  zklock_semaphore_free(p->sb);
  zklock_semaphore_free(p->asb);
  zklock_election_free(p->eb);
  zklock_election_free(p->aeb);
  zklock_multilock_free(p->mlb);
  zklock_client_close(p->a);
  zklock_client_close(p->b);
  for (int i = 0; i < NP; i++)
    zkt_assert_empty(p->root[i]);
}

/* Bug 1: timeouts are honoured while no server answers, by every
 * blocking and asynchronous acquisition (the old engine took 5.8 s to
 * 6 s instead of 0.3 s to 1 s). */
static void test_timeouts_paused(void **state) {
  (void)state;
  pausable_ensemble();
  struct paused p;
  paused_open(&p);
  int64_t sid_b = zklock_client_session_id(p.b);
  assert_true(sid_b != 0);

  /* All calls are measured and reported before any is judged. */
  const int to = ZKLOCK_ETIMEDOUT, cl = ZKLOCK_ECONNLOSS;
  const int64_t tw = ZKLOCK_TRY_WAIT_MS, sl = SLACK_MS, am = ASYNC_MS;
  struct timed t[NSYNC + NASYNC] = {
      {"mutex_lock(500)", 0, to, 0, 500, 500 + sl, 0, 0},
      {"mutex_trylock", 0, cl, 0, 0, tw + sl, 0, 0},
      {"rwlock_rdlock(300)", 0, to, 0, 300, 300 + sl, 0, 0},
      {"rwlock_trywrlock", 0, cl, 0, 0, tw + sl, 0, 0},
      {"semaphore_acquire(300)", 0, to, 0, 300, 300 + sl, 0, 0},
      {"election_campaign(300)", 0, to, 0, 300, 300 + sl, 0, 0},
      {"multilock_lock(300)", 0, to, 0, 300, 300 + sl, 0, 0},
      {"mutex_lock_async(300)", 0, to, 0, am, am + sl, 0, 0},
      {"rwlock_rdlock_async(300)", 0, to, 0, am, am + sl, 0, 0},
      {"rwlock_wrlock_async(300)", 0, to, 0, am, am + sl, 0, 0},
      {"semaphore_acquire_async(300)", 0, to, 0, am, am + sl, 0, 0},
      {"election_campaign_async(300)", 0, to, 0, am, am + sl, 0, 0}};
  pause_all();
  paused_sync(&p, t);
  paused_async(&p, t + NSYNC);
  resume_all();

  /* Answers that arrive now, after the calls gave up, must not leave b's
   * nodes behind. A fresh handle: the group's may have lost its session
   * while the servers were stopped (and with a private ensemble it is on
   * another one). */
  zhandle_t *zh = zkt_raw();
  struct leftover lo = {zh, &p, sid_b};
  int clean = zkt_wait_for(no_leftover, &lo, 15000);
  for (int i = 0; i < NSYNC + NASYNC; i++)
    report(&t[i]);
  for (int i = 0; !clean && i < NP; i++)
    printf("  nodes of the waiter's session left: %d under %s\n",
           nodes_of_session(zh, p.root[i], sid_b), p.root[i]);
  zookeeper_close(raw); /* the fresh one serves the rest of the group */
  raw = zh;
  for (int i = 0; i < NSYNC + NASYNC; i++) {
    assert_int_equal(t[i].rc, t[i].want);
    assert_true(t[i].took >= t[i].lo);
    assert_true(t[i].took <= t[i].hi);
  }
  assert_true(clean);
  paused_after(&p);
}

/* Bug 3: a reader trying next to a writer that downgraded shares with it
 * (it answered EBUSY). ENGINE REGRESSION. */
static void test_tryrd_downgraded(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "regress-tryrd");
  zklock_client *a = zkt_client(0), *b = zkt_client(0);
  zklock_rwlock *w, *r;
  zklock_mutex *m;
  assert_int_equal(zklock_rwlock_new(a, root, &w), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_new(b, root, &r), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(b, root, &m), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_wrlock(w, -1), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_tryrdlock(r), ZKLOCK_EBUSY); /* not yet */
  assert_int_equal(zklock_rwlock_downgrade(w), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_mode(w), 'r');
  /* Writers stay out, ... */
  assert_int_equal(zklock_rwlock_trywrlock(r), ZKLOCK_EBUSY);
  assert_int_equal(zklock_mutex_trylock(m), ZKLOCK_EBUSY);
  /* ... a waiting reader comes in (this worked), ... */
  assert_int_equal(zklock_rwlock_rdlock(r, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_unlock(r), ZKLOCK_OK);
  /* ... and so must a trying one. */
  assert_int_equal(zklock_rwlock_tryrdlock(r), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_mode(r), 'r');
  assert_int_equal(zklock_rwlock_unlock(r), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_rdlock(r, 0), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_unlock(r), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_unlock(w), ZKLOCK_OK);
  zklock_rwlock_free(w);
  zklock_rwlock_free(r);
  zklock_mutex_free(m);
  zklock_client_close(a);
  zklock_client_close(b);
  zkt_assert_empty(root);
}

/* Bug 5: fenced multi with n = 0 is "check that I still hold it on the
 * server" (it reached memcpy(ops + 1, NULL, 0)). ENGINE REGRESSION. */
static void test_fenced_check_only(void **state) {
  (void)state;
  char mroot[256], rroot[256];
  zkt_root(mroot, sizeof mroot, "regress-fenced0-m");
  zkt_root(rroot, sizeof rroot, "regress-fenced0-r");
  zklock_client *c = zkt_client(0);
  zklock_mutex *m;
  zklock_rwlock *l;
  assert_int_equal(zklock_mutex_new(c, mroot, &m), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_new(c, rroot, &l), ZKLOCK_OK);
  /* not held: nothing to check */
  assert_int_equal(zklock_mutex_fenced_multi(m, 0, NULL, NULL),
                   ZKLOCK_ENOTHELD);
  assert_int_equal(zklock_mutex_lock(m, -1), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_fenced_multi(m, 0, NULL, NULL), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_wrlock(l, -1), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_fenced_multi(l, 0, NULL, NULL), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_downgrade(l), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_fenced_multi(l, 0, NULL, NULL), ZKLOCK_OK);

  /* Someone else deletes the nodes: the check says ELOST. */
  char node[1024];
  snprintf(node, sizeof node, "%s", zklock_mutex_node(m));
  assert_int_equal(zoo_delete(raw, node, -1), ZOK);
  snprintf(node, sizeof node, "%s", zklock_rwlock_node(l));
  assert_int_equal(zoo_delete(raw, node, -1), ZOK);
  assert_int_equal(zklock_mutex_fenced_multi(m, 0, NULL, NULL), ZKLOCK_ELOST);
  assert_int_equal(zklock_rwlock_fenced_multi(l, 0, NULL, NULL), ZKLOCK_ELOST);
  (void)zklock_mutex_unlock(m); /* resets the handles; not under test */
  (void)zklock_rwlock_unlock(l);
  zklock_mutex_free(m);
  zklock_rwlock_free(l);
  zklock_client_close(c);
  zkt_assert_empty(mroot);
  zkt_assert_empty(rroot);
}

/* The profile semaphore (src/compat_sem.c) and the engine disagreed: a
 * try that got no answer said EBUSY ("held by another owner") there, where
 * zklock.h promises ZKLOCK_ECONNLOSS. Checked for both profiles while no
 * server answers, then a try that does get answers holds. */
static void test_profile_sem_try_paused(void **state) {
  (void)state;
  pausable_ensemble();
  const int profiles[] = {ZKLOCK_COMPAT_KAZOO, ZKLOCK_COMPAT_CURATOR};
  zklock_client *c[2];
  zklock_semaphore *s[2];
  char root[2][256];
  for (int i = 0; i < 2; i++) {
    zkt_root(root[i], sizeof root[i], i ? "regress-csem-c" : "regress-csem-k");
    zklock_client_opts o;
    memset(&o, 0, sizeof o);
    o.compat = profiles[i];
    assert_int_equal(zklock_client_open(zkt_hosts(), &o, &c[i]), ZKLOCK_OK);
    assert_int_equal(zklock_semaphore_new(c[i], root[i], 2, &s[i]), ZKLOCK_OK);
    /* the paths exist and the client is settled before the pause */
    assert_int_equal(zklock_semaphore_tryacquire(s[i]), ZKLOCK_OK);
    assert_int_equal(zklock_semaphore_release(s[i]), ZKLOCK_OK);
  }
  /* Fresh handles: kazoo's first step on one is its own (the path check),
   * not the engine's mutex try. */
  zklock_semaphore *f[2];
  for (int i = 0; i < 2; i++)
    assert_int_equal(zklock_semaphore_new(c[i], root[i], 2, &f[i]), ZKLOCK_OK);
  int rc[2];
  int64_t took[2];
  pause_all();
  for (int i = 0; i < 2; i++) {
    int64_t t0 = zkt_now_ms();
    rc[i] = zklock_semaphore_tryacquire(f[i]);
    took[i] = zkt_now_ms() - t0;
  }
  resume_all();
  for (int i = 0; i < 2; i++)
    zklock_semaphore_free(f[i]);
  for (int i = 0; i < 2; i++) {
    printf("  %s semaphore try, no server answering: %s after %lld ms\n",
           i ? "Curator" : "kazoo", zklock_err_name(rc[i]), (long long)took[i]);
    assert_int_equal(rc[i], ZKLOCK_ECONNLOSS);
    assert_true(took[i] <= ZKLOCK_TRY_WAIT_MS + SLACK_MS);
  }
  for (int i = 0; i < 2; i++) {
    int r = ZKLOCK_ECONNLOSS;
    for (int k = 0; k < 50 && r == ZKLOCK_ECONNLOSS; k++)
      r = zklock_semaphore_tryacquire(s[i]); /* until reconnected */
    assert_int_equal(r, ZKLOCK_OK);
    assert_int_equal(zklock_semaphore_release(s[i]), ZKLOCK_OK);
    zklock_semaphore_free(s[i]);
    zklock_client_close(c[i]);
  }
}

static void *resume_later(void *arg) {
  (void)arg;
  zkt_sleep_ms(1500);
  resume_all();
  return NULL;
}

/* The engine replaces a dead session once before an attempt queues and
 * waits for the new one within the caller's timeout; the kazoo-profile
 * semaphore (src/compat_sem.c, whose first step is its own) gave ELOST as
 * soon as the replacement took longer than its 100 ms retry. Here it
 * takes ~1.5 s: the servers are paused while the session is replaced. */
static void test_profile_sem_expired_paused(void **state) {
  (void)state;
  pausable_ensemble();
  char root[256], mutex[300];
  zkt_root(root, sizeof root, "regress-csem-exp");
  snprintf(mutex, sizeof mutex, "%s-__lock__", root);
  zklock_client_opts o;
  memset(&o, 0, sizeof o);
  o.compat = ZKLOCK_COMPAT_KAZOO;
  zklock_client *c;
  assert_int_equal(zklock_client_open(zkt_hosts(), &o, &c), ZKLOCK_OK);
  zklock_semaphore *s;
  assert_int_equal(zklock_semaphore_new(c, root, 1, &s), ZKLOCK_OK);
  int64_t sid = zklock_client_session_id(c);
  zkt_expire(c);
  for (int i = 0; i < 1500 && zklock_client_state(c) != ZKLOCK_SESSION_EXPIRED;
       i++)
    zkt_sleep_ms(10);
  assert_int_equal(zklock_client_state(c), ZKLOCK_SESSION_EXPIRED);
  pause_all();
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, resume_later, NULL), 0);
  int64_t t0 = zkt_now_ms();
  int rc = zklock_semaphore_acquire(s, 20000);
  int64_t took = zkt_now_ms() - t0;
  pthread_join(th, NULL);
  printf("  kazoo semaphore acquire on an expired session, servers paused "
         "1.5 s: %s after %lld ms\n",
         zklock_err_name(rc), (long long)took);
  assert_int_equal(rc, ZKLOCK_OK);
  assert_int_not_equal(zklock_client_session_id(c), sid);
  assert_int_equal(zklock_semaphore_release(s), ZKLOCK_OK);
  zklock_semaphore_free(s);
  zklock_client_close(c);
  zhandle_t *zh = zkt_raw();
  zkt_rmr(zh, root);
  zkt_rmr(zh, mutex);
  zookeeper_close(zh);
}

/* Every state the listener gets, in order (test_listener_uncertain). */
typedef struct {
  pthread_mutex_t mu;
  int n, st[16];
} states;

static void states_cb(void *handle, int state, void *arg) {
  (void)handle;
  states *r = arg;
  pthread_mutex_lock(&r->mu);
  if (r->n < 16)
    r->st[r->n++] = state;
  pthread_mutex_unlock(&r->mu);
}

static int states_last(states *r) {
  pthread_mutex_lock(&r->mu);
  int st = r->n ? r->st[r->n - 1] : -1;
  pthread_mutex_unlock(&r->mu);
  return st;
}

static int last_uncertain(void *arg) {
  return states_last(arg) == ZKLOCK_LOCK_UNCERTAIN;
}

static int last_held(void *arg) { return states_last(arg) == ZKLOCK_LOCK_HELD; }

/* A holder's listener hears of a disconnect (UNCERTAIN) and of the
 * reconnect that keeps the session (HELD again), in that order. The
 * client notices no answers after 2/3 of the session timeout, the server
 * expires the session after all of it: the servers resume as soon as
 * UNCERTAIN is in, leaving a third of the timeout (4 s) to reconnect. */
static void test_listener_uncertain_paused(void **state) {
  (void)state;
  pausable_ensemble();
  char root[256];
  zkt_root(root, sizeof root, "regress-lsn-uncertain");
  zklock_client_opts o;
  memset(&o, 0, sizeof o);
  o.session_timeout_ms = 12000;
  zklock_client *c;
  assert_int_equal(zklock_client_open(zkt_hosts(), &o, &c), ZKLOCK_OK);
  int64_t sid = zklock_client_session_id(c);
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(c, root, &m), ZKLOCK_OK);
  states r = {.n = 0};
  pthread_mutex_init(&r.mu, NULL);
  assert_int_equal(zklock_mutex_set_listener(m, states_cb, &r), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m, 5000), ZKLOCK_OK);
  assert_true(zkt_wait_for(last_held, &r, 5000));
  pause_all();
  int uncertain = zkt_wait_for(last_uncertain, &r, 15000);
  int st_paused = zklock_mutex_state(m);
  resume_all();
  assert_true(uncertain);
  assert_int_equal(st_paused, ZKLOCK_LOCK_UNCERTAIN);
  assert_true(zkt_wait_for(last_held, &r, 15000));
  assert_int_equal(zklock_client_session_id(c), sid);
  assert_int_equal(zklock_mutex_state(m), ZKLOCK_LOCK_HELD);
  pthread_mutex_lock(&r.mu);
  int order[] = {ZKLOCK_LOCK_HELD, ZKLOCK_LOCK_UNCERTAIN, ZKLOCK_LOCK_HELD};
  assert_int_equal(r.n, 3);
  for (int i = 0; i < 3; i++)
    assert_int_equal(r.st[i], order[i]);
  pthread_mutex_unlock(&r.mu);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  zklock_mutex_free(m);
  zklock_client_close(c);
  zhandle_t *zh = zkt_raw();
  zkt_rmr(zh, root);
  zookeeper_close(zh);
}

int main(void) {
  atexit(at_exit_resume);
  const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGALRM};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
    signal(sigs[i], on_fatal_signal);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tryrd_downgraded),
      cmocka_unit_test(test_fenced_check_only),
      cmocka_unit_test_teardown(test_timeouts_paused, resume_teardown),
      cmocka_unit_test_teardown(test_profile_sem_try_paused, resume_teardown),
      cmocka_unit_test_teardown(test_profile_sem_expired_paused,
                                resume_teardown),
      cmocka_unit_test_teardown(test_listener_uncertain_paused,
                                resume_teardown),
  };
  return cmocka_run_group_tests_name("regress", tests, zkt_group_setup,
                                     zkt_group_teardown);
}
