/* stats_poll: a poll() loop that keeps locks busy and prints the client's
 * statistics (zklock_client_stats) once a second.
 *
 *   stats_poll HOSTS PATH [SECONDS] [HANDLES]
 *
 * HANDLES (default 4) handles on one loop-mode client contend for the
 * mutex at PATH: each one granted unlocks and asks again. Every second
 * (the poll timeout doubles as the reporting clock) it prints one line:
 * acquisitions, waits in flight, holds, requests sent, watch events and
 * the median and 99th percentile wait, read from the log2 histogram
 * (the upper edge of the bucket, so at most twice the truth). Ends after
 * SECONDS (default 3) with a last line and exit 0 if some lock was
 * granted. */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <zklock.h>

static int stopping;

static void relock(int rc, void *arg);

static void granted(int rc, void *arg) {
  zklock_mutex *m = arg;
  if (rc != ZKLOCK_OK) {
    if (!stopping) /* freeing the handles cancels the waits */
      fprintf(stderr, "lock: %s\n", zklock_strerror(rc));
    return;
  }
  zklock_mutex_unlock_async(m, stopping ? NULL : relock, m);
}

static void relock(int rc, void *arg) {
  (void)rc;
  if (!stopping)
    zklock_mutex_lock_async(arg, 30000, granted, arg);
}

/* Upper edge, in microseconds, of the bucket holding quantile q. */
static uint64_t quantile_us(const uint64_t *h, double q) {
  uint64_t n = 0, seen = 0;
  for (int i = 0; i < ZKLOCK_STATS_BUCKETS; i++)
    n += h[i];
  for (int i = 0; i < ZKLOCK_STATS_BUCKETS; i++)
    if ((seen += h[i]) > 0 && (double)seen >= q * (double)n)
      return (uint64_t)2 << i;
  return 0;
}

static uint64_t acquired(const zklock_stats *s) {
  return s->acquired_mutex + s->acquired_read + s->acquired_write +
         s->acquired_semaphore + s->acquired_election;
}

static void report(zklock_client *c, int t) {
  zklock_stats s = {.size = sizeof s}; /* the size first: ABI growth */
  if (zklock_client_stats(c, &s) != ZKLOCK_OK)
    return;
  printf("t=%ds acquired %llu waiting %lld held %lld requests %llu "
         "watch_events %llu wait p50 <%llu us p99 <%llu us\n",
         t, (unsigned long long)acquired(&s), (long long)s.waiting,
         (long long)s.held, (unsigned long long)s.requests,
         (unsigned long long)s.watch_events,
         (unsigned long long)quantile_us(s.wait_us, 0.5),
         (unsigned long long)quantile_us(s.wait_us, 0.99));
  fflush(stdout);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 5) {
    fprintf(stderr, "usage: %s HOSTS PATH [SECONDS] [HANDLES]\n", argv[0]);
    return 2;
  }
  int secs = argc > 3 ? atoi(argv[3]) : 3;
  int n = argc > 4 ? atoi(argv[4]) : 4;
  if (secs < 1 || n < 1 || n > 64)
    return 2;
  zklock_client_opts o = {.dispatch = ZKLOCK_DISPATCH_LOOP};
  zklock_client *c;
  int rc = zklock_client_open(argv[1], &o, &c);
  if (rc != ZKLOCK_OK) {
    fprintf(stderr, "connect %s: %s\n", argv[1], zklock_strerror(rc));
    return 1;
  }
  zklock_mutex *m[64] = {NULL};
  for (int i = 0; i < n && rc == ZKLOCK_OK; i++) {
    rc = zklock_mutex_new(c, argv[2], &m[i]);
    if (rc == ZKLOCK_OK)
      rc = zklock_mutex_lock_async(m[i], 30000, granted, m[i]);
  }
  struct pollfd p = {.fd = zklock_client_fd(c), .events = POLLIN};
  int64_t start = now_ms(), next = start + 1000;
  for (int t = 1; rc == ZKLOCK_OK && t <= secs;) {
    int wait = (int)(next - now_ms());
    if (wait > 0 && poll(&p, 1, wait) > 0)
      zklock_client_dispatch(c);
    if (now_ms() >= next) { /* the reporting tick */
      report(c, t++);
      next += 1000;
    }
  }
  stopping = 1;
  zklock_stats s = {.size = sizeof s};
  zklock_client_stats(c, &s);
  for (int i = 0; i < n; i++)
    zklock_mutex_free(m[i]); /* ends waits, releases holds */
  zklock_client_close(c);
  printf("done: %llu acquisitions in %d s\n", (unsigned long long)acquired(&s),
         secs);
  return rc == ZKLOCK_OK && acquired(&s) > 0 ? 0 : 1;
}
