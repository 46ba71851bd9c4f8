/* zklock_find_deadlocks: cycles in the wait-for graph of sessions, built
 * from live state. Who holds and who waits is zklock_queue_list's answer
 * (through zklock_queue_walk); this file only joins the queues by session
 * (the nodes' ephemeralOwner). A waiting node's session waits for every
 * other session holding that path: for all of them (locks, read-write
 * locks, elections) or, at a semaphore, for any one of them. Sessions that
 * can still proceed are pruned first (an any-of wait with one free holder
 * is no deadlock); cycles are then enumerated among the rest. Because
 * paths are listed one after the other, a cycle counts only if every edge
 * of it is seen again in a second scan. */
#include "zklock_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds on the enumeration (elementary cycles can be exponential in
 * number): real deadlocks are a handful of short cycles. */
#define MAX_CYCLES 1024
#define MAX_STEPS 1000000

typedef struct {
  int path;
  zklock_node_info ni;
} dnode;

typedef struct {
  int from, to;       /* session indexes: from waits for to */
  int waiter, holder; /* node indexes */
  int any_of;         /* a semaphore wait: any one holder suffices */
} dedge;

typedef struct {
  char **paths;
  int npaths, pcap;
  dnode *nodes;
  int nn, ncap;
  int64_t *sids; /* sessions seen, by index */
  int ns, scap;
  dedge *edges;
  int ne, ecap;
  char *stuck;  /* per session */
  int *cyc;     /* edge indexes of found cycles, back to back */
  int *cyc_off; /* start of cycle k in cyc; cyc_off[ncyc] = end */
  int ncyc, cyccap, cyclen;
  long steps;
} graph;

static int grow(void *pv, int *cap, int n, size_t sz) {
  void **p = (void **)pv;
  if (n < *cap)
    return 0;
  int nc = *cap ? *cap * 2 : 16;
  void *v = realloc(*p, (size_t)nc * sz);
  if (!v)
    return -1;
  *p = v, *cap = nc;
  return 0;
}

static void graph_free(graph *g) {
  for (int i = 0; i < g->npaths; i++)
    free(g->paths[i]);
  free(g->paths);
  free(g->nodes);
  free(g->sids);
  free(g->edges);
  free(g->stuck);
  free(g->cyc);
  free(g->cyc_off);
  memset(g, 0, sizeof *g);
}

static int sess_index(graph *g, int64_t sid) {
  for (int i = 0; i < g->ns; i++)
    if (g->sids[i] == sid)
      return i;
  if (grow(&g->sids, &g->scap, g->ns, sizeof *g->sids))
    return -1;
  g->sids[g->ns] = sid;
  return g->ns++;
}

/* zklock_queue_walk callback: keeps the path and its zklock nodes (other
 * libraries' nodes carry no session or holder: they cannot join). */
static int collect(const char *path, const zklock_node_info *v, int n,
                   void *arg) {
  graph *g = arg;
  if (grow(&g->paths, &g->pcap, g->npaths, sizeof *g->paths) ||
      !(g->paths[g->npaths] = strdup(path)))
    return ZKLOCK_ENOMEM;
  int p = g->npaths++;
  for (int i = 0; i < n; i++) {
    if (!v[i].owner_session || strcmp(v[i].library, "zklock") != 0)
      continue;
    if (grow(&g->nodes, &g->ncap, g->nn, sizeof *g->nodes))
      return ZKLOCK_ENOMEM;
    g->nodes[g->nn++] = (dnode){.path = p, .ni = v[i]};
  }
  return 0;
}

static int add_edges(graph *g) {
  for (int w = 0; w < g->nn; w++) {
    const dnode *wn = &g->nodes[w];
    if (wn->ni.holder)
      continue;
    int from = sess_index(g, wn->ni.owner_session);
    if (from < 0)
      return ZKLOCK_ENOMEM;
    for (int h = 0; h < g->nn; h++) {
      const dnode *hn = &g->nodes[h];
      if (hn->path != wn->path || !hn->ni.holder ||
          hn->ni.owner_session == wn->ni.owner_session)
        continue;
      int to = sess_index(g, hn->ni.owner_session);
      if (to < 0 || grow(&g->edges, &g->ecap, g->ne, sizeof *g->edges))
        return ZKLOCK_ENOMEM;
      g->edges[g->ne++] =
          (dedge){from, to, w, h, wn->ni.kind == 's' || hn->ni.kind == 's'};
    }
  }
  return ZKLOCK_OK;
}

/* A wait (one waiting node) can be granted unless its holders are stuck:
 * all of them must go, or at a semaphore any one. */
static int wait_can_end(const graph *g, int waiter) {
  int seen = 0, free_one = 0, stuck_one = 0, any_of = 0;
  for (int e = 0; e < g->ne; e++) {
    if (g->edges[e].waiter != waiter)
      continue;
    seen = 1;
    any_of = g->edges[e].any_of;
    if (g->stuck[g->edges[e].to])
      stuck_one = 1;
    else
      free_one = 1;
  }
  return !seen || (any_of ? free_one : !stuck_one);
}

/* Greatest fixpoint: every session with a wait starts stuck; one whose
 * waits can all end is freed, until nothing changes. */
static int prune(graph *g) {
  g->stuck = calloc((size_t)g->ns + 1, 1);
  if (!g->stuck)
    return ZKLOCK_ENOMEM;
  for (int e = 0; e < g->ne; e++)
    g->stuck[g->edges[e].from] = 1;
  for (int changed = 1; changed;) {
    changed = 0;
    for (int s = 0; s < g->ns; s++) {
      if (!g->stuck[s])
        continue;
      int ok = 1;
      for (int e = 0; ok && e < g->ne; e++)
        if (g->edges[e].from == s)
          ok = wait_can_end(g, g->edges[e].waiter);
      if (ok)
        g->stuck[s] = 0, changed = 1;
    }
  }
  return ZKLOCK_OK;
}

static int save_cycle(graph *g, const int *stack, int depth) {
  if (grow(&g->cyc_off, &g->cyccap, g->ncyc + 1, sizeof *g->cyc_off))
    return ZKLOCK_ENOMEM;
  int cap = g->cyclen;
  int *v = realloc(g->cyc, (size_t)(cap + depth) * sizeof *v);
  if (!v)
    return ZKLOCK_ENOMEM;
  g->cyc = v;
  memcpy(v + cap, stack, (size_t)depth * sizeof *v);
  g->cyc_off[g->ncyc++] = cap;
  g->cyclen = cap + depth;
  g->cyc_off[g->ncyc] = g->cyclen;
  return ZKLOCK_OK;
}

/* Elementary cycles through start whose other sessions all have higher
 * indexes: each cycle is found once, from its lowest session. */
static int dfs(graph *g, int start, int v, int *stack, int depth,
               char *onstack) {
  for (int e = 0; e < g->ne; e++) {
    const dedge *d = &g->edges[e];
    if (d->from != v || !g->stuck[d->to])
      continue;
    if (g->ncyc >= MAX_CYCLES || ++g->steps > MAX_STEPS)
      return ZKLOCK_OK;
    stack[depth] = e;
    if (d->to == start) {
      if (save_cycle(g, stack, depth + 1))
        return ZKLOCK_ENOMEM;
    } else if (d->to > start && !onstack[d->to]) {
      onstack[d->to] = 1;
      if (dfs(g, start, d->to, stack, depth + 1, onstack))
        return ZKLOCK_ENOMEM;
      onstack[d->to] = 0;
    }
  }
  return ZKLOCK_OK;
}

/* One scan: the queues, the graph, the stuck sessions and their cycles. */
static int scan(zklock_client *c, const char *root, graph *g) {
  int rc = zklock_queue_walk(c, root, collect, g);
  if (rc == ZKLOCK_OK)
    rc = add_edges(g);
  if (rc == ZKLOCK_OK)
    rc = prune(g);
  if (rc || g->ne == 0)
    return rc;
  int *stack = calloc((size_t)g->ns + 1, sizeof *stack);
  char *onstack = calloc((size_t)g->ns + 1, 1);
  for (int s = 0; rc == ZKLOCK_OK && stack && onstack && s < g->ns; s++)
    if (g->stuck[s])
      rc = dfs(g, s, s, stack, 0, onstack);
  if (!stack || !onstack)
    rc = ZKLOCK_ENOMEM;
  free(stack);
  free(onstack);
  return rc;
}

/* 1 if edge e of b (same path, waiting node and holding node) is in a. */
static int edge_seen(const graph *a, const graph *b, int e) {
  const dedge *d = &b->edges[e];
  const dnode *w = &b->nodes[d->waiter], *h = &b->nodes[d->holder];
  for (int i = 0; i < a->ne; i++) {
    const dnode *aw = &a->nodes[a->edges[i].waiter];
    const dnode *ah = &a->nodes[a->edges[i].holder];
    if (strcmp(aw->ni.name, w->ni.name) == 0 &&
        strcmp(ah->ni.name, h->ni.name) == 0 &&
        strcmp(a->paths[aw->path], b->paths[w->path]) == 0)
      return 1;
  }
  return 0;
}

/* Copies the value of "key=" from owner text (one line). */
static void owner_value(const char *owner, const char *key, char *out,
                        size_t len) {
  size_t kl = strlen(key);
  out[0] = '\0';
  for (const char *p = owner; p && *p;) {
    const char *eol = strchr(p, '\n');
    size_t ll = eol ? (size_t)(eol - p) : strlen(p);
    if (ll > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
      snprintf(out, len, "%.*s", (int)(ll - kl - 1), p + kl + 1);
      return;
    }
    p = eol ? eol + 1 : NULL;
  }
}

/* Fills the public view of cycle k of g and calls cb. */
static int report(const graph *g, int k,
                  void (*cb)(const zklock_cycle *, void *), void *arg) {
  int n = g->cyc_off[k + 1] - g->cyc_off[k];
  const int *edges = g->cyc + g->cyc_off[k];
  int64_t *sids = calloc((size_t)n, sizeof *sids);
  int64_t *pids = calloc((size_t)n, sizeof *pids);
  int64_t *waits = calloc((size_t)n, sizeof *waits);
  const char **strs = calloc((size_t)n * 5, sizeof *strs);
  char(*hosts)[256] = calloc((size_t)n, sizeof *hosts);
  int rc = ZKLOCK_ENOMEM;
  if (sids && pids && waits && strs && hosts) {
    int64_t now = zklock__now_ms();
    for (int i = 0; i < n; i++) {
      const dedge *d = &g->edges[edges[i]];
      const dnode *w = &g->nodes[d->waiter];
      char pid[32];
      sids[i] = w->ni.owner_session;
      strs[i] = g->paths[w->path];
      strs[n + i] = w->ni.name;
      strs[2 * n + i] = g->nodes[d->holder].ni.name;
      owner_value(w->ni.owner, "host", hosts[i], sizeof hosts[i]);
      strs[3 * n + i] = hosts[i];
      owner_value(w->ni.owner, "pid", pid, sizeof pid);
      pids[i] = strtoll(pid, NULL, 10);
      strs[4 * n + i] = w->ni.owner;
      waits[i] = now > w->ni.ctime_ms ? now - w->ni.ctime_ms : 0;
    }
    zklock_cycle cy = {n,        sids,         strs,
                       strs + n, strs + 2 * n, strs + 3 * n,
                       pids,     strs + 4 * n, waits};
    cb(&cy, arg);
    rc = ZKLOCK_OK;
  }
  free(sids);
  free(pids);
  free(waits);
  free(strs);
  free(hosts);
  return rc;
}

int zklock_find_deadlocks(zklock_client *c, const char *root,
                          void (*cb)(const zklock_cycle *cy, void *arg),
                          void *arg) {
  if (!c || !root)
    return ZKLOCK_EINVAL;
  graph first = {0}, second = {0};
  int rc = scan(c, root, &first);
  if (rc == ZKLOCK_OK && first.ncyc > 0)
    rc = scan(c, root, &second);
  int found = 0;
  for (int k = 0; rc == ZKLOCK_OK && k < second.ncyc; k++) {
    int seen = 1;
    for (int i = second.cyc_off[k]; seen && i < second.cyc_off[k + 1]; i++)
      seen = edge_seen(&first, &second, second.cyc[i]);
    if (!seen)
      continue;
    found++;
    if (cb)
      rc = report(&second, k, cb, arg);
  }
  graph_free(&first);
  graph_free(&second);
  return rc == ZKLOCK_OK ? found : rc;
}
