/* zklock revoke PATH: asks PATH's exclusive holder, leader or lease
 * holders to let go (zklock_revoke); a holder under zklock passes it on to
 * its COMMAND as --revoke-signal (tools/locked.c). */
#include "cli.h"

int run_revoke(const cli_opts *o, const zklock_client_opts *copts) {
  zklock_client *c;
  int xc = cli_connect(o, copts, &c);
  if (xc)
    return xc;
  int rc = zklock_revoke(c, o->path);
  zklock_client_close(c);
  if (rc == ZKLOCK_OK) {
    if (o->verbose)
      cli_msg("asked the holder of %s to let go", o->path);
    return 0;
  }
  if (rc == ZKLOCK_ENOTHELD) {
    cli_msg("%s has no exclusive holder to ask", o->path);
    return 1;
  }
  return cli_refused("revoke", o->path, rc,
                     rc == ZKLOCK_ECONNLOSS ? XC_UNAVAILABLE : XC_SOFTWARE);
}
