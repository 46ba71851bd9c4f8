/* bench_recipes: the zklock side of compare.sh's recipe scenarios (the
 * read-write lock under a read-mostly mix, the semaphore under contention,
 * the asynchronous herd). Same output format as zklock-bench.c: one line of
 * key=value figures per scenario, nothing asserted.
 *
 * Server requests are the sum of `mntr` zk_packets_received over every
 * host of the connect string, before and after the timed part (run against
 * servers nobody else is using).
 *
 * The semaphore scenario needs zklock_semaphore_*; it is compiled only with
 * -DZKLOCK_BENCH_SEMAPHORE and otherwise prints "unsupported", which
 * compare.sh reads as "no zklock figure". */
#include "bench_recipes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zklock.h>
#include <zookeeper/zookeeper.h>

static const bench_recipes_cfg *cfg;

double br_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

void br_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void br_die(const char *what, int rc) {
  fprintf(stderr, "zklock-bench: %s: %s\n", what, zklock_strerror(rc));
  exit(1);
}

static int br_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double br_pct(double *lat, int n, int num, int den) {
  if (n <= 0)
    return 0;
  qsort(lat, (size_t)n, sizeof *lat, br_cmp);
  return lat[(long)n * num / den];
}

static char *br_path(const char *what) {
  static int counter;
  char buf[128];
  snprintf(buf, sizeof buf, "/zklock-bench-%s-%ld-%lld-%d", what,
           (long)getpid(), (long long)br_now_us(), counter++);
  return strdup(buf);
}

/* zk_packets_received of one "host:port" (no chroot), or -1 */
static long long mntr_packets(const char *hostport) {
  char host[256];
  snprintf(host, sizeof host, "%s", hostport);
  char *colon = strrchr(host, ':');
  const char *port = "2181";
  if (colon) {
    *colon = '\0';
    port = colon + 1;
  }
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *ai;
  if (getaddrinfo(host, port, &hints, &ai) != 0)
    return -1;
  int fd = socket(ai->ai_family, ai->ai_socktype, 0);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    if (fd >= 0)
      close(fd);
    freeaddrinfo(ai);
    return -1;
  }
  freeaddrinfo(ai);
  if (write(fd, "mntr", 4) != 4) {
    close(fd);
    return -1;
  }
  static char buf[65536];
  size_t len = 0;
  ssize_t r;
  while (len < sizeof buf - 1 &&
         (r = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
    len += (size_t)r;
  close(fd);
  buf[len] = '\0';
  char *p = strstr(buf, "zk_packets_received");
  if (!p)
    return -1;
  p += strlen("zk_packets_received");
  while (*p == ' ' || *p == '\t')
    p++;
  return strtoll(p, NULL, 10);
}

/* The sum over every server of cfg->mntr_hosts (default: the connect
 * string), or -1 if any is unavailable. */
long long bench_packets_all(const bench_recipes_cfg *c) {
  char list[1024];
  snprintf(list, sizeof list, "%s", c->mntr_hosts ? c->mntr_hosts : c->hosts);
  char *slash = strchr(list, '/'); /* chroot suffix */
  if (slash)
    *slash = '\0';
  long long sum = 0;
  char *save = NULL;
  for (char *h = strtok_r(list, ",", &save); h;
       h = strtok_r(NULL, ",", &save)) {
    long long v = mntr_packets(h);
    if (v < 0)
      return -1;
    sum += v;
  }
  return sum;
}

static long long packets_all(void) { return bench_packets_all(cfg); }

void bench_session_hosts(const bench_recipes_cfg *c, char *out, size_t len) {
  static atomic_int next;
  snprintf(out, len, "%s", c->hosts);
  if (!c->spread)
    return;
  char list[1024];
  snprintf(list, sizeof list, "%s", c->hosts);
  char *chroot = strchr(list, '/');
  if (chroot)
    *chroot++ = '\0';
  char *h[64];
  int n = 0;
  char *save = NULL;
  for (char *t = strtok_r(list, ",", &save); t && n < 64;
       t = strtok_r(NULL, ",", &save))
    h[n++] = t;
  if (n < 2)
    return;
  int first = atomic_fetch_add(&next, 1) % n;
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < n && used < len; i++)
    used += (size_t)snprintf(out + used, len - used, "%s%s", i ? "," : "",
                             h[(first + i) % n]);
  if (chroot && used < len)
    snprintf(out + used, len - used, "/%s", chroot);
}

int bench_servers_used(zhandle_t **zhs, int n) {
  int ports[256], np = 0;
  for (int i = 0; i < n; i++) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (!zhs[i] ||
        !zookeeper_get_connected_host(zhs[i], (struct sockaddr *)&ss, &sl))
      continue;
    int port = ss.ss_family == AF_INET
                   ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                   : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    int seen = 0;
    for (int j = 0; j < np && !seen; j++)
      seen = ports[j] == port;
    if (!seen && np < 256)
      ports[np++] = port;
  }
  return np;
}

static zklock_client *br_client(void) {
  zklock_client_opts o;
  memset(&o, 0, sizeof o);
  o.await_release = cfg->await_release;
  zklock_client *c;
  char hosts[1024];
  bench_session_hosts(cfg, hosts, sizeof hosts);
  int rc = zklock_client_open(hosts, &o, &c);
  if (rc)
    br_die("zklock_client_open", rc);
  return c;
}

/* ---- K threads, one session each, behind a start gate ---- */

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int go;
  atomic_int left;
  atomic_int excl, shared, violations, reads, writes;
  int param; /* rwlock: read percentage; sem: permits */
  const char *path;
} gang;

typedef struct {
  gang *g;
  zklock_client *c;
  double *lat;
  int nlat;
  unsigned seed;
} member;

static void gang_wait(gang *g) {
  pthread_mutex_lock(&g->mu);
  while (!g->go)
    pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
}

/* Starts k threads running fn, opens the gate, joins them; returns the
 * wall time and fills the latencies (n of them) and request delta. */
static double gang_run(gang *g, int k, void *(*fn)(void *), double **lat_out,
                       int *n_out, long long *req_out) {
  member *ms = calloc((size_t)k, sizeof *ms);
  pthread_t *ts = calloc((size_t)k, sizeof *ts);
  for (int i = 0; i < k; i++) {
    ms[i].g = g;
    ms[i].c = br_client();
    ms[i].lat = malloc(sizeof(double) * (size_t)cfg->nops);
    ms[i].seed = (unsigned)i * 2654435761u + 7;
    pthread_create(&ts[i], NULL, fn, &ms[i]);
  }
  br_sleep_ms(100); /* every thread at the gate */
  long long p0 = packets_all();
  double t0 = br_now_us();
  pthread_mutex_lock(&g->mu);
  g->go = 1;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
  for (int i = 0; i < k; i++)
    pthread_join(ts[i], NULL);
  double t1 = br_now_us();
  long long p1 = packets_all();
  double *lat = malloc(sizeof *lat * (size_t)cfg->nops);
  int n = 0;
  for (int i = 0; i < k; i++) {
    memcpy(lat + n, ms[i].lat, sizeof *lat * (size_t)ms[i].nlat);
    n += ms[i].nlat;
    free(ms[i].lat);
    zklock_client_close(ms[i].c);
  }
  free(ms);
  free(ts);
  *lat_out = lat;
  *n_out = n;
  *req_out = (p0 < 0 || p1 < 0) ? -1 : p1 - p0;
  return t1 - t0;
}

static void gang_init(gang *g, const char *path, int param) {
  memset(g, 0, sizeof *g);
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->cv, NULL);
  atomic_init(&g->left, cfg->nops);
  g->param = param;
  g->path = path;
}

/* ---- rwlock:K:R ---- */

static void *rw_main(void *arg) {
  member *w = arg;
  gang *g = w->g;
  zklock_rwlock *l;
  int rc = zklock_rwlock_new(w->c, g->path, &l);
  if (rc)
    br_die("zklock_rwlock_new", rc);
  gang_wait(g);
  while (atomic_fetch_sub(&g->left, 1) > 0) {
    int write = (int)(rand_r(&w->seed) % 100) >= g->param;
    double s = br_now_us();
    rc = write ? zklock_rwlock_wrlock(l, -1) : zklock_rwlock_rdlock(l, -1);
    if (rc)
      br_die("rwlock lock", rc);
    if (write) {
      if (atomic_fetch_add(&g->excl, 1) != 0 || atomic_load(&g->shared) != 0)
        atomic_fetch_add(&g->violations, 1);
      atomic_fetch_sub(&g->excl, 1);
    } else {
      atomic_fetch_add(&g->shared, 1);
      if (atomic_load(&g->excl) != 0)
        atomic_fetch_add(&g->violations, 1);
      atomic_fetch_sub(&g->shared, 1);
    }
    atomic_fetch_add(write ? &g->writes : &g->reads, 1);
    rc = zklock_rwlock_unlock(l);
    if (rc)
      br_die("rwlock unlock", rc);
    w->lat[w->nlat++] = br_now_us() - s;
  }
  zklock_rwlock_free(l);
  return NULL;
}

static void bench_rwmix(int k, int read_pct) {
  gang g;
  char *path = br_path("rwmix");
  gang_init(&g, path, read_pct);
  double *lat;
  int n;
  long long req;
  double us = gang_run(&g, k, rw_main, &lat, &n, &req);
  printf("zklock rwlock mixed: clients=%d reads_pct=%d n=%d reads=%d "
         "writes=%d median_us=%.1f p99_us=%.1f ops_s=%.0f violations=%d "
         "requests_per_op=%.2f\n",
         k, read_pct, n, atomic_load(&g.reads), atomic_load(&g.writes),
         br_pct(lat, n, 1, 2), br_pct(lat, n, 99, 100), n / (us / 1e6),
         atomic_load(&g.violations), req < 0 ? -1.0 : (double)req / n);
  fflush(stdout);
  free(lat);
  free(path);
}

/* ---- sem:P:S ---- */

#if 1 /* semaphores landed */
static void *sem_main(void *arg) {
  member *w = arg;
  gang *g = w->g;
  zklock_semaphore *s;
  int rc = zklock_semaphore_new(w->c, g->path, g->param, &s);
  if (rc)
    br_die("zklock_semaphore_new", rc);
  gang_wait(g);
  while (atomic_fetch_sub(&g->left, 1) > 0) {
    double t = br_now_us();
    rc = zklock_semaphore_acquire(s, -1);
    if (rc)
      br_die("semaphore acquire", rc);
    if (atomic_fetch_add(&g->shared, 1) >= g->param)
      atomic_fetch_add(&g->violations, 1);
    atomic_fetch_sub(&g->shared, 1);
    rc = zklock_semaphore_release(s);
    if (rc)
      br_die("semaphore release", rc);
    w->lat[w->nlat++] = br_now_us() - t;
  }
  zklock_semaphore_free(s);
  return NULL;
}
#endif

static void bench_sem(int permits, int sessions) {
#if 1 /* semaphores landed */
  gang g;
  char *path = br_path("sem");
  gang_init(&g, path, permits);
  double *lat;
  int n;
  long long req;
  double us = gang_run(&g, sessions, sem_main, &lat, &n, &req);
  printf("zklock semaphore: permits=%d sessions=%d n=%d median_us=%.1f "
         "p99_us=%.1f ops_s=%.0f violations=%d requests_per_release=%.2f\n",
         permits, sessions, n, br_pct(lat, n, 1, 2), br_pct(lat, n, 99, 100),
         n / (us / 1e6), atomic_load(&g.violations),
         req < 0 ? -1.0 : (double)req / n);
  free(lat);
  free(path);
#else
  printf("zklock semaphore: permits=%d sessions=%d unsupported "
         "(built without ZKLOCK_BENCH_SEMAPHORE)\n",
         permits, sessions);
#endif
  fflush(stdout);
}

int bench_recipes_run(const char *scenario, const bench_recipes_cfg *c) {
  int a, b;
  char tail;
  cfg = c;
  if (sscanf(scenario, "rwlock:%d:%d%c", &a, &b, &tail) == 2 && a > 0 &&
      b >= 0 && b <= 100)
    bench_rwmix(a, b);
  else if (sscanf(scenario, "sem:%d:%d%c", &a, &b, &tail) == 2 && a > 0 &&
           b > 0)
    bench_sem(a, b);
  else
    return 0;
  return 1;
}
