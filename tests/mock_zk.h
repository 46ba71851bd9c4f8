/* A fake ZooKeeper for unit tests. Linked with -Wl,--wrap=zoo_acreate2 (and
 * the other calls the library makes), it replaces the C client: an
 * in-memory tree, sessions, data watches, and fault knobs that produce the
 * answers a real server rarely gives (a create applied but answered with
 * connection loss, expiry mid-wait, ...).
 *
 * Like the real client, each handle delivers completions and watcher
 * events on its own completion thread, never inside the zoo_a* call.
 * Requests are applied when they are sent (one server, no latency). */
#ifndef MOCK_ZK_H
#define MOCK_ZK_H

#include <stddef.h>
#include <stdint.h>
#include <zookeeper/zookeeper.h>

/* Request kinds a fault can target. */
typedef enum {
  MZ_CREATE,
  MZ_DELETE,
  MZ_GET,
  MZ_CHILDREN,
  MZ_SET,
  MZ_MULTI,
  MZ_AUTH,
  MZ_SYNC
} mz_op;

/* What a fault does to the next request of its kind. */
typedef enum {
  MZ_LOSS_APPLIED,     /* applied, but answered ZCONNECTIONLOSS; drops the
                          connection */
  MZ_LOSS_NOT_APPLIED, /* not applied, answered ZCONNECTIONLOSS; drops it */
  MZ_ERROR             /* not applied, answered with the given code */
} mz_fault_kind;

/* Empties the tree (leaves "/"), clears faults and knobs. No handle may be
 * open. */
void mz_reset(void);
/* Asserts (abort) that every handle was closed; returns how many are open. */
int mz_open_handles(void);

/* Arms a one-shot fault for the next request of kind op (zrc for
 * MZ_ERROR). Faults queue up in order. */
void mz_fault(mz_op op, mz_fault_kind kind, int zrc);
/* After a connection drop, the fake reconnects by itself after ms
 * milliseconds; <0 (the default after mz_reset is 20) keeps it down until
 * mz_connect(). */
void mz_set_reconnect_ms(int ms);
/* Container creates answer ZUNIMPLEMENTED (a server before 3.5.3). */
void mz_set_no_containers(int on);
/* zookeeper_init2 returns only after the first (CONNECTED) event has been
 * delivered: the race the library must survive. */
void mz_set_event_before_init(int on);

/* Session control for every open handle. */
void mz_disconnect(void); /* CONNECTING; in-flight answers become CONNLOSS */
void mz_connect(void);    /* CONNECTED again, same session */
void mz_expire(void);     /* disconnects if needed, drops the session's
                             ephemeral nodes, then EXPIRED */
/* Session id of the newest open handle (0 if none). */
int64_t mz_session_id(void);
/* Number of zookeeper_init2 calls since mz_reset. */
int mz_init_count(void);

/* Tree access from "another session" (the test): no completions, but
 * watches fire. */
int mz_create(const char *path, int mode, int64_t owner, char *out,
              size_t outlen); /* ZOK, ZNODEEXISTS, ZNONODE */
int mz_delete(const char *path);
int mz_exists(const char *path);
/* Stat and create mode of path; ZOK or ZNONODE. */
int mz_stat(const char *path, struct Stat *st, int *mode);
/* Number of children of parent (-1 if parent is missing); with name (may
 * be NULL) the name of one child is copied there. */
int mz_children(const char *parent, char *name, size_t namelen);
/* Sets the counter the next sequential child of parent is numbered from
 * (ZooKeeper uses the parent's cversion). */
void mz_set_cversion(const char *parent, int32_t v);
/* 1 if some handle holds a data watch on path. */
int mz_has_watch(const char *path);

/* Polls pred (called with the fake's lock NOT held) every few ms until it
 * returns non-zero or timeout_ms passes. Returns its last value. */
int mz_wait_for(int (*pred)(void *), void *arg, int timeout_ms);

#endif
