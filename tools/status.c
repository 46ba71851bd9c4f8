/* zklock status PATH: one lock's queue. zklock status -r ROOT, zklock
 * status --watch, zklock metrics ROOT: a whole lock tree, one line (or one
 * set of samples) per lock path. The queues come from zklock_queue_walk,
 * so who holds and who waits is the library's rule, the same as for
 * `zklock status PATH`. And the output helpers of every word. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* One lock path, summarised. Ages in ms; -1 when there is nothing to age. */
typedef struct {
  char *path;
  const char *kind;
  int holders, waiters;
  int foreign; /* other libraries' nodes: listed, not ordered */
  int64_t held_ms, oldest_wait_ms;
  char host[256], user[320];
  long pid;
  int64_t session, token;
} path_sum;

typedef struct {
  path_sum *v;
  int n, cap;
  int64_t now_ms;
} sums;

static int64_t wall_ms(void) { return clock_ms(CLOCK_REALTIME); }

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- output helpers ---- */

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

/* ---- status PATH ---- */

/* The summary line and the column heads, or the JSON object's opening. */
static void queue_head(const char *path, int json, const zklock_node_info *v,
                       int n) {
  int holders = 0;
  for (int i = 0; i < n; i++)
    holders += v[i].holder != 0;
  if (json) {
    printf("{\"path\":");
    json_str(stdout, path);
    printf(",\"holders\":%d,\"waiters\":%d,\"nodes\":[", holders, n - holders);
    return;
  }
  if (n == 0) {
    printf("%s: free (no holders, no waiters)\n", path);
    return;
  }
  if (v[0].kind == 's')
    printf("%s: semaphore, %d permits: %d holder%s, %d waiting\n", path,
           v[0].permits, holders, holders == 1 ? "" : "s", n - holders);
  else if (!strstr(v[0].owner, "host="))
    printf("%s: election, leader %s (term %" PRId64 "), %d candidate%s\n", path,
           v[0].owner, v[0].token, n, n == 1 ? "" : "s");
  else
    printf("%s: %d holder%s, %d waiting\n", path, holders,
           holders == 1 ? "" : "s", n - holders);
  printf("%-4s %-6s %-10s %-12s %-7s %-28s %s\n", "POS", "STATE", "KIND",
         "TOKEN", "AGE", "HOST:PID", "USER");
}

/* What a node's row shows of its owner. */
typedef struct {
  char host[256], pid[32], user[320];
  const char *kind;
  int64_t age_ms;
} node_row;

static void node_json(int i, const zklock_node_info *ni, const node_row *r) {
  printf("%s{\"position\":%d,\"holder\":%s,\"kind\":\"%s\",\"node\":",
         i ? "," : "", i + 1, ni->holder ? "true" : "false", r->kind);
  json_str(stdout, ni->name);
  printf(",\"seq\":%" PRId32 ",\"token\":%" PRId64 ",\"created_ms\":%" PRId64
         ",\"age_ms\":%" PRId64 ",\"session\":\"0x%" PRIx64 "\",\"host\":",
         ni->seq, ni->token, ni->ctime_ms, r->age_ms,
         (uint64_t)ni->owner_session);
  json_str(stdout, r->host);
  printf(",\"pid\":%ld,\"user\":", strtol(r->pid, NULL, 10));
  json_str(stdout, r->user);
  printf(",\"owner\":");
  json_str(stdout, ni->owner);
  printf(",\"library\":");
  json_str(stdout, ni->library);
  printf("}");
}

static void node_text(int i, const zklock_node_info *ni, node_row *r) {
  char hp[300], age[32];
  sanitize(r->host);
  sanitize(r->user);
  snprintf(hp, sizeof hp, "%s:%s", r->host[0] ? r->host : "?",
           r->pid[0] ? r->pid : "?");
  fmt_age(age, sizeof age, r->age_ms);
  printf("%-4d %-6s %-10s %-12" PRId64 " %-7s %-28s %s\n", i + 1,
         ni->holder ? "holds" : "waits", r->kind, ni->token, age, hp, r->user);
}

static void queue_node(int json, int i, const zklock_node_info *ni,
                       int64_t now) {
  node_row r;
  owner_field(ni->owner, "host", r.host, sizeof r.host);
  owner_field(ni->owner, "pid", r.pid, sizeof r.pid);
  owner_field(ni->owner, "user", r.user, sizeof r.user);
  r.age_ms = now - ni->ctime_ms;
  if (r.age_ms < 0)
    r.age_ms = 0; /* clock skew between us and the server */
  r.kind = ni->kind == 'r'   ? "shared"
           : ni->kind == 's' ? "permit"
                             : "exclusive";
  if (strcmp(ni->library, "zklock") != 0) {
    /* another library's node: named, never mixed with */
    snprintf(r.user, sizeof r.user, "%s node (foreign: use --compat)",
             ni->library);
    r.host[0] = r.pid[0] = '\0';
  }
  if (json)
    node_json(i, ni, &r);
  else
    node_text(i, ni, &r);
}

/* The queue at path, as `zklock status PATH` prints it. */
static int show_queue(zklock_client *c, const char *path, int json) {
  zklock_node_info *v;
  int n;
  int rc = zklock_queue_list(c, path, &v, &n);
  if (rc != ZKLOCK_OK) {
    cli_msg("cannot list %s: %s", path, zklock_strerror(rc));
    return cli_exit_for(rc);
  }
  int64_t now = wall_ms();
  queue_head(path, json, v, n);
  for (int i = 0; i < n; i++)
    queue_node(json, i, &v[i], now);
  if (json)
    printf("]}\n");
  free(v);
  return cli_flush();
}

int run_status(const cli_opts *o, const zklock_client_opts *copts) {
  zklock_client *c;
  int xc = cli_connect(o, copts, &c);
  if (xc)
    return xc;
  xc = show_queue(c, o->path, o->json);
  zklock_client_close(c);
  return xc;
}

/* ---- status -r, status --watch, metrics ---- */

/* What the queue looks like: the recipe, or the library of foreign
 * nodes (which zklock lists but does not order). */
static const char *kind_of(const zklock_node_info *v, int n) {
  if (strcmp(v[0].library, "zklock") != 0) {
    if (strcmp(v[0].library, "Curator") == 0)
      return "curator";
    if (strcmp(v[0].library, "kazoo") == 0)
      return "kazoo";
    return "foreign";
  }
  if (v[0].kind == 's')
    return "semaphore";
  if (!strstr(v[0].owner, "host="))
    return "election"; /* a candidate's data is its id */
  for (int i = 0; i < n; i++)
    if (v[i].kind == 'r' && strcmp(v[i].library, "zklock") == 0)
      return "rwlock";
  return "mutex";
}

static int64_t age_of(const zklock_node_info *ni, int64_t now) {
  if (ni->ctime_ms <= 0)
    return -1; /* a foreign node: not read */
  return now > ni->ctime_ms ? now - ni->ctime_ms : 0;
}

static void summarise(path_sum *s, const zklock_node_info *v, int n,
                      int64_t now) {
  s->kind = kind_of(v, n);
  s->held_ms = s->oldest_wait_ms = -1;
  const zklock_node_info *first = NULL;
  for (int i = 0; i < n; i++) {
    int64_t age = age_of(&v[i], now);
    if (strcmp(v[i].library, "zklock") != 0) {
      s->foreign++; /* neither holder nor waiter as far as we can tell */
    } else if (v[i].holder) {
      s->holders++;
      if (!first)
        first = &v[i];
      if (age > s->held_ms)
        s->held_ms = age; /* the longest hold */
    } else {
      s->waiters++;
      if (age > s->oldest_wait_ms)
        s->oldest_wait_ms = age;
    }
  }
  if (!first)
    return;
  char pid[32];
  owner_field(first->owner, "host", s->host, sizeof s->host);
  owner_field(first->owner, "pid", pid, sizeof pid);
  owner_field(first->owner, "user", s->user, sizeof s->user);
  if (strcmp(s->kind, "election") == 0)
    snprintf(s->user, sizeof s->user, "%s", first->owner);
  s->pid = strtol(pid, NULL, 10);
  s->session = first->owner_session;
  s->token = first->token;
}

static int collect(const char *path, const zklock_node_info *v, int n,
                   void *arg) {
  sums *ss = arg;
  if (ss->n == ss->cap) {
    int cap = ss->cap ? ss->cap * 2 : 64;
    path_sum *nv = realloc(ss->v, (size_t)cap * sizeof *nv);
    if (!nv)
      return ZKLOCK_ENOMEM;
    ss->v = nv, ss->cap = cap;
  }
  path_sum *s = &ss->v[ss->n];
  memset(s, 0, sizeof *s);
  if (!(s->path = strdup(path)))
    return ZKLOCK_ENOMEM;
  ss->n++;
  summarise(s, v, n, ss->now_ms);
  return 0;
}

static void sums_free(sums *ss) {
  for (int i = 0; i < ss->n; i++)
    free(ss->v[i].path);
  free(ss->v);
  memset(ss, 0, sizeof *ss);
}

/* Walks root into ss; on failure prints why. Returns a zklock_err. */
static int scan(zklock_client *c, const char *root, sums *ss, int64_t *us) {
  int64_t t0 = mono_us();
  ss->now_ms = wall_ms();
  int rc = zklock_queue_walk(c, root, collect, ss);
  *us = mono_us() - t0;
  if (rc != ZKLOCK_OK)
    cli_msg("cannot list the locks under %s: %s", root, zklock_strerror(rc));
  return rc;
}

static void age_text(char *buf, size_t len, int64_t ms) {
  if (ms < 0)
    snprintf(buf, len, "-");
  else
    fmt_age(buf, len, ms);
}

static void print_text(const char *root, const sums *ss, int64_t us) {
  int w = 4;
  for (int i = 0; i < ss->n; i++)
    if ((int)strlen(ss->v[i].path) > w)
      w = (int)strlen(ss->v[i].path);
  if (w > 60)
    w = 60;
  printf("%s: %d lock path%s (listed in %.1f ms)\n", root, ss->n,
         ss->n == 1 ? "" : "s", (double)us / 1000.0);
  if (ss->n == 0)
    return;
  printf("%-*s %-9s %7s %7s %7s %8s  %s\n", w, "PATH", "KIND", "HOLDERS",
         "WAITING", "HELD", "MAXWAIT", "HOLDER");
  for (int i = 0; i < ss->n; i++) {
    const path_sum *s = &ss->v[i];
    char held[32], wait[32], who[600], host[256], user[320];
    age_text(held, sizeof held, s->held_ms);
    age_text(wait, sizeof wait, s->oldest_wait_ms);
    snprintf(host, sizeof host, "%s", s->host);
    snprintf(user, sizeof user, "%s", s->user);
    sanitize(host);
    sanitize(user);
    if (s->foreign && !s->holders && !s->waiters)
      snprintf(who, sizeof who, "%d %s node%s (not ordered: another library)",
               s->foreign, s->kind, s->foreign == 1 ? "" : "s");
    else if (!s->holders)
      snprintf(who, sizeof who, "-");
    else if (strcmp(s->kind, "election") == 0)
      snprintf(who, sizeof who, "leader %s", user);
    else
      snprintf(who, sizeof who, "%s:%ld %s", host[0] ? host : "?", s->pid,
               user);
    char path[1100];
    snprintf(path, sizeof path, "%s", s->path);
    sanitize(path);
    printf("%-*s %-9s %7d %7d %7s %8s  %s\n", w, path, s->kind, s->holders,
           s->waiters, held, wait, who);
  }
}

static void print_json(const char *root, const sums *ss, int64_t us) {
  printf("{\"root\":");
  json_str(stdout, root);
  printf(",\"scan_ms\":%.3f,\"paths\":[", (double)us / 1000.0);
  for (int i = 0; i < ss->n; i++) {
    const path_sum *s = &ss->v[i];
    printf("%s{\"path\":", i ? "," : "");
    json_str(stdout, s->path);
    printf(",\"kind\":\"%s\",\"holders\":%d,\"waiters\":%d,\"foreign\":%d,"
           "\"held_ms\":%" PRId64 ",\"oldest_wait_ms\":%" PRId64 ",\"holder\":",
           s->kind, s->holders, s->waiters, s->foreign, s->held_ms,
           s->oldest_wait_ms);
    if (!s->holders) {
      printf("null}");
      continue;
    }
    printf("{\"host\":");
    json_str(stdout, s->host);
    printf(",\"pid\":%ld,\"user\":", s->pid);
    json_str(stdout, s->user);
    printf(",\"session\":\"0x%" PRIx64 "\",\"token\":%" PRId64 "}}",
           (uint64_t)s->session, s->token);
  }
  printf("]}\n");
}

/* One frame: the tree under t->path (-r) or the queue at t->path. */
static int show_once(const tool_ctx *t, zklock_client *c) {
  if (!t->recursive)
    return show_queue(c, t->path, t->json);
  sums ss = {0};
  int64_t us;
  int rc = scan(c, t->path, &ss, &us);
  if (rc == ZKLOCK_OK) {
    if (t->json)
      print_json(t->path, &ss, us);
    else
      print_text(t->path, &ss, us);
  }
  sums_free(&ss);
  return rc == ZKLOCK_OK ? cli_flush() : cli_exit_for(rc);
}

/* --watch: like top on a terminal (home, clear, redraw), a new block per
 * interval otherwise. Ends on SIGINT, SIGTERM or SIGHUP, closing the
 * session cleanly; a failed frame is shown and the next one tried (the
 * library reconnects meanwhile). */
static int watch(const tool_ctx *t, zklock_client *c, const sigset_t *stop) {
  int tty = isatty(STDOUT_FILENO);
  int ms = t->interval_ms > 0 ? t->interval_ms : 2000;
  for (int frame = 0;; frame++) {
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    if (tty)
      fputs("\033[H\033[2J", stdout);
    else if (frame)
      putchar('\n');
    if (!t->json)
      printf("Every %gs: zklock status%s %s    %s\n\n", ms / 1000.0,
             t->recursive ? " -r" : "", t->path, when);
    if (show_once(t, c) == 0)
      fflush(stdout);
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    int sig = sigtimedwait(stop, NULL, &ts);
    if (sig > 0)
      return 0;
    if (sig < 0 && errno != EAGAIN && errno != EINTR)
      return XC_OSERR;
  }
}

int tool_status(const tool_ctx *t) {
  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGHUP);
  /* Blocked before the client's threads start, so they inherit it and
   * only sigtimedwait below takes these signals. */
  if (t->watch)
    pthread_sigmask(SIG_BLOCK, &stop, &old);
  /* A frame goes out in one write, so a terminal never shows half of it. */
  static char buf[1 << 16];
  setvbuf(stdout, buf, _IOFBF, sizeof buf);
  zklock_client *c;
  int xc = cli_open(t, &c);
  if (xc)
    return xc;
  xc = t->watch ? watch(t, c, &stop) : show_once(t, c);
  zklock_client_close(c);
  return xc;
}

/* ---- metrics: Prometheus text exposition format 0.0.4 ---- */

static void label(const char *s) {
  for (; *s; s++) {
    if (*s == '\\' || *s == '"')
      printf("\\%c", *s);
    else if (*s == '\n')
      fputs("\\n", stdout);
    else
      putchar(*s);
  }
}

/* One metric family: HELP, TYPE, then a sample per path. */
static void family(const sums *ss, const char *name, const char *help,
                   int which) {
  printf("# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
  for (int i = 0; i < ss->n; i++) {
    const path_sum *s = &ss->v[i];
    printf("%s{path=\"", name);
    label(s->path);
    printf("\",kind=\"%s\"} ", s->kind);
    int64_t ms = which == 2 ? s->oldest_wait_ms : s->held_ms;
    if (which == 0)
      printf("%d\n", s->holders);
    else if (which == 1)
      printf("%d\n", s->waiters);
    else
      printf("%.3f\n", ms < 0 ? 0.0 : (double)ms / 1000.0);
  }
}

int tool_metrics(const tool_ctx *t) {
  zklock_client *c;
  int xc = cli_open(t, &c);
  if (xc)
    return xc;
  sums ss = {0};
  int64_t us;
  int rc = scan(c, t->path, &ss, &us);
  zklock_client_close(c);
  if (rc != ZKLOCK_OK) { /* print nothing: a collector keeps its last file */
    sums_free(&ss);
    return cli_exit_for(rc);
  }
  family(&ss, "zklock_lock_holders", "Nodes holding the lock at path.", 0);
  family(&ss, "zklock_lock_waiters", "Nodes queued for the lock at path.", 1);
  family(&ss, "zklock_lock_oldest_wait_seconds",
         "Age of the oldest waiting node at path (0 if none).", 2);
  family(&ss, "zklock_lock_held_seconds",
         "Age of the oldest holding node at path (0 if none).", 3);
  printf("# HELP zklock_metrics_scan_seconds Time taken to list the tree.\n"
         "# TYPE zklock_metrics_scan_seconds gauge\n"
         "zklock_metrics_scan_seconds{root=\"");
  label(t->path);
  printf("\"} %.6f\n", (double)us / 1e6);
  sums_free(&ss);
  return cli_flush();
}
