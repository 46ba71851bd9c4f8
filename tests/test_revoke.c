/* Integration tests: cooperative revocation (zklock_revoke) against the
 * real ensemble. */
#include "zkt.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zklock_int.h" /* ZKLOCK__MARK_READ / _REVOKE, to check the data */

#define raw zkt_rawzh

typedef struct {
  pthread_mutex_t mu;
  int revokes;
  char node[ZKLOCK__NODE_MAX];
} events;

static void on_lock(zklock_client *c, const char *path, const char *node,
                    zklock_lock_state st, void *arg) {
  (void)c;
  (void)path;
  events *e = arg;
  if (st != ZKLOCK_LOCK_REVOKE_REQUESTED)
    return;
  pthread_mutex_lock(&e->mu);
  e->revokes++;
  snprintf(e->node, sizeof e->node, "%s", node);
  pthread_mutex_unlock(&e->mu);
}

static int revoked(void *p) {
  events *e = p;
  pthread_mutex_lock(&e->mu);
  int v = e->revokes;
  pthread_mutex_unlock(&e->mu);
  return v;
}

static zklock_client *client_with(events *e) {
  zklock_client_opts o = {.on_lock = on_lock, .cb_arg = e};
  zklock_client *c = NULL;
  assert_int_equal(zklock_client_open(zkt_hosts(), &o, &c), ZKLOCK_OK);
  return c;
}

/* Data of node, NUL-terminated, into buf. */
static void node_data(const char *node, char *buf, int len) {
  int n = len - 1;
  zkt_sync(raw, node);
  assert_int_equal(zoo_get(raw, node, 0, buf, &n, NULL), ZOK);
  buf[n] = '\0';
}

static void test_not_held(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "rv-empty");
  zklock_client *c = zkt_client(0);
  assert_int_equal(zklock_revoke(c, root), ZKLOCK_ENOTHELD); /* no path */
  assert_int_equal(zklock_revoke(c, "relative"), ZKLOCK_EPATH);
  assert_int_equal(zklock_revoke(NULL, root), ZKLOCK_EINVAL);
  /* readers share and are never asked */
  zklock_rwlock *r;
  assert_int_equal(zklock_rwlock_new(c, root, &r), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_rdlock(r, -1), ZKLOCK_OK);
  assert_int_equal(zklock_revoke(c, root), ZKLOCK_ENOTHELD);
  assert_int_equal(zklock_rwlock_unlock(r), ZKLOCK_OK);
  /* the path exists, its queue is empty */
  assert_int_equal(zkt_nodes_settle(raw, root, 0), 0);
  assert_int_equal(zklock_revoke(c, root), ZKLOCK_ENOTHELD);
  zklock_rwlock_free(r);
  zklock_client_close(c);
  zkt_assert_empty(root);
}

typedef struct {
  zklock_client *c;
  const char *root;
  int rc;
} waiter;

static void *writer_main(void *p) {
  waiter *w = p;
  zklock_rwlock *l;
  /* w->rc is written once, at the end: the test reads it meanwhile */
  int rc = zklock_rwlock_new(w->c, w->root, &l);
  if (rc == ZKLOCK_OK) {
    rc = zklock_rwlock_wrlock(l, 15000);
    if (rc == ZKLOCK_OK)
      zklock_rwlock_unlock(l);
    zklock_rwlock_free(l);
  }
  __atomic_store_n(&w->rc, rc, __ATOMIC_SEQ_CST);
  return NULL;
}

static int queued2(void *p) { return zkt_nodes(raw, (const char *)p) == 2; }

static int nonzero_int(void *p) {
  return __atomic_load_n((int *)p, __ATOMIC_SEQ_CST) != 0;
}

static void test_holder_notified(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "rv-notify");
  events ev = {.mu = PTHREAD_MUTEX_INITIALIZER};
  zklock_client *a = client_with(&ev);
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(a, root, &m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m, -1), ZKLOCK_OK);
  int64_t token = zklock_mutex_token(m);
  /* a writer waits behind; the mark must not end its wait */
  zklock_client *b = zkt_client(0);
  waiter w = {.c = zkt_client(0), .root = root, .rc = -100};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
  assert_true(zkt_wait_for(queued2, root, 10000));

  assert_int_equal(zklock_revoke(b, root), ZKLOCK_OK);
  assert_true(zkt_wait_for(revoked, &ev, 10000));
  assert_string_equal(ev.node, zklock_mutex_node(m));
  char buf[1024];
  node_data(ev.node, buf, sizeof buf);
  assert_non_null(strstr(buf, "pid=")); /* owner lines kept */
  assert_non_null(strstr(buf, "\n" ZKLOCK__MARK_REVOKE));
  /* the hold stays: same token, still held, others still kept out */
  assert_int_equal(zklock_mutex_state(m), ZKLOCK_LOCK_HELD);
  assert_int_equal(zklock_mutex_token(m), token);
  zklock_mutex *mb;
  assert_int_equal(zklock_mutex_new(b, root, &mb), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(mb, 0), ZKLOCK_EBUSY);
  /* asking again is harmless and notifies once. Evidence first: the
   * holder's and the writer's watches on the node are armed (a data
   * change the second request made would have fired them: re-armed
   * means handled), and the writer still waits on another's node. */
  assert_int_equal(zklock_revoke(b, root), ZKLOCK_OK);
  assert_true(zkt_wait_waiting(root, zklock_client_session_id(w.c)));
  int watchers = 0;
  for (int i = 0; i < 500 && watchers != 2; i++) {
    if (i)
      zkt_sleep_ms(20);
    watchers = zkt_watches(root, zklock_mutex_node(m));
  }
  assert_int_equal(watchers, 2);
  assert_int_equal(revoked(&ev), 1);
  /* the writer still waits */
  assert_int_equal(__atomic_load_n(&w.rc, __ATOMIC_SEQ_CST), -100);
  /* the holder lets go: the waiting writer gets it */
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  pthread_join(th, NULL);
  assert_int_equal(w.rc, ZKLOCK_OK);
  /* a later hold is a fresh one: not marked, and notified anew */
  assert_int_equal(zklock_mutex_lock(m, 5000), ZKLOCK_OK);
  node_data(zklock_mutex_node(m), buf, sizeof buf);
  assert_null(strstr(buf, ZKLOCK__MARK_REVOKE));
  assert_int_equal(zklock_revoke(b, root), ZKLOCK_OK);
  for (int i = 0; i < 200 && revoked(&ev) < 2; i++)
    zkt_sleep_ms(50);
  assert_int_equal(revoked(&ev), 2);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  zklock_mutex_free(mb);
  zklock_mutex_free(m);
  zklock_client_close(w.c);
  zklock_client_close(b);
  zklock_client_close(a);
  zkt_assert_empty(root);
}

static int queued3(void *p) { return zkt_nodes(raw, (const char *)p) == 3; }

static int has_mark(const char *node) {
  char buf[1024];
  node_data(node, buf, sizeof buf);
  return strstr(buf, ZKLOCK__MARK_REVOKE) != NULL;
}

static void async_ignore(int rc, void *arg) {
  __atomic_store_n((int *)arg, rc == ZKLOCK_OK ? 1 : rc, __ATOMIC_SEQ_CST);
}

/* A semaphore path: every lease holder of the moment is asked, a waiter
 * is not. An election path: the leader is asked to resign. (It answered
 * ZKLOCK_EINVAL on a semaphore path.) */
static void test_semaphore_and_election(void **state) {
  (void)state;
  char root[256], eroot[256];
  zkt_root(root, sizeof root, "rv-sem");
  zkt_root(eroot, sizeof eroot, "rv-elect");
  events e1 = {.mu = PTHREAD_MUTEX_INITIALIZER};
  events e2 = {.mu = PTHREAD_MUTEX_INITIALIZER};
  zklock_client *a1 = client_with(&e1), *a2 = client_with(&e2);
  zklock_client *b = zkt_client(0);
  zklock_semaphore *s1, *s2, *sw;
  assert_int_equal(zklock_semaphore_new(a1, root, 2, &s1), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_new(a2, root, 2, &s2), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_new(b, root, 2, &sw), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_acquire(s1, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_acquire(s2, 5000), ZKLOCK_OK);
  int got = 0;
  assert_int_equal(
      zklock_semaphore_acquire_async(sw, 15000, async_ignore, &got), ZKLOCK_OK);
  assert_true(zkt_wait_for(queued3, root, 10000));
  assert_int_equal(zklock_revoke(b, root), ZKLOCK_OK);
  assert_true(zkt_wait_for(revoked, &e1, 10000));
  assert_true(zkt_wait_for(revoked, &e2, 10000));
  assert_string_equal(e1.node, zklock_semaphore_node(s1));
  assert_string_equal(e2.node, zklock_semaphore_node(s2));
  assert_true(has_mark(zklock_semaphore_node(s1)));
  assert_true(has_mark(zklock_semaphore_node(s2)));
  assert_false(has_mark(zklock_semaphore_node(sw))); /* the waiter's */
  assert_int_equal(zklock_semaphore_state(s1), ZKLOCK_LOCK_HELD);
  /* one holder lets go: the waiter gets its permit, unasked */
  assert_int_equal(zklock_semaphore_release(s1), ZKLOCK_OK);
  assert_true(zkt_wait_for(nonzero_int, &got, 10000));
  assert_int_equal(got, 1);
  assert_false(has_mark(zklock_semaphore_node(sw)));
  assert_int_equal(zklock_semaphore_release(s2), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_release(sw), ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, root, 0), 0); /* releases landed */
  assert_int_equal(zklock_revoke(b, root), ZKLOCK_ENOTHELD); /* no lease */

  /* election: the leader is asked to resign, the other candidate not */
  zklock_election *l, *o;
  assert_int_equal(zklock_election_new(a1, eroot, "leader", &l), ZKLOCK_OK);
  assert_int_equal(zklock_election_new(b, eroot, "other", &o), ZKLOCK_OK);
  assert_int_equal(zklock_election_campaign(l, 5000), ZKLOCK_OK);
  int won = 0;
  assert_int_equal(zklock_election_campaign_async(o, 15000, async_ignore, &won),
                   ZKLOCK_OK);
  assert_true(zkt_wait_for(queued2, eroot, 10000));
  int before = revoked(&e1);
  assert_int_equal(zklock_revoke(b, eroot), ZKLOCK_OK);
  for (int i = 0; i < 200 && revoked(&e1) == before; i++)
    zkt_sleep_ms(50);
  assert_int_equal(revoked(&e1), before + 1);
  assert_string_equal(e1.node, zklock_election_node(l));
  assert_false(has_mark(zklock_election_node(o)));
  assert_int_equal(zklock_election_resign(l), ZKLOCK_OK);
  assert_true(zkt_wait_for(nonzero_int, &won, 10000));
  assert_int_equal(won, 1);
  assert_int_equal(zklock_election_resign(o), ZKLOCK_OK);
  zklock_election_free(l);
  zklock_election_free(o);
  zklock_semaphore_free(s1);
  zklock_semaphore_free(s2);
  zklock_semaphore_free(sw);
  zklock_client_close(a1);
  zklock_client_close(a2);
  zklock_client_close(b);
  zkt_assert_empty(root);
  zkt_assert_empty(eroot);
}

/* A downgraded writer keeps its "mode=r" line when asked to let go, so
 * readers still pass it; a revocation alone does not let readers in. */
static void test_downgraded(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "rv-downgrade");
  events ev = {.mu = PTHREAD_MUTEX_INITIALIZER};
  zklock_client *a = client_with(&ev);
  zklock_rwlock *w;
  assert_int_equal(zklock_rwlock_new(a, root, &w), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_wrlock(w, -1), ZKLOCK_OK);
  zklock_client *b = zkt_client(0);
  zklock_rwlock *r;
  assert_int_equal(zklock_rwlock_new(b, root, &r), ZKLOCK_OK);
  assert_int_equal(zklock_revoke(b, root), ZKLOCK_OK);
  assert_true(zkt_wait_for(revoked, &ev, 10000));
  /* a revoked writer is still a writer */
  assert_int_equal(zklock_rwlock_rdlock(r, 500), ZKLOCK_ETIMEDOUT);
  zklock_node_info *v;
  int n;
  assert_int_equal(zklock_queue_list(b, root, &v, &n), ZKLOCK_OK);
  assert_int_equal(n, 1);
  assert_int_equal(v[0].holder, 1);
  free(v);

  assert_int_equal(zklock_rwlock_downgrade(w), ZKLOCK_OK);
  assert_int_equal(zklock_revoke(b, root), ZKLOCK_OK);
  char buf[1024];
  node_data(zklock_rwlock_node(w), buf, sizeof buf);
  assert_non_null(strstr(buf, "\n" ZKLOCK__MARK_READ));
  assert_non_null(strstr(buf, "\n" ZKLOCK__MARK_REVOKE));
  assert_int_equal(zklock_rwlock_rdlock(r, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_queue_list(b, root, &v, &n), ZKLOCK_OK);
  assert_int_equal(n, 2);
  assert_int_equal(v[0].holder + v[1].holder, 2);
  free(v);
  assert_int_equal(zklock_rwlock_unlock(r), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_unlock(w), ZKLOCK_OK);
  zklock_rwlock_free(r);
  zklock_rwlock_free(w);
  zklock_client_close(b);
  zklock_client_close(a);
  zkt_assert_empty(root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_not_held),
      cmocka_unit_test(test_holder_notified),
      cmocka_unit_test(test_downgraded),
      cmocka_unit_test(test_semaphore_and_election),
  };
  return cmocka_run_group_tests_name("revoke", tests, zkt_group_setup,
                                     zkt_group_teardown);
}
