/* zklock_queue_walk: every lock path under a root, each with its queue as
 * zklock_queue_list gives it (the holder/waiter rule lives there alone).
 * For `zklock status -r`, `zklock metrics` and the deadlock finder
 * (src/deadlock.c). Read-only; owns no state beyond one call. */
#include "compat.h"
#include "zklock_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Requests in flight per round: bounds memory and the server's queue for
 * a huge tree, while a round trip still covers many directories. */
#define WALK_BATCH 256
/* Queues listed at once. zklock_queue_list takes three round trips (sync,
 * children, data); one at a time a tree of 1000 paths took 3.3 s on a
 * loaded 2-core machine. Threads keep the one listing rule and overlap
 * the round trips. */
#define LIST_THREADS 16

typedef struct {
  zklock__op *op;
  char *path;
  int rc;
  struct String_vector kids;
} dir_read;

typedef struct {
  char **v;
  size_t n, cap;
} strvec;

static int strvec_push(strvec *s, char *p) {
  if (!p)
    return -1;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    char **v = realloc(s->v, cap * sizeof *v);
    if (!v) {
      free(p);
      return -1;
    }
    s->v = v, s->cap = cap;
  }
  s->v[s->n++] = p;
  return 0;
}

static void strvec_free(strvec *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  free(s->v);
  memset(s, 0, sizeof *s);
}

static void kids_done(int rc, const struct String_vector *sv,
                      const void *data) {
  dir_read *d = (dir_read *)data;
  zklock_client *c = d->op->c;
  pthread_mutex_lock(&c->mu);
  d->rc = rc;
  if (rc == ZOK && sv && sv->count > 0) {
    /* The client frees its vector after we return: copy it. */
    d->kids.data = calloc((size_t)sv->count, sizeof(char *));
    for (int i = 0; d->kids.data && i < sv->count; i++)
      if ((d->kids.data[d->kids.count++] = strdup(sv->data[i])) == NULL) {
        d->rc = ZSYSTEMERROR;
        break;
      }
    if (!d->kids.data)
      d->rc = ZSYSTEMERROR;
  }
  if (--d->op->pending == 0)
    pthread_cond_signal(&d->op->cond);
  pthread_mutex_unlock(&c->mu);
}

/* 1 if a child name is a lock node of zklock or of a library a profile
 * knows (such nodes are ephemeral: nothing below them to visit). */
static int is_lock_node(int hint, const char *name) {
  zklock__name nm;
  if (zklock__name_parse(name, &nm) == 0)
    return 1;
  zklock__cname cn;
  /* 's' is Curator's semaphore directory ("locks", "leases"): a parent */
  return zklock__cname_parse(hint, name, &cn) == 0 && cn.kind != 0 &&
         cn.kind != 's';
}

/* Sorts one round's answers: lock paths into locks, directories into
 * next. Mutex held. */
static int sort_round(zklock_client *c, const char *root, dir_read *d, int nd,
                      strvec *locks, strvec *next) {
  for (int i = 0; i < nd; i++) {
    if (d[i].rc == ZNONODE)
      continue; /* gone while we walked */
    if (d[i].rc == ZNOAUTH && strcmp(d[i].path, root) != 0)
      continue; /* a subtree we may not read holds no lock of ours */
    if (d[i].rc != ZOK)
      return zklock__zk_err(d[i].rc);
    int lock = 0;
    size_t pl = strcmp(d[i].path, "/") == 0 ? 0 : strlen(d[i].path);
    for (int k = 0; k < d[i].kids.count; k++) {
      const char *kid = d[i].kids.data[k];
      if (is_lock_node(c->compat, kid)) {
        lock = 1;
        continue;
      }
      if (pl == 0 && strcmp(kid, "zookeeper") == 0)
        continue; /* the server's own subtree */
      size_t kl = strlen(kid);
      if (pl + 1 + kl > ZKLOCK_PATH_MAX)
        continue; /* no lock path can live there */
      char *p = malloc(pl + kl + 2);
      if (p) {
        memcpy(p, d[i].path, pl);
        p[pl] = '/';
        memcpy(p + pl + 1, kid, kl + 1);
      }
      if (strvec_push(next, p))
        return ZKLOCK_ENOMEM;
    }
    if (lock && strvec_push(locks, strdup(d[i].path)))
      return ZKLOCK_ENOMEM;
  }
  return ZKLOCK_OK;
}

/* Lists directories breadth first, a round of requests at a time. */
static int find_lock_paths(zklock_client *c, const char *root, strvec *locks) {
  zhandle_t *zh;
  int rc = zklock__enter(c, &zh, 1);
  if (rc)
    return rc;
  strvec todo = {0}, next = {0};
  dir_read *d = calloc(WALK_BATCH, sizeof *d);
  if (!d || strvec_push(&todo, strdup(root))) {
    free(d);
    zklock__leave(c);
    return ZKLOCK_ENOMEM;
  }
  zklock__op op;
  pthread_mutex_lock(&c->mu);
  zklock__op_init(&op, c);
  /* Our server may lag the one a holder used; the session keeps order. */
  zoo_async(zh, root, zklock__sync_done, NULL);
  size_t done = 0;
  while (rc == ZKLOCK_OK && done < todo.n) {
    int nd = 0;
    for (; done < todo.n && nd < WALK_BATCH; done++, nd++) {
      d[nd] = (dir_read){.op = &op, .path = todo.v[done]};
      op.pending++;
      int zrc = zoo_aget_children(zh, d[nd].path, 0, kids_done, &d[nd]);
      if (zrc != ZOK) {
        op.pending--;
        d[nd].rc = zrc;
      }
    }
    zklock__op_wait_pending(c, &op);
    rc = sort_round(c, root, d, nd, locks, &next);
    for (int i = 0; i < nd; i++)
      deallocate_String_vector(&d[i].kids);
    if (done == todo.n) { /* this level is done: go one down */
      strvec_free(&todo);
      todo = next;
      memset(&next, 0, sizeof next);
      done = 0;
    }
  }
  zklock__op_destroy(&op);
  pthread_mutex_unlock(&c->mu);
  zklock__leave(c);
  strvec_free(&todo);
  strvec_free(&next);
  free(d);
  return rc;
}

static int path_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The listing of every lock path, by a few threads taking the next. */
typedef struct {
  zklock_client *c;
  const strvec *paths;
  zklock_node_info **v;
  int *n;
  pthread_mutex_t mu;
  size_t next;
  int rc;
} lister;

static void *list_some(void *p) {
  lister *ls = p;
  for (;;) {
    pthread_mutex_lock(&ls->mu);
    size_t i = ls->next++;
    int stop = ls->rc != ZKLOCK_OK || i >= ls->paths->n;
    pthread_mutex_unlock(&ls->mu);
    if (stop)
      return NULL;
    /* no sync per path: the walk synced the session before it listed */
    int rc =
        zklock__queue_list(ls->c, ls->paths->v[i], 0, &ls->v[i], &ls->n[i]);
    if (rc == ZKLOCK_EAUTH) /* a queue we may not read, like a subtree */
      rc = ZKLOCK_OK, ls->n[i] = 0;
    if (rc != ZKLOCK_OK) {
      pthread_mutex_lock(&ls->mu);
      if (ls->rc == ZKLOCK_OK)
        ls->rc = rc;
      pthread_mutex_unlock(&ls->mu);
    }
  }
}

static int list_all(zklock_client *c, const strvec *paths, zklock_node_info **v,
                    int *n) {
  lister ls = {.c = c, .paths = paths, .v = v, .n = n, .rc = ZKLOCK_OK};
  pthread_mutex_init(&ls.mu, NULL);
  pthread_t th[LIST_THREADS];
  int nth = 0;
  while (nth < LIST_THREADS && (size_t)nth < paths->n &&
         pthread_create(&th[nth], NULL, list_some, &ls) == 0)
    nth++;
  list_some(&ls); /* the caller lists too (all alone if no thread started) */
  for (int i = 0; i < nth; i++)
    pthread_join(th[i], NULL);
  pthread_mutex_destroy(&ls.mu);
  return ls.rc;
}

int zklock_queue_walk(zklock_client *c, const char *root,
                      int (*cb)(const char *path, const zklock_node_info *v,
                                int n, void *arg),
                      void *arg) {
  if (!c || !cb || !root)
    return ZKLOCK_EINVAL;
  if (strcmp(root, "/") != 0 && zklock_path_validate(root) != ZKLOCK_OK)
    return ZKLOCK_EPATH;
  strvec locks = {0};
  int rc = find_lock_paths(c, root, &locks);
  if (rc == ZKLOCK_OK && locks.n > 1)
    qsort(locks.v, locks.n, sizeof *locks.v, path_cmp);
  zklock_node_info **v = calloc(locks.n + 1, sizeof *v);
  int *n = calloc(locks.n + 1, sizeof *n);
  if (rc == ZKLOCK_OK && (!v || !n))
    rc = ZKLOCK_ENOMEM;
  if (rc == ZKLOCK_OK)
    rc = list_all(c, &locks, v, n);
  for (size_t i = 0; rc == ZKLOCK_OK && i < locks.n; i++)
    if (n[i] > 0) /* emptied since the walk: skip */
      rc = cb(locks.v[i], v[i], n[i], arg);
  for (size_t i = 0; v && i < locks.n; i++)
    free(v[i]);
  free(v);
  free(n);
  strvec_free(&locks);
  return rc;
}
