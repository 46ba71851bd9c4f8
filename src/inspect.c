/* Read-only view of a lock queue, for `zklock status` and tests: a call
 * on the attempt core (src/call.c) in two steps.
 *
 *   LIST  (a sync, then) the path's children
 *   READ  every zklock node's data and stat, and the path's own data (a
 *         semaphore's permit count), all at once
 * Who holds is then the recipes' rule (recipes/rules.c). */
#include "call.h"
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { Q_LIST = ZKLOCK__S_FIRST, Q_READ };

/* One node's read. */
typedef struct {
  int rc;
  int reader; /* a downgraded writer's mark */
  struct Stat st;
} node_read;

typedef struct {
  zklock__call k; /* first: the casts are valid */
  char path[ZKLOCK_PATH_MAX + 1];
  int sync;
  zklock_node_info *v;       /* our nodes as listed, nv of them */
  zklock_node_info *foreign; /* other libraries' nodes, shown after ours */
  node_read *reads;          /* reads[nv]: the path's own data */
  int nv, nforeign, permits;
  zklock_node_info **out; /* the caller's */
  int *n;
} qlist;

static qlist *Q(zklock__call *k) { return (qlist *)k; }

static void q_destroy(zklock__call *k) {
  free(Q(k)->v);
  free(Q(k)->foreign);
  free(Q(k)->reads);
}

/* Sorts the listing into our nodes (to read) and foreign ones (shown,
 * named: acquiring next to them is refused with EFOREIGN, never silently
 * mixed). 0, or -1 out of memory. */
static int sort_listing(qlist *x, const struct String_vector *sv) {
  int cnt = sv ? sv->count : 0;
  q_destroy(&x->k); /* a restart on a replacement session lists again */
  x->nv = x->nforeign = 0;
  x->v = calloc((size_t)cnt + 1, sizeof *x->v);
  x->foreign = calloc((size_t)cnt + 1, sizeof *x->foreign);
  x->reads = calloc((size_t)cnt + 1, sizeof *x->reads);
  if (!x->v || !x->foreign || !x->reads)
    return -1;
  for (int i = 0; i < cnt; i++) {
    zklock__name nm;
    const char *name = sv->data[i];
    zklock_node_info *f = &x->v[x->nv];
    if (zklock__name_parse(name, &nm) == 0) {
      f->kind = nm.kind;
      f->seq = nm.seq;
      x->nv++;
    } else {
      zklock__cname cn;
      zklock__cname_parse(x->k.c->compat, name, &cn);
      f = &x->foreign[x->nforeign++];
      f->kind = cn.kind == 'r' ? 'r' : 'x';
      f->seq = (int32_t)cn.seq;
      f->token = -1;
      snprintf(f->library, sizeof f->library, "%s",
               zklock__cname_library(cn.profile));
    }
    snprintf(f->name, sizeof f->name, "%s", name);
  }
  return 0;
}

static int info_cmp(const void *a, const void *b) {
  /* seq here already holds the distance from the first node */
  int32_t x = ((const zklock_node_info *)a)->seq;
  int32_t y = ((const zklock_node_info *)b)->seq;
  return (x > y) - (x < y);
}

/* Who holds is the recipes' rule (recipes/rules.c). */
static int set_holders(zklock_node_info *v, int k, int permits) {
  zklock__qent *qv = malloc(sizeof *qv * (size_t)(k + 1));
  int *hold = malloc(sizeof *hold * (size_t)(k + 1));
  int rc = qv && hold ? ZKLOCK_OK : ZKLOCK_ENOMEM;
  for (int i = 0; rc == ZKLOCK_OK && i < k; i++) {
    zklock__name nm;
    zklock__name_parse(v[i].name, &nm);
    v[i].seq = nm.seq;
    qv[i] = (zklock__qent){
        .kind = v[i].kind, .marked = v[i].holder == 'r', .seq = nm.seq};
    if (v[i].kind == 's')
      v[i].permits = permits;
  }
  if (rc == ZKLOCK_OK) {
    zklock__rule_holders(qv, k, permits, hold);
    for (int i = 0; i < k; i++)
      v[i].holder = hold[i];
  }
  free(qv);
  free(hold);
  return rc;
}

/* Every read is in: the queue in order, handed to the caller. */
static int q_result(qlist *x) {
  int k = 0;
  int32_t ref = 0;
  for (int i = 0; i < x->nv; i++) {
    const node_read *r = &x->reads[i];
    if (r->rc == ZNONODE)
      continue; /* gone while we listed */
    zklock_node_info *ni = &x->v[k];
    if (k != i)
      *ni = x->v[i];
    if (k == 0)
      ref = ni->seq;
    ni->seq = zklock__seq_dist(ni->seq, ref); /* sort key, fixed below */
    ni->token = r->st.czxid;
    ni->ctime_ms = r->st.ctime;
    ni->owner_session = r->st.ephemeralOwner;
    /* the read mark on a writer's node: it downgraded */
    ni->holder = r->reader ? 'r' : 0;
    snprintf(ni->library, sizeof ni->library, "zklock");
    k++;
  }
  /* Sort by distance from one live node: wrap-safe while the queue spans
   * less than 2^31 sequence numbers. */
  qsort(x->v, (size_t)k, sizeof *x->v, info_cmp);
  int rc = set_holders(x->v, k, x->permits);
  if (rc)
    return rc;
  memcpy(x->v + k, x->foreign, sizeof *x->v * (size_t)x->nforeign);
  *x->out = x->v;
  *x->n = k + x->nforeign;
  x->v = NULL;
  return ZKLOCK_OK;
}

static void q_send(zklock__call *k, zklock__cbq *q) {
  qlist *x = Q(k);
  if (k->at.state == Q_LIST) {
    /* Our server may lag behind the one a holder used: sync first, so
     * the list shows every node created before the call. */
    if (x->sync)
      zklock__call_sync(k, x->path);
    zklock__call_children(k, x->path, 0, q);
    return;
  }
  char node[sizeof x->path + sizeof x->v->name];
  for (int i = 0; i < x->nv; i++) {
    snprintf(node, sizeof node, "%s/%s", x->path, x->v[i].name);
    if (zklock__call_get(k, node, i, q))
      return;
  }
  x->permits = 0;
  zklock__call_get(k, x->path, x->nv, q);
}

static void q_listed(qlist *x, const zklock__ans *ans, zklock__cbq *q) {
  if (ans->rc == ZNONODE) /* no such lock: an empty queue */
    zklock__att_finish(&x->k.at, ZKLOCK_OK, q);
  else if (ans->rc != ZOK)
    zklock__att_failed(&x->k.at, ans->rc, Q_LIST, q);
  else if (sort_listing(x, ans->kids))
    zklock__att_finish(&x->k.at, ZKLOCK_ENOMEM, q);
  else
    zklock__call_next(&x->k, Q_READ, q);
}

/* The path's own data: a semaphore's permit count; unreadable is none. */
static void q_permits(qlist *x, const zklock__ans *ans) {
  char buf[64];
  int len = ans->vlen < (int)sizeof buf - 1 ? ans->vlen : (int)sizeof buf - 1;
  if (ans->rc != ZOK || !ans->v || len <= 0)
    return;
  memcpy(buf, ans->v, (size_t)len);
  buf[len] = '\0';
  if (sscanf(buf, "permits=%d", &x->permits) != 1)
    x->permits = 0;
}

static void q_answer(zklock__call *k, const zklock__ans *ans, zklock__cbq *q) {
  qlist *x = Q(k);
  if (k->at.state == Q_LIST) {
    q_listed(x, ans, q);
    return;
  }
  node_read *r = &x->reads[ans->idx];
  r->rc = ans->rc;
  if (ans->rc != ZOK && ans->rc != ZNONODE &&
      (ans->idx < x->nv || zklock__call_transient(ans->rc))) {
    zklock__att_failed(&k->at, ans->rc, Q_READ, q);
    return;
  }
  if (ans->idx == x->nv) {
    q_permits(x, ans);
  } else if (ans->rc == ZOK) {
    zklock_node_info *ni = &x->v[ans->idx];
    if (ans->st)
      r->st = *ans->st;
    /* Looked up in the whole value: the copy below may be cut short. A
     * data version alone cannot tell, since a revocation request writes
     * too. */
    r->reader = zklock__mark_has(ans->v, ans->vlen, ZKLOCK__MARK_READ);
    size_t n = ans->v && ans->vlen > 0 ? (size_t)ans->vlen : 0;
    if (n > sizeof ni->owner - 1)
      n = sizeof ni->owner - 1;
    memcpy(ni->owner, n ? ans->v : "", n);
    ni->owner[n] = '\0';
  }
  if (k->at.pending == 0)
    zklock__att_finish(&k->at, q_result(x), q);
}

static const zklock__call_ops qlist_ops = {
    .send = q_send,
    .answer = q_answer,
    .destroy = q_destroy,
    .first = Q_LIST,
    .fresh = 1,
};

int zklock_queue_list(zklock_client *c, const char *path,
                      zklock_node_info **out, int *n) {
  return zklock__queue_list(c, path, 1, out, n);
}

int zklock__queue_list(zklock_client *c, const char *path, int sync,
                       zklock_node_info **out, int *n) {
  if (out)
    *out = NULL;
  if (n)
    *n = 0;
  if (!out || !n)
    return ZKLOCK_EINVAL;
  int rc = zklock_path_validate(path);
  if (rc)
    return rc;
  qlist *x = calloc(1, sizeof *x);
  if (!x)
    return ZKLOCK_ENOMEM;
  x->k.ops = &qlist_ops;
  snprintf(x->path, sizeof x->path, "%s", path);
  x->sync = sync;
  x->out = out;
  x->n = n;
  return zklock__call_wait(c, &x->k);
}
