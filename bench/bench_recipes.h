/* bench_recipes: zklock-bench scenarios for the recipes beyond the mutex
 * (bench/bench_recipes.c), kept apart from zklock-bench.c. */
#ifndef ZKLOCK_BENCH_RECIPES_H
#define ZKLOCK_BENCH_RECIPES_H

typedef struct {
  const char *hosts;
  int nops;
  int warmup;
  int limit_s;
  int await_release; /* zklock_client_opts.await_release for every client */
  /* servers whose mntr counts the requests (NULL: hosts); the real ones
   * when hosts name a proxy in front of them */
  const char *mntr_hosts;
  int spread; /* -S: rotate the host order by one more place per session */
} bench_recipes_cfg;

#include <stddef.h>

/* The connect string of the next session: cfg->hosts, or with spread the
 * list rotated by one more place per call (the C client then tries them
 * in order: zoo_deterministic_conn_order), so sessions land on every
 * server in turn. Thread-safe. */
void bench_session_hosts(const bench_recipes_cfg *cfg, char *out, size_t len);

/* mntr zk_packets_received summed over cfg->mntr_hosts (or hosts), or -1
 * if any server does not answer. */
long long bench_packets_all(const bench_recipes_cfg *cfg);

/* Distinct servers (by port) the n handles are connected to. */
struct _zhandle;
int bench_servers_used(struct _zhandle **zhs, int n);

/* Runs scenario if it is one of (bench/bench_handoff.c)
 *   rawhandoff      a raw delete by one session to the NodeDeleted event at
 *                   another session watching the node: the handoff floor
 *   paths:P:K       P lock paths, K sessions each, every session takes its
 *                   own path's mutex in a loop; N acquisitions in all
 *   rawpaths:P:K    the same sessions doing raw create+delete pairs under P
 *                   parents: the floor of paths:P:K
 * and returns 1; returns 0 for any other name. */
int bench_handoff_run(const char *scenario, const bench_recipes_cfg *cfg);

/* Runs scenario if it is one of
 *   rwlock:K:R      K sessions, R % reads (the rest writes), N ops in all
 *   sem:P:S         S sessions share a P-permit semaphore, N acquisitions
 *   asyncherd:S:W   one thread queues W async lock calls over S sessions
 * and returns 1; returns 0 for any other name. */
int bench_recipes_run(const char *scenario, const bench_recipes_cfg *cfg);

/* Shared by the scenario files: CLOCK_MONOTONIC in microseconds, a sleep,
 * and lat[n*num/den] after sorting lat (as the anchors do). */
double br_now_us(void);
void br_sleep_ms(int ms);
double br_pct(double *lat, int n, int num, int den);

#endif
