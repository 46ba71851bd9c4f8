/* Client statistics (src/stats.c): the hooks the client and the engine
 * call, each a one-liner at its call site, and the counting of requests.
 * Included by zklock_int.h. Not installed.
 *
 * Every hook runs with the client mutex held, and zklock_client_stats
 * copies under it; only the request counter is bumped from wherever a
 * request goes out, so it alone is atomic. */
#ifndef ZKLOCK_STATS_H
#define ZKLOCK_STATS_H

#include "zklock.h"

struct zklock__lock;
struct zklock__held;

/* An acquisition starts / ends with rc (engine, mutex held). */
void zklock__stat_begin(struct zklock__lock *l);
void zklock__stat_end(struct zklock__lock *l, char kind, int rc);
/* A hold granted outside the engine (a semaphore in a profile; l->kind
 * set). */
void zklock__stat_granted(struct zklock__lock *l);
/* A hold ends (unlock, free): before its node is unlinked. */
void zklock__stat_drop(zklock_client *c, const struct zklock__held *h);
/* Mutex held: a hold turned LOST. */
void zklock__stat_lost(zklock_client *c, const struct zklock__held *h);
/* A request went out on zh (whose context is its client). */
void zklock__stat_request(zhandle_t *zh);

static inline int zklock__sent(zhandle_t *zh, int zrc) {
  if (zrc == ZOK)
    zklock__stat_request(zh);
  return zrc;
}

/* Every request the library sends is counted where it is sent, without
 * touching the call sites: each asynchronous call of the C client the
 * library uses is wrapped by a macro of the same name (a macro does not
 * expand inside itself, and the parentheses name the real function).
 * zh is evaluated twice: call sites pass plain handles. */
#define zoo_acreate(zh, ...)                                                   \
  zklock__sent((zh), (zoo_acreate)((zh), __VA_ARGS__))
#define zoo_acreate2(zh, ...)                                                  \
  zklock__sent((zh), (zoo_acreate2)((zh), __VA_ARGS__))
#define zoo_adelete(zh, ...)                                                   \
  zklock__sent((zh), (zoo_adelete)((zh), __VA_ARGS__))
#define zoo_aexists(zh, ...)                                                   \
  zklock__sent((zh), (zoo_aexists)((zh), __VA_ARGS__))
#define zoo_aget(zh, ...) zklock__sent((zh), (zoo_aget)((zh), __VA_ARGS__))
#define zoo_aget_children(zh, ...)                                             \
  zklock__sent((zh), (zoo_aget_children)((zh), __VA_ARGS__))
#define zoo_amulti(zh, ...) zklock__sent((zh), (zoo_amulti)((zh), __VA_ARGS__))
#define zoo_aset(zh, ...) zklock__sent((zh), (zoo_aset)((zh), __VA_ARGS__))
#define zoo_async(zh, ...) zklock__sent((zh), (zoo_async)((zh), __VA_ARGS__))
#define zoo_add_auth(zh, ...)                                                  \
  zklock__sent((zh), (zoo_add_auth)((zh), __VA_ARGS__))

#endif
