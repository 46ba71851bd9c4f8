/* async_libuv: async_poll on a libuv loop.
 *
 *   async_libuv HOSTS PATH LOCKS
 *
 * The same work as examples/async_poll.c: LOCKS locks PATH/0 .. on one
 * loop-mode client, PATH/0 once more on a second client (contended), every
 * grant printed as "granted <lock> handle <n> token <t>" and released from
 * its completion. A uv_poll watcher on each client's fd calls
 * zklock_client_dispatch. */
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>
#include <zklock.h>

typedef struct {
  int id;
  char path[256];
  zklock_mutex *m;
  int granted;
} waiter;

static int pending; /* completions still to come */
static uv_poll_t watchers[2];
static uv_timer_t deadline;

static void stop_all(void) {
  for (int i = 0; i < 2; i++)
    uv_poll_stop(&watchers[i]);
  uv_timer_stop(&deadline);
}

static void unlocked(int rc, void *arg) {
  waiter *w = arg;
  if (rc != ZKLOCK_OK)
    fprintf(stderr, "unlock %s: %s\n", w->path, zklock_strerror(rc));
  if (--pending == 0)
    stop_all();
}

static void locked(int rc, void *arg) {
  waiter *w = arg;
  pending--;
  if (rc == ZKLOCK_OK) {
    w->granted++;
    printf("granted %s handle %d token %lld\n", w->path, w->id,
           (long long)zklock_mutex_token(w->m));
    if (zklock_mutex_unlock_async(w->m, unlocked, w) == ZKLOCK_OK)
      pending++;
  } else {
    fprintf(stderr, "lock %s: %s\n", w->path, zklock_strerror(rc));
  }
  if (pending == 0)
    stop_all();
}

static void readable(uv_poll_t *p, int status, int events) {
  (void)status;
  (void)events;
  zklock_client_dispatch(p->data); /* runs the queued completions */
}

static void timed_out(uv_timer_t *t) {
  (void)t;
  fprintf(stderr, "no progress for 60 s\n");
  stop_all();
}

int main(int argc, char **argv) {
  if (argc != 4 || atoi(argv[3]) < 1) {
    fprintf(stderr, "usage: %s HOSTS PATH LOCKS\n", argv[0]);
    return 2;
  }
  int nlocks = atoi(argv[3]), n = nlocks + 1, rc = ZKLOCK_OK;
  zklock_client_opts o = {0};
  o.dispatch = ZKLOCK_DISPATCH_LOOP;
  zklock_client *c[2] = {NULL, NULL};
  for (int i = 0; i < 2 && rc == ZKLOCK_OK; i++)
    rc = zklock_client_open(argv[1], &o, &c[i]);
  waiter *w = calloc((size_t)n, sizeof *w);
  if (rc != ZKLOCK_OK || !w) {
    fprintf(stderr, "connect %s: %s\n", argv[1], zklock_strerror(rc));
    return 1;
  }
  uv_loop_t *loop = uv_default_loop();
  for (int i = 0; i < 2; i++) {
    uv_poll_init(loop, &watchers[i], zklock_client_fd(c[i]));
    watchers[i].data = c[i];
    uv_poll_start(&watchers[i], UV_READABLE, readable);
  }
  uv_timer_init(loop, &deadline);
  uv_timer_start(&deadline, timed_out, 60000, 0);
  for (int i = 0; i < n && rc == ZKLOCK_OK; i++) {
    w[i].id = i;
    snprintf(w[i].path, sizeof w[i].path, "%s/%d", argv[2], i < nlocks ? i : 0);
    rc = zklock_mutex_new(c[i < nlocks ? 0 : 1], w[i].path, &w[i].m);
    if (rc == ZKLOCK_OK)
      rc = zklock_mutex_lock_async(w[i].m, 30000, locked, &w[i]);
    if (rc == ZKLOCK_OK)
      pending++;
  }
  if (rc == ZKLOCK_OK)
    uv_run(loop, UV_RUN_DEFAULT); /* returns once every watcher stopped */
  int once = rc == ZKLOCK_OK && pending == 0;
  for (int i = 0; i < n; i++) {
    once &= w[i].granted == 1;
    zklock_mutex_free(w[i].m);
  }
  /* libuv must forget the fds before the clients close them */
  for (int i = 0; i < 2; i++)
    uv_close((uv_handle_t *)&watchers[i], NULL);
  uv_close((uv_handle_t *)&deadline, NULL);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  zklock_client_close(c[0]);
  zklock_client_close(c[1]);
  free(w);
  printf("%d handles, every lock granted exactly once: %s\n", n,
         once ? "yes" : "NO");
  return once ? 0 : 1;
}
