/* Unit tests: node names, wrap-safe ordering, path validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zklock_int.h"

static const char *G = "0123456789abcdef0123456789abcdef";

static void test_parse_ok(void **state) {
  (void)state;
  char name[128];
  zklock__name nm;
  snprintf(name, sizeof name, "x-%s-0000000042", G);
  assert_int_equal(zklock__name_parse(name, &nm), 0);
  assert_int_equal(nm.kind, 'x');
  assert_string_equal(nm.guid, G);
  assert_int_equal(nm.seq, 42);
  snprintf(name, sizeof name, "r-%s-2147483647", G);
  assert_int_equal(zklock__name_parse(name, &nm), 0);
  assert_int_equal(nm.kind, 'r');
  assert_int_equal(nm.seq, INT32_MAX);
  /* after the wrap ZooKeeper prints negative numbers */
  snprintf(name, sizeof name, "x-%s--2147483648", G);
  assert_int_equal(zklock__name_parse(name, &nm), 0);
  assert_int_equal(nm.seq, INT32_MIN);
}

/* pattern with "%s" standing for the guid */
static void with_guid(char *dst, size_t len, const char *pattern) {
  const char *at = strstr(pattern, "%s");
  if (!at) {
    snprintf(dst, len, "%s", pattern);
    return;
  }
  snprintf(dst, len, "%.*s%s%s", (int)(at - pattern), pattern, G, at + 2);
}

static void test_parse_bad(void **state) {
  (void)state;
  char name[128];
  const char *bad[] = {"",
                       "x",
                       "x-",
                       "lock-0000000001",
                       "w-%s-0000000001",
                       "x-%s-",
                       "x-%s-00000000001",
                       "x-%s-12a",
                       "x-%s-2147483648",
                       "x-%s--2147483649",
                       "x-%s_0000000001"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    with_guid(name, sizeof name, bad[i]);
    assert_int_equal(zklock__name_parse(name, NULL), -1);
  }
  assert_int_equal(zklock__name_parse(NULL, NULL), -1);
  /* a short or non-hex guid */
  assert_int_equal(zklock__name_parse("x-0123-0000000001", NULL), -1);
  assert_int_equal(
      zklock__name_parse("x-0123456789ABCDEF0123456789abcdef-0000000001", NULL),
      -1);
}

static void test_seq_order_and_wrap(void **state) {
  (void)state;
  assert_true(zklock__seq_cmp(1, 2) < 0);
  assert_true(zklock__seq_cmp(2, 1) > 0);
  assert_int_equal(zklock__seq_cmp(7, 7), 0);
  /* INT32_MAX is followed by INT32_MIN: still "before" */
  assert_true(zklock__seq_cmp(INT32_MAX, INT32_MIN) < 0);
  assert_true(zklock__seq_cmp(INT32_MAX - 5, INT32_MIN + 5) < 0);
  assert_true(zklock__seq_cmp(INT32_MIN + 5, INT32_MAX - 5) > 0);
  assert_int_equal(zklock__seq_dist(INT32_MIN, INT32_MAX), 1);
  assert_int_equal(zklock__seq_dist(INT32_MAX, INT32_MIN), -1);
  assert_int_equal(zklock__seq_dist(-1, 0), -1);
}

static void test_guid(void **state) {
  (void)state;
  char a[ZKLOCK__GUID_LEN + 1], b[ZKLOCK__GUID_LEN + 1];
  assert_int_equal(zklock__guid(a), 0);
  assert_int_equal(zklock__guid(b), 0);
  assert_int_equal(strlen(a), ZKLOCK__GUID_LEN);
  assert_string_not_equal(a, b);
  char name[128];
  snprintf(name, sizeof name, "r-%s-0000000001", a);
  assert_int_equal(zklock__name_parse(name, NULL), 0);
}

static void test_paths(void **state) {
  (void)state;
  const char *good[] = {
      "/a",          "/locks/db",    "/a/b/c-d_e.f", "/\xc3\xa9t\xc3\xa9",
      "/zookeeperx", "/x/zookeeper", "/a/...",       "/a/.b"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    assert_int_equal(zklock_path_validate(good[i]), ZKLOCK_OK);
  const char *bad[] = {
      "",       "/",      "a",     "a/b",       "/a/",           "//a",
      "/a//b",  "/a/./b", "/a/..", "/.",        "/zookeeper",    "/zookeeper/q",
      "/a\x01", "/\xff",  "/\xc3", "/\xc0\xaf", "/\xed\xa0\x80", "/a\x7f"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(zklock_path_validate(bad[i]), ZKLOCK_EPATH);
  assert_int_equal(zklock_path_validate(NULL), ZKLOCK_EPATH);
  char longp[ZKLOCK_PATH_MAX + 2];
  memset(longp, 'a', sizeof longp);
  longp[0] = '/';
  longp[ZKLOCK_PATH_MAX] = '\0'; /* exactly the limit */
  assert_int_equal(zklock_path_validate(longp), ZKLOCK_OK);
  longp[ZKLOCK_PATH_MAX] = 'a';
  longp[ZKLOCK_PATH_MAX + 1] = '\0';
  assert_int_equal(zklock_path_validate(longp), ZKLOCK_EPATH);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_ok),
      cmocka_unit_test(test_parse_bad),
      cmocka_unit_test(test_seq_order_and_wrap),
      cmocka_unit_test(test_guid),
      cmocka_unit_test(test_paths),
  };
  return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
