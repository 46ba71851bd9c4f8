/* Test support shared by the integration tests. */
#include "zkt.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int zkt_skipped;
/* Four-letter words sent: the servers count each as a packet received. */
static long fourlw_sent;

int zkt_group_result(int failed) {
  if (failed)
    return 1; /* not a count: 77 failures must not read as a skip */
  if (zkt_skipped)
    fprintf(stderr, "%d test(s) skipped: exit 77 (SKIP)\n", zkt_skipped);
  return zkt_skipped ? 77 : 0;
}

static char hosts_buf[512];
static char hosts_override[512];

void zkt_set_hosts(const char *hosts) {
  snprintf(hosts_override, sizeof hosts_override, "%s", hosts ? hosts : "");
}

int zkt_ensemble_sh(const char *args, char *out, size_t outlen) {
  const char *src = getenv("top_srcdir");
  char line[2048];
  snprintf(line, sizeof line, "\"%s/tests/ensemble.sh\" %s", src ? src : ".",
           args);
  FILE *f = popen(line, "r");
  if (!f)
    return -1;
  size_t len = out ? fread(out, 1, outlen - 1, f) : 0;
  if (out)
    out[len] = '\0';
  else
    while (fgetc(f) != EOF)
      ;
  return pclose(f) == 0 ? 0 : -1;
}

static volatile sig_atomic_t private_up;
static pid_t private_pid[3];

void zkt_private_kill(void) {
  for (int i = 0; private_up && i < 3; i++)
    if (private_pid[i] > 0)
      kill(private_pid[i], SIGKILL);
}

void zkt_private_stop(void) {
  if (!private_up)
    return;
  zkt_ensemble_sh("stop >/dev/null 2>&1", NULL, 0);
  private_up = 0;
  zkt_set_hosts(NULL);
}

const char *zkt_private_ensemble(const char *tag) {
  if (!getenv("top_srcdir"))
    fail_msg("top_srcdir is not set (run under make check, or set it to "
             "the source tree: a private ensemble is started with "
             "tests/ensemble.sh)");
  char dir[1024];
  const char *bld = getenv("top_builddir");
  snprintf(dir, sizeof dir, "%s/tests/.ensemble-%s-%ld",
           bld ? bld : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp"), tag,
           (long)getpid());
  setenv("ZKLOCK_ENSEMBLE_DIR", dir, 1);
  static int registered;
  if (!registered++)
    atexit(zkt_private_stop);
  private_up = 1; /* before start: the exit path stops what came up */
  static char out[8192];
  int rc = zkt_ensemble_sh("start 2>&1", out, sizeof out);
  for (int n = 1; n <= 3; n++) {
    char args[32], buf[64];
    snprintf(args, sizeof args, "pid %d", n);
    if (zkt_ensemble_sh(args, buf, sizeof buf) == 0)
      private_pid[n - 1] = (pid_t)atol(buf);
  }
  if (rc != 0)
    fail_msg("could not start a private ensemble in %s:\n%s", dir, out);
  static char hosts[512];
  assert_int_equal(zkt_ensemble_sh("hosts", hosts, sizeof hosts), 0);
  hosts[strcspn(hosts, "\r\n")] = '\0';
  zkt_set_hosts(hosts);
  return hosts;
}

long zkt_packets(void) {
  /* this call's own words are counted by the time the servers answer */
  long sent = __atomic_load_n(&fourlw_sent, __ATOMIC_SEQ_CST) + 3;
  char hosts[512];
  snprintf(hosts, sizeof hosts, "%s", zkt_hosts());
  long n = 0;
  for (char *save, *hp = strtok_r(hosts, ",", &save); hp;
       hp = strtok_r(NULL, ",", &save)) {
    char *reply = zkt_4lw(hp, "mntr");
    assert_non_null(reply);
    char *p = strstr(reply, "zk_packets_received");
    assert_non_null(p);
    n += atol(p + strlen("zk_packets_received"));
    free(reply);
  }
  return n - sent;
}

const char *zkt_hosts(void) {
  if (hosts_override[0])
    return hosts_override;
  const char *h = getenv("ZKLOCK_TEST_HOSTS");
  if (h && *h)
    return h;
  if (hosts_buf[0])
    return hosts_buf;
  const char *dir = getenv("ZKLOCK_ENSEMBLE_DIR");
  if (dir) {
    char p[1024];
    snprintf(p, sizeof p, "%s/hosts", dir);
    FILE *f = fopen(p, "r");
    if (f) {
      if (fgets(hosts_buf, sizeof hosts_buf, f))
        hosts_buf[strcspn(hosts_buf, "\r\n")] = '\0';
      fclose(f);
      if (hosts_buf[0])
        return hosts_buf;
    }
  }
  fprintf(stderr, "no test ensemble: set ZKLOCK_TEST_HOSTS or run "
                  "tests/ensemble.sh start\n");
  exit(77);
}

void zkt_root(char *buf, size_t len, const char *name) {
  static int n;
  snprintf(buf, len, "/zklock-test/%s-%ld-%d", name, (long)getpid(), n++);
}

static void quiet(const char *m) { (void)m; }

zhandle_t *zkt_raw(void) {
  zhandle_t *zh =
      zookeeper_init2(zkt_hosts(), NULL, 10000, NULL, NULL, 0, quiet);
  assert_non_null(zh);
  for (int i = 0; i < 1000 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++)
    zkt_sleep_ms(10);
  assert_int_equal(zoo_state(zh), ZOO_CONNECTED_STATE);
  return zh;
}

static void sync_done(int rc, const char *value, const void *data) {
  (void)rc;
  (void)value;
  __atomic_store_n((int *)data, 1, __ATOMIC_RELEASE);
}

/* Reads from another session may lag on a follower: sync first, so the
 * check sees every write that completed before it. */
void zkt_sync(zhandle_t *zh, const char *path) {
  int done = 0;
  if (zoo_async(zh, path, sync_done, &done) != ZOK)
    return;
  for (int i = 0; i < 1000 && !__atomic_load_n(&done, __ATOMIC_ACQUIRE); i++)
    zkt_sleep_ms(2);
}

int zkt_children(zhandle_t *zh, const char *path) {
  zkt_sync(zh, path);
  struct String_vector sv = {0, NULL};
  int rc = zoo_get_children(zh, path, 0, &sv);
  if (rc == ZNONODE)
    return -1;
  assert_int_equal(rc, ZOK);
  int n = sv.count;
  deallocate_String_vector(&sv);
  return n;
}

int zkt_nodes(zhandle_t *zh, const char *path) {
  int n = zkt_children(zh, path);
  return n < 0 ? 0 : n;
}

/* Releases are pipelined: another session sees a released node go a
 * moment later. Polls (up to 5 s) until path has want children. */
int zkt_nodes_settle(zhandle_t *zh, const char *path, int want) {
  int n = zkt_nodes(zh, path);
  for (int i = 0; i < 500 && n != want; i++) {
    usleep(10000);
    n = zkt_nodes(zh, path);
  }
  return n;
}

void zkt_rmr(zhandle_t *zh, const char *path) {
  struct String_vector sv = {0, NULL};
  if (zoo_get_children(zh, path, 0, &sv) != ZOK)
    return;
  for (int i = 0; i < sv.count; i++) {
    char child[2048];
    snprintf(child, sizeof child, "%s/%s", path, sv.data[i]);
    zkt_rmr(zh, child);
  }
  deallocate_String_vector(&sv);
  zoo_delete(zh, path, -1);
}

void zkt_expire(zklock_client *c) {
  zhandle_t *zh = zklock_client_zhandle(c);
  assert_non_null(zh);
  clientid_t id = *zoo_client_id(zh);
  zhandle_t *twin =
      zookeeper_init2(zkt_hosts(), NULL, 10000, &id, NULL, 0, quiet);
  assert_non_null(twin);
  for (int i = 0; i < 1000 && zoo_state(twin) != ZOO_CONNECTED_STATE; i++)
    zkt_sleep_ms(10);
  zookeeper_close(twin); /* closing the twin ends the shared session */
}

static void zk_log(const char *m) { fprintf(stderr, "zk: %s\n", m); }

zklock_client *zkt_client(int session_timeout_ms) {
  zklock_client_opts o = {0};
  if (getenv("ZKT_ZKLOG")) /* ZooKeeper client log lines, for debugging */
    o.log = zk_log;
  o.session_timeout_ms = session_timeout_ms;
  o.owner_text = "zklock-test";
  zklock_client *c = NULL;
  int64_t t0 = zkt_now_ms();
  int rc = zklock_client_open(zkt_hosts(), &o, &c);
  if (rc)
    fprintf(stderr, "zklock_client_open: %s (after %lld ms)\n",
            zklock_strerror(rc), (long long)(zkt_now_ms() - t0));
  assert_int_equal(rc, ZKLOCK_OK);
  return c;
}

char *zkt_4lw(const char *hostport, const char *cmd) {
  __atomic_add_fetch(&fourlw_sent, 1, __ATOMIC_SEQ_CST);
  char host[256];
  snprintf(host, sizeof host, "%s", hostport);
  char *colon = strrchr(host, ':');
  if (!colon)
    return NULL;
  *colon = '\0';
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)atoi(colon + 1))};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
    return NULL;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return NULL;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
    close(fd);
    return NULL;
  }
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  ssize_t r;
  while (buf && (r = read(fd, buf + len, cap - len - 1)) > 0) {
    len += (size_t)r;
    if (cap - len < 2) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) {
        free(buf);
        buf = NULL;
      }
      buf = nb;
    }
  }
  close(fd);
  if (buf)
    buf[len] = '\0';
  return buf;
}

/* wchp output per server: "/path" then one "\t0xsession" line per
 * watching session. */
int zkt_watches(const char *root, const char *path) {
  char hosts[512];
  snprintf(hosts, sizeof hosts, "%s", zkt_hosts());
  int n = 0, in = 0;
  for (char *save, *hp = strtok_r(hosts, ",", &save); hp;
       hp = strtok_r(NULL, ",", &save)) {
    char *reply = zkt_4lw(hp, "wchp");
    assert_non_null(reply);
    for (char *s2, *line = strtok_r(reply, "\n", &s2); line;
         line = strtok_r(NULL, "\n", &s2)) {
      if (line[0] == '/')
        in = path ? strcmp(line, path) == 0
                  : strncmp(line, root, strlen(root)) == 0;
      else if (in && strstr(line, "0x"))
        n++;
    }
    free(reply);
  }
  return n;
}

/* Under root: root itself or a path below it (not "/a/b-40" for "/a/b-4"). */
static int under(const char *path, const char *root) {
  size_t n = strlen(root);
  return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int zkt_waits_on_other(const char *root, int64_t sid) {
  zhandle_t *zh = zkt_rawzh ? zkt_rawzh : zkt_raw();
  zkt_sync(zh, root);
  char hosts[512];
  snprintf(hosts, sizeof hosts, "%s", zkt_hosts());
  int n = 0;
  char path[1024] = "";
  for (char *save, *hp = strtok_r(hosts, ",", &save); hp;
       hp = strtok_r(NULL, ",", &save)) {
    char *reply = zkt_4lw(hp, "wchp");
    if (!reply)
      continue; /* a stopped server answers nothing */
    for (char *s2, *line = strtok_r(reply, "\n", &s2); line;
         line = strtok_r(NULL, "\n", &s2)) {
      if (line[0] == '/') {
        snprintf(path, sizeof path, "%s", line);
        continue;
      }
      char *hex = strstr(line, "0x");
      struct Stat st;
      if (hex && under(path, root) && strcmp(path, root) != 0 &&
          (int64_t)strtoull(hex, NULL, 16) == sid &&
          zoo_exists(zh, path, 0, &st) == ZOK && st.ephemeralOwner != sid)
        n++;
    }
    free(reply);
  }
  if (zh != zkt_rawzh)
    zookeeper_close(zh);
  return n;
}

int zkt_wait_waiting(const char *root, int64_t sid) {
  int64_t end = zkt_now_ms() + ZKT_EVIDENCE_MS;
  for (;;) {
    if (zkt_waits_on_other(root, sid) > 0)
      return 1;
    if (zkt_now_ms() >= end)
      return 0;
    zkt_sleep_ms(20);
  }
}

int64_t zkt_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void zkt_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    ;
}

int zkt_wait_for(int (*pred)(void *), void *arg, int timeout_ms) {
  int64_t end = zkt_now_ms() + timeout_ms;
  int v;
  while (!(v = pred(arg)) && zkt_now_ms() < end)
    zkt_sleep_ms(10);
  return v;
}

extern char **environ;

pid_t zkt_spawn_self(const char *const *args) {
  /* the resolved path: under valgrind /proc/self/exe is valgrind itself,
   * but readlink on it reports the program */
  static char self[4096];
  if (!self[0]) {
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
      return -1;
    self[len] = '\0';
  }
  const char *argv[32];
  int n = 0;
  argv[n++] = self;
  for (; args[n - 1] && n < 31; n++)
    argv[n] = args[n - 1];
  argv[n] = NULL;
  pid_t pid;
  int rc = posix_spawn(&pid, self, NULL, NULL, (char *const *)argv, environ);
  return rc == 0 ? pid : -1;
}

int zkt_wait_exit(pid_t pid) {
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
    return -1;
  return WEXITSTATUS(st);
}

void *zkt_shm_create(char *path_out, size_t path_len, size_t size) {
  snprintf(path_out, path_len, "/tmp/zkt-shm-XXXXXX");
  int fd = mkstemp(path_out);
  if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
    return NULL;
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  return p == MAP_FAILED ? NULL : p;
}

void *zkt_shm_open(const char *path, size_t size) {
  int fd = open(path, O_RDWR);
  if (fd < 0)
    return NULL;
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  return p == MAP_FAILED ? NULL : p;
}

zhandle_t *zkt_rawzh;

int zkt_group_setup(void **state) {
  (void)state;
  zkt_rawzh = zkt_raw();
  return 0;
}

int zkt_group_teardown(void **state) {
  (void)state;
  zookeeper_close(zkt_rawzh);
  zkt_rawzh = NULL;
  return 0;
}

void zkt_assert_empty(const char *root) {
  assert_int_equal(zkt_nodes_settle(zkt_rawzh, root, 0), 0);
  zkt_rmr(zkt_rawzh, root);
}
