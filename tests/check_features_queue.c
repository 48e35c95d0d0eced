/* Unit tests for kernels/features_queue.c: the bounded FIFO of decoded batches
 * between quern-features' decoder threads and its engine thread. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "kernels/features_queue.h"
#include "qn_error.h"

/* An item holding one int (its sequence number) in a buffer of `bytes`. */
static fq_item *numbered(fq_queue *q, size_t bytes, int seq)
{
    fq_item *it = fq_get(q, bytes);
    ck_assert_ptr_nonnull(it);
    ck_assert_uint_ge(it->cap, bytes);
    ck_assert_int_eq(it->n, 0); /* recycled items come back cleared */
    memcpy(it->data, &seq, sizeof seq);
    it->n = 1;
    it->kind = FQ_2D;
    return it;
}

static int seq_of(const fq_item *it)
{
    int seq;
    memcpy(&seq, it->data, sizeof seq);
    return seq;
}

START_TEST(fifo_order_and_recycling)
{
    fq_queue q;
    fq_init(&q, 4, NULL, 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(fq_push(&q, numbered(&q, 64, i)), QN_OK);
    ck_assert_int_eq(q.count, 4);
    fq_item *first = fq_pop(&q);
    ck_assert_int_eq(seq_of(first), 0);
    uint8_t *buf = first->data;
    fq_put(&q, first);
    /* the spare is reused for a request it can hold, not for a larger one */
    fq_item *again = fq_get(&q, 32);
    ck_assert_ptr_eq(again->data, buf);
    ck_assert_int_eq(again->cap, 64);
    fq_put(&q, again);
    fq_item *big = fq_get(&q, 4096);
    ck_assert_ptr_ne(big->data, buf);
    ck_assert_ptr_null(q.spare); /* the too-small heap spare was given up */
    fq_put(&q, big);
    for (int i = 1; i < 4; i++) {
        fq_item *it = fq_pop(&q);
        ck_assert_int_eq(seq_of(it), i);
        fq_put(&q, it);
    }
    ck_assert_int_eq(q.count, 0);
    fq_stop(&q);
    fq_destroy(&q);
}
END_TEST

START_TEST(stop_refuses_pushes_and_drains)
{
    fq_queue q;
    fq_init(&q, 8, NULL, 0);
    ck_assert_int_eq(fq_push(&q, numbered(&q, 16, 1)), QN_OK);
    ck_assert_int_eq(fq_push(&q, numbered(&q, 16, 2)), QN_OK);
    fq_stop(&q);
    ck_assert_int_eq(q.count, 0);
    ck_assert_ptr_null(q.head);
    ck_assert_ptr_nonnull(q.spare); /* drained items keep their buffers for reuse */
    ck_assert_int_eq(fq_push(&q, numbered(&q, 16, 3)), QN_EINTERNAL);
    ck_assert_ptr_null(fq_pop(&q)); /* stopped and empty: no wait */
    /* an END item (no buffer) is freed, not kept */
    fq_item *end = calloc(1, sizeof *end);
    ck_assert_int_eq(fq_push(&q, end), QN_EINTERNAL);
    fq_destroy(&q);
}
END_TEST

/* Producers push N numbered items each; the consumer checks each producer's items
 * arrive in order and that the queue never holds more than its capacity. */
enum { PRODUCERS = 3, PER_PRODUCER = 200, CAP = 2 };

typedef struct producer {
    fq_queue *q;
    int id;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    for (int i = 0; i < PER_PRODUCER; i++) {
        fq_item *it = fq_get(p->q, 8 + (size_t)(i % 3) * 8);
        if (!it)
            return NULL;
        int seq = p->id * 100000 + i;
        memcpy(it->data, &seq, sizeof seq);
        it->n = 1;
        if (fq_push(p->q, it) != QN_OK)
            return NULL;
    }
    return NULL;
}

START_TEST(bounded_under_threads)
{
    fq_queue q;
    fq_init(&q, CAP, NULL, 0);
    pthread_t th[PRODUCERS];
    producer pr[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        pr[i] = (producer){&q, i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, produce, &pr[i]), 0);
    }
    int next[PRODUCERS] = {0};
    for (int got = 0; got < PRODUCERS * PER_PRODUCER; got++) {
        fq_item *it = fq_pop(&q);
        ck_assert_ptr_nonnull(it);
        pthread_mutex_lock(&q.mu);
        ck_assert_int_le(q.count, CAP); /* never more queued than the bound */
        pthread_mutex_unlock(&q.mu);
        int seq = seq_of(it), who = seq / 100000;
        ck_assert_int_eq(seq % 100000, next[who]++);
        fq_put(&q, it);
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(th[i], NULL);
    fq_stop(&q);
    fq_destroy(&q);
}
END_TEST

/* A consumer waiting on an empty queue wakes when the queue stops (a decoder that
 * ran out of memory stops it), and gets NULL. */
static void *stop_later(void *arg)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    fq_stop(arg);
    return NULL;
}

START_TEST(stop_wakes_a_waiting_consumer)
{
    fq_queue q;
    fq_init(&q, 2, NULL, 0);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, stop_later, &q), 0);
    ck_assert_ptr_null(fq_pop(&q));
    pthread_join(th, NULL);
    fq_destroy(&q);
}
END_TEST

/* A pusher blocked on a full queue wakes when the queue stops, and its item is
 * refused and put back (else the engine's failure would hang the decoders' join). */
static void *push_one(void *arg)
{
    fq_queue *q = arg;
    fq_item *it = fq_get(q, 16);
    return (void *)(intptr_t)(it ? fq_push(q, it) : QN_ENOMEM);
}

START_TEST(stop_wakes_a_blocked_pusher)
{
    fq_queue q;
    fq_init(&q, 1, NULL, 0);
    ck_assert_int_eq(fq_push(&q, numbered(&q, 16, 1)), QN_OK);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, push_one, &q), 0);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    fq_stop(&q);
    void *rc;
    pthread_join(th, &rc);
    ck_assert_int_eq((int)(intptr_t)rc, QN_EINTERNAL);
    ck_assert_ptr_nonnull(q.spare);
    fq_destroy(&q);
}
END_TEST

/* fq_close (a decoder out of memory): no more pushes, but what is queued is still
 * popped, in order, before the NULL that ends the run. */
START_TEST(close_keeps_what_is_queued)
{
    fq_queue q;
    fq_init(&q, 4, NULL, 0);
    ck_assert_int_eq(fq_push(&q, numbered(&q, 16, 1)), QN_OK);
    ck_assert_int_eq(fq_push(&q, numbered(&q, 16, 2)), QN_OK);
    fq_close(&q);
    ck_assert_int_eq(fq_push(&q, numbered(&q, 16, 3)), QN_EINTERNAL);
    for (int i = 1; i <= 2; i++) {
        fq_item *it = fq_pop(&q);
        ck_assert_ptr_nonnull(it);
        ck_assert_int_eq(seq_of(it), i);
        fq_put(&q, it);
    }
    ck_assert_ptr_null(fq_pop(&q));
    fq_stop(&q);
    fq_destroy(&q);
}
END_TEST

/* Page-locked spares are kept when a larger buffer is asked for (freeing one would
 * synchronise the GPU); heap ones are given up. */
START_TEST(locked_spares_are_kept)
{
    fq_queue q;
    fq_init(&q, 4, NULL, 0);
    fq_item *it = fq_get(&q, 16);
    it->locked = 1; /* as if page-locked */
    fq_put(&q, it);
    fq_item *big = fq_get(&q, 4096);
    ck_assert_ptr_ne(big, it);
    ck_assert_ptr_eq(q.spare, it);
    it->locked = 0; /* heap memory really: fq_destroy frees it as such */
    fq_put(&q, big);
    fq_stop(&q);
    fq_destroy(&q);
}
END_TEST

static Suite *features_queue_suite(void)
{
    Suite *s = suite_create("features_queue");
    TCase *tc = tcase_create("queue");
    tcase_add_test(tc, fifo_order_and_recycling);
    tcase_add_test(tc, stop_refuses_pushes_and_drains);
    tcase_add_test(tc, bounded_under_threads);
    tcase_add_test(tc, stop_wakes_a_waiting_consumer);
    tcase_add_test(tc, stop_wakes_a_blocked_pusher);
    tcase_add_test(tc, close_keeps_what_is_queued);
    tcase_add_test(tc, locked_spares_are_kept);
    suite_add_tcase(s, tc);
    return s;
}

QN_CHECK_MAIN(features_queue_suite)
