/* Integration tests of the operating calls: zklock_queue_walk and
 * zklock_find_deadlocks against the real ensemble. */
#include "zkt.h"

#include <stddef.h>
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

static zklock_stats stats_of(zklock_client *c) {
  zklock_stats st;
  memset(&st, 0, sizeof st);
  st.size = sizeof st;
  assert_int_equal(zklock_client_stats(c, &st), ZKLOCK_OK);
  assert_int_equal(st.size, sizeof st);
  return st;
}

static uint64_t hist_count(const uint64_t *h) {
  uint64_t n = 0;
  for (int i = 0; i < ZKLOCK_STATS_BUCKETS; i++)
    n += h[i];
  return n;
}

typedef struct {
  zklock_client *c;
  int64_t want;
} stat_wait;

static int revoked_seen(void *p) {
  stat_wait *w = p;
  return (int64_t)stats_of(w->c).revocations >= w->want;
}

static int expiry_seen(void *p) {
  stat_wait *w = p;
  zklock_stats st = stats_of(w->c);
  return (int64_t)st.session_expiries >= w->want && st.locks_lost >= 1;
}

static void test_stats(void **state) {
  (void)state;
  char root[256], m[300], rw[300], sem[300], el[300];
  zkt_root(root, sizeof root, "stats");
  snprintf(m, sizeof m, "%s/m", root);
  snprintf(rw, sizeof rw, "%s/rw", root);
  snprintf(sem, sizeof sem, "%s/s", root);
  snprintf(el, sizeof el, "%s/e", root);
  zklock_client *c = zkt_client(2000), *other = zkt_client(0);
  zklock_stats st = stats_of(c);
  assert_int_equal(st.held, 0);
  assert_int_equal(st.acquired_mutex, 0);
  uint64_t req0 = st.requests;
  zklock_mutex *mx, *ox;
  zklock_rwlock *l;
  zklock_semaphore *s;
  zklock_election *e;
  assert_int_equal(zklock_mutex_new(c, m, &mx), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_new(other, m, &ox), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_new(c, rw, &l), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_new(c, sem, 2, &s), ZKLOCK_OK);
  assert_int_equal(zklock_election_new(c, el, "me", &e), ZKLOCK_OK);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(zklock_mutex_lock(mx, 5000), ZKLOCK_OK);
    assert_int_equal(zklock_mutex_unlock(mx), ZKLOCK_OK);
  }
  assert_int_equal(zklock_rwlock_rdlock(l, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_unlock(l), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_wrlock(l, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_unlock(l), ZKLOCK_OK);
  assert_int_equal(zklock_semaphore_acquire(s, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_election_campaign(e, 5000), ZKLOCK_OK);
  st = stats_of(c);
  assert_int_equal(st.acquired_mutex, 3);
  assert_int_equal(st.acquired_read, 1);
  assert_int_equal(st.acquired_write, 1);
  assert_int_equal(st.acquired_semaphore, 1);
  assert_int_equal(st.acquired_election, 1);
  assert_int_equal(st.held, 2); /* the lease and the lead */
  assert_int_equal(st.waiting, 0);
  assert_int_equal(hist_count(st.wait_us), 7);
  assert_int_equal(hist_count(st.hold_us), 5);
  assert_true(st.wait_us_sum > 0 && st.hold_us_sum > 0);
  assert_true(st.requests >= req0 + 7 * 2); /* create and list each */

  /* busy, timeout, cancel: the other client holds m */
  assert_int_equal(zklock_mutex_lock(ox, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_trylock(mx), ZKLOCK_EBUSY);
  assert_int_equal(zklock_mutex_lock(mx, 200), ZKLOCK_ETIMEDOUT);
  assert_int_equal(zklock_mutex_lock_async(mx, 60000, ignore, NULL), ZKLOCK_OK);
  assert_int_equal(stats_of(c).waiting, 1);
  assert_int_equal(zklock_mutex_cancel(mx), ZKLOCK_OK);
  for (int i = 0; i < 500 && stats_of(c).waiting; i++)
    zkt_sleep_ms(10);
  st = stats_of(c);
  assert_int_equal(st.busy, 1);
  assert_int_equal(st.timeouts, 1);
  assert_int_equal(st.cancels, 1);
  assert_int_equal(st.waiting, 0);
  assert_int_equal(zklock_mutex_unlock(ox), ZKLOCK_OK);

  /* a waiter is granted by a watch event */
  uint64_t ev0 = st.watch_events;
  assert_int_equal(zklock_mutex_lock(ox, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock_async(mx, 60000, ignore, NULL), ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, m, 2), 2);
  assert_int_equal(zklock_mutex_unlock(ox), ZKLOCK_OK);
  for (int i = 0; i < 500 && zklock_mutex_state(mx) != ZKLOCK_LOCK_HELD; i++)
    zkt_sleep_ms(10);
  st = stats_of(c);
  assert_int_equal(st.acquired_mutex, 4);
  assert_true(st.watch_events > ev0);

  /* a revocation request, then the session's expiry loses the holds */
  assert_int_equal(zklock_revoke(other, m), ZKLOCK_OK);
  stat_wait w = {c, 1};
  assert_true(zkt_wait_for(revoked_seen, &w, 10000));
  zkt_expire(c);
  assert_true(zkt_wait_for(expiry_seen, &w, 20000));
  st = stats_of(c);
  assert_int_equal(st.locks_lost, 3); /* the mutex, the lease, the lead */
  assert_int_equal(zklock_mutex_unlock(mx), ZKLOCK_ELOST);
  assert_int_equal(stats_of(c).held, 2);

  /* an older caller's shorter struct gets its prefix only */
  unsigned char buf[sizeof(zklock_stats) + 16];
  memset(buf, 0xab, sizeof buf);
  zklock_stats *small = (zklock_stats *)buf;
  small->size = offsetof(zklock_stats, acquired_read);
  assert_int_equal(zklock_client_stats(c, small), ZKLOCK_OK);
  assert_int_equal(small->acquired_mutex, 4);
  assert_int_equal(buf[offsetof(zklock_stats, acquired_read)], 0xab);
  small->size = sizeof buf; /* a newer one: zeros past ours */
  assert_int_equal(zklock_client_stats(c, small), ZKLOCK_OK);
  assert_int_equal(small->size, sizeof(zklock_stats));
  assert_int_equal(buf[sizeof buf - 1], 0);
  small->size = 4;
  assert_int_equal(zklock_client_stats(c, small), ZKLOCK_EINVAL);
  assert_int_equal(zklock_client_stats(c, NULL), ZKLOCK_EINVAL);
  assert_int_equal(zklock_client_stats(NULL, small), ZKLOCK_EINVAL);

  zklock_mutex_free(mx);
  zklock_mutex_free(ox);
  zklock_rwlock_free(l);
  zklock_semaphore_free(s);
  zklock_election_free(e);
  st = stats_of(c);
  assert_int_equal(st.held, 0);
  assert_int_equal(hist_count(st.hold_us), 8);
  zklock_client_close(c);
  zklock_client_close(other);
  zkt_rmr(raw, root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_walk),
      cmocka_unit_test(test_pair),
      cmocka_unit_test(test_semaphore_any_of),
      cmocka_unit_test(test_stats),
  };
  return cmocka_run_group_tests_name("ops", tests, zkt_group_setup,
                                     zkt_group_teardown);
}
