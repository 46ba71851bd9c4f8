/* Integration tests: the multi-lock against the real ensemble. */
#include "zkt.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define raw zkt_rawzh

static void test_bad_args(void **state) {
  (void)state;
  zklock_client *c = zkt_client(0);
  zklock_multilock *ml = (zklock_multilock *)1;
  const char *two[] = {"/a", "/b"};
  const char *dup[] = {"/a", "/b", "/a"};
  const char *bad[] = {"/a", "b"};
  assert_int_equal(zklock_multilock_new(c, two, 0, &ml), ZKLOCK_EINVAL);
  assert_null(ml);
  assert_int_equal(zklock_multilock_new(c, two, 65, &ml), ZKLOCK_EINVAL);
  assert_int_equal(zklock_multilock_new(c, NULL, 1, &ml), ZKLOCK_EINVAL);
  assert_int_equal(zklock_multilock_new(NULL, two, 2, &ml), ZKLOCK_EINVAL);
  assert_int_equal(zklock_multilock_new(c, two, 2, NULL), ZKLOCK_EINVAL);
  assert_int_equal(zklock_multilock_new(c, dup, 3, &ml), ZKLOCK_EINVAL);
  assert_int_equal(zklock_multilock_new(c, bad, 2, &ml), ZKLOCK_EPATH);
  assert_int_equal(zklock_multilock_lock(NULL, 0), ZKLOCK_EINVAL);
  assert_int_equal(zklock_multilock_unlock(NULL), ZKLOCK_EINVAL);
  assert_int_equal(zklock_multilock_token(NULL, 0), -1);
  zklock_multilock_free(NULL);
  zklock_client_close(c);
}

/* Token of the single holder at path, as the queue shows it. */
static int64_t holder_token(zklock_client *c, const char *path) {
  zklock_node_info *v;
  int n;
  assert_int_equal(zklock_queue_list(c, path, &v, &n), ZKLOCK_OK);
  assert_int_equal(n, 1);
  int64_t t = v[0].token;
  free(v);
  return t;
}

static void test_tokens(void **state) {
  (void)state;
  char root[256], p[3][300];
  zkt_root(root, sizeof root, "ml-tokens");
  /* listed out of byte order on purpose */
  snprintf(p[0], sizeof p[0], "%s/c", root);
  snprintf(p[1], sizeof p[1], "%s/a", root);
  snprintf(p[2], sizeof p[2], "%s/b", root);
  const char *paths[] = {p[0], p[1], p[2]};
  zklock_client *c = zkt_client(0);
  zklock_multilock *ml;
  assert_int_equal(zklock_multilock_new(c, paths, 3, &ml), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_token(ml, 0), -1);
  assert_int_equal(zklock_multilock_unlock(ml), ZKLOCK_ENOTHELD);
  assert_int_equal(zklock_multilock_lock(ml, -1), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_lock(ml, 0), ZKLOCK_EALREADY);
  for (int i = 0; i < 3; i++) {
    int64_t t = zklock_multilock_token(ml, i);
    assert_true(t > 0);
    assert_int_equal(t, holder_token(c, paths[i]));
  }
  /* taken in byte order: a, b, c have growing tokens */
  assert_true(zklock_multilock_token(ml, 1) < zklock_multilock_token(ml, 2));
  assert_true(zklock_multilock_token(ml, 2) < zklock_multilock_token(ml, 0));
  assert_int_equal(zklock_multilock_token(ml, 3), -1);
  assert_int_equal(zklock_multilock_token(ml, -1), -1);
  assert_int_equal(zklock_multilock_unlock(ml), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_token(ml, 0), -1);
  for (int i = 0; i < 3; i++)
    assert_int_equal(zkt_nodes_settle(raw, paths[i], 0), 0);
  zklock_multilock_free(ml);
  zklock_client_close(c);
  for (int i = 0; i < 3; i++)
    zkt_assert_empty(paths[i]);
  zkt_rmr(raw, root);
}

static void test_all_or_none(void **state) {
  (void)state;
  char root[256], p[3][300];
  zkt_root(root, sizeof root, "ml-allornone");
  for (int i = 0; i < 3; i++)
    snprintf(p[i], sizeof p[i], "%s/%c", root, 'a' + i);
  const char *paths[] = {p[2], p[0], p[1]};
  zklock_client *other = zkt_client(0);
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(other, p[1], &m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m, -1), ZKLOCK_OK);
  zklock_client *c = zkt_client(0);
  zklock_multilock *ml;
  assert_int_equal(zklock_multilock_new(c, paths, 3, &ml), ZKLOCK_OK);
  /* a is taken, b is not: a must be given back, c never queued */
  int64_t t0 = zkt_now_ms();
  assert_int_equal(zklock_multilock_lock(ml, 400), ZKLOCK_ETIMEDOUT);
  int64_t took = zkt_now_ms() - t0;
  assert_true(took >= 400 && took <= 400 + ZKT_SLACK_MS); /* one deadline */
  assert_int_equal(zkt_nodes_settle(raw, p[0], 0), 0);
  assert_int_equal(zkt_nodes_settle(raw, p[1], 1), 1); /* only the other's */
  assert_int_equal(zkt_nodes_settle(raw, p[2], 0), 0);
  assert_int_equal(zklock_multilock_token(ml, 1), -1);
  /* a try is the same, with EBUSY */
  assert_int_equal(zklock_multilock_lock(ml, 0), ZKLOCK_EBUSY);
  assert_int_equal(zkt_nodes_settle(raw, p[0], 0), 0);
  assert_int_equal(zkt_nodes_settle(raw, p[1], 1), 1);
  assert_int_equal(zkt_nodes_settle(raw, p[2], 0), 0);
  assert_int_equal(zklock_multilock_unlock(ml), ZKLOCK_ENOTHELD);
  /* once b is free all three are taken */
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_lock(ml, 5000), ZKLOCK_OK);
  for (int i = 0; i < 3; i++)
    assert_int_equal(zkt_nodes_settle(raw, p[i], 1), 1);
  /* and b is now ours: the other side's try fails */
  assert_int_equal(zklock_mutex_lock(m, 0), ZKLOCK_EBUSY);
  zklock_multilock_free(ml); /* releases */
  for (int i = 0; i < 3; i++)
    assert_int_equal(zkt_nodes_settle(raw, p[i], 0), 0);
  zklock_mutex_free(m);
  zklock_client_close(c);
  zklock_client_close(other);
  zkt_rmr(raw, root);
}

typedef struct {
  const char *paths[2];
  int iters;
  int timeouts, errors;
  int *inside; /* both callers' critical section */
  int overlap;
  pthread_mutex_t *mu;
} crosser;

static void *cross_main(void *p) {
  crosser *x = p;
  zklock_client *c = zkt_client(0);
  zklock_multilock *ml;
  if (zklock_multilock_new(c, x->paths, 2, &ml) != ZKLOCK_OK) {
    x->errors++;
    zklock_client_close(c);
    return NULL;
  }
  for (int i = 0; i < x->iters; i++) {
    int rc = zklock_multilock_lock(ml, 20000);
    if (rc == ZKLOCK_ETIMEDOUT) {
      x->timeouts++;
      continue;
    }
    if (rc) {
      x->errors++;
      continue;
    }
    pthread_mutex_lock(x->mu);
    x->overlap += (*x->inside)++ != 0;
    pthread_mutex_unlock(x->mu);
    zkt_sleep_ms(1); /* long enough for the other caller to trip over it */
    pthread_mutex_lock(x->mu);
    (*x->inside)--;
    pthread_mutex_unlock(x->mu);
    if (zklock_multilock_unlock(ml))
      x->errors++;
  }
  zklock_multilock_free(ml);
  zklock_client_close(c);
  return NULL;
}

/* Two callers listing {A,B} and {B,A}: taken in one order, so neither can
 * hold one path while waiting for the other's. */
static void test_opposite_orders(void **state) {
  (void)state;
  char root[256], a[300], b[300];
  zkt_root(root, sizeof root, "ml-cross");
  snprintf(a, sizeof a, "%s/A", root);
  snprintf(b, sizeof b, "%s/B", root);
  int inside = 0;
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  crosser x[2] = {
      {.paths = {a, b}, .iters = 200, .inside = &inside, .mu = &mu},
      {.paths = {b, a}, .iters = 200, .inside = &inside, .mu = &mu}};
  pthread_t th[2];
  int64_t t0 = zkt_now_ms();
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&th[i], NULL, cross_main, &x[i]), 0);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
  fprintf(stderr, "# 2 x 200 opposite-order multilocks in %lld ms\n",
          (long long)(zkt_now_ms() - t0));
  for (int i = 0; i < 2; i++) {
    assert_int_equal(x[i].timeouts, 0);
    assert_int_equal(x[i].errors, 0);
    assert_int_equal(x[i].overlap, 0);
  }
  zkt_assert_empty(a);
  zkt_assert_empty(b);
  zkt_rmr(raw, root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_args),
      cmocka_unit_test(test_tokens),
      cmocka_unit_test(test_all_or_none),
      cmocka_unit_test(test_opposite_orders),
  };
  return cmocka_run_group_tests_name("multilock", tests, zkt_group_setup,
                                     zkt_group_teardown);
}
