/* lock_lost: do long work under a lock, and stop when the lock is lost.
 *
 *   lock_lost [HOSTS] [PATH] [SECONDS]
 *
 * Works for SECONDS (default 30) in small steps while holding PATH. The
 * lock can go away under you: the session expires (a long network
 * partition, a paused process), or someone deletes the lock node. zklock
 * reports that through the on_lock callback; the work loop looks at the
 * state before every step:
 *   HELD       go on
 *   UNCERTAIN  disconnected: the session may survive; pause, don't write.
 *              A client cut off from every server never hears that its
 *              session expired, so give up after a third of the session
 *              timeout (the server may expire it by then: the client
 *              notices silence only after two thirds of the timeout).
 *   LOST       stop: someone else may hold the lock now
 * Exits 0 when the work finished, 3 when the lock was lost.
 *
 * HOSTS defaults to $ZKLOCK_HOSTS, then 127.0.0.1:2181. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <zklock.h>

/* Written by the callback, read by the work loop. */
static atomic_int lock_state = ZKLOCK_LOCK_HELD;

/* Runs on the ZooKeeper client's thread: keep it short and never call a
 * blocking zklock function here (they return ZKLOCK_EDEADLK). Record the
 * state; the work loop acts on it. */
static void on_lock(zklock_client *c, const char *path, const char *node,
                    zklock_lock_state st, void *arg) {
  (void)c;
  (void)arg;
  static const char *names[] = {"unlocked", "held", "uncertain", "lost"};
  fprintf(stderr, "callback: %s (%s) is now %s\n", path, node, names[st]);
  atomic_store(&lock_state, st);
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
  const char *hosts = argc > 1 ? argv[1] : getenv("ZKLOCK_HOSTS");
  const char *path = argc > 2 ? argv[2] : "/examples/lock_lost";
  int seconds = argc > 3 ? atoi(argv[3]) : 30;
  if (!hosts)
    hosts = "127.0.0.1:2181";

  zklock_client_opts opts = {0};
  opts.on_lock = on_lock;
  zklock_client *c;
  int rc = zklock_client_open(hosts, &opts, &c);
  if (rc != ZKLOCK_OK) {
    fprintf(stderr, "connect %s: %s\n", hosts, zklock_strerror(rc));
    return 1;
  }
  zklock_mutex *m = NULL;
  rc = zklock_mutex_new(c, path, &m);
  if (rc == ZKLOCK_OK)
    rc = zklock_mutex_lock(m, 10000);
  if (rc != ZKLOCK_OK) {
    fprintf(stderr, "lock %s: %s\n", path, zklock_strerror(rc));
    zklock_mutex_free(m);
    zklock_client_close(c);
    return 1;
  }
  printf("holding %s as %s\n", path, zklock_mutex_node(m));
  fflush(stdout);

  /* The session timeout the server granted, in 100 ms steps. */
  int max_uncertain = zoo_recv_timeout(zklock_client_zhandle(c)) / 3 / 100;
  int steps = seconds * 10, done = 0, lost = 0, uncertain = 0;
  while (done < steps && !lost) {
    switch (atomic_load(&lock_state)) {
    case ZKLOCK_LOCK_HELD:
      sleep_ms(100); /* one step of work */
      done++;
      uncertain = 0;
      break;
    case ZKLOCK_LOCK_UNCERTAIN:
      sleep_ms(100); /* wait for a reconnect (HELD) or the verdict (LOST) */
      lost = ++uncertain > max_uncertain;
      break;
    default:
      lost = 1;
    }
  }
  if (lost)
    printf("lock lost after %d of %d steps: stopped\n", done, steps);
  else
    printf("work done (%d steps) while holding the lock\n", done);

  /* After a loss unlock reports ZKLOCK_ELOST; free cleans up either way. */
  rc = zklock_mutex_unlock(m);
  if (rc != ZKLOCK_OK)
    printf("unlock: %s\n", zklock_strerror(rc));
  zklock_mutex_free(m);
  zklock_client_close(c);
  return lost ? 3 : 0;
}
