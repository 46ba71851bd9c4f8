/* Deliberately broken locks (see naive.h). They exist so the test can show
 * that the checker reports violations when there are some. */
#include "naive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct naive_lock {
  zhandle_t *zh;
  char *hosts;
  int session_ms;
  naive_kind kind;
  char path[512];
  char node[600];
  int64_t token;
};

static void quiet(const char *m) { (void)m; }

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* A careless application reconnects after expiry and carries on. */
static int ensure_session(naive_lock *n) {
  int st = n->zh ? zoo_state(n->zh) : 0;
  if (n->zh && st != ZOO_EXPIRED_SESSION_STATE && st != ZOO_AUTH_FAILED_STATE)
    return 0;
  if (n->zh)
    zookeeper_close(n->zh);
  n->zh = zookeeper_init2(n->hosts, NULL, n->session_ms, NULL, NULL, 0, quiet);
  if (!n->zh)
    return -1;
  for (int i = 0; i < 500 && zoo_state(n->zh) != ZOO_CONNECTED_STATE; i++)
    sleep_ms(10);
  return zoo_state(n->zh) == ZOO_CONNECTED_STATE ? 0 : -1;
}

naive_lock *naive_open(const char *hosts, int session_ms, naive_kind kind,
                       const char *path) {
  naive_lock *n = calloc(1, sizeof *n);
  if (!n)
    return NULL;
  n->hosts = strdup(hosts);
  n->session_ms = session_ms;
  n->kind = kind;
  snprintf(n->path, sizeof n->path, "%s", path);
  n->token = -1;
  if (!n->hosts || ensure_session(n)) {
    naive_close(n);
    return NULL;
  }
  return n;
}

void naive_close(naive_lock *n) {
  if (!n)
    return;
  if (n->zh)
    zookeeper_close(n->zh);
  free(n->hosts);
  free(n);
}

zhandle_t *naive_zhandle(naive_lock *n) { return n->zh; }
int64_t naive_token(const naive_lock *n) { return n->token; }

static int seq_of(const char *name) {
  const char *d = strrchr(name, '-');
  return d ? atoi(d + 1) : -1;
}

int naive_acquire(naive_lock *n, int timeout_ms) {
  if (ensure_session(n))
    return -1;
  char prefix[600];
  snprintf(prefix, sizeof prefix, "%s/n-", n->path);
  struct Stat st;
  int rc = zoo_create2(n->zh, prefix, "", 0, &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_EPHEMERAL_SEQUENTIAL, n->node, sizeof n->node, &st);
  if (rc == ZNONODE) {
    zoo_create(n->zh, n->path, "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    rc = zoo_create2(n->zh, prefix, "", 0, &ZOO_OPEN_ACL_UNSAFE,
                     ZOO_EPHEMERAL_SEQUENTIAL, n->node, sizeof n->node, &st);
  }
  if (rc != ZOK)
    return -1;
  n->token = st.czxid;
  if (n->kind == NAIVE_NOWAIT)
    return 0; /* the bug: nobody checks who is ahead */
  /* NOLOST: the textbook "lowest node holds" loop, polling. Correct while
   * the session lives; the bug is that nothing watches the session. */
  int mine = seq_of(n->node);
  int64_t end = now_ms() + timeout_ms;
  for (;;) {
    struct String_vector sv = {0, NULL};
    rc = zoo_get_children(n->zh, n->path, 0, &sv);
    if (rc != ZOK)
      break;
    int lowest = 1;
    for (int i = 0; i < sv.count; i++)
      if (seq_of(sv.data[i]) < mine)
        lowest = 0;
    deallocate_String_vector(&sv);
    if (lowest)
      return 0;
    if (now_ms() >= end)
      break;
    sleep_ms(3);
  }
  zoo_delete(n->zh, n->node, -1);
  n->token = -1;
  return -1;
}

void naive_release(naive_lock *n) {
  if (n->zh && zoo_state(n->zh) == ZOO_CONNECTED_STATE)
    zoo_delete(n->zh, n->node, -1);
  n->token = -1;
}
