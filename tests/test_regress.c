/* Regression tests for issue 12 (hardening), against the test ensemble.
 *
 * ENGINE REGRESSIONS: test_timeouts_paused (bug 1), test_tryrd_downgraded
 * (bug 3) and test_fenced_check_only (bug 5) check behaviour the lock
 * engine rewrite provides; against the old engine they fail. Set
 * ZKLOCK_SKIP_ENGINE_REGRESSIONS=1 to skip them until the new engine
 * lands.
 *
 * test_timeouts_paused SIGSTOPs every server of the ensemble for a few
 * seconds (tests/ensemble.sh pause), so tests/Makefile.inc runs this
 * program after every other test on that ensemble. The servers are
 * resumed in every exit path: the test's teardown, atexit, and SIGCONT
 * from a handler for the signals that end a test run. */
#include "zkt.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define raw zkt_rawzh
#define NSERVERS 3
/* Slack the issue allows a call past its timeout. */
#define SLACK_MS 250

static int skip_engine(void) {
  const char *s = getenv("ZKLOCK_SKIP_ENGINE_REGRESSIONS");
  return s && strcmp(s, "1") == 0;
}

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
  signal(sig, SIG_DFL);
  raise(sig);
}

static void at_exit_resume(void) {
  if (paused)
    sigcont_servers();
}

/* tests/ensemble.sh CMD ARG on the ensemble of ZKLOCK_ENSEMBLE_DIR. */
static int ensemble(const char *cmd, int n, char *out, size_t outlen) {
  const char *src = getenv("top_srcdir");
  char line[2048];
  snprintf(line, sizeof line, "\"%s/tests/ensemble.sh\" %s %d", src ? src : ".",
           cmd, n);
  FILE *f = popen(line, "r");
  if (!f)
    return -1;
  size_t len = out ? fread(out, 1, outlen - 1, f) : 0;
  if (out)
    out[len] = '\0';
  else
    while (fgetc(f) != EOF)
      ;
  int st = pclose(f);
  return st == 0 ? 0 : -1;
}

/* Only an ensemble this suite runs may be paused: not one named by
 * ZKLOCK_TEST_HOSTS. */
static int can_pause(void) {
  const char *h = getenv("ZKLOCK_TEST_HOSTS");
  return !(h && *h) && getenv("ZKLOCK_ENSEMBLE_DIR") && getenv("top_srcdir");
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

struct leftover {
  zhandle_t *zh;
  const char *path[2];
  int64_t sid;
};

static int no_leftover(void *arg) {
  const struct leftover *l = arg;
  return nodes_of_session(l->zh, l->path[0], l->sid) == 0 &&
         nodes_of_session(l->zh, l->path[1], l->sid) == 0;
}

/* One timed call while the servers are stopped. */
struct timed {
  const char *what;
  int rc, want;
  int64_t took, lo, hi;
};

static void report(const struct timed *t) {
  printf("  %s: %s after %lld ms (want %s within %lld..%lld ms)\n", t->what,
         zklock_err_name(t->rc), (long long)t->took, zklock_err_name(t->want),
         (long long)t->lo, (long long)t->hi);
}

/* Bug 1: timeouts are honoured while no server answers. ENGINE
 * REGRESSION (5.8 s to 6 s instead of 0.3 s to 1 s with the old engine). */
static void test_timeouts_paused(void **state) {
  (void)state;
  if (skip_engine() || !can_pause())
    skip();
  char mroot[256], rroot[256];
  zkt_root(mroot, sizeof mroot, "regress-pause-m");
  zkt_root(rroot, sizeof rroot, "regress-pause-r");
  zklock_client *a = zkt_client(0), *b = zkt_client(0);
  zklock_mutex *ma, *mb;
  zklock_rwlock *wa, *rb;
  assert_int_equal(zklock_mutex_new(a, mroot, &ma), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(b, mroot, &mb), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_new(a, rroot, &wa), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_new(b, rroot, &rb), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(ma, -1), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_wrlock(wa, -1), ZKLOCK_OK);
  int64_t sid_b = zklock_client_session_id(b);
  assert_true(sid_b != 0);

  /* All four calls are measured and reported before any is judged. */
  struct timed t[4] = {
      {"mutex_lock(500)", 0, ZKLOCK_ETIMEDOUT, 0, 500, 500 + SLACK_MS},
      {"mutex_trylock", 0, ZKLOCK_ECONNLOSS, 0, 0,
       ZKLOCK_TRY_WAIT_MS + SLACK_MS},
      {"rwlock_rdlock(300)", 0, ZKLOCK_ETIMEDOUT, 0, 300, 300 + SLACK_MS},
      {"rwlock_trywrlock", 0, ZKLOCK_ECONNLOSS, 0, 0,
       ZKLOCK_TRY_WAIT_MS + SLACK_MS}};
  pause_all();
  for (int i = 0; i < 4; i++) {
    int64_t t0 = zkt_now_ms();
    switch (i) {
    case 0:
      t[i].rc = zklock_mutex_lock(mb, 500);
      break;
    case 1:
      t[i].rc = zklock_mutex_trylock(mb);
      break;
    case 2:
      t[i].rc = zklock_rwlock_rdlock(rb, 300);
      break;
    default:
      t[i].rc = zklock_rwlock_trywrlock(rb);
      break;
    }
    t[i].took = zkt_now_ms() - t0;
  }
  resume_all();

  /* Answers that arrive now, after the calls gave up, must not leave b's
   * nodes behind. A fresh handle: the group's may have lost its session
   * while the servers were stopped. */
  zhandle_t *zh = zkt_raw();
  struct leftover lo = {zh, {mroot, rroot}, sid_b};
  int clean = zkt_wait_for(no_leftover, &lo, 15000);
  for (int i = 0; i < 4; i++)
    report(&t[i]);
  if (!clean)
    printf("  nodes of the waiter's session left: %d under %s, %d under %s\n",
           nodes_of_session(zh, mroot, sid_b), mroot,
           nodes_of_session(zh, rroot, sid_b), rroot);
  zookeeper_close(raw); /* the fresh one serves the rest of the group */
  raw = zh;
  for (int i = 0; i < 4; i++) {
    assert_int_equal(t[i].rc, t[i].want);
    assert_true(t[i].took >= t[i].lo);
    assert_true(t[i].took <= t[i].hi);
  }
  assert_true(clean);
  /* and the holders still hold, the waiter gets in once they go */
  assert_int_equal(zklock_mutex_state(ma), ZKLOCK_LOCK_HELD);
  assert_int_equal(zklock_mutex_unlock(ma), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(mb, 10000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_unlock(mb), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_unlock(wa), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_rdlock(rb, 10000), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_unlock(rb), ZKLOCK_OK);
  zklock_mutex_free(ma);
  zklock_mutex_free(mb);
  zklock_rwlock_free(wa);
  zklock_rwlock_free(rb);
  zklock_client_close(a);
  zklock_client_close(b);
  zkt_assert_empty(mroot);
  zkt_assert_empty(rroot);
}

/* Bug 3: a reader trying next to a writer that downgraded shares with it
 * (it answered EBUSY). ENGINE REGRESSION. */
static void test_tryrd_downgraded(void **state) {
  (void)state;
  if (skip_engine())
    skip();
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
  if (skip_engine())
    skip();
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

int main(void) {
  atexit(at_exit_resume);
  const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGALRM};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
    signal(sigs[i], on_fatal_signal);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tryrd_downgraded),
      cmocka_unit_test(test_fenced_check_only),
      cmocka_unit_test_teardown(test_timeouts_paused, resume_teardown),
  };
  return cmocka_run_group_tests_name("regress", tests, zkt_group_setup,
                                     zkt_group_teardown);
}
