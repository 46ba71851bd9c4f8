/* Integration tests: leader election against the real ensemble. */
#include "zkt.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define raw zkt_rawzh

static void test_bad_ids(void **state) {
  (void)state;
  zklock_client *c = zkt_client(0);
  zklock_election *e = (zklock_election *)1;
  char longid[300];
  memset(longid, 'a', sizeof longid);
  longid[256] = '\0';
  const char *bad[] = {NULL, "", longid, "\xff", "a\nb", "\xc0\x80"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(zklock_election_new(c, "/e", bad[i], &e), ZKLOCK_EINVAL);
    assert_null(e);
  }
  longid[255] = '\0'; /* 255 bytes: the longest allowed */
  assert_int_equal(zklock_election_new(c, "/e", longid, &e), ZKLOCK_OK);
  zklock_election_free(e);
  assert_int_equal(zklock_election_new(c, "/e",
                                       "n\xc3\xb6"
                                       "de-1",
                                       &e),
                   ZKLOCK_OK);
  assert_int_equal(zklock_election_resign(e), ZKLOCK_ENOTHELD);
  assert_int_equal(zklock_election_state(e), ZKLOCK_LOCK_UNLOCKED);
  zklock_election_free(e);
  assert_int_equal(zklock_election_new(c, "e", "x", &e), ZKLOCK_EPATH);
  zklock_client_close(c);
}

static void async_done(int rc, void *arg) {
  atomic_int *r = arg;
  atomic_store(r, rc == ZKLOCK_OK ? 1 : rc);
}

static int nonzero(void *p) { return atomic_load((atomic_int *)p) != 0; }

static void test_campaign_resign(void **state) {
  (void)state;
  char root[256], id[256];
  zkt_root(root, sizeof root, "elect");
  zklock_client *a = zkt_client(0), *b = zkt_client(0);
  /* nobody at a missing path, nor at an empty one */
  assert_int_equal(zklock_election_leader(a, root, id, sizeof id),
                   ZKLOCK_ENOLEADER);
  /* the parent may not exist yet when this test runs first */
  zoo_create(raw, "/zklock-test", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
  assert_int_equal(
      zoo_create(raw, root, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
  assert_int_equal(zklock_election_leader(a, root, NULL, 0), ZKLOCK_ENOLEADER);
  zklock_election *ea, *eb;
  assert_int_equal(zklock_election_new(a, root, "alpha", &ea), ZKLOCK_OK);
  assert_int_equal(zklock_election_new(b, root, "beta", &eb), ZKLOCK_OK);
  assert_int_equal(zklock_election_campaign(ea, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_election_state(ea), ZKLOCK_LOCK_HELD);
  int64_t ta = zklock_election_token(ea);
  assert_true(ta > 0);
  assert_int_equal(zklock_election_campaign(ea, 0), ZKLOCK_EALREADY);
  assert_int_equal(zklock_election_leader(b, root, id, sizeof id), ZKLOCK_OK);
  assert_string_equal(id, "alpha");
  char small[4];
  assert_int_equal(zklock_election_leader(b, root, small, sizeof small),
                   ZKLOCK_ERANGE);
  assert_int_equal(zklock_election_campaign(eb, 300), ZKLOCK_ETIMEDOUT);
  assert_int_equal(zklock_election_token(eb), -1);
  atomic_int got = 0;
  assert_int_equal(zklock_election_campaign_async(eb, 10000, async_done, &got),
                   ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, root, 2), 2);
  assert_int_equal(atomic_load(&got), 0);
  assert_int_equal(zklock_election_resign(ea), ZKLOCK_OK);
  assert_int_equal(zklock_election_state(ea), ZKLOCK_LOCK_UNLOCKED);
  assert_true(zkt_wait_for(nonzero, &got, 10000));
  assert_int_equal(atomic_load(&got), 1);
  assert_int_equal(zklock_election_state(eb), ZKLOCK_LOCK_HELD);
  assert_true(zklock_election_token(eb) > ta); /* terms only grow */
  assert_int_equal(zklock_election_leader(a, root, id, sizeof id), ZKLOCK_OK);
  assert_string_equal(id, "beta");
  /* a waiting candidate may withdraw */
  atomic_int wa = 0;
  assert_int_equal(zklock_election_campaign_async(ea, -1, async_done, &wa),
                   ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, root, 2), 2);
  assert_int_equal(zklock_election_resign(ea), ZKLOCK_OK);
  assert_true(zkt_wait_for(nonzero, &wa, 10000));
  assert_int_equal(atomic_load(&wa), ZKLOCK_ECANCELED);
  /* the withdrawn node goes in the background; b's own delete below is
   * ordered after it once the ensemble has it */
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1);
  assert_int_equal(zklock_election_resign(eb), ZKLOCK_OK);
  assert_int_equal(zklock_election_leader(b, root, id, sizeof id),
                   ZKLOCK_ENOLEADER);
  zklock_election_free(ea);
  zklock_election_free(eb);
  zklock_client_close(a);
  zklock_client_close(b);
  zkt_assert_empty(root);
}

/* ---- observers ---- */

#define MAXSEEN 32

typedef struct {
  pthread_mutex_t mu;
  int n;
  char id[MAXSEEN][256];
  int64_t term[MAXSEEN];
} seen;

static void on_leader(const char *id, int64_t term, void *arg) {
  seen *s = arg;
  pthread_mutex_lock(&s->mu);
  if (s->n < MAXSEEN) {
    snprintf(s->id[s->n], sizeof s->id[s->n], "%s", id ? id : "(none)");
    s->term[s->n] = term;
    s->n++;
  }
  pthread_mutex_unlock(&s->mu);
}

typedef struct {
  seen *s;
  int n;
} seen_arg;

static int seen_n(void *p) {
  seen_arg *a = p;
  pthread_mutex_lock(&a->s->mu);
  int ok = a->s->n >= a->n;
  pthread_mutex_unlock(&a->s->mu);
  return ok;
}

static void expect_seen(seen *s, int n, const char *id) {
  seen_arg a = {s, n};
  assert_true(zkt_wait_for(seen_n, &a, 15000));
  pthread_mutex_lock(&s->mu);
  assert_int_equal(s->n, n); /* nothing extra */
  assert_string_equal(s->id[n - 1], id);
  pthread_mutex_unlock(&s->mu);
}

static int is_lost(void *p) {
  return zklock_election_state(p) == ZKLOCK_LOCK_LOST;
}

static void test_observe_and_expiry(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "observe");
  seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
  zklock_client *oc = zkt_client(0);
  zklock_observer *ob;
  assert_int_equal(zklock_election_observe(oc, root, on_leader, &s, &ob),
                   ZKLOCK_OK);
  expect_seen(&s, 1, "(none)"); /* the path does not even exist yet */
  assert_int_equal(s.term[0], -1);
  enum { N = 3 };
  const char *ids[N] = {"c0", "c1", "c2"};
  zklock_client *c[N];
  zklock_election *e[N];
  atomic_int got[N];
  for (int i = 0; i < N; i++) {
    atomic_init(&got[i], 0);
    c[i] = zkt_client(i == 1 ? 2000 : 0);
    assert_int_equal(zklock_election_new(c[i], root, ids[i], &e[i]), ZKLOCK_OK);
    assert_int_equal(
        zklock_election_campaign_async(e[i], 30000, async_done, &got[i]),
        ZKLOCK_OK);
    assert_int_equal(zkt_nodes_settle(raw, root, i + 1), i + 1);
  }
  assert_true(zkt_wait_for(nonzero, &got[0], 10000));
  expect_seen(&s, 2, "c0");
  assert_int_equal(s.term[1], zklock_election_token(e[0]));
  /* resign hands over to the next candidate */
  assert_int_equal(zklock_election_resign(e[0]), ZKLOCK_OK);
  assert_true(zkt_wait_for(nonzero, &got[1], 10000));
  expect_seen(&s, 3, "c1");
  assert_int_equal(s.term[2], zklock_election_token(e[1]));
  /* the leader's session ends: the next one takes over */
  int64_t t1 = zklock_election_token(e[1]);
  zkt_expire(c[1]);
  assert_true(zkt_wait_for(nonzero, &got[2], 15000));
  assert_int_equal(atomic_load(&got[2]), 1);
  expect_seen(&s, 4, "c2");
  assert_true(zklock_election_token(e[2]) > t1);
  /* the old leader may first see only a disconnect (UNCERTAIN) */
  assert_true(zkt_wait_for(is_lost, e[1], 10000));
  assert_int_equal(zklock_election_campaign(e[1], 0), ZKLOCK_ELOST);
  assert_int_equal(zklock_election_resign(e[1]), ZKLOCK_ELOST);
  assert_int_equal(zklock_election_resign(e[2]), ZKLOCK_OK);
  expect_seen(&s, 5, "(none)");
  assert_int_equal(s.term[4], -1);
  for (int i = 1; i < 4; i++)
    assert_true(s.term[i] > s.term[i - 1]);
  /* after free no call comes, whatever happens at the path: a second
   * observer on the same client that sees the change shows the library
   * has handled it (rather than a sleep that hopes so) */
  seen s2 = {.mu = PTHREAD_MUTEX_INITIALIZER};
  zklock_observer *ob2;
  assert_int_equal(zklock_election_observe(oc, root, on_leader, &s2, &ob2),
                   ZKLOCK_OK);
  expect_seen(&s2, 1, "(none)");
  zklock_observer_free(ob);
  assert_int_equal(zklock_election_campaign(e[0], 5000), ZKLOCK_OK);
  expect_seen(&s2, 2, "c0");
  pthread_mutex_lock(&s.mu);
  assert_int_equal(s.n, 5);
  pthread_mutex_unlock(&s.mu);
  zklock_observer_free(ob2);
  assert_int_equal(zklock_election_resign(e[0]), ZKLOCK_OK);
  for (int i = 0; i < N; i++) {
    zklock_election_free(e[i]);
    zklock_client_close(c[i]);
  }
  zklock_client_close(oc);
  zkt_assert_empty(root);
}

/* An observer in loop mode runs its calls from zklock_client_dispatch;
 * freeing one from inside its own call is allowed. */
typedef struct {
  zklock_observer *ob;
  int calls;
  char last[256];
} self_free;

static void free_self(const char *id, int64_t term, void *arg) {
  (void)term;
  self_free *f = arg;
  f->calls++;
  snprintf(f->last, sizeof f->last, "%s", id ? id : "(none)");
  if (id)
    zklock_observer_free(f->ob);
}

static void record_call(const char *id, int64_t term, void *arg) {
  (void)term;
  self_free *f = arg;
  f->calls++;
  snprintf(f->last, sizeof f->last, "%s", id ? id : "(none)");
}

static void test_observe_loop(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "observeloop");
  zklock_client_opts o = {.dispatch = ZKLOCK_DISPATCH_LOOP};
  zklock_client *lc;
  assert_int_equal(zklock_client_open(zkt_hosts(), &o, &lc), ZKLOCK_OK);
  zklock_client *c = zkt_client(0);
  zklock_election *e;
  assert_int_equal(zklock_election_new(c, root, "solo", &e), ZKLOCK_OK);
  assert_int_equal(zklock_election_campaign(e, 5000), ZKLOCK_OK);
  self_free f = {0};
  assert_int_equal(zklock_election_observe(lc, root, free_self, &f, &f.ob),
                   ZKLOCK_OK);
  /* the call is due (the client's fd says so), yet nothing runs until
   * dispatched */
  struct pollfd pfd = {.fd = zklock_client_fd(lc), .events = POLLIN};
  assert_int_equal(poll(&pfd, 1, ZKT_EVIDENCE_MS), 1);
  assert_int_equal(f.calls, 0);
  for (int i = 0; i < 200 && f.calls == 0; i++) {
    zklock_client_dispatch(lc);
    zkt_sleep_ms(10);
  }
  /* one call: the sync before the first listing keeps a lagging server
   * from reporting "(none)" first */
  assert_int_equal(f.calls, 1);
  assert_string_equal(f.last, "solo");
  /* a second observer on the loop: once it has seen the resign, so would
   * the freed one have */
  self_free g = {0};
  assert_int_equal(zklock_election_observe(lc, root, record_call, &g, &g.ob),
                   ZKLOCK_OK);
  for (int i = 0; i < 500 && strcmp(g.last, "solo") != 0; i++) {
    zklock_client_dispatch(lc);
    zkt_sleep_ms(10);
  }
  assert_string_equal(g.last, "solo");
  assert_int_equal(zklock_election_resign(e), ZKLOCK_OK);
  for (int i = 0; i < 500 && strcmp(g.last, "(none)") != 0; i++) {
    zklock_client_dispatch(lc);
    zkt_sleep_ms(10);
  }
  assert_string_equal(g.last, "(none)");
  assert_int_equal(f.calls, 1); /* freed: no "(none)" afterwards */
  zklock_observer_free(g.ob);
  zklock_election_free(e);
  zklock_client_close(c);
  zklock_client_close(lc);
  zkt_assert_empty(root);
}

static zklock_client *compat_client(int compat) {
  zklock_client_opts o;
  memset(&o, 0, sizeof o);
  o.compat = compat;
  zklock_client *c = NULL;
  assert_int_equal(zklock_client_open(zkt_hosts(), &o, &c), ZKLOCK_OK);
  return c;
}

typedef struct {
  pthread_mutex_t mu;
  char id[256];
  int calls;
} seen_leader;

static void on_seen(const char *leader_id, int64_t term, void *arg) {
  (void)term;
  seen_leader *s = arg;
  pthread_mutex_lock(&s->mu);
  snprintf(s->id, sizeof s->id, "%s", leader_id ? leader_id : "");
  s->calls++;
  pthread_mutex_unlock(&s->mu);
}

static seen_leader *want_seen;
static const char *want_id;
static int leader_is(void *arg) {
  (void)arg;
  pthread_mutex_lock(&want_seen->mu);
  int ok = want_seen->calls > 0 && strcmp(want_seen->id, want_id) == 0;
  pthread_mutex_unlock(&want_seen->mu);
  return ok;
}

static void mknode(const char *dir, const char *name, const char *data) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  assert_int_equal(zoo_create(raw, p, data, (int)strlen(data),
                              &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0),
                   ZOK);
}

/* The leader as Curator's LeaderLatch and kazoo's Election order their
 * candidates: by the counter text after "latch-" / "__lock__", not by
 * creation; kazoo skips names it does not match, Curator sorts every
 * child (so an unknown one makes the order unknowable: EFOREIGN), and
 * native zklock refuses both libraries' nodes. */
static void test_profile_leader(void **state) {
  (void)state;
  char root[256], cur[300], kaz[300], id[256];
  zkt_root(root, sizeof root, "elect-profiles");
  zoo_create(raw, "/zklock-test", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
  assert_int_equal(
      zoo_create(raw, root, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
  snprintf(cur, sizeof cur, "%s/curator", root);
  snprintf(kaz, sizeof kaz, "%s/kazoo", root);
  assert_int_equal(
      zoo_create(raw, cur, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
  assert_int_equal(
      zoo_create(raw, kaz, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
  mknode(cur, "_c_0b5c2a5e-6a43-4c57-9d0e-3f4a1b2c3d4e-latch-0000000001",
         "late");
  mknode(cur, "_c_9f1e2d3c-4b5a-4698-8776-a5b4c3d2e1f0-latch-0000000000",
         "first");
  mknode(kaz, "00112233445566778899aabbccddeeff__lock__0000000007", "k7");
  mknode(kaz, "ffeeddccbbaa99887766554433221100__lock__0000000002", "k2");
  /* not kazoo Election contenders: a reader's node, an unknown name */
  mknode(kaz, "0123456789abcdef0123456789abcdef__rlock__0000000001", "r1");
  mknode(kaz, "zzz-not-a-candidate", "junk");
  zklock_client *c = compat_client(ZKLOCK_COMPAT_CURATOR);
  zklock_client *k = compat_client(ZKLOCK_COMPAT_KAZOO);
  zklock_client *n = zkt_client(0);
  assert_int_equal(zklock_election_leader(c, cur, id, sizeof id), ZKLOCK_OK);
  assert_string_equal(id, "first");
  assert_int_equal(zklock_election_leader(k, kaz, id, sizeof id), ZKLOCK_OK);
  assert_string_equal(id, "k2");
  assert_int_equal(zklock_election_leader(n, cur, id, sizeof id),
                   ZKLOCK_EFOREIGN);
  assert_int_equal(zklock_election_leader(n, kaz, id, sizeof id),
                   ZKLOCK_EFOREIGN);
  /* the inspection names each node's library (native view: none holds
   * for zklock, foreign nodes listed last) */
  zklock_node_info *v;
  int nv, kazoo = 0, unknown = 0;
  assert_int_equal(zklock_queue_list(n, cur, &v, &nv), ZKLOCK_OK);
  assert_int_equal(nv, 2);
  for (int i = 0; i < nv; i++) {
    assert_string_equal(v[i].library, "Curator");
    assert_int_equal(v[i].holder, 0);
  }
  free(v);
  assert_int_equal(zklock_queue_list(n, kaz, &v, &nv), ZKLOCK_OK);
  assert_int_equal(nv, 4);
  for (int i = 0; i < nv; i++) {
    print_message("  %s: %s\n", v[i].name, v[i].library);
    kazoo += strcmp(v[i].library, "kazoo") == 0;
    unknown += strcmp(v[i].library, "unknown") == 0;
    assert_int_equal(v[i].holder, 0);
    if (strcmp(v[i].name, "zzz-not-a-candidate") == 0)
      assert_string_equal(v[i].library, "unknown");
  }
  free(v);
  assert_int_equal(kazoo, 3);
  assert_int_equal(unknown, 1);
  /* an observer in the kazoo profile follows the same order */
  seen_leader sl = {.mu = PTHREAD_MUTEX_INITIALIZER};
  zklock_observer *o;
  assert_int_equal(zklock_election_observe(k, kaz, on_seen, &sl, &o),
                   ZKLOCK_OK);
  want_seen = &sl;
  want_id = "k2";
  assert_int_equal(zkt_wait_for(leader_is, NULL, 5000), 1);
  char gone[512];
  snprintf(gone, sizeof gone, "%s/%s", kaz,
           "ffeeddccbbaa99887766554433221100__lock__0000000002");
  assert_int_equal(zoo_delete(raw, gone, -1), ZOK);
  want_id = "k7";
  assert_int_equal(zkt_wait_for(leader_is, NULL, 5000), 1);
  zklock_observer_free(o);
  /* a zklock candidate in the Curator profile queues behind "first" (its
   * counter, 2, comes after the two keys made above) */
  zklock_election *e;
  assert_int_equal(zklock_election_new(c, cur, "zk", &e), ZKLOCK_OK);
  assert_int_equal(zklock_election_campaign(e, 0), ZKLOCK_EBUSY);
  zklock_election_free(e);
  mknode(cur, "junk", "");
  assert_int_equal(zklock_election_leader(c, cur, id, sizeof id),
                   ZKLOCK_EFOREIGN);
  zklock_client_close(c);
  zklock_client_close(k);
  zklock_client_close(n);
  zkt_rmr(raw, root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_ids),
      cmocka_unit_test(test_campaign_resign),
      cmocka_unit_test(test_observe_and_expiry),
      cmocka_unit_test(test_observe_loop),
      cmocka_unit_test(test_profile_leader),
  };
  return cmocka_run_group_tests_name("election", tests, zkt_group_setup,
                                     zkt_group_teardown);
}
