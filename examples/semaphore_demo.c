/* semaphore_demo: at most PERMITS processes inside at once.
 *
 *   semaphore_demo HOSTS PATH PERMITS PROCESSES TURNS
 *
 * Forks PROCESSES processes, each with its own ZooKeeper session. Each
 * takes a lease of the semaphore at PATH TURNS times, works for a moment
 * and releases it. A counter in shared memory checks that no more than
 * PERMITS are ever inside. Exits 1 if the limit was ever broken. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zklock.h>

typedef struct {
  atomic_int inside, most, broken;
} board;

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int worker(const char *hosts, const char *path, int permits, int id,
                  int turns, board *b) {
  zklock_client *c;
  zklock_semaphore *s = NULL;
  int rc = zklock_client_open(hosts, NULL, &c);
  if (rc == ZKLOCK_OK)
    rc = zklock_semaphore_new(c, path, permits, &s);
  for (int t = 0; rc == ZKLOCK_OK && t < turns; t++) {
    rc = zklock_semaphore_acquire(s, 30000);
    if (rc != ZKLOCK_OK)
      break;
    int n = atomic_fetch_add(&b->inside, 1) + 1;
    if (n > permits)
      atomic_fetch_add(&b->broken, 1);
    int m = atomic_load(&b->most);
    while (n > m && !atomic_compare_exchange_weak(&b->most, &m, n))
      ;
    printf("process %d: inside (token %lld, %d inside)\n", id,
           (long long)zklock_semaphore_token(s), n);
    fflush(stdout);
    sleep_ms(50);
    atomic_fetch_sub(&b->inside, 1); /* leave before releasing */
    rc = zklock_semaphore_release(s);
  }
  if (rc != ZKLOCK_OK)
    fprintf(stderr, "process %d: %s\n", id, zklock_strerror(rc));
  zklock_semaphore_free(s);
  zklock_client_close(c);
  return rc == ZKLOCK_OK ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s HOSTS PATH PERMITS PROCESSES TURNS\n", argv[0]);
    return 2;
  }
  int permits = atoi(argv[3]), procs = atoi(argv[4]), turns = atoi(argv[5]);
  if (permits < 1 || procs < 1 || turns < 1)
    return 2;
  board *b = mmap(NULL, sizeof *b, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (b == MAP_FAILED)
    return 2;
  for (int i = 0; i < procs; i++)
    if (fork() == 0)
      _exit(worker(argv[1], argv[2], permits, i + 1, turns, b));
  int failed = 0, st;
  while (wait(&st) > 0)
    failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
  printf("%d processes x %d turns, %d permits: most inside at once %d, "
         "limit broken %d times, %d processes failed\n",
         procs, turns, permits, atomic_load(&b->most), atomic_load(&b->broken),
         failed);
  return failed || atomic_load(&b->broken) ? 1 : 0;
}
