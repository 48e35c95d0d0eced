/* quern-features — CNN features of every video in a store, HowTo100M-compatible.
 *
 * For each video with status ok and no features yet: one decode pass
 * (extract/frames.h) gives 1 fps 224-short-side frames and 24 fps 112x112
 * 16-frame chunks; the engine (kernels/engine.h) turns them into L2-normalised
 * ResNet-152 and ResNeXt-101 3D rows; the rows are rounded to float16 (what the
 * extractor saves and the loader reads back) and max-pooled per clip like
 * HowTo100M's _get_video (store.h qn_pool_rows). The video's per-step rows,
 * its per-clip 4096-d rows and its status are committed in one store batch, so
 * a kill never leaves half a video. A video that cannot be decoded is marked
 * failed with the decoder's reason and skipped (exit 1).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract/frames.h"
#include "kernels/engine.h"
#include "qn_error.h"
#include "qn_progress.h"
#include "qn_version.h"
#include "store/store.h"

static const char *prog = "quern-features";

static const char usage_text[] =
    "Usage: quern-features --store DIR --weights-2d RESNET152.safetensors\n"
    "                      --weights-3d RESNEXT101.safetensors [options] [VIDEO_ID...]\n"
    "\n"
    "Computes HowTo100M's video features for the videos of a store (status ok, no\n"
    "features yet; or only the VIDEO_IDs given) and writes, per video, in one commit:\n"
    "  resnet152-2d     2048-d float16 rows, 1 per second (1 fps frames, short side 224)\n"
    "  resnext101-3d    2048-d float16 rows, 1.5 per second (16-frame 112x112 chunks at 24 fps)\n"
    "  howto100m-4096   one row per clip: max over the clip's rows per modality,\n"
    "                   L2-normalised, 2D then 3D (HowTo100M's _get_video)\n"
    "Each video is decoded once for both networks. Weights are safetensors files with\n"
    "the original PyTorch names (kernels/tools/export_weights.py converts a .pth).\n"
    "\n"
    "Options:\n"
    "  --store DIR           the store (quern-store init, quern-clips fill it)\n"
    "  --weights-2d FILE     torchvision resnet152 weights (IMAGENET1K_V1)\n"
    "  --weights-3d FILE     Hara et al. ResNeXt-101 3D weights (Kinetics, resnext101.pth)\n"
    "  --backend B           auto (GPU if usable, else CPU; default), cpu, ref, cuda\n"
    "  --decode D            cpu (default), auto (NVDEC if a GPU is there), cuda\n"
    "  -j, --threads N       decoder and CPU engine threads (default: all cores)\n"
    "  --batch N             frames (2D) and chunks (3D) per network call (default 8)\n"
    "  -q, --quiet           no progress bar, no summary line\n"
    "  -h, --help            this help\n"
    "  --version             print the version\n"
    "\n"
    "Exit: 0 done, 1 done but some videos failed to decode (marked failed in the store),\n"
    "2 bad usage, weights or input, 3 environment (store locked, disk full, no GPU for\n"
    "--backend cuda).\n"
    "\n"
    "Example:\n"
    "  quern-features --store data/store --weights-2d resnet152.safetensors \\\n"
    "      --weights-3d resnext101.safetensors -j 8 --batch 32\n";

typedef struct opts {
    const char *store, *w2d, *w3d;
    kn_backend backend;
    int decode;      /* enum fr_hw */
    int threads, batch, quiet;
    char **ids;
    int n_ids;
} opts;

/* One video's accumulated frames and rows. */
typedef struct acc {
    kn_model *m2d, *m3d;
    int batch;
    uint8_t *b2, *b3;        /* pending frames / chunks */
    int nb2, nb3, w2, h2;
    float *rows2d, *rows3d;  /* n × 2048, L2-normalised */
    int64_t n2d, n3d, cap2d, cap3d;
    qn_error *err;
} acc;

typedef struct totals {
    int64_t videos, failed, skipped, frames2d, chunks3d, clips;
    double seconds_video;
} totals;

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '%s --help'.\n", prog);
    return QN_EXIT_INPUT;
}

static int parse_int(const char *s, int lo, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > 1 << 20)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_args(int argc, char **argv, opts *o)
{
    enum { O_STORE = 256, O_W2D, O_W3D, O_BACKEND, O_DECODE, O_BATCH, O_VERSION };
    static const struct option longs[] = {
        {"store", required_argument, 0, O_STORE},     {"weights-2d", required_argument, 0, O_W2D},
        {"weights-3d", required_argument, 0, O_W3D},  {"backend", required_argument, 0, O_BACKEND},
        {"decode", required_argument, 0, O_DECODE},   {"threads", required_argument, 0, 'j'},
        {"batch", required_argument, 0, O_BATCH},     {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},                {"version", no_argument, 0, O_VERSION},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->batch = 8;
    o->decode = FR_HW_NONE;
    int c;
    qn_error err;
    while ((c = getopt_long(argc, argv, "j:qh", longs, NULL)) != -1) {
        switch (c) {
        case O_STORE: o->store = optarg; break;
        case O_W2D: o->w2d = optarg; break;
        case O_W3D: o->w3d = optarg; break;
        case O_BACKEND:
            qn_error_clear(&err);
            if (kn_backend_from_name(optarg, &o->backend, &err) < 0)
                return usage_error("%s", err.msg);
            break;
        case O_DECODE:
            if (!strcmp(optarg, "cpu")) o->decode = FR_HW_NONE;
            else if (!strcmp(optarg, "auto")) o->decode = FR_HW_AUTO;
            else if (!strcmp(optarg, "cuda")) o->decode = FR_HW_CUDA;
            else return usage_error("--decode: '%s' is not cpu, auto or cuda", optarg);
            break;
        case 'j':
            if (parse_int(optarg, 0, &o->threads) < 0)
                return usage_error("-j: '%s' is not a thread count", optarg);
            break;
        case O_BATCH:
            if (parse_int(optarg, 1, &o->batch) < 0 || o->batch > 4096)
                return usage_error("--batch: '%s' is not a batch size (1..4096)", optarg);
            break;
        case 'q': o->quiet = 1; break;
        case 'h': fputs(usage_text, stdout); return -1;
        case O_VERSION: printf("%s %s\n", prog, QUERN_VERSION); return -1;
        default: fprintf(stderr, "Try '%s --help'.\n", prog); return QN_EXIT_INPUT;
        }
    }
    if (!o->store)
        return usage_error("%s", "--store DIR is required");
    if (!o->w2d || !o->w3d)
        return usage_error("%s", "--weights-2d and --weights-3d are required");
    o->ids = argv + optind;
    o->n_ids = argc - optind;
    return 0;
}

/* ---- the per-video accumulator (frames sink) ---- */

static int grow(float **rows, int64_t *cap, int64_t need)
{
    if (need <= *cap)
        return QN_OK;
    int64_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    float *p = realloc(*rows, (size_t)n * 2048 * sizeof *p);
    if (!p)
        return QN_ENOMEM;
    *rows = p;
    *cap = n;
    return QN_OK;
}

static int flush2d(acc *a)
{
    if (!a->nb2)
        return QN_OK;
    if (grow(&a->rows2d, &a->cap2d, a->n2d + a->nb2) < 0)
        return qn_error_set(a->err, QN_ENOMEM, "out of memory for 2D rows");
    int rc = kn_run_2d(a->m2d, a->b2, a->nb2, a->h2, a->w2, a->rows2d + a->n2d * 2048,
                       KN_L2NORM, a->err);
    a->n2d += a->nb2;
    a->nb2 = 0;
    return rc;
}

static int flush3d(acc *a)
{
    if (!a->nb3)
        return QN_OK;
    if (grow(&a->rows3d, &a->cap3d, a->n3d + a->nb3) < 0)
        return qn_error_set(a->err, QN_ENOMEM, "out of memory for 3D rows");
    int rc = kn_run_3d(a->m3d, a->b3, a->nb3, a->rows3d + a->n3d * 2048, KN_L2NORM, a->err);
    a->n3d += a->nb3;
    a->nb3 = 0;
    return rc;
}

static int on_2d(void *user, int64_t index, const uint8_t *rgb, int w, int h)
{
    acc *a = user;
    (void)index;
    size_t bytes = (size_t)w * h * 3;
    if (!a->b2) {
        a->w2 = w;
        a->h2 = h;
        if (!(a->b2 = malloc(bytes * a->batch)))
            return qn_error_set(a->err, QN_ENOMEM, "out of memory for a 2D batch");
    }
    memcpy(a->b2 + bytes * a->nb2++, rgb, bytes);
    return a->nb2 == a->batch ? flush2d(a) : QN_OK;
}

static int on_3d(void *user, int64_t index, const uint8_t *rgb, int n_real, int side)
{
    acc *a = user;
    (void)index;
    (void)n_real;
    size_t bytes = (size_t)KN_3D_FRAMES * side * side * 3;
    if (!a->b3 && !(a->b3 = malloc(bytes * a->batch)))
        return qn_error_set(a->err, QN_ENOMEM, "out of memory for a 3D batch");
    memcpy(a->b3 + bytes * a->nb3++, rgb, bytes);
    return a->nb3 == a->batch ? flush3d(a) : QN_OK;
}

static void acc_free(acc *a)
{
    free(a->b2);
    free(a->b3);
    free(a->rows2d);
    free(a->rows3d);
}

/* ---- pooling and writing ---- */

typedef struct feature_sets {
    qn_fset *s2d, *s3d, *pooled;
} feature_sets;

/* One modality of one clip: max over its rows, L2; zeros when the video has none. */
static int pool_one(const uint16_t *rows, int64_t n, double rate, double start, double end,
                    float *out, qn_error *err)
{
    if (n == 0) {
        memset(out, 0, 2048 * sizeof *out);
        return QN_OK;
    }
    if (end < start)
        end = start;
    return qn_pool_rows(rows, QN_F16, 2048, n, rate, start, end, out, err);
}

typedef struct clips {
    int64_t *ids;
    double *start, *end;
    size_t n, cap;
} clips;

static int load_clips(qn_store *st, int64_t video_id, clips *c, qn_error *err)
{
    qn_clip_iter *it;
    int rc = qn_store_clip_iter(st, video_id, &it, err);
    if (rc < 0)
        return rc;
    qn_store_clip clip;
    c->n = 0;
    while ((rc = qn_store_clip_next(it, &clip, err)) == 1) {
        if (c->n == c->cap) {
            size_t n = c->cap ? c->cap * 2 : 256;
            int64_t *ids = realloc(c->ids, n * sizeof *ids);
            if (ids)
                c->ids = ids;
            double *s = realloc(c->start, n * sizeof *s);
            if (s)
                c->start = s;
            double *e = realloc(c->end, n * sizeof *e);
            if (e)
                c->end = e;
            if (!ids || !s || !e) {
                rc = qn_error_set(err, QN_ENOMEM, "out of memory for clips");
                break;
            }
            c->cap = n;
        }
        c->ids[c->n] = clip.id;
        c->start[c->n] = clip.start;
        c->end[c->n] = clip.end;
        c->n++;
    }
    qn_store_clip_iter_free(it);
    return rc < 0 ? rc : QN_OK;
}

/* Rounds the rows to f16, pools every clip, writes everything and the status in one batch. */
static int write_video(qn_store *st, const feature_sets *fs, int64_t video_id, const acc *a,
                       totals *t, qn_error *err)
{
    clips c = {0};
    uint16_t *h2 = malloc((size_t)(a->n2d ? a->n2d : 1) * 2048 * sizeof *h2);
    uint16_t *h3 = malloc((size_t)(a->n3d ? a->n3d : 1) * 2048 * sizeof *h3);
    float *pooled = NULL;
    int rc = h2 && h3 ? load_clips(st, video_id, &c, err)
                      : qn_error_set(err, QN_ENOMEM, "out of memory");
    if (rc == QN_OK && !(pooled = malloc((c.n ? c.n : 1) * 4096 * sizeof *pooled)))
        rc = qn_error_set(err, QN_ENOMEM, "out of memory");
    if (rc == QN_OK) {
        kn_f32_to_f16(a->rows2d, h2, (size_t)a->n2d * 2048);
        kn_f32_to_f16(a->rows3d, h3, (size_t)a->n3d * 2048);
        for (size_t i = 0; i < c.n && rc == QN_OK; i++) {
            rc = pool_one(h2, a->n2d, 1.0, c.start[i], c.end[i], pooled + i * 4096, err);
            if (rc == QN_OK)
                rc = pool_one(h3, a->n3d, 1.5, c.start[i], c.end[i], pooled + i * 4096 + 2048,
                              err);
        }
    }
    if (rc == QN_OK && (rc = qn_store_begin(st, err)) == QN_OK) {
        rc = qn_fset_put_video(st, fs->s2d, video_id, h2, QN_F16, a->n2d, err);
        if (rc == QN_OK)
            rc = qn_fset_put_video(st, fs->s3d, video_id, h3, QN_F16, a->n3d, err);
        if (rc == QN_OK && c.n)
            rc = qn_fset_put_clips(st, fs->pooled, c.ids, pooled, QN_F32, (int64_t)c.n, err);
        if (rc == QN_OK)
            rc = qn_store_video_set_status(st, video_id, QN_VIDEO_OK, NULL, err);
        if (rc == QN_OK)
            rc = qn_store_commit(st, err);
        else
            qn_store_rollback(st, NULL);
    }
    if (rc == QN_OK)
        t->clips += (int64_t)c.n;
    free(c.ids);
    free(c.start);
    free(c.end);
    free(h2);
    free(h3);
    free(pooled);
    return rc;
}

/* ---- one video ---- */

static int mark_failed(qn_store *st, int64_t id, const char *why, qn_error *err)
{
    return qn_store_video_set_status(st, id, QN_VIDEO_FAILED, why, err);
}

/* QN_OK: done; 1: the video failed to decode (marked, go on); <0: stop. */
static int do_video(qn_store *st, const feature_sets *fs, const opts *o, kn_model *m2d,
                    kn_model *m3d, const qn_store_video *v, totals *t, qn_error *err)
{
    fr_opts fo;
    fr_opts_default(&fo);
    fo.threads = o->threads;
    fo.hw = o->decode;
    qn_error ferr;
    qn_error_clear(&ferr);
    fr_video *fv = NULL;
    acc a = {.m2d = m2d, .m3d = m3d, .batch = o->batch, .err = err};
    fr_sink sink = {&a, on_2d, on_3d};
    fr_stats fst;
    int rc = fr_open(&fv, v->path, &fo, &ferr);
    if (rc == QN_OK)
        rc = fr_run(fv, &sink, &fst, &ferr);
    if (rc == QN_OK && (rc = flush2d(&a)) == QN_OK)
        rc = flush3d(&a);
    if (err->status)              /* the engine failed (inside a callback or a flush) */
        rc = err->status;
    /* A video FFmpeg cannot read is bad input: record it and go on. */
    int failed_input = rc == QN_EINPUT && ferr.status == QN_EINPUT && !err->status;
    if (rc == QN_OK) {
        rc = write_video(st, fs, v->id, &a, t, err);
        if (rc == QN_OK) {
            t->frames2d += a.n2d;
            t->chunks3d += a.n3d;
            t->seconds_video += fr_get_info(fv)->duration;
        }
    } else if (failed_input) {
        fprintf(stderr, "%s: %s (video %s marked failed)\n", prog, ferr.msg, v->ext_id);
        rc = mark_failed(st, v->id, ferr.msg, err);
        if (rc == QN_OK)
            rc = 1;
    } else if (!err->status) {
        qn_error_set(err, ferr.status ? ferr.status : rc, "%s", ferr.msg);
    }
    fr_close(fv);
    acc_free(&a);
    return rc;
}

/* ---- setup ---- */

static int open_sets(qn_store *st, kn_model *m2d, kn_model *m3d, feature_sets *fs,
                     qn_error *err)
{
    qn_fset_info s2 = {.name = "resnet152-2d", .kind = QN_FSET_PER_STEP,
                       .model = "torchvision resnet152 (avgpool over HxW, L2)",
                       .weights_sha256 = kn_model_sha256(m2d), .dim = 2048, .dtype = QN_F16,
                       .rate = 1.0};
    qn_fset_info s3 = {.name = "resnext101-3d", .kind = QN_FSET_PER_STEP,
                       .model = "Hara et al. 2017 ResNeXt-101 3D 16x112x112 (L2)",
                       .weights_sha256 = kn_model_sha256(m3d), .dim = 2048, .dtype = QN_F16,
                       .rate = 1.5};
    qn_fset_info sp = {.name = "howto100m-4096", .kind = QN_FSET_PER_CLIP,
                       .model = "howto100m _get_video: max-pool+L2 per modality, 2D||3D",
                       .weights_sha256 = NULL, .dim = 4096, .dtype = QN_F16, .rate = 0};
    int rc = qn_fset_create(st, &s2, &fs->s2d, err);
    if (rc == QN_OK)
        rc = qn_fset_create(st, &s3, &fs->s3d, err);
    if (rc == QN_OK)
        rc = qn_fset_create(st, &sp, &fs->pooled, err);
    return rc;
}

typedef struct todo {
    qn_store_video *v;
    char **strs;   /* owned copies of ext_id and path */
    size_t n, cap;
} todo;

static int todo_add(todo *td, const qn_store_video *v)
{
    if (td->n == td->cap) {
        size_t n = td->cap ? td->cap * 2 : 64;
        qn_store_video *nv = realloc(td->v, n * sizeof *nv);
        if (!nv)
            return QN_ENOMEM;
        td->v = nv;
        char **ns = realloc(td->strs, 2 * n * sizeof *ns);
        if (!ns)
            return QN_ENOMEM;
        td->strs = ns;
        td->cap = n;
    }
    qn_store_video *d = &td->v[td->n];
    memset(d, 0, sizeof *d);
    d->id = v->id;
    d->duration = v->duration;
    char *e = strdup(v->ext_id ? v->ext_id : "?"), *p = strdup(v->path ? v->path : "");
    td->strs[2 * td->n] = e;
    td->strs[2 * td->n + 1] = p;
    td->n++;
    if (!e || !p)
        return QN_ENOMEM;
    d->ext_id = e;
    d->path = p;
    return QN_OK;
}

static void todo_free(todo *td)
{
    for (size_t i = 0; i < 2 * td->n; i++)
        free(td->strs[i]);
    free(td->strs);
    free(td->v);
}

static int has_rows(qn_store *st, qn_fset *fs, int64_t id, int *yes, qn_error *err)
{
    const void *rows;
    int64_t n;
    int rc = qn_fset_video_rows(st, fs, id, &rows, &n, err);
    *yes = rows != NULL || n > 0;
    return rc;
}

/* The videos to do: the given ids (each must exist; not-ok or done ones are
 * skipped with a note), or every ok video without 2D rows. */
static int find_videos(qn_store *st, const opts *o, const feature_sets *fs, todo *td,
                       totals *t, qn_error *err)
{
    qn_store_video v;
    int rc = QN_OK;
    if (o->n_ids) {
        for (int i = 0; i < o->n_ids && rc == QN_OK; i++) {
            int found, done;
            rc = qn_store_video_find(st, o->ids[i], &v, &found, err);
            if (rc < 0)
                break;
            if (!found)
                return qn_error_set(err, QN_EINPUT, "%s: video %s is not in the store", o->store,
                                    o->ids[i]);
            if (v.status != QN_VIDEO_OK) {
                if (!o->quiet)
                    fprintf(stderr, "%s: video %s has status %s; skipped\n", prog, o->ids[i],
                            v.status == QN_VIDEO_FAILED ? "failed"
                            : v.status == QN_VIDEO_REJECTED ? "rejected" : "pending");
                t->skipped++;
                continue;
            }
            if ((rc = has_rows(st, fs->s2d, v.id, &done, err)) < 0)
                break;
            if (done) {
                t->skipped++;
                continue;
            }
            if (todo_add(td, &v) < 0)
                rc = qn_error_set(err, QN_ENOMEM, "out of memory");
        }
        return rc;
    }
    qn_video_filter f = {.status = QN_VIDEO_OK, .without_rows = fs->s2d};
    qn_video_iter *it;
    if ((rc = qn_store_video_iter(st, &f, &it, err)) < 0)
        return rc;
    while ((rc = qn_store_video_next(it, &v, err)) == 1)
        if (todo_add(td, &v) < 0) {
            rc = qn_error_set(err, QN_ENOMEM, "out of memory");
            break;
        }
    qn_store_video_iter_free(it);
    return rc < 0 ? rc : QN_OK;
}

static int open_models(const opts *o, kn_model **m2d, kn_model **m3d, qn_error *err)
{
    kn_options ko = {.backend = o->backend, .threads = o->threads};
    int rc = kn_model_open(o->w2d, KN_RESNET152, &ko, m2d, err);
    if (rc == QN_OK)
        rc = kn_model_open(o->w3d, KN_RESNEXT101_3D, &ko, m3d, err);
    if (rc == QN_OK && !o->quiet && kn_model_notice(*m2d))
        fprintf(stderr, "%s: %s\n", prog, kn_model_notice(*m2d));
    return rc;
}

static void summary(const opts *o, const totals *t, kn_model *m2d, double secs)
{
    if (o->quiet)
        return;
    fprintf(stderr,
            "%s: %lld videos (%lld 2D frames, %lld 3D chunks, %lld clips) in %.1f s, "
            "%.1fx real time, backend %s; %lld failed, %lld skipped\n",
            prog, (long long)t->videos, (long long)t->frames2d, (long long)t->chunks3d,
            (long long)t->clips, secs, secs > 0 ? t->seconds_video / secs : 0.0,
            kn_backend_name(kn_model_backend(m2d)), (long long)t->failed,
            (long long)t->skipped);
}

int main(int argc, char **argv)
{
    opts o;
    int prc = parse_args(argc, argv, &o);
    if (prc)
        return prc < 0 ? 0 : prc;
    qn_error err;
    qn_error_clear(&err);
    qn_store *st = NULL;
    kn_model *m2d = NULL, *m3d = NULL;
    feature_sets fs = {0};
    todo td = {0};
    totals t = {0};
    double t0 = qn_now();
    int rc = open_models(&o, &m2d, &m3d, &err);
    if (rc == QN_OK)
        rc = qn_store_open(o.store, QN_STORE_WRITE, &st, &err);
    if (rc == QN_OK)
        rc = open_sets(st, m2d, m3d, &fs, &err);
    if (rc == QN_OK)
        rc = find_videos(st, &o, &fs, &td, &t, &err);
    qn_progress bar;
    qn_progress_start(&bar, "features", td.n, o.quiet);
    for (size_t i = 0; i < td.n && rc >= 0; i++) {
        rc = do_video(st, &fs, &o, m2d, m3d, &td.v[i], &t, &err);
        if (rc == 1)
            t.failed++;
        else if (rc == QN_OK)
            t.videos++;
        qn_progress_update(&bar, i + 1);
    }
    qn_progress_finish(&bar);
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", prog, err.msg[0] ? err.msg : "failed");
    else
        summary(&o, &t, m2d, qn_now() - t0);
    qn_store_close(st);
    kn_model_close(m2d);
    kn_model_close(m3d);
    todo_free(&td);
    if (rc < 0)
        return qn_exit_code(rc);
    return t.failed ? QN_EXIT_SKIPPED : QN_EXIT_OK;
}
