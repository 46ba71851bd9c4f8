/* fenced_pg: protect a PostgreSQL row with a lock AND its fencing token.
 *
 *   fenced_pg HOSTS LOCK_PATH CONNINFO VALUE [WORK_MS]
 *
 * A lock alone cannot stop a holder that was paused (GC, swap, SIGSTOP,
 * a slow disk) past its session timeout: meanwhile its session expired,
 * someone else took the lock and wrote, and the paused holder wakes up
 * believing it still holds. Checking the lock state right before writing
 * narrows that window but cannot close it (the pause can come right
 * after the check). The resource itself must refuse the stale holder.
 *
 * Every hold has a token (zklock_mutex_token: the lock node's czxid),
 * strictly increasing from one holder to the next. The table keeps the
 * highest token it accepted, and a write is conditional on carrying a
 * higher one:
 *
 *   UPDATE fenced SET value = $2, last_token = $1, writes = writes + 1
 *    WHERE id = 1 AND last_token < $1
 *
 * One row updated: accepted. None: a later holder already wrote; ours is
 * stale and is dropped. The check and the write are one statement, so no
 * other writer can slip in between.
 *
 * Prints "token T accepted" (exit 0) or "token T rejected" (exit 3).
 * WORK_MS (default 0) is the time the "work" takes before the write. The
 * environment variable FENCED_PG_WAIT_FOR=FILE makes the work wait until
 * FILE exists instead (tests/test_fenced_pg.sh pauses us there). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <zklock.h>

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS fenced ("
    " id int PRIMARY KEY, last_token bigint NOT NULL,"
    " writes bigint NOT NULL, value text);"
    "INSERT INTO fenced VALUES (1, -1, 0, NULL) ON CONFLICT (id) DO NOTHING";

/* The work between taking the lock and writing. A monotonic deadline, so
 * a process stopped meanwhile writes at once when resumed. */
static void work(int ms) {
  const char *gate = getenv("FENCED_PG_WAIT_FOR");
  if (gate && *gate) {
    for (int i = 0; i < 6000 && access(gate, F_OK) != 0; i++) /* <= 10 min */
      nanosleep(&(struct timespec){0, 100000000}, NULL);
    return;
  }
  struct timespec end;
  clock_gettime(CLOCK_MONOTONIC, &end);
  end.tv_sec += ms / 1000;
  end.tv_nsec += (long)(ms % 1000) * 1000000;
  if (end.tv_nsec >= 1000000000)
    end.tv_sec++, end.tv_nsec -= 1000000000;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &end, NULL) == EINTR)
    ;
}

/* 1 accepted, 0 rejected (stale token), -1 error. */
static int fenced_update(PGconn *db, int64_t token, const char *value) {
  char tok[32];
  snprintf(tok, sizeof tok, "%" PRId64, token);
  const char *params[2] = {tok, value};
  PGresult *r = PQexecParams(db,
                             "UPDATE fenced SET value = $2, last_token = $1,"
                             " writes = writes + 1"
                             " WHERE id = 1 AND last_token < $1",
                             2, NULL, params, NULL, NULL, 0);
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok)
    fprintf(stderr, "update: %s", PQerrorMessage(db));
  int rows = ok ? atoi(PQcmdTuples(r)) : -1;
  PQclear(r);
  return rows < 0 ? -1 : rows == 1;
}

static int setup_table(PGconn *db) {
  PGresult *r = PQexec(db, schema);
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok)
    fprintf(stderr, "schema: %s", PQerrorMessage(db));
  PQclear(r);
  return ok ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc < 5 || argc > 6) {
    fprintf(stderr, "usage: fenced_pg HOSTS LOCK_PATH CONNINFO VALUE "
                    "[WORK_MS]\n");
    return 2;
  }
  int work_ms = argc > 5 ? atoi(argv[5]) : 0;
  PGconn *db = PQconnectdb(argv[3]);
  if (PQstatus(db) != CONNECTION_OK) {
    fprintf(stderr, "connect %s: %s", argv[3], PQerrorMessage(db));
    PQfinish(db);
    return 1;
  }
  /* A short session: a paused holder loses the lock after 2 s. */
  zklock_client_opts o = {.session_timeout_ms = 2000};
  zklock_client *c = NULL;
  zklock_mutex *m = NULL;
  int rc = zklock_client_open(argv[1], &o, &c);
  if (rc == ZKLOCK_OK)
    rc = zklock_mutex_new(c, argv[2], &m);
  if (rc == ZKLOCK_OK)
    rc = zklock_mutex_lock(m, 60000);
  if (rc != ZKLOCK_OK) {
    fprintf(stderr, "lock %s: %s\n", argv[2], zklock_strerror(rc));
    zklock_mutex_free(m);
    zklock_client_close(c);
    PQfinish(db);
    return 1;
  }
  /* Read the token while we hold: it is -1 once the hold is lost. */
  int64_t token = zklock_mutex_token(m);
  printf("pid %ld holds %s with token %" PRId64 "\n", (long)getpid(), argv[2],
         token);
  fflush(stdout);
  int xc = 1;
  if (setup_table(db) == 0) {
    work(work_ms);
    /* No zklock_mutex_state check here on purpose: the database has the
     * last word, whatever we believe about the lock. */
    int acc = fenced_update(db, token, argv[4]);
    if (acc >= 0)
      printf("token %" PRId64 " %s\n", token, acc ? "accepted" : "rejected");
    xc = acc < 0 ? 1 : acc ? 0 : 3;
  }
  zklock_mutex_free(m);
  zklock_client_close(c);
  PQfinish(db);
  return xc;
}
