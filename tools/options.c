/* zklock's options: parsing, help, credentials and TLS, and connecting
 * with the messages its failures get. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define AUTH_MAX 1024

static const char *prog = "zklock";

/* One message function for every file of the tool (tools/cli.h). */
#define msg cli_msg
void cli_msg(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", prog);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", prog);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
  va_end(ap);
  return XC_USAGE;
}

/* After the usage lines, which name prog: the options and exit codes. */
static const char help_rest[] =
    "Options:\n"
    "  -z, --hosts HOSTS         ensemble (host:port,...); default\n"
    "                            $ZKLOCK_HOSTS, then " DEFAULT_HOSTS "\n"
    "  -s, --shared              take a shared (read) lock; the default is\n"
    "                            exclusive\n"
    "  -w, --write               take the write side of a read-write lock\n"
    "                            (as exclusive; differs only in a compat\n"
    "                            profile, where a library names the two\n"
    "                            recipes' nodes apart)\n"
    "  -n, --nonblock            fail at once if the lock is taken\n"
    "  -t, --timeout SEC         give up waiting for the lock after SEC\n"
    "                            seconds (fractions allowed; 0 = -n)\n"
    "  -k, --kill-after SEC      after the lock is lost, SIGKILL the "
    "command\n"
    "                            SEC seconds after SIGTERM (default 5)\n"
    "      --connect-timeout SEC give up connecting after SEC (default 10,\n"
    "                            at most 3600)\n"
    "      --session-timeout SEC ZooKeeper session timeout (default 10;\n"
    "                            0.1 to 3600)\n"
    "      --auth-file FILE      digest credentials 'user:password' from\n"
    "                            FILE (else $ZKLOCK_AUTH); never give a\n"
    "                            password on the command line\n"
    "      --tls-ca FILE         TLS to the servers' secureClientPort: the\n"
    "                            CA of their certificates (PEM; else\n"
    "                            $ZKLOCK_TLS_CA)\n"
    "      --tls-cert FILE       this client's certificate (else\n"
    "                            $ZKLOCK_TLS_CERT)\n"
    "      --tls-key FILE        its private key (else $ZKLOCK_TLS_KEY;\n"
    "                            password in $ZKLOCK_TLS_KEY_PASSWORD)\n"
    "      --owner TEXT          text stored in the lock node for 'status'\n"
    "                            (default: your user name)\n"
    "      --json                'status': print JSON\n"
    "      --compat PROFILE      share the lock with other libraries'\n"
    "                            processes: native (default), curator,\n"
    "                            kazoo (else $ZKLOCK_COMPAT)\n"
    "      --also PATH2          also lock PATH2 (repeatable): all or none\n"
    "      --revoke-signal SIG   signal for COMMAND when 'zklock revoke "
    "PATH'\n"
    "                            asks for the lock (default USR1)\n"
    "      --permits N           take one of N permits (a semaphore) at "
    "PATH\n"
    "      --id ID               'elect': this candidate's id\n"
    "  -r, --recursive           'status': every lock path under ROOT\n"
    "      --watch               'status': redraw every interval until\n"
    "                            interrupted\n"
    "  -i, --interval SEC        '--watch' interval (default 2)\n"
    "  -v, --verbose             report lock state changes on stderr\n"
    "  -h, --help                show this help and exit\n"
    "  -V, --version             show the version and exit\n"
    "\n"
    "Exit status:\n"
    "  0-255  COMMAND's exit status (128+N if it died of signal N)\n"
    "  64     usage error\n"
    "  69     ZooKeeper unreachable, or the session ended while waiting\n"
    "  70     other ZooKeeper or internal error\n"
    "  71     operating system error (pipe, fork)\n"
    "  75     -n: the lock is held by another owner\n"
    "  77     authentication failed or not authorized (ACL)\n"
    "  78     unusable credentials file or $ZKLOCK_AUTH, unusable TLS\n"
    "         files, or TLS with a libzookeeper built without it\n"
    "  79     the lock was lost while COMMAND ran (COMMAND was killed)\n"
    "  124    -t: timed out waiting for the lock\n"
    "  126    COMMAND cannot be run\n"
    "  127    COMMAND not found\n"
    "  128+N  zklock got signal N before COMMAND started\n"
    "These can clash with COMMAND's own exit codes; use 'status' or -v\n"
    "when you must tell them apart.\n";

static void help(void) {
  printf(
      "Usage: %s [OPTIONS] PATH [--] COMMAND [ARGS...]\n"
      "       %s [OPTIONS] status [--json] PATH\n"
      "       %s [OPTIONS] revoke PATH\n"
      "       %s [OPTIONS] elect PATH --id ID [--] COMMAND [ARGS...]\n"
      "       %s [OPTIONS] leader PATH\n"
      "       %s [OPTIONS] status [--json] -r ROOT\n"
      "       %s [OPTIONS] status --watch [-i SEC] [-r] PATH|ROOT\n"
      "       %s [OPTIONS] metrics ROOT\n"
      "       %s [OPTIONS] deadlocks [--json] ROOT\n"
      "\n"
      "Run COMMAND while holding the ZooKeeper lock at PATH, release it when\n"
      "COMMAND exits and exit with its status. COMMAND gets ZKLOCK_PATH,\n"
      "ZKLOCK_TOKEN (fencing token) and ZKLOCK_NODE in its environment.\n"
      "'status' lists the holders and waiters of PATH in queue order.\n"
      "'elect' runs COMMAND while this process leads the election at PATH\n"
      "(killed like a lost lock when the lead is lost); 'leader' prints\n"
      "the current leader's id (exit 1 if none); 'revoke' asks PATH's\n"
      "exclusive holder, leader or lease holders to let go. 'status -r'\n"
      "shows every lock under ROOT\n"
      "('/' for all), one line each; 'metrics' prints them for Prometheus;\n"
      "'deadlocks' prints cycles of sessions waiting for each other (exit\n"
      "1 if any, 0 if none).\n"
      "\n",
      prog, prog, prog, prog, prog, prog, prog, prog, prog);
  fputs(help_rest, stdout);
}

/* Seconds with fractions -> milliseconds, rounded up so a tiny positive
 * value never becomes "try once". Plain decimals only: strtod alone would
 * also take hex ("0x10" is 16 s), "inf", "nan" and leading blanks. */
static int parse_seconds(const char *s, int *ms) {
  size_t digits = strspn(s, "0123456789");
  const char *p = s + digits;
  if (*p == '.') {
    size_t frac = strspn(p + 1, "0123456789");
    digits += frac;
    p += 1 + frac;
  }
  if (digits == 0 || *p)
    return -1;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || errno || !(v >= 0 && v <= 2147483.0))
    return -1;
  double m = v * 1000.0;
  int r = (int)m;
  if (r < m)
    r++;
  *ms = r;
  return 0;
}

/* ---- credentials ---- */

static char auth[AUTH_MAX + 2]; /* copts.auth points here */
static char owner[257];         /* the default --owner */

void scrub_auth(void) { memset(auth, 0, sizeof auth); }

/* Reads "user:password" from the first line of file into buf. Messages
 * name the file, never its contents. */
static int read_auth_file(const char *file, char *buf, size_t len) {
  int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    msg("cannot open credentials file %s: %s", file, strerror(errno));
    return XC_CONFIG;
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
    msg("warning: credentials file %s is accessible by other users "
        "(chmod 600 it)",
        file);
  size_t n = 0;
  ssize_t r;
  while (n < len - 1 && (r = read(fd, buf + n, len - 1 - n)) != 0) {
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      msg("cannot read credentials file %s: %s", file, strerror(errno));
      close(fd);
      return XC_CONFIG;
    }
    n += (size_t)r;
  }
  close(fd);
  buf[n] = '\0';
  buf[strcspn(buf, "\r\n")] = '\0';
  return 0;
}

static int auth_ok(const char *a) {
  const char *colon = strchr(a, ':');
  return colon && colon != a && strlen(a) < AUTH_MAX;
}

/* --auth-file, else $ZKLOCK_AUTH, into auth: 0 or an exit code. */
static int load_auth(const cli_opts *o) {
  if (o->auth_file) {
    int rc = read_auth_file(o->auth_file, auth, sizeof auth);
    if (rc)
      return rc;
    if (!auth_ok(auth)) {
      msg("credentials file %s: expected one line 'user:password'",
          o->auth_file);
      return XC_CONFIG;
    }
  } else if (getenv("ZKLOCK_AUTH")) {
    snprintf(auth, sizeof auth, "%s", getenv("ZKLOCK_AUTH"));
    if (!auth_ok(auth)) {
      msg("ZKLOCK_AUTH: expected 'user:password'");
      return XC_CONFIG;
    }
  }
  return 0;
}

/* --owner, by default the user name: 0 or an exit code. */
static int set_owner(cli_opts *o) {
  if (!o->owner) {
    const struct passwd *pw = getpwuid(getuid());
    const char *u = pw ? pw->pw_name : getenv("USER");
    snprintf(owner, sizeof owner, "%s", u ? u : "?");
    o->owner = owner;
  }
  if (strlen(o->owner) > 256)
    return usage_error("--owner text longer than 256 bytes");
  return 0;
}

/* ---- TLS (--tls-*) ---- */

/* The library's reason for refusing a TLS file (its "zklock: " log line)
 * and whether a handshake failed (the ZooKeeper client's "ssl connect"
 * error); every other log line is dropped, as without TLS. */
static char tls_reason[512];
static int tls_handshake_failed; /* set on the ZooKeeper I/O thread */
static void tls_log(const char *line) {
  if (strncmp(line, "zklock: ", 8) == 0)
    snprintf(tls_reason, sizeof tls_reason, "%s", line + 8);
  else if (strstr(line, "ssl connect"))
    __atomic_store_n(&tls_handshake_failed, 1, __ATOMIC_RELAXED);
}

/* The environment fills in what the options left out. 1 if TLS is on. */
static int tls_opts(cli_opts *o) {
  const char *e;
  if (!o->tls_ca && (e = getenv("ZKLOCK_TLS_CA")) && *e)
    o->tls_ca = e;
  if (!o->tls_cert && (e = getenv("ZKLOCK_TLS_CERT")) && *e)
    o->tls_cert = e;
  if (!o->tls_key && (e = getenv("ZKLOCK_TLS_KEY")) && *e)
    o->tls_key = e;
  /* The C client's INFO lines before its log callback is set would go to
   * stderr (zookeeper_init_ssl takes none). */
  if (!o->tls_ca && !o->tls_cert && !o->tls_key)
    return 0;
  zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
  return 1;
}

/* A connect failure that TLS explains: its message and exit code, else 0. */
static int tls_open_failed(const cli_opts *o, int rc) {
  if (!o->tls_ca && !o->tls_cert && !o->tls_key)
    return 0;
  if (rc == ZKLOCK_ENOTSUP) {
    msg("--tls-*: this libzookeeper was built without TLS (see zklock(1))");
    return XC_CONFIG;
  }
  if (rc == ZKLOCK_EINVAL) {
    msg("%s", tls_reason[0] ? tls_reason
                            : "TLS: --tls-ca, --tls-cert and --tls-key go "
                              "together");
    return XC_CONFIG;
  }
  if (rc == ZKLOCK_ECONNLOSS &&
      __atomic_load_n(&tls_handshake_failed, __ATOMIC_RELAXED)) {
    msg("TLS handshake with ZooKeeper at %s failed for %g s: a wrong "
        "--tls-ca, a certificate the servers refuse (expired, not signed by "
        "their CA), or no TLS on that port",
        o->hosts, o->connect_timeout_ms / 1000.0);
    return XC_UNAVAILABLE;
  }
  return 0;
}

/* ---- connecting ---- */

int open_failed(const cli_opts *o, int rc) {
  int tls_rc = tls_open_failed(o, rc);
  if (tls_rc)
    return tls_rc;
  switch (rc) {
  case ZKLOCK_ECONNLOSS:
    msg("cannot connect to ZooKeeper at %s within %g s", o->hosts,
        o->connect_timeout_ms / 1000.0);
    return XC_UNAVAILABLE;
  case ZKLOCK_EAUTH:
    msg("ZooKeeper at %s rejected the credentials", o->hosts);
    return XC_NOPERM;
  case ZKLOCK_EINVAL:
    msg("cannot use host list '%s': invalid or unresolvable", o->hosts);
    return XC_UNAVAILABLE;
  default:
    msg("cannot connect to ZooKeeper at %s: %s", o->hosts, zklock_strerror(rc));
    return rc == ZKLOCK_ELOST ? XC_UNAVAILABLE : XC_SOFTWARE;
  }
}

int cli_connect(const cli_opts *o, const zklock_client_opts *copts,
                zklock_client **c) {
  int rc = zklock_client_open(o->hosts, copts, c);
  return rc == ZKLOCK_OK ? 0 : open_failed(o, rc);
}

/* The tree subcommands have never named a TLS cause: no TLS files here. */
int cli_open(const tool_ctx *t, zklock_client **c) {
  cli_opts o = {.hosts = t->hosts, .connect_timeout_ms = t->connect_timeout_ms};
  return cli_connect(&o, t->copts, c);
}

int cli_exit_for(int rc) {
  return rc == ZKLOCK_EAUTH       ? XC_NOPERM
         : rc == ZKLOCK_ECONNLOSS ? XC_UNAVAILABLE
                                  : XC_SOFTWARE;
}

int cli_flush(void) { return fflush(stdout) == 0 ? 0 : XC_OSERR; }

int cli_refused(const char *verb, const char *path, int rc, int xc) {
  if (rc == ZKLOCK_EAUTH) {
    msg("not authorized to %s %s: %s", verb, path, zklock_strerror(rc));
    return XC_NOPERM;
  }
  msg("cannot %s %s: %s", verb, path, zklock_strerror(rc));
  return xc;
}

/* ---- option parsing ---- */

enum {
  OPT_CONNECT_TIMEOUT = 256,
  OPT_SESSION_TIMEOUT,
  OPT_AUTH_FILE,
  OPT_TLS_CA,
  OPT_TLS_CERT,
  OPT_TLS_KEY,
  OPT_OWNER,
  OPT_JSON,
  OPT_COMPAT,
  OPT_ALSO,
  OPT_REVOKE_SIGNAL,
  OPT_PERMITS,
  OPT_ID,
  OPT_WATCH
};

/* Several to a line: one to a line, the table is one long run of lines
 * alike. */
enum { NOARG = no_argument, ARG = required_argument };
// clang-format off
static const struct option long_opts[] = {
    {"hosts", ARG, NULL, 'z'},      {"shared", NOARG, NULL, 's'},
    {"write", NOARG, NULL, 'w'},    {"nonblock", NOARG, NULL, 'n'},
    {"timeout", ARG, NULL, 't'},    {"kill-after", ARG, NULL, 'k'},
    {"connect-timeout", ARG, NULL, OPT_CONNECT_TIMEOUT},
    {"session-timeout", ARG, NULL, OPT_SESSION_TIMEOUT},
    {"auth-file", ARG, NULL, OPT_AUTH_FILE}, {"tls-ca", ARG, NULL, OPT_TLS_CA},
    {"tls-cert", ARG, NULL, OPT_TLS_CERT},  {"tls-key", ARG, NULL, OPT_TLS_KEY},
    {"owner", ARG, NULL, OPT_OWNER},         {"json", NOARG, NULL, OPT_JSON},
    {"compat", ARG, NULL, OPT_COMPAT},       {"also", ARG, NULL, OPT_ALSO},
    {"revoke-signal", ARG, NULL, OPT_REVOKE_SIGNAL},
    {"permits", ARG, NULL, OPT_PERMITS},     {"id", ARG, NULL, OPT_ID},
    {"recursive", NOARG, NULL, 'r'}, {"watch", NOARG, NULL, OPT_WATCH},
    {"interval", ARG, NULL, 'i'},    {"verbose", NOARG, NULL, 'v'},
    {"help", NOARG, NULL, 'h'},      {"version", NOARG, NULL, 'V'},
    {NULL, 0, NULL, 0}};
// clang-format on

/* Options that store their argument (text) or switch a flag on. */
static const struct {
  int ch;
  int text;
  size_t off;
} plain_opts[] = {{'z', 1, offsetof(cli_opts, hosts)},
                  {OPT_AUTH_FILE, 1, offsetof(cli_opts, auth_file)},
                  {OPT_TLS_CA, 1, offsetof(cli_opts, tls_ca)},
                  {OPT_TLS_CERT, 1, offsetof(cli_opts, tls_cert)},
                  {OPT_TLS_KEY, 1, offsetof(cli_opts, tls_key)},
                  {OPT_OWNER, 1, offsetof(cli_opts, owner)},
                  {OPT_ID, 1, offsetof(cli_opts, id)},
                  {'n', 0, offsetof(cli_opts, nonblock)},
                  {'v', 0, offsetof(cli_opts, verbose)},
                  {'r', 0, offsetof(cli_opts, recursive)},
                  {OPT_WATCH, 0, offsetof(cli_opts, watch)},
                  {OPT_JSON, 0, offsetof(cli_opts, json)}};

/* Options in seconds: the range in ms, and the hint of the usage error
 * (NULL: one that names the range). */
static const struct {
  int ch;
  const char *name;
  size_t off;
  int lo, hi;
  const char *hint;
} time_opts[] = {{'t', "timeout", offsetof(cli_opts, timeout_ms), 0, INT32_MAX,
                  "seconds, e.g. 2.5"},
                 {'k', "--kill-after", offsetof(cli_opts, kill_after_ms), 0,
                  INT32_MAX, "seconds"},
                 {OPT_CONNECT_TIMEOUT, "--connect-timeout",
                  offsetof(cli_opts, connect_timeout_ms), 1,
                  ZKLOCK_CONNECT_TIMEOUT_MAX_MS, NULL},
                 /* The library's range, checked here for a usage error rather
                  * than a failed connect. */
                 {OPT_SESSION_TIMEOUT, "--session-timeout",
                  offsetof(cli_opts, session_timeout_ms),
                  ZKLOCK_SESSION_TIMEOUT_MIN_MS, ZKLOCK_SESSION_TIMEOUT_MAX_MS,
                  NULL},
                 {'i', "--interval", offsetof(cli_opts, interval_ms), 100,
                  INT32_MAX, "seconds, at least 0.1"}};

#define COUNT(a) (sizeof(a) / sizeof *(a))

/* A plain option into o: 1, or 0 if ch is not one. */
static int plain_opt(int ch, const char *arg, cli_opts *o) {
  for (size_t i = 0; i < COUNT(plain_opts); i++) {
    if (plain_opts[i].ch != ch)
      continue;
    char *field = (char *)o + plain_opts[i].off;
    if (plain_opts[i].text)
      *(const char **)field = arg;
    else
      *(int *)field = 1;
    return 1;
  }
  return 0;
}

/* An option in seconds into o: -1 to go on, an exit code, or 0 if ch is
 * not one. */
static int time_opt(int ch, const char *arg, cli_opts *o) {
  for (size_t i = 0; i < COUNT(time_opts); i++) {
    if (time_opts[i].ch != ch)
      continue;
    int ms;
    if (!parse_seconds(arg, &ms) && ms >= time_opts[i].lo &&
        ms <= time_opts[i].hi) {
      *(int *)((char *)o + time_opts[i].off) = ms;
      return -1;
    }
    char hint[64];
    if (ch == OPT_CONNECT_TIMEOUT)
      snprintf(hint, sizeof hint, "seconds, more than 0 and at most %d",
               ZKLOCK_CONNECT_TIMEOUT_MAX_MS / 1000);
    else if (ch == OPT_SESSION_TIMEOUT)
      snprintf(hint, sizeof hint, "seconds, %g to %d",
               ZKLOCK_SESSION_TIMEOUT_MIN_MS / 1000.0,
               ZKLOCK_SESSION_TIMEOUT_MAX_MS / 1000);
    else
      snprintf(hint, sizeof hint, "%s", time_opts[i].hint);
    return usage_error("invalid %s '%s' (%s)", time_opts[i].name, arg, hint);
  }
  return 0;
}

/* Naming profile name -> ZKLOCK_COMPAT_*, -1 if unknown. */
static int parse_compat(const char *s) {
  static const char *const names[] = {"native", "curator", "kazoo"};
  for (int i = 0; i < 3; i++)
    if (strcmp(s, names[i]) == 0)
      return i;
  return -1;
}

/* A signal by name (USR1, SIGUSR1, ...) or number; -1 if none. */
static int parse_signal(const char *s) {
  static const struct {
    const char *name;
    int sig;
  } names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},
               {"TERM", SIGTERM}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
               {"ALRM", SIGALRM}, {"KILL", SIGKILL}, {"WINCH", SIGWINCH}};
  if (strncmp(s, "SIG", 3) == 0)
    s += 3;
  for (size_t i = 0; i < COUNT(names); i++)
    if (strcmp(s, names[i].name) == 0)
      return names[i].sig;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (end == s || *end || errno || v < 1 || v > SIGRTMAX)
    return -1;
  return (int)v;
}

/* The options of the multi-lock, revocation and semaphore features: -1
 * to go on, else an exit code. */
static int parse_new_opt(int ch, const char *arg, cli_opts *o) {
  switch (ch) {
  case OPT_ALSO:
    if (o->nalso == (int)COUNT(o->also))
      return usage_error("at most %d --also paths", (int)COUNT(o->also));
    if (zklock_path_validate(arg) != ZKLOCK_OK)
      return usage_error("invalid --also path '%s'", arg);
    o->also[o->nalso++] = arg;
    return -1;
  case OPT_REVOKE_SIGNAL:
    o->revoke_sig = parse_signal(arg);
    if (o->revoke_sig < 0)
      return usage_error("invalid --revoke-signal '%s' (USR1, TERM, 10, ...)",
                         arg);
    return -1;
  default: { /* OPT_PERMITS */
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || errno || v < 1 || v > 1000000)
      return usage_error("invalid --permits '%s' (1 or more)", arg);
    o->permits = (int)v;
    return -1;
  }
  }
}

/* One option: -1 to go on, else an exit code. */
static int one_opt(int ch, char **argv, cli_opts *o) {
  int rc;
  if (plain_opt(ch, optarg, o))
    return -1;
  if ((rc = time_opt(ch, optarg, o)) != 0)
    return rc;
  switch (ch) {
  case 's':
  case 'w':
    if (o->shared)
      return usage_error("-s and -w exclude each other");
    o->shared = ch == 's' ? 1 : 2;
    return -1;
  case OPT_COMPAT:
    if ((o->compat = parse_compat(optarg)) < 0)
      return usage_error("invalid --compat '%s' (native, curator, kazoo)",
                         optarg);
    return -1;
  case OPT_ALSO:
  case OPT_REVOKE_SIGNAL:
  case OPT_PERMITS:
    return parse_new_opt(ch, optarg, o);
  case 'h':
    help();
    return 0;
  case 'V':
    printf("zklock %s (libzklock %s)\n", ZKLOCK_VERSION_STRING,
           zklock_version_string());
    return 0;
  case ':':
    return usage_error("option '%s' needs an argument", argv[optind - 1]);
  default:
    if (optopt)
      return usage_error("unknown option '-%c'", optopt);
    return usage_error("unknown option '%s'", argv[optind - 1]);
  }
}

int parse_opts(int argc, char **argv, cli_opts *o) {
  int ch, rc;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "+:z:swnt:k:vhVri:", long_opts, NULL)) !=
         -1)
    if ((rc = one_opt(ch, argv, o)) >= 0)
      return rc;
  return -1;
}

/* Checks that the new options fit the command line; an exit code or 0. */
static int check_new_opts(const cli_opts *o) {
  if (o->nalso && o->shared)
    return usage_error("--also takes exclusive locks only (no -s)");
  for (int i = 0; i < o->nalso; i++) {
    if (strcmp(o->also[i], o->path) == 0)
      return usage_error("--also path '%s' repeats PATH", o->also[i]);
    for (int j = 0; j < i; j++)
      if (strcmp(o->also[i], o->also[j]) == 0)
        return usage_error("--also path '%s' given twice", o->also[i]);
  }
  if (o->permits && (o->shared || o->nalso || o->elect))
    return usage_error("--permits excludes -s, --also and elect");
  if (o->elect && (!o->id || !*o->id))
    return usage_error("elect needs --id ID");
  if (o->elect && (o->shared || o->nalso))
    return usage_error("elect excludes -s and --also");
  return 0;
}

int check_run_opts(const cli_opts *o) {
  if (o->nonblock && o->timeout_ms >= 0)
    return usage_error("-n and -t exclude each other");
  if (o->json)
    return usage_error("--json is for 'status'");
  if (o->recursive || o->watch || o->interval_ms)
    return usage_error("-r, --watch and -i are for 'status'");
  return check_new_opts(o);
}

int settle_opts(cli_opts *o, zklock_client_opts *copts) {
  if (o->timeout_ms == 0)
    o->nonblock = 1;
  if (!o->hosts || !*o->hosts)
    o->hosts = getenv("ZKLOCK_HOSTS");
  if (!o->hosts || !*o->hosts)
    o->hosts = DEFAULT_HOSTS;
  int tls = tls_opts(o);
  const char *compat = getenv("ZKLOCK_COMPAT");
  if (o->compat < 0 && compat && *compat &&
      (o->compat = parse_compat(compat)) < 0)
    return usage_error("invalid ZKLOCK_COMPAT '%s' (native, curator, kazoo)",
                       compat);
  int rc = load_auth(o);
  if (rc || (rc = set_owner(o)) != 0)
    return rc;
  *copts = (zklock_client_opts){
      .session_timeout_ms = o->session_timeout_ms,
      .connect_timeout_ms = o->connect_timeout_ms,
      .auth = auth[0] ? auth : NULL,
      .owner_text = o->owner,
      .compat = o->compat < 0 ? ZKLOCK_COMPAT_NATIVE : o->compat,
      .tls_ca = o->tls_ca,
      .tls_cert = o->tls_cert,
      .tls_key = o->tls_key,
      .tls_key_password = tls ? getenv("ZKLOCK_TLS_KEY_PASSWORD") : NULL,
      .log = tls ? tls_log : NULL,
  };
  return 0;
}
