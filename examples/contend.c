/* contend: several processes take turns on one lock.
 *
 *   contend HOSTS PATH PROCS TURNS
 *
 * Forks PROCS workers, each with its own session; every worker takes the
 * lock TURNS times and prints its turn and fencing token. Tokens printed
 * in lock order must strictly increase; the parent checks that. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zklock.h>

static int worker(const char *hosts, const char *path, int id, int turns,
                  int out) {
  zklock_client *c;
  zklock_mutex *m = NULL;
  int rc = zklock_client_open(hosts, NULL, &c);
  if (rc == ZKLOCK_OK)
    rc = zklock_mutex_new(c, path, &m);
  for (int t = 0; rc == ZKLOCK_OK && t < turns; t++) {
    rc = zklock_mutex_lock(m, 30000);
    if (rc != ZKLOCK_OK)
      break;
    long long token = zklock_mutex_token(m);
    printf("worker %d (pid %d) turn %d token %lld\n", id, (int)getpid(), t + 1,
           token);
    fflush(stdout);
    /* report the token in lock order: we hold the lock while writing */
    dprintf(out, "%lld\n", token);
    struct timespec ts = {0, 50 * 1000000L}; /* the "work" */
    nanosleep(&ts, NULL);
    rc = zklock_mutex_unlock(m);
  }
  if (rc != ZKLOCK_OK)
    fprintf(stderr, "worker %d: %s\n", id, zklock_strerror(rc));
  zklock_mutex_free(m);
  zklock_client_close(c);
  return rc == ZKLOCK_OK ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s HOSTS PATH PROCS TURNS\n", argv[0]);
    return 2;
  }
  int procs = atoi(argv[3]), turns = atoi(argv[4]);
  int fds[2];
  if (procs < 1 || turns < 1 || pipe(fds) != 0)
    return 2;
  for (int i = 0; i < procs; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      _exit(worker(argv[1], argv[2], i + 1, turns, fds[1]));
    }
  }
  close(fds[1]);
  FILE *in = fdopen(fds[0], "r");
  long long prev = -1, token;
  int n = 0, ordered = 1;
  while (in && fscanf(in, "%lld", &token) == 1) {
    ordered &= token > prev;
    prev = token;
    n++;
  }
  int failed = 0, st;
  while (wait(&st) > 0)
    failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
  printf("%d turns by %d processes, tokens strictly increasing: %s\n", n, procs,
         ordered ? "yes" : "NO");
  return failed || !ordered || n != procs * turns;
}
