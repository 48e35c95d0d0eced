/* cap_youtube.c — YouTube's rolling captions back into one cue per spoken line.
 *
 * YouTube automatic captions show a two-line window: a "build" cue repeats the previous
 * line on top and adds the new line with word timestamps below, a ~10 ms "hold" cue shows the
 * finished line, the next build cue repeats it again. Each spoken line thus appears 2-3 times.
 * Dedupe rule (per cue, in time order): the cue's leading lines that equal the tail of the
 * lines kept so far are repeats (they only extend how long those lines stayed on screen); the
 * remaining lines are new. A line repeated in speech ("yeah" / "yeah") still survives because
 * it is new below its twin. A line that grows word by word (kept line + more words in the next
 * cue) replaces its shorter self.
 */
#include <stdlib.h>
#include <string.h>

#include "cap_priv.h"

#define MAX_LINES 64   /* lines looked at per cue */
#define TAIL 4         /* kept lines a cue may repeat */

typedef struct kline {
    const char *text, *raw;
    size_t len, raw_len;
    double spoken, disp_start, disp_end, intro_end;
    cap_word *words;
    uint32_t n_words, line;
    size_t last_cue;
    int timed;
} kline;

typedef struct cline {  /* one cleaned line of the current cue */
    char *text;
    size_t len;
    const char *raw;
    size_t raw_len;
    cap_mark *marks;
    size_t n_marks;
} cline;

/* Splits a cue into cleaned, non-empty lines; scratch holds the clean text. */
static size_t split_cue(const cap_cue *c, unsigned flags, char *scratch, cap_mark *marks,
                        cline *out)
{
    const char *s = c->raw;
    size_t len = strlen(s), k = 0, used = 0, mused = 0;
    size_t i = 0;
    while (i <= len && k < MAX_LINES) {
        const char *nl = memchr(s + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - s) : len;
        size_t nm = 0;
        char *o = scratch + used;
        size_t n = cap_clean_marks(s + i, e - i, flags, o, marks + mused, CAP_MAX_MARKS - mused, &nm);
        if (nm > CAP_MAX_MARKS - mused)
            nm = CAP_MAX_MARKS - mused;
        if (n) {
            out[k++] = (cline){o, n, s + i, e - i, marks + mused, nm};
            used += n + 1;
            mused += nm;
        }
        i = e + 1;
    }
    return k;
}

static int same(const kline *a, const cline *b)
{
    return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
}

/* Largest j such that the cue's first j lines equal the last j kept lines. */
static size_t tail_match(const kline *kept, size_t nk, const cline *l, size_t k)
{
    size_t m = k < nk ? k : nk;
    if (m > TAIL)
        m = TAIL;
    for (size_t j = m; j > 0; j--) {
        size_t i = 0;
        while (i < j && same(&kept[nk - j + i], &l[i]))
            i++;
        if (i == j)
            return j;
    }
    return 0;
}

static int set_words(cap_track *t, kline *kl, const cline *l, double first)
{
    kl->words = NULL;
    kl->n_words = 0;
    kl->timed = l->n_marks > 0;
    if (!l->n_marks)
        return QN_OK;
    kl->words = cap_words_from_marks(t, l->text, l->len, l->marks, l->n_marks, first,
                                     &kl->n_words);
    return kl->words ? QN_OK : QN_ENOMEM;
}

typedef struct kept_list {
    kline *v;
    size_t n, cap;
} kept_list;

static kline *push(kept_list *k)
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 256;
        kline *v = realloc(k->v, cap * sizeof *v);
        if (!v)
            return NULL;
        k->v = v;
        k->cap = cap;
    }
    return memset(&k->v[k->n++], 0, sizeof(kline));
}

/* Takes the new lines l[j..k) of cue ci. Without word timings, lines that appear together
 * split the cue's time in proportion to their length. */
static int add_new(cap_track *t, kept_list *K, const cap_cue *c, size_t ci, const cline *l,
                   size_t j, size_t k)
{
    size_t total = 0, before = 0;
    for (size_t i = j; i < k; i++)
        total += l[i].len;
    for (size_t i = j; i < k; i++) {
        kline *kl = push(K);
        if (!kl)
            return QN_ENOMEM;
        double st = c->start + (c->end - c->start) * (double)before / (double)(total ? total : 1);
        if (l[i].n_marks && l[i].marks[0].pos == 0)
            st = l[i].marks[0].t;
        before += l[i].len;
        kl->text = cap_arena_strndup(t, l[i].text, l[i].len);
        kl->raw = cap_arena_strndup(t, l[i].raw, l[i].raw_len);
        if (!kl->text || !kl->raw)
            return QN_ENOMEM;
        kl->len = l[i].len;
        kl->raw_len = l[i].raw_len;
        kl->spoken = st;
        kl->disp_start = c->start;
        kl->disp_end = kl->intro_end = c->end;
        kl->line = c->line;
        kl->last_cue = ci;
        if (set_words(t, kl, &l[i], st))
            return QN_ENOMEM;
    }
    return QN_OK;
}

/* The kept line was l0 minus words: the line grew in place (earlier cue showed a prefix). */
static int grows(const kline *kl, const cline *l0, size_t ci)
{
    return kl->last_cue + 1 == ci && l0->len > kl->len &&
           memcmp(l0->text, kl->text, kl->len) == 0 && l0->text[kl->len] == ' ';
}

static int extend(cap_track *t, kline *kl, const cap_cue *c, size_t ci, const cline *l0)
{
    kl->text = cap_arena_strndup(t, l0->text, l0->len);
    kl->raw = cap_arena_strndup(t, l0->raw, l0->raw_len);
    if (!kl->text || !kl->raw)
        return QN_ENOMEM;
    kl->len = l0->len;
    kl->raw_len = l0->raw_len;
    kl->disp_end = kl->intro_end = c->end;
    kl->last_cue = ci;
    return set_words(t, kl, l0, kl->spoken);
}

static int scan(cap_track *t, kept_list *K, char *scratch)
{
    cline l[MAX_LINES];
    cap_mark mk[CAP_MAX_MARKS];
    unsigned fl = t->priv->clean_flags;
    for (size_t ci = 0; ci < t->n; ci++) {
        const cap_cue *c = &t->cues[ci];
        size_t k = split_cue(c, fl, scratch, mk, l);
        size_t j = tail_match(K->v, K->n, l, k);
        for (size_t i = 0; i < j; i++) {
            kline *kl = &K->v[K->n - j + i];
            if (c->end > kl->disp_end)
                kl->disp_end = c->end;
            kl->last_cue = ci;
        }
        if (j == 0 && k && K->n && grows(&K->v[K->n - 1], &l[0], ci)) {
            if (extend(t, &K->v[K->n - 1], c, ci, &l[0]))
                return QN_ENOMEM;
            j = 1;
        }
        if (add_new(t, K, c, ci, l, j, k))
            return QN_ENOMEM;
    }
    return QN_OK;
}

static size_t max_raw(const cap_track *t)
{
    size_t m = 0;
    for (size_t i = 0; i < t->n; i++) {
        size_t n = strlen(t->cues[i].raw);
        if (n > m)
            m = n;
    }
    return m;
}

int cap_youtube_dedupe(cap_track *t, enum cap_span span)
{
    size_t n0 = t->n;
    if (n0 == 0 || t->rolling)
        return QN_OK; /* already merged (cap_parse does it for WebVTT files) */
    cap_track_sort(t);
    char *scratch = malloc(2 * max_raw(t) + MAX_LINES + 2);
    kept_list K = {0};
    int rc = scratch ? scan(t, &K, scratch) : QN_ENOMEM;
    free(scratch);
    if (rc == QN_OK && K.n > t->priv->cue_cap) {
        cap_cue *c = realloc(t->cues, K.n * sizeof *c);
        if (!c)
            rc = QN_ENOMEM;
        else
            t->cues = c, t->priv->cue_cap = K.n;
    }
    if (rc) {
        free(K.v);
        return rc;
    }
    for (size_t i = 0; i < K.n; i++) {
        kline *kl = &K.v[i];
        double st = span == CAP_SPAN_DISPLAYED ? kl->disp_start : kl->spoken;
        double en = kl->disp_end;
        if (span == CAP_SPAN_SPOKEN) {
            /* Up to the next line's first word, but not across a silence: never past the
             * time the line left the screen. */
            en = i + 1 < K.n ? K.v[i + 1].spoken : kl->intro_end;
            if (en > kl->disp_end)
                en = kl->disp_end;
            if (en <= st)
                en = kl->disp_end > kl->intro_end ? kl->disp_end : kl->intro_end;
        }
        t->cues[i] = (cap_cue){.start = st, .end = en, .raw = kl->raw, .text = kl->text,
                               .words = kl->words, .n_words = kl->n_words, .line = kl->line};
    }
    t->n = K.n;
    t->stats.deduped += (uint32_t)(n0 - K.n);
    t->rolling = 1;
    free(K.v);
    return QN_OK;
}

int cap_youtube_is_rolling(const cap_track *t)
{
    if (t->rolling)
        return 1;
    size_t n = t->n < 200 ? t->n : 200, hits = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(t->cues[i].raw);
        if (l > m)
            m = l;
    }
    char *scratch = malloc(2 * m + MAX_LINES + 2);
    if (!scratch)
        return 0;
    cline a[MAX_LINES];
    cap_mark mk[CAP_MAX_MARKS];
    char *prev = NULL;
    size_t prev_len = 0;
    char *copy = malloc(m + 1);
    for (size_t i = 0; copy && i < n; i++) {
        size_t k = split_cue(&t->cues[i], t->priv->clean_flags, scratch, mk, a);
        if (k && prev && a[0].len == prev_len && memcmp(a[0].text, prev, prev_len) == 0)
            hits++;
        if (k) {
            memcpy(copy, a[k - 1].text, a[k - 1].len);
            prev = copy;
            prev_len = a[k - 1].len;
        }
    }
    free(copy);
    free(scratch);
    return hits >= 2 && hits * 3 >= n;
}
