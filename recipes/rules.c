/* Which rule a node follows, by its kind: the table the engine, the
 * inspection (zklock_queue_list, revoke) and the model checker share. The
 * rules themselves live with their recipes. */
#include "zklock_int.h"

#include <stdlib.h>

void zklock__rule_outlast(const zklock__qent *q, int n, int me, int permits,
                          int *idx, zklock__verdict *v) {
  switch (q[me].kind) {
  case 's':
    zklock__rule_semaphore(q, n, me, permits, idx, v);
    return;
  case 'r':
    zklock__rule_reader(q, n, me, idx, v);
    return;
  default:
    zklock__rule_exclusive(q, n, me, idx, v);
    return;
  }
}

/* Who holds is what the same rules grant: each node asked as if it were
 * the contender, a writer that downgraded (marked) counted as the reader
 * it now is. O(n^2) for n nodes: a status listing, not the engine. */
int zklock__rule_holders(const zklock__qent *q, int n, int permits,
                         int *holder) {
  zklock__qent *view = malloc(sizeof *view * (size_t)(n + 1));
  int *idx = malloc(sizeof *idx * (size_t)(n + 1));
  for (int i = 0; i < n; i++)
    holder[i] = 0;
  if (!view || !idx) {
    free(view);
    free(idx);
    return -1;
  }
  for (int i = 0; i < n; i++) {
    view[i] = q[i];
    if (q[i].marked)
      view[i].kind = 'r';
  }
  for (int i = 0; i < n; i++) {
    zklock__verdict v = {0};
    zklock__rule_outlast(view, n, i, permits, idx, &v);
    holder[i] = v.grant;
  }
  free(view);
  free(idx);
  return 0;
}
