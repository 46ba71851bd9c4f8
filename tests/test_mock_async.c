/* Unit tests of the asynchronous calls against the fake ZooKeeper
 * (tests/mock_zk.c): the faults a real server gives rarely, hit while the
 * wait is asynchronous and its completion goes through the loop queue.
 * Each completion must come exactly once. No server. */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mock_zk.h"
#include "zklock_int.h"

#define WAIT_MS 10000      /* generous: only a broken library waits this long */
#define FOREIGN_SID 0x7777 /* "another session" */
#define GUID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static zklock_client *cli; /* loop mode */

static int setup(void **state) {
  (void)state;
  mz_reset();
  zklock_client_opts o = {0};
  o.dispatch = ZKLOCK_DISPATCH_LOOP;
  return zklock_client_open("mock:2181", &o, &cli) == ZKLOCK_OK ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  zklock_client_close(cli);
  cli = NULL;
  return mz_open_handles() == 0 ? 0 : -1;
}

static void mkpath(const char *path) {
  char buf[256];
  for (const char *p = strchr(path + 1, '/');; p = strchr(p + 1, '/')) {
    size_t n = p ? (size_t)(p - path) : strlen(path);
    snprintf(buf, sizeof buf, "%.*s", (int)n, path);
    int zrc = mz_create(buf, ZOO_PERSISTENT, 0, NULL, 0);
    assert_true(zrc == ZOK || zrc == ZNODEEXISTS);
    if (!p)
      break;
  }
}

static void foreign_node(const char *lock, char *out, size_t len) {
  char prefix[256];
  snprintf(prefix, sizeof prefix, "%s/x-%s-", lock, GUID_A);
  assert_int_equal(
      mz_create(prefix, ZOO_EPHEMERAL_SEQUENTIAL, FOREIGN_SID, out, len), ZOK);
}

static int watched(void *arg) { return mz_has_watch(arg); }
static int held(void *arg) {
  return zklock_mutex_state(arg) == ZKLOCK_LOCK_HELD;
}

typedef struct {
  const char *path;
  int n;
} want_children;

static int children_are(void *arg) {
  want_children *w = arg;
  return mz_children(w->path, NULL, 0) == w->n;
}

static void wait_children(const char *path, int n) {
  want_children w = {path, n};
  assert_true(mz_wait_for(children_are, &w, WAIT_MS));
}

typedef struct {
  int calls, rc;
} ending;

static void end_done(int rc, void *arg) {
  ending *e = arg;
  e->calls++;
  e->rc = rc;
}

/* Dispatches the loop-mode client until *calls reaches want or ms pass. */
static int dispatch_until(const int *calls, int want, int ms) {
  struct pollfd p = {.fd = zklock_client_fd(cli), .events = POLLIN};
  assert_true(p.fd >= 0);
  for (int waited = 0; *calls < want && waited < ms; waited += 10)
    if (poll(&p, 1, 10) > 0)
      assert_true(zklock_client_dispatch(cli) >= 0);
  return *calls;
}

/* ---- a create answered with connection loss, while async ---- */

static void lost_create_async(int applied) {
  const char *lock = "/t/async-lost";
  mkpath(lock);
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(cli, lock, &m), ZKLOCK_OK);
  mz_fault(MZ_CREATE, applied ? MZ_LOSS_APPLIED : MZ_LOSS_NOT_APPLIED, 0);
  ending e = {0};
  assert_int_equal(zklock_mutex_lock_async(m, -1, end_done, &e), ZKLOCK_OK);
  assert_int_equal(dispatch_until(&e.calls, 1, WAIT_MS), 1);
  assert_int_equal(e.rc, ZKLOCK_OK);
  /* one node, ours: found by guid after the reconnect (or made again) */
  char name[128], node[400];
  assert_int_equal(mz_children(lock, name, sizeof name), 1);
  snprintf(node, sizeof node, "%s/%s", lock, name);
  assert_string_equal(zklock_mutex_node(m), node);
  assert_int_equal(mz_init_count(), 1); /* same session throughout */
  assert_int_equal(zklock_mutex_unlock_async(m, end_done, &e), ZKLOCK_OK);
  assert_int_equal(dispatch_until(&e.calls, 2, WAIT_MS), 2);
  assert_int_equal(e.rc, ZKLOCK_OK);
  wait_children(lock, 0);
  dispatch_until(&e.calls, 3, 100);
  assert_int_equal(e.calls, 2);
  zklock_mutex_free(m);
}

static void test_lost_create_applied(void **state) {
  (void)state;
  lost_create_async(1);
}

static void test_lost_create_not_applied(void **state) {
  (void)state;
  lost_create_async(0);
}

/* ---- the session expires while the wait is queued ---- */

static void test_expire_while_queued(void **state) {
  (void)state;
  const char *lock = "/t/async-expire";
  mkpath(lock);
  char ahead[256];
  foreign_node(lock, ahead, sizeof ahead);
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(cli, lock, &m), ZKLOCK_OK);
  ending e = {0};
  assert_int_equal(zklock_mutex_lock_async(m, -1, end_done, &e), ZKLOCK_OK);
  assert_true(mz_wait_for(watched, ahead, WAIT_MS));
  assert_int_equal(mz_children(lock, NULL, 0), 2);
  mz_expire();
  assert_int_equal(dispatch_until(&e.calls, 1, WAIT_MS), 1);
  assert_int_equal(e.rc, ZKLOCK_ELOST);
  assert_null(zklock_mutex_node(m));
  assert_int_equal(mz_children(lock, NULL, 0), 1); /* ours went */
  dispatch_until(&e.calls, 2, 200);
  assert_int_equal(e.calls, 1);
  /* the handle works again on a replacement session */
  assert_int_equal(mz_delete(ahead), ZOK);
  assert_int_equal(zklock_mutex_lock_async(m, -1, end_done, &e), ZKLOCK_OK);
  assert_int_equal(dispatch_until(&e.calls, 2, WAIT_MS), 2);
  assert_int_equal(e.rc, ZKLOCK_OK);
  assert_int_equal(mz_init_count(), 2);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  zklock_mutex_free(m);
}

/* ---- cancel racing the grant ---- */

#define RACES 200

static void test_cancel_races_grant(void **state) {
  (void)state;
  const char *lock = "/t/async-race";
  mkpath(lock);
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(cli, lock, &m), ZKLOCK_OK);
  /* Each ordering once on purpose, so each is checked whatever the
   * scheduler does in the races below. Cancel first: */
  char ahead0[256];
  foreign_node(lock, ahead0, sizeof ahead0);
  ending e0 = {0};
  assert_int_equal(zklock_mutex_lock_async(m, -1, end_done, &e0), ZKLOCK_OK);
  assert_true(mz_wait_for(watched, ahead0, WAIT_MS));
  assert_int_equal(zklock_mutex_cancel(m), ZKLOCK_OK);
  assert_int_equal(mz_delete(ahead0), ZOK);
  assert_int_equal(dispatch_until(&e0.calls, 1, WAIT_MS), 1);
  assert_int_equal(e0.rc, ZKLOCK_ECANCELED);
  assert_int_equal(zklock_mutex_state(m), ZKLOCK_LOCK_UNLOCKED);
  wait_children(lock, 0);
  /* ... and the grant first (the engine holds before the completion is
   * dispatched): the cancel finds no wait. */
  foreign_node(lock, ahead0, sizeof ahead0);
  memset(&e0, 0, sizeof e0);
  assert_int_equal(zklock_mutex_lock_async(m, -1, end_done, &e0), ZKLOCK_OK);
  assert_true(mz_wait_for(watched, ahead0, WAIT_MS));
  assert_int_equal(mz_delete(ahead0), ZOK);
  assert_true(mz_wait_for(held, m, WAIT_MS));
  assert_int_equal(zklock_mutex_cancel(m), ZKLOCK_OK);
  assert_int_equal(dispatch_until(&e0.calls, 1, WAIT_MS), 1);
  assert_int_equal(e0.rc, ZKLOCK_OK);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock_async(m, -1, end_done, &e0),
                   ZKLOCK_ECANCELED);
  wait_children(lock, 0);

  int won = 0, cancelled = 0;
  for (int i = 0; i < RACES; i++) {
    char ahead[256];
    foreign_node(lock, ahead, sizeof ahead);
    ending e = {0};
    assert_int_equal(zklock_mutex_lock_async(m, -1, end_done, &e), ZKLOCK_OK);
    assert_true(mz_wait_for(watched, ahead, WAIT_MS));
    /* The deletion's event reaches the engine on the fake's thread while
     * this thread cancels: either may come first, never both. */
    assert_int_equal(mz_delete(ahead), ZOK);
    if (i % 2)
      sched_yield();
    assert_int_equal(zklock_mutex_cancel(m), ZKLOCK_OK);
    assert_int_equal(dispatch_until(&e.calls, 1, WAIT_MS), 1);
    dispatch_until(&e.calls, 2, 20);
    assert_int_equal(e.calls, 1);
    if (e.rc == ZKLOCK_OK) {
      won++;
      assert_int_equal(zklock_mutex_state(m), ZKLOCK_LOCK_HELD);
      assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
      /* the cancel found no wait: it ends the next one at once */
      assert_int_equal(zklock_mutex_lock_async(m, -1, end_done, &e),
                       ZKLOCK_ECANCELED);
    } else {
      assert_int_equal(e.rc, ZKLOCK_ECANCELED);
      cancelled++;
      assert_int_equal(zklock_mutex_state(m), ZKLOCK_LOCK_UNLOCKED);
    }
    wait_children(lock, 0);
  }
  /* Either ordering is right in a race; the counts only say which the
   * scheduler gave (both orderings were forced above). */
  fprintf(stderr, "# %d races: %d granted first, %d cancelled first\n", RACES,
          won, cancelled);
  assert_int_equal(won + cancelled, RACES);
  zklock_mutex_free(m);
}

/* ---- close with pending calls ---- */

#define NPEND 5

static void test_close_with_pending(void **state) {
  (void)state;
  const char *lock = "/t/async-close";
  mkpath(lock);
  char ahead[256];
  foreign_node(lock, ahead, sizeof ahead);
  zklock_mutex *m[NPEND];
  ending e[NPEND];
  memset(e, 0, sizeof e);
  for (int i = 0; i < NPEND; i++) {
    assert_int_equal(zklock_mutex_new(cli, lock, &m[i]), ZKLOCK_OK);
    assert_int_equal(zklock_mutex_lock_async(m[i], -1, end_done, &e[i]),
                     ZKLOCK_OK);
  }
  wait_children(lock, NPEND + 1);
  zklock_client_close(cli); /* runs the completions here */
  for (int i = 0; i < NPEND; i++) {
    assert_int_equal(e[i].calls, 1);
    assert_int_equal(e[i].rc, ZKLOCK_ECLOSED);
    zklock_mutex_free(m[i]);
  }
  for (int i = 0; i < NPEND; i++)
    assert_int_equal(e[i].calls, 1);
  assert_int_equal(mz_children(lock, NULL, 0), 1); /* the session's went */
  assert_int_equal(mz_delete(ahead), ZOK);
  cli = NULL; /* teardown: already closed */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_lost_create_applied), T(test_lost_create_not_applied),
      T(test_expire_while_queued), T(test_cancel_races_grant),
      T(test_close_with_pending),
  };
  return cmocka_run_group_tests_name("mock_async", tests, NULL, NULL);
}
