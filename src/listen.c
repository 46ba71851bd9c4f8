/* Listeners: watch users outside the lock engine (election observers) get
 * the client's path events and session changes, and run their callbacks
 * through the client's callback queues like every other callback. */
#include "zklock_int.h"

#include <stdlib.h>
#include <string.h>

/* The fields every listener starts with, in the client's list or not. */
static void listener_init(zklock_client *c, zklock__listener *li) {
  li->c = c;
  li->refs = 1;
  li->dead = 0;
  li->running = 0;
  pthread_cond_init(&li->idle, NULL);
}

void zklock__listen(zklock_client *c, zklock__listener *li) {
  listener_init(c, li);
  li->next = c->listeners;
  if (li->next)
    li->next->pprev = &li->next;
  li->pprev = &c->listeners;
  c->listeners = li;
}

void zklock__listener_ref(zklock__listener *li) { li->refs++; }

void zklock__listener_unref(zklock__listener *li) {
  if (--li->refs > 0)
    return;
  pthread_cond_destroy(&li->idle);
  li->destroy(li);
}

void zklock__unlisten(zklock__listener *li) {
  zklock_client *c = li->c;
  pthread_mutex_lock(&c->mu);
  li->dead = 1;
  if (li->pprev) {
    *li->pprev = li->next;
    if (li->next)
      li->next->pprev = li->pprev;
    li->pprev = NULL;
  }
  /* A callback running on another thread finishes first; the one that
   * called us (freeing from inside its own callback) cannot. */
  while (li->running > 0 && !pthread_equal(li->runner, pthread_self()))
    pthread_cond_wait(&li->idle, &c->mu);
  zklock__listener_unref(li);
  pthread_mutex_unlock(&c->mu);
}

void zklock__listener_cb(zklock__listener *li, zklock__cbq *q, const char *text,
                         int64_t value) {
  zklock__cb *cb = malloc(sizeof *cb + 1);
  if (!cb)
    return; /* out of memory: the next change reports again */
  memset(cb, 0, sizeof *cb + 1);
  cb->type = ZKLOCK__CB_LISTENER;
  cb->arg = li;
  cb->value = value;
  if (text && !(cb->path = strdup(text))) {
    free(cb);
    return;
  }
  cb->rc = text != NULL;
  zklock__listener_ref(li);
  *q->tail = cb;
  q->tail = &cb->next;
}

void zklock__listeners_event(zklock_client *c, int type, int state,
                             const char *path, zklock__cbq *q) {
  for (zklock__listener *li = c->listeners; li; li = li->next)
    li->event(li, type, state, path, q);
}

void zklock__listener_run(zklock_client *c, zklock__cb *cb) {
  zklock__listener *li = cb->arg;
  pthread_mutex_lock(&c->mu);
  if (!li->dead) {
    li->running++;
    li->runner = pthread_self();
    pthread_mutex_unlock(&c->mu);
    li->run(li, cb);
    pthread_mutex_lock(&c->mu);
    li->running--;
    pthread_cond_broadcast(&li->idle);
  }
  zklock__listener_unref(li);
  pthread_mutex_unlock(&c->mu);
}

/* ---- per-handle listeners ---- */

typedef struct {
  zklock__listener li; /* first: the casts below */
  zklock_listener_cb cb;
  void *handle;
  void *arg;
} hlisten;

static void hl_run(zklock__listener *li, const zklock__cb *cb) {
  hlisten *hl = (hlisten *)li;
  hl->cb(hl->handle, (int)cb->value, hl->arg);
}

static void hl_destroy(zklock__listener *li) { free(li); }

int zklock__hlisten_set(zklock_client *c, zklock__listener **slot, void *handle,
                        zklock_listener_cb cb, void *arg) {
  hlisten *hl = NULL;
  if (cb) {
    hl = calloc(1, sizeof *hl);
    if (!hl)
      return ZKLOCK_ENOMEM;
    hl->cb = cb;
    hl->handle = handle;
    hl->arg = arg;
    listener_init(c, &hl->li);
    hl->li.run = hl_run;
    hl->li.destroy = hl_destroy;
    /* never in the client's list: it gets no events, only reports */
  }
  pthread_mutex_lock(&c->mu);
  zklock__listener *old = *slot;
  *slot = hl ? &hl->li : NULL;
  if (old)
    old->dead = 1; /* entries already queued for it do nothing */
  pthread_mutex_unlock(&c->mu);
  if (old)
    zklock__unlisten(old); /* waits for one running on another thread */
  return ZKLOCK_OK;
}

void zklock__hlisten_report(zklock__listener *li, int state, zklock__cbq *q) {
  if (!li || li->dead)
    return;
  /* One queue for every report, run by one thread: through q it could
   * run on a thread that gets to it after a later change's report. */
  zklock__cbq mine;
  ZKLOCK__CBQ_INIT(&mine);
  zklock__listener_cb(li, &mine, NULL, state);
  zklock__cb_defer_q(li->c, &mine);
  if (mine.head) {
    *q->tail = mine.head;
    q->tail = mine.tail;
  }
}
