/* features_queue.c — features_queue.h: a bounded FIFO of batches, buffers recycled. */
#include "features_queue.h"

#include <stdlib.h>

#include "qn_error.h"

void fq_init(fq_queue *q, int cap, const kn_model *m, int lock)
{
    *q = (fq_queue){.cap = cap, .m = m, .lock = lock};
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->can_pop, NULL);
    pthread_cond_init(&q->can_push, NULL);
}

/* Page-locked memory for batches, at most: with many decoders (one per core, more for
 * NVDEC) the batches alive can reach gigabytes, and locked memory is the machine's. */
#define PINNED_BUDGET ((size_t)1 << 30)

/* Batch buffers are recycled: page-locked memory is slow to get, and the number
 * alive is bounded by the queue and the decoders anyway. */
void fq_put(fq_queue *p, fq_item *it)
{
    if (!it)
        return;
    if (!it->data) {
        free(it);
        return;
    }
    pthread_mutex_lock(&p->mu);
    it->next = p->spare;
    p->spare = it;
    pthread_mutex_unlock(&p->mu);
}

/* An item with room for `bytes`: a spare one that fits, else a new one. When
 * none fits, a heap spare is given up so that spares do not pile up as frame sizes
 * change; page-locked ones stay (freeing one synchronises the whole GPU, which would
 * break a CUDA graph being captured), and PINNED_BUDGET bounds them. */
fq_item *fq_get(fq_queue *p, size_t bytes)
{
    pthread_mutex_lock(&p->mu);
    fq_item **pp = &p->spare, *drop = NULL;
    while (*pp && (*pp)->cap < bytes)
        pp = &(*pp)->next;
    fq_item *it = *pp;
    if (it)
        *pp = it->next;
    else if (p->spare && !p->spare->locked)
        drop = p->spare, p->spare = drop->next;
    int lock = !it && p->lock && p->locked_bytes + bytes <= PINNED_BUDGET;
    if (lock)
        p->locked_bytes += bytes;
    pthread_mutex_unlock(&p->mu);
    if (drop) {
        kn_input_free(drop->data);
        free(drop);
    }
    if (it) {
        *it = (fq_item){.data = it->data, .cap = it->cap, .locked = it->locked};
        return it;
    }
    it = calloc(1, sizeof *it);
    if (it && !(it->data = kn_input_alloc(lock ? p->m : NULL, bytes))) {
        free(it);
        it = NULL;
    }
    if (!it && lock) { /* nothing was locked after all */
        pthread_mutex_lock(&p->mu);
        p->locked_bytes -= bytes;
        pthread_mutex_unlock(&p->mu);
        return NULL;
    }
    if (it) {
        it->cap = bytes;
        it->locked = lock;
    }
    return it;
}

void fq_destroy(fq_queue *p)
{
    while (p->spare) {
        fq_item *it = p->spare;
        p->spare = it->next;
        kn_input_free(it->data);
        free(it);
    }
    pthread_cond_destroy(&p->can_pop);
    pthread_cond_destroy(&p->can_push);
    pthread_mutex_destroy(&p->mu);
}

int fq_push(fq_queue *p, fq_item *it)
{
    pthread_mutex_lock(&p->mu);
    while (p->count >= p->cap && !p->stop)
        pthread_cond_wait(&p->can_push, &p->mu);
    int stopped = p->stop;
    if (!stopped) {
        it->next = NULL;
        if (p->tail)
            p->tail->next = it;
        else
            p->head = it;
        p->tail = it;
        p->count++;
        pthread_cond_signal(&p->can_pop);
    }
    pthread_mutex_unlock(&p->mu);
    if (stopped) {
        fq_put(p, it);
        return QN_EINTERNAL;
    }
    return QN_OK;
}

fq_item *fq_pop(fq_queue *p)
{
    pthread_mutex_lock(&p->mu);
    while (!p->head && !p->stop)
        pthread_cond_wait(&p->can_pop, &p->mu);
    fq_item *it = p->head;
    if (!it) {   /* a decoder gave up (out of memory) */
        pthread_mutex_unlock(&p->mu);
        return NULL;
    }
    p->head = it->next;
    if (!p->head)
        p->tail = NULL;
    p->count--;
    pthread_cond_signal(&p->can_push);
    pthread_mutex_unlock(&p->mu);
    return it;
}

void fq_close(fq_queue *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->can_push);
    pthread_cond_broadcast(&p->can_pop);
    pthread_mutex_unlock(&p->mu);
}

void fq_stop(fq_queue *p)
{
    fq_close(p);
    pthread_mutex_lock(&p->mu);
    fq_item *it = p->head;
    p->head = p->tail = NULL;
    p->count = 0;
    pthread_mutex_unlock(&p->mu);
    while (it) {
        fq_item *next = it->next;
        fq_put(p, it);
        it = next;
    }
}

