/* Deliberately broken locks on the raw ZooKeeper C API, for showing that
 * the fault checker catches violations. Never use these. */
#ifndef ZKFAULT_NAIVE_H
#define ZKFAULT_NAIVE_H

#include <stdint.h>
#include <zookeeper/zookeeper.h>

typedef enum {
  NAIVE_NOWAIT = 1, /* creates its node and "holds" at once: no queue */
  NAIVE_NOLOST = 2  /* queues correctly but ignores session expiry */
} naive_kind;

typedef struct naive_lock naive_lock;

naive_lock *naive_open(const char *hosts, int session_ms, naive_kind kind,
                       const char *path);
void naive_close(naive_lock *n);
/* 0 held, -1 timed out or failed. */
int naive_acquire(naive_lock *n, int timeout_ms);
void naive_release(naive_lock *n);
int64_t naive_token(const naive_lock *n);
/* The live handle (reopened after expiry, as a careless app would). */
zhandle_t *naive_zhandle(naive_lock *n);

#endif
