/* Test support: ensemble hosts, unique test roots, raw ZooKeeper checks. */
#ifndef ZKT_H
#define ZKT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

#include "zklock.h"

/* A cmocka skip() ends the test with exit status 0, so automake would
 * record a PASS. Every skip is counted, and a group that skipped any test
 * ends with 77 (automake's SKIP; ./scripts/test.sh fails on any SKIP). */
extern int zkt_skipped;
int zkt_group_result(int failed);
#undef skip
#define skip() (zkt_skipped++, _skip(__FILE__, __LINE__))
#undef cmocka_run_group_tests
#define cmocka_run_group_tests(t, setup, teardown)                             \
  zkt_group_result(_cmocka_run_group_tests(#t, t, sizeof(t) / sizeof((t)[0]),  \
                                           setup, teardown))
#undef cmocka_run_group_tests_name
#define cmocka_run_group_tests_name(name, t, setup, teardown)                  \
  zkt_group_result(_cmocka_run_group_tests(                                    \
      name, t, sizeof(t) / sizeof((t)[0]), setup, teardown))

/* Connection string of the test ensemble (ZKLOCK_TEST_HOSTS, or the file
 * the ensemble script wrote). Exits 77 (skip) when there is none. */
const char *zkt_hosts(void);
/* Points zkt_hosts (and every helper that connects) at another ensemble,
 * e.g. a private one a test started; NULL goes back to the default. */
void zkt_set_hosts(const char *hosts);
/* Starts a private 3-node ensemble (tests/ensemble.sh start, state in
 * $top_builddir/tests/.ensemble-<tag>-<pid>, so $top_srcdir must be set)
 * and points zkt_hosts at it; it is stopped at exit (atexit) or by
 * zkt_private_stop. Fails the test when it does not come up. Sets
 * ZKLOCK_ENSEMBLE_DIR to its directory for tests/ensemble.sh calls. */
const char *zkt_private_ensemble(const char *tag);
void zkt_private_stop(void);
/* SIGKILLs the private ensemble's servers: safe in a signal handler. */
void zkt_private_kill(void);
/* tests/ensemble.sh ARGS (on ZKLOCK_ENSEMBLE_DIR's ensemble); its stdout
 * into out (may be NULL). 0 if it exited 0. */
int zkt_ensemble_sh(const char *args, char *out, size_t outlen);
/* Requests the servers received from clients: zk_packets_received (mntr)
 * summed over the ensemble's servers, less the four-letter words this
 * process sent (the servers count those too; zkt_4lw counts them). A
 * client's pings are in. Assumes 3 servers and no other 4lw sender. */
long zkt_packets(void);
/* A fresh root path for one test: "/zklock-test/<name>-<pid>-<n>". */
void zkt_root(char *buf, size_t len, const char *name);
/* A raw handle shared by a test group, opened by zkt_group_setup and
 * closed by zkt_group_teardown (cmocka group fixtures). */
extern zhandle_t *zkt_rawzh;
int zkt_group_setup(void **state);
int zkt_group_teardown(void **state);
/* Asserts no lock node is left under root (it may be gone: containers),
 * then removes root. */
void zkt_assert_empty(const char *root);
/* A raw ZooKeeper handle (connected) for checks outside zklock. */
zhandle_t *zkt_raw(void);
/* Makes later reads on zh see every write completed before the call. */
void zkt_sync(zhandle_t *zh, const char *path);
/* Number of children of path (-1 if path is missing); syncs first. */
int zkt_children(zhandle_t *zh, const char *path);
/* Number of lock nodes under path: 0 also when path is gone (the server
 * removes an emptied container parent within a second). Syncs first. */
int zkt_nodes_settle(zhandle_t *zh, const char *path, int want);
int zkt_nodes(zhandle_t *zh, const char *path);
/* Deletes path and everything under it. */
void zkt_rmr(zhandle_t *zh, const char *path);
/* Expires a client's session from outside: opens a second handle with the
 * same session id and password, then closes it. */
void zkt_expire(zklock_client *c);
/* Opens a zklock client with defaults plus the given session timeout. */
zklock_client *zkt_client(int session_timeout_ms);
/* Sends a four-letter word to one host:port; returns malloc'd reply. */
char *zkt_4lw(const char *hostport, const char *cmd);
/* Data watches (wchp, summed over the servers: one per watching session)
 * on path, or with path NULL on every path that starts with root. */
int zkt_watches(const char *root, const char *path);
/* Starts this test binary again as a child with argv = {self, args...}:
 * fork+exec, because a plain fork of a process that already runs
 * ZooKeeper client threads can deadlock the child (getaddrinfo locks). */
pid_t zkt_spawn_self(const char *const *args);
/* Waits for pid; returns its exit status, or -1 if it did not exit. */
int zkt_wait_exit(pid_t pid);
/* A zero-filled shared memory block backed by a temp file, visible to
 * spawned children that map the same path. */
void *zkt_shm_create(char *path_out, size_t path_len, size_t size);
void *zkt_shm_open(const char *path, size_t size);
/* Nodes under root (any depth below root's children) that session sid
 * holds a data watch on and that belong to another session: positive
 * evidence that sid queued and waits for someone (a holder watches only
 * its own node). Reads every server's wchp; syncs first. */
int zkt_waits_on_other(const char *root, int64_t sid);
/* Waits up to ZKT_EVIDENCE_MS for zkt_waits_on_other(root, sid) > 0;
 * returns whether it came. Use it before asserting that a waiter is
 * still out: without it, "not in yet" may only mean "not woken yet". */
int zkt_wait_waiting(const char *root, int64_t sid);
#define ZKT_EVIDENCE_MS 10000
/* The timing contract the tests hold the library to: a call with a
 * timeout returns within timeout + ZKT_SLACK_MS (zklock.h promises about
 * + 250 ms; 2 s more keeps a loaded 2-core machine from failing a correct
 * library, and stays well below a session timeout, 10 s by default, which
 * is what a wait that ignores its timeout tends to take). No test asserts
 * a tighter bound: other times are printed as figures. */
#define ZKT_SLACK_MS 2000
int64_t zkt_now_ms(void);
void zkt_sleep_ms(int ms);
/* Waits until pred() or timeout; returns the last pred value. */
int zkt_wait_for(int (*pred)(void *), void *arg, int timeout_ms);

#endif
