/* What tools/zklock.c (options, connecting, exit codes, output helpers)
 * shares with the subcommands that live in files of their own:
 * tools/status.c (status -r, status --watch, metrics) and
 * tools/deadlocks.c. Not installed. */
#ifndef ZKLOCK_CLI_H
#define ZKLOCK_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <zklock.h>

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

/* Subcommands; each returns the process exit code. */
int tool_status(const tool_ctx *t); /* status with -r and/or --watch */
int tool_metrics(const tool_ctx *t);
int tool_deadlocks(const tool_ctx *t);

/* From tools/zklock.c. */
/* Opens a client as the other subcommands do: 0, or an exit code after a
 * message. */
int cli_open(const tool_ctx *t, zklock_client **c);
/* Exit code for a failed library call (the message is the caller's). */
int cli_exit_for(int rc);
/* Flushes stdout: 0, or the exit code of a failed write. */
int cli_flush(void);
/* The single-path status output of `zklock status PATH`. */
int cli_status_output(const char *path, int json, const zklock_node_info *v,
                      int n);
void cli_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void owner_field(const char *owner, const char *key, char *out, size_t len);
void json_str(FILE *f, const char *s);
void sanitize(char *s);
void fmt_age(char *buf, size_t len, int64_t ms);

#endif
