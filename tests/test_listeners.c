/* Per-handle listeners (zklock_*_set_listener) and shared paths in a
 * multi-lock (zklock_multilock_new_modes), issue 23, on the real
 * ensemble. */
#include "zkt.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define raw zkt_rawzh
#define REC_MAX 64

/* Every report a listener got, in order. */
typedef struct {
  pthread_mutex_t mu;
  int n;
  int st[REC_MAX];
  void *h[REC_MAX];
  pthread_t th[REC_MAX];
} rec;

static void rec_init(rec *r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
}

static void rec_cb(void *handle, int state, void *arg) {
  rec *r = arg;
  pthread_mutex_lock(&r->mu);
  if (r->n < REC_MAX) {
    r->st[r->n] = state;
    r->h[r->n] = handle;
    r->th[r->n] = pthread_self();
    r->n++;
  }
  pthread_mutex_unlock(&r->mu);
}

static int rec_n(rec *r) {
  pthread_mutex_lock(&r->mu);
  int n = r->n;
  pthread_mutex_unlock(&r->mu);
  return n;
}

/* How many reports of state r got. */
static int rec_count(rec *r, int state) {
  int k = 0;
  pthread_mutex_lock(&r->mu);
  for (int i = 0; i < r->n; i++)
    k += r->st[i] == state;
  pthread_mutex_unlock(&r->mu);
  return k;
}

typedef struct {
  rec *r;
  int state, count;
} want;

static int got_want(void *p) {
  want *w = p;
  return rec_count(w->r, w->state) >= w->count;
}

/* Waits for the count-th report of state. */
static int rec_wait(rec *r, int state, int count) {
  want w = {r, state, count};
  return zkt_wait_for(got_want, &w, 10000);
}

static int flag_set(void *p) { return __atomic_load_n((int *)p, 0) != 0; }

static void flag_done(int rc, void *arg) {
  __atomic_store_n((int *)arg, rc == ZKLOCK_OK ? 1 : rc, 0);
}

/* Positive evidence that c's callbacks queued so far have run: one more
 * done callback on c's service thread, behind them. */
static void drain(zklock_client *c, const char *path) {
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(c, path, &m), ZKLOCK_OK);
  int got = 0;
  assert_int_equal(zklock_mutex_lock_async(m, 10000, flag_done, &got),
                   ZKLOCK_OK);
  assert_true(zkt_wait_for(flag_set, &got, 10000));
  assert_int_equal(got, 1);
  got = 0;
  assert_int_equal(zklock_mutex_unlock_async(m, flag_done, &got), ZKLOCK_OK);
  assert_true(zkt_wait_for(flag_set, &got, 10000));
  zklock_mutex_free(m);
}

/* The full path of the only lock node under path. */
static void only_node(zklock_client *c, const char *path, char *out,
                      size_t len) {
  zklock_node_info *info;
  int n;
  assert_int_equal(zklock_queue_list(c, path, &info, &n), ZKLOCK_OK);
  assert_int_equal(n, 1);
  snprintf(out, len, "%s/%s", path, info[0].name);
  free(info);
}

static void test_mutex_listener(void **state) {
  (void)state;
  char root[256], aux[256], node[1200];
  zkt_root(root, sizeof root, "lsn-mutex");
  zkt_root(aux, sizeof aux, "lsn-mutex-aux");
  zklock_client *c = zkt_client(0), *o = zkt_client(0);
  zklock_mutex *m;
  rec r;
  rec_init(&r);
  assert_int_equal(zklock_mutex_set_listener(NULL, rec_cb, &r), ZKLOCK_EINVAL);
  assert_int_equal(zklock_mutex_new(c, root, &m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_set_listener(m, rec_cb, &r), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m, 5000), ZKLOCK_OK);
  assert_true(rec_wait(&r, ZKLOCK_LOCK_HELD, 1));
  assert_ptr_equal(r.h[0], m);
  assert_false(pthread_equal(r.th[0], pthread_self())); /* dispatch thread */
  /* another client asks us to let go; the hold stays */
  assert_int_equal(zklock_revoke(o, root), ZKLOCK_OK);
  assert_true(rec_wait(&r, ZKLOCK_LOCK_REVOKE_REQUESTED, 1));
  assert_int_equal(zklock_mutex_state(m), ZKLOCK_LOCK_HELD);
  /* another session deletes our node */
  only_node(c, root, node, sizeof node);
  assert_int_equal(zoo_delete(raw, node, -1), ZOK);
  assert_true(rec_wait(&r, ZKLOCK_LOCK_LOST, 1));
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_ELOST);
  assert_true(rec_wait(&r, ZKLOCK_LOCK_UNLOCKED, 1));
  assert_int_equal(rec_n(&r), 4);
  int order[] = {ZKLOCK_LOCK_HELD, ZKLOCK_LOCK_REVOKE_REQUESTED,
                 ZKLOCK_LOCK_LOST, ZKLOCK_LOCK_UNLOCKED};
  for (int i = 0; i < 4; i++)
    assert_int_equal(r.st[i], order[i]);
  /* a reentrant hold is one hold: one HELD, one UNLOCKED */
  assert_int_equal(zklock_mutex_lock(m, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m, 5000), ZKLOCK_OK);
  assert_true(rec_wait(&r, ZKLOCK_LOCK_HELD, 2));
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  assert_true(rec_wait(&r, ZKLOCK_LOCK_UNLOCKED, 2));
  /* freed while held: the release reports nothing, now or later */
  assert_int_equal(zklock_mutex_lock(m, 5000), ZKLOCK_OK);
  assert_true(rec_wait(&r, ZKLOCK_LOCK_HELD, 3));
  int before = rec_n(&r);
  zklock_mutex_free(m);
  assert_int_equal(zkt_nodes_settle(raw, root, 0), 0);
  drain(c, aux);
  assert_int_equal(rec_n(&r), before);
  zklock_client_close(c);
  zklock_client_close(o);
  zkt_assert_empty(root);
  zkt_assert_empty(aux);
}

/* Removing a listener (cb NULL) stops the reports; a queued one of the
 * removed listener does not run either. */
static void test_listener_removed(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "lsn-removed");
  zklock_client *c = zkt_client(0);
  zklock_rwlock *l;
  zklock_semaphore *s;
  rec r, rs;
  rec_init(&r);
  rec_init(&rs);
  assert_int_equal(zklock_rwlock_new(c, root, &l), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_set_listener(l, rec_cb, &r), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_rdlock(l, 5000), ZKLOCK_OK);
  assert_true(rec_wait(&r, ZKLOCK_LOCK_HELD, 1));
  assert_int_equal(zklock_rwlock_set_listener(l, NULL, NULL), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_unlock(l), ZKLOCK_OK);
  char sem[300];
  snprintf(sem, sizeof sem, "%s-sem", root);
  assert_int_equal(zklock_semaphore_new(c, sem, 2, &s), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_set_listener(s, rec_cb, &rs), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_acquire(s, 5000), ZKLOCK_OK);
  assert_true(rec_wait(&rs, ZKLOCK_LOCK_HELD, 1));
  assert_ptr_equal(rs.h[0], s);
  assert_int_equal(zklock_semaphore_release(s), ZKLOCK_OK);
  assert_true(rec_wait(&rs, ZKLOCK_LOCK_UNLOCKED, 1));
  char aux[300];
  snprintf(aux, sizeof aux, "%s-aux", root);
  drain(c, aux);
  assert_int_equal(rec_n(&r), 1);
  assert_int_equal(rec_n(&rs), 2);
  zklock_rwlock_free(l);
  zklock_semaphore_free(s);
  zklock_client_close(c);
  zkt_assert_empty(root);
  zkt_assert_empty(sem);
  zkt_assert_empty(aux);
}

/* In loop mode the reports run only inside zklock_client_dispatch. */
static void test_listener_loop(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "lsn-loop");
  zklock_client_opts o = {.dispatch = ZKLOCK_DISPATCH_LOOP};
  zklock_client *c;
  assert_int_equal(zklock_client_open(zkt_hosts(), &o, &c), ZKLOCK_OK);
  zklock_mutex *m;
  rec r;
  rec_init(&r);
  assert_int_equal(zklock_mutex_new(c, root, &m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_set_listener(m, rec_cb, &r), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  int64_t end = zkt_now_ms() + 10000;
  while (rec_n(&r) < 2 && zkt_now_ms() < end) {
    struct pollfd p = {.fd = zklock_client_fd(c), .events = POLLIN};
    poll(&p, 1, 100);
    assert_true(zklock_client_dispatch(c) >= 0);
  }
  assert_int_equal(rec_n(&r), 2);
  assert_int_equal(r.st[0], ZKLOCK_LOCK_HELD);
  assert_int_equal(r.st[1], ZKLOCK_LOCK_UNLOCKED);
  for (int i = 0; i < 2; i++)
    assert_true(pthread_equal(r.th[i], pthread_self()));
  zklock_mutex_free(m);
  zklock_client_close(c);
  zkt_assert_empty(root);
}

static void test_election_listener(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "lsn-election");
  zklock_client *c = zkt_client(0);
  zklock_election *a, *b;
  rec ra, rb;
  rec_init(&ra);
  rec_init(&rb);
  assert_int_equal(zklock_election_set_listener(NULL, rec_cb, &ra),
                   ZKLOCK_EINVAL);
  assert_int_equal(zklock_election_new(c, root, "a", &a), ZKLOCK_OK);
  assert_int_equal(zklock_election_new(c, root, "b", &b), ZKLOCK_OK);
  assert_int_equal(zklock_election_set_listener(a, rec_cb, &ra), ZKLOCK_OK);
  assert_int_equal(zklock_election_set_listener(b, rec_cb, &rb), ZKLOCK_OK);
  assert_int_equal(zklock_election_campaign(a, 5000), ZKLOCK_OK);
  assert_true(rec_wait(&ra, ZKLOCK_LOCK_HELD, 1));
  int camp = 0;
  assert_int_equal(zklock_election_campaign_async(b, 20000, flag_done, &camp),
                   ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, root, 2), 2);
  assert_int_equal(zklock_election_resign(a), ZKLOCK_OK);
  assert_true(rec_wait(&ra, ZKLOCK_LOCK_UNLOCKED, 1));
  assert_true(rec_wait(&rb, ZKLOCK_LOCK_HELD, 1)); /* b leads now */
  assert_true(zkt_wait_for(flag_set, &camp, 10000));
  assert_int_equal(camp, 1);
  assert_int_equal(zklock_election_resign(b), ZKLOCK_OK);
  assert_true(rec_wait(&rb, ZKLOCK_LOCK_UNLOCKED, 1));
  assert_int_equal(rec_n(&ra), 2);
  assert_int_equal(rec_n(&rb), 2);
  zklock_election_free(a);
  zklock_election_free(b);
  zklock_client_close(c);
  zkt_assert_empty(root);
}

static void test_multilock_listener(void **state) {
  (void)state;
  char pa[256], pb[256], pc[256], node[1200];
  zkt_root(pa, sizeof pa, "lsn-ml-a");
  zkt_root(pb, sizeof pb, "lsn-ml-b");
  zkt_root(pc, sizeof pc, "lsn-ml-c");
  const char *paths[] = {pc, pa, pb};
  zklock_client *c = zkt_client(0), *o = zkt_client(0);
  zklock_multilock *ml;
  zklock_mutex *ob;
  rec r;
  rec_init(&r);
  assert_int_equal(zklock_multilock_set_listener(NULL, rec_cb, &r),
                   ZKLOCK_EINVAL);
  assert_int_equal(zklock_multilock_new(c, paths, 3, &ml), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_set_listener(ml, rec_cb, &r), ZKLOCK_OK);
  /* a failed try (pa and pb taken, pc busy, all dropped): no report */
  assert_int_equal(zklock_mutex_new(o, pc, &ob), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(ob, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_trylock(ml), ZKLOCK_EBUSY);
  /* a wait behind ob: the members before pc are held meanwhile */
  int got = 0;
  assert_int_equal(zklock_multilock_lock_async(ml, 20000, flag_done, &got),
                   ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, pc, 2), 2);
  assert_int_equal(zkt_nodes_settle(raw, pa, 1), 1);
  assert_int_equal(zkt_nodes_settle(raw, pb, 1), 1);
  assert_int_equal(zklock_mutex_unlock(ob), ZKLOCK_OK);
  assert_true(zkt_wait_for(flag_set, &got, 20000));
  assert_int_equal(got, 1);
  assert_true(rec_wait(&r, ZKLOCK_LOCK_HELD, 1));
  assert_ptr_equal(r.h[0], ml);
  /* a member's revocation request, then its loss */
  assert_int_equal(zklock_revoke(o, pb), ZKLOCK_OK);
  assert_true(rec_wait(&r, ZKLOCK_LOCK_REVOKE_REQUESTED, 1));
  only_node(c, pb, node, sizeof node);
  assert_int_equal(zoo_delete(raw, node, -1), ZOK);
  assert_true(rec_wait(&r, ZKLOCK_LOCK_LOST, 1));
  assert_int_equal(zklock_multilock_state(ml), ZKLOCK_LOCK_LOST);
  assert_int_equal(zklock_multilock_unlock(ml), ZKLOCK_ELOST);
  assert_true(rec_wait(&r, ZKLOCK_LOCK_UNLOCKED, 1));
  drain(c, pa);
  int order[] = {ZKLOCK_LOCK_HELD, ZKLOCK_LOCK_REVOKE_REQUESTED,
                 ZKLOCK_LOCK_LOST, ZKLOCK_LOCK_UNLOCKED};
  assert_int_equal(rec_n(&r), 4);
  for (int i = 0; i < 4; i++)
    assert_int_equal(r.st[i], order[i]);
  /* again, released asynchronously: one HELD, one UNLOCKED */
  assert_int_equal(zklock_multilock_lock(ml, 5000), ZKLOCK_OK);
  assert_true(rec_wait(&r, ZKLOCK_LOCK_HELD, 2));
  got = 0;
  assert_int_equal(zklock_multilock_unlock_async(ml, flag_done, &got),
                   ZKLOCK_OK);
  assert_true(zkt_wait_for(flag_set, &got, 10000));
  assert_true(rec_wait(&r, ZKLOCK_LOCK_UNLOCKED, 2));
  /* freed while held: nothing more */
  assert_int_equal(zklock_multilock_lock(ml, 5000), ZKLOCK_OK);
  assert_true(rec_wait(&r, ZKLOCK_LOCK_HELD, 3));
  zklock_multilock_free(ml);
  drain(c, pa);
  assert_int_equal(rec_n(&r), 7);
  zklock_mutex_free(ob);
  zklock_client_close(c);
  zklock_client_close(o);
  zkt_assert_empty(pa);
  zkt_assert_empty(pb);
  zkt_assert_empty(pc);
}

static void test_multilock_modes(void **state) {
  (void)state;
  char ps[256], pa[256], pb[256];
  zkt_root(ps, sizeof ps, "modes-shared");
  zkt_root(pa, sizeof pa, "modes-a");
  zkt_root(pb, sizeof pb, "modes-b");
  const char *p1[] = {pa, ps}, *p2[] = {ps, pb}, *p3[] = {ps};
  zklock_client *c = zkt_client(0), *o = zkt_client(0), *p = zkt_client(0);
  zklock_multilock *m1, *m2, *m3, *bad = (zklock_multilock *)1;
  assert_int_equal(zklock_multilock_new_modes(c, p1, "xq", 2, &bad),
                   ZKLOCK_EINVAL);
  assert_null(bad);
  assert_int_equal(zklock_multilock_new_modes(c, p1, "X", 1, &bad),
                   ZKLOCK_EINVAL);
  assert_int_equal(zklock_multilock_new_modes(c, p1, NULL, 2, &bad),
                   ZKLOCK_EINVAL);
  assert_int_equal(zklock_multilock_new_modes(c, p1, "xr", 2, &m1), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_new_modes(p, p2, "rx", 2, &m2), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_new_modes(o, p3, "x", 1, &m3), ZKLOCK_OK);
  /* two readers of ps hold at once */
  assert_int_equal(zklock_multilock_lock(m1, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_trylock(m2), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_state(m1), ZKLOCK_LOCK_HELD);
  assert_int_equal(zklock_multilock_state(m2), ZKLOCK_LOCK_HELD);
  assert_true(zklock_multilock_token(m1, 1) > 0);
  assert_true(zklock_multilock_token(m2, 0) > 0);
  /* they exclude a mutex and an exclusive multi-lock member, not readers */
  zklock_mutex *mx;
  zklock_rwlock *rw;
  assert_int_equal(zklock_mutex_new(o, ps, &mx), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_new(o, ps, &rw), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_trylock(mx), ZKLOCK_EBUSY);
  assert_int_equal(zklock_rwlock_trywrlock(rw), ZKLOCK_EBUSY);
  assert_int_equal(zklock_multilock_trylock(m3), ZKLOCK_EBUSY);
  assert_int_equal(zklock_rwlock_tryrdlock(rw), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_unlock(rw), ZKLOCK_OK);
  /* a mutex waiting on ps gets it once both readers let go */
  int got = 0;
  assert_int_equal(zklock_mutex_lock_async(mx, 20000, flag_done, &got),
                   ZKLOCK_OK);
  assert_true(zkt_wait_waiting(ps, zklock_client_session_id(o)));
  assert_int_equal(zklock_multilock_unlock(m1), ZKLOCK_OK);
  assert_int_equal(got, 0);
  assert_int_equal(zklock_multilock_unlock(m2), ZKLOCK_OK);
  assert_true(zkt_wait_for(flag_set, &got, 20000));
  assert_int_equal(got, 1);
  assert_int_equal(zklock_multilock_trylock(m1), ZKLOCK_EBUSY);
  assert_int_equal(zklock_mutex_unlock(mx), ZKLOCK_OK);
  /* a reader member is released fully: it can be taken again */
  assert_int_equal(zklock_multilock_lock(m1, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_unlock(m1), ZKLOCK_OK);
  /* (m1's release is pipelined: o may list before it lands, so wait) */
  assert_int_equal(zklock_multilock_lock(m3, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_multilock_unlock(m3), ZKLOCK_OK);
  zklock_multilock_free(m1);
  zklock_multilock_free(m2);
  zklock_multilock_free(m3);
  zklock_mutex_free(mx);
  zklock_rwlock_free(rw);
  zklock_client_close(c);
  zklock_client_close(o);
  zklock_client_close(p);
  zkt_assert_empty(ps);
  zkt_assert_empty(pa);
  zkt_assert_empty(pb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mutex_listener),
      cmocka_unit_test(test_listener_removed),
      cmocka_unit_test(test_listener_loop),
      cmocka_unit_test(test_election_listener),
      cmocka_unit_test(test_multilock_listener),
      cmocka_unit_test(test_multilock_modes),
  };
  return cmocka_run_group_tests(tests, zkt_group_setup, zkt_group_teardown);
}
