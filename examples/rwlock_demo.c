/* rwlock_demo: readers share, writers exclude, across processes.
 *
 *   rwlock_demo HOSTS PATH READERS WRITERS TURNS
 *
 * Forks READERS + WRITERS processes, each with its own ZooKeeper session.
 * Every process takes the read-write lock at PATH (read or write) TURNS
 * times and prints who holds what. Counters in shared memory check the
 * rule: while a writer holds the lock nobody else does; readers may
 * overlap. Exits 1 if the rule was ever broken. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zklock.h>

/* Shared between the processes (an anonymous shared mapping). */
typedef struct {
  atomic_int readers, writers; /* current holders */
  atomic_int max_readers;      /* most readers seen at once */
  atomic_int violations;
} board;

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int worker(const char *hosts, const char *path, char role, int id,
                  int turns, board *b) {
  zklock_client *c;
  zklock_rwlock *l = NULL;
  int rc = zklock_client_open(hosts, NULL, &c);
  if (rc == ZKLOCK_OK)
    rc = zklock_rwlock_new(c, path, &l);
  for (int t = 0; rc == ZKLOCK_OK && t < turns; t++) {
    rc = role == 'w' ? zklock_rwlock_wrlock(l, 30000)
                     : zklock_rwlock_rdlock(l, 30000);
    if (rc != ZKLOCK_OK)
      break;
    if (role == 'w') {
      int w = atomic_fetch_add(&b->writers, 1) + 1;
      int r = atomic_load(&b->readers);
      if (w != 1 || r != 0)
        atomic_fetch_add(&b->violations, 1);
      printf("writer %d (pid %d): WRITE  token %lld  [writers %d, readers "
             "%d]\n",
             id, (int)getpid(), (long long)zklock_rwlock_token(l), w, r);
    } else {
      int r = atomic_fetch_add(&b->readers, 1) + 1;
      int w = atomic_load(&b->writers);
      if (w != 0)
        atomic_fetch_add(&b->violations, 1);
      int m = atomic_load(&b->max_readers);
      while (r > m && !atomic_compare_exchange_weak(&b->max_readers, &m, r))
        ;
      printf("reader %d (pid %d): read   token %lld  [writers %d, readers "
             "%d]\n",
             id, (int)getpid(), (long long)zklock_rwlock_token(l), w, r);
    }
    fflush(stdout);
    sleep_ms(role == 'w' ? 50 : 150); /* readers linger so they overlap */
    /* Leave the counters before releasing, while still holding. */
    atomic_fetch_sub(role == 'w' ? &b->writers : &b->readers, 1);
    rc = zklock_rwlock_unlock(l);
  }
  if (rc != ZKLOCK_OK)
    fprintf(stderr, "%s %d: %s\n", role == 'w' ? "writer" : "reader", id,
            zklock_strerror(rc));
  zklock_rwlock_free(l);
  zklock_client_close(c);
  return rc == ZKLOCK_OK ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s HOSTS PATH READERS WRITERS TURNS\n", argv[0]);
    return 2;
  }
  int readers = atoi(argv[3]), writers = atoi(argv[4]), turns = atoi(argv[5]);
  if (readers < 0 || writers < 0 || readers + writers < 1 || turns < 1)
    return 2;
  board *b = mmap(NULL, sizeof *b, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (b == MAP_FAILED)
    return 2;
  for (int i = 0; i < readers + writers; i++) {
    char role = i < readers ? 'r' : 'w';
    int id = role == 'r' ? i + 1 : i - readers + 1;
    if (fork() == 0)
      _exit(worker(argv[1], argv[2], role, id, turns, b));
  }
  int failed = 0, st;
  while (wait(&st) > 0)
    failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
  printf("%d readers, %d writers, %d turns each: most readers at once %d, "
         "rule broken %d times, %d processes failed\n",
         readers, writers, turns, atomic_load(&b->max_readers),
         atomic_load(&b->violations), failed);
  return failed || atomic_load(&b->violations) ? 1 : 0;
}
