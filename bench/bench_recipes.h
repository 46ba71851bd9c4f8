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
} bench_recipes_cfg;

/* Runs scenario if it is one of
 *   rwlock:K:R      K sessions, R % reads (the rest writes), N ops in all
 *   sem:P:S         S sessions share a P-permit semaphore, N acquisitions
 *   asyncherd:S:W   one thread queues W async lock calls over S sessions
 * and returns 1; returns 0 for any other name. */
int bench_recipes_run(const char *scenario, const bench_recipes_cfg *cfg);

#endif
