/* cap_finish.c — the last step before storing: order, clamp, drop what cannot be a clip. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cap_priv.h"

static int sorted(const cap_track *t)
{
    for (size_t i = 1; i < t->n; i++)
        if (t->cues[i].start < t->cues[i - 1].start)
            return 0;
    return 1;
}

/* Stable merge sort by start (cue order breaks ties: files list overlapping cues in order). */
static void msort(cap_cue *a, cap_cue *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    msort(a, tmp, h);
    msort(a + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = a[j].start < a[i].start ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

void cap_track_sort(cap_track *t)
{
    if (sorted(t))
        return;
    cap_cue *tmp = malloc(t->n * sizeof *tmp);
    if (tmp) {
        msort(t->cues, tmp, t->n);
        free(tmp);
    }
}

void cap_track_finish(cap_track *t, double duration)
{
    t->words = -1;
    /* Filter first, then sort: non-finite times (NaN compares false both ways) must not
     * reach the sort, or finite cues could come out of order. */
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        cap_cue c = t->cues[i];
        if (!c.text[0]) {
            t->stats.dropped_empty++;
            continue;
        }
        if (!isfinite(c.start) || !isfinite(c.end) || c.end < c.start) {
            t->stats.dropped_inverted++;
            continue;
        }
        if (duration > 0 && c.start >= duration) {
            t->stats.dropped_beyond++;
            continue;
        }
        if (duration > 0 && c.end > duration) {
            c.end = duration;
            t->stats.clamped++;
        }
        if (c.end == c.start) {
            t->stats.dropped_zero++;
            continue;
        }
        t->cues[k++] = c;
    }
    t->n = k;
    cap_track_sort(t);
}
