/* Unit tests: error strings, names, version. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "zklock_int.h"

static void test_strerror(void **state) {
  (void)state;
  static const int codes[] = {
#define XX(name, val, msg) ZKLOCK_##name,
      ZKLOCK_ERRNO_MAP(XX)
#undef XX
  };
  size_t n = sizeof codes / sizeof *codes;
  for (size_t i = 0; i < n; i++) {
    const char *s = zklock_strerror(codes[i]);
    assert_non_null(s);
    assert_string_not_equal(s, "unknown error");
    assert_true(strncmp(zklock_err_name(codes[i]), "ZKLOCK_", 7) == 0);
    for (size_t j = 0; j < i; j++) { /* distinct codes, distinct texts */
      assert_int_not_equal(codes[i], codes[j]);
      assert_string_not_equal(s, zklock_strerror(codes[j]));
    }
  }
  assert_string_equal(zklock_strerror(12345), "unknown error");
  assert_string_equal(zklock_strerror(-999), "unknown error");
  assert_string_equal(zklock_err_name(ZKLOCK_ETIMEDOUT), "ZKLOCK_ETIMEDOUT");
  assert_string_equal(zklock_err_name(77), "ZKLOCK_UNKNOWN");
}

static void test_zk_mapping(void **state) {
  (void)state;
  assert_int_equal(zklock__zk_err(ZOK), ZKLOCK_OK);
  assert_int_equal(zklock__zk_err(ZCONNECTIONLOSS), ZKLOCK_ECONNLOSS);
  assert_int_equal(zklock__zk_err(ZSESSIONEXPIRED), ZKLOCK_ELOST);
  assert_int_equal(zklock__zk_err(ZNOAUTH), ZKLOCK_EAUTH);
  assert_int_equal(zklock__zk_err(ZCLOSING), ZKLOCK_ECLOSED);
  assert_int_equal(zklock__zk_err(ZBADVERSION), ZKLOCK_EZK);
  assert_int_equal(zklock_last_zk_error(), ZBADVERSION);
}

static void test_version(void **state) {
  (void)state;
  assert_int_equal(zklock_version(), ZKLOCK_VERSION_HEX);
  assert_string_equal(zklock_version_string(), ZKLOCK_VERSION_STRING);
  char buf[32];
  snprintf(buf, sizeof buf, "%d.%d.%d", ZKLOCK_VERSION_MAJOR,
           ZKLOCK_VERSION_MINOR, ZKLOCK_VERSION_PATCH);
  assert_string_equal(buf, ZKLOCK_VERSION_STRING);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_strerror),
      cmocka_unit_test(test_zk_mapping),
      cmocka_unit_test(test_version),
  };
  return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
