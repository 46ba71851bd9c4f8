/* zklock leader PATH: prints the id of the elected leader. (zklock elect
 * runs its COMMAND as a lock of the election kind, tools/kinds.c.) */
#include <stdio.h>

#include "cli.h"

int run_leader(const cli_opts *o, const zklock_client_opts *copts) {
  zklock_client *c;
  int xc = cli_connect(o, copts, &c);
  if (xc)
    return xc;
  char id[1024];
  int rc = zklock_election_leader(c, o->path, id, sizeof id);
  zklock_client_close(c);
  if (rc == ZKLOCK_OK) {
    printf("%s\n", id);
    return cli_flush();
  }
  cli_msg("%s: %s", o->path, zklock_strerror(rc));
  return rc == ZKLOCK_ENOLEADER ? 1 : XC_SOFTWARE;
}
