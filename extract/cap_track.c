/* cap_track.c — caption tracks: the arena behind their strings, adding cues and warnings. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap_priv.h"

#define BLK_MIN (64 * 1024)
#define MAX_WARNINGS 1000 /* a broken file should not grow an unbounded list */

struct cap_blk {
    struct cap_blk *next;
    size_t size, used;
    _Alignas(8) unsigned char data[];
};

void *cap_arena_alloc(cap_track *t, size_t n)
{
    struct cap_track_priv *p = t->priv;
    n = (n + 7) & ~(size_t)7;
    struct cap_blk *b = p->blk;
    if (!b || b->size - b->used < n) {
        /* The block is full (or there is none): a new one. A reset track keeps just its
         * newest block, emptied (cap_track_reset). */
        size_t size = n > BLK_MIN ? n : BLK_MIN;
        struct cap_blk *nb = malloc(sizeof *nb + size);
        if (!nb)
            return NULL;
        nb->next = b;
        nb->size = size;
        nb->used = 0;
        p->blk = b = nb;
    }
    void *r = b->data + b->used;
    b->used += n;
    return r;
}

void cap_arena_shrink(cap_track *t, void *ptr, size_t had, size_t keep)
{
    struct cap_blk *b = t->priv->blk;
    had = (had + 7) & ~(size_t)7;
    keep = (keep + 7) & ~(size_t)7;
    if (b && (unsigned char *)ptr + had == b->data + b->used)
        b->used -= had - keep;
}

char *cap_arena_strndup(cap_track *t, const char *s, size_t n)
{
    char *d = cap_arena_alloc(t, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

cap_track *cap_track_new(void)
{
    cap_track *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->priv = calloc(1, sizeof *t->priv);
    if (!t->priv) {
        free(t);
        return NULL;
    }
    cap_track_set_opts(t, NULL);
    t->charset = "UTF-8";
    t->words = -1;
    return t;
}

static void free_blocks(struct cap_blk *b)
{
    while (b) {
        struct cap_blk *n = b->next;
        free(b);
        b = n;
    }
}

void cap_track_free(cap_track *t)
{
    if (!t)
        return;
    free_blocks(t->priv->blk);
    free(t->priv);
    free(t->cues);
    free(t->warnings);
    free(t);
}

void cap_track_reset(cap_track *t)
{
    struct cap_track_priv *p = t->priv;
    /* Keep only the largest-first block (the current one) and rewind it. */
    if (p->blk) {
        free_blocks(p->blk->next);
        p->blk->next = NULL;
        p->blk->used = 0;
    }
    t->n = 0;
    t->n_warnings = 0;
    memset(&t->stats, 0, sizeof t->stats);
    t->rolling = 0;
    t->charset = "UTF-8";
    t->words = -1;
}

void cap_track_set_opts(cap_track *t, const cap_opts *o)
{
    static const cap_opts def = CAP_OPTS_DEFAULT;
    struct cap_track_priv *p = t->priv;
    p->opts = o ? *o : def;
    p->clean_flags = p->opts.keep_sound_tags ? CAP_CLEAN_KEEP_SOUND : 0;
}

static int grow_cues(cap_track *t)
{
    struct cap_track_priv *p = t->priv;
    if (t->n < p->cue_cap)
        return QN_OK;
    size_t cap = p->cue_cap ? p->cue_cap * 2 : 256;
    cap_cue *c = realloc(t->cues, cap * sizeof *c);
    if (!c)
        return QN_ENOMEM;
    t->cues = c;
    p->cue_cap = cap;
    return QN_OK;
}

cap_word *cap_words_from_marks(cap_track *t, const char *text, size_t len, const cap_mark *m,
                               size_t nm, double first, uint32_t *n_words)
{
    cap_word *w = cap_arena_alloc(t, (nm + 1) * sizeof *w);
    if (!w)
        return NULL;
    size_t nw = 0;
    for (size_t i = 0; i <= nm; i++) {
        size_t a = i ? m[i - 1].pos : 0, b = i < nm ? m[i].pos : len;
        if (b > len)
            b = len;
        if (a > b)
            a = b;
        while (a < b && text[a] == ' ')
            a++;
        while (b > a && text[b - 1] == ' ')
            b--;
        if (b > a)
            w[nw++] = (cap_word){i ? m[i - 1].t : first, (uint32_t)a, (uint32_t)(b - a)};
    }
    *n_words = (uint32_t)nw;
    return w;
}

/* Cleans cue c's raw text into the arena, with word timings from inline timestamps. */
static int clean_cue(cap_track *t, cap_cue *c, enum cap_src src)
{
    size_t raw_len = strlen(c->raw);
    char *txt = cap_arena_alloc(t, raw_len + 1);
    if (!txt)
        return QN_ENOMEM;
    unsigned fl = t->priv->clean_flags | (src == CAP_SRC_ASS ? CAP_CLEAN_ASS : 0);
    cap_mark marks[CAP_MAX_MARKS];
    size_t nm = 0;
    size_t n = cap_clean_marks(c->raw, raw_len, fl, txt, marks, CAP_MAX_MARKS, &nm);
    cap_arena_shrink(t, txt, raw_len + 1, n + 1);
    c->text = txt;
    if (nm > CAP_MAX_MARKS)
        nm = CAP_MAX_MARKS;
    if (nm && !(c->words = cap_words_from_marks(t, txt, strlen(txt), marks, nm, c->start,
                                                &c->n_words)))
        return QN_ENOMEM;
    return QN_OK;
}

int cap_track_add(cap_track *t, double start, double end, const char *raw, size_t raw_len,
                  enum cap_src src, uint32_t line)
{
    if (grow_cues(t))
        return QN_ENOMEM;
    char *r = cap_arena_strndup(t, raw, raw_len);
    if (!r)
        return QN_ENOMEM;
    cap_cue *c = &t->cues[t->n];
    *c = (cap_cue){.start = start, .end = end, .raw = r, .line = line};
    /* Deferred (inside cap_parse): the rolling-caption dedupe may replace these cues, so
     * cleaning waits until it is known which survive. */
    if (!t->priv->defer && clean_cue(t, c, src))
        return QN_ENOMEM;
    t->n++;
    t->stats.parsed++;
    t->words = -1; /* the cues changed: cap_track_filter counts again */
    return QN_OK;
}

int cap_track_clean_pending(cap_track *t, size_t from, enum cap_src src)
{
    for (size_t i = from; i < t->n; i++)
        if (!t->cues[i].text && clean_cue(t, &t->cues[i], src))
            return QN_ENOMEM;
    return QN_OK;
}

void cap_track_warn(cap_track *t, const char *fmt, ...)
{
    struct cap_track_priv *p = t->priv;
    if (t->n_warnings >= MAX_WARNINGS)
        return;
    if (t->n_warnings == p->warn_cap) {
        size_t cap = p->warn_cap ? p->warn_cap * 2 : 16;
        const char **w = realloc(t->warnings, cap * sizeof *w);
        if (!w)
            return;
        t->warnings = w;
        p->warn_cap = cap;
    }
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    char *s = cap_arena_strndup(t, buf, (size_t)n);
    if (s)
        t->warnings[t->n_warnings++] = s;
}
