/* zklock_client_stats and the hooks that feed it (declared in
 * src/stats.h). Counters live in the client (c->stats), are bumped with
 * the client mutex held (the request counter alone atomically: requests
 * go out from many places) and copied under it. A hold's timestamp is in
 * its zklock__held: the wait's start until the grant, then the grant's. */
#include "compat.h"
#include "zklock_int.h"

#include <stddef.h>
#include <string.h>
#include <time.h>

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* log2 bucket of us: 0 for [0, 2), i for [2^i, 2^(i+1)), capped. */
static int bucket(int64_t us) {
  if (us < 2)
    return 0;
  int b = 63 - __builtin_clzll((unsigned long long)us);
  return b < ZKLOCK_STATS_BUCKETS ? b : ZKLOCK_STATS_BUCKETS - 1;
}

static void record(uint64_t *hist, uint64_t *sum, int64_t us) {
  if (us < 0)
    us = 0;
  hist[bucket(us)]++;
  *sum += (uint64_t)us;
}

void zklock__stat_begin(zklock__lock *l) {
  if (l->h.quiet) /* a profile semaphore's inner mutex: not the user's */
    return;
  l->c->stats.waiting++;
  l->h.stat_t0_us = now_us();
}

/* The grant of a hold: by recipe, and the hold's clock starts. */
static void granted(zklock__lock *l, char kind, int64_t now) {
  zklock_stats *s = &l->c->stats;
  if (kind == 's')
    s->acquired_semaphore++;
  else if (l->recipe == ZKLOCK__R_ELECTION)
    s->acquired_election++;
  else if (l->recipe == ZKLOCK__R_RWLOCK)
    ++*(kind == 'r' ? &s->acquired_read : &s->acquired_write);
  else
    s->acquired_mutex++;
  s->held++;
  l->h.stat_t0_us = now;
}

void zklock__stat_end(zklock__lock *l, char kind, int rc) {
  if (l->h.quiet)
    return;
  zklock_stats *s = &l->c->stats;
  s->waiting--;
  int64_t now = now_us();
  switch (rc) {
  case ZKLOCK_OK:
    record(s->wait_us, &s->wait_us_sum, now - l->h.stat_t0_us);
    granted(l, kind, now);
    break;
  case ZKLOCK_EBUSY:
    s->busy++;
    break;
  case ZKLOCK_ETIMEDOUT:
    s->timeouts++;
    break;
  case ZKLOCK_ECANCELED:
    s->cancels++;
    break;
  default:
    s->failures++;
  }
}

void zklock__stat_granted(zklock__lock *l) {
  if (!l->h.quiet)
    granted(l, l->kind, now_us());
}

void zklock__stat_drop(zklock_client *c, const zklock__held *h) {
  if (!h->linked || h->quiet)
    return; /* counted once, when the hold ends */
  c->stats.held--;
  record(c->stats.hold_us, &c->stats.hold_us_sum, now_us() - h->stat_t0_us);
}

void zklock__stat_lost(zklock_client *c, const zklock__held *h) {
  if (!h->quiet)
    c->stats.locks_lost++;
}

void zklock__stat_request(zhandle_t *zh) {
  /* The library's handles carry their client as context; a raw handle
   * of the application's has another or none, and is never passed here
   * (only library code sees the macros of src/stats.h). */
  zklock_client *c = (zklock_client *)zoo_get_context(zh);
  if (c)
    __atomic_fetch_add(&c->stat_requests, 1, __ATOMIC_RELAXED);
}

int zklock_client_stats(zklock_client *c, zklock_stats *out) {
  if (!c || c->magic != ZKLOCK__MAGIC_CLIENT || !out)
    return ZKLOCK_EINVAL;
  size_t want = out->size;
  if (want < offsetof(zklock_stats, acquired_mutex) + sizeof(uint64_t))
    return ZKLOCK_EINVAL;
  pthread_mutex_lock(&c->mu);
  zklock_stats s = c->stats;
  s.requests = __atomic_load_n(&c->stat_requests, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&c->mu);
  /* A caller built against an older, shorter struct gets its prefix; a
   * newer, longer one zeros past what we know, and size says how much
   * we filled. */
  s.size = want < sizeof s ? want : sizeof s;
  memcpy(out, &s, s.size);
  if (want > sizeof s)
    memset((char *)out + sizeof s, 0, want - sizeof s);
  return ZKLOCK_OK;
}
