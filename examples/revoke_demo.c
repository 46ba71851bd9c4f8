/* Cooperative revocation: a holder that lets go when asked. One client
 * holds the lock and does its work in slices; another asks it to let go
 * (zklock_revoke). The holder's on_lock callback sees
 * ZKLOCK_LOCK_REVOKE_REQUESTED and the work loop unlocks at its next safe
 * point; the asker then gets the lock.
 *
 *   revoke_demo HOSTS /locks/report */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zklock.h>

static atomic_int asked;

/* Runs on the ZooKeeper completion thread: only note the request. */
static void on_lock(zklock_client *c, const char *path, const char *node,
                    zklock_lock_state st, void *arg) {
  (void)c, (void)path, (void)node, (void)arg;
  if (st == ZKLOCK_LOCK_REVOKE_REQUESTED)
    atomic_store(&asked, 1);
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s HOSTS PATH\n", argv[0]);
    return 2;
  }
  zklock_client_opts o = {0};
  o.on_lock = on_lock;
  zklock_client *holder_c, *asker_c;
  zklock_mutex *held, *wanted;
  int rc = zklock_client_open(argv[1], &o, &holder_c);
  if (rc == ZKLOCK_OK)
    rc = zklock_client_open(argv[1], NULL, &asker_c);
  if (rc) {
    fprintf(stderr, "open: %s\n", zklock_strerror(rc));
    return 1;
  }
  zklock_mutex_new(holder_c, argv[2], &held);
  zklock_mutex_new(asker_c, argv[2], &wanted);
  rc = zklock_mutex_lock(held, 10000);
  if (rc) {
    fprintf(stderr, "lock: %s\n", zklock_strerror(rc));
    return 1;
  }
  printf("holder: holding %s (token %" PRId64 ")\n", argv[2],
         zklock_mutex_token(held));
  /* The asker finds it busy and asks the holder to let go. */
  if (zklock_mutex_lock(wanted, 0) != ZKLOCK_EBUSY) {
    fprintf(stderr, "the lock should be busy\n");
    return 1;
  }
  rc = zklock_revoke(asker_c, argv[2]);
  printf("asker: revoke request %s\n", zklock_strerror(rc));
  /* The holder works in slices and checks for a request between them. */
  int slices = 0;
  while (!atomic_load(&asked) && slices < 200) {
    sleep_ms(50);
    slices++;
  }
  if (!atomic_load(&asked)) {
    fprintf(stderr, "holder: no revocation request seen\n");
    return 1;
  }
  printf("holder: asked to let go after %d slices; unlocking\n", slices);
  zklock_mutex_unlock(held);
  rc = zklock_mutex_lock(wanted, 20000);
  if (rc == ZKLOCK_OK)
    printf("asker: holding %s (token %" PRId64 ")\n", argv[2],
           zklock_mutex_token(wanted));
  else
    fprintf(stderr, "asker: lock: %s\n", zklock_strerror(rc));
  zklock_mutex_free(wanted);
  zklock_mutex_free(held);
  zklock_client_close(asker_c);
  zklock_client_close(holder_c);
  return rc ? 1 : 0;
}
