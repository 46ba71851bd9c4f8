/* Which rule a node follows, by its kind: the table the engine, the
 * inspection (zklock_queue_list, revoke) and the model checker share. The
 * rules themselves live with their recipes. */
#include "zklock_int.h"

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

/* Holding is what the same rules would grant: a writer first in line, a
 * reader (or a writer that downgraded) with no writer ahead, a lease with
 * fewer than `permits` ahead. */
void zklock__rule_holders(const zklock__qent *q, int n, int permits,
                          int *holder) {
  int writer_seen = 0, leases = 0;
  for (int i = 0; i < n; i++) {
    if (q[i].kind == 's') {
      holder[i] = leases++ < permits;
      continue;
    }
    int reader = q[i].kind == 'r' || q[i].marked;
    holder[i] = reader ? !writer_seen : i == 0;
    writer_seen |= !reader;
  }
}
