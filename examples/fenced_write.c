/* fenced_write: write to a ZooKeeper node only while holding the lock.
 *
 *   fenced_write [HOSTS] [LOCK_PATH] [DATA_NODE] [VALUE]
 *
 * A lock alone cannot stop a holder that was paused (GC, swap, SIGSTOP)
 * past its session timeout from writing after someone else took over.
 * zklock_mutex_fenced_multi closes that gap for writes to ZooKeeper
 * itself: it sends one multi-op transaction of "check that my lock node
 * still exists" plus your ops, so the server applies your ops only if the
 * lock is still yours at that instant.
 *
 * HOSTS defaults to $ZKLOCK_HOSTS, then 127.0.0.1:2181. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zklock.h>

int main(int argc, char **argv) {
  const char *hosts = argc > 1 ? argv[1] : getenv("ZKLOCK_HOSTS");
  const char *path = argc > 2 ? argv[2] : "/examples/fenced/lock";
  const char *data_node = argc > 3 ? argv[3] : "/examples/fenced/data";
  const char *value = argc > 4 ? argv[4] : "hello";
  if (!hosts)
    hosts = "127.0.0.1:2181";

  zklock_client *c;
  int rc = zklock_client_open(hosts, NULL, &c);
  if (rc != ZKLOCK_OK) {
    fprintf(stderr, "connect %s: %s\n", hosts, zklock_strerror(rc));
    return 1;
  }
  zklock_mutex *m = NULL;
  rc = zklock_mutex_new(c, path, &m);
  if (rc == ZKLOCK_OK)
    rc = zklock_mutex_lock(m, 10000);
  if (rc != ZKLOCK_OK) {
    fprintf(stderr, "lock %s: %s\n", path, zklock_strerror(rc));
    zklock_mutex_free(m);
    zklock_client_close(c);
    return 1;
  }

  /* The data node must exist for a setData. Creating it needs no fence:
   * an empty node is harmless; only its content is guarded. The raw
   * handle is the client's; do not close it. */
  zhandle_t *zh = zklock_client_zhandle(c);
  int zrc = zoo_create(zh, data_node, "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
  if (zrc != ZOK && zrc != ZNODEEXISTS) {
    fprintf(stderr, "create %s: %s\n", data_node, zerror(zrc));
    zklock_mutex_free(m); /* releases the lock */
    zklock_client_close(c);
    return 1;
  }

  /* Record the fencing token with the value: readers (and later writers)
   * can see which holder wrote it. */
  char buf[512];
  long long token = zklock_mutex_token(m);
  int len = snprintf(buf, sizeof buf, "%s (token %lld)", value, token);

  zoo_op_t op;
  zoo_op_result_t result;
  struct Stat stat;
  zoo_set_op_init(&op, data_node, buf, len, -1, &stat);
  /* One op of ours; zklock prepends the check of the lock node. */
  rc = zklock_mutex_fenced_multi(m, 1, &op, &result);
  if (rc == ZKLOCK_ELOST) {
    fprintf(stderr, "lock lost: %s not written\n", data_node);
  } else if (rc != ZKLOCK_OK) {
    fprintf(stderr, "write %s: %s (zookeeper: %s)\n", data_node,
            zklock_strerror(rc), zerror(zklock_last_zk_error()));
  } else {
    printf("wrote \"%s\" to %s (version %d) while holding %s\n", buf, data_node,
           stat.version, path);
  }

  zklock_mutex_unlock(m);
  zklock_mutex_free(m);
  zklock_client_close(c);
  return rc == ZKLOCK_OK ? 0 : 1;
}
