/* Cooperative revocation: mark the current exclusive holder's node (a
 * lock's writer, an election's leader, or every lease holder of a
 * semaphore) so its own-node watch (src/client.c) reports
 * ZKLOCK_LOCK_REVOKE_REQUESTED. The holder decides when to let go; nothing
 * here deletes anything. */
#include "zklock_int.h"

#include <stdlib.h>
#include <string.h>

/* A set may race a downgrade (or another revoker) on the same node: each
 * loss costs one more read and write, so a handful of rounds is plenty. */
#define REVOKE_ROUNDS 16

typedef struct {
  zklock__op *op;
  int rc;
  char *data; /* malloc'd copy of the node's data */
  int len;
  int32_t version;
} node_get;

static void get_done(int rc, const char *v, int vlen, const struct Stat *st,
                     const void *data) {
  node_get *g = (node_get *)data;
  zklock_client *c = g->op->c;
  pthread_mutex_lock(&c->mu);
  g->rc = rc;
  if (rc == ZOK) {
    g->len = v && vlen > 0 ? vlen : 0;
    g->data = malloc((size_t)g->len + 1);
    if (!g->data)
      g->rc = ZSYSTEMERROR;
    else if (g->len)
      memcpy(g->data, v, (size_t)g->len);
    g->version = st ? st->version : -1;
  }
  g->op->pending--;
  pthread_cond_signal(&g->op->cond);
  pthread_mutex_unlock(&c->mu);
}

static void set_done(int rc, const struct Stat *st, const void *data) {
  (void)st;
  zklock__void_done(rc, data);
}

#define AGAIN 1
#define LEASES 2 /* find_holder: a semaphore, whose holders are several */

/* Mutex held. The name of the node that holds path exclusively into
 * name: ZKLOCK_OK, ZKLOCK_ENOTHELD (no lock node, or readers hold it) or
 * LEASES (a semaphore: zklock_queue_list tells its holders). */
static int find_holder(zklock_client *c, zhandle_t *zh, zklock__op *op,
                       const char *path, char name[ZKLOCK__NAME_MAX]) {
  /* A server behind the leader may not have the holder's node yet: sync
   * first (the session keeps the order, so no extra round trip). */
  zoo_async(zh, path, zklock__sync_done, NULL); /* answer not awaited */
  op->pending++;
  int zrc = zoo_aget_children(zh, path, 0, zklock__children_done, op);
  if (zrc != ZOK) {
    op->pending--;
    op->children_rc = zrc;
  }
  zklock__op_wait_pending(c, op);
  if (op->children_rc == ZNONODE)
    return ZKLOCK_ENOTHELD;
  if (op->children_rc != ZOK)
    return zklock__zk_err(op->children_rc);
  const char *best = NULL;
  zklock__name bn = {0};
  for (int i = 0; i < op->children.count; i++) {
    zklock__name nm;
    if (zklock__name_parse(op->children.data[i], &nm))
      continue; /* not a zklock node */
    if (!best || zklock__seq_cmp(nm.seq, bn.seq) < 0) {
      best = op->children.data[i];
      bn = nm;
    }
  }
  if (!best)
    return ZKLOCK_ENOTHELD;
  /* The first node holds. Readers share and are not asked: a lowest 'r'
   * means no writer holds the lock. */
  if (bn.kind == 'r')
    return ZKLOCK_ENOTHELD;
  if (bn.kind == 's')
    return LEASES;
  if (bn.kind != 'x')
    return ZKLOCK_EINVAL;
  snprintf(name, ZKLOCK__NAME_MAX, "%s", best);
  return ZKLOCK_OK;
}

/* Mutex held. One round: read the holder's data and write it back with
 * the mark, conditional on the version read. AGAIN: the data changed
 * under us (a downgrade or another revoker), read again. A holder whose
 * node went meanwhile has let go: that is what was asked, so ZKLOCK_OK
 * without asking whoever holds next. name NULL: the holder is looked up
 * (find_holder), else it is that node. */
static int revoke_round(zklock_client *c, zhandle_t *zh, zklock__op *op,
                        const char *path, const char *fixed) {
  char name[ZKLOCK__NAME_MAX];
  int rc = fixed ? ZKLOCK_OK : find_holder(c, zh, op, path, name);
  if (rc)
    return rc;
  if (fixed)
    snprintf(name, sizeof name, "%s", fixed);
  char node[ZKLOCK__NODE_MAX];
  snprintf(node, sizeof node, "%s/%s", path, name);
  node_get g = {.op = op};
  op->pending++;
  int zrc = zoo_aget(zh, node, 0, get_done, &g);
  if (zrc != ZOK) {
    op->pending--;
    g.rc = zrc;
  }
  zklock__op_wait_pending(c, op);
  if (g.rc == ZNONODE)
    return ZKLOCK_OK;
  if (g.rc != ZOK) {
    free(g.data);
    return zklock__zk_err(g.rc);
  }
  if (zklock__mark_has(g.data, g.len, ZKLOCK__MARK_REVOKE)) {
    free(g.data);
    return ZKLOCK_OK; /* already asked */
  }
  /* Append, keeping every line (a downgrade's "mode=r" mark among them:
   * readers keep passing this writer). */
  size_t ml = strlen(ZKLOCK__MARK_REVOKE);
  int nl = g.len > 0 && g.data[g.len - 1] != '\n';
  char *v = malloc((size_t)g.len + (size_t)nl + ml);
  if (!v) {
    free(g.data);
    return ZKLOCK_ENOMEM;
  }
  memcpy(v, g.data, (size_t)g.len);
  if (nl)
    v[g.len] = '\n';
  memcpy(v + g.len + nl, ZKLOCK__MARK_REVOKE, ml);
  int vlen = g.len + nl + (int)ml;
  free(g.data);
  op->pending++;
  zrc = zoo_aset(zh, node, v, vlen, g.version, set_done, op);
  if (zrc != ZOK) {
    op->pending--;
    op->void_rc = zrc;
  }
  zklock__op_wait_pending(c, op);
  free(v);
  if (op->void_rc == ZBADVERSION)
    return AGAIN;
  if (op->void_rc == ZOK || op->void_rc == ZNONODE)
    return ZKLOCK_OK;
  return zklock__zk_err(op->void_rc);
}

/* Asks one holder (fixed) or the holder (NULL), in rounds. */
static int revoke_one(zklock_client *c, const char *path, const char *fixed) {
  zhandle_t *zh;
  int rc = zklock__enter(c, &zh, 1);
  if (rc)
    return rc;
  pthread_mutex_lock(&c->mu);
  for (int i = 0; i < REVOKE_ROUNDS; i++) {
    zklock__op op;
    zklock__op_init(&op, c);
    rc = revoke_round(c, zh, &op, path, fixed);
    zklock__op_destroy(&op);
    if (rc != AGAIN)
      break;
  }
  pthread_mutex_unlock(&c->mu);
  zklock__leave(c);
  /* Still racing after every round: say so rather than claim success. */
  return rc == AGAIN ? ZKLOCK_EBUSY : rc;
}

/* A semaphore: every lease that holds now is asked (who holds is the
 * inspection's rule, recipes/rules.c, as for zklock status). */
static int revoke_leases(zklock_client *c, const char *path) {
  zklock_node_info *v = NULL;
  int n = 0, asked = 0;
  int rc = zklock_queue_list(c, path, &v, &n);
  for (int i = 0; rc == ZKLOCK_OK && i < n; i++) {
    if (!v[i].holder || v[i].kind != 's' || strcmp(v[i].library, "zklock"))
      continue;
    rc = revoke_one(c, path, v[i].name);
    asked++;
  }
  free(v);
  return rc == ZKLOCK_OK && asked == 0 ? ZKLOCK_ENOTHELD : rc;
}

int zklock_revoke(zklock_client *c, const char *path) {
  int rc = zklock_path_validate(path);
  if (rc)
    return rc;
  rc = revoke_one(c, path, NULL);
  return rc == LEASES ? revoke_leases(c, path) : rc;
}
