/* clips_write.c — the store side of quern-clips: open the store, apply the paper's filters,
 * turn a finished track into clip rows (texts + vocabulary token ids) and write one video.
 */
#include "extract/clips.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const clips_why_name[CLIPS_WHY_N] = {
    "none", "duration", "words", "views", "rank", "duplicate", "no captions", "bad captions",
};

void clips_setf(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, size, fmt, ap);
    va_end(ap);
}

void clips_opts_default(clips_opts *o)
{
    memset(o, 0, sizeof *o);
    cap_opts d = CAP_OPTS_DEFAULT;
    o->cap = d;
    o->sub_lang = "en";
    o->max_words = 20;
    o->max_duration = 2000;
    o->min_words = 100;
    o->min_views = 100;
    o->max_rank = 200;
    o->batch = 1000;
}

void clips_totals_add(clips_totals *t, const clips_result *r)
{
    switch (r->status) {
    case QN_VIDEO_OK: t->ok++; break;
    case QN_VIDEO_REJECTED:
        t->rejected++;
        t->by_why[r->why >= 0 && r->why < CLIPS_WHY_N ? r->why : 0]++;
        break;
    case QN_VIDEO_FAILED: t->failed++; break;
    default: t->skipped++; return;
    }
    t->clips += (int64_t)r->n_clips;
    t->words += r->n_words;
    t->dropped_spans += r->stats.dropped_zero + r->stats.dropped_inverted + r->stats.dropped_beyond;
    t->clamped += r->stats.clamped;
    t->warnings += (int64_t)r->n_warnings;
}

int clips_ctx_open(clips_ctx **out, const clips_opts *o, qn_error *err)
{
    *out = NULL;
    clips_ctx *c = calloc(1, sizeof *c);
    if (!c || !(c->track = cap_track_new())) {
        free(c);
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    }
    c->o = *o;
    cap_track_set_opts(c->track, &c->o.cap);
    int rc;
    if (o->metadata_csv && (rc = clips_meta_load(o->metadata_csv, &c->meta, err)) != QN_OK) {
        clips_ctx_close(c);
        return rc;
    }
    *out = c;
    return QN_OK;
}

int clips_ctx_open_store(clips_ctx *c, qn_error *err)
{
    if (c->o.dry_run) {
        /* read what is there (to report skips and duplicates), write nothing */
        if (qn_store_open(c->o.store_dir, QN_STORE_READ, &c->store, NULL) != QN_OK)
            c->store = NULL;
    } else {
        int rc = qn_store_open(c->o.store_dir, QN_STORE_WRITE | QN_STORE_CREATE, &c->store, err);
        if (rc != QN_OK)
            return rc;
    }
    c->have_vocab = c->store && qn_vocab_size(c->store) > 0;
    return QN_OK;
}

void clips_ctx_close(clips_ctx *c)
{
    if (!c)
        return;
    qn_store_close(c->store);
    clips_map_free(c->meta);
    clips_map_free(c->json);
    clips_map_free(c->dry_ids);
    cap_track_free(c->track);
    free(c->clips);
    free(c->tokens);
    free(c);
}

int64_t clips_track_words(const cap_track *t)
{
    if (t->words >= 0) /* counted while filtering stop words */
        return t->words;
    int64_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += (int64_t)cap_count_words(t->cues[i].text, strlen(t->cues[i].text));
    return n;
}

int clips_filter_meta(const clips_opts *o, const qn_store_video *v, clips_result *r)
{
    if (o->max_duration > 0 && v->duration > o->max_duration) {
        snprintf(r->reason, sizeof r->reason, "duration %.1f s > %g s", v->duration,
                 o->max_duration);
        return CLIPS_WHY_DURATION;
    }
    if (o->min_views >= 0 && v->views != QN_STORE_UNKNOWN && v->views < o->min_views) {
        snprintf(r->reason, sizeof r->reason, "views %" PRId64 " < %" PRId64, v->views,
                 o->min_views);
        return CLIPS_WHY_VIEWS;
    }
    if (o->max_rank >= 0 && v->rank != QN_STORE_UNKNOWN && v->rank > o->max_rank) {
        snprintf(r->reason, sizeof r->reason, "search rank %d > %" PRId64, (int)v->rank,
                 o->max_rank);
        return CLIPS_WHY_RANK;
    }
    return CLIPS_WHY_NONE;
}

int clips_dup_id(clips_ctx *c, const char *id, char *out, size_t size, qn_error *err)
{
    for (int k = 2;; k++) {
        snprintf(out, size, "%s#%d", id, k);
        if (!c->store)
            return QN_OK;
        qn_store_video v;
        int found, rc = qn_store_video_find(c->store, out, &v, &found, err);
        if (rc != QN_OK || !found)
            return rc;
    }
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    void *np = realloc(*p, nc * elem);
    if (!np)
        return -1;
    *p = np;
    *cap = nc;
    return 0;
}

/* Token ids of the filtered text (HowTo100M tokenises caption.json's stop-word-filtered
 * text): words found in the vocabulary, in order, at most max_words. */
static int tokens_of(clips_ctx *c, const char *text, int32_t *ids, int *n, qn_error *err)
{
    cap_token toks[256];
    size_t len = strlen(text);
    size_t nt = cap_tokenize(text, len, toks, 256);
    if (nt > 256)
        nt = 256;
    char word[512];
    *n = 0;
    for (size_t i = 0; i < nt && *n < c->o.max_words; i++) {
        if (toks[i].len >= sizeof word)
            continue;
        memcpy(word, text + toks[i].off, toks[i].len);
        word[toks[i].len] = '\0';
        int32_t id;
        int rc = qn_vocab_lookup(c->store, word, &id, err);
        if (rc != QN_OK)
            return rc;
        if (id >= 0)
            ids[(*n)++] = id;
    }
    return QN_OK;
}

/* Fills c->clips from the track. */
static int build_clips(clips_ctx *c, const cap_track *t, qn_error *err)
{
    if (grow((void **)&c->clips, &c->clips_cap, t->n, sizeof *c->clips) < 0)
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    int with_tokens = c->have_vocab && c->o.max_words > 0;
    if (with_tokens &&
        grow((void **)&c->tokens, &c->tokens_cap, t->n * (size_t)c->o.max_words, sizeof(int32_t)) < 0)
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->n; i++) {
        const cap_cue *q = &t->cues[i];
        qn_store_clip *k = &c->clips[i];
        memset(k, 0, sizeof *k);
        k->index = (int32_t)i;
        k->start = q->start;
        k->end = q->end;
        k->raw = q->raw;
        k->clean = q->text;
        k->filtered = q->filtered ? q->filtered : q->text;
        if (with_tokens) {
            int32_t *ids = c->tokens + i * (size_t)c->o.max_words;
            int n = 0, rc = tokens_of(c, k->filtered, ids, &n, err);
            if (rc != QN_OK)
                return rc;
            k->tokens = ids;
            k->n_tokens = n;
        }
    }
    return QN_OK;
}

static int write_row(clips_ctx *c, qn_store_video *v, int64_t existing, size_t n, qn_error *err)
{
    int rc;
    if (existing > 0) {
        v->id = existing;
        if ((rc = qn_store_video_clear(c->store, existing, err)) != QN_OK ||
            (rc = qn_store_video_update(c->store, v, err)) != QN_OK)
            return rc;
    } else if ((rc = qn_store_video_add(c->store, v, &v->id, err)) != QN_OK) {
        return rc;
    }
    if (n && (rc = qn_store_clips_add(c->store, v->id, c->clips, n, NULL, err)) != QN_OK)
        return rc;
    return QN_OK;
}

int clips_store_video(clips_ctx *c, qn_store_video *v, int64_t existing, const cap_track *t,
                      clips_result *r, qn_error *err)
{
    int rc;
    size_t n = 0;
    if (t && v->status != QN_VIDEO_REJECTED && v->status != QN_VIDEO_FAILED) {
        v->n_words = clips_track_words(t);
        r->n_words = v->n_words;
        if (c->o.min_words >= 0 && v->n_words < c->o.min_words) {
            snprintf(r->reason, sizeof r->reason, "%" PRId64 " caption words < %" PRId64,
                     v->n_words, c->o.min_words);
            r->why = CLIPS_WHY_WORDS;
            v->status = QN_VIDEO_REJECTED;
        } else {
            v->status = QN_VIDEO_OK;
            n = t->n;
        }
    }
    v->reason = v->status == QN_VIDEO_OK ? NULL : r->reason;
    r->status = v->status;
    if (v->status != QN_VIDEO_OK)
        r->n_words = 0; /* only stored captions count in the summary */
    if (n && c->store && !c->o.dry_run && (rc = build_clips(c, t, err)) != QN_OK)
        return rc;
    r->n_clips = n;
    if (!c->store || c->o.dry_run)
        return QN_OK;
    return write_row(c, v, existing, n, err);
}
