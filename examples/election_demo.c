/* election_demo: candidates take turns leading; an observer follows.
 *
 *   election_demo HOSTS PATH CANDIDATES
 *
 * Forks CANDIDATES processes, each with its own ZooKeeper session. Each
 * campaigns at PATH, leads for a moment and resigns. This process
 * observes the election without campaigning and prints every change of
 * leader; terms must strictly increase. Exits 1 otherwise. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zklock.h>

typedef struct {
  pthread_mutex_t mu;
  int leaders, none, ordered;
  int64_t last_term;
} follow;

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Runs on the client's callback thread: keep it short. */
static void on_leader(const char *id, int64_t term, void *arg) {
  follow *f = arg;
  pthread_mutex_lock(&f->mu);
  if (id) {
    printf("observer: leader %s, term %lld\n", id, (long long)term);
    f->leaders++;
    if (term <= f->last_term)
      f->ordered = 0;
    f->last_term = term;
    f->none = 0;
  } else {
    printf("observer: no leader\n");
    f->none = 1;
  }
  fflush(stdout);
  pthread_mutex_unlock(&f->mu);
}

static int candidate(const char *hosts, const char *path, int id) {
  char name[32];
  snprintf(name, sizeof name, "candidate-%d", id);
  zklock_client *c;
  zklock_election *e = NULL;
  int rc = zklock_client_open(hosts, NULL, &c);
  if (rc == ZKLOCK_OK)
    rc = zklock_election_new(c, path, name, &e);
  if (rc == ZKLOCK_OK)
    rc = zklock_election_campaign(e, 60000);
  if (rc == ZKLOCK_OK) {
    printf("%s: leading, term %lld\n", name,
           (long long)zklock_election_token(e));
    fflush(stdout);
    sleep_ms(200); /* the leader's work */
    rc = zklock_election_resign(e);
  }
  if (rc != ZKLOCK_OK)
    fprintf(stderr, "%s: %s\n", name, zklock_strerror(rc));
  zklock_election_free(e);
  zklock_client_close(c);
  return rc == ZKLOCK_OK ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s HOSTS PATH CANDIDATES\n", argv[0]);
    return 2;
  }
  int n = atoi(argv[3]);
  if (n < 1)
    return 2;
  /* Fork before any ZooKeeper thread exists in this process; the
   * candidates wait (pipe) until the observer has seen the start. */
  int go[2];
  if (pipe(go))
    return 2;
  for (int i = 0; i < n; i++)
    if (fork() == 0) {
      char ch;
      close(go[1]);
      if (read(go[0], &ch, 1) < 0)
        _exit(1);
      _exit(candidate(argv[1], argv[2], i + 1));
    }
  close(go[0]);
  follow f = {.mu = PTHREAD_MUTEX_INITIALIZER, .ordered = 1, .last_term = -1};
  zklock_client *c;
  zklock_observer *o = NULL;
  int rc = zklock_client_open(argv[1], NULL, &c);
  if (rc == ZKLOCK_OK)
    rc = zklock_election_observe(c, argv[2], on_leader, &f, &o);
  if (rc != ZKLOCK_OK)
    fprintf(stderr, "observer: %s\n", zklock_strerror(rc));
  for (int i = 0; rc == ZKLOCK_OK && i < 100; i++) {
    pthread_mutex_lock(&f.mu);
    int seen = f.none || f.leaders;
    pthread_mutex_unlock(&f.mu);
    if (seen)
      break;
    sleep_ms(20);
  }
  close(go[1]); /* EOF: the candidates start */
  int failed = 0, st;
  while (wait(&st) > 0)
    failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
  for (int i = 0; i < 100; i++) { /* the last resignation reaches us */
    pthread_mutex_lock(&f.mu);
    int done = f.none;
    pthread_mutex_unlock(&f.mu);
    if (done)
      break;
    sleep_ms(50);
  }
  zklock_observer_free(o);
  zklock_client_close(c);
  printf("%d candidates: %d leaders observed, terms strictly increasing: "
         "%s, %d failed\n",
         n, f.leaders, f.ordered ? "yes" : "no", failed);
  return rc || failed || !f.ordered || f.leaders != n ? 1 : 0;
}
