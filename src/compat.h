/* Naming profiles: how Curator 5.4 and kazoo 2.8 name, order and wait for
 * lock nodes, so the engine can queue with them on one path (issue 15).
 * Pure functions, no ZooKeeper calls; the rules and their sources are in
 * the comment at the top of src/compat.c. Not installed. */
#ifndef ZKLOCK_COMPAT_H
#define ZKLOCK_COMPAT_H

#include "zklock_int.h"

#include <stddef.h>
#include <stdint.h>

/* Profiles (values of zklock_client_opts.compat once it exists). */
enum {
  ZKLOCK__P_NATIVE = 0,
  ZKLOCK__P_CURATOR = 1,
  ZKLOCK__P_KAZOO = 2,
  /* Look-alike only, never a profile: org.apache.zookeeper.recipes.lock
   * ("x-<session id>-<seq>"), so `zklock status` can name it. */
  ZKLOCK__P_ZKRECIPES = 3,
  ZKLOCK__P_COUNT = 3 /* profiles one can select: 0..2 */
};

/* Recipes: which of a library's layouts a lock path follows. */
enum {
  ZKLOCK__R_MUTEX = 0,   /* Curator InterProcessMutex, kazoo Lock */
  ZKLOCK__R_RWLOCK = 1,  /* InterProcessReadWriteLock, kazoo Read/WriteLock */
  ZKLOCK__R_SEMLOCK = 2, /* the mutex guarding a semaphore's lease pool */
  ZKLOCK__R_ELECTION = 3 /* Curator LeaderLatch, kazoo Election (a Lock) */
};

/* Results of zklock__must_outlast (the engine maps them to zklock_err:
 * EFOREIGN -> ZKLOCK_EFOREIGN, the others -> ZKLOCK_EZK). */
enum {
  ZKLOCK__C_OK = 0,
  ZKLOCK__C_EFOREIGN = -1, /* a child this profile/recipe cannot order */
  ZKLOCK__C_ENOTME = -2,   /* our own node is not among the children */
  ZKLOCK__C_EUNSAFE = -3,  /* the library itself cannot see our node
                            * (kazoo: counter past the 2^31 wrap) */
  ZKLOCK__C_EINVAL = -4
};

#define ZKLOCK__CID_MAX 40 /* longest id + NUL: Curator's uuid is 36 */

typedef struct zklock__cname { /* one parsed child name */
  int profile; /* ZKLOCK__P_*, or -1 when no library's naming matches */
  char kind;   /* 'x' exclusive/write, 'r' read, 'l' lease, 'e' latch,
                * 's' Curator semaphore parent ("locks"/"leases"),
                * 0 unknown (the library's prefix, an unknown recipe) */
  char id[ZKLOCK__CID_MAX]; /* guid / uuid / 32 hex tying a node to its
                             * creator ("" when the name carries none) */
  int64_t seq;              /* the counter as that library reads it */
  int seq_ok; /* the suffix parsed as a number the library orders */
  /* Where the library's sort key starts in the name (Curator: the text
   * after the last "lock-"/"__WRIT__"/...; kazoo: the sign and digits
   * after "__lock__"/"__rlock__"; native: the counter). -1: no key. */
  int key_off;
} zklock__cname;

/* Classifies any child name. profile_hint is tried first (names of the
 * three libraries never overlap, so it only saves work). Returns 0 when
 * the name matches a library's naming (out->profile >= 0), -1 when it
 * matches none (out->profile = -1, kind 0). out may not be NULL. */
int zklock__cname_parse(int profile_hint, const char *name, zklock__cname *out);

/* Name of the library a parsed node looks like, for `zklock status`:
 * "zklock", "Curator", "kazoo", "ZooKeeper recipes", or "unknown". */
const char *zklock__cname_library(int profile);

/* A fresh creator id: Curator's protection uuid (36 chars, random UUID v4
 * text), kazoo's uuid4().hex (32 hex), or zklock's guid (32 hex). Returns
 * its length, or -1 (no randomness, buffer too small). */
int zklock__profile_id(int profile, char *buf, size_t len);

/* Prefix of a new node (the server appends the counter for sequential
 * nodes): native "x-<guid>-", Curator "_c_<uuid>-lock-" / "-__WRIT__" /
 * "-__READ__" / "-latch-" / "-lease-", kazoo "<hex>__lock__" /
 * "<hex>__rlock__". kind 'l' (a lease) for kazoo gives the whole,
 * NON-sequential name "<hex>". Returns the length, or -1. */
int zklock__cname_prefix(int profile, int recipe, char kind, const char *id,
                         char *buf, size_t len);
/* 1 if the node kind is created EPHEMERAL_SEQUENTIAL, 0 if EPHEMERAL
 * (kazoo leases). */
int zklock__cname_sequential(int profile, char kind);

/* Name of the read node a writer creates (EPHEMERAL, not sequential)
 * BEFORE deleting its write node, to downgrade in a profile (CURATOR-621,
 * Curator >= 5.5; the same idea works for kazoo, which reads the counter
 * from the name): Curator "_c_<newid>-__READ__<our write counter text>",
 * kazoo "<newid>__rlock__<counter text>". newid must be fresh (not our
 * write node's id: the engine sweeps duplicates by id). Native returns -1
 * (zklock downgrades with setData). */
int zklock__cname_downgrade(int profile, const char *newid, const char *myname,
                            char *buf, size_t len);

/* THE RULE. Given all children of the lock path and our own node's name,
 * fill out_idx (room for n) with the indexes of the nodes we must outlast
 * before we hold, in the order the library would watch them: out_idx[0]
 * is the node the library itself watches (getData/get with a watch), the
 * rest come after it. *out_n == 0: we hold. Duplicates of our own node
 * (same id, another name: a lost create that landed) are neither waited
 * for nor foreign; the engine deletes them as today.
 * Returns ZKLOCK__C_OK, or ZKLOCK__C_EFOREIGN with *foreign_idx = the
 * first child this profile and recipe cannot order (nothing is filled),
 * ZKLOCK__C_ENOTME, ZKLOCK__C_EUNSAFE or ZKLOCK__C_EINVAL.
 * foreign_idx may be NULL; it is -1 unless EFOREIGN. */
int zklock__must_outlast(int profile, int recipe, char mykind,
                         const char *myname, const char *const *children, int n,
                         int *out_idx, int *out_n, int *foreign_idx);

/* Checks a lock path's children without a node of ours (for `zklock
 * status`, and before creating): index of the first child this profile
 * and recipe cannot order, or -1 if all are fine. */
int zklock__first_foreign(int profile, int recipe, const char *const *children,
                          int n);

/* ---- semaphores (lease pools) ---- */

/* Paths of a semaphore at path: the mutex path (Curator "<path>/locks",
 * kazoo "<path>-__lock__") and the lease pool (Curator "<path>/leases",
 * kazoo "<path>"). 0, or -1 (native has no layout yet; too long). */
int zklock__sem_paths(int profile, const char *path, char *lock_path,
                      size_t lock_len, char *pool_path, size_t pool_len);

/* The pool rule, evaluated while holding the semaphore's mutex on a
 * watched listing of the pool. mine: our lease's name, or NULL before it
 * exists. Returns 1 "create our lease now" (kazoo, mine == NULL, fewer
 * than max children), 2 "we hold" (our lease is listed and the library's
 * count allows it), 0 "wait for the pool's children to change", or
 * ZKLOCK__C_ENOTME (Curator: our lease vanished; retry). Curator counts
 * every child (<= max after creating ours), kazoo counts every child
 * (< max before creating ours). */
int zklock__sem_rule(int profile, const char *mine, const char *const *children,
                     int n, int max_leases);

/* kazoo keeps max_leases as decimal text in the pool node's data and
 * refuses another value ("Inconsistent max leases"). Parses data: 1 and
 * *out set if it is a number, 0 if not (kazoo then ignores it). */
int zklock__kazoo_max_leases(const char *data, int len, int *out);

/* Curator's revocation request: a node's data set to "__REVOKE__"
 * (LockInternals.REVOKE_MESSAGE). 1 if data is one. */
int zklock__curator_is_revoke(const char *data, int len);

#endif
