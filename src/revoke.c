/* Cooperative revocation: mark the current exclusive holder's node (a
 * lock's writer, an election's leader, or every lease holder of a
 * semaphore) so its own-node watch (src/client.c) reports
 * ZKLOCK_LOCK_REVOKE_REQUESTED. The holder decides when to let go; nothing
 * here deletes anything. */
#include "call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A set may race a downgrade (or another revoker) on the same node: each
 * loss costs one more read and write, so a handful of rounds is plenty. */
#define REVOKE_ROUNDS 16

#define LEASES 2 /* find_holder: a semaphore, whose holders are several */

/* A call (src/call.c) in rounds:
 *   LIST  (a sync, then) the children: who holds (skipped for a fixed
 *         node, a semaphore's lease)
 *   GET   the holder's data and version
 *   SET   the data with the mark, conditional on that version; lost to
 *         another writer: the next round */
enum { R_LIST = ZKLOCK__S_FIRST, R_GET, R_SET };

typedef struct {
  zklock__call k; /* first: the casts are valid */
  char path[ZKLOCK_PATH_MAX + 1];
  char name[96]; /* the holder's node (as zklock_node_info names it) */
  int fixed;     /* name was given: no LIST */
  int rounds;
  char *data; /* SET's value */
  int len;
  int32_t version;
} revoker;

static revoker *R(zklock__call *k) { return (revoker *)k; }

static void r_destroy(zklock__call *k) { free(R(k)->data); }

/* The name of the node that holds path exclusively into name: ZKLOCK_OK,
 * ZKLOCK_ENOTHELD (no lock node, or readers hold it) or LEASES (a
 * semaphore: zklock_queue_list tells its holders). */
static int find_holder(const struct String_vector *sv, char *name, size_t len) {
  const char *best = NULL;
  zklock__name bn = {0};
  for (int i = 0; sv && i < sv->count; i++) {
    zklock__name nm;
    if (zklock__name_parse(sv->data[i], &nm))
      continue; /* not a zklock node */
    if (!best || zklock__seq_cmp(nm.seq, bn.seq) < 0) {
      best = sv->data[i];
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
  snprintf(name, len, "%s", best);
  return ZKLOCK_OK;
}

static void r_send(zklock__call *k, zklock__cbq *q) {
  revoker *r = R(k);
  char node[sizeof r->path + sizeof r->name];
  if (k->at.state == R_LIST && r->fixed)
    k->at.state = R_GET; /* a lease named by the listing: no LIST */
  snprintf(node, sizeof node, "%s/%s", r->path, r->name);
  if (k->at.state == R_LIST) {
    /* A server behind the leader may not have the holder's node yet:
     * sync first (the session keeps the order, so no extra round trip). */
    zklock__call_sync(k, r->path);
    zklock__call_children(k, r->path, 0, q);
  } else if (k->at.state == R_GET) {
    zklock__call_get(k, node, 0, q);
  } else {
    zklock__call_set(k, node, r->data, r->len, r->version, q);
  }
}

/* The holder's data with the mark appended, keeping every line (a
 * downgrade's "mode=r" mark among them: readers keep passing this
 * writer); 0, or -1 out of memory. */
static int marked(revoker *r, const char *v, int vlen) {
  size_t ml = strlen(ZKLOCK__MARK_REVOKE);
  int len = v && vlen > 0 ? vlen : 0;
  int nl = len > 0 && v[len - 1] != '\n';
  free(r->data);
  r->data = malloc((size_t)len + (size_t)nl + ml);
  if (!r->data)
    return -1;
  memcpy(r->data, len ? v : "", (size_t)len);
  if (nl)
    r->data[len] = '\n';
  memcpy(r->data + len + nl, ZKLOCK__MARK_REVOKE, ml);
  r->len = len + nl + (int)ml;
  return 0;
}

/* GET's answer. A holder whose node went meanwhile has let go: that is
 * what was asked, so ZKLOCK_OK without asking whoever holds next. */
static void r_got(revoker *r, const zklock__ans *ans, zklock__cbq *q) {
  if (ans->rc == ZNONODE ||
      (ans->rc == ZOK &&
       zklock__mark_has(ans->v, ans->vlen, ZKLOCK__MARK_REVOKE))) {
    zklock__att_finish(&r->k.at, ZKLOCK_OK, q); /* gone, or already asked */
  } else if (ans->rc != ZOK) {
    zklock__att_failed(&r->k.at, ans->rc, R_GET, q);
  } else if (marked(r, ans->v, ans->vlen)) {
    zklock__att_finish(&r->k.at, ZKLOCK_ENOMEM, q);
  } else {
    r->version = ans->st ? ans->st->version : -1;
    zklock__call_next(&r->k, R_SET, q);
  }
}

static void r_answer(zklock__call *k, const zklock__ans *ans, zklock__cbq *q) {
  revoker *r = R(k);
  int rc = ans->rc;
  if (k->at.state == R_GET) {
    r_got(r, ans, q);
  } else if (k->at.state == R_LIST) {
    if (rc == ZNONODE)
      zklock__att_finish(&k->at, ZKLOCK_ENOTHELD, q);
    else if (rc != ZOK)
      zklock__att_failed(&k->at, rc, R_LIST, q);
    else if ((rc = find_holder(ans->kids, r->name, sizeof r->name)) != 0)
      zklock__att_finish(&k->at, rc, q);
    else
      zklock__call_next(k, R_GET, q);
  } else if (rc == ZBADVERSION) {
    /* the data changed under us (a downgrade or another revoker); still
     * racing after every round: say so rather than claim success */
    if (++r->rounds >= REVOKE_ROUNDS)
      zklock__att_finish(&k->at, ZKLOCK_EBUSY, q);
    else
      zklock__call_next(k, r->fixed ? R_GET : R_LIST, q);
  } else if (rc == ZOK || rc == ZNONODE) {
    zklock__att_finish(&k->at, ZKLOCK_OK, q);
  } else {
    zklock__att_failed(&k->at, rc, R_SET, q);
  }
}

static const zklock__call_ops revoke_ops = {
    .send = r_send,
    .answer = r_answer,
    .destroy = r_destroy,
    .first = R_LIST,
    .fresh = 1,
};

/* Asks one holder (fixed) or the holder (NULL). */
static int revoke_one(zklock_client *c, const char *path, const char *fixed) {
  revoker *r = calloc(1, sizeof *r);
  if (!r)
    return ZKLOCK_ENOMEM;
  r->k.ops = &revoke_ops;
  r->fixed = fixed != NULL;
  snprintf(r->path, sizeof r->path, "%s", path);
  snprintf(r->name, sizeof r->name, "%s", fixed ? fixed : "");
  return zklock__call_wait(c, &r->k);
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
