/* What the README claims about requests, counted on the servers: "4 per
 * uncontended acquire+release" (create2 and getChildren pipelined, the
 * holder's own-node watch, the delete) and "3 per handoff whatever the
 * queue length". A count, not a time: zk_packets_received (mntr) summed
 * over the servers of a private, quiet ensemble this program starts.
 *
 * Pings are packets too. A client pings only after a third of its
 * session timeout without sending, and every measured window here is
 * short and busy, with one client open (no raw handle idles meanwhile);
 * so each count must be exact. */
#include "zkt.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int setup_ensemble(void **state) {
  (void)state;
  zkt_private_ensemble("requests");
  return 0;
}

static int teardown_ensemble(void **state) {
  (void)state;
  zkt_private_stop();
  return 0;
}

/* A raw handle only for checks outside the counted windows: an idle one
 * pings. */
static void raw_open(void) { zkt_rawzh = zkt_raw(); }
static void raw_close(void) {
  zookeeper_close(zkt_rawzh);
  zkt_rawzh = NULL;
}
static void assert_empty(const char *root) {
  raw_open();
  zkt_assert_empty(root);
  raw_close();
}

/* The lock path exists (persistent) before the counts: creating missing
 * parents costs requests of its own, and an empty container parent may be
 * reaped between two measured calls. */
static void persistent_root(char *root, size_t len, const char *name) {
  zkt_root(root, len, name);
  raw_open();
  zoo_create(zkt_rawzh, "/zklock-test", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL,
             0);
  assert_int_equal(
      zoo_create(zkt_rawzh, root, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0),
      ZOK);
  raw_close();
}

/* Waits until the servers' count stops moving (an asynchronous request
 * still on its way: the holder's own-node watch), returns it. */
static long packets_settled(void) {
  long n = zkt_packets(), m;
  for (int i = 0; i < 100; i++) {
    zkt_sleep_ms(20);
    m = zkt_packets();
    if (m == n && i >= 4)
      break;
    n = m;
  }
  return n;
}

static void test_uncontended(void **state) {
  (void)state;
  char root[256];
  persistent_root(root, sizeof root, "req-uncontended");
  zklock_client *c = zkt_client(0);
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(c, root, &m), ZKLOCK_OK);
  enum { ROUNDS = 5 };
  long acq[ROUNDS], rel[ROUNDS];
  for (int i = 0; i < ROUNDS; i++) {
    long p0 = packets_settled();
    assert_int_equal(zklock_mutex_lock(m, -1), ZKLOCK_OK);
    long p1 = packets_settled();
    assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
    long p2 = packets_settled();
    acq[i] = p1 - p0;
    rel[i] = p2 - p1;
    printf("  uncontended round %d: %ld requests to acquire, %ld to "
           "release\n",
           i, acq[i], rel[i]);
  }
  for (int i = 0; i < ROUNDS; i++) {
    assert_int_equal(acq[i], 3); /* create2 + getChildren, own-node watch */
    assert_int_equal(rel[i], 1); /* delete */
  }
  zklock_mutex_free(m);
  zklock_client_close(c);
  assert_empty(root);
}

/* ---- handoffs: N waiters drain one after the other ---- */

static pthread_mutex_t d_mu = PTHREAD_MUTEX_INITIALIZER;
static int d_granted, d_released, d_fail;

static void d_unlocked(int rc, void *arg) {
  (void)arg;
  pthread_mutex_lock(&d_mu);
  d_fail += rc != ZKLOCK_OK;
  d_released++;
  pthread_mutex_unlock(&d_mu);
}

/* Runs on the client's callback thread: recorded, judged later. */
static void d_granted_cb(int rc, void *arg) {
  pthread_mutex_lock(&d_mu);
  d_fail += rc != ZKLOCK_OK;
  d_granted++;
  pthread_mutex_unlock(&d_mu);
  if (rc == ZKLOCK_OK && zklock_mutex_unlock_async(arg, d_unlocked, NULL))
    d_unlocked(-1, NULL);
}

static int d_all_released(void *arg) {
  int want = *(int *)arg;
  pthread_mutex_lock(&d_mu);
  int v = d_released >= want;
  pthread_mutex_unlock(&d_mu);
  return v;
}

/* One client holds and queues N waiters behind (one session: its pings
 * cannot land in the busy window); the holder lets go and every waiter
 * unlocks as soon as it is granted. Returns requests per handoff * 100. */
static long drain(int n) {
  char root[256];
  persistent_root(root, sizeof root, "req-drain");
  zklock_client *c = zkt_client(0);
  zklock_mutex *h, **w = calloc((size_t)n, sizeof *w);
  assert_non_null(w);
  assert_int_equal(zklock_mutex_new(c, root, &h), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(h, -1), ZKLOCK_OK);
  d_granted = d_released = d_fail = 0;
  for (int i = 0; i < n; i++) {
    assert_int_equal(zklock_mutex_new(c, root, &w[i]), ZKLOCK_OK);
    assert_int_equal(zklock_mutex_lock_async(w[i], -1, d_granted_cb, w[i]),
                     ZKLOCK_OK);
  }
  /* settled: every waiter watches its predecessor (the first one the
   * holder's node, which the holder, the same session, watches too) */
  int watches = 0;
  for (int i = 0; i < 500 && watches != n; i++) {
    if (i)
      zkt_sleep_ms(20);
    watches = zkt_watches(root, NULL);
  }
  assert_int_equal(watches, n);
  zklock_stats s0 = {.size = sizeof s0}, s1 = {.size = sizeof s1};
  assert_int_equal(zklock_client_stats(c, &s0), ZKLOCK_OK);
  long p0 = packets_settled();
  assert_int_equal(zklock_mutex_unlock(h), ZKLOCK_OK);
  assert_true(zkt_wait_for(d_all_released, &n, 60000));
  long p1 = packets_settled();
  assert_int_equal(zklock_client_stats(c, &s1), ZKLOCK_OK);
  /* No read between a predecessor's delete and the grant: a waiter lists
   * again when its farther node goes, while the nearer one still holds. */
  printf("  drain of %d waiters: handoffs with 0/1/2/3+ reads on the "
         "critical path: %llu/%llu/%llu/%llu\n",
         n, (unsigned long long)(s1.handoff_reads[0] - s0.handoff_reads[0]),
         (unsigned long long)(s1.handoff_reads[1] - s0.handoff_reads[1]),
         (unsigned long long)(s1.handoff_reads[2] - s0.handoff_reads[2]),
         (unsigned long long)(s1.handoff_reads[3] - s0.handoff_reads[3]));
  assert_int_equal(s1.handoff_reads[0] - s0.handoff_reads[0], n);
  for (int i = 1; i < 4; i++)
    assert_int_equal(s1.handoff_reads[i], s0.handoff_reads[i]);
  pthread_mutex_lock(&d_mu);
  int fail = d_fail, granted = d_granted;
  pthread_mutex_unlock(&d_mu);
  printf("  drain of %d waiters: %ld requests (the holder's delete "
         "included): %.2f per handoff\n",
         n, p1 - p0, (double)(p1 - p0) / n);
  assert_int_equal(fail, 0);
  assert_int_equal(granted, n);
  for (int i = 0; i < n; i++)
    zklock_mutex_free(w[i]);
  free(w);
  zklock_mutex_free(h);
  zklock_client_close(c);
  assert_empty(root);
  return p1 - p0;
}

static void test_handoffs(void **state) {
  (void)state;
  /* whatever the queue length: the same count per handoff */
  const int lens[] = {5, 20, 50};
  for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
    long got = drain(lens[i]);
    /* each handoff: the holder's delete, the new holder's getData on its
     * own node (watch), and the listing of the waiter behind it, sent when
     * the node two ahead of it went (off the critical path) */
    assert_int_equal(got, 3L * lens[i]);
  }
}

/* ---- await_release = 1 ---- */

typedef struct {
  zklock_mutex *m;
  int rc, calls;
} cb_unlock;

/* On the client's callback thread: a blocking unlock there could wait for
 * its own answer forever, so with await_release it is refused. */
static void unlock_in_cb(int rc, void *arg) {
  cb_unlock *u = arg;
  u->rc = rc == ZKLOCK_OK ? zklock_mutex_unlock(u->m) : -1000 - rc;
  __atomic_store_n(&u->calls, 1, __ATOMIC_RELEASE);
}

static int cb_ran(void *arg) {
  return __atomic_load_n(&((cb_unlock *)arg)->calls, __ATOMIC_ACQUIRE);
}

static zklock_client *client_await(int await_release) {
  zklock_client_opts o = {.await_release = await_release,
                          .owner_text = "zklock-test"};
  zklock_client *c = NULL;
  assert_int_equal(zklock_client_open(zkt_hosts(), &o, &c), ZKLOCK_OK);
  return c;
}

static void test_await_release(void **state) {
  (void)state;
  char root[256];
  persistent_root(root, sizeof root, "req-await");
  zklock_client_opts bad = {.await_release = 2};
  zklock_client *c = NULL;
  assert_int_equal(zklock_client_open(zkt_hosts(), &bad, &c), ZKLOCK_EINVAL);
  c = client_await(1);
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(c, root, &m), ZKLOCK_OK);
  raw_open();
  for (int i = 0; i < 3; i++) {
    assert_int_equal(zklock_mutex_lock(m, -1), ZKLOCK_OK);
    assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
    /* the answer came before unlock returned: the node is gone for
     * every reader now, no polling (zkt_children syncs, then reads) */
    assert_int_equal(zkt_children(zkt_rawzh, root), 0);
  }
  /* from a callback the blocking unlock is refused, not deadlocked */
  cb_unlock u = {m, 0, 0};
  assert_int_equal(zklock_mutex_lock_async(m, -1, unlock_in_cb, &u), ZKLOCK_OK);
  assert_true(zkt_wait_for(cb_ran, &u, 10000));
  assert_int_equal(u.rc, ZKLOCK_EDEADLK);
  assert_int_equal(zklock_mutex_state(m), ZKLOCK_LOCK_HELD);
  /* a node deleted from outside: the answer says so */
  char node[1024];
  snprintf(node, sizeof node, "%s", zklock_mutex_node(m));
  assert_int_equal(zoo_delete(zkt_rawzh, node, -1), ZOK);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_ELOST);
  raw_close();
  zklock_mutex_free(m);
  zklock_client_close(c);
  /* without await_release the callback's unlock is fine (pipelined) */
  c = client_await(0);
  assert_int_equal(zklock_mutex_new(c, root, &m), ZKLOCK_OK);
  u = (cb_unlock){m, 0, 0};
  assert_int_equal(zklock_mutex_lock_async(m, -1, unlock_in_cb, &u), ZKLOCK_OK);
  assert_true(zkt_wait_for(cb_ran, &u, 10000));
  assert_int_equal(u.rc, ZKLOCK_OK);
  zklock_mutex_free(m);
  zklock_client_close(c);
  assert_empty(root);
}

static void on_fatal_signal(int sig) {
  zkt_private_kill();
  signal(sig, SIG_DFL);
  raise(sig);
}

int main(void) {
  const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGALRM};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
    signal(sigs[i], on_fatal_signal);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_uncontended),
      cmocka_unit_test(test_handoffs),
      cmocka_unit_test(test_await_release),
  };
  return cmocka_run_group_tests_name("requests", tests, setup_ensemble,
                                     teardown_ensemble);
}
