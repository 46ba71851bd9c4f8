/* Listeners: watch users outside the lock engine (election observers) get
 * the client's path events and session changes, and run their callbacks
 * through the client's callback queues like every other callback. */
#include "zklock_int.h"

#include <stdlib.h>
#include <string.h>

void zklock__listen(zklock_client *c, zklock__listener *li) {
  li->c = c;
  li->refs = 1;
  li->dead = 0;
  li->running = 0;
  pthread_cond_init(&li->idle, NULL);
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
