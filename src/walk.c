/* zklock_queue_walk: every lock path under a root, each with its queue as
 * zklock_queue_list gives it (the holder/waiter rule lives there alone).
 * For `zklock status -r`, `zklock metrics` and the deadlock finder
 * (src/deadlock.c). Read-only; owns no state beyond one call. */
#include "call.h"
#include "compat.h"

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

/* Keeps the first n. */
static void strvec_cut(strvec *s, size_t n) {
  while (s->n > n)
    free(s->v[--s->n]);
}

static void strvec_free(strvec *s) {
  strvec_cut(s, 0);
  free(s->v);
  memset(s, 0, sizeof *s);
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

/* Sorts one directory's children: path into locks if it is a lock path,
 * its other children into next. */
static int sort_dir(int hint, const char *path, const struct String_vector *sv,
                    strvec *locks, strvec *next) {
  int lock = 0;
  size_t pl = strcmp(path, "/") == 0 ? 0 : strlen(path);
  for (int k = 0; sv && k < sv->count; k++) {
    const char *kid = sv->data[k];
    if (is_lock_node(hint, kid)) {
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
      memcpy(p, path, pl);
      p[pl] = '/';
      memcpy(p + pl + 1, kid, kl + 1);
    }
    if (strvec_push(next, p))
      return ZKLOCK_ENOMEM;
  }
  if (lock && strvec_push(locks, strdup(path)))
    return ZKLOCK_ENOMEM;
  return ZKLOCK_OK;
}

/* The directory listing: a call (src/call.c) of rounds, breadth first. A
 * round lists todo[done..done + nd) at once; answers come in order, each
 * sorted as it comes (a round sent again first drops what its earlier
 * answers added). */
enum { W_ROUND = ZKLOCK__S_FIRST };

typedef struct {
  zklock__call k; /* first: the casts are valid */
  char root[ZKLOCK_PATH_MAX + 1];
  strvec todo, next, locks;
  size_t done, nd;
  size_t nlocks, nnext; /* their lengths when the round began */
  int first;            /* the first round: sync before it */
  strvec *out;          /* the caller's, on success */
} walker;

static walker *W(zklock__call *k) { return (walker *)k; }

static void w_destroy(zklock__call *k) {
  strvec_free(&W(k)->todo);
  strvec_free(&W(k)->next);
  strvec_free(&W(k)->locks);
}

static void w_send(zklock__call *k, zklock__cbq *q) {
  walker *w = W(k);
  strvec_cut(&w->locks, w->nlocks);
  strvec_cut(&w->next, w->nnext);
  if (w->first)
    zklock__call_sync(k, w->root);
  w->nd = w->todo.n - w->done < WALK_BATCH ? w->todo.n - w->done : WALK_BATCH;
  for (size_t i = 0; i < w->nd; i++)
    if (zklock__call_children(k, w->todo.v[w->done + i], (int)i, q))
      return;
}

/* The round is in: the next one, one level down when this one is done. */
static void w_round_done(walker *w, zklock__cbq *q) {
  w->first = 0;
  w->done += w->nd;
  if (w->done == w->todo.n) {
    strvec_free(&w->todo);
    w->todo = w->next;
    memset(&w->next, 0, sizeof w->next);
    w->done = 0;
  }
  w->nlocks = w->locks.n;
  w->nnext = w->next.n;
  if (w->done < w->todo.n) {
    zklock__call_next(&w->k, W_ROUND, q);
    return;
  }
  *w->out = w->locks;
  memset(&w->locks, 0, sizeof w->locks);
  zklock__att_finish(&w->k.at, ZKLOCK_OK, q);
}

static void w_answer(zklock__call *k, const zklock__ans *ans, zklock__cbq *q) {
  walker *w = W(k);
  const char *path = w->todo.v[w->done + (size_t)ans->idx];
  int rc = ZKLOCK_OK;
  if (zklock__call_transient(ans->rc)) {
    zklock__att_failed(&k->at, ans->rc, W_ROUND, q);
    return;
  }
  if (ans->rc == ZNONODE) {
    /* gone while we walked */
  } else if (ans->rc == ZNOAUTH && strcmp(path, w->root) != 0) {
    /* a subtree we may not read holds no lock of ours */
  } else if (ans->rc != ZOK) {
    rc = zklock__zk_err(ans->rc);
  } else {
    rc = sort_dir(k->c->compat, path, ans->kids, &w->locks, &w->next);
  }
  if (rc)
    zklock__att_finish(&k->at, rc, q);
  else if (k->at.pending == 0)
    w_round_done(w, q);
}

static const zklock__call_ops walk_ops = {
    .send = w_send,
    .answer = w_answer,
    .destroy = w_destroy,
    .first = W_ROUND,
    .fresh = 1,
};

/* Every lock path under root into locks. */
static int find_lock_paths(zklock_client *c, const char *root, strvec *locks) {
  walker *w = calloc(1, sizeof *w);
  if (!w)
    return ZKLOCK_ENOMEM;
  w->k.ops = &walk_ops;
  snprintf(w->root, sizeof w->root, "%s", root);
  w->first = 1;
  w->out = locks;
  if (strvec_push(&w->todo, strdup(root))) {
    free(w);
    return ZKLOCK_ENOMEM;
  }
  return zklock__call_wait(c, &w->k);
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
