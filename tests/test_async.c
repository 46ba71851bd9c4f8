/* Integration tests: the asynchronous calls (zklock_*_async) and loop
 * dispatch (zklock_client_fd / zklock_client_dispatch) against the real
 * ensemble. Thousands of waits from one thread, FIFO per path, no thread
 * per waiter, exactly-once completions on cancel, close, free and
 * timeout, and blocking callers mixed with async ones. */
#include "zkt.h"

#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define raw zkt_rawzh
#define LOOP_WAIT_MS 30000 /* only a broken library waits this long */

static zklock_client *loop_client(void) {
  zklock_client_opts o = {0};
  o.dispatch = ZKLOCK_DISPATCH_LOOP;
  o.owner_text = "zklock-test";
  zklock_client *c = NULL;
  assert_int_equal(zklock_client_open(zkt_hosts(), &o, &c), ZKLOCK_OK);
  assert_true(zklock_client_fd(c) >= 0);
  return c;
}

/* Threads of this process: a waiter must not cost one. */
static int thread_count(void) {
  DIR *d = opendir("/proc/self/task");
  assert_non_null(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* Polls the clients' fds and dispatches until *count reaches want or
 * timeout_ms passes; between() (may be NULL) runs after every round.
 * Returns *count. */
static int run_loop(zklock_client **cs, int n, const int *count, int want,
                    int timeout_ms, void (*between)(void)) {
  struct pollfd pfd[8];
  for (int i = 0; i < n; i++) {
    pfd[i].fd = zklock_client_fd(cs[i]);
    pfd[i].events = POLLIN;
  }
  int64_t end = zkt_now_ms() + timeout_ms;
  while (*count < want && zkt_now_ms() < end) {
    if (poll(pfd, (nfds_t)n, 50) > 0)
      for (int i = 0; i < n; i++)
        if (pfd[i].revents & POLLIN)
          assert_true(zklock_client_dispatch(cs[i]) >= 0);
    if (between)
      between();
  }
  return *count;
}

/* ---- many waits on one thread ---- */

#define NPATHS 20
#define PER_PATH 100
#define NHANDLES (NPATHS * PER_PATH)
#define CHAIN 300

typedef struct {
  int path;
  zklock_mutex *m;
  int grants, fails;
  int hold; /* deferred release: hold until the loop's next round */
} aw;

static aw ws[NHANDLES];
static int64_t last_token[NPATHS];
static int holding[NPATHS];
static int granted, failed, order_broken, overlap;
static pthread_t loop_thread;
static int off_thread; /* a completion ran on another thread */

static void herd_done(int rc, void *arg) {
  aw *w = arg;
  if (!pthread_equal(pthread_self(), loop_thread))
    off_thread++;
  if (rc != ZKLOCK_OK) {
    w->fails++;
    failed++;
    granted++; /* counts as an end, so the loop stops */
    return;
  }
  w->grants++;
  granted++;
  int64_t t = zklock_mutex_token(w->m);
  /* FIFO: a path's grants come in creation order, so tokens grow */
  if (t <= last_token[w->path])
    order_broken++;
  last_token[w->path] = t;
  if (holding[w->path]++)
    overlap++;
  if (w->hold)
    return; /* released by release_held() after this round */
  holding[w->path]--;
  /* hand over from inside the completion */
  assert_int_equal(zklock_mutex_unlock_async(w->m, NULL, NULL), ZKLOCK_OK);
}

static int nws;
static void release_held(void) {
  for (int i = 0; i < nws; i++)
    if (ws[i].hold && ws[i].grants == 1 && holding[ws[i].path] &&
        zklock_mutex_state(ws[i].m) == ZKLOCK_LOCK_HELD) {
      holding[ws[i].path]--;
      assert_int_equal(zklock_mutex_unlock_async(ws[i].m, NULL, NULL),
                       ZKLOCK_OK);
    }
}

static void herd_reset(int n, int hold) {
  memset(ws, 0, sizeof ws);
  memset(last_token, 0, sizeof last_token);
  memset(holding, 0, sizeof holding);
  granted = failed = order_broken = overlap = off_thread = 0;
  loop_thread = pthread_self();
  nws = n;
  for (int i = 0; i < n; i++)
    ws[i].hold = hold;
}

static void test_many_waits_one_thread(void **state) {
  (void)state;
  char root[256], paths[NPATHS][300];
  zkt_root(root, sizeof root, "async-herd");
  zklock_client *cs[2] = {loop_client(), loop_client()};
  herd_reset(NHANDLES, 0);
  for (int p = 0; p < NPATHS; p++)
    snprintf(paths[p], sizeof paths[p], "%s/p%02d", root, p);
  int threads0 = thread_count();
  int64_t t0 = zkt_now_ms();
  /* all started at once, before the loop runs any completion */
  for (int i = 0; i < NHANDLES; i++) {
    ws[i].path = i % NPATHS;
    assert_int_equal(
        zklock_mutex_new(cs[(i / NPATHS) % 2], paths[ws[i].path], &ws[i].m),
        ZKLOCK_OK);
    assert_int_equal(zklock_mutex_lock_async(ws[i].m, -1, herd_done, &ws[i]),
                     ZKLOCK_OK);
  }
  int threads1 = thread_count();
  assert_int_equal(run_loop(cs, 2, &granted, NHANDLES, LOOP_WAIT_MS, NULL),
                   NHANDLES);
  fprintf(stderr, "# %d async waits over %d paths granted in %lld ms\n",
          NHANDLES, NPATHS, (long long)(zkt_now_ms() - t0));
  /* no thread per waiter: the count did not move while 2,000 waited */
  assert_int_equal(threads1, threads0);
  assert_int_equal(failed, 0);
  assert_int_equal(order_broken, 0);
  assert_int_equal(overlap, 0);
  assert_int_equal(off_thread, 0);
  for (int i = 0; i < NHANDLES; i++)
    assert_int_equal(ws[i].grants, 1);
  for (int i = 0; i < NHANDLES; i++)
    zklock_mutex_free(ws[i].m);
  zklock_client_close(cs[0]);
  zklock_client_close(cs[1]);
  for (int p = 0; p < NPATHS; p++)
    assert_int_equal(zkt_nodes_settle(raw, paths[p], 0), 0);
  zkt_rmr(raw, root);
}

/* One path, 300 deep; each holder keeps the lock until the loop's next
 * round, so a second grant while it holds would show as an overlap. */
static void test_chain_300(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "async-chain");
  zklock_client *c = loop_client();
  herd_reset(CHAIN, 1);
  int threads0 = thread_count();
  int64_t t0 = zkt_now_ms();
  for (int i = 0; i < CHAIN; i++) {
    assert_int_equal(zklock_mutex_new(c, root, &ws[i].m), ZKLOCK_OK);
    assert_int_equal(zklock_mutex_lock_async(ws[i].m, -1, herd_done, &ws[i]),
                     ZKLOCK_OK);
  }
  assert_int_equal(thread_count(), threads0);
  assert_int_equal(run_loop(&c, 1, &granted, CHAIN, LOOP_WAIT_MS, release_held),
                   CHAIN);
  fprintf(stderr, "# %d-deep chain drained in %lld ms\n", CHAIN,
          (long long)(zkt_now_ms() - t0));
  release_held();
  assert_int_equal(failed, 0);
  assert_int_equal(order_broken, 0);
  assert_int_equal(overlap, 0);
  for (int i = 0; i < CHAIN; i++) {
    assert_int_equal(ws[i].grants, 1);
    zklock_mutex_free(ws[i].m);
  }
  zklock_client_close(c);
  zkt_assert_empty(root);
}

/* ---- blocking and async contenders on one path ---- */

#define MIX_ROUNDS 10
#define MIX_ASYNC 6
#define MIX_THREADS 4

static int mix_inside, mix_max, mix_total; /* guarded by mix_mu */
static pthread_mutex_t mix_mu = PTHREAD_MUTEX_INITIALIZER;

static void mix_enter(void) {
  pthread_mutex_lock(&mix_mu);
  if (++mix_inside > mix_max)
    mix_max = mix_inside;
  mix_total++;
  pthread_mutex_unlock(&mix_mu);
}

static void mix_leave(void) {
  pthread_mutex_lock(&mix_mu);
  mix_inside--;
  pthread_mutex_unlock(&mix_mu);
}

typedef struct {
  zklock_mutex *m;
  int rounds, rc;
  int held; /* async: granted, released by the loop later */
  pthread_t t;
} mixer;

static void *mix_thread(void *arg) {
  mixer *x = arg;
  for (int r = 0; r < MIX_ROUNDS && x->rc == ZKLOCK_OK; r++) {
    x->rc = zklock_mutex_lock(x->m, LOOP_WAIT_MS);
    if (x->rc != ZKLOCK_OK)
      break;
    mix_enter();
    zkt_sleep_ms(2);
    mix_leave();
    x->rc = zklock_mutex_unlock(x->m);
    x->rounds++;
  }
  return NULL;
}

static mixer amix[MIX_ASYNC];
static int mix_async_ends;

static void mix_done(int rc, void *arg) {
  mixer *x = arg;
  if (rc != ZKLOCK_OK) {
    x->rc = rc;
    mix_async_ends += MIX_ROUNDS - x->rounds;
    return;
  }
  mix_enter();
  x->held = 1;
}

/* Between loop rounds: let go of async holds (held across a poll, so the
 * blocking threads had their chance to overlap) and ask again. */
static void mix_between(void) {
  for (int i = 0; i < MIX_ASYNC; i++) {
    mixer *x = &amix[i];
    if (!x->held)
      continue;
    zkt_sleep_ms(2);
    mix_leave();
    x->held = 0;
    assert_int_equal(zklock_mutex_unlock_async(x->m, NULL, NULL), ZKLOCK_OK);
    x->rounds++;
    mix_async_ends++;
    if (x->rounds < MIX_ROUNDS)
      assert_int_equal(zklock_mutex_lock_async(x->m, LOOP_WAIT_MS, mix_done, x),
                       ZKLOCK_OK);
  }
}

static void test_mixed_sync_async(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "async-mixed");
  zklock_client *c = loop_client(); /* shared by the blocking threads too */
  zklock_client *other = zkt_client(0);
  mixer tx[MIX_THREADS];
  memset(tx, 0, sizeof tx);
  memset(amix, 0, sizeof amix);
  mix_inside = mix_max = mix_total = mix_async_ends = 0;
  for (int i = 0; i < MIX_ASYNC; i++) {
    assert_int_equal(zklock_mutex_new(c, root, &amix[i].m), ZKLOCK_OK);
    assert_int_equal(
        zklock_mutex_lock_async(amix[i].m, LOOP_WAIT_MS, mix_done, &amix[i]),
        ZKLOCK_OK);
  }
  for (int i = 0; i < MIX_THREADS; i++) {
    /* half on the loop-mode client: blocking calls need no dispatch */
    assert_int_equal(zklock_mutex_new(i % 2 ? other : c, root, &tx[i].m),
                     ZKLOCK_OK);
    assert_int_equal(pthread_create(&tx[i].t, NULL, mix_thread, &tx[i]), 0);
  }
  run_loop(&c, 1, &mix_async_ends, MIX_ASYNC * MIX_ROUNDS, LOOP_WAIT_MS,
           mix_between);
  for (int i = 0; i < MIX_THREADS; i++) {
    pthread_join(tx[i].t, NULL);
    assert_int_equal(tx[i].rc, ZKLOCK_OK);
    assert_int_equal(tx[i].rounds, MIX_ROUNDS);
    zklock_mutex_free(tx[i].m);
  }
  for (int i = 0; i < MIX_ASYNC; i++) {
    assert_int_equal(amix[i].rc, ZKLOCK_OK);
    assert_int_equal(amix[i].rounds, MIX_ROUNDS);
    zklock_mutex_free(amix[i].m);
  }
  assert_int_equal(mix_max, 1); /* mutual exclusion held throughout */
  assert_int_equal(mix_total, (MIX_ASYNC + MIX_THREADS) * MIX_ROUNDS);
  zklock_client_close(c);
  zklock_client_close(other);
  zkt_assert_empty(root);
}

/* ---- exactly-once ends: cancel, close, free, timeout ---- */

typedef struct {
  int calls, rc;
  int on_caller; /* ran on the thread recorded in loop_thread */
  int64_t at;
} ending;

static void end_done(int rc, void *arg) {
  ending *e = arg;
  e->rc = rc;
  e->on_caller = pthread_equal(pthread_self(), loop_thread);
  e->at = zkt_now_ms();
  /* last: a thread-mode test polls it from another thread */
  __atomic_add_fetch(&e->calls, 1, __ATOMIC_SEQ_CST);
}

/* A holder on its own session, so the waits below stay queued. */
static zklock_mutex *hold(zklock_client **hc, const char *root) {
  zklock_mutex *h;
  *hc = zkt_client(0);
  assert_int_equal(zklock_mutex_new(*hc, root, &h), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(h, -1), ZKLOCK_OK);
  return h;
}

static void unhold(zklock_client *hc, zklock_mutex *h) {
  assert_int_equal(zklock_mutex_unlock(h), ZKLOCK_OK);
  zklock_mutex_free(h);
  zklock_client_close(hc);
}

static void test_cancel_async(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "async-cancel");
  zklock_client *hc, *c = loop_client();
  zklock_mutex *h = hold(&hc, root), *m;
  loop_thread = pthread_self();
  assert_int_equal(zklock_mutex_new(c, root, &m), ZKLOCK_OK);
  ending e = {0};
  assert_int_equal(zklock_mutex_lock_async(m, -1, end_done, &e), ZKLOCK_OK);
  /* one acquisition per handle at a time */
  ending e2 = {0};
  assert_int_equal(zklock_mutex_lock_async(m, -1, end_done, &e2),
                   ZKLOCK_EALREADY);
  assert_int_equal(zkt_nodes_settle(raw, root, 2), 2); /* queued */
  assert_int_equal(zklock_mutex_cancel(m), ZKLOCK_OK);
  assert_int_equal(run_loop(&c, 1, &e.calls, 1, LOOP_WAIT_MS, NULL), 1);
  assert_int_equal(e.rc, ZKLOCK_ECANCELED);
  assert_true(e.on_caller);
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1); /* our node went */
  /* a second call would show up now */
  run_loop(&c, 1, &e.calls, 2, 300, NULL);
  assert_int_equal(e.calls, 1);
  assert_int_equal(e2.calls, 0);
  assert_int_equal(zklock_mutex_state(m), ZKLOCK_LOCK_UNLOCKED);
  zklock_mutex_free(m);
  unhold(hc, h);
  zklock_client_close(c);
  zkt_assert_empty(root);
}

#define NCLOSE 10

static void test_close_with_pending(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "async-close");
  zklock_client *hc, *c = loop_client();
  zklock_mutex *h = hold(&hc, root), *m[NCLOSE];
  loop_thread = pthread_self();
  ending e[NCLOSE];
  memset(e, 0, sizeof e);
  for (int i = 0; i < NCLOSE; i++) {
    assert_int_equal(zklock_mutex_new(c, root, &m[i]), ZKLOCK_OK);
    assert_int_equal(zklock_mutex_lock_async(m[i], -1, end_done, &e[i]),
                     ZKLOCK_OK);
  }
  assert_int_equal(zkt_nodes_settle(raw, root, NCLOSE + 1), NCLOSE + 1);
  /* no dispatch: the ECLOSED completions run inside close, here */
  zklock_client_close(c);
  for (int i = 0; i < NCLOSE; i++) {
    assert_int_equal(e[i].calls, 1);
    assert_int_equal(e[i].rc, ZKLOCK_ECLOSED);
    assert_true(e[i].on_caller);
  }
  assert_int_equal(zklock_client_fd(c), ZKLOCK_ECLOSED);
  assert_int_equal(zklock_client_dispatch(c), ZKLOCK_ECLOSED);
  assert_int_equal(zklock_mutex_lock_async(m[0], -1, end_done, &e[0]),
                   ZKLOCK_ECLOSED);
  /* No sleep to "leave room" for a second completion: close has joined
   * the client's threads, so none can come later, and freeing the
   * handles (the last thing that could run one) must not either. */
  for (int i = 0; i < NCLOSE; i++)
    zklock_mutex_free(m[i]);
  for (int i = 0; i < NCLOSE; i++)
    assert_int_equal(e[i].calls, 1);
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1); /* session's went */
  unhold(hc, h);
  zkt_assert_empty(root);
}

static void test_free_with_pending(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "async-free");
  zklock_client *hc, *c = loop_client();
  zklock_mutex *h = hold(&hc, root), *m;
  loop_thread = pthread_self();
  assert_int_equal(zklock_mutex_new(c, root, &m), ZKLOCK_OK);
  ending e = {0};
  assert_int_equal(zklock_mutex_lock_async(m, -1, end_done, &e), ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, root, 2), 2);
  zklock_mutex_free(m);
  assert_int_equal(run_loop(&c, 1, &e.calls, 1, LOOP_WAIT_MS, NULL), 1);
  assert_int_equal(e.rc, ZKLOCK_ECANCELED);
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1);
  run_loop(&c, 1, &e.calls, 2, 300, NULL);
  assert_int_equal(e.calls, 1);
  unhold(hc, h);
  zklock_client_close(c);
  zkt_assert_empty(root);
}

/* ---- thread mode ---- */

#define NTHREADMODE 10
#define NTMCLIENTS 5 /* handle i on client i % NTMCLIENTS */
#define TM_HOLD_MS 30

/* Exclusion, checked so that a double grant shows: each client's
 * completions run on its own thread, so holders on different clients
 * can overlap. A holder holds for TM_HOLD_MS (in its callback), counting
 * itself inside from the grant until it calls unlock; the interval
 * [grant, unlock call] of one must not overlap another's. (Not "until
 * the unlock is acknowledged": the next holder may be told of the delete
 * before our answer arrives.) At the grant it also checks the servers:
 * its node must be the oldest in the queue. Failures are counted here
 * and asserted on the test thread. */
static pthread_mutex_t tm_mu = PTHREAD_MUTEX_INITIALIZER;
static int tm_granted, tm_fail, tm_inside_max, tm_inside, tm_not_first;
static zhandle_t *tm_raw;
static char tm_root[256];

/* Is node (a full path) the oldest lock node under tm_root? Sequence
 * numbers are the last 10 digits of a name. */
static int tm_first(const char *node) {
  zkt_sync(tm_raw, tm_root);
  struct String_vector sv = {0, NULL};
  if (zoo_get_children(tm_raw, tm_root, 0, &sv) != ZOK)
    return 0;
  const char *min = NULL;
  for (int i = 0; i < sv.count; i++) {
    size_t n = strlen(sv.data[i]);
    if (n > 10 &&
        (!min || strcmp(sv.data[i] + n - 10, min + strlen(min) - 10) < 0))
      min = sv.data[i];
  }
  int first = min && strcmp(strrchr(node, '/') + 1, min) == 0;
  deallocate_String_vector(&sv);
  return first;
}

static void tm_done(int rc, void *arg) {
  zklock_mutex *m = arg;
  pthread_mutex_lock(&tm_mu);
  if (rc != ZKLOCK_OK)
    tm_fail++;
  else if (++tm_inside > tm_inside_max)
    tm_inside_max = tm_inside;
  pthread_mutex_unlock(&tm_mu);
  if (rc == ZKLOCK_OK) {
    const char *node = zklock_mutex_node(m);
    int first = node && tm_first(node);
    zkt_sleep_ms(TM_HOLD_MS);
    pthread_mutex_lock(&tm_mu);
    tm_not_first += !first;
    tm_inside--;
    pthread_mutex_unlock(&tm_mu);
    zklock_mutex_unlock_async(m, NULL, NULL);
  }
  pthread_mutex_lock(&tm_mu);
  tm_granted++;
  pthread_mutex_unlock(&tm_mu);
}

static int tm_all(void *arg) {
  (void)arg;
  pthread_mutex_lock(&tm_mu);
  int g = tm_granted;
  pthread_mutex_unlock(&tm_mu);
  return g == NTHREADMODE;
}

static void test_thread_mode(void **state) {
  (void)state;
  zkt_root(tm_root, sizeof tm_root, "async-thread");
  tm_raw = zkt_raw();
  zklock_client *c[NTMCLIENTS];
  for (int i = 0; i < NTMCLIENTS; i++)
    c[i] = zkt_client(0); /* dispatch 0 */
  assert_int_equal(zklock_client_fd(c[0]), ZKLOCK_EINVAL);
  assert_int_equal(zklock_client_dispatch(c[0]), ZKLOCK_EINVAL);
  zklock_mutex *m[NTHREADMODE];
  tm_granted = tm_fail = tm_inside_max = tm_inside = tm_not_first = 0;
  for (int i = 0; i < NTHREADMODE; i++) {
    assert_int_equal(zklock_mutex_new(c[i % NTMCLIENTS], tm_root, &m[i]),
                     ZKLOCK_OK);
    assert_int_equal(zklock_mutex_lock_async(m[i], -1, tm_done, m[i]),
                     ZKLOCK_OK);
  }
  int all = zkt_wait_for(tm_all, NULL, LOOP_WAIT_MS);
  pthread_mutex_lock(&tm_mu);
  fprintf(stderr,
          "# thread mode: %d of %d granted, %d failed, at most %d inside, "
          "%d granted while not first in the queue\n",
          tm_granted, NTHREADMODE, tm_fail, tm_inside_max, tm_not_first);
  pthread_mutex_unlock(&tm_mu);
  assert_true(all);
  assert_int_equal(tm_fail, 0);
  assert_int_equal(tm_inside_max, 1);
  assert_int_equal(tm_not_first, 0);
  for (int i = 0; i < NTHREADMODE; i++)
    zklock_mutex_free(m[i]);
  for (int i = 0; i < NTMCLIENTS; i++)
    zklock_client_close(c[i]);
  zookeeper_close(tm_raw);
  zkt_assert_empty(tm_root);
}

/* ---- timeout ---- */

static void timeout_case(int loop) {
  char root[256];
  zkt_root(root, sizeof root, loop ? "async-timeout-loop" : "async-timeout");
  zklock_client *hc, *c = loop ? loop_client() : zkt_client(0);
  zklock_mutex *h = hold(&hc, root), *m;
  loop_thread = pthread_self();
  assert_int_equal(zklock_mutex_new(c, root, &m), ZKLOCK_OK);
  static ending e;
  memset(&e, 0, sizeof e);
  int64_t t0 = zkt_now_ms();
  assert_int_equal(zklock_mutex_lock_async(m, 400, end_done, &e), ZKLOCK_OK);
  if (loop) {
    assert_int_equal(run_loop(&c, 1, &e.calls, 1, LOOP_WAIT_MS, NULL), 1);
  } else {
    for (int i = 0; i < 200 && !__atomic_load_n(&e.calls, __ATOMIC_SEQ_CST);
         i++)
      zkt_sleep_ms(10);
    zkt_sleep_ms(5);
  }
  assert_int_equal(e.calls, 1);
  assert_int_equal(e.rc, ZKLOCK_ETIMEDOUT);
  int64_t took = e.at - t0;
  fprintf(stderr, "# async timeout of 400 ms (%s mode) ended after %lld ms\n",
          loop ? "loop" : "thread", (long long)took);
  assert_true(took >= 400);
  assert_true(took <= 400 + ZKT_SLACK_MS);
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1); /* ours went */
  zklock_mutex_free(m);
  unhold(hc, h);
  zklock_client_close(c);
  zkt_assert_empty(root);
}

static void test_timeout_loop(void **state) {
  (void)state;
  timeout_case(1);
}

static void test_timeout_thread(void **state) {
  (void)state;
  timeout_case(0);
}

/* ---- read-write lock, asynchronously ---- */

#define RW_READERS 5

typedef struct {
  zklock_rwlock *l;
  char kind;
  int grants, rc;
  int order; /* grant position */
} rwaiter;

static int rw_granted, rw_readers_in, rw_writer_in, rw_broken;

static void rw_done(int rc, void *arg) {
  rwaiter *w = arg;
  w->rc = rc;
  w->grants++;
  w->order = rw_granted++;
  if (rc != ZKLOCK_OK)
    return;
  if (w->kind == 'r') {
    rw_readers_in++;
    rw_broken += rw_writer_in;
    assert_int_equal(zklock_rwlock_mode(w->l), 'r');
  } else {
    rw_broken += rw_readers_in + rw_writer_in;
    rw_writer_in++;
    assert_int_equal(zklock_rwlock_mode(w->l), 'w');
  }
}

/* Readers queued first share the lock at once; the writer behind them
 * waits for all of them; readers behind the writer wait for it. */
static void test_rwlock_async(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "async-rw");
  zklock_client *c = loop_client();
  enum { N = 2 * RW_READERS + 1 };
  rwaiter w[N];
  memset(w, 0, sizeof w);
  rw_granted = rw_readers_in = rw_writer_in = rw_broken = 0;
  for (int i = 0; i < N; i++) {
    w[i].kind = i == RW_READERS ? 'w' : 'r';
    assert_int_equal(zklock_rwlock_new(c, root, &w[i].l), ZKLOCK_OK);
    assert_int_equal(
        w[i].kind == 'w'
            ? zklock_rwlock_wrlock_async(w[i].l, LOOP_WAIT_MS, rw_done, &w[i])
            : zklock_rwlock_rdlock_async(w[i].l, LOOP_WAIT_MS, rw_done, &w[i]),
        ZKLOCK_OK);
    /* queue in this order: the next request after this one's node */
    assert_int_equal(zkt_nodes_settle(raw, root, i + 1), i + 1);
  }
  /* the first readers all hold together; nobody else */
  assert_int_equal(run_loop(&c, 1, &rw_granted, RW_READERS, LOOP_WAIT_MS, NULL),
                   RW_READERS);
  run_loop(&c, 1, &rw_granted, RW_READERS + 1, 300, NULL);
  assert_int_equal(rw_granted, RW_READERS);
  for (int i = 0; i < RW_READERS; i++) {
    assert_int_equal(w[i].grants, 1);
    rw_readers_in--;
    assert_int_equal(zklock_rwlock_unlock_async(w[i].l, NULL, NULL), ZKLOCK_OK);
  }
  /* then the writer alone */
  assert_int_equal(
      run_loop(&c, 1, &rw_granted, RW_READERS + 1, LOOP_WAIT_MS, NULL),
      RW_READERS + 1);
  assert_int_equal(w[RW_READERS].grants, 1);
  run_loop(&c, 1, &rw_granted, RW_READERS + 2, 300, NULL);
  assert_int_equal(rw_granted, RW_READERS + 1);
  rw_writer_in--;
  ending e = {0};
  assert_int_equal(zklock_rwlock_unlock_async(w[RW_READERS].l, end_done, &e),
                   ZKLOCK_OK);
  /* then the later readers, together */
  assert_int_equal(run_loop(&c, 1, &rw_granted, N, LOOP_WAIT_MS, NULL), N);
  assert_int_equal(run_loop(&c, 1, &e.calls, 1, LOOP_WAIT_MS, NULL), 1);
  assert_int_equal(e.rc, ZKLOCK_OK);
  assert_int_equal(rw_broken, 0);
  for (int i = 0; i < N; i++) {
    assert_int_equal(w[i].rc, ZKLOCK_OK);
    assert_int_equal(w[i].grants, 1);
  }
  for (int i = RW_READERS + 1; i < N; i++)
    assert_int_equal(zklock_rwlock_unlock(w[i].l), ZKLOCK_OK);
  for (int i = 0; i < N; i++)
    zklock_rwlock_free(w[i].l);
  zklock_client_close(c);
  zkt_assert_empty(root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_many_waits_one_thread),
      cmocka_unit_test(test_chain_300),
      cmocka_unit_test(test_mixed_sync_async),
      cmocka_unit_test(test_cancel_async),
      cmocka_unit_test(test_close_with_pending),
      cmocka_unit_test(test_free_with_pending),
      cmocka_unit_test(test_thread_mode),
      cmocka_unit_test(test_timeout_loop),
      cmocka_unit_test(test_timeout_thread),
      cmocka_unit_test(test_rwlock_async),
  };
  return cmocka_run_group_tests_name("async", tests, zkt_group_setup,
                                     zkt_group_teardown);
}
