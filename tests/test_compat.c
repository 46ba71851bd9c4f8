/* Unit tests: naming profiles (src/compat.c), no ZooKeeper. The names are
 * copied from real runs of Debian's Curator 5.4.0 and kazoo 2.8.0 against
 * the test ensemble (tests/interop/run.sh, `check.py watch`/`tree`):
 *
 *   InterProcessMutex
 * /p/_c_743ae99d-9e8d-47b4-949a-4d26c9663267-lock-0000000000  data "127.0.0.1"
 *   ReadWriteLock writer
 * /p/_c_1036eb4c-64e2-41fa-b1ab-fcea069647ab-__WRIT__0000000000 ReadWriteLock
 * reader  /p/_c_37caaca6-b9c5-42d6-8970-e97d3c143bf4-__READ__0000000000
 *   LeaderLatch /p/_c_f8a7dc36-6761-4647-b836-52769d32eb05-latch-0000000000
 * data = id SemaphoreV2
 * /p/locks/_c_6f7874d5-9aaa-49c2-bf0e-08b18fc07e3b-lock-0000000000
 *                         /p/leases/_c_20a0f7f0-62db-4dcd-8f44-452cd4eba8de-lease-0000000000
 *   kazoo Lock, Election  /p/a7e1df128e6c4fe78d6193bf6956859b__lock__0000000000
 * data = identifier kazoo ReadLock
 * /p/af272763e53249749a0a66719ac7a8ec__rlock__0000000000 kazoo Semaphore
 * /p-__lock__/c0bea7ed7f6e44b3892a1eef82ccd63a__lock__0000000000
 *                         /p/094289cc92134291a38d46f33333df18  (not sequential)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compat.h"

/* Curator, real names (one run of 2 processes x 3 iterations each) */
static const char *CM0 =
    "_c_743ae99d-9e8d-47b4-949a-4d26c9663267-lock-0000000000";
static const char *CM1 =
    "_c_3a75dcbe-4396-46bb-9fd5-fcbd1e551321-lock-0000000001";
static const char *CM2 =
    "_c_25799dd3-f181-4735-a80e-971189a01426-lock-0000000002";
static const char *CM3 =
    "_c_8ddd006d-b4a8-491e-94b7-3ccdcd17dc06-lock-0000000003";
static const char *CW0 =
    "_c_1036eb4c-64e2-41fa-b1ab-fcea069647ab-__WRIT__0000000000";
static const char *CW3 =
    "_c_6d0a5ddf-d052-4328-b30f-5db35e30a96d-__WRIT__0000000003";
static const char *CR1 =
    "_c_bc98ed0d-fa04-4418-a3d7-0fb890d4da96-__READ__0000000001";
static const char *CR2 =
    "_c_263a0051-43a1-4c2f-bb93-09ada5f46663-__READ__0000000002";
static const char *CR4 =
    "_c_75b710eb-41f3-4c26-83f1-7c2d995e395a-__READ__0000000004";
static const char *CL0 =
    "_c_f8a7dc36-6761-4647-b836-52769d32eb05-latch-0000000000";
static const char *CL1 =
    "_c_6975553f-08fd-4cbd-b6ae-fec8492bc183-latch-0000000001";
static const char *CE0 =
    "_c_20a0f7f0-62db-4dcd-8f44-452cd4eba8de-lease-0000000000";
/* kazoo, real names */
static const char *KL0 = "a7e1df128e6c4fe78d6193bf6956859b__lock__0000000000";
static const char *KL1 = "4dec24997e1441949ae59d9ef2411dc6__lock__0000000001";
static const char *KL2 = "7f06d36183ad4e269b561f19064c07b7__lock__0000000002";
static const char *KR3 = "b4749dd11e484e1382a723ccfababca9__rlock__0000000003";
static const char *KR4 = "9d321450010d42b7a8251453881d0c35__rlock__0000000004";
static const char *KL5 = "3417e3ef2d2748b0b3c84e9bd990be9f__lock__0000000005";
static const char *KS = "094289cc92134291a38d46f33333df18";
/* zklock */
static const char *NX1 = "x-0123456789abcdef0123456789abcdef-0000000001";
static const char *NR2 = "r-1123456789abcdef0123456789abcdef-0000000002";
static const char *NX3 = "x-2123456789abcdef0123456789abcdef-0000000003";

static void test_parse_real_names(void **state) {
  (void)state;
  zklock__cname c;
  assert_int_equal(zklock__cname_parse(-1, CM2, &c), 0);
  assert_int_equal(c.profile, ZKLOCK__P_CURATOR);
  assert_int_equal(c.kind, 'x');
  assert_string_equal(c.id, "25799dd3-f181-4735-a80e-971189a01426");
  assert_int_equal(c.seq, 2);
  assert_true(c.seq_ok);
  assert_string_equal(CM2 + c.key_off, "0000000002");

  assert_int_equal(zklock__cname_parse(ZKLOCK__P_KAZOO, CW3, &c), 0);
  assert_int_equal(c.profile, ZKLOCK__P_CURATOR);
  assert_int_equal(c.kind, 'x');
  assert_int_equal(c.seq, 3);
  assert_int_equal(zklock__cname_parse(-1, CR4, &c), 0);
  assert_int_equal(c.kind, 'r');
  assert_int_equal(c.seq, 4);
  assert_int_equal(zklock__cname_parse(-1, CL1, &c), 0);
  assert_int_equal(c.kind, 'e');
  assert_int_equal(zklock__cname_parse(-1, CE0, &c), 0);
  assert_int_equal(c.kind, 'l');
  assert_int_equal(zklock__cname_parse(-1, "leases", &c), 0);
  assert_int_equal(c.profile, ZKLOCK__P_CURATOR);
  assert_int_equal(c.kind, 's');

  assert_int_equal(zklock__cname_parse(-1, KL2, &c), 0);
  assert_int_equal(c.profile, ZKLOCK__P_KAZOO);
  assert_int_equal(c.kind, 'x');
  assert_string_equal(c.id, "7f06d36183ad4e269b561f19064c07b7");
  assert_int_equal(c.seq, 2);
  assert_true(c.seq_ok);
  assert_int_equal(zklock__cname_parse(-1, KR3, &c), 0);
  assert_int_equal(c.kind, 'r');
  assert_int_equal(c.seq, 3);
  assert_int_equal(zklock__cname_parse(-1, KS, &c), 0);
  assert_int_equal(c.profile, ZKLOCK__P_KAZOO);
  assert_int_equal(c.kind, 'l');
  /* kazoo accepts any prefix before the word (lock.py :110) */
  assert_int_equal(zklock__cname_parse(-1, "my__lock__0000000007", &c), 0);
  assert_int_equal(c.profile, ZKLOCK__P_KAZOO);
  assert_string_equal(c.id, "");
  /* after the wrap: 11 chars, seen by kazoo; fewer digits: not seen */
  assert_int_equal(zklock__cname_parse(-1, "ab__lock__-2147483648", &c), 0);
  assert_int_equal(c.seq, INT32_MIN);
  assert_true(c.seq_ok);
  assert_int_equal(zklock__cname_parse(-1, "ab__lock__-000000005", &c), 0);
  assert_int_equal(c.profile, ZKLOCK__P_KAZOO);
  assert_false(c.seq_ok);

  assert_int_equal(zklock__cname_parse(-1, NR2, &c), 0);
  assert_int_equal(c.profile, ZKLOCK__P_NATIVE);
  assert_int_equal(c.kind, 'r');
  assert_int_equal(c.seq, 2);
  /* ZooKeeper's own recipes: x-<session id>-<seq> */
  assert_int_equal(
      zklock__cname_parse(-1, "x-72057594037927936-0000000004", &c), 0);
  assert_int_equal(c.profile, ZKLOCK__P_ZKRECIPES);
  assert_string_equal(zklock__cname_library(c.profile), "ZooKeeper recipes");

  assert_int_equal(zklock__cname_parse(-1, "foo", &c), -1);
  assert_int_equal(c.profile, -1);
  assert_string_equal(zklock__cname_library(c.profile), "unknown");
  /* Curator protection, unknown word: Curator, kind unknown */
  assert_int_equal(zklock__cname_parse(
                       -1, "_c_743ae99d-9e8d-47b4-949a-4d26c9663267-q-1", &c),
                   0);
  assert_int_equal(c.profile, ZKLOCK__P_CURATOR);
  assert_int_equal(c.kind, 0);
}

static void test_ids_and_prefixes(void **state) {
  (void)state;
  char id[64], buf[128], name[160];
  zklock__cname c;
  assert_int_equal(zklock__profile_id(ZKLOCK__P_CURATOR, id, sizeof id), 36);
  assert_int_equal(id[8], '-');
  assert_int_equal(id[14], '4'); /* UUID v4, like UUID.randomUUID() */
  assert_int_equal(zklock__cname_prefix(ZKLOCK__P_CURATOR, ZKLOCK__R_MUTEX, 'x',
                                        id, buf, sizeof buf),
                   3 + 36 + 1 + 5);
  snprintf(name, sizeof name, "%s0000000042", buf);
  assert_int_equal(zklock__cname_parse(-1, name, &c), 0);
  assert_int_equal(c.profile, ZKLOCK__P_CURATOR);
  assert_string_equal(c.id, id);
  assert_int_equal(c.seq, 42);
  assert_true(zklock__cname_prefix(ZKLOCK__P_CURATOR, ZKLOCK__R_RWLOCK, 'r', id,
                                   buf, sizeof buf) > 0);
  assert_non_null(strstr(buf, "-__READ__"));
  assert_true(zklock__cname_prefix(ZKLOCK__P_CURATOR, ZKLOCK__R_ELECTION, 'e',
                                   id, buf, sizeof buf) > 0);
  assert_non_null(strstr(buf, "-latch-"));
  assert_true(zklock__cname_prefix(ZKLOCK__P_CURATOR, ZKLOCK__R_SEMLOCK, 'l',
                                   id, buf, sizeof buf) > 0);
  assert_non_null(strstr(buf, "-lease-"));
  /* a Curator mutex has no read side */
  assert_int_equal(zklock__cname_prefix(ZKLOCK__P_CURATOR, ZKLOCK__R_MUTEX, 'r',
                                        id, buf, sizeof buf),
                   -1);

  assert_int_equal(zklock__profile_id(ZKLOCK__P_KAZOO, id, sizeof id), 32);
  assert_int_equal(zklock__cname_prefix(ZKLOCK__P_KAZOO, ZKLOCK__R_RWLOCK, 'r',
                                        id, buf, sizeof buf),
                   32 + 9);
  snprintf(name, sizeof name, "%s0000000007", buf);
  assert_int_equal(zklock__cname_parse(ZKLOCK__P_KAZOO, name, &c), 0);
  assert_int_equal(c.kind, 'r');
  assert_string_equal(c.id, id);
  assert_int_equal(zklock__cname_prefix(ZKLOCK__P_KAZOO, ZKLOCK__R_SEMLOCK, 'l',
                                        id, buf, sizeof buf),
                   32);
  assert_false(zklock__cname_sequential(ZKLOCK__P_KAZOO, 'l'));
  assert_true(zklock__cname_sequential(ZKLOCK__P_CURATOR, 'l'));

  assert_int_equal(zklock__profile_id(ZKLOCK__P_NATIVE, id, sizeof id), 32);
  assert_int_equal(zklock__cname_prefix(ZKLOCK__P_NATIVE, ZKLOCK__R_MUTEX, 'x',
                                        id, buf, sizeof buf),
                   35);
  assert_int_equal(zklock__profile_id(ZKLOCK__P_CURATOR, id, 10), -1);
  assert_int_equal(zklock__cname_prefix(ZKLOCK__P_CURATOR, ZKLOCK__R_MUTEX, 'x',
                                        "not-a-uuid", buf, sizeof buf),
                   -1);
}

/* out_idx as names, for readable asserts */
static int outlast(int profile, int recipe, char kind, const char *me,
                   const char *const *ch, int n, const char **names, int *count,
                   int *foreign) {
  int idx[32];
  int rc = zklock__must_outlast(profile, recipe, kind, me, ch, n, idx, count,
                                foreign);
  for (int i = 0; rc == 0 && i < *count; i++)
    names[i] = ch[idx[i]];
  return rc;
}

/* Asserts that `me` must outlast `count` nodes; the names after count,
 * up to a NULL, are the first of them in watch order. */
static void expect_wait(int profile, int recipe, char kind, const char *me,
                        const char *const *ch, int n, int count, ...) {
  const char *w[32];
  int got, f;
  assert_int_equal(outlast(profile, recipe, kind, me, ch, n, w, &got, &f), 0);
  assert_int_equal(got, count);
  va_list ap;
  va_start(ap, count);
  for (int i = 0;; i++) {
    const char *want = va_arg(ap, const char *);
    if (!want)
      break;
    assert_true(i < got);
    assert_string_equal(w[i], want);
  }
  va_end(ap);
}

static void test_curator_mutex(void **state) {
  (void)state;
  /* the server lists children in no particular order */
  const char *ch[] = {CM2, CM0, CM3, CM1};
  const char *w[4];
  int n, f;
  expect_wait(ZKLOCK__P_CURATOR, ZKLOCK__R_MUTEX, 'x', CM0, ch, 4, 0,
              NULL); /* index 0 holds */
  expect_wait(ZKLOCK__P_CURATOR, ZKLOCK__R_MUTEX, 'x', CM3, ch, 4, 3, CM2, CM1,
              CM0, NULL); /* index-1 is watched first */
  /* LeaderLatch: the same with "latch-" */
  const char *lch[] = {CL1, CL0};
  expect_wait(ZKLOCK__P_CURATOR, ZKLOCK__R_ELECTION, 'x', CL1, lch, 2, 1, CL0,
              NULL);
  /* not ours */
  assert_int_equal(
      outlast(ZKLOCK__P_CURATOR, ZKLOCK__R_MUTEX, 'x', CM3, ch, 2, w, &n, &f),
      ZKLOCK__C_ENOTME);
}

static void test_curator_rwlock(void **state) {
  (void)state;
  /* W0 R1 R2 W3 R4 */
  const char *ch[] = {CR4, CW3, CR1, CW0, CR2};
  const char *w[8];
  int n, f;
  /* W0 holds; W3 outlasts everything before it, readers included */
  expect_wait(ZKLOCK__P_CURATOR, ZKLOCK__R_RWLOCK, 'x', CW0, ch, 5, 0, NULL);
  expect_wait(ZKLOCK__P_CURATOR, ZKLOCK__R_RWLOCK, 'x', CW3, ch, 5, 3, CR2, CR1,
              CW0, NULL);
  /* R4 waits for writers only, the FIRST one watched (ReadLock :168) */
  expect_wait(ZKLOCK__P_CURATOR, ZKLOCK__R_RWLOCK, 'r', CR4, ch, 5, 2, CW0, CW3,
              NULL);
  /* R1 waits for W0 only */
  expect_wait(ZKLOCK__P_CURATOR, ZKLOCK__R_RWLOCK, 'r', CR1, ch, 5, 1, CW0,
              NULL);
  /* kind must match the node */
  assert_int_equal(
      outlast(ZKLOCK__P_CURATOR, ZKLOCK__R_RWLOCK, 'x', CR1, ch, 5, w, &n, &f),
      ZKLOCK__C_EINVAL);
}

static void test_curator_downgrade(void **state) {
  (void)state;
  char rd[128];
  const char *nid = "11111111-2222-4333-8444-555555555555";
  assert_true(
      zklock__cname_downgrade(ZKLOCK__P_CURATOR, nid, CW0, rd, sizeof rd) > 0);
  assert_string_equal(
      rd, "_c_11111111-2222-4333-8444-555555555555-__READ__0000000000");
  /* mid-downgrade (both nodes) and after (read node only), a writer that
   * queued at 3 still waits: the read node sorts at 0 (CURATOR-621) */
  const char *both[] = {CW3, rd, CW0};
  expect_wait(ZKLOCK__P_CURATOR, ZKLOCK__R_RWLOCK, 'x', CW3, both, 3, 2, NULL);
  const char *after[] = {CW3, rd};
  expect_wait(ZKLOCK__P_CURATOR, ZKLOCK__R_RWLOCK, 'x', CW3, after, 2, 1, rd,
              NULL);
  /* a reader at 4 passes it */
  const char *rr[] = {CR4, rd};
  expect_wait(ZKLOCK__P_CURATOR, ZKLOCK__R_RWLOCK, 'r', CR4, rr, 2, 0, NULL);
  /* only writers, only in profiles */
  assert_int_equal(
      zklock__cname_downgrade(ZKLOCK__P_CURATOR, nid, CR1, rd, sizeof rd), -1);
  assert_int_equal(
      zklock__cname_downgrade(ZKLOCK__P_NATIVE, nid, NX1, rd, sizeof rd), -1);
  assert_true(zklock__cname_downgrade(ZKLOCK__P_KAZOO,
                                      "0123456789abcdef0123456789abcdef", KL2,
                                      rd, sizeof rd) > 0);
  assert_string_equal(rd,
                      "0123456789abcdef0123456789abcdef__rlock__0000000002");
}

static void test_kazoo_rules(void **state) {
  (void)state;
  const char *w[8];
  int n, f;
  const char *ch[] = {KL2, KL0, KL1};
  expect_wait(ZKLOCK__P_KAZOO, ZKLOCK__R_MUTEX, 'x', KL0, ch, 3, 0, NULL);
  expect_wait(ZKLOCK__P_KAZOO, ZKLOCK__R_MUTEX, 'x', KL2, ch, 3, 2, KL1,
              NULL); /* the predecessor */
  /* rwlock: L0 L1 L2 R3 R4 L5 */
  const char *rw[] = {KR4, KL5, KL0, KR3, KL2, KL1};
  expect_wait(ZKLOCK__P_KAZOO, ZKLOCK__R_RWLOCK, 'x', KL5, rw, 6, 5, KR4, KR3,
              NULL);
  /* a reader waits for earlier writers only, not L5 after it (kazoo 2.8
   * would wait for L5: kazoo #649) */
  expect_wait(ZKLOCK__P_KAZOO, ZKLOCK__R_RWLOCK, 'r', KR4, rw, 6, 3, KL2, NULL);
  /* string order after the wrap: "-2147483648" sorts before "0000000000" */
  const char *wr[] = {"00000000000000000000000000000001__lock__-2147483648",
                      "00000000000000000000000000000002__lock__0000000000"};
  expect_wait(ZKLOCK__P_KAZOO, ZKLOCK__R_MUTEX, 'x', wr[0], wr, 2, 0, NULL);
  expect_wait(ZKLOCK__P_KAZOO, ZKLOCK__R_MUTEX, 'x', wr[1], wr, 2, 1, NULL);
  /* a counter kazoo's regex cannot see: unsafe */
  const char *bad[] = {"00000000000000000000000000000001__lock__-000000005",
                       KL1};
  assert_int_equal(
      outlast(ZKLOCK__P_KAZOO, ZKLOCK__R_MUTEX, 'x', KL1, bad, 2, w, &n, &f),
      ZKLOCK__C_EUNSAFE);
}

static void test_native_rules(void **state) {
  (void)state;
  const char *ch[] = {NX3, NR2, NX1};
  expect_wait(ZKLOCK__P_NATIVE, ZKLOCK__R_RWLOCK, 'x', NX3, ch, 3, 2, NR2,
              NULL);
  expect_wait(ZKLOCK__P_NATIVE, ZKLOCK__R_RWLOCK, 'r', NR2, ch, 3, 1, NX1,
              NULL);
  /* wrap-safe: 2147483647 comes before -2147483648 */
  const char *wr[] = {"x-0123456789abcdef0123456789abcdef--2147483648",
                      "x-1123456789abcdef0123456789abcdef-2147483647"};
  expect_wait(ZKLOCK__P_NATIVE, ZKLOCK__R_MUTEX, 'x', wr[0], wr, 2, 1, wr[1],
              NULL);
  /* a duplicate of our own node (same guid) is not waited for */
  const char *dup[] = {"x-2123456789abcdef0123456789abcdef-0000000000", NX3};
  expect_wait(ZKLOCK__P_NATIVE, ZKLOCK__R_MUTEX, 'x', NX3, dup, 2, 0, NULL);
}

static void test_foreign(void **state) {
  (void)state;
  const char *w[8];
  int n, f;
  /* native next to a kazoo holder / a Curator holder / junk */
  const char *k[] = {NX3, KL0};
  assert_int_equal(
      outlast(ZKLOCK__P_NATIVE, ZKLOCK__R_MUTEX, 'x', NX3, k, 2, w, &n, &f),
      ZKLOCK__C_EFOREIGN);
  assert_int_equal(f, 1);
  const char *c[] = {CM0, NX3};
  assert_int_equal(
      outlast(ZKLOCK__P_NATIVE, ZKLOCK__R_MUTEX, 'x', NX3, c, 2, w, &n, &f),
      ZKLOCK__C_EFOREIGN);
  assert_int_equal(f, 0);
  const char *j[] = {NX3, "config"};
  assert_int_equal(
      outlast(ZKLOCK__P_NATIVE, ZKLOCK__R_MUTEX, 'x', NX3, j, 2, w, &n, &f),
      ZKLOCK__C_EFOREIGN);
  /* each profile refuses the others */
  const char *ck[] = {CM1, KL0};
  assert_int_equal(
      outlast(ZKLOCK__P_CURATOR, ZKLOCK__R_MUTEX, 'x', CM1, ck, 2, w, &n, &f),
      ZKLOCK__C_EFOREIGN);
  assert_int_equal(f, 1);
  const char *kc[] = {KL1, NX1};
  assert_int_equal(
      outlast(ZKLOCK__P_KAZOO, ZKLOCK__R_MUTEX, 'x', KL1, kc, 2, w, &n, &f),
      ZKLOCK__C_EFOREIGN);
  /* a kazoo reader is no stranger to a zklock mutex in the kazoo profile:
   * it waits for it as a kazoo WriteLock would */
  const char *kr[] = {KR3, KL5};
  expect_wait(ZKLOCK__P_KAZOO, ZKLOCK__R_MUTEX, 'x', KL5, kr, 2, 1, KR3, NULL);
  /* other recipes of the same library: a Curator mutex cannot order
   * "__WRIT__" */
  const char *cw[] = {CM1, CW0};
  assert_int_equal(
      outlast(ZKLOCK__P_CURATOR, ZKLOCK__R_MUTEX, 'x', CM1, cw, 2, w, &n, &f),
      ZKLOCK__C_EFOREIGN);
  /* a Curator semaphore's parent nodes are foreign to a mutex there */
  const char *sp[] = {"locks", "leases"};
  assert_int_equal(
      zklock__first_foreign(ZKLOCK__P_NATIVE, ZKLOCK__R_MUTEX, sp, 2), 0);
  const char *ok[] = {NX1, NR2, NX3};
  assert_int_equal(
      zklock__first_foreign(ZKLOCK__P_NATIVE, ZKLOCK__R_RWLOCK, ok, 3), -1);
  assert_int_equal(
      zklock__first_foreign(ZKLOCK__P_KAZOO, ZKLOCK__R_RWLOCK, ok, 3), 0);
}

static void test_semaphores(void **state) {
  (void)state;
  char lp[64], pp[64];
  assert_int_equal(
      zklock__sem_paths(ZKLOCK__P_CURATOR, "/s", lp, sizeof lp, pp, sizeof pp),
      0);
  assert_string_equal(lp, "/s/locks");
  assert_string_equal(pp, "/s/leases");
  assert_int_equal(
      zklock__sem_paths(ZKLOCK__P_KAZOO, "/s", lp, sizeof lp, pp, sizeof pp),
      0);
  assert_string_equal(lp, "/s-__lock__");
  assert_string_equal(pp, "/s");
  assert_int_equal(
      zklock__sem_paths(ZKLOCK__P_NATIVE, "/s", lp, sizeof lp, pp, sizeof pp),
      -1);
  const char *pool[] = {CE0, "_c_3ef55881-1e88-4762-bb03-5c7d54a3a731-lease-"
                             "0000000004"};
  assert_int_equal(zklock__sem_rule(ZKLOCK__P_CURATOR, NULL, pool, 2, 1), 1);
  assert_int_equal(zklock__sem_rule(ZKLOCK__P_CURATOR, pool[1], pool, 2, 2), 2);
  assert_int_equal(zklock__sem_rule(ZKLOCK__P_CURATOR, pool[1], pool, 2, 1), 0);
  assert_int_equal(zklock__sem_rule(ZKLOCK__P_CURATOR, "gone", pool, 2, 2),
                   ZKLOCK__C_ENOTME);
  const char *kp[] = {KS};
  assert_int_equal(zklock__sem_rule(ZKLOCK__P_KAZOO, NULL, kp, 1, 2), 1);
  assert_int_equal(zklock__sem_rule(ZKLOCK__P_KAZOO, NULL, kp, 1, 1), 0);
  assert_int_equal(zklock__sem_rule(ZKLOCK__P_KAZOO, KS, kp, 1, 1), 2);
  int v = 0;
  assert_int_equal(zklock__kazoo_max_leases("2", 1, &v), 1);
  assert_int_equal(v, 2);
  assert_int_equal(zklock__kazoo_max_leases(" 12\n", 4, &v), 1);
  assert_int_equal(v, 12);
  assert_int_equal(zklock__kazoo_max_leases("", 0, &v), 0);
  assert_int_equal(zklock__kazoo_max_leases("x", 1, &v), 0);
  assert_true(zklock__curator_is_revoke("__REVOKE__", 10));
  assert_false(zklock__curator_is_revoke("127.0.0.1", 9));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_real_names),
      cmocka_unit_test(test_ids_and_prefixes),
      cmocka_unit_test(test_curator_mutex),
      cmocka_unit_test(test_curator_rwlock),
      cmocka_unit_test(test_curator_downgrade),
      cmocka_unit_test(test_kazoo_rules),
      cmocka_unit_test(test_native_rules),
      cmocka_unit_test(test_foreign),
      cmocka_unit_test(test_semaphores),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
