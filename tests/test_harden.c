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
  int ok =
      zklock_queue_list(q->c, q->path, &v, &n) == ZKLOCK_OK && n == q->want;
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

/* The node of c's handle queued or held at path: the one whose owner
 * session is sid. */
static int node_of_session(zklock_client *c, const char *path, int64_t sid,
                           char *out, size_t len) {
  zklock_node_info *v = NULL;
  int n = 0, found = 0;
  if (zklock_queue_list(c, path, &v, &n) == ZKLOCK_OK)
    for (int i = 0; i < n && !found; i++)
      if (v[i].owner_session == sid) {
        snprintf(out, len, "%s/%s", path, v[i].name);
        found = 1;
      }
  free(v);
  return found;
}

typedef struct {
  zklock_multilock *ml;
  int timeout_ms;
  atomic_int rc; /* 1: OK */
  atomic_int done;
} ml_call;

static void *ml_thread(void *p) {
  ml_call *m = p;
  int rc = zklock_multilock_lock(m->ml, m->timeout_ms);
  atomic_store(&m->rc, rc == ZKLOCK_OK ? 1 : rc);
  atomic_store(&m->done, 1);
  return NULL;
}

static int ml_done(void *p) { return atomic_load(&((ml_call *)p)->done); }

/* Bug 1 (a). While the multi-lock waits at B, another session deletes its
 * node at A. The call must not return OK: A is free, another client can
 * take it. */
static void test_multilock_member_deleted(void **state) {
  (void)state;
  char ra[256], rb[256], na[600];
  zkt_root(ra, sizeof ra, "mla");
  zkt_root(rb, sizeof rb, "mlb");
  const char *paths[] = {ra, rb};
  zklock_client *c = zkt_client(0), *o = zkt_client(0);
  zklock_multilock *ml;
  zklock_mutex *ob, *oa;
  assert_int_equal(zklock_multilock_new(c, paths, 2, &ml), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(o, rb, &ob), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(o, ra, &oa), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(ob, 5000), ZKLOCK_OK);
  ml_call m = {.ml = ml, .timeout_ms = 20000};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, ml_thread, &m), 0);
  queued_arg qa = {o, rb, 2};
  assert_true(zkt_wait_for(queued, &qa, 10000)); /* A held, queued at B */
  assert_true(
      node_of_session(o, ra, zklock_client_session_id(c), na, sizeof na));
  assert_int_equal(zoo_delete(raw, na, -1), ZOK);
  assert_int_equal(zklock_mutex_unlock(ob), ZKLOCK_OK);
  assert_true(zkt_wait_for(ml_done, &m, 25000));
  pthread_join(t, NULL);
  assert_int_equal(atomic_load(&m.rc), ZKLOCK_ELOST);
  assert_int_equal(zklock_multilock_token(ml, 0), -1);
  assert_int_equal(zklock_multilock_unlock(ml), ZKLOCK_ENOTHELD);
  /* nothing of the multi-lock is left: A and B are free */
  assert_int_equal(zklock_mutex_trylock(oa), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_trylock(ob), ZKLOCK_OK);
  zklock_mutex_unlock(oa);
  zklock_mutex_unlock(ob);
  zklock_multilock_free(ml);
  zklock_mutex_free(oa);
  zklock_mutex_free(ob);
  zklock_client_close(c);
  zklock_client_close(o);
  zkt_assert_empty(ra);
  zkt_assert_empty(rb);
}

/* Child of test_multilock_paused: a multi-lock on argv[2], argv[3] with a
 * short session; exits with -rc. */
static int ml_child(char **argv) {
  zklock_client *c = zkt_client(2000);
  zklock_multilock *ml;
  const char *paths[] = {argv[2], argv[3]};
  if (!c || zklock_multilock_new(c, paths, 2, &ml))
    return 100;
  int rc = zklock_multilock_lock(ml, 60000);
  /* OK must mean both are held: say so by the tokens too */
  if (rc == ZKLOCK_OK &&
      (zklock_multilock_token(ml, 0) < 0 || zklock_multilock_token(ml, 1) < 0))
    rc = 101;
  zklock_multilock_free(ml);
  zklock_client_close(c);
  return rc == 101 ? 101 : -rc;
}

/* Bug 1 (b). The process is paused (SIGSTOP) past its session timeout
 * while queued at B; B is let go, another client takes A, the process
 * resumes: its multi-lock must not return OK. The grant at B comes from
 * an event the client reads before it learns that its session is gone,
 * so only the server can say whether the members are still held. */
static void test_multilock_paused(void **state) {
  (void)state;
  char ra[256], rb[256];
  zkt_root(ra, sizeof ra, "mlpa");
  zkt_root(rb, sizeof rb, "mlpb");
  zklock_client *o = zkt_client(0);
  zklock_mutex *ob, *oa;
  assert_int_equal(zklock_mutex_new(o, rb, &ob), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(o, ra, &oa), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(ob, 5000), ZKLOCK_OK);
  const char *args[] = {"ml-child", ra, rb, NULL};
  pid_t pid = zkt_spawn_self(args);
  assert_true(pid > 0);
  queued_arg qa = {o, rb, 2}, qa1 = {o, ra, 1};
  int ok = zkt_wait_for(queued, &qa, 20000) && zkt_wait_for(queued, &qa1, 5000);
  kill(pid, SIGSTOP);
  /* B is let go while the child sleeps: the NodeDeleted that lets it in
   * waits in its socket. Then its session expires (its node at A goes)
   * and another client takes A. */
  ok = ok && zklock_mutex_unlock(ob) == ZKLOCK_OK;
  qa1.want = 0;
  ok = ok && zkt_wait_for(queued, &qa1, 30000);
  ok = ok && zklock_mutex_trylock(oa) == ZKLOCK_OK;
  if (!ok)
    kill(pid, SIGKILL); /* never leave the child behind */
  kill(pid, SIGCONT);
  int st = zkt_wait_exit(pid);
  assert_true(ok);
  assert_int_not_equal(st, 0);   /* OK without A */
  assert_int_not_equal(st, 101); /* OK with a lost member */
  assert_int_equal(st, -ZKLOCK_ELOST);
  /* A still ours, nothing of the child's left at B */
  assert_int_equal(zklock_mutex_state(oa), ZKLOCK_LOCK_HELD);
  qa.want = 0;
  assert_true(zkt_wait_for(queued, &qa, 10000));
  zklock_mutex_unlock(oa);
  zklock_mutex_free(oa);
  zklock_mutex_free(ob);
  zklock_client_close(o);
  zkt_assert_empty(ra);
  zkt_assert_empty(rb);
}

/* Bug 3 (b). A handle checked the count once; the path is then removed and
 * made again with another count. The old handle must say EPERMITS, not
 * join as a second holder of a one-permit path. */
static void test_sem_permits_recreated(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "semrecreate");
  zklock_client *c1 = zkt_client(0), *c2 = zkt_client(0);
  zklock_semaphore *one, *two;
  assert_int_equal(zklock_semaphore_new(c1, root, 1, &one), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_new(c2, root, 2, &two), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_acquire(one, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_release(one), ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, root, 0), 0);
  zkt_rmr(raw, root); /* as the server reaps an empty container */
  assert_int_equal(zklock_semaphore_acquire(two, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_acquire(one, 5000), ZKLOCK_EPERMITS);
  assert_int_equal(zklock_semaphore_state(one), ZKLOCK_LOCK_UNLOCKED);
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1); /* none of ours */
  assert_int_equal(zklock_semaphore_release(two), ZKLOCK_OK);
  zklock_semaphore_free(one);
  zklock_semaphore_free(two);
  zklock_client_close(c1);
  zklock_client_close(c2);
  zkt_assert_empty(root);
}

typedef struct {
  zklock_semaphore *s;
  pthread_barrier_t *go;
  int rc;
} sem_race;

static void *sem_race_thread(void *p) {
  sem_race *r = p;
  pthread_barrier_wait(r->go);
  r->rc = zklock_semaphore_acquire(r->s, 5000);
  return NULL;
}

/* Bug 3 (a). Two clients with counts 2 and 3 take a fresh path at once:
 * never may both hold (one of them gets EPERMITS). Before the fix the
 * count went unchecked when the path read said "no node" and the create
 * then found the path the other client had just made (6 of 100 rounds
 * under load); the read now follows our create. */
static void test_sem_permits_race(void **state) {
  (void)state;
  enum { ROUNDS = 40 };
  zklock_client *c1 = zkt_client(0), *c2 = zkt_client(0);
  int both = 0, mismatch = 0;
  for (int i = 0; i < ROUNDS; i++) {
    char root[256];
    zkt_root(root, sizeof root, "semrace");
    zklock_semaphore *s2, *s3;
    assert_int_equal(zklock_semaphore_new(c1, root, 2, &s2), ZKLOCK_OK);
    assert_int_equal(zklock_semaphore_new(c2, root, 3, &s3), ZKLOCK_OK);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    sem_race a = {s2, &go, 0}, b = {s3, &go, 0};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, sem_race_thread, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, sem_race_thread, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&go);
    both += a.rc == ZKLOCK_OK && b.rc == ZKLOCK_OK;
    mismatch += (a.rc == ZKLOCK_EPERMITS) + (b.rc == ZKLOCK_EPERMITS);
    assert_true(a.rc == ZKLOCK_OK || a.rc == ZKLOCK_EPERMITS);
    assert_true(b.rc == ZKLOCK_OK || b.rc == ZKLOCK_EPERMITS);
    zklock_semaphore_free(s2);
    zklock_semaphore_free(s3);
    zkt_assert_empty(root);
  }
  assert_int_equal(both, 0);
  assert_int_equal(mismatch, ROUNDS); /* exactly one refused every round */
  zklock_client_close(c1);
  zklock_client_close(c2);
}

/* Bug 4. A chroot that does not exist: every acquire used to retry its
 * create at the speed of the round trip until its timeout (16,246 packets
 * in 4 s) and then say ETIMEDOUT, a try said EBUSY. Now the persistent
 * answer ends the call: ZKLOCK_EZK with ZNONODE behind it, for every
 * kind, well inside a long timeout (the result tells: the old code could
 * only time out). */
static void test_missing_chroot(void **state) {
  (void)state;
  char hosts[1024];
  snprintf(hosts, sizeof hosts, "%s/zklock-missing-chroot-%d", zkt_hosts(),
           (int)getpid());
  zklock_client *c;
  assert_int_equal(zklock_client_open(hosts, NULL, &c), ZKLOCK_OK);
  zklock_mutex *m;
  zklock_rwlock *rw;
  zklock_semaphore *s;
  assert_int_equal(zklock_mutex_new(c, "/locks/x", &m), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_new(c, "/locks/y", &rw), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_new(c, "/locks/z", 2, &s), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m, 60000), ZKLOCK_EZK);
  assert_int_equal(zklock_last_zk_error(), ZNONODE);
  assert_int_equal(zklock_mutex_trylock(m), ZKLOCK_EZK);
  assert_int_equal(zklock_last_zk_error(), ZNONODE);
  assert_int_equal(zklock_rwlock_rdlock(rw, 60000), ZKLOCK_EZK);
  assert_int_equal(zklock_rwlock_wrlock(rw, 60000), ZKLOCK_EZK);
  assert_int_equal(zklock_semaphore_acquire(s, 60000), ZKLOCK_EZK);
  async_res r = {0};
  assert_int_equal(zklock_mutex_lock_async(m, 60000, res_done, &r), ZKLOCK_OK);
  assert_true(zkt_wait_for(res_set, &r, 60000));
  assert_int_equal(atomic_load(&r.rc), ZKLOCK_EZK);
  zklock_semaphore_free(s);
  zklock_rwlock_free(rw);
  zklock_mutex_free(m);
  zklock_client_close(c);
}

int main(int argc, char **argv) {
  if (argc > 3 && strcmp(argv[1], "ml-child") == 0)
    return ml_child(argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sem_waiter_beside_free_permit),
      cmocka_unit_test(test_multilock_member_deleted),
      cmocka_unit_test(test_multilock_paused),
      cmocka_unit_test(test_sem_permits_recreated),
      cmocka_unit_test(test_sem_permits_race),
      cmocka_unit_test(test_missing_chroot),
  };
  return cmocka_run_group_tests(tests, zkt_group_setup, zkt_group_teardown);
}
