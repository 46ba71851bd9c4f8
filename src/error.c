/* Error codes, strerror and version: the table is the X-macro in zklock.h. */
#include "zklock_int.h"

#include <errno.h>

static __thread int last_zk_error = ZOK;

const char *zklock_strerror(int err) {
  switch (err) {
#define XX(name, val, msg)                                                     \
  case ZKLOCK_##name:                                                          \
    return msg;
    ZKLOCK_ERRNO_MAP(XX)
#undef XX
  }
  return "unknown error";
}

const char *zklock_err_name(int err) {
  switch (err) {
#define XX(name, val, msg)                                                     \
  case ZKLOCK_##name:                                                          \
    return "ZKLOCK_" #name;
    ZKLOCK_ERRNO_MAP(XX)
#undef XX
  }
  return "ZKLOCK_UNKNOWN";
}

unsigned zklock_version(void) { return ZKLOCK_VERSION_HEX; }
const char *zklock_version_string(void) { return ZKLOCK_VERSION_STRING; }

int zklock_last_zk_error(void) { return last_zk_error; }
void zklock__set_zk_err(int zrc) { last_zk_error = zrc; }

int zklock__zk_err(int zrc) {
  last_zk_error = zrc;
  switch (zrc) {
  case ZOK:
    return ZKLOCK_OK;
  case ZCONNECTIONLOSS:
  case ZOPERATIONTIMEOUT:
    return ZKLOCK_ECONNLOSS;
  case ZSESSIONEXPIRED:
  case ZINVALIDSTATE:
    return ZKLOCK_ELOST;
  case ZNOAUTH:
  case ZAUTHFAILED:
    return ZKLOCK_EAUTH;
  case ZCLOSING:
    return ZKLOCK_ECLOSED;
  case ZBADARGUMENTS:
    return ZKLOCK_EINVAL;
  case ZSYSTEMERROR:
    return errno == ENOMEM ? ZKLOCK_ENOMEM : ZKLOCK_EZK;
  default:
    return ZKLOCK_EZK;
  }
}
