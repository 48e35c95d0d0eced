/* store_synth — synthetic quern stores for the Python reader's tests and bench/store.sh.
 *
 *   store_synth create DIR [options]   a store of N videos with per-step 2D/3D features,
 *                                      clips, texts and tokens, all from --seed
 *   store_synth dump DIR OUT           writes what the C reader (store.h) sees, for the
 *                                      Python reader to compare value by value
 *
 * Everything is a pure function of the options: the same seed gives the same bytes. Each
 * video draws from its own generator (seed, video number), so N does not change video k.
 *
 * Dump files (OUT/):
 *   videos.jsonl   one object per video (every qn_store_video field; null when unknown)
 *   clips.jsonl    one object per clip (iteration order: video, index)
 *   fsets.jsonl    one object per feature set (qn_fset_info, n_rows committed)
 *   vocab.txt      the vocabulary, one word per line, line i = id i
 *   NAME.rows      every committed row of set NAME, raw bytes as mapped (row 0 first)
 *   NAME.map.jsonl per_step: {"video_id","first","n"} from qn_fset_video_rows' pointer;
 *                  per_clip: {"clip_id","row"} from qn_fset_clip_row's pointer
 *   windows.bin    pooled windows: records {int64 video_id, f64 start, f64 end}
 *   NAME.pool      per_step sets: qn_store_pool of each window, dim float32 each
 *                  (NaN-filled when the video has no rows in the set)
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qn_error.h"
#include "store/store.h"

typedef struct opts {
    int64_t videos;
    uint64_t seed;
    int32_t dim2d, dim3d;
    int dtype;             /* QN_F16 / QN_F32 */
    double min_dur, max_dur;
    int signed_values;     /* values in [-1,1) instead of [0,1) */
    int64_t batch;         /* videos per commit */
    int32_t vocab;         /* vocabulary size */
    int64_t rejected_every;/* every K-th video is rejected (0: none) */
    int per_clip;          /* also a per-clip set of pooled 2D‖3D rows */
} opts;

/* ---- deterministic generator (splitmix64) -------------------------------------------- */

typedef struct rng { uint64_t s; } rng;

static uint64_t next64(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double unif(rng *r) { return (double)(next64(r) >> 11) * (1.0 / 9007199254740992.0); }

static rng video_rng(uint64_t seed, int64_t k, uint64_t stream)
{
    rng r = { seed * 0x100000001B3ull ^ ((uint64_t)k << 8) ^ stream };
    next64(&r);
    return r;
}

/* ---- create ---------------------------------------------------------------------------- */

static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void make_ext_id(rng *r, int64_t k, char out[16])
{
    /* 11 YouTube-alphabet characters; the last two encode k so ids never collide */
    for (int i = 0; i < 9; i++)
        out[i] = ALNUM[next64(r) & 63];
    out[9] = ALNUM[(k >> 6) & 63];
    out[10] = ALNUM[k & 63];
    out[11] = 0;
    if (k >= 4096)
        snprintf(out + 9, 7, "%06" PRId64, k % 1000000);
}

/* `need` feature values (f32) into *buf (grown as needed). */
static int fill_rows(rng *r, size_t need, int signed_values, float **buf, size_t *cap)
{
    if (need > *cap) {
        float *p = realloc(*buf, need * sizeof *p);
        if (!p)
            return -1;
        *buf = p;
        *cap = need;
    }
    float *b = *buf;
    for (size_t i = 0; i + 1 < need; i += 2) {
        uint64_t x = next64(r);
        float u0 = (float)(x >> 40) * (1.0f / 16777216.0f);
        float u1 = (float)((x >> 8) & 0xFFFFFF) * (1.0f / 16777216.0f);
        b[i] = signed_values ? 2.0f * u0 - 1.0f : u0;
        b[i + 1] = signed_values ? 2.0f * u1 - 1.0f : u1;
    }
    if (need & 1)
        b[need - 1] = (float)unif(r);
    return 0;
}

typedef struct clip_buf {
    qn_store_clip *clips;
    char **texts;          /* 3 per clip */
    int32_t *tokens;       /* 8 per clip at most */
    size_t cap;
} clip_buf;

static void clip_buf_free(clip_buf *cb)
{
    for (size_t i = 0; i < 3 * cb->cap; i++)
        free(cb->texts[i]);
    free(cb->texts);
    free(cb->clips);
    free(cb->tokens);
}

static int clip_buf_grow(clip_buf *cb, size_t n)
{
    if (n <= cb->cap)
        return 0;
    size_t cap = n * 2;
    qn_store_clip *c = realloc(cb->clips, cap * sizeof *c);
    if (!c)
        return -1;
    cb->clips = c;
    char **t = realloc(cb->texts, 3 * cap * sizeof *t);
    if (!t)
        return -1;
    memset(t + 3 * cb->cap, 0, 3 * (cap - cb->cap) * sizeof *t);
    cb->texts = t;
    int32_t *k = realloc(cb->tokens, 8 * cap * sizeof *k);
    if (!k)
        return -1;
    cb->tokens = k;
    cb->cap = cap;
    return 0;
}

/* Clips of one video: HowTo100M-like lines of 2–6 s every 1.5–5 s (so some overlap), 1–8
 * words each: vocabulary words "wN" (with their token ids) and now and then an
 * out-of-vocabulary "xN" (in the text, not in the tokens, as HowTo100M's loader drops it). */
static int make_clips(rng *r, double duration, int32_t vocab, clip_buf *cb, size_t *n_out)
{
    size_t n = 0;
    double t = floor(unif(r) * 200.0) / 100.0;
    while (t < duration) {
        if (clip_buf_grow(cb, n + 1))
            return -1;
        qn_store_clip *c = &cb->clips[n];
        memset(c, 0, sizeof *c);
        c->index = (int32_t)n;
        c->start = t;
        c->end = fmin(floor((t + 2.0 + 4.0 * unif(r)) * 100.0) / 100.0, duration);
        int words = 1 + (int)(next64(r) % 8);
        /* every third clean text has no filler (filtered = clean), every fourth raw no tag
         * (clean = raw): the store keeps such texts once (clip.dup), readers resolve them */
        char filt[8 * 16] = "", raw[8 * 16 + 32] = "";
        if (n % 3)
            strcpy(raw, "um ");
        int32_t *tok = cb->tokens + 8 * n;
        int nt = 0;
        for (int w = 0; w < words; w++) {
            char word[16];
            uint64_t x = next64(r);
            if (x % 10 == 0) {
                snprintf(word, sizeof word, "x%u", (unsigned)(x >> 8) % 1000u);
            } else {
                int32_t id = (int32_t)((x >> 8) % (uint64_t)vocab);
                snprintf(word, sizeof word, "w%d", id);
                tok[nt++] = id;
            }
            if (w)
                strcat(filt, " ");
            strcat(filt, word);
        }
        strcat(raw, filt);
        free(cb->texts[3 * n]);
        free(cb->texts[3 * n + 1]);
        free(cb->texts[3 * n + 2]);
        cb->texts[3 * n] = malloc(strlen(raw) + 8);
        cb->texts[3 * n + 1] = strdup(raw);
        cb->texts[3 * n + 2] = strdup(filt);
        if (!cb->texts[3 * n] || !cb->texts[3 * n + 1] || !cb->texts[3 * n + 2])
            return -1;
        sprintf(cb->texts[3 * n], n % 4 ? "<c>%s</c>" : "%s", raw); /* raw keeps a tag */
        c->raw = cb->texts[3 * n];
        c->clean = cb->texts[3 * n + 1];
        c->filtered = cb->texts[3 * n + 2];
        c->n_tokens = nt;   /* c->tokens is set below: cb->tokens may still move */
        n++;
        t = floor((t + 1.5 + 3.5 * unif(r)) * 100.0) / 100.0;
    }
    for (size_t i = 0; i < n; i++)
        cb->clips[i].tokens = cb->clips[i].n_tokens ? cb->tokens + 8 * i : NULL;
    *n_out = n;
    return 0;
}

typedef struct sets {
    qn_fset *f2d, *f3d, *fclip;
} sets;

static int create_sets(qn_store *s, const opts *o, sets *fs, qn_error *err)
{
    qn_fset_info a = { 0 };
    a.name = "resnet152-2d";
    a.kind = QN_FSET_PER_STEP;
    a.model = "synthetic 2d (store_synth)";
    a.dim = o->dim2d;
    a.dtype = o->dtype;
    a.rate = 1.0;
    int rc = qn_fset_create(s, &a, &fs->f2d, err);
    if (rc)
        return rc;
    a.name = "resnext101-3d";
    a.model = "synthetic 3d (store_synth)";
    a.dim = o->dim3d;
    a.rate = 24.0 / 16.0;
    rc = qn_fset_create(s, &a, &fs->f3d, err);
    if (rc || !o->per_clip)
        return rc;
    a.name = "howto100m-clip";
    a.kind = QN_FSET_PER_CLIP;
    a.model = "max-pooled 2d||3d (store_synth)";
    a.dim = o->dim2d + o->dim3d;
    a.rate = 0;
    return qn_fset_create(s, &a, &fs->fclip, err);
}

static int add_vocab(qn_store *s, int32_t n, qn_error *err)
{
    char **words = calloc((size_t)n, sizeof *words);
    int rc = words ? QN_OK : qn_error_set(err, QN_ENOMEM, "store_synth: out of memory");
    for (int32_t i = 0; rc == QN_OK && i < n; i++) {
        words[i] = malloc(16);
        if (!words[i])
            rc = qn_error_set(err, QN_ENOMEM, "store_synth: out of memory");
        else
            snprintf(words[i], 16, "w%d", i);
    }
    if (rc == QN_OK)
        rc = qn_vocab_add(s, (const char *const *)words, (size_t)n, NULL, err);
    for (int32_t i = 0; words && i < n; i++)
        free(words[i]);
    free(words);
    return rc;
}

typedef struct work {
    float *rows;
    size_t cap;
    float *pooled;
    int64_t *clip_ids;
    size_t ids_cap;
    clip_buf cb;
    int64_t n_clips, n_rows;
} work;

/* Per-clip rows: qn_pool_rows of each clip over the 2D and 3D rows just generated. */
static int put_clip_rows(qn_store *s, const opts *o, const sets *fs, const float *r2,
                         int64_t n2, const float *r3, int64_t n3, size_t nc, work *w,
                         qn_error *err)
{
    int32_t dim = o->dim2d + o->dim3d;
    float *p = realloc(w->pooled, nc * (size_t)dim * sizeof *p);
    if (!p)
        return qn_error_set(err, QN_ENOMEM, "store_synth: out of memory");
    w->pooled = p;
    for (size_t i = 0; i < nc; i++) {
        const qn_store_clip *c = &w->cb.clips[i];
        int rc = qn_pool_rows(r2, QN_F32, o->dim2d, n2, 1.0, c->start, c->end,
                              p + i * (size_t)dim, err);
        if (!rc)
            rc = qn_pool_rows(r3, QN_F32, o->dim3d, n3, 1.5, c->start, c->end,
                              p + i * (size_t)dim + o->dim2d, err);
        if (rc)
            return rc;
    }
    return qn_fset_put_clips(s, fs->fclip, w->clip_ids, p, QN_F32, (int64_t)nc, err);
}

static int add_video(qn_store *s, const opts *o, const sets *fs, int64_t k, work *w,
                     qn_error *err)
{
    rng r = video_rng(o->seed, k, 1);
    char ext[16], path[64], sha[65], title[64];
    make_ext_id(&r, k, ext);
    qn_store_video v;
    qn_store_video_init(&v);
    v.ext_id = ext;
    snprintf(path, sizeof path, "/data/videos/%s.mp4", ext);
    v.path = path;
    v.size = 100000 + (int64_t)(next64(&r) % 50000000);
    v.mtime_ns = 1600000000000000000ll + (int64_t)(next64(&r) % 100000000000000000ull);
    for (int i = 0; i < 64; i++)
        sha[i] = "0123456789abcdef"[next64(&r) & 15];
    sha[64] = 0;
    v.sha256 = sha;
    v.duration = floor((o->min_dur + unif(&r) * (o->max_dur - o->min_dur)) * 1000.0) / 1000.0;
    v.fps = 30.0;
    v.width = 640;
    v.height = 360;
    v.codec = "h264";
    v.views = (int64_t)(next64(&r) % 1000000);
    v.rank = (int32_t)(next64(&r) % 200) + 1;
    v.task_id = (int64_t)(next64(&r) % 30000);
    v.category1 = "Food & Entertaining";
    v.category2 = (k & 1) ? "Recipes" : NULL;
    snprintf(title, sizeof title, "How to \"task\" %" PRId64, v.task_id);
    v.title = title;
    int rejected = o->rejected_every > 0 && (k + 1) % o->rejected_every == 0;
    v.status = rejected ? QN_VIDEO_REJECTED : QN_VIDEO_OK;
    v.reason = rejected ? "duration > 2000 s" : NULL;
    if (k % 5 == 0)
        v.meta_json = "{\"uploader\":\"synth\"}";
    size_t nc = 0;
    if (!rejected && make_clips(&r, v.duration, o->vocab, &w->cb, &nc))
        return qn_error_set(err, QN_ENOMEM, "store_synth: out of memory");
    v.n_words = 0;
    for (size_t i = 0; i < nc; i++)
        for (const char *p = w->cb.clips[i].filtered; *p; p++)
            v.n_words += (p == w->cb.clips[i].filtered || p[-1] == ' ') && *p != ' ';
    int64_t id;
    int rc = qn_store_video_add(s, &v, &id, err);
    if (rc || rejected)
        return rc;
    if (nc > w->ids_cap) {
        int64_t *p = realloc(w->clip_ids, nc * 2 * sizeof *p);
        if (!p)
            return qn_error_set(err, QN_ENOMEM, "store_synth: out of memory");
        w->clip_ids = p;
        w->ids_cap = nc * 2;
    }
    rc = qn_store_clips_add(s, id, w->cb.clips, nc, w->clip_ids, err);
    if (rc)
        return rc;
    w->n_clips += (int64_t)nc;
    /* rows: ceil(duration·rate), but every 7th video stops short (80 %), so some clips lie
     * past the last row */
    double keep = (k % 7 == 3) ? 0.8 : 1.0;
    int64_t n2 = (int64_t)ceil(v.duration * 1.0 * keep), n3 = (int64_t)ceil(v.duration * 1.5 * keep);
    rng fr = video_rng(o->seed, k, 2);
    size_t off3 = (size_t)n2 * (size_t)o->dim2d;
    size_t total = off3 + (size_t)n3 * (size_t)o->dim3d;
    if (fill_rows(&fr, total, o->signed_values, &w->rows, &w->cap))
        return qn_error_set(err, QN_ENOMEM, "store_synth: out of memory");
    rc = qn_fset_put_video(s, fs->f2d, id, w->rows, QN_F32, n2, err);
    if (!rc)
        rc = qn_fset_put_video(s, fs->f3d, id, w->rows + off3, QN_F32, n3, err);
    if (!rc && o->per_clip)
        rc = put_clip_rows(s, o, fs, w->rows, n2, w->rows + off3, n3, nc, w, err);
    w->n_rows += n2 + n3;
    return rc;
}

static int do_create(const char *dir, const opts *o, qn_error *err)
{
    struct stat sb;
    if (stat(dir, &sb) == 0)   /* a fresh store only: the same seed must give the same bytes */
        return qn_error_set(err, QN_EUSAGE, "%s: already exists", dir);
    qn_store *s = NULL;
    int rc = qn_store_open(dir, QN_STORE_WRITE | QN_STORE_CREATE, &s, err);
    if (rc)
        return rc;
    sets fs = { 0 };
    work w = { 0 };
    rc = add_vocab(s, o->vocab, err);
    if (!rc)
        rc = create_sets(s, o, &fs, err);
    for (int64_t k = 0; rc == QN_OK && k < o->videos; k += o->batch) {
        rc = qn_store_begin(s, err);
        for (int64_t j = k; rc == QN_OK && j < k + o->batch && j < o->videos; j++)
            rc = add_video(s, o, &fs, j, &w, err);
        if (rc == QN_OK)
            rc = qn_store_commit(s, err);
        else
            qn_store_rollback(s, NULL);
    }
    if (rc == QN_OK)
        printf("store_synth: %s: %" PRId64 " videos, %" PRId64 " clips, %" PRId64
               " feature rows\n", dir, o->videos, w.n_clips, w.n_rows);
    clip_buf_free(&w.cb);
    free(w.rows);
    free(w.pooled);
    free(w.clip_ids);
    qn_store_close(s);
    return rc;
}

/* ---- dump ------------------------------------------------------------------------------ */

static void json_str(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void json_int(FILE *f, int64_t v)
{
    if (v == QN_STORE_UNKNOWN)
        fputs("null", f);
    else
        fprintf(f, "%" PRId64, v);
}

static void json_real(FILE *f, double v)
{
    if (v == QN_STORE_UNKNOWN)
        fputs("null", f);
    else
        fprintf(f, "%.17g", v);
}

static void dump_video(FILE *f, const qn_store_video *v)
{
    fprintf(f, "{\"id\":%" PRId64 ",\"ext_id\":", v->id);
    json_str(f, v->ext_id);
    fputs(",\"path\":", f);
    json_str(f, v->path);
    fputs(",\"size\":", f);
    json_int(f, v->size);
    fputs(",\"mtime_ns\":", f);
    json_int(f, v->mtime_ns);
    fputs(",\"sha256\":", f);
    json_str(f, v->sha256);
    fputs(",\"duration\":", f);
    json_real(f, v->duration);
    fputs(",\"fps\":", f);
    json_real(f, v->fps);
    fputs(",\"width\":", f);
    json_int(f, v->width);
    fputs(",\"height\":", f);
    json_int(f, v->height);
    fputs(",\"codec\":", f);
    json_str(f, v->codec);
    fprintf(f, ",\"status\":%d,\"reason\":", v->status);
    json_str(f, v->reason);
    fputs(",\"views\":", f);
    json_int(f, v->views);
    fputs(",\"rank\":", f);
    json_int(f, v->rank);
    fputs(",\"task_id\":", f);
    json_int(f, v->task_id);
    fputs(",\"category1\":", f);
    json_str(f, v->category1);
    fputs(",\"category2\":", f);
    json_str(f, v->category2);
    fputs(",\"title\":", f);
    json_str(f, v->title);
    fputs(",\"n_words\":", f);
    json_int(f, v->n_words);
    fputs(",\"meta_json\":", f);
    json_str(f, v->meta_json);
    fputs("}\n", f);
}

static void dump_clip(FILE *f, const qn_store_clip *c)
{
    fprintf(f, "{\"id\":%" PRId64 ",\"video_id\":%" PRId64 ",\"index\":%d,\"start\":%.17g,"
               "\"end\":%.17g,\"raw\":", c->id, c->video_id, c->index, c->start, c->end);
    json_str(f, c->raw);
    fputs(",\"clean\":", f);
    json_str(f, c->clean);
    fputs(",\"filtered\":", f);
    json_str(f, c->filtered);
    fputs(",\"tokens\":", f);
    if (!c->tokens) {
        fputs("null", f);
    } else {
        fputc('[', f);
        for (int32_t i = 0; i < c->n_tokens; i++)
            fprintf(f, "%s%d", i ? "," : "", c->tokens[i]);
        fputc(']', f);
    }
    fputs("}\n", f);
}

static FILE *out_open(const char *dir, const char *name, const char *suffix, qn_error *err)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s%s", dir, name, suffix);
    FILE *f = fopen(p, "wb");
    if (!f)
        qn_error_errno(err, QN_EENV, errno, "%s", p);
    return f;
}

/* videos.jsonl + clips.jsonl; also collects the ids of every video for the row dumps. */
static int dump_meta(qn_store *s, const char *out, int64_t **ids, size_t *n_ids,
                     qn_error *err)
{
    FILE *fv = out_open(out, "videos", ".jsonl", err);
    FILE *fc = fv ? out_open(out, "clips", ".jsonl", err) : NULL;
    qn_video_iter *vi = NULL;
    qn_clip_iter *ci = NULL;
    int rc = fc ? qn_store_video_iter(s, NULL, &vi, err) : err->status;
    size_t cap = 0;
    qn_store_video v;
    while (rc == QN_OK && (rc = qn_store_video_next(vi, &v, err)) == 1) {
        rc = QN_OK;
        dump_video(fv, &v);
        if (*n_ids == cap) {
            cap = cap ? 2 * cap : 256;
            int64_t *p = realloc(*ids, cap * sizeof *p);
            if (!p) {
                rc = qn_error_set(err, QN_ENOMEM, "store_synth: out of memory");
                break;
            }
            *ids = p;
        }
        (*ids)[(*n_ids)++] = v.id;
    }
    if (rc == 0)
        rc = qn_store_clip_iter(s, 0, &ci, err);
    qn_store_clip c;
    while (rc == QN_OK && (rc = qn_store_clip_next(ci, &c, err)) == 1) {
        rc = QN_OK;
        dump_clip(fc, &c);
    }
    qn_store_video_iter_free(vi);
    qn_store_clip_iter_free(ci);
    if (fv)
        fclose(fv);
    if (fc)
        fclose(fc);
    return rc;
}

static int dump_vocab(qn_store *s, const char *out, qn_error *err)
{
    FILE *f = out_open(out, "vocab", ".txt", err);
    if (!f)
        return err->status;
    int64_t n = qn_vocab_size(s);
    for (int64_t i = 0; i < n; i++)
        fprintf(f, "%s\n", qn_vocab_word(s, (int32_t)i));
    fclose(f);
    return QN_OK;
}

static int dump_set_rows(qn_store *s, qn_fset *fs, const qn_fset_info *in, const char *out,
                         const uint8_t **base, qn_error *err)
{
    FILE *f = out_open(out, in->name, ".rows", err);
    if (!f)
        return err->status;
    int rc = QN_OK;
    *base = NULL;
    if (in->n_rows > 0) {
        const void *p;
        rc = qn_fset_rows(s, fs, 0, in->n_rows, &p, err);
        if (!rc) {
            *base = p;
            fwrite(p, qn_dtype_size(in->dtype) * (size_t)in->dim, (size_t)in->n_rows, f);
        }
    }
    fclose(f);
    return rc;
}

/* NAME.map.jsonl: where each video's (or clip's) rows are, as the C reader's pointers say. */
static int dump_set_map(qn_store *s, qn_fset *fs, const qn_fset_info *in, const char *out,
                        const uint8_t *base, const int64_t *ids, size_t n_ids, qn_error *err)
{
    FILE *f = out_open(out, in->name, ".map.jsonl", err);
    if (!f)
        return err->status;
    size_t rb = qn_dtype_size(in->dtype) * (size_t)in->dim;
    int rc = QN_OK;
    if (in->kind == QN_FSET_PER_STEP) {
        for (size_t i = 0; rc == QN_OK && i < n_ids; i++) {
            const void *p;
            int64_t n;
            rc = qn_fset_video_rows(s, fs, ids[i], &p, &n, err);
            if (rc == QN_OK && p)
                fprintf(f, "{\"video_id\":%" PRId64 ",\"first\":%td,\"n\":%" PRId64 "}\n",
                        ids[i], ((const uint8_t *)p - base) / (ptrdiff_t)rb, n);
        }
    } else if (in->kind == QN_FSET_PER_CLIP) {
        qn_clip_iter *ci = NULL;
        qn_store_clip c;
        rc = qn_store_clip_iter(s, 0, &ci, err);
        while (rc == QN_OK && (rc = qn_store_clip_next(ci, &c, err)) == 1) {
            const void *p;
            rc = qn_fset_clip_row(s, fs, c.id, &p, err);
            if (rc == QN_OK && p)
                fprintf(f, "{\"clip_id\":%" PRId64 ",\"row\":%td}\n", c.id,
                        ((const uint8_t *)p - base) / (ptrdiff_t)rb);
        }
        qn_store_clip_iter_free(ci);
    }
    fclose(f);
    return rc;
}

/* windows.bin: every clip's window plus four edge windows per video. */
static int write_windows(qn_store *s, const char *out, const int64_t *ids, size_t n_ids,
                         qn_error *err)
{
    FILE *f = out_open(out, "windows", ".bin", err);
    if (!f)
        return err->status;
    int rc = QN_OK;
    for (size_t i = 0; rc == QN_OK && i < n_ids; i++) {
        qn_store_video v;
        int found = 0;
        rc = qn_store_video_get(s, ids[i], &v, &found, err);
        double d = v.duration;
        qn_clip_iter *ci = NULL;
        qn_store_clip c;
        if (rc == QN_OK)
            rc = qn_store_clip_iter(s, ids[i], &ci, err);
        while (rc == QN_OK && (rc = qn_store_clip_next(ci, &c, err)) == 1) {
            rc = QN_OK;
            double rec[2] = { c.start, c.end };
            fwrite(&ids[i], 8, 1, f);
            fwrite(rec, 8, 2, f);
        }
        qn_store_clip_iter_free(ci);
        double extra[4][2] = { { d + 10, d + 11 }, { 0, 0 }, { d / 2, d / 2 }, { 0, d + 100 } };
        for (int j = 0; rc == QN_OK && j < 4 && d > 0; j++) {
            fwrite(&ids[i], 8, 1, f);
            fwrite(extra[j], 8, 2, f);
        }
    }
    fclose(f);
    return rc;
}

static int dump_pools(qn_store *s, qn_fset *fs, const qn_fset_info *in, const char *out,
                      qn_error *err)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/windows.bin", out);
    FILE *fw = fopen(p, "rb");
    if (!fw)
        return qn_error_errno(err, QN_EENV, errno, "%s", p);
    FILE *f = out_open(out, in->name, ".pool", err);
    float *o = malloc((size_t)in->dim * sizeof *o);
    int rc = (f && o) ? QN_OK : qn_error_set(err, QN_ENOMEM, "store_synth: out of memory");
    int64_t vid;
    double rec[2];
    while (rc == QN_OK && fread(&vid, 8, 1, fw) == 1 && fread(rec, 8, 2, fw) == 2) {
        const void *rows;
        int64_t n;
        rc = qn_fset_video_rows(s, fs, vid, &rows, &n, err);
        if (rc == QN_OK && n > 0)
            rc = qn_store_pool(s, fs, vid, rec[0], rec[1], o, err);
        else
            for (int32_t j = 0; j < in->dim; j++)
                o[j] = NAN;
        fwrite(o, sizeof *o, (size_t)in->dim, f);
    }
    free(o);
    if (f)
        fclose(f);
    fclose(fw);
    return rc;
}

static int dump_sets(qn_store *s, const char *out, const int64_t *ids, size_t n_ids,
                     qn_error *err)
{
    FILE *f = out_open(out, "fsets", ".jsonl", err);
    if (!f)
        return err->status;
    int rc = write_windows(s, out, ids, n_ids, err);
    for (int i = 0; rc == QN_OK && i < qn_fset_count(s); i++) {
        qn_fset *fs = qn_fset_at(s, i);
        qn_fset_info in;
        const uint8_t *base = NULL;
        rc = qn_fset_get_info(s, fs, &in, err);
        if (rc)
            break;
        fprintf(f, "{\"id\":%" PRId64 ",\"name\":", in.id);
        json_str(f, in.name);
        fprintf(f, ",\"kind\":%d,\"model\":", in.kind);
        json_str(f, in.model);
        fputs(",\"weights_sha256\":", f);
        json_str(f, in.weights_sha256);
        fprintf(f, ",\"dim\":%d,\"dtype\":%d,\"rate\":%.17g,\"n_rows\":%" PRId64 "}\n", in.dim,
                in.dtype, in.rate, in.n_rows);
        rc = dump_set_rows(s, fs, &in, out, &base, err);
        if (!rc)
            rc = dump_set_map(s, fs, &in, out, base, ids, n_ids, err);
        if (!rc && in.kind == QN_FSET_PER_STEP)
            rc = dump_pools(s, fs, &in, out, err);
    }
    fclose(f);
    return rc;
}

static int do_dump(const char *dir, const char *out, qn_error *err)
{
    if (mkdir(out, 0777) && errno != EEXIST)
        return qn_error_errno(err, QN_EENV, errno, "%s", out);
    qn_store *s = NULL;
    int rc = qn_store_open(dir, QN_STORE_READ, &s, err);
    int64_t *ids = NULL;
    size_t n_ids = 0;
    if (!rc)
        rc = dump_meta(s, out, &ids, &n_ids, err);
    if (!rc)
        rc = dump_vocab(s, out, err);
    if (!rc)
        rc = dump_sets(s, out, ids, n_ids, err);
    free(ids);
    qn_store_close(s);
    return rc;
}

/* ---- command line ------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: store_synth create DIR [--videos N] [--seed S] [--dim2d D] [--dim3d D]\n"
          "                   [--dtype f16|f32] [--min-dur SEC] [--max-dur SEC] [--signed]\n"
          "                   [--batch N] [--vocab N] [--rejected-every K] [--per-clip]\n"
          "       store_synth dump DIR OUTDIR\n"
          "Creates a synthetic quern store (defaults: 20 videos, seed 1, 2048+2048 f16 dims,\n"
          "30-120 s, values in [0,1), 64 videos per commit, 5000 words, none rejected), or\n"
          "dumps what the C reader sees for the Python reader's tests.\n"
          "example: store_synth create /tmp/s --videos 2000 --seed 7\n", f);
}

static int parse_opts(int argc, char **argv, opts *o)
{
    *o = (opts){ .videos = 20, .seed = 1, .dim2d = 2048, .dim3d = 2048, .dtype = QN_F16,
                 .min_dur = 30, .max_dur = 120, .batch = 64, .vocab = 5000 };
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--signed")) {
            o->signed_values = 1;
            continue;
        }
        if (!strcmp(a, "--per-clip")) {
            o->per_clip = 1;
            continue;
        }
        if (!v)
            return -1;
        i++;
        if (!strcmp(a, "--videos"))
            o->videos = strtoll(v, NULL, 10);
        else if (!strcmp(a, "--seed"))
            o->seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--dim2d"))
            o->dim2d = (int32_t)strtol(v, NULL, 10);
        else if (!strcmp(a, "--dim3d"))
            o->dim3d = (int32_t)strtol(v, NULL, 10);
        else if (!strcmp(a, "--dtype") && (!strcmp(v, "f16") || !strcmp(v, "f32")))
            o->dtype = !strcmp(v, "f16") ? QN_F16 : QN_F32;
        else if (!strcmp(a, "--min-dur"))
            o->min_dur = strtod(v, NULL);
        else if (!strcmp(a, "--max-dur"))
            o->max_dur = strtod(v, NULL);
        else if (!strcmp(a, "--batch"))
            o->batch = strtoll(v, NULL, 10);
        else if (!strcmp(a, "--vocab"))
            o->vocab = (int32_t)strtol(v, NULL, 10);
        else if (!strcmp(a, "--rejected-every"))
            o->rejected_every = strtoll(v, NULL, 10);
        else
            return -1;
    }
    if (o->videos < 0 || o->dim2d < 1 || o->dim3d < 1 || o->batch < 1 || o->vocab < 1 ||
        o->min_dur < 3 || o->max_dur < o->min_dur)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "--help")) {
        usage(stdout);
        return 0;
    }
    qn_error err;
    qn_error_clear(&err);
    int rc;
    if (argc >= 3 && !strcmp(argv[1], "create")) {
        opts o;
        if (parse_opts(argc, argv, &o)) {
            usage(stderr);
            return 2;
        }
        rc = do_create(argv[2], &o, &err);
    } else if (argc == 4 && !strcmp(argv[1], "dump")) {
        rc = do_dump(argv[2], argv[3], &err);
    } else {
        usage(stderr);
        return 2;
    }
    if (rc) {
        fprintf(stderr, "store_synth: %s\n", err.msg);
        return qn_exit_code(rc);
    }
    return 0;
}
