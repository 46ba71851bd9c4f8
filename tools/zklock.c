/* zklock: run a command while holding a ZooKeeper lock, or show a lock's
 * queue. See man/zklock.1 for the user's view.
 *
 *   zklock [OPTIONS] PATH [--] COMMAND [ARGS...]
 *   zklock [OPTIONS] status [--json] PATH
 *
 * This file reads the command word and hands the command line to its run;
 * tools/cli.h says where the rest lives. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static tool_ctx tool_view(const cli_opts *o, const zklock_client_opts *copts) {
  tool_ctx t = {o->hosts,     copts,    o->connect_timeout_ms, o->path,
                o->recursive, o->watch, o->interval_ms,        o->json};
  return t;
}

static int word_status(const cli_opts *o, const zklock_client_opts *copts) {
  if (!o->recursive && !o->watch)
    return run_status(o, copts);
  tool_ctx t = tool_view(o, copts);
  return tool_status(&t);
}

static int word_metrics(const cli_opts *o, const zklock_client_opts *copts) {
  tool_ctx t = tool_view(o, copts);
  return tool_metrics(&t);
}

static int word_deadlocks(const cli_opts *o, const zklock_client_opts *copts) {
  tool_ctx t = tool_view(o, copts);
  return tool_deadlocks(&t);
}

/* A command word: what runs it, and what its operands are. */
typedef struct {
  const char *name;
  word_fn *run;
  int tree;  /* ROOT, which may be "/" */
  int elect; /* PATH --id ID [--] COMMAND: options may follow PATH */
} word;

static const word words[] = {
    {"status", word_status, 0, 0},   {"revoke", run_revoke, 0, 0},
    {"leader", run_leader, 0, 0},    {"elect", run_command, 0, 1},
    {"metrics", word_metrics, 1, 0}, {"deadlocks", word_deadlocks, 1, 0},
};

static const word *find_word(const char *s) {
  for (size_t i = 0; i < sizeof words / sizeof *words; i++)
    if (strcmp(s, words[i].name) == 0)
      return &words[i];
  return NULL;
}

/* Parses again from argv[at], which getopt skips as it would the program
 * name: -1 to go on, else an exit code. */
static int reparse(int *argc, char ***argv, int at, cli_opts *o) {
  *argc -= at;
  *argv += at;
  optind = 0; /* glibc: 0 re-initialises getopt fully */
  return parse_opts(*argc, *argv, o);
}

/* The operands after the options: the word (*w, NULL for none), PATH and
 * COMMAND. -1 to go on, else an exit code. */
static int parse_operands(int argc, char **argv, cli_opts *o, const word **w) {
  int rc;
  *w = optind < argc ? find_word(argv[optind]) : NULL;
  /* the word takes the same options after it as well */
  if (*w && (rc = reparse(&argc, &argv, optind, o)) >= 0)
    return rc;
  if (optind >= argc)
    return usage_error("missing lock PATH");
  o->path = argv[optind++];
  int tree = o->recursive || (*w && (*w)->tree);
  if (zklock_path_validate(o->path) != ZKLOCK_OK &&
      !(tree && strcmp(o->path, "/") == 0))
    return usage_error("invalid lock path '%s': %s", o->path,
                       o->path[0] == '/' ? "bad component or characters"
                                         : "must start with '/'");
  o->elect = *w && (*w)->elect;
  if (o->elect && (rc = reparse(&argc, &argv, optind - 1, o)) >= 0)
    return rc;
  if (*w && !o->elect) {
    if (optind < argc)
      return usage_error("unexpected argument '%s' after PATH", argv[optind]);
    return -1;
  }
  if (optind < argc && strcmp(argv[optind], "--") == 0)
    optind++;
  if (optind >= argc)
    return usage_error("missing COMMAND to run under the lock");
  o->cmd = argv + optind;
  rc = check_run_opts(o);
  return rc ? rc : -1;
}

int main(int argc, char **argv) {
  cli_opts o = {.compat = -1,
                .revoke_sig = SIGUSR1,
                .timeout_ms = -1,
                .kill_after_ms = 5000,
                .connect_timeout_ms = 10000,
                .session_timeout_ms = 10000};
  const word *w = NULL;
  int rc = parse_opts(argc, argv, &o);
  if (rc < 0)
    rc = parse_operands(argc, argv, &o, &w);
  if (rc >= 0)
    return rc;
  zklock_client_opts copts;
  if ((rc = settle_opts(&o, &copts)) != 0)
    return rc;
  rc = (w ? w->run : run_command)(&o, &copts);
  scrub_auth();
  return rc;
}
