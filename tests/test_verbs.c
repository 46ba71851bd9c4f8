/* The same verbs for every recipe (issue 23): try, async release, cancel,
 * state (WAITING included) and node for semaphores and elections, and the
 * errors that say what happened (EALREADY, EKIND), on the real ensemble. */
#include "zkt.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define raw zkt_rawzh

static void cnt_done(int rc, void *arg) {
  atomic_int *v = arg;
  atomic_store(v, rc == ZKLOCK_OK ? 1 : rc);
}

static int set(void *p) { return atomic_load((atomic_int *)p) != 0; }

static int has_node(void *p) { return zklock_semaphore_node(p) != NULL; }

static void test_semaphore_verbs(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "verbs-sem");
  zklock_client *c = zkt_client(0);
  zklock_semaphore *a, *b;
  assert_int_equal(zklock_semaphore_new(c, root, 1, &a), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_new(c, root, 1, &b), ZKLOCK_OK);
  assert_null(zklock_semaphore_node(a));
  assert_int_equal(zklock_semaphore_tryacquire(a), ZKLOCK_OK);
  const char *na = zklock_semaphore_node(a);
  assert_non_null(na);
  assert_int_equal(strncmp(na, root, strlen(root)), 0);
  assert_int_equal(zklock_semaphore_tryacquire(a), ZKLOCK_EALREADY);
  assert_int_equal(zklock_semaphore_tryacquire(b), ZKLOCK_EBUSY);
  assert_null(zklock_semaphore_node(b));
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1); /* the try left none */
  /* a waiter reports WAITING and has its node */
  atomic_int got = 0;
  assert_int_equal(zklock_semaphore_acquire_async(b, 10000, cnt_done, &got),
                   ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, root, 2), 2);
  assert_int_equal(zklock_semaphore_state(b), ZKLOCK_LOCK_WAITING);
  /* the create's answer may trail what the servers show */
  assert_true(zkt_wait_for(has_node, b, 10000));
  atomic_int rel = 0;
  assert_int_equal(zklock_semaphore_release_async(a, cnt_done, &rel),
                   ZKLOCK_OK);
  assert_true(zkt_wait_for(set, &rel, 10000));
  assert_int_equal(atomic_load(&rel), 1);
  assert_true(zkt_wait_for(set, &got, 10000));
  assert_int_equal(atomic_load(&got), 1);
  assert_int_equal(zklock_semaphore_state(b), ZKLOCK_LOCK_HELD);
  assert_int_equal(zklock_semaphore_release_async(a, cnt_done, &rel),
                   ZKLOCK_ENOTHELD);
  assert_int_equal(zklock_semaphore_release(b), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_state(b), ZKLOCK_LOCK_UNLOCKED);
  zklock_semaphore_free(a);
  zklock_semaphore_free(b);
  zklock_client_close(c);
  zkt_assert_empty(root);
}

static void test_election_verbs(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "verbs-el");
  zklock_client *c = zkt_client(0);
  zklock_election *a, *b;
  assert_int_equal(zklock_election_new(c, root, "a", &a), ZKLOCK_OK);
  assert_int_equal(zklock_election_new(c, root, "b", &b), ZKLOCK_OK);
  assert_int_equal(zklock_election_trycampaign(a), ZKLOCK_OK);
  assert_non_null(zklock_election_node(a));
  assert_int_equal(zklock_election_trycampaign(a), ZKLOCK_EALREADY);
  assert_int_equal(zklock_election_trycampaign(b), ZKLOCK_EBUSY);
  assert_null(zklock_election_node(b));
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1);
  /* a campaign cancelled from outside ends with ECANCELED, no node left */
  atomic_int camp = 0;
  assert_int_equal(zklock_election_campaign_async(b, -1, cnt_done, &camp),
                   ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, root, 2), 2);
  assert_int_equal(zklock_election_state(b), ZKLOCK_LOCK_WAITING);
  assert_int_equal(zklock_election_cancel(b), ZKLOCK_OK);
  assert_true(zkt_wait_for(set, &camp, 10000));
  assert_int_equal(atomic_load(&camp), ZKLOCK_ECANCELED);
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1);
  /* resign_async while still campaigning withdraws; done runs once */
  atomic_int camp2 = 0, res = 0;
  assert_int_equal(zklock_election_campaign_async(b, -1, cnt_done, &camp2),
                   ZKLOCK_OK);
  assert_int_equal(zklock_election_resign_async(b, cnt_done, &res), ZKLOCK_OK);
  assert_true(zkt_wait_for(set, &camp2, 10000));
  assert_true(zkt_wait_for(set, &res, 10000));
  assert_int_equal(atomic_load(&camp2), ZKLOCK_ECANCELED);
  assert_int_equal(atomic_load(&res), 1);
  /* the leader resigns asynchronously */
  atomic_int r2 = 0;
  assert_int_equal(zklock_election_resign_async(a, cnt_done, &r2), ZKLOCK_OK);
  assert_true(zkt_wait_for(set, &r2, 10000));
  assert_int_equal(atomic_load(&r2), 1);
  assert_int_equal(zklock_election_resign_async(a, cnt_done, &r2),
                   ZKLOCK_ENOTHELD);
  zklock_election_free(a);
  zklock_election_free(b);
  zklock_client_close(c);
  zkt_assert_empty(root);
}

/* A mutex, a read lock and an election at a semaphore's path, and a
 * lease at a mutex's path: ZKLOCK_EKIND, nothing queued. */
static void test_other_kind(void **state) {
  (void)state;
  char root[256], root2[256];
  zkt_root(root, sizeof root, "verbs-kind");
  zkt_root(root2, sizeof root2, "verbs-kind2");
  zklock_client *c = zkt_client(0);
  zklock_semaphore *s, *s2;
  zklock_mutex *m, *m2;
  zklock_rwlock *rw;
  zklock_election *e;
  assert_int_equal(zklock_semaphore_new(c, root, 2, &s), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(c, root, &m), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_new(c, root, &rw), ZKLOCK_OK);
  assert_int_equal(zklock_election_new(c, root, "e", &e), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_acquire(s, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m, 5000), ZKLOCK_EKIND);
  assert_int_equal(zklock_rwlock_rdlock(rw, 5000), ZKLOCK_EKIND);
  assert_int_equal(zklock_election_campaign(e, 5000), ZKLOCK_EKIND);
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1);
  assert_int_equal(zklock_mutex_new(c, root2, &m2), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_new(c, root2, 2, &s2), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m2, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_acquire(s2, 5000), ZKLOCK_EKIND);
  assert_string_equal(zklock_err_name(ZKLOCK_EKIND), "ZKLOCK_EKIND");
  assert_int_equal(zkt_nodes_settle(raw, root2, 1), 1);
  zklock_mutex_unlock(m2);
  zklock_semaphore_release(s);
  zklock_semaphore_free(s);
  zklock_semaphore_free(s2);
  zklock_mutex_free(m);
  zklock_mutex_free(m2);
  zklock_rwlock_free(rw);
  zklock_election_free(e);
  zklock_client_close(c);
  zkt_assert_empty(root);
  zkt_assert_empty(root2);
}

static void test_multilock_verbs(void **state) {
  (void)state;
  char ra[256], rb[256];
  zkt_root(ra, sizeof ra, "verbs-mla");
  zkt_root(rb, sizeof rb, "verbs-mlb");
  const char *paths[] = {rb, ra}; /* taken in path order whatever given */
  zklock_client *c = zkt_client(0), *o = zkt_client(0);
  zklock_multilock *ml;
  zklock_mutex *ob;
  assert_int_equal(zklock_multilock_new(c, paths, 2, &ml), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(o, rb, &ob), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_state(ml), ZKLOCK_LOCK_UNLOCKED);
  /* try: all at once, or nothing held */
  assert_int_equal(zklock_mutex_lock(ob, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_trylock(ml), ZKLOCK_EBUSY);
  assert_int_equal(zkt_nodes_settle(raw, ra, 0), 0);
  assert_int_equal(zkt_nodes_settle(raw, rb, 1), 1);
  /* async, waiting at B, cancelled: ECANCELED, nothing held or queued */
  atomic_int got = 0;
  assert_int_equal(zklock_multilock_lock_async(ml, -1, cnt_done, &got),
                   ZKLOCK_OK);
  assert_int_equal(zklock_multilock_lock_async(ml, -1, cnt_done, &got),
                   ZKLOCK_EALREADY);
  assert_int_equal(zkt_nodes_settle(raw, rb, 2), 2);
  assert_int_equal(zklock_multilock_state(ml), ZKLOCK_LOCK_WAITING);
  assert_int_equal(zklock_multilock_cancel(ml), ZKLOCK_OK);
  assert_true(zkt_wait_for(set, &got, 10000));
  assert_int_equal(atomic_load(&got), ZKLOCK_ECANCELED);
  assert_int_equal(zkt_nodes_settle(raw, ra, 0), 0);
  assert_int_equal(zkt_nodes_settle(raw, rb, 1), 1);
  assert_int_equal(zklock_multilock_state(ml), ZKLOCK_LOCK_UNLOCKED);
  /* async again: granted when B is let go */
  atomic_int got2 = 0;
  assert_int_equal(zklock_multilock_lock_async(ml, 20000, cnt_done, &got2),
                   ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, rb, 2), 2);
  assert_int_equal(zklock_mutex_unlock(ob), ZKLOCK_OK);
  assert_true(zkt_wait_for(set, &got2, 20000));
  assert_int_equal(atomic_load(&got2), 1);
  assert_int_equal(zklock_multilock_state(ml), ZKLOCK_LOCK_HELD);
  assert_true(zklock_multilock_token(ml, 0) > 0);
  assert_true(zklock_multilock_token(ml, 1) > 0);
  assert_int_equal(zklock_multilock_trylock(ml), ZKLOCK_EALREADY);
  atomic_int rel = 0;
  assert_int_equal(zklock_multilock_unlock_async(ml, cnt_done, &rel),
                   ZKLOCK_OK);
  assert_true(zkt_wait_for(set, &rel, 10000));
  assert_int_equal(atomic_load(&rel), 1);
  assert_int_equal(zklock_multilock_unlock_async(ml, cnt_done, &rel),
                   ZKLOCK_ENOTHELD);
  /* cancel before a call ends the next one */
  assert_int_equal(zklock_multilock_cancel(ml), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_lock(ml, 1000), ZKLOCK_ECANCELED);
  assert_int_equal(zklock_multilock_trylock(ml), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_unlock(ml), ZKLOCK_OK);
  /* free during a call: its done runs once with ECANCELED */
  assert_int_equal(zklock_mutex_lock(ob, 5000), ZKLOCK_OK);
  atomic_int got3 = 0;
  assert_int_equal(zklock_multilock_lock_async(ml, -1, cnt_done, &got3),
                   ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, rb, 2), 2);
  zklock_multilock_free(ml);
  assert_true(zkt_wait_for(set, &got3, 10000));
  assert_int_equal(atomic_load(&got3), ZKLOCK_ECANCELED);
  assert_int_equal(zklock_mutex_unlock(ob), ZKLOCK_OK);
  zklock_mutex_free(ob);
  zklock_client_close(c);
  zklock_client_close(o);
  zkt_assert_empty(ra);
  zkt_assert_empty(rb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_semaphore_verbs),
      cmocka_unit_test(test_election_verbs),
      cmocka_unit_test(test_other_kind),
      cmocka_unit_test(test_multilock_verbs),
  };
  return cmocka_run_group_tests(tests, zkt_group_setup, zkt_group_teardown);
}
