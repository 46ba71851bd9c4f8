/* Integration tests: digest authentication and ACLs on lock nodes. */
#include "zkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define raw zkt_rawzh

/* Protected parents must not be shared with other tests: zklock gives
 * the ancestors it creates the same ACL. */
static void sec_root(char *buf, size_t len, const char *name) {
  static int n;
  snprintf(buf, len, "/zklock-sectest-%ld-%d/%s", (long)getpid(), n++, name);
}

static zklock_client *client_as(const char *auth,
                                const struct ACL_vector *acl) {
  zklock_client_opts o = {.auth = auth, .acl = acl};
  zklock_client *c = NULL;
  assert_int_equal(zklock_client_open(zkt_hosts(), &o, &c), ZKLOCK_OK);
  return c;
}

/* The ACL entries of path, as "scheme:id:perms" joined by spaces. */
static void acl_of(const char *path, char *out, size_t len) {
  struct ACL_vector acl = {0, NULL};
  struct Stat st;
  zkt_sync(raw, path);
  assert_int_equal(zoo_get_acl(raw, path, &acl, &st), ZOK);
  out[0] = '\0';
  for (int i = 0; i < acl.count; i++) {
    size_t n = strlen(out);
    snprintf(out + n, len - n, "%s%s:%s:%d", i ? " " : "",
             acl.data[i].id.scheme, acl.data[i].id.id, acl.data[i].perms);
  }
  deallocate_ACL_vector(&acl);
}

static void cleanup(const char *root) {
  /* the raw handle authenticates as the owner to remove protected nodes */
  zoo_add_auth(raw, "digest", "alice:secret", 12, NULL, NULL);
  zkt_sync(raw, root);
  zkt_rmr(raw, root);
  *strrchr(root, '/') = '\0';
  zoo_delete(raw, root, -1);
}

static void test_protected_nodes(void **state) {
  (void)state;
  char root[256];
  sec_root(root, sizeof root, "sec");
  zklock_client *alice = client_as("alice:secret", NULL);
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(alice, root, &m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m, -1), ZKLOCK_OK);
  char acl[512];
  /* creator full rights (31), world read (1) */
  acl_of(zklock_mutex_node(m), acl, sizeof acl);
  assert_non_null(strstr(acl, "digest:alice:"));
  assert_non_null(strstr(acl, ":31"));
  assert_non_null(strstr(acl, "world:anyone:1"));
  acl_of(root, acl, sizeof acl); /* the parent zklock created, too */
  assert_non_null(strstr(acl, "digest:alice:"));
  assert_non_null(strstr(acl, "world:anyone:1"));

  /* nobody else can queue: no credentials, or other credentials */
  zklock_client *anon = zkt_client(0);
  zklock_client *mallory = client_as("mallory:guess", NULL);
  zklock_client *others[] = {anon, mallory};
  for (int i = 0; i < 2; i++) {
    zklock_mutex *x;
    assert_int_equal(zklock_mutex_new(others[i], root, &x), ZKLOCK_OK);
    assert_int_equal(zklock_mutex_lock(x, 1000), ZKLOCK_EAUTH);
    assert_int_equal(zklock_last_zk_error(), ZNOAUTH);
    assert_int_equal(zklock_mutex_trylock(x), ZKLOCK_EAUTH);
    assert_string_equal(zklock_strerror(ZKLOCK_EAUTH),
                        "not authorized (ZooKeeper ACL or authentication)");
    zklock_mutex_free(x);
  }
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1); /* they left no node */

  /* ...nor delete or overwrite the holder's node */
  const char *node = zklock_mutex_node(m);
  assert_int_equal(zoo_delete(raw, node, -1), ZNOAUTH);
  assert_int_equal(zoo_set(raw, node, "x", 1, -1), ZNOAUTH);
  assert_int_equal(zklock_mutex_state(m), ZKLOCK_LOCK_HELD);

  /* but anyone may read the queue (zklock status) */
  zklock_node_info *v;
  int n;
  assert_int_equal(zklock_queue_list(anon, root, &v, &n), ZKLOCK_OK);
  assert_int_equal(n, 1);
  assert_true(v[0].holder);
  assert_non_null(strstr(v[0].owner, "pid="));
  assert_null(strstr(v[0].owner, "secret")); /* no secrets in node data */
  free(v);

  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  zklock_mutex_free(m);
  zklock_client_close(anon);
  zklock_client_close(mallory);

  /* a second session with the same credentials shares the rights */
  zklock_client *alice2 = client_as("alice:secret", NULL);
  zklock_mutex *m2;
  assert_int_equal(zklock_mutex_new(alice2, root, &m2), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m2, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_unlock(m2), ZKLOCK_OK);
  zklock_mutex_free(m2);
  zklock_client_close(alice2);
  zklock_client_close(alice);
  assert_int_equal(zkt_nodes_settle(raw, root, 0), 0);
  cleanup(root);
}

/* Credentials survive the replacement of an expired session. */
static void test_auth_after_expiry(void **state) {
  (void)state;
  char root[256];
  sec_root(root, sizeof root, "sec-expiry");
  zklock_client *alice = client_as("alice:secret", NULL);
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(alice, root, &m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m, -1), ZKLOCK_OK);
  zkt_expire(alice);
  for (int i = 0; i < 500 && zklock_mutex_state(m) != ZKLOCK_LOCK_LOST; i++)
    zkt_sleep_ms(10);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_ELOST);
  /* the new session must authenticate again to queue under root */
  assert_int_equal(zklock_mutex_lock(m, 5000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  zklock_mutex_free(m);
  zklock_client_close(alice);
  cleanup(root);
}

/* The application's own ACL is used as given. */
static void test_custom_acl(void **state) {
  (void)state;
  char root[256];
  sec_root(root, sizeof root, "sec-acl");
  struct ACL entries[2] = {
      {ZOO_PERM_ALL, ZOO_AUTH_IDS},
      {ZOO_PERM_READ | ZOO_PERM_CREATE, ZOO_ANYONE_ID_UNSAFE}};
  struct ACL_vector acl = {2, entries};
  zklock_client *alice = client_as("alice:secret", &acl);
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(alice, root, &m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m, -1), ZKLOCK_OK);
  char got[512];
  acl_of(zklock_mutex_node(m), got, sizeof got);
  assert_non_null(strstr(got, "world:anyone:5")); /* read|create */
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  zklock_mutex_free(m);
  zklock_client_close(alice);
  cleanup(root);
}

/* Without credentials nodes are open (world:anyone, all rights). */
static void test_open_by_default(void **state) {
  (void)state;
  char root[256];
  sec_root(root, sizeof root, "sec-open");
  zklock_client *c = zkt_client(0);
  zklock_mutex *m;
  assert_int_equal(zklock_mutex_new(c, root, &m), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m, -1), ZKLOCK_OK);
  char got[512];
  acl_of(zklock_mutex_node(m), got, sizeof got);
  assert_string_equal(got, "world:anyone:31");
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  zklock_mutex_free(m);
  zklock_client_close(c);
  zkt_rmr(raw, root);
  *strrchr(root, '/') = '\0';
  zoo_delete(raw, root, -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_protected_nodes),
      cmocka_unit_test(test_auth_after_expiry),
      cmocka_unit_test(test_custom_acl),
      cmocka_unit_test(test_open_by_default),
  };
  return cmocka_run_group_tests_name("security", tests, zkt_group_setup,
                                     zkt_group_teardown);
}
