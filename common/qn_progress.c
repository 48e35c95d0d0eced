#include "qn_progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double qn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void qn_progress_start(qn_progress *p, const char *label, uint64_t total, int quiet)
{
    p->label = label;
    p->total = total;
    p->done = 0;
    p->t0 = qn_now();
    p->last_draw = 0;
    p->enabled = !quiet && isatty(STDERR_FILENO);
}

static void draw(qn_progress *p, double now)
{
    double dt = now - p->t0;
    double rate = dt > 0 ? p->done / dt : 0;
    int width = 30, fill = p->total ? (int)(width * p->done / p->total) : 0;
    char bar[31];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    double eta = rate > 0 && p->total >= p->done ? (p->total - p->done) / rate : 0;
    fprintf(stderr, "\r%s [%s] %llu/%llu %.1f/s ETA %ds ", p->label, bar,
            (unsigned long long)p->done, (unsigned long long)p->total, rate, (int)(eta + 0.5));
    fflush(stderr);
    p->last_draw = now;
}

void qn_progress_update(qn_progress *p, uint64_t done)
{
    p->done = done;
    if (!p->enabled)
        return;
    double now = qn_now();
    if (now - p->last_draw >= 0.1 || done == p->total)
        draw(p, now);
}

void qn_progress_finish(qn_progress *p)
{
    if (!p->enabled)
        return;
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
}
