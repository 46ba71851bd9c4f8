/* Interop worker: zklock's asynchronous C API in an application's poll
 * loop (ZKLOCK_DISPATCH_LOOP), next to Curator and kazoo workers on one
 * path (tests/test_interop.sh).
 *
 * usage: zk_async HOSTS PATH MODE K COUNTER LOG HOLD_MS LIMIT_S COMPAT
 *   MODE: mutex (zklock_mutex_lock_async) | semaphore:N
 *   (zklock_semaphore_acquire_async); COMPAT: native | curator | kazoo.
 *   K holds; each appends "<enter_ns> <exit_ns> <kind> <who>" to LOG and,
 *   for a mutex, does a read-sleep-write increment of COUNTER.
 * Exit 0 on success, 2 on usage, 3 on timeout, 1 on any other error. On
 * a timeout it prints "timed out" and keeps its session 3 s more, so a
 * test can see that the attempt removed its nodes itself (the session's
 * end would hide a leak). */
#include "zklock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts); /* comparable across processes */
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

typedef struct {
  int done, rc;
} result;

static void on_done(int rc, void *arg) {
  result *r = arg;
  r->rc = rc;
  r->done = 1;
}

/* Runs the client's loop until r is done: the callback only ever runs
 * from zklock_client_dispatch here, on this thread. */
static int run_until(zklock_client *c, result *r) {
  struct pollfd pfd = {.fd = zklock_client_fd(c), .events = POLLIN};
  while (!r->done) {
    if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
      return -1;
    zklock_client_dispatch(c);
  }
  return 0;
}

static int hold(const char *counter, const char *log, int hold_ms, char kind,
                const char *who) {
  long long t0 = now_ns();
  struct timespec d = {hold_ms / 1000, (long)(hold_ms % 1000) * 1000000L};
  if (kind == 'x') {
    FILE *f = fopen(counter, "r");
    long v = 0;
    if (!f || fscanf(f, "%ld", &v) != 1)
      return -1;
    fclose(f);
    nanosleep(&d, NULL);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.%ld", counter, (long)getpid());
    if (!(f = fopen(tmp, "w")))
      return -1;
    fprintf(f, "%ld\n", v + 1);
    if (fclose(f) || rename(tmp, counter))
      return -1;
  } else {
    nanosleep(&d, NULL);
  }
  char line[256];
  int n =
      snprintf(line, sizeof line, "%lld %lld %c %s\n", t0, now_ns(), kind, who);
  /* one short O_APPEND write: lines of concurrent workers never mix */
  int fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd < 0 || write(fd, line, (size_t)n) != n)
    return -1;
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 10) {
    fprintf(stderr, "usage: zk_async HOSTS PATH MODE K COUNTER LOG HOLD_MS "
                    "LIMIT_S COMPAT\n");
    return 2;
  }
  const char *hosts = argv[1], *path = argv[2], *mode = argv[3];
  int k = atoi(argv[4]), hold_ms = atoi(argv[7]), limit = atoi(argv[8]);
  int permits = strncmp(mode, "semaphore:", 10) == 0 ? atoi(mode + 10) : 0;
  if (!permits && strcmp(mode, "mutex") != 0)
    return 2;
  zklock_client_opts o;
  memset(&o, 0, sizeof o);
  o.dispatch = ZKLOCK_DISPATCH_LOOP;
  o.compat = strcmp(argv[9], "curator") == 0 ? ZKLOCK_COMPAT_CURATOR
             : strcmp(argv[9], "kazoo") == 0 ? ZKLOCK_COMPAT_KAZOO
                                             : ZKLOCK_COMPAT_NATIVE;
  char who[64];
  snprintf(who, sizeof who, "zkasync-%s-%ld", mode, (long)getpid());
  zklock_client *c;
  int rc = zklock_client_open(hosts, &o, &c);
  if (rc) {
    fprintf(stderr, "open: %s\n", zklock_strerror(rc));
    return 1;
  }
  zklock_mutex *m = NULL;
  zklock_semaphore *s = NULL;
  rc = permits ? zklock_semaphore_new(c, path, permits, &s)
               : zklock_mutex_new(c, path, &m);
  int status = 0;
  for (int i = 0; rc == ZKLOCK_OK && i < k; i++) {
    result r = {0, 0};
    rc = permits ? zklock_semaphore_acquire_async(s, limit * 1000, on_done, &r)
                 : zklock_mutex_lock_async(m, limit * 1000, on_done, &r);
    if (rc || run_until(c, &r))
      break;
    if ((rc = r.rc) != ZKLOCK_OK)
      break;
    if (hold(argv[5], argv[6], hold_ms, permits ? 'l' : 'x', who)) {
      status = 1;
      break;
    }
    r.done = 0;
    rc = permits ? zklock_semaphore_release(s)
                 : zklock_mutex_unlock_async(m, on_done, &r);
    if (rc == ZKLOCK_OK && !permits && !run_until(c, &r))
      rc = r.rc;
  }
  if (rc) {
    fprintf(stderr, "%s: %s\n", who, zklock_strerror(rc));
    status = rc == ZKLOCK_ETIMEDOUT ? 3 : 1;
    if (status == 3) {
      printf("timed out\n");
      fflush(stdout);
      sleep(3);
    }
  }
  zklock_mutex_free(m);
  zklock_semaphore_free(s);
  zklock_client_close(c);
  return status;
}
