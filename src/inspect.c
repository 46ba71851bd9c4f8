/* Read-only view of a lock queue, for `zklock status` and tests. */
#include "compat.h"
#include "zklock_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One node's read, all sent at once and awaited together. */
typedef struct {
  zklock__op *op;
  zklock_node_info *ni;
  int rc;
  int reader; /* a downgraded writer's mark */
  struct Stat st;
} node_read;

static void owner_done(int rc, const char *v, int vlen, const struct Stat *st,
                       const void *data) {
  node_read *r = (node_read *)data;
  zklock_client *c = r->op->c;
  pthread_mutex_lock(&c->mu);
  r->rc = rc;
  if (rc == ZOK && st)
    r->st = *st;
  /* Looked up in the whole value: the copy below may be cut short. A data
   * version alone cannot tell, since a revocation request writes too. */
  r->reader = rc == ZOK && zklock__mark_has(v, vlen, ZKLOCK__MARK_READ);
  if (rc == ZOK && v && vlen > 0) {
    size_t n = (size_t)vlen < sizeof r->ni->owner - 1 ? (size_t)vlen
                                                      : sizeof r->ni->owner - 1;
    memcpy(r->ni->owner, v, n);
    r->ni->owner[n] = '\0';
  }
  r->op->pending--;
  pthread_cond_signal(&r->op->cond);
  pthread_mutex_unlock(&c->mu);
}

static int info_cmp(const void *a, const void *b) {
  /* seq here already holds the distance from the first node */
  int32_t x = ((const zklock_node_info *)a)->seq;
  int32_t y = ((const zklock_node_info *)b)->seq;
  return (x > y) - (x < y);
}

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
  zhandle_t *zh;
  rc = zklock__enter(c, &zh, 1);
  if (rc)
    return rc;
  zklock__op op;
  pthread_mutex_lock(&c->mu);
  zklock__op_init(&op, c);
  zklock_node_info *v = NULL, *foreign = NULL;
  node_read *reads = NULL;
  int k = 0;
  /* Our server may lag behind the one a holder used: sync first (the
   * session keeps the order), so the list shows every node created
   * before the call. */
  if (sync)
    zoo_async(zh, path, zklock__sync_done, NULL);
  op.pending++;
  int zrc = zoo_aget_children(zh, path, 0, zklock__children_done, &op);
  if (zrc != ZOK) {
    op.pending--;
    op.children_rc = zrc;
  }
  zklock__op_wait_pending(c, &op);
  if (op.children_rc == ZNONODE)
    goto done; /* no such lock: an empty queue */
  if (op.children_rc != ZOK) {
    rc = zklock__zk_err(op.children_rc);
    goto done;
  }
  v = calloc((size_t)op.children.count + 1, sizeof *v);
  if (!v) {
    rc = ZKLOCK_ENOMEM;
    goto done;
  }
  reads = calloc((size_t)op.children.count + 1, sizeof *reads);
  if (!reads) {
    rc = ZKLOCK_ENOMEM;
    goto done;
  }
  int sent = 0, nforeign = 0;
  int32_t ref = 0;
  /* Nodes of other libraries are shown, named, after ours: acquiring
   * next to them is refused (EFOREIGN), never silently mixed. */
  foreign = calloc((size_t)op.children.count + 1, sizeof *foreign);
  if (!foreign) {
    rc = ZKLOCK_ENOMEM;
    goto done;
  }
  for (int i = 0; i < op.children.count; i++) {
    zklock__name nm;
    const char *name = op.children.data[i];
    if (zklock__name_parse(name, &nm)) {
      zklock__cname cn;
      zklock__cname_parse(c->compat, name, &cn);
      zklock_node_info *f = &foreign[nforeign++];
      f->kind = cn.kind == 'r' ? 'r' : 'x';
      f->seq = (int32_t)cn.seq;
      f->token = -1;
      snprintf(f->name, sizeof f->name, "%s", name);
      snprintf(f->library, sizeof f->library, "%s",
               zklock__cname_library(cn.profile));
      continue;
    }
    node_read *r = &reads[sent];
    r->op = &op;
    r->ni = &v[sent];
    r->ni->kind = nm.kind;
    r->ni->seq = nm.seq;
    snprintf(r->ni->name, sizeof r->ni->name, "%s", name);
    char node[ZKLOCK__NODE_MAX];
    snprintf(node, sizeof node, "%s/%s", path, name);
    op.pending++;
    zrc = zoo_aget(zh, node, 0, owner_done, r);
    if (zrc != ZOK) {
      op.pending--;
      rc = zklock__zk_err(zrc);
      break;
    }
    sent++;
  }
  /* The path's own data: a semaphore's permit count. */
  zklock_node_info pathinfo;
  memset(&pathinfo, 0, sizeof pathinfo);
  node_read pathread = {.op = &op, .ni = &pathinfo, .rc = ZNONODE};
  if (rc == ZKLOCK_OK) {
    op.pending++;
    if (zoo_aget(zh, path, 0, owner_done, &pathread) != ZOK)
      op.pending--;
  }
  zklock__op_wait_pending(c, &op); /* every sent read, also on error */
  int permits = 0;
  if (pathread.rc == ZOK && sscanf(pathinfo.owner, "permits=%d", &permits) != 1)
    permits = 0;
  for (int i = 0; rc == ZKLOCK_OK && i < sent; i++) {
    node_read *r = &reads[i];
    if (r->rc == ZNONODE)
      continue; /* gone while we listed */
    if (r->rc != ZOK) {
      rc = zklock__zk_err(r->rc);
      break;
    }
    zklock_node_info *ni = &v[k];
    if (ni != r->ni)
      *ni = *r->ni;
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
  if (rc)
    goto done;
  /* Sort by distance from one live node: wrap-safe while the queue spans
   * less than 2^31 sequence numbers. */
  qsort(v, (size_t)k, sizeof *v, info_cmp);
  /* Who holds is the recipes' rule (recipes/rules.c). */
  zklock__qent *qv = malloc(sizeof *qv * (size_t)(k + 1));
  int *hold = malloc(sizeof *hold * (size_t)(k + 1));
  if (!qv || !hold) {
    free(qv);
    free(hold);
    rc = ZKLOCK_ENOMEM;
    goto done;
  }
  for (int i = 0; i < k; i++) {
    zklock__name nm;
    zklock__name_parse(v[i].name, &nm);
    v[i].seq = nm.seq;
    qv[i] = (zklock__qent){
        .kind = v[i].kind, .marked = v[i].holder == 'r', .seq = nm.seq};
    if (v[i].kind == 's')
      v[i].permits = permits;
  }
  zklock__rule_holders(qv, k, permits, hold);
  for (int i = 0; i < k; i++)
    v[i].holder = hold[i];
  free(qv);
  free(hold);
  memcpy(v + k, foreign, sizeof *v * (size_t)nforeign);
  *out = v;
  *n = k + nforeign;
  v = NULL;
done:
  free(foreign);
  free(reads);
  free(v);
  zklock__op_destroy(&op);
  pthread_mutex_unlock(&c->mu);
  zklock__leave(c);
  return rc;
}
