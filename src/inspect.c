/* Read-only view of a lock queue, for `zklock status` and tests. */
#include "zklock_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void owner_done(int rc, const char *v, int vlen, const struct Stat *st,
                       const void *data) {
  zklock_node_info *ni = *(zklock_node_info **)((zklock__op *)data)->created;
  if (rc == ZOK && v && vlen > 0) {
    size_t n = (size_t)vlen < sizeof ni->owner - 1 ? (size_t)vlen
                                                   : sizeof ni->owner - 1;
    memcpy(ni->owner, v, n);
    ni->owner[n] = '\0';
  }
  zklock__get_done(rc, v, vlen, st, data);
}

static int info_cmp(const void *a, const void *b) {
  /* seq here already holds the distance from the first node */
  int32_t x = ((const zklock_node_info *)a)->seq;
  int32_t y = ((const zklock_node_info *)b)->seq;
  return (x > y) - (x < y);
}

int zklock_queue_list(zklock_client *c, const char *path,
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
  zklock_node_info *v = NULL;
  int k = 0;
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
  int32_t ref = 0;
  for (int i = 0; i < op.children.count; i++) {
    zklock__name nm;
    const char *name = op.children.data[i];
    if (zklock__name_parse(name, &nm))
      continue;
    zklock_node_info *ni = &v[k];
    char node[ZKLOCK__NODE_MAX];
    snprintf(node, sizeof node, "%s/%s", path, name);
    /* the completion finds its entry through op.created */
    memcpy(op.created, &ni, sizeof ni);
    op.pending++;
    zrc = zoo_aget(zh, node, 0, owner_done, &op);
    if (zrc != ZOK) {
      op.pending--;
      rc = zklock__zk_err(zrc);
      goto done;
    }
    zklock__op_wait_pending(c, &op);
    if (op.get_rc == ZNONODE)
      continue;
    if (op.get_rc != ZOK) {
      rc = zklock__zk_err(op.get_rc);
      goto done;
    }
    if (k == 0)
      ref = nm.seq;
    ni->kind = nm.kind;
    ni->seq = zklock__seq_dist(nm.seq, ref); /* sort key, fixed below */
    ni->token = op.get_stat.czxid;
    ni->ctime_ms = op.get_stat.ctime;
    ni->owner_session = op.get_stat.ephemeralOwner;
    /* a data version > 0 marks a downgraded writer */
    ni->holder = op.get_stat.version > 0 ? 'r' : 0;
    snprintf(ni->name, sizeof ni->name, "%s", name);
    k++;
  }
  /* Sort by distance from one live node: wrap-safe while the queue spans
   * less than 2^31 sequence numbers. */
  qsort(v, (size_t)k, sizeof *v, info_cmp);
  /* A writer holds when first; a reader (or downgraded writer) holds when
   * no writer is ahead of it. */
  int writer_seen = 0;
  for (int i = 0; i < k; i++) {
    zklock__name nm;
    zklock__name_parse(v[i].name, &nm);
    v[i].seq = nm.seq;
    int reader = v[i].kind == 'r' || v[i].holder == 'r';
    v[i].holder = reader ? !writer_seen : i == 0;
    writer_seen |= !reader;
  }
  *out = v;
  *n = k;
  v = NULL;
done:
  free(v);
  zklock__op_destroy(&op);
  pthread_mutex_unlock(&c->mu);
  zklock__leave(c);
  return rc;
}
