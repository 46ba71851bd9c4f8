/* Regression tests for the bugs of the hardening issue (#21), each on the
 * real ensemble: a multi-lock that returned OK without one of its locks,
 * a semaphore waiter stuck beside a free permit, clients that disagree on
 * a permit count, and a chroot that does not exist. */
#include "zkt.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zklock_int.h" /* the recipe rules, to play a library peer */

#define raw zkt_rawzh

typedef struct {
  atomic_int rc; /* 1: OK; other: the error; 0: not yet */
} async_res;

static void res_done(int rc, void *arg) {
  atomic_store(&((async_res *)arg)->rc, rc == ZKLOCK_OK ? 1 : rc);
}

static int res_set(void *p) { return atomic_load(&((async_res *)p)->rc) != 0; }

typedef struct {
  zklock_client *c;
  const char *path;
  int want;
} queued_arg;

/* Positive evidence instead of a sleep: the queue at path has `want`
 * nodes. */
static int queued(void *p) {
  queued_arg *q = p;
  zklock_node_info *v = NULL;
  int n = 0;
  int ok = zklock_queue_list(q->c, q->path, &v, &n) == ZKLOCK_OK &&
           n == q->want;
  free(v);
  return ok;
}

/* The queue at path as the rules see it, with the index of node `name`. */
static int rule_queue(const char *path, const char *name, zklock__qent *qv,
                      int cap, int *me) {
  struct String_vector sv;
  zkt_sync(raw, path);
  assert_int_equal(zoo_get_children(raw, path, 0, &sv), ZOK);
  int n = 0;
  *me = -1;
  for (int i = 0; i < sv.count && n < cap; i++) {
    zklock__name nm;
    assert_int_equal(zklock__name_parse(sv.data[i], &nm), 0);
    if (strcmp(sv.data[i], name) == 0)
      *me = n;
    qv[n++] = (zklock__qent){.kind = nm.kind, .seq = nm.seq};
  }
  deallocate_String_vector(&sv);
  assert_true(*me >= 0);
  return n;
}

/* Bug 2. permits = 2, two holders. P is a lease whose create landed
 * (made here with the raw client) but which has not listed yet; W, a
 * zklock waiter, lists now: 3 ahead of it, so it watches P for the turn
 * mark. One holder leaves; P lists (the rule, asked here as the library
 * asks it) and holds, without having waited. The other holder leaves: a
 * permit is free, and W must get it. With the old rule (mark only after
 * a wait) P never marked and W waited out its whole timeout. */
static void test_sem_waiter_beside_free_permit(void **state) {
  (void)state;
  char root[256], prefix[300], pnode[400];
  zkt_root(root, sizeof root, "semstall");
  zklock_client *c = zkt_client(0), *cw = zkt_client(0);
  zklock_semaphore *h1, *h2, *w;
  assert_int_equal(zklock_semaphore_new(c, root, 2, &h1), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_new(c, root, 2, &h2), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_new(cw, root, 2, &w), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_acquire(h1, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_acquire(h2, 5000), ZKLOCK_OK);
  snprintf(prefix, sizeof prefix, "%s/s-%032x-", root, 0x5eed);
  assert_int_equal(zoo_create(raw, prefix, "peer\n", 5, &ZOO_OPEN_ACL_UNSAFE,
                              ZOO_EPHEMERAL_SEQUENTIAL, pnode, sizeof pnode),
                   ZOK);
  async_res wr = {0};
  assert_int_equal(zklock_semaphore_acquire_async(w, 20000, res_done, &wr),
                   ZKLOCK_OK);
  queued_arg qa = {c, root, 4};
  assert_true(zkt_wait_for(queued, &qa, 10000));
  /* W's watch on P is armed: it has chosen to wait for P's mark */
  for (int i = 0; i < 100 && zkt_watches(NULL, pnode) < 1; i++)
    zkt_sleep_ms(50);
  assert_int_equal(zkt_watches(NULL, pnode), 1);
  assert_int_equal(zklock_semaphore_release(h1), ZKLOCK_OK);
  qa.want = 3;
  assert_true(zkt_wait_for(queued, &qa, 10000));
  /* P's first listing */
  zklock__qent qv[8];
  int idx[8], me;
  int n = rule_queue(root, strrchr(pnode, '/') + 1, qv, 8, &me);
  zklock__verdict v;
  zklock__rule_outlast(qv, n, me, 2, idx, &v);
  assert_true(v.grant); /* one holder ahead of two permits */
  if (zklock__rule_semaphore_mark(qv, n, me, 0))
    assert_int_equal(zoo_set(raw, pnode, "peer\nturn\n", 10, -1), ZOK);
  assert_int_equal(zklock_semaphore_release(h2), ZKLOCK_OK);
  /* W holds once a permit is free; the bound is W's own timeout */
  assert_true(zkt_wait_for(res_set, &wr, 25000));
  assert_int_equal(atomic_load(&wr.rc), 1);
  assert_int_equal(zklock_semaphore_release(w), ZKLOCK_OK);
  assert_int_equal(zoo_delete(raw, pnode, -1), ZOK);
  zklock_semaphore_free(h1);
  zklock_semaphore_free(h2);
  zklock_semaphore_free(w);
  zklock_client_close(c);
  zklock_client_close(cw);
  zkt_assert_empty(root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sem_waiter_beside_free_permit),
  };
  return cmocka_run_group_tests(tests, zkt_group_setup, zkt_group_teardown);
}
