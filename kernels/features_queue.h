/* features_queue.h — quern-features' bounded queue of decoded batches.
 *
 * Decoder threads fill batches (2D frames or 3D chunks of one video) and push
 * them; the engine thread pops them in order. A video's END item follows its
 * batches (one producer per video, FIFO). The queue is bounded, so decoding runs
 * at most a few batches ahead of the network, and batch buffers are recycled:
 * page-locked memory (the cuda backend) is slow to get. */
#ifndef FEATURES_QUEUE_H
#define FEATURES_QUEUE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/engine.h"

enum { FQ_END = 0, FQ_2D = 2, FQ_3D = 3 };

struct vjob; /* the video an item belongs to (features_main.c's) */

typedef struct fq_item {
    struct fq_item *next;
    struct vjob *job;
    int kind, n, w, h; /* FQ_*, frames or chunks in data, their size */
    uint8_t *data;     /* kn_input_alloc'd, cap bytes */
    size_t cap;
    int locked;        /* data is page-locked (for the GPU) */
} fq_item;

typedef struct fq_queue {
    pthread_mutex_t mu;     /* also guards what the owner keeps beside the queue */
    pthread_cond_t can_pop, can_push;
    fq_item *head, *tail;
    int count, cap, stop;
    const kn_model *m;      /* allocates the batch buffers */
    int lock;               /* buffers page-locked (the cuda backend), up to a budget */
    fq_item *spare;         /* items done with, their buffers kept for reuse */
    size_t locked_bytes;    /* buffers page-locked so far */
} fq_queue;

/* A queue of at most `cap` items whose buffers come from m (page-locked: lock). */
void fq_init(fq_queue *q, int cap, const kn_model *m, int lock);
/* Frees the spare buffers and the locks; the queue must be stopped, its threads joined. */
void fq_destroy(fq_queue *q);

/* An item with room for `bytes` (a recycled one when one fits), or NULL. */
fq_item *fq_get(fq_queue *q, size_t bytes);
/* Gives an item back: its buffer is kept for fq_get. NULL is ignored. */
void fq_put(fq_queue *q, fq_item *it);

/* Queues it (ownership passes), waiting for room; QN_EINTERNAL (it is put back)
 * once the queue is stopping. */
int fq_push(fq_queue *q, fq_item *it);
/* The next item, waiting for one; NULL once stopped and empty. */
fq_item *fq_pop(fq_queue *q);
/* Closes the queue: pushes fail from now on and waiting pushers and poppers wake;
 * what is queued can still be popped (a decoder that gives up leaves the videos
 * finished before it to be written). */
void fq_close(fq_queue *q);
/* fq_close, and what was queued is put back: nothing more will be popped. */
void fq_stop(fq_queue *q);

#endif
