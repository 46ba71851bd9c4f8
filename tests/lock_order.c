/* For tests/test_ops.sh: one process, one session, two locks taken in the
 * order given, as an application that nests them would.
 *
 *   lock_order HOSTS FIRST SECOND DIR
 *
 * Locks FIRST, creates DIR/<pid>.held, waits (at most 60 s) until
 * DIR/go exists, then locks SECOND (waiting at most 120 s), creates
 * DIR/<pid>.both and exits 0 once it holds both; 1 on a failure. The
 * test sets up the crossed order and ends it by killing one side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zklock.h>

static void touch(const char *dir, const char *what) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%ld.%s", dir, (long)getpid(), what);
  FILE *f = fopen(p, "w");
  if (f)
    fclose(f);
}

static int wait_go(const char *dir) {
  char p[4096];
  snprintf(p, sizeof p, "%s/go", dir);
  for (int i = 0; i < 1200; i++) {
    if (access(p, F_OK) == 0)
      return 0;
    nanosleep(&(struct timespec){0, 50000000}, NULL);
  }
  return -1;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: lock_order HOSTS FIRST SECOND DIR\n");
    return 2;
  }
  /* a short session: the test kills one side and waits for its expiry */
  zklock_client_opts o = {.owner_text = "lock-order-test",
                          .session_timeout_ms = 2000};
  zklock_client *c;
  zklock_mutex *first, *second;
  int rc = zklock_client_open(argv[1], &o, &c);
  if (rc == ZKLOCK_OK)
    rc = zklock_mutex_new(c, argv[2], &first);
  if (rc == ZKLOCK_OK)
    rc = zklock_mutex_new(c, argv[3], &second);
  if (rc == ZKLOCK_OK)
    rc = zklock_mutex_lock(first, 30000);
  if (rc != ZKLOCK_OK) {
    fprintf(stderr, "lock_order: %s: %s\n", argv[2], zklock_strerror(rc));
    return 1;
  }
  touch(argv[4], "held");
  if (wait_go(argv[4]) != 0)
    return 1;
  rc = zklock_mutex_lock(second, 120000);
  if (rc != ZKLOCK_OK) {
    fprintf(stderr, "lock_order: %s: %s\n", argv[3], zklock_strerror(rc));
    return 1;
  }
  touch(argv[4], "both");
  zklock_mutex_free(second);
  zklock_mutex_free(first);
  zklock_client_close(c);
  return 0;
}
