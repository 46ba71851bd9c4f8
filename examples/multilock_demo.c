/* Moves a unit between two accounts, each guarded by its own lock: the
 * multi-lock takes both at once, in an order every caller shares, so
 * concurrent transfers in opposite directions cannot deadlock.
 *
 *   multilock_demo HOSTS /accounts/alice /accounts/bob */
#include <inttypes.h>
#include <stdio.h>
#include <zklock.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s HOSTS PATH1 PATH2\n", argv[0]);
    return 2;
  }
  zklock_client *c;
  int rc = zklock_client_open(argv[1], NULL, &c);
  if (rc) {
    fprintf(stderr, "open: %s\n", zklock_strerror(rc));
    return 1;
  }
  const char *paths[] = {argv[2], argv[3]};
  zklock_multilock *ml;
  rc = zklock_multilock_new(c, paths, 2, &ml);
  if (rc == ZKLOCK_OK)
    rc = zklock_multilock_lock(ml, 10000); /* one deadline for both */
  if (rc == ZKLOCK_OK) {
    /* Each write goes to its own store with that path's token, so a
     * store can refuse a stale holder. */
    printf("holding %s (token %" PRId64 ") and %s (token %" PRId64 ")\n",
           paths[0], zklock_multilock_token(ml, 0), paths[1],
           zklock_multilock_token(ml, 1));
    rc = zklock_multilock_unlock(ml);
  }
  if (rc)
    fprintf(stderr, "multilock: %s\n", zklock_strerror(rc));
  zklock_multilock_free(ml);
  zklock_client_close(c);
  return rc ? 1 : 0;
}
