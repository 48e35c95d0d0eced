/* qn_progress.h — a one-line progress bar on stderr (done/total, rate, ETA).
 *
 * Drawn only when stderr is a terminal and quiet is 0; otherwise every call is a
 * no-op, so batch jobs and cron logs stay clean. Redraws at most ~10 times/s.
 * qn_progress_update is thread-safe only if callers serialise it.
 */
#ifndef QN_PROGRESS_H
#define QN_PROGRESS_H

#include <stdint.h>

typedef struct qn_progress {
    const char *label;
    uint64_t total, done;
    double t0, last_draw;
    int enabled;
} qn_progress;

void qn_progress_start(qn_progress *p, const char *label, uint64_t total, int quiet);
void qn_progress_update(qn_progress *p, uint64_t done);
/* Erases the bar; the caller prints its one-line summary after. */
void qn_progress_finish(qn_progress *p);
/* Monotonic seconds, for summaries. */
double qn_now(void);

#endif
