/* Bad input to every public function: clear codes, never a crash. */
#include "zkt.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void test_client_args(void **state) {
  (void)state;
  zklock_client *c = (zklock_client *)0x1;
  assert_int_equal(zklock_client_open(NULL, NULL, &c), ZKLOCK_EINVAL);
  assert_null(c);
  assert_int_equal(zklock_client_open("", NULL, &c), ZKLOCK_EINVAL);
  assert_int_equal(zklock_client_open(zkt_hosts(), NULL, NULL), ZKLOCK_EINVAL);
  zklock_client_opts o = {.session_timeout_ms = -1};
  assert_int_equal(zklock_client_open(zkt_hosts(), &o, &c), ZKLOCK_EINVAL);
  o = (zklock_client_opts){.connect_timeout_ms = -5};
  assert_int_equal(zklock_client_open(zkt_hosts(), &o, &c), ZKLOCK_EINVAL);
  /* Timeouts the ZooKeeper client cannot use fail at once (they used to
   * fail with ECONNLOSS after the whole connect timeout, or hang). "At
   * once" is shown by the answer, not a time: the hosts are a port where
   * nothing listens, so only a check made before connecting can answer
   * EINVAL (one made after would end in ECONNLOSS). */
  const char *dead = "127.0.0.1:1";
  const int bad_session[] = {1,
                             2,
                             ZKLOCK_SESSION_TIMEOUT_MIN_MS - 1,
                             ZKLOCK_SESSION_TIMEOUT_MAX_MS + 1,
                             1 << 30,
                             INT_MAX};
  for (size_t i = 0; i < sizeof bad_session / sizeof *bad_session; i++) {
    o = (zklock_client_opts){.session_timeout_ms = bad_session[i],
                             .connect_timeout_ms = 2000};
    assert_int_equal(zklock_client_open(dead, &o, &c), ZKLOCK_EINVAL);
    assert_null(c);
    /* with an endless connect timeout too: it used to hang */
    o.connect_timeout_ms = INT_MAX;
    assert_int_equal(zklock_client_open(dead, &o, &c), ZKLOCK_EINVAL);
  }
  const int bad_connect[] = {ZKLOCK_CONNECT_TIMEOUT_MAX_MS + 1, INT_MAX};
  for (size_t i = 0; i < 2; i++) {
    o = (zklock_client_opts){.connect_timeout_ms = bad_connect[i]};
    assert_int_equal(zklock_client_open(dead, &o, &c), ZKLOCK_EINVAL);
  }
  /* the bounds themselves are fine */
  const int good_session[] = {ZKLOCK_SESSION_TIMEOUT_MIN_MS,
                              ZKLOCK_SESSION_TIMEOUT_MAX_MS};
  for (size_t i = 0; i < 2; i++) {
    o = (zklock_client_opts){.session_timeout_ms = good_session[i],
                             .connect_timeout_ms =
                                 ZKLOCK_CONNECT_TIMEOUT_MAX_MS};
    assert_int_equal(zklock_client_open(zkt_hosts(), &o, &c), ZKLOCK_OK);
    assert_int_equal(zklock_client_state(c), ZKLOCK_SESSION_CONNECTED);
    zklock_client_close(c);
  }
  const char *bad_auth[] = {"nocolon", ":password", ""};
  for (size_t i = 0; i < 3; i++) {
    o = (zklock_client_opts){.auth = bad_auth[i]};
    assert_int_equal(zklock_client_open(zkt_hosts(), &o, &c), ZKLOCK_EINVAL);
  }
  char longtext[300];
  memset(longtext, 'x', sizeof longtext - 1);
  longtext[sizeof longtext - 1] = '\0';
  o = (zklock_client_opts){.owner_text = longtext};
  assert_int_equal(zklock_client_open(zkt_hosts(), &o, &c), ZKLOCK_EINVAL);
  struct ACL_vector empty = {0, NULL};
  o = (zklock_client_opts){.acl = &empty};
  assert_int_equal(zklock_client_open(zkt_hosts(), &o, &c), ZKLOCK_EINVAL);
  /* malformed host strings */
  assert_int_equal(zklock_client_open("not a host list", NULL, &c),
                   ZKLOCK_EINVAL);
  /* queries on NULL */
  zklock_client_close(NULL);
  assert_null(zklock_client_zhandle(NULL));
  assert_int_equal(zklock_client_state(NULL), ZKLOCK_SESSION_CLOSED);
  assert_int_equal(zklock_client_session_id(NULL), 0);
}

static void test_unreachable(void **state) {
  (void)state;
  zklock_client_opts o = {.connect_timeout_ms = 1000};
  zklock_client *c = (zklock_client *)0x1;
  int64_t t0 = zkt_now_ms();
  /* port 1 on loopback: nothing listens */
  assert_int_equal(zklock_client_open("127.0.0.1:1", &o, &c), ZKLOCK_ECONNLOSS);
  assert_null(c);
  int64_t took = zkt_now_ms() - t0;
  assert_true(took >= 1000 && took < 10000); /* a timeout, not a hang */
}

static void test_lock_args(void **state) {
  (void)state;
  zklock_client *c = zkt_client(0);
  zklock_mutex *m = (zklock_mutex *)0x1;
  zklock_rwlock *l = (zklock_rwlock *)0x1;
  char longp[ZKLOCK_PATH_MAX + 10];
  memset(longp, 'a', sizeof longp);
  longp[0] = '/';
  longp[sizeof longp - 1] = '\0';
  const char *bad[] = {NULL,      "",          "relative",   "/trailing/",
                       "//a",     "/a//b",     "/zookeeper", "/zookeeper/x",
                       "/a/../b", "/\xff\xfe", longp};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int want = ZKLOCK_EPATH;
    assert_int_equal(zklock_mutex_new(c, bad[i], &m), want);
    assert_null(m);
    assert_int_equal(zklock_rwlock_new(c, bad[i], &l), want);
    assert_null(l);
  }
  assert_int_equal(zklock_mutex_new(NULL, "/ok", &m), ZKLOCK_EINVAL);
  assert_int_equal(zklock_mutex_new(c, "/ok", NULL), ZKLOCK_EINVAL);
  assert_int_equal(zklock_rwlock_new(NULL, "/ok", &l), ZKLOCK_EINVAL);
  assert_int_equal(zklock_rwlock_new(c, "/ok", NULL), ZKLOCK_EINVAL);
  assert_int_equal(zklock_queue_list(c, "bad", NULL, NULL), ZKLOCK_EINVAL);
  zklock_node_info *v;
  int n;
  assert_int_equal(zklock_queue_list(c, "bad", &v, &n), ZKLOCK_EPATH);
  assert_int_equal(zklock_queue_list(NULL, "/ok", &v, &n), ZKLOCK_EINVAL);

  /* NULL handles */
  assert_int_equal(zklock_mutex_lock(NULL, -1), ZKLOCK_EINVAL);
  assert_int_equal(zklock_mutex_trylock(NULL), ZKLOCK_EINVAL);
  assert_int_equal(zklock_mutex_unlock(NULL), ZKLOCK_EINVAL);
  assert_int_equal(zklock_mutex_token(NULL), -1);
  assert_int_equal(zklock_mutex_state(NULL), ZKLOCK_LOCK_UNLOCKED);
  assert_null(zklock_mutex_node(NULL));
  assert_int_equal(zklock_mutex_fenced_multi(NULL, 0, NULL, NULL),
                   ZKLOCK_EINVAL);
  zklock_mutex_free(NULL);
  assert_int_equal(zklock_rwlock_rdlock(NULL, -1), ZKLOCK_EINVAL);
  assert_int_equal(zklock_rwlock_wrlock(NULL, -1), ZKLOCK_EINVAL);
  assert_int_equal(zklock_rwlock_tryrdlock(NULL), ZKLOCK_EINVAL);
  assert_int_equal(zklock_rwlock_trywrlock(NULL), ZKLOCK_EINVAL);
  assert_int_equal(zklock_rwlock_downgrade(NULL), ZKLOCK_EINVAL);
  assert_int_equal(zklock_rwlock_unlock(NULL), ZKLOCK_EINVAL);
  assert_int_equal(zklock_rwlock_token(NULL), -1);
  assert_int_equal(zklock_rwlock_state(NULL), ZKLOCK_LOCK_UNLOCKED);
  assert_int_equal(zklock_rwlock_mode(NULL), 0);
  assert_null(zklock_rwlock_node(NULL));
  assert_int_equal(zklock_rwlock_fenced_multi(NULL, 0, NULL, NULL),
                   ZKLOCK_EINVAL);
  zklock_rwlock_free(NULL);

  /* operations in the wrong state */
  char root[256];
  zkt_root(root, sizeof root, "badinput");
  assert_int_equal(zklock_mutex_new(c, root, &m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_ENOTHELD);
  assert_int_equal(zklock_mutex_fenced_multi(m, -1, NULL, NULL), ZKLOCK_EINVAL);
  assert_int_equal(zklock_mutex_fenced_multi(m, 1, NULL, NULL), ZKLOCK_EINVAL);
  assert_int_equal(zklock_mutex_fenced_multi(m, 0, NULL, NULL),
                   ZKLOCK_ENOTHELD);
  /* negative timeouts other than -1 also mean "forever"; 0 means try */
  assert_int_equal(zklock_mutex_lock(m, -12345), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_ENOTHELD); /* double */
  assert_int_equal(zklock_rwlock_new(c, root, &l), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_unlock(l), ZKLOCK_ENOTHELD);
  assert_int_equal(zklock_rwlock_downgrade(l), ZKLOCK_ENOTHELD);
  zklock_rwlock_free(l);
  zklock_mutex_free(m);
  zklock_client_close(c);
  zhandle_t *raw = zkt_raw();
  assert_true(zkt_children(raw, root) <= 0);
  zkt_rmr(raw, root);
  zookeeper_close(raw);
}

/* Handles outlive their client: every call says ECLOSED, frees are fine in
 * either order. */
static void test_use_after_close(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "afterclose");
  zklock_client *c = zkt_client(0);
  zklock_mutex *m;
  zklock_rwlock *l;
  assert_int_equal(zklock_mutex_new(c, root, &m), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_new(c, root, &l), ZKLOCK_OK);
  zklock_client_close(c);
  zklock_client_close(c); /* second close is a no-op while handles live */
  assert_int_equal(zklock_mutex_lock(m, -1), ZKLOCK_ECLOSED);
  assert_int_equal(zklock_mutex_trylock(m), ZKLOCK_ECLOSED);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_ENOTHELD);
  assert_int_equal(zklock_rwlock_rdlock(l, 100), ZKLOCK_ECLOSED);
  assert_int_equal(zklock_rwlock_wrlock(l, 100), ZKLOCK_ECLOSED);
  assert_null(zklock_client_zhandle(c));
  assert_int_equal(zklock_client_state(c), ZKLOCK_SESSION_CLOSED);
  zklock_node_info *v;
  int n;
  assert_int_equal(zklock_queue_list(c, root, &v, &n), ZKLOCK_ECLOSED);
  zklock_mutex_free(m);
  zklock_rwlock_free(l); /* the last handle frees the client */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_client_args),
      cmocka_unit_test(test_unreachable),
      cmocka_unit_test(test_lock_args),
      cmocka_unit_test(test_use_after_close),
  };
  return cmocka_run_group_tests_name("badinput", tests, NULL, NULL);
}
