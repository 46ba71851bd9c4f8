/* What the files of the zklock tool share. tools/zklock.c reads the
 * command word and dispatches; tools/options.c parses the options and
 * connects; tools/locked.c runs a COMMAND under a lock of a kind from the
 * table of tools/kinds.c; tools/status.c (status, metrics),
 * tools/deadlocks.c, tools/elect.c (leader) and tools/revoke.c are the
 * other words. Not installed. */
#ifndef ZKLOCK_CLI_H
#define ZKLOCK_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <zklock.h>

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

/* The command line, as tools/options.c and tools/zklock.c parse it. */
typedef struct cli_opts {
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
  /* --also: more paths locked all or none with PATH (zklock_multilock) */
  const char *also[63];
  int nalso;
  int revoke_sig; /* sent to the command when asked to let go */
  int permits;    /* --permits N: one of N permits (zklock_semaphore) */
  const char *id; /* elect --id ID */
  int elect;
  int recursive, watch, interval_ms; /* status -r, --watch, -i */
} cli_opts;

/* A command word's (or COMMAND's) run: the process exit code. */
typedef int word_fn(const cli_opts *o, const zklock_client_opts *copts);

/* tools/options.c */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parses options up to the first operand: -1 to go on, else an exit
 * code. */
int parse_opts(int argc, char **argv, cli_opts *o);
/* The checks of a command line that runs COMMAND: 0 or an exit code. */
int check_run_opts(const cli_opts *o);
/* Environment, credentials and owner text into copts: 0 or an exit
 * code. */
int settle_opts(cli_opts *o, zklock_client_opts *copts);
/* Wipes the password once the library holds its own copy. */
void scrub_auth(void);
/* Opens a client: 0, or an exit code after a message. */
int cli_connect(const cli_opts *o, const zklock_client_opts *copts,
                zklock_client **c);
/* Maps a connect failure to a message and exit code. */
int open_failed(const cli_opts *o, int rc);

/* A lock handle of the kind its kind_ops names. */
typedef union lock_handle {
  zklock_mutex *m;
  zklock_rwlock *rw;
  zklock_multilock *ml;
  zklock_semaphore *sem;
  zklock_election *el;
} lock_handle;

/* The kinds of lock COMMAND may run under (tools/kinds.c). */
typedef struct kind_ops {
  int (*make)(zklock_client *c, const cli_opts *o, lock_handle *h);
  int (*acquire)(lock_handle h, int timeout_ms); /* 0 tries once */
  int64_t (*token)(lock_handle h);
  const char *(*node)(lock_handle h); /* NULL: ZKLOCK_NODE stays empty */
  int (*release)(lock_handle h);
  void (*destroy)(lock_handle h);
  /* The message when it is taken; holder: who holds it, or "". */
  void (*busy)(const char *path, const char *holder);
  const char *mode; /* for -v */
} kind_ops;
/* The kind the options ask for (they name one at most). */
const kind_ops *kind_for(const cli_opts *o);

/* The words and the default run. */
word_fn run_command; /* tools/locked.c: COMMAND under the lock */
word_fn run_status;  /* tools/status.c: status PATH */
word_fn run_leader;  /* tools/elect.c */
word_fn run_revoke;  /* tools/revoke.c */

/* A subcommand's view of the command line, filled by main. */
typedef struct tool_ctx {
  const char *hosts;
  const zklock_client_opts *copts;
  int connect_timeout_ms;
  const char *path; /* PATH, or ROOT with -r, metrics and deadlocks */
  int recursive;    /* status -r */
  int watch;        /* status --watch */
  int interval_ms;  /* --watch -i SECONDS (default 2 s) */
  int json;
} tool_ctx;

/* Subcommands on whole trees; each returns the process exit code. */
int tool_status(const tool_ctx *t); /* status with -r and/or --watch */
int tool_metrics(const tool_ctx *t);
int tool_deadlocks(const tool_ctx *t);

/* From tools/options.c. Opens a client for a tree subcommand: 0, or an
 * exit code after a message (one that never names a TLS cause). */
int cli_open(const tool_ctx *t, zklock_client **c);
/* Exit code for a failed library call (the message is the caller's). */
int cli_exit_for(int rc);
/* Flushes stdout: 0, or the exit code of a failed write. */
int cli_flush(void);
/* A refused call: "not authorized to VERB PATH: ..." and XC_NOPERM for
 * ZKLOCK_EAUTH, else "cannot VERB PATH: ..." and xc. */
int cli_refused(const char *verb, const char *path, int rc, int xc);
void cli_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Milliseconds on the clock id. */
static inline int64_t clock_ms(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
/* Output helpers (tools/status.c). */
void owner_field(const char *owner, const char *key, char *out, size_t len);
void json_str(FILE *f, const char *s);
void sanitize(char *s);
void fmt_age(char *buf, size_t len, int64_t ms);

#endif
