/* zklock: run a command while holding a ZooKeeper lock, or show a lock's
 * queue. See man/zklock.1 for the user's view.
 *
 *   zklock [OPTIONS] PATH [--] COMMAND [ARGS...]
 *   zklock [OPTIONS] status [--json] PATH
 *
 * Threads and signals: every signal zklock reacts to is blocked before any
 * thread starts, so the ZooKeeper client's threads never run a handler; the
 * main thread reads them from a signalfd. Connecting and waiting for the
 * lock happen on a worker thread so the main thread stays free to notice
 * SIGINT/SIGTERM and cancel the wait (zklock_client_close wakes it). Lock
 * state callbacks run on the ZooKeeper completion thread: they only store
 * the state and write a byte to a self-pipe; the main loop does the rest. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zklock.h>

#include "cli.h"

/* Exit codes. Kept out of the 0-2 range most commands use and away from
 * the shell's 126/127/128+N; see EXIT STATUS in zklock(1). */
enum {
  XC_USAGE = 64,       /* EX_USAGE: bad arguments */
  XC_UNAVAILABLE = 69, /* EX_UNAVAILABLE: ensemble unreachable */
  XC_SOFTWARE = 70,    /* EX_SOFTWARE: other ZooKeeper or internal error */
  XC_OSERR = 71,       /* EX_OSERR: fork, pipe, signalfd failed */
  XC_BUSY = 75,        /* EX_TEMPFAIL: -n and the lock is taken */
  XC_NOPERM = 77,      /* EX_NOPERM: authentication or ACL refused */
  XC_CONFIG = 78,      /* EX_CONFIG: unusable credentials */
  XC_LOST = 79,        /* the lock was lost while the command ran */
  XC_TIMEOUT = 124,    /* -t expired (as timeout(1)) */
  XC_CANNOT_RUN = 126, /* command found but not executable */
  XC_NOT_FOUND = 127   /* command not found */
};

#define DEFAULT_HOSTS "127.0.0.1:2181"
#define AUTH_MAX 1024

typedef struct {
  const char *hosts;
  int shared; /* 0 mutex, 1 read, 2 write side of a read-write lock */
  int nonblock;
  int timeout_ms; /* -1: wait forever */
  int kill_after_ms;
  int connect_timeout_ms;
  int session_timeout_ms;
  const char *auth_file;
  const char *tls_ca, *tls_cert, *tls_key; /* --tls-*, else $ZKLOCK_TLS_* */
  const char *owner;
  int verbose;
  int json;
  int compat; /* ZKLOCK_COMPAT_*, -1 unset */
  const char *path;
  char **cmd;
  char exe[4096]; /* cmd[0] resolved along PATH, before queueing */
  /* --also: more paths locked all or none with PATH (zklock_multilock) */
  const char *also[63];
  int word;     /* 'r' revoke, 'l' leader, 'e' elect: a command word */
  int cmd_word; /* the word runs a COMMAND (elect) */
  int nalso;
  int revoke_sig; /* sent to the command when asked to let go */
  int permits;    /* --permits N: one of N permits (zklock_semaphore) */
  const char *id; /* elect --id ID */
  int elect;
  int recursive, watch, interval_ms; /* status -r, --watch, -i */
} cli_opts;

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

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", prog);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
  va_end(ap);
  return XC_USAGE;
}

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
      "\n"
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
      "when you must tell them apart.\n",
      prog, prog, prog, prog, prog, prog, prog, prog, prog);
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

static int auth_ok(const char *auth) {
  const char *colon = strchr(auth, ':');
  return colon && colon != auth && strlen(auth) < AUTH_MAX;
}

/* ---- shared state between main thread, worker and callbacks ---- */

static struct {
  pthread_mutex_t mu;
  zklock_client *c; /* published once the lock handle exists */
  zklock_mutex *m;
  zklock_rwlock *rw;
  zklock_multilock *ml;
  zklock_semaphore *sem;
  zklock_election *el;
  atomic_int revoke; /* a revocation request not yet forwarded */
  int cancelled;
  int closed;       /* main closed the client to cancel the wait */
  int rc;           /* worker result */
  int zk_err;       /* the ZooKeeper code behind it (zklock_last_zk_error) */
  char holder[400]; /* -n and busy: who holds it, for the message */
  int open_rc;
  int pipe_r, pipe_w;
  atomic_int done;
  atomic_int lock_state; /* last state the callback reported */
  atomic_int lost;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .pipe_r = -1, .pipe_w = -1};

static void wake_main(void) {
  char b = 1;
  /* The pipe is non-blocking: if it is full the main loop is awake
   * anyway and reads the atomics. */
  ssize_t r = write(g.pipe_w, &b, 1);
  (void)r;
}

/* ZooKeeper completion thread: no blocking calls, no signalling here. */
static void on_lock(zklock_client *c, const char *path, const char *node,
                    zklock_lock_state st, void *arg) {
  (void)c;
  (void)path;
  (void)node;
  (void)arg;
  if (st == ZKLOCK_LOCK_REVOKE_REQUESTED) {
    /* a request, not a state: the hold is unchanged */
    atomic_store(&g.revoke, 1);
    wake_main();
    return;
  }
  atomic_store(&g.lock_state, (int)st);
  if (st == ZKLOCK_LOCK_LOST)
    atomic_store(&g.lost, 1);
  wake_main();
}

typedef struct {
  const cli_opts *o;
  zklock_client_opts copts;
} worker_arg;

/* The handle for a lock other than a plain mutex or rwlock: the multi-lock
 * (--also), a semaphore or an election. 1 if o asks for none. */
static int other_new(const cli_opts *o, zklock_client *c) {
  if (o->nalso) {
    const char *paths[64] = {o->path};
    memcpy(paths + 1, o->also, (size_t)o->nalso * sizeof *paths);
    return zklock_multilock_new(c, paths, o->nalso + 1, &g.ml);
  }
  if (o->permits)
    return zklock_semaphore_new(c, o->path, o->permits, &g.sem);
  if (o->elect)
    return zklock_election_new(c, o->path, o->id, &g.el);
  return 1;
}

static int lock_once(const cli_opts *o, int timeout_ms) {
  if (o->shared == 2)
    return zklock_rwlock_wrlock(g.rw, timeout_ms);
  if (g.ml)
    return zklock_multilock_lock(g.ml, timeout_ms);
  if (g.sem)
    return zklock_semaphore_acquire(g.sem, timeout_ms);
  if (g.el)
    return zklock_election_campaign(g.el, timeout_ms);
  if (o->shared)
    return zklock_rwlock_rdlock(g.rw, timeout_ms);
  return zklock_mutex_lock(g.m, timeout_ms);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* " (held by host H, pid P, owner T)" for the first holder at path, or
 * "" if the listing does not say. */
static void describe_holder(zklock_client *c, const char *path, char *out,
                            size_t len) {
  zklock_node_info *v = NULL;
  int n = 0;
  out[0] = '\0';
  if (!c || zklock_queue_list(c, path, &v, &n) != ZKLOCK_OK)
    return;
  for (int i = 0; i < n; i++) {
    if (!v[i].holder)
      continue;
    char host[128], pid[32], user[160];
    owner_field(v[i].owner, "host", host, sizeof host);
    owner_field(v[i].owner, "pid", pid, sizeof pid);
    owner_field(v[i].owner, "user", user, sizeof user);
    snprintf(out, len, " (held by host %s, pid %s%s%s)", host[0] ? host : "?",
             pid[0] ? pid : "?", user[0] ? ", owner " : "", user);
    break;
  }
  free(v);
}

static void *worker(void *p) {
  worker_arg *wa = p;
  const cli_opts *o = wa->o;
  zklock_client *c = NULL;
  int rc = zklock_client_open(o->hosts, &wa->copts, &c);
  g.open_rc = rc;
  if (rc == ZKLOCK_OK && (rc = other_new(o, c)) == 1)
    rc = o->shared ? zklock_rwlock_new(c, o->path, &g.rw)
                   : zklock_mutex_new(c, o->path, &g.m);
  pthread_mutex_lock(&g.mu);
  /* Publish only once a lock handle holds a reference: from here on the
   * main thread may close the client to cancel our wait. */
  g.c = c;
  int cancelled = g.cancelled;
  pthread_mutex_unlock(&g.mu);
  if (rc == ZKLOCK_OK && cancelled)
    rc = ZKLOCK_ECLOSED;
  if (rc == ZKLOCK_OK) {
    int timeout = o->nonblock ? 0 : o->timeout_ms;
    int64_t deadline = timeout > 0 ? now_ms() + timeout : -1;
    /* A session that expires while we queue loses our place, not our
     * intent: queue again (the library opens a fresh session). */
    for (int tries = 0;; tries++) {
      rc = lock_once(o, timeout);
      if (rc != ZKLOCK_ELOST || tries == 4)
        break;
      if (o->verbose)
        msg("session expired while waiting for %s; queueing again", o->path);
      if (deadline >= 0) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
          rc = ZKLOCK_ETIMEDOUT;
          break;
        }
        timeout = (int)left;
      }
    }
  }
  g.zk_err = zklock_last_zk_error(); /* per thread: the main one reports */
  if (rc == ZKLOCK_EBUSY)
    describe_holder(c, o->path, g.holder, sizeof g.holder);
  g.rc = rc;
  atomic_store(&g.done, 1);
  wake_main();
  return NULL;
}

/* ---- signals ---- */

static const int handled_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

/* Blocks the signals zklock handles (except those ignored on entry, as
 * under nohup: they stay ignored for zklock and the command) plus SIGCHLD,
 * and returns a signalfd for them. *orig gets the mask to restore in the
 * command. */
static int setup_signals(sigset_t *orig) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (size_t i = 0; i < sizeof handled_signals / sizeof *handled_signals;
       i++) {
    struct sigaction sa;
    if (sigaction(handled_signals[i], NULL, &sa) == 0 &&
        sa.sa_handler == SIG_IGN)
      continue;
    sigaddset(&set, handled_signals[i]);
  }
  if (pthread_sigmask(SIG_BLOCK, &set, orig) != 0)
    return -1;
  return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* ---- output helpers for status ---- */

void owner_field(const char *owner, const char *key, char *out, size_t len) {
  size_t kl = strlen(key);
  out[0] = '\0';
  for (const char *p = owner; p && *p;) {
    const char *eol = strchr(p, '\n');
    size_t ll = eol ? (size_t)(eol - p) : strlen(p);
    if (ll > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
      size_t vl = ll - kl - 1;
      if (vl >= len)
        vl = len - 1;
      memcpy(out, p + kl + 1, vl);
      out[vl] = '\0';
      return;
    }
    p = eol ? eol + 1 : NULL;
  }
}

/* Length of a valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s) {
  if (s[0] < 0x80)
    return 1;
  size_t n = s[0] >= 0xf0 && s[0] <= 0xf4   ? 4
             : s[0] >= 0xe0                 ? 3
             : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
                                            : 0;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xc0) != 0x80)
      return 0;
  return n;
}

/* Prints s as a JSON string; invalid UTF-8 becomes U+FFFD. */
void json_str(FILE *f, const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  fputc('"', f);
  while (*p) {
    if (*p == '"' || *p == '\\') {
      fprintf(f, "\\%c", *p++);
    } else if (*p == '\n') {
      fputs("\\n", f);
      p++;
    } else if (*p < 0x20 || *p == 0x7f) {
      fprintf(f, "\\u%04x", *p++);
    } else {
      size_t n = utf8_len(p);
      if (n == 0) {
        fputs("\\ufffd", f);
        p++;
      } else {
        fwrite(p, 1, n, f);
        p += n;
      }
    }
  }
  fputc('"', f);
}

/* Text fields are printed in columns: replace control characters. */
void sanitize(char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      *s = '?';
}

void fmt_age(char *buf, size_t len, int64_t ms) {
  if (ms < 60000)
    snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
  else if (ms < 3600000)
    snprintf(buf, len, "%dm%02ds", (int)(ms / 60000), (int)(ms / 1000 % 60));
  else
    snprintf(buf, len, "%dh%02dm", (int)(ms / 3600000), (int)(ms / 60000 % 60));
}

static int status_output(const cli_opts *o, const zklock_node_info *v, int n) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  int holders = 0;
  for (int i = 0; i < n; i++)
    holders += v[i].holder != 0;
  if (o->json) {
    printf("{\"path\":");
    json_str(stdout, o->path);
    printf(",\"holders\":%d,\"waiters\":%d,\"nodes\":[", holders, n - holders);
  } else if (n == 0) {
    printf("%s: free (no holders, no waiters)\n", o->path);
  } else {
    if (v[0].kind == 's')
      printf("%s: semaphore, %d permits: %d holder%s, %d waiting\n", o->path,
             v[0].permits, holders, holders == 1 ? "" : "s", n - holders);
    else if (!strstr(v[0].owner, "host="))
      printf("%s: election, leader %s (term %" PRId64 "), %d candidate%s\n",
             o->path, v[0].owner, v[0].token, n, n == 1 ? "" : "s");
    else
      printf("%s: %d holder%s, %d waiting\n", o->path, holders,
             holders == 1 ? "" : "s", n - holders);
    printf("%-4s %-6s %-10s %-12s %-7s %-28s %s\n", "POS", "STATE", "KIND",
           "TOKEN", "AGE", "HOST:PID", "USER");
  }
  for (int i = 0; i < n; i++) {
    char host[256], pid[32], user[320], age[32];
    owner_field(v[i].owner, "host", host, sizeof host);
    owner_field(v[i].owner, "pid", pid, sizeof pid);
    owner_field(v[i].owner, "user", user, sizeof user);
    int64_t age_ms = now - v[i].ctime_ms;
    if (age_ms < 0)
      age_ms = 0; /* clock skew between us and the server */
    const char *kind = v[i].kind == 'r'   ? "shared"
                       : v[i].kind == 's' ? "permit"
                                          : "exclusive";
    if (strcmp(v[i].library, "zklock") != 0) {
      /* another library's node: named, never mixed with */
      snprintf(user, sizeof user, "%s node (foreign: use --compat)",
               v[i].library);
      host[0] = pid[0] = '\0';
    }
    if (o->json) {
      printf("%s{\"position\":%d,\"holder\":%s,\"kind\":\"%s\",\"node\":",
             i ? "," : "", i + 1, v[i].holder ? "true" : "false", kind);
      json_str(stdout, v[i].name);
      printf(",\"seq\":%" PRId32 ",\"token\":%" PRId64
             ",\"created_ms\":%" PRId64 ",\"age_ms\":%" PRId64
             ",\"session\":\"0x%" PRIx64 "\",\"host\":",
             v[i].seq, v[i].token, v[i].ctime_ms, age_ms,
             (uint64_t)v[i].owner_session);
      json_str(stdout, host);
      printf(",\"pid\":%ld,\"user\":", strtol(pid, NULL, 10));
      json_str(stdout, user);
      printf(",\"owner\":");
      json_str(stdout, v[i].owner);
      printf(",\"library\":");
      json_str(stdout, v[i].library);
      printf("}");
    } else {
      char hp[300];
      sanitize(host);
      sanitize(user);
      snprintf(hp, sizeof hp, "%s:%s", host[0] ? host : "?",
               pid[0] ? pid : "?");
      fmt_age(age, sizeof age, age_ms);
      printf("%-4d %-6s %-10s %-12" PRId64 " %-7s %-28s %s\n", i + 1,
             v[i].holder ? "holds" : "waits", kind, v[i].token, age, hp, user);
    }
  }
  if (o->json)
    printf("]}\n");
  return fflush(stdout) == 0 ? 0 : XC_OSERR;
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

/* Maps a connect failure to a message and exit code. */
static int open_failed(const cli_opts *o, int rc) {
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

static int run_status(const cli_opts *o, const zklock_client_opts *copts) {
  zklock_client *c;
  int rc = zklock_client_open(o->hosts, copts, &c);
  if (rc != ZKLOCK_OK)
    return open_failed(o, rc);
  zklock_node_info *v;
  int n;
  rc = zklock_queue_list(c, o->path, &v, &n);
  int xc = 0;
  if (rc == ZKLOCK_OK) {
    xc = status_output(o, v, n);
    free(v);
  } else {
    msg("cannot list %s: %s", o->path, zklock_strerror(rc));
    xc = rc == ZKLOCK_EAUTH       ? XC_NOPERM
         : rc == ZKLOCK_ECONNLOSS ? XC_UNAVAILABLE
                                  : XC_SOFTWARE;
  }
  zklock_client_close(c);
  return xc;
}

/* ---- glue for the subcommands in tools/status.c, tools/deadlocks.c ---- */

int cli_open(const tool_ctx *t, zklock_client **c) {
  cli_opts o = {.hosts = t->hosts, .connect_timeout_ms = t->connect_timeout_ms};
  int rc = zklock_client_open(t->hosts, t->copts, c);
  return rc == ZKLOCK_OK ? 0 : open_failed(&o, rc);
}

int cli_exit_for(int rc) {
  return rc == ZKLOCK_EAUTH       ? XC_NOPERM
         : rc == ZKLOCK_ECONNLOSS ? XC_UNAVAILABLE
                                  : XC_SOFTWARE;
}

int cli_flush(void) { return fflush(stdout) == 0 ? 0 : XC_OSERR; }

int cli_status_output(const char *path, int json, const zklock_node_info *v,
                      int n) {
  cli_opts o = {.path = path, .json = json};
  return status_output(&o, v, n);
}

static int run_tool(const cli_opts *o, const zklock_client_opts *copts) {
  tool_ctx t = {o->hosts,     copts,    o->connect_timeout_ms, o->path,
                o->recursive, o->watch, o->interval_ms,        o->json};
  if (o->word == 'm')
    return tool_metrics(&t);
  if (o->word == 'd')
    return tool_deadlocks(&t);
  return tool_status(&t);
}

/* ---- running the command ---- */

/* The command's environment: ours minus the variables we set or keep to
 * ourselves (ZKLOCK_AUTH holds a password the command was not given). */
static char **child_env(const char *path, int64_t token, const char *node) {
  extern char **environ;
  size_t n = 0;
  while (environ[n])
    n++;
  char **env = calloc(n + 4, sizeof *env);
  if (!env)
    return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const char *e = environ[i];
    if (strncmp(e, "ZKLOCK_PATH=", 12) == 0 ||
        strncmp(e, "ZKLOCK_TOKEN=", 13) == 0 ||
        strncmp(e, "ZKLOCK_NODE=", 12) == 0 ||
        strncmp(e, "ZKLOCK_AUTH=", 12) == 0)
      continue;
    env[k++] = (char *)e;
  }
  if (asprintf(&env[k++], "ZKLOCK_PATH=%s", path) < 0 ||
      asprintf(&env[k++], "ZKLOCK_TOKEN=%" PRId64, token) < 0 ||
      asprintf(&env[k++], "ZKLOCK_NODE=%s", node ? node : "") < 0)
    return NULL;
  env[k] = NULL;
  return env;
}

/* Frees what child_env allocated (the inherited strings are not ours). */
static void free_env(char **env) {
  for (size_t i = 0; env[i]; i++)
    if (strncmp(env[i], "ZKLOCK_PATH=", 12) == 0 ||
        strncmp(env[i], "ZKLOCK_TOKEN=", 13) == 0 ||
        strncmp(env[i], "ZKLOCK_NODE=", 12) == 0)
      free(env[i]);
  free(env);
}

/* Testing hook: ZKLOCK_DEBUG_SESSION_FILE=F makes zklock write its session
 * id and password ("sid_hex passwd_hex") to F once it holds the lock, so a
 * test can expire the session from outside. The file is mode 0600. */
static void debug_session_file(zklock_client *c) {
  const char *f = getenv("ZKLOCK_DEBUG_SESSION_FILE");
  zhandle_t *zh = zklock_client_zhandle(c);
  const clientid_t *id = zh ? zoo_client_id(zh) : NULL;
  if (!f || !*f || !id)
    return;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp%ld", f, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  char line[128];
  int len =
      snprintf(line, sizeof line, "%" PRIx64 " ", (uint64_t)id->client_id);
  for (size_t i = 0; i < sizeof id->passwd; i++)
    len += snprintf(line + len, sizeof line - (size_t)len, "%02x",
                    (unsigned char)id->passwd[i]);
  line[len++] = '\n';
  int ok = write(fd, line, (size_t)len) == len;
  ok &= close(fd) == 0;
  if (ok)
    rename(tmp, f);
  else
    unlink(tmp);
}

static int lock_failed(const cli_opts *o, int rc) {
  switch (rc) {
  case ZKLOCK_EBUSY:
    if (o->elect)
      msg("another candidate leads %s%s", o->path, g.holder);
    else
      msg("%s is locked by another owner%s", o->path, g.holder);
    return XC_BUSY;
  case ZKLOCK_ETIMEDOUT:
    msg("timed out after %g s waiting for %s", o->timeout_ms / 1000.0, o->path);
    return XC_TIMEOUT;
  case ZKLOCK_ECONNLOSS:
  case ZKLOCK_ELOST:
    msg("lost the ZooKeeper session while waiting for %s: %s", o->path,
        zklock_strerror(rc));
    return XC_UNAVAILABLE;
  case ZKLOCK_EAUTH:
    msg("not authorized to lock %s: %s", o->path, zklock_strerror(rc));
    return XC_NOPERM;
  case ZKLOCK_EPATH:
  case ZKLOCK_EINVAL:
    msg("cannot lock %s: %s", o->path, zklock_strerror(rc));
    return XC_USAGE;
  case ZKLOCK_EPERMITS:
    msg("cannot lock %s: %s", o->path, zklock_strerror(rc));
    return XC_CONFIG;
  case ZKLOCK_EZK:
    if (g.zk_err == ZNONODE && strchr(o->hosts, '/')) {
      /* the servers resolve every path under the chroot */
      msg("cannot lock %s: the chroot %s of the connection string does "
          "not exist (create it first)",
          o->path, strchr(o->hosts, '/'));
      return XC_CONFIG;
    }
    msg("cannot lock %s: %s (ZooKeeper error %d)", o->path, zklock_strerror(rc),
        g.zk_err);
    return XC_SOFTWARE;
  default:
    msg("cannot lock %s: %s", o->path, zklock_strerror(rc));
    return XC_SOFTWARE;
  }
}

static void drain(int fd) {
  char buf[64];
  while (read(fd, buf, sizeof buf) > 0)
    ;
}

/* Waits up to timeout_ms (-1: no limit) for a signal on sfd or a lock
 * state notice, and empties the notice pipe. -1 (errno set) if poll
 * failed. */
static int wait_events(int sfd, int timeout_ms) {
  struct pollfd pf[2] = {{sfd, POLLIN, 0}, {g.pipe_r, POLLIN, 0}};
  if (poll(pf, 2, timeout_ms) < 0 && errno != EINTR)
    return -1;
  if (pf[1].revents)
    drain(g.pipe_r);
  return 0;
}

static int64_t lock_token(const cli_opts *o) {
  if (g.ml)
    return zklock_multilock_token(g.ml, 0); /* PATH's */
  if (g.sem)
    return zklock_semaphore_token(g.sem);
  if (g.el)
    return zklock_election_token(g.el);
  return o->shared ? zklock_rwlock_token(g.rw) : zklock_mutex_token(g.m);
}

static const char *lock_node(const cli_opts *o) {
  if (g.ml)
    return NULL; /* one node per path: ZKLOCK_NODE stays empty */
  if (g.sem || g.el)
    return NULL;
  return o->shared ? zklock_rwlock_node(g.rw) : zklock_mutex_node(g.m);
}

static int lock_release(const cli_opts *o) {
  if (g.ml)
    return zklock_multilock_unlock(g.ml);
  if (g.sem)
    return zklock_semaphore_release(g.sem);
  if (g.el)
    return zklock_election_resign(g.el);
  return o->shared ? zklock_rwlock_unlock(g.rw) : zklock_mutex_unlock(g.m);
}

static void cleanup(void) {
  zklock_multilock_free(g.ml);
  g.ml = NULL;
  zklock_semaphore_free(g.sem);
  zklock_election_free(g.el);
  g.sem = NULL;
  g.el = NULL;
  zklock_mutex_free(g.m);
  zklock_rwlock_free(g.rw);
  g.m = NULL;
  g.rw = NULL;
  if (!g.closed)
    zklock_client_close(g.c);
  g.c = NULL;
  g.closed = 1;
}

/* Phase 1: connect and queue on the worker; the main thread watches for
 * signals. Returns 0 when the lock is held, else an exit code. */
static int acquire(const cli_opts *o, worker_arg *wa, int sfd) {
  pthread_t th;
  if (pthread_create(&th, NULL, worker, wa) != 0) {
    msg("cannot start a thread: %s", strerror(errno));
    return XC_OSERR;
  }
  int got_signal = 0;
  while (!atomic_load(&g.done)) {
    if (wait_events(sfd, -1))
      break;
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
      if (si.ssi_signo == SIGCHLD)
        continue;
      if (got_signal) /* asked twice: stop waiting for the connect */
        _exit(128 + (int)si.ssi_signo);
      got_signal = (int)si.ssi_signo;
      if (o->verbose)
        msg("got signal %d while waiting; giving up", got_signal);
      pthread_mutex_lock(&g.mu);
      g.cancelled = 1;
      zklock_client *c = g.c;
      pthread_mutex_unlock(&g.mu);
      /* Still connecting: no lock node exists and the worker will create
       * none now that it is cancelled, so leave at once rather than wait
       * out the connect timeout. */
      if (!c)
        _exit(128 + got_signal);
      /* Closing ends the session (and our queued node with it) and wakes
       * the worker with ZKLOCK_ECLOSED. */
      zklock_client_close(c);
      g.closed = 1;
    }
  }
  pthread_join(th, NULL);
  if (got_signal)
    return 128 + got_signal;
  if (g.open_rc != ZKLOCK_OK)
    return open_failed(o, g.open_rc);
  if (g.rc != ZKLOCK_OK)
    return lock_failed(o, g.rc);
  return 0;
}

static int exit_code_of(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return XC_SOFTWARE;
}

/* Finds cmd like execvp would, so a missing or non-executable command is
 * reported before spawning (a failed exec inside posix_spawn's child does
 * not exit cleanly under sanitizers or valgrind). 0, ENOENT or EACCES. */
static int resolve_cmd(const char *cmd, char *out, size_t len) {
  if (strchr(cmd, '/')) {
    snprintf(out, len, "%s", cmd);
    if (access(out, F_OK) != 0)
      return ENOENT;
    return access(out, X_OK) == 0 ? 0 : EACCES;
  }
  const char *path = getenv("PATH");
  if (!path || !*path)
    path = "/usr/local/bin:/usr/bin:/bin";
  int found_noexec = 0;
  for (const char *p = path; *p;) {
    size_t n = strcspn(p, ":");
    snprintf(out, len, "%.*s%s%s", (int)n, p, n ? "/" : "", cmd);
    struct stat st;
    if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(out, X_OK) == 0)
        return 0;
      found_noexec = 1;
    }
    p += n;
    if (*p == ':')
      p++;
  }
  return found_noexec ? EACCES : ENOENT;
}

/* Passes a revocation request on to the command as its signal: the
 * command decides when to finish, and the lock goes when it exits. */
static void forward_revoke(const cli_opts *o, pid_t pid) {
  if (!atomic_exchange(&g.revoke, 0))
    return;
  if (o->verbose)
    msg("asked to let go of %s: sending signal %d to the command", o->path,
        o->revoke_sig);
  kill(pid, o->revoke_sig);
}

static int run_locked(const cli_opts *o, int sfd, const sigset_t *orig) {
  int64_t token = lock_token(o);
  if (o->verbose)
    msg("acquired %s lock on %s (token %" PRId64 ")",
        o->shared == 1 ? "shared" : "exclusive", o->path, token);
  if (atomic_load(&g.lost) || token < 0) {
    msg("lock on %s lost before the command started", o->path);
    return XC_LOST;
  }
  debug_session_file(g.c);
  char **env = child_env(o->path, token, lock_node(o));
  if (!env) {
    msg("out of memory");
    return XC_OSERR;
  }
  pid_t pid;
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, orig);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  int err = posix_spawn(&pid, o->exe, NULL, &attr, o->cmd, env);
  posix_spawnattr_destroy(&attr);
  if (err) {
    msg("cannot run %s: %s", o->cmd[0], strerror(err));
    free_env(env);
    return err == ENOENT ? XC_NOT_FOUND : XC_CANNOT_RUN;
  }

  /* Phase 2: the command runs. React to its exit, to lock loss and to
   * signals. */
  int status = 0, reaped = 0, lost = 0;
  int64_t kill_at = -1;      /* SIGKILL deadline after a lock loss */
  int64_t uncertain_at = -1; /* when the connection dropped */
  /* How long a lock may stay UNCERTAIN. The client notices a silent
   * connection after 2/3 of the negotiated session timeout and the server
   * expires the session after all of it, so the lock must count as lost
   * 1/3 of the timeout after the drop: the client learns of an expiry only
   * once it reaches a server again, which may be never. */
  zhandle_t *zh = zklock_client_zhandle(g.c);
  int64_t session_ms = zh ? zoo_recv_timeout(zh) : o->session_timeout_ms;
  int64_t uncertain_ms = session_ms / 3;
  while (!reaped) {
    int64_t now = now_ms(), wait = -1;
    if (kill_at >= 0)
      wait = kill_at > now ? kill_at - now : 0;
    if (uncertain_at >= 0 && !lost) {
      int64_t w = uncertain_at + uncertain_ms - now;
      w = w > 0 ? w : 0;
      wait = wait < 0 || w < wait ? w : wait;
    }
    if (wait_events(sfd, wait > INT32_MAX ? INT32_MAX : (int)wait)) {
      msg("poll: %s", strerror(errno));
      break;
    }
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
      if (si.ssi_signo == SIGCHLD)
        continue; /* reaped below */
      /* A signal from the terminal (SI_KERNEL) reached the command's
       * process group already; forward only signals sent to us. */
      if (si.ssi_code != SI_KERNEL)
        kill(pid, (int)si.ssi_signo);
      if (o->verbose)
        msg("got signal %d; %s", (int)si.ssi_signo,
            si.ssi_code != SI_KERNEL ? "forwarded to the command"
                                     : "the command got it from the terminal");
    }
    pid_t r;
    while ((r = waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR)
      ;
    if (r == pid) {
      reaped = 1;
      break;
    }
    forward_revoke(o, pid);
    now = now_ms();
    int st = atomic_load(&g.lock_state);
    if (!lost && st == ZKLOCK_LOCK_UNCERTAIN && uncertain_at < 0) {
      uncertain_at = now;
      if (o->verbose)
        msg("connection lost; lock on %s uncertain", o->path);
    } else if (!lost && st == ZKLOCK_LOCK_HELD && uncertain_at >= 0) {
      uncertain_at = -1;
      if (o->verbose)
        msg("reconnected; lock on %s held", o->path);
    }
    const char *why = NULL;
    if (atomic_load(&g.lost))
      why = zklock_client_state(g.c) == ZKLOCK_SESSION_EXPIRED
                ? "session expired"
                : "lock node deleted by someone else";
    else if (uncertain_at >= 0 && now - uncertain_at >= uncertain_ms)
      why = "disconnected too long: the server may have ended the session";
    if (why && !lost) {
      lost = 1;
      msg("lock on %s lost (%s): sending SIGTERM to the command", o->path, why);
      kill(pid, SIGTERM);
      kill_at = now + o->kill_after_ms;
    } else if (kill_at >= 0 && now >= kill_at) {
      msg("command still running %g s after SIGTERM: sending SIGKILL",
          o->kill_after_ms / 1000.0);
      kill(pid, SIGKILL);
      kill_at = -1;
    }
  }
  free_env(env);
  int xc = exit_code_of(status);
  if (lost)
    return XC_LOST;
  int rc = lock_release(o);
  if (rc == ZKLOCK_ELOST) {
    msg("lock on %s was lost before the command finished", o->path);
    return XC_LOST;
  }
  if (rc != ZKLOCK_OK)
    msg("warning: releasing %s: %s (closing the session releases it)", o->path,
        zklock_strerror(rc));
  else if (o->verbose)
    msg("released %s", o->path);
  return xc;
}

/* ---- argument parsing ---- */

/* Command words besides status: revoke PATH, and with semaphores and
 * elections leader PATH and elect PATH --id ID -- CMD. 1 if word is one
 * (o records which). */
static int sub_command(const char *word, cli_opts *o) {
  if (strcmp(word, "revoke") == 0)
    o->word = 'r';
  else if (strcmp(word, "leader") == 0)
    o->word = 'l';
  else if (strcmp(word, "elect") == 0)
    o->word = 'e', o->elect = 1, o->cmd_word = 1;
  else if (strcmp(word, "metrics") == 0)
    o->word = 'm';
  else if (strcmp(word, "deadlocks") == 0)
    o->word = 'd';
  return o->word != 0;
}

static int run_revoke(const cli_opts *o, const zklock_client_opts *copts);
static int run_leader(const cli_opts *o, const zklock_client_opts *copts);

/* Runs a command word that takes only PATH. */
static int run_word(const cli_opts *o, const zklock_client_opts *copts) {
  if (o->word == 'l')
    return run_leader(o, copts);
  if (o->word == 'm' || o->word == 'd')
    return run_tool(o, copts);
  return run_revoke(o, copts);
}

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

static const struct option long_opts[] = {
    {"hosts", required_argument, NULL, 'z'},
    {"shared", no_argument, NULL, 's'},
    {"write", no_argument, NULL, 'w'},
    {"nonblock", no_argument, NULL, 'n'},
    {"timeout", required_argument, NULL, 't'},
    {"kill-after", required_argument, NULL, 'k'},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"session-timeout", required_argument, NULL, OPT_SESSION_TIMEOUT},
    {"auth-file", required_argument, NULL, OPT_AUTH_FILE},
    {"tls-ca", required_argument, NULL, OPT_TLS_CA},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"owner", required_argument, NULL, OPT_OWNER},
    {"json", no_argument, NULL, OPT_JSON},
    {"compat", required_argument, NULL, OPT_COMPAT},
    {"also", required_argument, NULL, OPT_ALSO},
    {"revoke-signal", required_argument, NULL, OPT_REVOKE_SIGNAL},
    {"permits", required_argument, NULL, OPT_PERMITS},
    {"id", required_argument, NULL, OPT_ID},
    {"recursive", no_argument, NULL, 'r'},
    {"watch", no_argument, NULL, OPT_WATCH},
    {"interval", required_argument, NULL, 'i'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0}};

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
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp(s, names[i].name) == 0)
      return names[i].sig;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (end == s || *end || errno || v < 1 || v > SIGRTMAX)
    return -1;
  return (int)v;
}

/* The options of the multi-lock, revocation, semaphore and election
 * features. 0, or -1 after a usage message. */
static int parse_new_opt(int ch, const char *arg, cli_opts *o) {
  switch (ch) {
  case OPT_ALSO:
    if (o->nalso == (int)(sizeof o->also / sizeof *o->also)) {
      usage_error("at most %d --also paths",
                  (int)(sizeof o->also / sizeof *o->also));
      return -1;
    }
    if (zklock_path_validate(arg) != ZKLOCK_OK) {
      usage_error("invalid --also path '%s'", arg);
      return -1;
    }
    o->also[o->nalso++] = arg;
    return 0;
  case OPT_REVOKE_SIGNAL:
    if ((o->revoke_sig = parse_signal(arg)) < 0) {
      usage_error("invalid --revoke-signal '%s' (USR1, TERM, 10, ...)", arg);
      return -1;
    }
    return 0;
  case OPT_PERMITS: {
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || errno || v < 1 || v > 1000000) {
      usage_error("invalid --permits '%s' (1 or more)", arg);
      return -1;
    }
    o->permits = (int)v;
    return 0;
  }
  case OPT_ID:
    o->id = arg;
    return 0;
  }
  return 0;
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

/* zklock revoke PATH: asks the exclusive holder of PATH to let go. */
static int run_revoke(const cli_opts *o, const zklock_client_opts *copts) {
  zklock_client *c;
  int rc = zklock_client_open(o->hosts, copts, &c);
  if (rc != ZKLOCK_OK)
    return open_failed(o, rc);
  rc = zklock_revoke(c, o->path);
  zklock_client_close(c);
  switch (rc) {
  case ZKLOCK_OK:
    if (o->verbose)
      msg("asked the holder of %s to let go", o->path);
    return 0;
  case ZKLOCK_ENOTHELD:
    msg("%s has no exclusive holder to ask", o->path);
    return 1;
  case ZKLOCK_EAUTH:
    msg("not authorized to revoke %s: %s", o->path, zklock_strerror(rc));
    return XC_NOPERM;
  case ZKLOCK_ECONNLOSS:
    msg("cannot revoke %s: %s", o->path, zklock_strerror(rc));
    return XC_UNAVAILABLE;
  default:
    msg("cannot revoke %s: %s", o->path, zklock_strerror(rc));
    return XC_SOFTWARE;
  }
}

/* zklock leader PATH: prints the id of the elected leader. */
static int run_leader(const cli_opts *o, const zklock_client_opts *copts) {
  zklock_client *c;
  int rc = zklock_client_open(o->hosts, copts, &c);
  if (rc != ZKLOCK_OK)
    return open_failed(o, rc);
  char id[1024];
  rc = zklock_election_leader(c, o->path, id, sizeof id);
  zklock_client_close(c);
  if (rc == ZKLOCK_OK) {
    printf("%s\n", id);
    return fflush(stdout) == 0 ? 0 : XC_OSERR;
  }
  msg("%s: %s", o->path, zklock_strerror(rc));
  return rc == ZKLOCK_ENOLEADER ? 1 : XC_SOFTWARE;
}

/* Parses options up to the first operand. Returns -1 to go on, else an
 * exit code. */
static int parse_opts(int argc, char **argv, cli_opts *o) {
  int ch, ms;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "+:z:swnt:k:vhVri:", long_opts, NULL)) !=
         -1) {
    switch (ch) {
    case 'z':
      o->hosts = optarg;
      break;
    case 's':
    case 'w':
      if (o->shared)
        return usage_error("-s and -w exclude each other");
      o->shared = ch == 's' ? 1 : 2;
      break;
    case 'n':
      o->nonblock = 1;
      break;
    case 't':
      if (parse_seconds(optarg, &ms))
        return usage_error("invalid timeout '%s' (seconds, e.g. 2.5)", optarg);
      o->timeout_ms = ms;
      break;
    case 'k':
      if (parse_seconds(optarg, &ms))
        return usage_error("invalid --kill-after '%s' (seconds)", optarg);
      o->kill_after_ms = ms;
      break;
    case OPT_CONNECT_TIMEOUT:
      if (parse_seconds(optarg, &ms) || ms == 0 ||
          ms > ZKLOCK_CONNECT_TIMEOUT_MAX_MS)
        return usage_error("invalid --connect-timeout '%s' (seconds, more "
                           "than 0 and at most %d)",
                           optarg, ZKLOCK_CONNECT_TIMEOUT_MAX_MS / 1000);
      o->connect_timeout_ms = ms;
      break;
    case OPT_SESSION_TIMEOUT:
      /* The library's range, checked here for a usage error rather than a
       * failed connect. */
      if (parse_seconds(optarg, &ms) || ms < ZKLOCK_SESSION_TIMEOUT_MIN_MS ||
          ms > ZKLOCK_SESSION_TIMEOUT_MAX_MS)
        return usage_error("invalid --session-timeout '%s' (seconds, %g to "
                           "%d)",
                           optarg, ZKLOCK_SESSION_TIMEOUT_MIN_MS / 1000.0,
                           ZKLOCK_SESSION_TIMEOUT_MAX_MS / 1000);
      o->session_timeout_ms = ms;
      break;
    case OPT_AUTH_FILE:
      o->auth_file = optarg;
      break;
    case OPT_TLS_CA:
      o->tls_ca = optarg;
      break;
    case OPT_TLS_CERT:
      o->tls_cert = optarg;
      break;
    case OPT_TLS_KEY:
      o->tls_key = optarg;
      break;
    case OPT_OWNER:
      o->owner = optarg;
      break;
    case OPT_JSON:
      o->json = 1;
      break;
    case OPT_COMPAT:
      if ((o->compat = parse_compat(optarg)) < 0)
        return usage_error("invalid --compat '%s' (native, curator, kazoo)",
                           optarg);
      break;
    case OPT_ALSO:
    case OPT_REVOKE_SIGNAL:
    case OPT_PERMITS:
    case OPT_ID:
      if (parse_new_opt(ch, optarg, o))
        return XC_USAGE;
      break;
    case 'v':
      o->verbose = 1;
      break;
    case 'r':
      o->recursive = 1;
      break;
    case OPT_WATCH:
      o->watch = 1;
      break;
    case 'i':
      if (parse_seconds(optarg, &ms) || ms < 100)
        return usage_error("invalid --interval '%s' (seconds, at least 0.1)",
                           optarg);
      o->interval_ms = ms;
      break;
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
  return -1;
}

int main(int argc, char **argv) {
  cli_opts o = {.compat = -1,
                .revoke_sig = SIGUSR1,
                .timeout_ms = -1,
                .kill_after_ms = 5000,
                .connect_timeout_ms = 10000,
                .session_timeout_ms = 10000};
  int rc = parse_opts(argc, argv, &o);
  if (rc >= 0)
    return rc;
  int status_cmd = optind < argc && strcmp(argv[optind], "status") == 0;
  int word_cmd = optind < argc ? sub_command(argv[optind], &o) : 0;
  if (status_cmd || word_cmd) {
    /* status takes the same options after the word as well */
    argc -= optind;
    argv += optind;
    optind = 0; /* glibc: 0 re-initialises getopt fully */
    rc = parse_opts(argc, argv, &o);
    if (rc >= 0)
      return rc;
  }
  if (optind >= argc)
    return usage_error("missing lock PATH");
  o.path = argv[optind++];
  int tree = o.recursive || o.word == 'm' || o.word == 'd'; /* ROOT may be / */
  if (zklock_path_validate(o.path) != ZKLOCK_OK &&
      !(tree && strcmp(o.path, "/") == 0))
    return usage_error("invalid lock path '%s': %s", o.path,
                       o.path[0] == '/' ? "bad component or characters"
                                        : "must start with '/'");
  if (o.elect) {
    /* elect PATH --id ID -- CMD: options may follow PATH */
    argc -= optind - 1;
    argv += optind - 1;
    optind = 0;
    rc = parse_opts(argc, argv, &o);
    if (rc >= 0)
      return rc;
  }
  if (status_cmd || (word_cmd && !o.cmd_word)) {
    if (optind < argc)
      return usage_error("unexpected argument '%s' after PATH", argv[optind]);
  } else {
    if (optind < argc && strcmp(argv[optind], "--") == 0)
      optind++;
    if (optind >= argc)
      return usage_error("missing COMMAND to run under the lock");
    o.cmd = argv + optind;
    if (o.nonblock && o.timeout_ms >= 0)
      return usage_error("-n and -t exclude each other");
    if (o.json)
      return usage_error("--json is for 'status'");
    if (o.recursive || o.watch || o.interval_ms)
      return usage_error("-r, --watch and -i are for 'status'");
    if ((rc = check_new_opts(&o)) != 0)
      return rc;
  }
  if (o.timeout_ms == 0)
    o.nonblock = 1;
  if (!o.hosts || !*o.hosts)
    o.hosts = getenv("ZKLOCK_HOSTS");
  if (!o.hosts || !*o.hosts)
    o.hosts = DEFAULT_HOSTS;
  int tls = tls_opts(&o);
  if (o.compat < 0 && getenv("ZKLOCK_COMPAT") && *getenv("ZKLOCK_COMPAT") &&
      (o.compat = parse_compat(getenv("ZKLOCK_COMPAT"))) < 0)
    return usage_error("invalid ZKLOCK_COMPAT '%s' (native, curator, kazoo)",
                       getenv("ZKLOCK_COMPAT"));

  char auth[AUTH_MAX + 2] = "";
  if (o.auth_file) {
    rc = read_auth_file(o.auth_file, auth, sizeof auth);
    if (rc)
      return rc;
    if (!auth_ok(auth)) {
      msg("credentials file %s: expected one line 'user:password'",
          o.auth_file);
      return XC_CONFIG;
    }
  } else if (getenv("ZKLOCK_AUTH")) {
    snprintf(auth, sizeof auth, "%s", getenv("ZKLOCK_AUTH"));
    if (!auth_ok(auth)) {
      msg("ZKLOCK_AUTH: expected 'user:password'");
      return XC_CONFIG;
    }
  }
  char owner[257];
  if (!o.owner) {
    const struct passwd *pw = getpwuid(getuid());
    const char *u = pw ? pw->pw_name : getenv("USER");
    snprintf(owner, sizeof owner, "%s", u ? u : "?");
    o.owner = owner;
  }
  if (strlen(o.owner) > 256)
    return usage_error("--owner text longer than 256 bytes");

  zklock_client_opts copts = {
      .session_timeout_ms = o.session_timeout_ms,
      .connect_timeout_ms = o.connect_timeout_ms,
      .auth = auth[0] ? auth : NULL,
      .owner_text = o.owner,
      .compat = o.compat < 0 ? ZKLOCK_COMPAT_NATIVE : o.compat,
      .tls_ca = o.tls_ca,
      .tls_cert = o.tls_cert,
      .tls_key = o.tls_key,
      .tls_key_password = tls ? getenv("ZKLOCK_TLS_KEY_PASSWORD") : NULL,
      .log = tls ? tls_log : NULL,
  };
  if (word_cmd && !o.cmd_word) {
    rc = run_word(&o, &copts);
    memset(auth, 0, sizeof auth);
    return rc;
  }
  if (status_cmd) {
    rc = o.recursive || o.watch ? run_tool(&o, &copts) : run_status(&o, &copts);
    memset(auth, 0, sizeof auth);
    return rc;
  }
  /* Before queueing: a missing command must not wait for a busy lock only
   * to fail (or time out without saying why) once it gets it. */
  int err = resolve_cmd(o.cmd[0], o.exe, sizeof o.exe);
  if (err) {
    memset(auth, 0, sizeof auth);
    msg("cannot run %s: %s", o.cmd[0], strerror(err));
    return err == ENOENT ? XC_NOT_FOUND : XC_CANNOT_RUN;
  }

  sigset_t orig;
  int sfd = setup_signals(&orig);
  int fds[2];
  if (sfd < 0 || pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    msg("cannot set up signal handling: %s", strerror(errno));
    return XC_OSERR;
  }
  g.pipe_r = fds[0];
  g.pipe_w = fds[1];
  copts.on_lock = on_lock;
  worker_arg wa = {&o, copts};
  rc = acquire(&o, &wa, sfd);
  /* the library keeps its own copy (and scrubs it on close) */
  memset(auth, 0, sizeof auth);
  memset(&wa, 0, sizeof wa);
  if (rc == 0)
    rc = run_locked(&o, sfd, &orig);
  cleanup();
  return rc;
}
