/* zklock deadlocks ROOT: cycles of sessions that wait for each other,
 * from zklock_find_deadlocks. Exit 0 when there is none, 1 when one or
 * more are found (each printed), else an error code. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct {
  int json;
  int count;
  const char *root;
} out_state;

/* JSON opens only once the search succeeded or found something, so a
 * failure prints no half document. */
static void json_open(const out_state *o) {
  printf("{\"root\":");
  json_str(stdout, o->root);
  printf(",\"cycles\":[");
}

static void print_text(const zklock_cycle *cy, int k) {
  printf("deadlock %d: %d sessions wait for each other\n", k, cy->n);
  for (int i = 0; i < cy->n; i++) {
    char host[256], user[320], path[1100], age[32];
    snprintf(host, sizeof host, "%s", cy->hosts[i][0] ? cy->hosts[i] : "?");
    owner_field(cy->owners[i], "user", user, sizeof user);
    snprintf(path, sizeof path, "%s", cy->paths[i]);
    sanitize(host);
    sanitize(user);
    sanitize(path);
    fmt_age(age, sizeof age, cy->wait_ms[i]);
    printf("  session 0x%" PRIx64 " (%s:%" PRId64 " %s) waits %s for %s\n"
           "      (node %s), held by session 0x%" PRIx64 " (node %s)\n",
           (uint64_t)cy->sessions[i], host, cy->pids[i], user, age, path,
           cy->nodes[i], (uint64_t)cy->sessions[(i + 1) % cy->n],
           cy->holder_nodes[i]);
  }
}

static void print_json(const zklock_cycle *cy, int k) {
  printf("%s[", k > 1 ? "," : "");
  for (int i = 0; i < cy->n; i++) {
    printf("%s{\"session\":\"0x%" PRIx64 "\",\"host\":", i ? "," : "",
           (uint64_t)cy->sessions[i]);
    json_str(stdout, cy->hosts[i]);
    printf(",\"pid\":%" PRId64 ",\"owner\":", cy->pids[i]);
    json_str(stdout, cy->owners[i]);
    printf(",\"waits_for\":");
    json_str(stdout, cy->paths[i]);
    printf(",\"node\":");
    json_str(stdout, cy->nodes[i]);
    printf(",\"wait_ms\":%" PRId64 ",\"held_by\":\"0x%" PRIx64
           "\",\"holder_node\":",
           cy->wait_ms[i], (uint64_t)cy->sessions[(i + 1) % cy->n]);
    json_str(stdout, cy->holder_nodes[i]);
    printf("}");
  }
  printf("]");
}

static void on_cycle(const zklock_cycle *cy, void *arg) {
  out_state *o = arg;
  if (o->json && o->count == 0)
    json_open(o);
  o->count++;
  if (o->json)
    print_json(cy, o->count);
  else
    print_text(cy, o->count);
}

int tool_deadlocks(const tool_ctx *t) {
  zklock_client *c;
  int xc = cli_open(t, &c);
  if (xc)
    return xc;
  out_state o = {t->json, 0, t->path};
  int rc = zklock_find_deadlocks(c, t->path, on_cycle, &o);
  zklock_client_close(c);
  if (rc < 0) {
    fflush(stdout);
    cli_msg("cannot look for deadlocks under %s: %s", t->path,
            zklock_strerror(rc));
    return cli_exit_for(rc);
  }
  if (o.json && o.count == 0)
    json_open(&o);
  if (o.json)
    printf("]}\n");
  else if (rc == 0)
    printf("%s: no deadlock\n", t->path);
  xc = cli_flush();
  return xc ? xc : rc > 0;
}
