/* Integration tests of the operating calls: zklock_queue_walk and
 * zklock_find_deadlocks against the real ensemble. */
#include "zkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define raw zkt_rawzh
#define MAXC 8

static void ignore(int rc, void *arg) {
  (void)rc;
  (void)arg;
}

/* What the walk saw. */
typedef struct {
  int n;
  char paths[16][256];
  int nodes[16];
  int holders[16];
  int stop_at; /* return 7 from this call (1-based), 0 never */
} walked;

static int on_path(const char *path, const zklock_node_info *v, int n,
                   void *arg) {
  walked *w = arg;
  if (w->n < 16) {
    snprintf(w->paths[w->n], sizeof w->paths[w->n], "%s", path);
    w->nodes[w->n] = n;
    for (int i = 0; i < n; i++)
      w->holders[w->n] += v[i].holder != 0;
  }
  w->n++;
  return w->n == w->stop_at ? 7 : 0;
}

static void test_walk(void **state) {
  (void)state;
  char root[256], a[300], rw[300], sem[300], el[300];
  zkt_root(root, sizeof root, "walk");
  snprintf(a, sizeof a, "%s/a", root);
  snprintf(rw, sizeof rw, "%s/x/y", root);
  snprintf(sem, sizeof sem, "%s/s", root);
  snprintf(el, sizeof el, "%s/e", root);
  zklock_client *c = zkt_client(0);
  zklock_mutex *m1, *m2;
  zklock_rwlock *r1, *r2;
  zklock_semaphore *s;
  zklock_election *e;
  assert_int_equal(zklock_mutex_new(c, a, &m1), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(c, a, &m2), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_new(c, rw, &r1), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_new(c, rw, &r2), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_new(c, sem, 2, &s), ZKLOCK_OK);
  assert_int_equal(zklock_election_new(c, el, "cand-1", &e), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m1, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock_async(m2, 30000, ignore, NULL), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_rdlock(r1, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_rdlock(r2, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_acquire(s, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_election_campaign(e, 5000), ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, a, 2), 2);

  walked w = {0};
  assert_int_equal(zklock_queue_walk(c, root, on_path, &w), ZKLOCK_OK);
  assert_int_equal(w.n, 4); /* in byte order of the paths */
  assert_string_equal(w.paths[0], a);
  assert_string_equal(w.paths[1], el);
  assert_string_equal(w.paths[2], sem);
  assert_string_equal(w.paths[3], rw);
  assert_int_equal(w.nodes[0], 2);
  assert_int_equal(w.holders[0], 1); /* the rule of zklock_queue_list */
  assert_int_equal(w.holders[1], 1);
  assert_int_equal(w.holders[2], 1);
  assert_int_equal(w.nodes[3], 2);
  assert_int_equal(w.holders[3], 2);

  walked stop = {.stop_at = 2}; /* the callback's value ends the walk */
  assert_int_equal(zklock_queue_walk(c, root, on_path, &stop), 7);
  assert_int_equal(stop.n, 2);
  walked none = {0}; /* a missing root is an empty tree */
  snprintf(a, sizeof a, "%s/missing", root);
  assert_int_equal(zklock_queue_walk(c, a, on_path, &none), ZKLOCK_OK);
  assert_int_equal(none.n, 0);
  assert_int_equal(zklock_queue_walk(c, "rel", on_path, &none), ZKLOCK_EPATH);
  assert_int_equal(zklock_queue_walk(c, root, NULL, NULL), ZKLOCK_EINVAL);
  assert_int_equal(zklock_queue_walk(NULL, root, on_path, &none),
                   ZKLOCK_EINVAL);

  zklock_mutex_free(m2);
  zklock_mutex_free(m1);
  zklock_rwlock_free(r1);
  zklock_rwlock_free(r2);
  zklock_semaphore_free(s);
  zklock_election_free(e);
  zklock_client_close(c);
  zkt_rmr(raw, root);
}

/* Cycles seen by the callback, copied out (the view dies with it). */
typedef struct {
  int n;
  int len[4];
  int64_t sessions[4][MAXC];
  char paths[4][MAXC][256];
  char holder_nodes[4][MAXC][96];
  int64_t pids[4][MAXC];
  int hosts_ok, owners_ok;
} cycles;

static void on_cycle(const zklock_cycle *cy, void *arg) {
  cycles *cs = arg;
  if (cs->n >= 4 || cy->n > MAXC) {
    cs->n++;
    return;
  }
  int k = cs->n++;
  cs->len[k] = cy->n;
  cs->hosts_ok = cs->owners_ok = 1;
  for (int i = 0; i < cy->n; i++) {
    cs->sessions[k][i] = cy->sessions[i];
    snprintf(cs->paths[k][i], sizeof cs->paths[k][i], "%s", cy->paths[i]);
    snprintf(cs->holder_nodes[k][i], sizeof cs->holder_nodes[k][i], "%s",
             cy->holder_nodes[i]);
    cs->pids[k][i] = cy->pids[i];
    cs->hosts_ok &= cy->hosts[i][0] != '\0';
    cs->owners_ok &= strstr(cy->owners[i], "pid=") != NULL;
    assert_true(cy->wait_ms[i] >= 0);
    assert_non_null(cy->nodes[i]);
  }
}

static void paths_of(const char *root, char *a, char *b, size_t len) {
  snprintf(a, len, "%s/a", root);
  snprintf(b, len, "%s/b", root);
}

/* c1 holds a and waits for b; c2 holds b and waits for a. */
static void test_pair(void **state) {
  (void)state;
  char root[256], a[300], b[300];
  zkt_root(root, sizeof root, "dl-pair");
  paths_of(root, a, b, sizeof a);
  zklock_client *c1 = zkt_client(0), *c2 = zkt_client(0), *c3 = zkt_client(0);
  zklock_mutex *a1, *b1, *a2, *b2;
  assert_int_equal(zklock_mutex_new(c1, a, &a1), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(c1, b, &b1), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(c2, b, &b2), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(c2, a, &a2), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(a1, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(b2, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock_async(b1, 60000, ignore, NULL), ZKLOCK_OK);
  cycles cs = {0};
  /* one side waits: a chain, no cycle */
  assert_int_equal(zkt_nodes_settle(raw, b, 2), 2);
  assert_int_equal(zklock_find_deadlocks(c3, root, on_cycle, &cs), 0);
  assert_int_equal(cs.n, 0);
  assert_int_equal(zklock_mutex_lock_async(a2, 60000, ignore, NULL), ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, a, 2), 2);

  assert_int_equal(zklock_find_deadlocks(c3, root, on_cycle, &cs), 1);
  assert_int_equal(cs.n, 1);
  assert_int_equal(cs.len[0], 2);
  int64_t s1 = zklock_client_session_id(c1), s2 = zklock_client_session_id(c2);
  int i1 = cs.sessions[0][0] == s1 ? 0 : 1; /* where c1 is in the cycle */
  assert_int_equal(cs.sessions[0][i1], s1);
  assert_int_equal(cs.sessions[0][1 - i1], s2);
  assert_string_equal(cs.paths[0][i1], b); /* c1 waits at b, for c2 */
  assert_string_equal(cs.paths[0][1 - i1], a);
  char want[128];
  snprintf(want, sizeof want, "%s", strrchr(zklock_mutex_node(b2), '/') + 1);
  assert_string_equal(cs.holder_nodes[0][i1], want);
  assert_int_equal(cs.pids[0][0], getpid());
  assert_int_equal(cs.pids[0][1], getpid());
  assert_true(cs.hosts_ok && cs.owners_ok);
  /* NULL callback: count only; the root "/" takes the whole tree */
  assert_int_equal(zklock_find_deadlocks(c3, root, NULL, NULL), 1);
  assert_true(zklock_find_deadlocks(c3, "/", NULL, NULL) >= 1);

  /* breaking it (c1 gives up) leaves no cycle */
  assert_int_equal(zklock_mutex_cancel(b1), ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, b, 1), 1);
  assert_int_equal(zklock_find_deadlocks(c3, root, NULL, NULL), 0);
  assert_int_equal(zklock_find_deadlocks(c3, "x", NULL, NULL), ZKLOCK_EPATH);
  assert_int_equal(zklock_find_deadlocks(NULL, root, NULL, NULL),
                   ZKLOCK_EINVAL);
  zklock_mutex_free(a2);
  zklock_mutex_free(b1);
  zklock_mutex_free(a1);
  zklock_mutex_free(b2);
  zklock_client_close(c1);
  zklock_client_close(c2);
  zklock_client_close(c3);
  zkt_rmr(raw, root);
}

/* A semaphore wait ends when any holder lets go: a cycle through it is a
 * deadlock only while every other holder is stuck too. */
static void test_semaphore_any_of(void **state) {
  (void)state;
  char root[256], sem[300], m[300];
  zkt_root(root, sizeof root, "dl-sem");
  snprintf(sem, sizeof sem, "%s/s", root);
  snprintf(m, sizeof m, "%s/m", root);
  zklock_client *c1 = zkt_client(0), *c2 = zkt_client(0), *c3 = zkt_client(0);
  zklock_semaphore *s1, *s2, *s3;
  zklock_mutex *m1, *m2, *m3;
  assert_int_equal(zklock_semaphore_new(c1, sem, 2, &s1), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_new(c2, sem, 2, &s2), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_new(c3, sem, 2, &s3), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(c1, m, &m1), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(c2, m, &m2), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(c3, m, &m3), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_acquire(s1, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_acquire(s2, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m3, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_acquire_async(s3, 60000, ignore, NULL),
                   ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock_async(m1, 60000, ignore, NULL), ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, sem, 3), 3);
  assert_int_equal(zkt_nodes_settle(raw, m, 2), 2);
  /* c1 -> c3 -> {c1 or c2}: c2 is free, so c3 will get a permit */
  assert_int_equal(zklock_find_deadlocks(c1, root, NULL, NULL), 0);
  /* now c2 waits for m as well: both permit holders are stuck */
  assert_int_equal(zklock_mutex_lock_async(m2, 60000, ignore, NULL), ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, m, 3), 3);
  cycles cs = {0};
  assert_int_equal(zklock_find_deadlocks(c1, root, on_cycle, &cs), 2);
  assert_int_equal(cs.len[0], 2);
  assert_int_equal(cs.len[1], 2);
  zklock_mutex_free(m1);
  zklock_mutex_free(m2);
  zklock_mutex_free(m3);
  zklock_semaphore_free(s3);
  zklock_semaphore_free(s2);
  zklock_semaphore_free(s1);
  zklock_client_close(c1);
  zklock_client_close(c2);
  zklock_client_close(c3);
  zkt_rmr(raw, root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_walk),
      cmocka_unit_test(test_pair),
      cmocka_unit_test(test_semaphore_any_of),
  };
  return cmocka_run_group_tests_name("ops", tests, zkt_group_setup,
                                     zkt_group_teardown);
}
