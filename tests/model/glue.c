/* The model's decisions (tests/model/queue.pml): a listing of the model's
 * node table handed to the C rule functions of recipes/ and src/names.c,
 * linked into the spin verifier. Kept out of the .pml because pan's
 * generated code redefines `continue`. */
#include "zklock_int.h"

#include "glue.h"

#define MAXQ 32

/* Native profile: evaluate() as src/queue.c does it (native_queue, then
 * zklock__rule_outlast and zklock__rule_semaphore_mark). */
void model_native(const model_tab *t, int path, int mine, int permits,
                  int waited, model_verdict *out, unsigned char *wn) {
  zklock__qent q[MAXQ];
  int idx[MAXQ], map[MAXQ], n = 0, me = -1;
  for (int j = 0; j < t->nn && n < MAXQ; j++) {
    if (!t->alive[j] || t->npath[j] != path)
      continue;
    q[n].kind = "xrs"[t->nkind[j]];
    q[n].marked = 0; /* evaluate() never sets it: who-holds only */
    q[n].seq = t->nseq[j];
    if (j == mine)
      me = n;
    map[n++] = j;
  }
  out->ok = me >= 0;
  if (me < 0)
    return;
  zklock__verdict v = {0};
  zklock__rule_outlast(q, n, me, permits, idx, &v);
  out->grant = (unsigned char)v.grant;
  out->mode = (unsigned char)v.mode;
  out->total = (unsigned char)v.total;
  out->nwatch = (unsigned char)v.nwatch;
  for (int i = 0; i < v.nwatch; i++)
    wn[i] = (unsigned char)map[idx[i]];
  out->mark = v.grant && q[me].kind == 's' &&
              zklock__rule_semaphore_mark(q, n, me, waited);
}

/* Curator (profile 1) and kazoo (2) lock and election rules, restated from
 * src/compat.c zklock__must_outlast: order by the sequence, a tie (a
 * downgrade's read node at its writer's counter) counts as ahead, readers
 * skip readers, one node is kept: the nearest, except that a Curator
 * reader watches the first (oldest) writer. */
void model_profile(const model_tab *t, int profile, int path, int mine,
                   model_verdict *out, unsigned char *wn) {
  int k = 0, best = -1, rd = t->nkind[mine] == 1;
  for (int j = 0; j < t->nn; j++) {
    if (!t->alive[j] || t->npath[j] != path || j == mine ||
        t->nseq[j] > t->nseq[mine] || (rd && t->nkind[j] == 1))
      continue;
    k++;
    if (best < 0 || (profile == 1 && rd ? t->nseq[j] < t->nseq[best]
                                        : t->nseq[j] >= t->nseq[best]))
      best = j;
  }
  out->ok = 1;
  out->grant = k == 0;
  out->mode = ZKLOCK__W_CHAIN;
  out->total = (unsigned char)k;
  out->nwatch = k > 0;
  out->mark = 0;
  if (k > 0)
    wn[0] = (unsigned char)best;
}
