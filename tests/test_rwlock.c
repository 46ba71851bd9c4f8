/* Integration tests: the read-write lock against the real ensemble. */
#include "zkt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define raw zkt_rawzh

/* A lock holder on its own thread and session, driven by flags. */
typedef struct {
  zklock_client *c;
  zklock_rwlock *l;
  pthread_t th;
  char mode; /* 'r' or 'w' */
  int timeout_ms;
  atomic_int done;     /* lock call returned */
  atomic_int release;  /* set to let it unlock */
  atomic_int released; /* unlocked */
  int rc;
  int64_t at; /* when it got the lock */
} holder;

static void *holder_main(void *p) {
  holder *h = p;
  h->rc = h->mode == 'r' ? zklock_rwlock_rdlock(h->l, h->timeout_ms)
                         : zklock_rwlock_wrlock(h->l, h->timeout_ms);
  h->at = zkt_now_ms();
  atomic_store(&h->done, 1);
  if (h->rc == ZKLOCK_OK) {
    while (!atomic_load(&h->release))
      zkt_sleep_ms(2);
    zklock_rwlock_unlock(h->l);
  }
  atomic_store(&h->released, 1);
  return NULL;
}

static int children_at_least(void *p) {
  void **a = p;
  return zkt_children(raw, a[0]) >= (int)(intptr_t)a[1];
}

/* Starts a holder and waits until its node is in the queue. */
static void start(holder *h, const char *root, char mode, int timeout_ms) {
  memset(h, 0, sizeof *h);
  h->mode = mode;
  h->timeout_ms = timeout_ms;
  h->c = zkt_client(0);
  assert_int_equal(zklock_rwlock_new(h->c, root, &h->l), ZKLOCK_OK);
  int before = zkt_children(raw, root);
  pthread_create(&h->th, NULL, holder_main, h);
  void *a[2] = {(void *)root, (void *)(intptr_t)(before < 0 ? 1 : before + 1)};
  assert_true(zkt_wait_for(children_at_least, a, 10000));
}

static int is_done(void *p) { return atomic_load(&((holder *)p)->done); }

/* h is still out, and that means something: first positive evidence that
 * it waits (its session watches another's node, after the last event
 * that could have let it in), then the check. */
#define assert_waits(h, root)                                                  \
  do {                                                                         \
    assert_true(zkt_wait_waiting(root, zklock_client_session_id((h)->c)));     \
    assert_false(atomic_load(&(h)->done));                                     \
  } while (0)

static void finish(holder *h) {
  atomic_store(&h->release, 1);
  pthread_join(h->th, NULL);
  zklock_rwlock_free(h->l);
  zklock_client_close(h->c);
}

static void test_readers_share(void **state) {
  (void)state;
  enum { R = 6 };
  char root[256];
  zkt_root(root, sizeof root, "readers");
  holder h[R];
  for (int i = 0; i < R; i++)
    start(&h[i], root, 'r', 10000);
  for (int i = 0; i < R; i++) {
    assert_true(zkt_wait_for(is_done, &h[i], 10000));
    assert_int_equal(h[i].rc, ZKLOCK_OK);
    assert_int_equal(zklock_rwlock_mode(h[i].l), 'r');
  }
  /* all six hold at the same moment: their nodes are all there */
  assert_int_equal(zkt_nodes(raw, root), R);
  zklock_node_info *v;
  int n;
  assert_int_equal(zklock_queue_list(h[0].c, root, &v, &n), ZKLOCK_OK);
  assert_int_equal(n, R);
  for (int i = 0; i < n; i++) {
    assert_int_equal(v[i].kind, 'r');
    assert_true(v[i].holder);
    assert_string_equal(v[i].library, "zklock");
    assert_int_equal(v[i].permits, 0); /* only leases have a count */
  }
  free(v);
  print_message("overlap: %d readers held at once\n", R);
  for (int i = 0; i < R; i++)
    finish(&h[i]);
  zkt_assert_empty(root);
}

static void test_mutex_and_rwlock_exclude(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "mixed");
  zklock_client *c = zkt_client(0);
  zklock_mutex *m;
  zklock_rwlock *l;
  assert_int_equal(zklock_mutex_new(c, root, &m), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_new(c, root, &l), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_lock(m, -1), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_tryrdlock(l), ZKLOCK_EBUSY);
  assert_int_equal(zklock_rwlock_trywrlock(l), ZKLOCK_EBUSY);
  assert_int_equal(zklock_mutex_unlock(m), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_rdlock(l, 1000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_trylock(m), ZKLOCK_EBUSY);
  assert_int_equal(zklock_rwlock_unlock(l), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_wrlock(l, 1000), ZKLOCK_OK);
  assert_int_equal(zklock_mutex_trylock(m), ZKLOCK_EBUSY);
  assert_int_equal(zklock_rwlock_unlock(l), ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, root, 0), 0);
  zklock_mutex_free(m);
  zklock_rwlock_free(l);
  zklock_client_close(c);
  zkt_assert_empty(root);
}

static void test_reentrancy_and_upgrade(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "reentry");
  zklock_client *c = zkt_client(0);
  zklock_rwlock *l;
  assert_int_equal(zklock_rwlock_new(c, root, &l), ZKLOCK_OK);
  /* read -> write upgrade is refused at once, not deadlocked */
  assert_int_equal(zklock_rwlock_rdlock(l, -1), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_wrlock(l, -1), ZKLOCK_EUPGRADE);
  assert_int_equal(zklock_rwlock_trywrlock(l), ZKLOCK_EUPGRADE);
  assert_int_equal(zklock_rwlock_rdlock(l, 0), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_unlock(l), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_mode(l), 'r');
  assert_int_equal(zklock_rwlock_unlock(l), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_mode(l), 0);
  assert_int_equal(zklock_rwlock_unlock(l), ZKLOCK_ENOTHELD);
  /* a writer may take read holds too */
  assert_int_equal(zklock_rwlock_wrlock(l, -1), ZKLOCK_OK);
  int64_t t = zklock_rwlock_token(l);
  assert_int_equal(zklock_rwlock_rdlock(l, -1), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_wrlock(l, -1), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_token(l), t);
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1);
  assert_int_equal(zklock_rwlock_unlock(l), ZKLOCK_OK); /* read hold */
  assert_int_equal(zklock_rwlock_mode(l), 'w');
  assert_int_equal(zklock_rwlock_unlock(l), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_unlock(l), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_mode(l), 0);
  assert_int_equal(zkt_nodes_settle(raw, root, 0), 0);
  zklock_rwlock_free(l);
  zklock_client_close(c);
  zkt_assert_empty(root);
}

/* A holds write; C (writer) and then B (reader) queue. A downgrades: C
 * must stay out (A still reads); B waits for C (FIFO). */
static void test_downgrade(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "downgrade");
  zklock_client *a = zkt_client(0);
  zklock_rwlock *la;
  assert_int_equal(zklock_rwlock_new(a, root, &la), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_wrlock(la, -1), ZKLOCK_OK);
  int64_t t = zklock_rwlock_token(la);
  holder r1, w, r2;
  start(&r1, root, 'r', 30000); /* reader right behind the writer */
  start(&w, root, 'w', 30000);
  start(&r2, root, 'r', 30000);
  assert_waits(&r1, root);
  assert_int_equal(zklock_rwlock_downgrade(la), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_mode(la), 'r');
  assert_int_equal(zklock_rwlock_token(la), t); /* same hold, same node */
  /* r1 shares with the downgraded holder at once */
  assert_true(zkt_wait_for(is_done, &r1, 5000));
  assert_int_equal(r1.rc, ZKLOCK_OK);
  assert_waits(&w, root);  /* no writer slipped in */
  assert_waits(&r2, root); /* r2 queues behind the writer */
  assert_int_equal(zklock_rwlock_downgrade(la), ZKLOCK_ENOTHELD);
  assert_int_equal(zklock_rwlock_unlock(la), ZKLOCK_OK);
  assert_int_equal(zkt_nodes_settle(raw, root, 3), 3); /* la's node went */
  assert_waits(&w, root);                              /* r1 still reads */
  atomic_store(&r1.release, 1);
  assert_true(zkt_wait_for(is_done, &w, 5000));
  assert_int_equal(w.rc, ZKLOCK_OK);
  assert_waits(&r2, root);
  atomic_store(&w.release, 1);
  assert_true(zkt_wait_for(is_done, &r2, 5000));
  assert_int_equal(r2.rc, ZKLOCK_OK);
  finish(&r1);
  finish(&w);
  finish(&r2);
  zklock_rwlock_free(la);
  zklock_client_close(a);
  zkt_assert_empty(root);
}

/* Queue r r w r r w r behind a writer: a reader holds exactly one watch,
 * on the nearest writer; a writer two, on its two nearest nodes (it lists
 * again when the farther one goes, ahead of its turn). */
static void test_herd_mixed(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "herd-rw");
  const char kinds[] = "rrwrrwr";
  enum { N = 7 };
  holder w0, h[N];
  start(&w0, root, 'w', 10000);
  assert_true(zkt_wait_for(is_done, &w0, 10000));
  for (int i = 0; i < N; i++)
    start(&h[i], root, kinds[i], 60000);
  /* 5 readers, 2 writers x 2, the holder's watch on its own node (set
   * asynchronously) */
  int nwatch = 0;
  for (int i = 0; i < 100 && nwatch < N + 3; i++) {
    if (i)
      zkt_sleep_ms(50);
    nwatch = zkt_watches(root, NULL);
  }
  assert_int_equal(nwatch, N + 3);
  const char *w0n = zklock_rwlock_node(w0.l);
  assert_int_equal(zkt_watches(root, w0n), 3); /* r0, r1 and itself */
  assert_int_equal(zkt_watches(root, zklock_rwlock_node(h[0].l)), 1); /* w2 */
  assert_int_equal(zkt_watches(root, zklock_rwlock_node(h[1].l)), 1); /* w2 */
  assert_int_equal(zkt_watches(root, zklock_rwlock_node(h[3].l)), 1); /* w5 */
  assert_int_equal(zkt_watches(root, zklock_rwlock_node(h[2].l)),
                   2); /* r3 r4 */
  assert_int_equal(zkt_watches(root, zklock_rwlock_node(h[4].l)), 1); /* w5 */
  assert_int_equal(zkt_watches(root, zklock_rwlock_node(h[5].l)), 1); /* r6 */
  assert_int_equal(zkt_watches(root, root), 0); /* never the parent */
  /* release in turn: w0 lets r0 r1 in, together, and nobody else */
  atomic_store(&w0.release, 1);
  assert_true(zkt_wait_for(is_done, &h[0], 5000));
  assert_true(zkt_wait_for(is_done, &h[1], 5000));
  for (int i = 2; i < N; i++)
    assert_waits(&h[i], root);
  /* a reader's release wakes no reader: r3/r4 still wait after r0 goes */
  atomic_store(&h[0].release, 1);
  assert_int_equal(zkt_nodes_settle(raw, root, N - 1), N - 1); /* w0, r0 went */
  assert_waits(&h[2], root);
  atomic_store(&h[1].release, 1);
  assert_true(zkt_wait_for(is_done, &h[2], 5000)); /* w2 */
  assert_waits(&h[3], root);
  atomic_store(&h[2].release, 1);
  assert_true(zkt_wait_for(is_done, &h[3], 5000));
  assert_true(zkt_wait_for(is_done, &h[4], 5000));
  atomic_store(&h[3].release, 1);
  atomic_store(&h[4].release, 1);
  assert_true(zkt_wait_for(is_done, &h[5], 5000));
  atomic_store(&h[5].release, 1);
  assert_true(zkt_wait_for(is_done, &h[6], 5000));
  for (int i = 0; i < N; i++)
    assert_int_equal(h[i].rc, ZKLOCK_OK);
  finish(&w0);
  for (int i = 0; i < N; i++)
    finish(&h[i]);
  zkt_assert_empty(root);
}

/* A waiter in the middle of the queue gives up: no node left, and the one
 * behind it re-targets to the next node it must wait for. */
static void test_cancel_middle(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "cancel");
  holder w0, r1, w2, r3, w4;
  start(&w0, root, 'w', 10000);
  assert_true(zkt_wait_for(is_done, &w0, 10000));
  start(&r1, root, 'r', 30000);
  start(&w2, root, 'w', 700); /* gives up while queued */
  start(&r3, root, 'r', 30000);
  start(&w4, root, 'w', 30000);
  assert_true(zkt_wait_for(is_done, &w2, 5000));
  assert_int_equal(w2.rc, ZKLOCK_ETIMEDOUT);
  assert_int_equal(zkt_nodes_settle(raw, root, 4), 4); /* w2's node is gone */
  assert_waits(&r3, root);                             /* still behind w0 */
  /* r3 now waits on w0: w0's release lets r1 and r3 in together */
  atomic_store(&w0.release, 1);
  assert_true(zkt_wait_for(is_done, &r1, 5000));
  assert_true(zkt_wait_for(is_done, &r3, 5000));
  assert_int_equal(r3.rc, ZKLOCK_OK);
  assert_waits(&w4, root);
  atomic_store(&r1.release, 1);
  atomic_store(&r3.release, 1);
  assert_true(zkt_wait_for(is_done, &w4, 5000));
  assert_int_equal(w4.rc, ZKLOCK_OK);
  /* a writer cancelled from another thread in the middle */
  holder w7;
  start(&w7, root, 'w', 30000);
  assert_int_equal(zklock_rwlock_cancel(w7.l), ZKLOCK_OK);
  assert_true(zkt_wait_for(is_done, &w7, 5000));
  assert_int_equal(w7.rc, ZKLOCK_ECANCELED);
  assert_int_equal(zkt_nodes_settle(raw, root, 1), 1); /* only w4 */
  finish(&w7);
  /* a reader cancelled in the middle: the writer behind re-targets */
  holder r5, w6;
  start(&r5, root, 'r', 500);
  start(&w6, root, 'w', 30000);
  assert_true(zkt_wait_for(is_done, &r5, 5000));
  assert_int_equal(r5.rc, ZKLOCK_ETIMEDOUT);
  assert_int_equal(zkt_nodes_settle(raw, root, 2), 2); /* r5's node went */
  assert_waits(&w6, root);
  atomic_store(&w4.release, 1);
  assert_true(zkt_wait_for(is_done, &w6, 5000));
  assert_int_equal(w6.rc, ZKLOCK_OK);
  finish(&w0);
  finish(&r1);
  finish(&w2);
  finish(&r3);
  finish(&w4);
  finish(&r5);
  finish(&w6);
  zkt_assert_empty(root);
}

/* A writer queued behind readers is not starved by readers that keep
 * arriving: they queue behind it. */
typedef struct {
  const char *root;
  atomic_int *stop;
  atomic_int *writer_in;
  atomic_int violations;
  atomic_int ops;
  atomic_int inside, most; /* readers holding now, most at once */
} stream_arg;

static void *reader_stream(void *p) {
  stream_arg *a = p;
  zklock_client *c = zkt_client(0);
  zklock_rwlock *l;
  if (zklock_rwlock_new(c, a->root, &l) != ZKLOCK_OK)
    return NULL;
  while (!atomic_load(a->stop)) {
    if (zklock_rwlock_rdlock(l, 20000) != ZKLOCK_OK)
      continue;
    int n = atomic_fetch_add(&a->inside, 1) + 1;
    int m = atomic_load(&a->most);
    while (n > m && !atomic_compare_exchange_weak(&a->most, &m, n))
      ;
    if (atomic_load(a->writer_in))
      atomic_fetch_add(&a->violations, 1);
    zkt_sleep_ms(40);
    if (atomic_load(a->writer_in))
      atomic_fetch_add(&a->violations, 1);
    atomic_fetch_sub(&a->inside, 1);
    zklock_rwlock_unlock(l);
    atomic_fetch_add(&a->ops, 1);
  }
  zklock_rwlock_free(l);
  zklock_client_close(c);
  return NULL;
}

static void test_writer_not_starved(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "starve");
  atomic_int stop = 0, writer_in = 0;
  stream_arg a = {.root = root, .stop = &stop, .writer_in = &writer_in};
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&th[i], NULL, reader_stream, &a);
  /* Positive evidence that the readers overlap before the writer queues
   * (not a sleep that assumes it): two of them held at once. */
  int64_t end = zkt_now_ms() + ZKT_EVIDENCE_MS;
  while (atomic_load(&a.most) < 2 && zkt_now_ms() < end)
    zkt_sleep_ms(5);
  assert_true(atomic_load(&a.most) >= 2);
  zklock_client *c = zkt_client(0);
  zklock_rwlock *l;
  assert_int_equal(zklock_rwlock_new(c, root, &l), ZKLOCK_OK);
  for (int i = 0; i < 5; i++) {
    int64_t t0 = zkt_now_ms();
    /* bounded: the readers ahead of us finish within ~40 ms each; a
     * starved writer would run into this timeout */
    assert_int_equal(zklock_rwlock_wrlock(l, 10000), ZKLOCK_OK);
    atomic_store(&writer_in, 1);
    /* and the writer is alone: no reader inside, on entry or exit */
    if (atomic_load(&a.inside))
      atomic_fetch_add(&a.violations, 1);
    print_message("writer waited %lld ms behind a reader stream\n",
                  (long long)(zkt_now_ms() - t0));
    zkt_sleep_ms(30);
    if (atomic_load(&a.inside))
      atomic_fetch_add(&a.violations, 1);
    atomic_store(&writer_in, 0);
    assert_int_equal(zklock_rwlock_unlock(l), ZKLOCK_OK);
    zkt_sleep_ms(50);
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  print_message("readers: %d holds, at most %d at once\n", atomic_load(&a.ops),
                atomic_load(&a.most));
  assert_int_equal(atomic_load(&a.violations), 0);
  assert_true(atomic_load(&a.ops) > 0);
  zklock_rwlock_free(l);
  zklock_client_close(c);
  zkt_assert_empty(root);
}

/* Several processes, thousands of operations: writers do read-sleep-write
 * on a counter, readers check it does not move while they hold. */
typedef struct {
  atomic_int readers, writers;
  atomic_int violations;
  atomic_long counter;
  atomic_int max_readers;
  atomic_int writes;
} shared_state;

static int checker_proc(const char *root, shared_state *s, int ops,
                        unsigned seed) {
  zklock_client *c;
  zklock_rwlock *l;
  if (zklock_client_open(zkt_hosts(), NULL, &c) ||
      zklock_rwlock_new(c, root, &l))
    return 2;
  for (int i = 0; i < ops; i++) {
    int write = rand_r(&seed) % 5 == 0; /* 20% writers */
    if (write) {
      if (zklock_rwlock_wrlock(l, 60000))
        return 3;
      if (atomic_fetch_add(&s->writers, 1) != 0 || atomic_load(&s->readers))
        atomic_fetch_add(&s->violations, 1);
      long v = atomic_load(&s->counter);
      usleep(500); /* the read-sleep-write window */
      atomic_store(&s->counter, v + 1);
      atomic_fetch_add(&s->writes, 1);
      atomic_fetch_sub(&s->writers, 1);
    } else {
      if (zklock_rwlock_rdlock(l, 60000))
        return 4;
      int r = atomic_fetch_add(&s->readers, 1) + 1;
      int m = atomic_load(&s->max_readers);
      while (r > m && !atomic_compare_exchange_weak(&s->max_readers, &m, r))
        ;
      long v = atomic_load(&s->counter);
      if (atomic_load(&s->writers))
        atomic_fetch_add(&s->violations, 1);
      usleep(300);
      if (atomic_load(&s->counter) != v || atomic_load(&s->writers))
        atomic_fetch_add(&s->violations, 1);
      atomic_fetch_sub(&s->readers, 1);
    }
    if (zklock_rwlock_unlock(l))
      return 5;
  }
  zklock_rwlock_free(l);
  zklock_client_close(c);
  return 0;
}

static void test_exclusion_checker(void **state) {
  (void)state;
  enum { P = 4, OPS = 500 };
  char root[256];
  zkt_root(root, sizeof root, "checker");
  char shm[64];
  shared_state *s = zkt_shm_create(shm, sizeof shm, sizeof *s);
  assert_non_null(s);
  pid_t kids[P];
  char ops[16];
  snprintf(ops, sizeof ops, "%d", OPS);
  for (int p = 0; p < P; p++) {
    char seed[16];
    snprintf(seed, sizeof seed, "%d", 1234 + p);
    const char *args[] = {"--checker", root, shm, ops, seed, NULL};
    kids[p] = zkt_spawn_self(args);
    assert_true(kids[p] > 0);
  }
  for (int p = 0; p < P; p++)
    assert_int_equal(zkt_wait_exit(kids[p]), 0);
  print_message("rwlock checker: %d ops, %d writes, max %d readers at once, "
                "%d violations\n",
                P * OPS, atomic_load(&s->writes), atomic_load(&s->max_readers),
                atomic_load(&s->violations));
  assert_int_equal(atomic_load(&s->violations), 0);
  assert_int_equal(atomic_load(&s->counter), atomic_load(&s->writes));
  assert_true(atomic_load(&s->max_readers) >= 2); /* reads did overlap */
  munmap(s, sizeof *s);
  unlink(shm);
  zkt_assert_empty(root);
}

static void test_reader_expiry(void **state) {
  (void)state;
  char root[256];
  zkt_root(root, sizeof root, "rexpiry");
  zklock_client *a = zkt_client(4000);
  zklock_rwlock *la;
  assert_int_equal(zklock_rwlock_new(a, root, &la), ZKLOCK_OK);
  assert_int_equal(zklock_rwlock_rdlock(la, -1), ZKLOCK_OK);
  holder w;
  start(&w, root, 'w', 30000);
  zkt_expire(a);
  assert_true(zkt_wait_for(is_done, &w, 15000));
  assert_int_equal(w.rc, ZKLOCK_OK);
  for (int i = 0; i < 500 && zklock_rwlock_state(la) != ZKLOCK_LOCK_LOST; i++)
    zkt_sleep_ms(10);
  assert_int_equal(zklock_rwlock_state(la), ZKLOCK_LOCK_LOST);
  assert_int_equal(zklock_rwlock_token(la), -1);
  assert_int_equal(zklock_rwlock_unlock(la), ZKLOCK_ELOST);
  finish(&w);
  zklock_rwlock_free(la);
  zklock_client_close(a);
  zkt_assert_empty(root);
}

int main(int argc, char **argv) {
  if (argc == 6 && strcmp(argv[1], "--checker") == 0) {
    shared_state *s = zkt_shm_open(argv[3], sizeof *s);
    return s ? checker_proc(argv[2], s, atoi(argv[4]), (unsigned)atoi(argv[5]))
             : 2;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_readers_share),
      cmocka_unit_test(test_mutex_and_rwlock_exclude),
      cmocka_unit_test(test_reentrancy_and_upgrade),
      cmocka_unit_test(test_downgrade),
      cmocka_unit_test(test_herd_mixed),
      cmocka_unit_test(test_cancel_middle),
      cmocka_unit_test(test_writer_not_starved),
      cmocka_unit_test(test_exclusion_checker),
      cmocka_unit_test(test_reader_expiry),
  };
  return cmocka_run_group_tests_name("rwlock", tests, zkt_group_setup,
                                     zkt_group_teardown);
}
