/* Property test: random lock paths and node names, checked against the
 * independent reference in ref_names.h. Deterministic: the seed is fixed
 * unless ZKLOCK_PROP_SEED is set, and printed either way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ref_names.h"
#include "zklock_int.h"

#define ROUNDS 200000

static uint64_t seed = 20240601;

static uint64_t rnd(void) {
  uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static unsigned pick(unsigned n) { return (unsigned)(rnd() % n); }

/* Appends UTF-8 of cp (no validity checks: we want bad ones too). */
static size_t put_cp(unsigned char *o, uint32_t cp) {
  if (cp < 0x80) {
    o[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (unsigned char)(0xc0 | cp >> 6);
    o[1] = (unsigned char)(0x80 | (cp & 63));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (unsigned char)(0xe0 | cp >> 12);
    o[1] = (unsigned char)(0x80 | ((cp >> 6) & 63));
    o[2] = (unsigned char)(0x80 | (cp & 63));
    return 3;
  }
  o[0] = (unsigned char)(0xf0 | cp >> 18);
  o[1] = (unsigned char)(0x80 | ((cp >> 12) & 63));
  o[2] = (unsigned char)(0x80 | ((cp >> 6) & 63));
  o[3] = (unsigned char)(0x80 | (cp & 63));
  return 4;
}

/* Code points near every boundary the rules care about. */
static uint32_t edge_cp(void) {
  static const uint32_t edges[] = {
      0x01,   0x1f,   0x20,    0x2e,     0x2f,     0x7e,    0x7f,
      0x9f,   0xa0,   0x7ff,   0x800,    0xd7ff,   0xd800,  0xdfff,
      0xe000, 0xefff, 0xf000,  0xf8ff,   0xf900,   0xffef,  0xfff0,
      0xfffd, 0xffff, 0x10000, 0x10ffff, 0x110000, 0x1fffff};
  uint32_t e = edges[pick(sizeof edges / sizeof edges[0])];
  return pick(4) == 0 && e > 1 ? e - 1 : e;
}

static void random_path(char *buf, size_t cap) {
  static const char *pieces[] = {"/",    "/", "/",  "a",
                                 "lock", ".", "..", "zookeeper",
                                 "x",    "-", "é",  "\xe2\x82\xac"};
  unsigned char *o = (unsigned char *)buf;
  size_t len = 0, want = pick(8) == 0 ? 1000 + pick(40) : pick(24);
  while (len + 8 < cap && len < want) {
    unsigned r = pick(10);
    if (r < 5) {
      const char *p = pieces[pick(sizeof pieces / sizeof pieces[0])];
      size_t n = strlen(p);
      memcpy(o + len, p, n);
      len += n;
    } else if (r < 8) {
      len += put_cp(o + len, edge_cp());
    } else if (r < 9) {
      o[len++] = (unsigned char)(1 + pick(255)); /* any byte but NUL */
    } else {
      o[len++] = (unsigned char)('a' + pick(26));
    }
  }
  o[len] = '\0';
  if (pick(2))
    buf[0] = '/';
}

static void random_name(char *buf, size_t cap) {
  static const char hex[] = "0123456789abcdef";
  char guid[33];
  for (int i = 0; i < 32; i++)
    guid[i] = hex[pick(16)];
  guid[32] = '\0';
  long long seq = (long long)(int32_t)rnd();
  if (pick(3) == 0)
    seq = pick(2) ? INT32_MAX - (long long)pick(3) : INT32_MIN + pick(3);
  snprintf(buf, cap, "%c-%s-%0*lld", pick(2) ? 'x' : 'r', guid,
           pick(2) ? 10 : 1 + (int)pick(12), seq);
  /* then mutate a little */
  size_t len = strlen(buf);
  int muts = (int)pick(3);
  for (int m = 0; m < muts && len > 0; m++) {
    size_t at = pick((unsigned)len);
    switch (pick(4)) {
    case 0:
      buf[at] = (char)(1 + pick(127));
      break;
    case 1:
      memmove(buf + at, buf + at + 1, len - at);
      len--;
      break;
    case 2:
      if (len + 2 < cap) {
        memmove(buf + at + 1, buf + at, len - at + 1);
        buf[at] = "0-9aA"[pick(5)];
        len++;
      }
      break;
    default:
      buf[at] = hex[pick(16)];
    }
  }
}

static void test_paths(void **state) {
  (void)state;
  char buf[1200];
  long valid = 0;
  for (int i = 0; i < ROUNDS; i++) {
    random_path(buf, sizeof buf);
    int want = ref_path_valid(buf);
    int got = zklock_path_validate(buf) == ZKLOCK_OK;
    if (got != want) {
      fprintf(stderr, "path mismatch (library %d, reference %d): \"", got,
              want);
      for (const unsigned char *p = (const unsigned char *)buf; *p; p++)
        fprintf(stderr, *p >= 0x20 && *p < 0x7f ? "%c" : "\\x%02x", *p);
      fprintf(stderr, "\"\n");
    }
    assert_int_equal(got, want);
    valid += want;
  }
  printf("paths: %d checked, %ld valid\n", ROUNDS, valid);
  assert_true(valid > 1000); /* the generator must reach both outcomes */
  assert_true(valid < ROUNDS - 1000);
}

static void test_names(void **state) {
  (void)state;
  char buf[128];
  long valid = 0;
  for (int i = 0; i < ROUNDS; i++) {
    random_name(buf, sizeof buf);
    ref_name want;
    zklock__name got;
    int rw = ref_name_parse(buf, &want), rg = zklock__name_parse(buf, &got);
    if (rw != rg)
      fprintf(stderr, "name mismatch (library %d, reference %d): \"%s\"\n", rg,
              rw, buf);
    assert_int_equal(rg, rw);
    if (rw == 0) {
      valid++;
      assert_int_equal(got.kind, want.kind);
      assert_string_equal(got.guid, want.guid);
      assert_int_equal(got.seq, want.seq);
    }
  }
  printf("names: %d checked, %ld valid\n", ROUNDS, valid);
  assert_true(valid > 1000);
  assert_true(valid < ROUNDS - 1000);
}

/* Serial order is a strict order on any window of < 2^31 sequences. */
static void test_seq_order(void **state) {
  (void)state;
  for (int i = 0; i < ROUNDS; i++) {
    int32_t a = (int32_t)rnd();
    int32_t d = (int32_t)(rnd() % 0x7fffffffu); /* 0 .. 2^31-2 */
    int32_t b = (int32_t)((uint32_t)a + (uint32_t)d);
    assert_int_equal(zklock__seq_cmp(a, b), d ? -1 : 0);
    assert_int_equal(zklock__seq_cmp(b, a), d ? 1 : 0);
    assert_int_equal(zklock__seq_dist(a, b), -d);
  }
}

int main(void) {
  const char *s = getenv("ZKLOCK_PROP_SEED");
  if (s && *s)
    seed = strtoull(s, NULL, 0);
  printf("seed %llu (set ZKLOCK_PROP_SEED to replay)\n",
         (unsigned long long)seed);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_paths),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_seq_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
