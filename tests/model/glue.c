/* The model's decisions (tests/model/queue.pml): a listing of the model's
 * node table handed to the C rule functions of recipes/ and src/names.c,
 * linked into the spin verifier. Kept out of the .pml because pan's
 * generated code redefines `continue`. */
#include "zklock_int.h"

#include "compat.h"
#include "glue.h"

#include <stdio.h>

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

/* Node j's name in a profile, as that library names it: a fresh id per
 * node (a downgrade's read node gets one too), the counter as ten digits.
 * A read node whose sequence is not its slot is a profile downgrade's
 * read node at its writer's counter (zklock__cname_downgrade's shape). */
static int profile_name(const model_tab *t, int profile, int recipe, int j,
                        char *buf, size_t len) {
  char id[40];
  if (profile == ZKLOCK__P_CURATOR)
    snprintf(id, sizeof id, "%08x-0000-4000-8000-%012x", (unsigned)j + 1,
             (unsigned)t->nseq[j]);
  else
    snprintf(id, sizeof id, "%016x%016x", (unsigned)j + 1,
             (unsigned)t->nseq[j]);
  int n = zklock__cname_prefix(profile, recipe, "xr"[t->nkind[j] == 1], id, buf,
                               len);
  if (n < 0 || (size_t)n + 11 > len)
    return -1;
  snprintf(buf + n, len - (size_t)n, "%010u", (unsigned)t->nseq[j]);
  return 0;
}

/* Curator (profile 1) and kazoo (2): the listing as that library's names,
 * handed to src/compat.c zklock__must_outlast (the rule the engine asks);
 * the node it returns first is the one watched. */
void model_profile(const model_tab *t, int profile, int recipe, int path,
                   int mine, model_verdict *out, unsigned char *wn) {
  char names[MAXQ][96];
  const char *kids[MAXQ];
  int map[MAXQ], idx[MAXQ], n = 0, me = -1, k = 0;
  out->ok = 0;
  for (int j = 0; j < t->nn && n < MAXQ; j++) {
    if (!t->alive[j] || t->npath[j] != path)
      continue;
    if (profile_name(t, profile, recipe, j, names[n], sizeof names[n]))
      return;
    if (j == mine)
      me = n;
    kids[n] = names[n];
    map[n++] = j;
  }
  if (me < 0 ||
      zklock__must_outlast(profile, recipe, "xr"[t->nkind[mine] == 1],
                           names[me], kids, n, idx, &k, NULL) != ZKLOCK__C_OK)
    return;
  out->ok = 1;
  out->grant = k == 0;
  out->mode = ZKLOCK__W_CHAIN;
  out->total = (unsigned char)k;
  out->nwatch = k > 0;
  out->mark = 0;
  if (k > 0)
    wn[0] = (unsigned char)map[idx[0]];
}
