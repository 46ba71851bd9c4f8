/* The kinds of lock zklock runs COMMAND under, one row each in kinds[]:
 * a mutex, the read or write side of a read-write lock, a multi-lock
 * (--also), a semaphore permit (--permits) and an election's lead
 * (elect). The operations come grouped by what they do. */
#include <string.h>

#include "cli.h"

/* The handle at PATH (with the --also paths). */
static int mx_make(zklock_client *c, const cli_opts *o, lock_handle *h) {
  return zklock_mutex_new(c, o->path, &h->m);
}
static int rw_make(zklock_client *c, const cli_opts *o, lock_handle *h) {
  return zklock_rwlock_new(c, o->path, &h->rw);
}
static int ml_make(zklock_client *c, const cli_opts *o, lock_handle *h) {
  const char *paths[64] = {o->path};
  memcpy(paths + 1, o->also, (size_t)o->nalso * sizeof *paths);
  return zklock_multilock_new(c, paths, o->nalso + 1, &h->ml);
}
static int sm_make(zklock_client *c, const cli_opts *o, lock_handle *h) {
  return zklock_semaphore_new(c, o->path, o->permits, &h->sem);
}
static int el_make(zklock_client *c, const cli_opts *o, lock_handle *h) {
  return zklock_election_new(c, o->path, o->id, &h->el);
}

/* Waiting at most ms for it. */
static int mx_lock(lock_handle h, int ms) { return zklock_mutex_lock(h.m, ms); }
static int rd_lock(lock_handle h, int ms) {
  return zklock_rwlock_rdlock(h.rw, ms);
}
static int wr_lock(lock_handle h, int ms) {
  return zklock_rwlock_wrlock(h.rw, ms);
}
static int ml_lock(lock_handle h, int ms) {
  return zklock_multilock_lock(h.ml, ms);
}
static int sm_lock(lock_handle h, int ms) {
  return zklock_semaphore_acquire(h.sem, ms);
}
static int el_lock(lock_handle h, int ms) {
  return zklock_election_campaign(h.el, ms);
}

/* ZKLOCK_TOKEN: a multi-lock's is PATH's. */
static int64_t mx_token(lock_handle h) { return zklock_mutex_token(h.m); }
static int64_t rw_token(lock_handle h) { return zklock_rwlock_token(h.rw); }
static int64_t ml_token(lock_handle h) {
  return zklock_multilock_token(h.ml, 0);
}
static int64_t sm_token(lock_handle h) { return zklock_semaphore_token(h.sem); }
static int64_t el_token(lock_handle h) { return zklock_election_token(h.el); }

/* ZKLOCK_NODE: only the one-node kinds have one. */
static const char *mx_node(lock_handle h) { return zklock_mutex_node(h.m); }
static const char *rw_node(lock_handle h) { return zklock_rwlock_node(h.rw); }

/* Letting go once COMMAND is done. */
static int mx_unlock(lock_handle h) { return zklock_mutex_unlock(h.m); }
static int rw_unlock(lock_handle h) { return zklock_rwlock_unlock(h.rw); }
static int ml_unlock(lock_handle h) { return zklock_multilock_unlock(h.ml); }
static int sm_unlock(lock_handle h) { return zklock_semaphore_release(h.sem); }
static int el_unlock(lock_handle h) { return zklock_election_resign(h.el); }

static void mx_free(lock_handle h) { zklock_mutex_free(h.m); }
static void rw_free(lock_handle h) { zklock_rwlock_free(h.rw); }
static void ml_free(lock_handle h) { zklock_multilock_free(h.ml); }
static void sm_free(lock_handle h) { zklock_semaphore_free(h.sem); }
static void el_free(lock_handle h) { zklock_election_free(h.el); }

/* -n and it is taken. */
static void taken(const char *path, const char *holder) {
  cli_msg("%s is locked by another owner%s", path, holder);
}
static void led(const char *path, const char *holder) {
  cli_msg("another candidate leads %s%s", path, holder);
}

static const kind_ops kinds[] = {
    /* mutex, -s, -w */
    {mx_make, mx_lock, mx_token, mx_node, mx_unlock, mx_free, taken,
     "exclusive"},
    {rw_make, rd_lock, rw_token, rw_node, rw_unlock, rw_free, taken, "shared"},
    {rw_make, wr_lock, rw_token, rw_node, rw_unlock, rw_free, taken,
     "exclusive"},
    /* --also, --permits, elect */
    {ml_make, ml_lock, ml_token, NULL, ml_unlock, ml_free, taken, "exclusive"},
    {sm_make, sm_lock, sm_token, NULL, sm_unlock, sm_free, taken, "exclusive"},
    {el_make, el_lock, el_token, NULL, el_unlock, el_free, led, "exclusive"},
};

/* The options name one kind at most (check_run_opts). */
const kind_ops *kind_for(const cli_opts *o) {
  if (o->nalso)
    return &kinds[3];
  if (o->permits)
    return &kinds[4];
  if (o->elect)
    return &kinds[5];
  return &kinds[o->shared];
}
