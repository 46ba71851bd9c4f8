/* async_poll: many lock waits on one thread, driven by a poll() loop.
 *
 *   async_poll HOSTS PATH LOCKS
 *
 * Opens two clients in loop mode (ZKLOCK_DISPATCH_LOOP) and asks for LOCKS
 * locks PATH/0 .. PATH/<LOCKS-1> on the first one, plus PATH/0 again on the
 * second client, so that lock is contended. No thread waits: one poll()
 * on both clients' fds runs every completion. Each grant prints
 * "granted <lock> handle <n> token <t>" and releases at once from inside
 * its completion, which hands the contended lock to the other client. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include <zklock.h>

typedef struct {
  int id;
  char path[256];
  zklock_mutex *m;
  int granted;
} waiter;

static int pending; /* completions still to come */

static void unlocked(int rc, void *arg) {
  waiter *w = arg;
  if (rc != ZKLOCK_OK)
    fprintf(stderr, "unlock %s: %s\n", w->path, zklock_strerror(rc));
  pending--;
}

static void locked(int rc, void *arg) {
  waiter *w = arg;
  pending--;
  if (rc != ZKLOCK_OK) {
    fprintf(stderr, "lock %s: %s\n", w->path, zklock_strerror(rc));
    return;
  }
  w->granted++;
  /* the token is only readable while held: print it before letting go */
  printf("granted %s handle %d token %lld\n", w->path, w->id,
         (long long)zklock_mutex_token(w->m));
  /* Releasing from a completion is fine; pipelined, it does not wait. */
  if (zklock_mutex_unlock_async(w->m, unlocked, w) == ZKLOCK_OK)
    pending++;
}

int main(int argc, char **argv) {
  if (argc != 4 || atoi(argv[3]) < 1) {
    fprintf(stderr, "usage: %s HOSTS PATH LOCKS\n", argv[0]);
    return 2;
  }
  int nlocks = atoi(argv[3]), n = nlocks + 1, rc = ZKLOCK_OK;
  zklock_client_opts o = {0};
  o.dispatch = ZKLOCK_DISPATCH_LOOP; /* callbacks run in our loop */
  zklock_client *c[2] = {NULL, NULL};
  for (int i = 0; i < 2 && rc == ZKLOCK_OK; i++)
    rc = zklock_client_open(argv[1], &o, &c[i]);
  waiter *w = calloc((size_t)n, sizeof *w);
  if (rc != ZKLOCK_OK || !w) {
    fprintf(stderr, "connect %s: %s\n", argv[1], zklock_strerror(rc));
    return 1;
  }
  for (int i = 0; i < n && rc == ZKLOCK_OK; i++) {
    w[i].id = i;
    /* the last handle is on the second client, at the first lock */
    snprintf(w[i].path, sizeof w[i].path, "%s/%d", argv[2], i < nlocks ? i : 0);
    rc = zklock_mutex_new(c[i < nlocks ? 0 : 1], w[i].path, &w[i].m);
    if (rc == ZKLOCK_OK)
      rc = zklock_mutex_lock_async(w[i].m, 30000, locked, &w[i]);
    if (rc == ZKLOCK_OK)
      pending++;
  }
  struct pollfd pfd[2];
  for (int i = 0; i < 2; i++) {
    pfd[i].fd = zklock_client_fd(c[i]);
    pfd[i].events = POLLIN;
  }
  while (rc == ZKLOCK_OK && pending > 0) {
    int k = poll(pfd, 2, 60000);
    if (k <= 0) {
      fprintf(stderr, "no progress for 60 s\n");
      rc = ZKLOCK_ETIMEDOUT;
    }
    for (int i = 0; i < 2 && k > 0; i++)
      if (pfd[i].revents & POLLIN)
        zklock_client_dispatch(c[i]); /* runs the queued completions */
  }
  int once = rc == ZKLOCK_OK;
  for (int i = 0; i < n; i++) {
    once &= w[i].granted == 1;
    zklock_mutex_free(w[i].m);
  }
  zklock_client_close(c[0]);
  zklock_client_close(c[1]);
  free(w);
  printf("%d handles, every lock granted exactly once: %s\n", n,
         once ? "yes" : "NO");
  return once ? 0 : 1;
}
