/* libFuzzer target: zklock_path_validate and zklock__name_parse must not
 * crash, and must agree with the reference in ref_names.h (differential).
 * Built and run by tests/fuzz/test_fuzz.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_names.h"
#include "zklock_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char buf[2048];
  if (size >= sizeof buf)
    size = sizeof buf - 1;
  memcpy(buf, data, size);
  buf[size] = '\0'; /* the APIs take C strings: stop at the first NUL */

  int got = zklock_path_validate(buf);
  if (got != ZKLOCK_OK && got != ZKLOCK_EPATH)
    abort();
  int want = ref_path_valid(buf);
  if ((got == ZKLOCK_OK) != want) {
    fprintf(stderr, "path: library %d, reference %d\n", got, want);
    abort();
  }

  zklock__name nm;
  ref_name rn;
  int a = zklock__name_parse(buf, &nm), b = ref_name_parse(buf, &rn);
  if (a != b) {
    fprintf(stderr, "name: library %d, reference %d\n", a, b);
    abort();
  }
  if (a == 0 &&
      (nm.kind != rn.kind || strcmp(nm.guid, rn.guid) != 0 || nm.seq != rn.seq))
    abort();
  /* NULL out is allowed */
  if (zklock__name_parse(buf, NULL) != a)
    abort();
  return 0;
}
