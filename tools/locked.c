/* zklock [OPTIONS] PATH [--] COMMAND: run COMMAND while holding the lock
 * (of the kind tools/kinds.c picks for the options), and elect's COMMAND.
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
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
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

#include "cli.h"

#define msg cli_msg

/* ---- shared state between main thread, worker and callbacks ---- */

static struct {
  pthread_mutex_t mu;
  zklock_client *c; /* published once the lock handle exists */
  const kind_ops *k;
  lock_handle h;
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
  char exe[4096]; /* COMMAND resolved along PATH, before queueing */
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

static int64_t now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

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

/* A session that expires while we queue loses our place, not our
 * intent: queue again (the library opens a fresh session). */
static int lock_retrying(const cli_opts *o) {
  int timeout = o->nonblock ? 0 : o->timeout_ms;
  int64_t deadline = timeout > 0 ? now_ms() + timeout : -1;
  for (int tries = 0;; tries++) {
    int rc = g.k->acquire(g.h, timeout);
    if (rc != ZKLOCK_ELOST || tries == 4)
      return rc;
    if (o->verbose)
      msg("session expired while waiting for %s; queueing again", o->path);
    if (deadline >= 0) {
      int64_t left = deadline - now_ms();
      if (left <= 0)
        return ZKLOCK_ETIMEDOUT;
      timeout = (int)left;
    }
  }
}

static void *worker(void *p) {
  worker_arg *wa = p;
  const cli_opts *o = wa->o;
  zklock_client *c = NULL;
  int rc = zklock_client_open(o->hosts, &wa->copts, &c);
  g.open_rc = rc;
  if (rc == ZKLOCK_OK)
    rc = g.k->make(c, o, &g.h);
  pthread_mutex_lock(&g.mu);
  /* Publish only once a lock handle holds a reference: from here on the
   * main thread may close the client to cancel our wait. */
  g.c = c;
  int cancelled = g.cancelled;
  pthread_mutex_unlock(&g.mu);
  if (rc == ZKLOCK_OK && cancelled)
    rc = ZKLOCK_ECLOSED;
  if (rc == ZKLOCK_OK)
    rc = lock_retrying(o);
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

/* ---- phase 1: waiting for the lock ---- */

static int lock_failed(const cli_opts *o, int rc) {
  switch (rc) {
  case ZKLOCK_EBUSY:
    g.k->busy(o->path, g.holder);
    return XC_BUSY;
  case ZKLOCK_ETIMEDOUT:
    msg("timed out after %g s waiting for %s", o->timeout_ms / 1000.0, o->path);
    return XC_TIMEOUT;
  case ZKLOCK_ECONNLOSS:
  case ZKLOCK_ELOST:
    msg("lost the ZooKeeper session while waiting for %s: %s", o->path,
        zklock_strerror(rc));
    return XC_UNAVAILABLE;
  case ZKLOCK_EPATH:
  case ZKLOCK_EINVAL:
    return cli_refused("lock", o->path, rc, XC_USAGE);
  case ZKLOCK_EPERMITS:
    return cli_refused("lock", o->path, rc, XC_CONFIG);
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
  default: /* ZKLOCK_EAUTH among them */
    return cli_refused("lock", o->path, rc, XC_SOFTWARE);
  }
}

/* Signals while the worker waits: the first cancels the wait, a second
 * leaves at once. Returns the first signal, or 0. */
static int cancel_on_signal(const cli_opts *o, int sfd, int got_signal) {
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
  return got_signal;
}

/* Connect and queue on the worker; the main thread watches for signals.
 * Returns 0 when the lock is held, else an exit code. */
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
    got_signal = cancel_on_signal(o, sfd, got_signal);
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

static void cleanup(void) {
  if (g.k)
    g.k->destroy(g.h);
  memset(&g.h, 0, sizeof g.h);
  if (!g.closed)
    zklock_client_close(g.c);
  g.c = NULL;
  g.closed = 1;
}

/* ---- phase 2: the command runs ---- */

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

/* The command while it runs. */
typedef struct {
  const cli_opts *o;
  pid_t pid;
  int status, lost;
  int64_t kill_at;      /* SIGKILL deadline after a lock loss */
  int64_t uncertain_at; /* when the connection dropped */
  int64_t uncertain_ms; /* how long a lock may stay UNCERTAIN */
} child;

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

/* How long the next poll may sleep: to the next deadline, or -1. */
static int next_wait(const child *ch) {
  int64_t now = now_ms(), wait = -1;
  if (ch->kill_at >= 0)
    wait = ch->kill_at > now ? ch->kill_at - now : 0;
  if (ch->uncertain_at >= 0 && !ch->lost) {
    int64_t w = ch->uncertain_at + ch->uncertain_ms - now;
    w = w > 0 ? w : 0;
    wait = wait < 0 || w < wait ? w : wait;
  }
  return wait > INT32_MAX ? INT32_MAX : (int)wait;
}

static void pass_signals(const child *ch, int sfd) {
  struct signalfd_siginfo si;
  while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
    if (si.ssi_signo == SIGCHLD)
      continue; /* reaped in supervise */
    /* A signal from the terminal (SI_KERNEL) reached the command's
     * process group already; forward only signals sent to us. */
    if (si.ssi_code != SI_KERNEL)
      kill(ch->pid, (int)si.ssi_signo);
    if (ch->o->verbose)
      msg("got signal %d; %s", (int)si.ssi_signo,
          si.ssi_code != SI_KERNEL ? "forwarded to the command"
                                   : "the command got it from the terminal");
  }
}

/* Follows UNCERTAIN and HELD: the clock of a dropped connection. */
static void note_connection(child *ch, int64_t now) {
  int st = atomic_load(&g.lock_state);
  if (!ch->lost && st == ZKLOCK_LOCK_UNCERTAIN && ch->uncertain_at < 0) {
    ch->uncertain_at = now;
    if (ch->o->verbose)
      msg("connection lost; lock on %s uncertain", ch->o->path);
  } else if (!ch->lost && st == ZKLOCK_LOCK_HELD && ch->uncertain_at >= 0) {
    ch->uncertain_at = -1;
    if (ch->o->verbose)
      msg("reconnected; lock on %s held", ch->o->path);
  }
}

/* A lost lock: SIGTERM the command, then SIGKILL after --kill-after. */
static void enforce_loss(child *ch, int64_t now) {
  const cli_opts *o = ch->o;
  const char *why = NULL;
  if (atomic_load(&g.lost))
    why = zklock_client_state(g.c) == ZKLOCK_SESSION_EXPIRED
              ? "session expired"
              : "lock node deleted by someone else";
  else if (ch->uncertain_at >= 0 && now - ch->uncertain_at >= ch->uncertain_ms)
    why = "disconnected too long: the server may have ended the session";
  if (why && !ch->lost) {
    ch->lost = 1;
    msg("lock on %s lost (%s): sending SIGTERM to the command", o->path, why);
    kill(ch->pid, SIGTERM);
    ch->kill_at = now + o->kill_after_ms;
  } else if (ch->kill_at >= 0 && now >= ch->kill_at) {
    msg("command still running %g s after SIGTERM: sending SIGKILL",
        o->kill_after_ms / 1000.0);
    kill(ch->pid, SIGKILL);
    ch->kill_at = -1;
  }
}

/* Reacts to the command's exit, to lock loss and to signals until the
 * command is reaped (or poll fails). */
static void supervise(child *ch, int sfd) {
  /* The client notices a silent connection after 2/3 of the negotiated
   * session timeout and the server expires the session after all of it,
   * so the lock must count as lost 1/3 of the timeout after the drop: the
   * client learns of an expiry only once it reaches a server again, which
   * may be never. */
  zhandle_t *zh = zklock_client_zhandle(g.c);
  int64_t session_ms = zh ? zoo_recv_timeout(zh) : ch->o->session_timeout_ms;
  ch->uncertain_ms = session_ms / 3;
  for (;;) {
    if (wait_events(sfd, next_wait(ch))) {
      msg("poll: %s", strerror(errno));
      return;
    }
    pass_signals(ch, sfd);
    pid_t r;
    while ((r = waitpid(ch->pid, &ch->status, WNOHANG)) < 0 && errno == EINTR)
      ;
    if (r == ch->pid)
      return;
    forward_revoke(ch->o, ch->pid);
    int64_t now = now_ms();
    note_connection(ch, now);
    enforce_loss(ch, now);
  }
}

static int spawn(const cli_opts *o, const sigset_t *orig, char **env,
                 pid_t *pid) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, orig);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  int err = posix_spawn(pid, g.exe, NULL, &attr, o->cmd, env);
  posix_spawnattr_destroy(&attr);
  return err;
}

/* The command is done: its exit code, once the lock is released. */
static int finish(const child *ch) {
  const cli_opts *o = ch->o;
  int xc = exit_code_of(ch->status);
  if (ch->lost)
    return XC_LOST;
  int rc = g.k->release(g.h);
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

static int run_locked(const cli_opts *o, int sfd, const sigset_t *orig) {
  int64_t token = g.k->token(g.h);
  if (o->verbose)
    msg("acquired %s lock on %s (token %" PRId64 ")", g.k->mode, o->path,
        token);
  if (atomic_load(&g.lost) || token < 0) {
    msg("lock on %s lost before the command started", o->path);
    return XC_LOST;
  }
  debug_session_file(g.c);
  char **env = child_env(o->path, token, g.k->node ? g.k->node(g.h) : NULL);
  if (!env) {
    msg("out of memory");
    return XC_OSERR;
  }
  child ch = {.o = o, .kill_at = -1, .uncertain_at = -1};
  int err = spawn(o, orig, env, &ch.pid);
  if (err) {
    msg("cannot run %s: %s", o->cmd[0], strerror(err));
    free_env(env);
    return err == ENOENT ? XC_NOT_FOUND : XC_CANNOT_RUN;
  }
  supervise(&ch, sfd);
  free_env(env);
  return finish(&ch);
}

int run_command(const cli_opts *o, const zklock_client_opts *copts) {
  /* Before queueing: a missing command must not wait for a busy lock only
   * to fail (or time out without saying why) once it gets it. */
  int err = resolve_cmd(o->cmd[0], g.exe, sizeof g.exe);
  if (err) {
    scrub_auth();
    msg("cannot run %s: %s", o->cmd[0], strerror(err));
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
  g.k = kind_for(o);
  worker_arg wa = {o, *copts};
  wa.copts.on_lock = on_lock;
  int rc = acquire(o, &wa, sfd);
  /* the library keeps its own copy (and scrubs it on close) */
  scrub_auth();
  memset(&wa, 0, sizeof wa);
  if (rc == 0)
    rc = run_locked(o, sfd, &orig);
  cleanup();
  return rc;
}
