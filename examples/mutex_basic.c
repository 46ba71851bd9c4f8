/* mutex_basic: take an exclusive lock, do work, release.
 *
 *   mutex_basic [HOSTS] [PATH]
 *
 * HOSTS defaults to $ZKLOCK_HOSTS, then 127.0.0.1:2181. */
#include <stdio.h>
#include <stdlib.h>

#include <zklock.h>

int main(int argc, char **argv) {
  const char *hosts = argc > 1 ? argv[1] : getenv("ZKLOCK_HOSTS");
  const char *path = argc > 2 ? argv[2] : "/examples/mutex_basic";
  if (!hosts)
    hosts = "127.0.0.1:2181";

  zklock_client *c;
  int rc = zklock_client_open(hosts, NULL, &c); /* NULL: default options */
  if (rc != ZKLOCK_OK) {
    fprintf(stderr, "connect %s: %s\n", hosts, zklock_strerror(rc));
    return 1;
  }
  zklock_mutex *m;
  rc = zklock_mutex_new(c, path, &m);
  if (rc == ZKLOCK_OK)
    rc = zklock_mutex_lock(m, 10000); /* wait up to 10 s */
  if (rc != ZKLOCK_OK) {
    fprintf(stderr, "lock %s: %s\n", path, zklock_strerror(rc));
    zklock_mutex_free(m); /* NULL-safe */
    zklock_client_close(c);
    return 1;
  }
  /* The token grows with every acquisition: hand it to any resource you
   * write to so it can refuse a writer with an older token. */
  printf("holding %s, token %lld\n", path, (long long)zklock_mutex_token(m));

  zklock_mutex_unlock(m);
  zklock_mutex_free(m);
  zklock_client_close(c);
  return 0;
}
