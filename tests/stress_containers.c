/* Driver for tests/test_containers.sh (issue 12, bug 2): threads on a few
 * clients take mutexes at deep paths with idle gaps, while the servers
 * reap empty container parents every 100 ms. A valid acquire must never
 * fail (it did with ZKLOCK_EZK, ZNONODE: a parent reaped between its
 * creation and the lock node's), and no two holders may overlap.
 *
 * usage: stress_containers HOSTS ROOT SECONDS
 * Prints the counts; exit 0 iff no acquire failed, no overlap was seen
 * and enough acquires ran for the check to mean something. */
#include "zkt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define NCLIENTS 4
#define NTHREADS 12
#define NPATHS 6
/* Fewer acquires than this in a run means the run proves nothing. */
#define MIN_ACQUIRES 200

static zklock_client *clients[NCLIENTS];
static char paths[NPATHS][512];
static atomic_int inside[NPATHS];
static atomic_long acquires, failures, overlaps;
static int64_t end_ms;

static void *worker(void *arg) {
  int id = (int)(intptr_t)arg;
  unsigned seed = (unsigned)id * 7919u + 1;
  zklock_mutex *m[NPATHS];
  for (int p = 0; p < NPATHS; p++)
    if (zklock_mutex_new(clients[id % NCLIENTS], paths[p], &m[p]) !=
        ZKLOCK_OK) {
      fprintf(stderr, "thread %d: zklock_mutex_new failed\n", id);
      atomic_fetch_add(&failures, 1);
      return NULL;
    }
  while (zkt_now_ms() < end_ms) {
    int p = (int)(rand_r(&seed) % NPATHS);
    int rc = zklock_mutex_lock(m[p], 10000);
    if (rc != ZKLOCK_OK) {
      /* Each failure is reported: the kind tells the race apart from an
       * overloaded machine (ETIMEDOUT). */
      fprintf(stderr, "thread %d: lock %s: %s (ZooKeeper rc %d)\n", id,
              paths[p], zklock_err_name(rc), zklock_last_zk_error());
      atomic_fetch_add(&failures, 1);
      zkt_sleep_ms(50);
      continue;
    }
    atomic_fetch_add(&acquires, 1);
    if (atomic_fetch_add(&inside[p], 1) != 0)
      atomic_fetch_add(&overlaps, 1);
    zkt_sleep_ms(1 + (int)(rand_r(&seed) % 5));
    atomic_fetch_sub(&inside[p], 1);
    rc = zklock_mutex_unlock(m[p]);
    if (rc != ZKLOCK_OK) {
      fprintf(stderr, "thread %d: unlock %s: %s\n", id, paths[p],
              zklock_err_name(rc));
      atomic_fetch_add(&failures, 1);
    }
    /* Idle gaps longer than the reaper's interval let emptied parents go
     * (the server reaps a container once it had a child and has none). */
    zkt_sleep_ms((int)(rand_r(&seed) % 300));
  }
  for (int p = 0; p < NPATHS; p++)
    zklock_mutex_free(m[p]);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s HOSTS ROOT SECONDS\n", argv[0]);
    return 2;
  }
  /* Five levels below ROOT, the last one the lock path. */
  for (int p = 0; p < NPATHS; p++)
    snprintf(paths[p], sizeof paths[p], "%s/s%d/l2/l3/l4/lock", argv[2], p);
  for (int i = 0; i < NCLIENTS; i++)
    if (zklock_client_open(argv[1], NULL, &clients[i]) != ZKLOCK_OK) {
      fprintf(stderr, "cannot open client %d\n", i);
      return 1;
    }
  end_ms = zkt_now_ms() + atoi(argv[3]) * 1000;
  pthread_t th[NTHREADS];
  for (int i = 0; i < NTHREADS; i++)
    pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
  for (int i = 0; i < NTHREADS; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < NCLIENTS; i++)
    zklock_client_close(clients[i]);
  long a = atomic_load(&acquires), f = atomic_load(&failures),
       o = atomic_load(&overlaps);
  printf("acquires %ld, failed %ld, overlapping holders %ld\n", a, f, o);
  if (a < MIN_ACQUIRES)
    printf("too few acquires (< %d): the run proves nothing\n", MIN_ACQUIRES);
  return f == 0 && o == 0 && a >= MIN_ACQUIRES ? 0 : 1;
}
