/* Regression test: a waiter whose lock() times out must not end up holding
 * the lock.
 *
 * Found by zkfault (overlapping sections with no fault injected). The
 * waiter's candidate list comes from the listing taken at enqueue time,
 * nearest first. When the wait on the nearest candidate timed out, the
 * loop went on to the next candidates (its condition was rc <= OK), and a
 * lower candidate that had gone meanwhile reset rc to OK: the timed-out
 * waiter "acquired" while the real holder still held.
 *
 *   A holds (node a); H waits behind a (node h); C waits with a timeout
 *   (node c, listing [a, h, c], candidates h then a). A releases, so H
 *   holds. C's wait on h times out; a is gone, so C must still report
 *   ETIMEDOUT, not OK.
 */
#include <pthread.h>

#include "zkt.h"

typedef struct {
  zklock_mutex *m;
  int timeout_ms;
  int rc;
} locker;

static void *lock_thread(void *arg) {
  locker *l = arg;
  l->rc = zklock_mutex_lock(l->m, l->timeout_ms);
  return NULL;
}

static int queue_len(void *arg) {
  const char **p = arg;
  zhandle_t *zh = zkt_raw();
  int n = zkt_children(zh, p[0]);
  zookeeper_close(zh);
  return n == atoi(p[1]);
}

static void test_timeout_does_not_skip_holder(void **state) {
  (void)state;
  char path[256];
  zkt_root(path, sizeof path, "timeout-skip");
  zklock_client *ca = zkt_client(10000), *ch = zkt_client(10000),
                *cc = zkt_client(10000);
  zklock_mutex *a, *h, *c;
  assert_int_equal(zklock_mutex_new(ca, path, &a), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(ch, path, &h), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(cc, path, &c), ZKLOCK_OK);

  assert_int_equal(zklock_mutex_lock(a, -1), ZKLOCK_OK);
  locker lh = {h, -1, 99}, lc = {c, 1500, 99};
  pthread_t th, tc;
  assert_int_equal(pthread_create(&th, NULL, lock_thread, &lh), 0);
  const char *two[2] = {path, "2"}, *three[2] = {path, "3"};
  assert_true(zkt_wait_for(queue_len, two, 10000));
  assert_int_equal(pthread_create(&tc, NULL, lock_thread, &lc), 0);
  assert_true(zkt_wait_for(queue_len, three, 10000));

  /* a goes: H holds; C now waits on h until its timeout. */
  assert_int_equal(zklock_mutex_unlock(a), ZKLOCK_OK);
  pthread_join(th, NULL);
  assert_int_equal(lh.rc, ZKLOCK_OK);
  pthread_join(tc, NULL);
  if (lc.rc == ZKLOCK_OK)
    fprintf(stderr, "BUG: timed-out waiter acquired while another holds "
                    "(src/queue.c wait_turn loop)\n");
  assert_int_equal(lc.rc, ZKLOCK_ETIMEDOUT);
  assert_int_equal(zklock_mutex_state(h), ZKLOCK_LOCK_HELD);

  assert_int_equal(zklock_mutex_unlock(h), ZKLOCK_OK);
  zklock_mutex_free(a);
  zklock_mutex_free(h);
  zklock_mutex_free(c);
  zklock_client_close(ca);
  zklock_client_close(ch);
  zklock_client_close(cc);
  zhandle_t *zh = zkt_raw();
  zkt_rmr(zh, path);
  zookeeper_close(zh);
}

int main(void) {
  zkt_hosts(); /* skip (77) without an ensemble */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timeout_does_not_skip_holder),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
