/* quern-features — CNN features of every video in a store, HowTo100M-compatible.
 *
 * For each video with status ok, a video file and no features yet: one decode pass
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
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extract/frames.h"
#include "kernels/engine.h"
#include "kernels/features_queue.h"
#include "kernels/features_write.h"
#include "kernels/frames_convert.h"
#include "qn_error.h"
#include "qn_progress.h"
#include "qn_version.h"
#include "store/store.h"

static const char *prog = "quern-features";

static const char usage_text[] =
    "Usage: quern-features --store DIR --weights-2d RESNET152.safetensors\n"
    "                      --weights-3d RESNEXT101.safetensors [options] [VIDEO_ID...]\n"
    "\n"
    "Computes HowTo100M's video features for the videos of a store (status ok, a video\n"
    "file, no features yet; or only the VIDEO_IDs given) and writes, per video, in one\n"
    "commit (caption-only imports wait, untouched, until quern-clips adds their files):\n"
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
    "  --decode D            cpu (default), auto (NVDEC if a GPU is there), cuda, or\n"
    "                        mixed: --decoders on the CPU and --nvdec-decoders (16) more\n"
    "                        on NVDEC at the same time (each takes the next video)\n"
    "  --convert C           how decoded frames are scaled and turned into RGB:\n"
    "                        swscale (also cpu): libswscale, as the FFmpeg CLI does;\n"
    "                        fast: quern's own bicubic on the CPU, 2x faster for the 3D\n"
    "                        frames, within 0.01 (3D) and 0.4 (2D) grey levels of\n"
    "                        libswscale on average; gpu: NVDEC frames on the GPU with\n"
    "                        the same function as fast, CPU-decoded ones as fast (needs\n"
    "                        --decode cuda, auto or mixed and the cuda backend);\n"
    "                        auto (default): fast with the cuda backend when each\n"
    "                        decoder has one thread (decoding sets the pace there),\n"
    "                        else swscale. fast and gpu take 8-bit 4:2:0 frames; other\n"
    "                        formats and rotated videos go to libswscale\n"
    "  -j, --threads N       decoder and CPU engine threads (default: all cores)\n"
    "  --batch N             frames (2D) and chunks (3D) per network call (default 8 on\n"
    "                        the CPU, 32 on a GPU)\n"
    "  --decoders N          videos decoded at once (each with threads/N FFmpeg threads)\n"
    "                        while the network runs (default 1; with the cuda backend one\n"
    "                        per thread, so that decoding keeps up with the GPU)\n"
    "  -q, --quiet           no progress bar, no summary line\n"
    "  -h, --help            this help\n"
    "  --version             print the version\n"
    "\n"
    "Exit: 0 done, 1 done but some videos failed to decode (marked failed in the store) or\n"
    "could not be read now (missing, unreadable, changed since quern-clips stored them: not\n"
    "marked, left for a later run), 2 bad usage, weights or input, 3 environment (store\n"
    "locked, disk full, no GPU for --backend cuda or --decode cuda).\n"
    "\n"
    "Example:\n"
    "  quern-features --store data/store --weights-2d resnet152.safetensors \\\n"
    "      --weights-3d resnext101.safetensors -j 8 --batch 32\n";

/* --convert: AUTO (0, the default) is FAST with the cuda backend, else SWSCALE */
enum { CONVERT_AUTO, CONVERT_SWSCALE, CONVERT_FAST, CONVERT_GPU };

typedef struct opts {
    const char *store, *w2d, *w3d;
    kn_backend backend;
    int decode;      /* enum fr_hw */
    int threads, batch, quiet, decoders;
    int convert;     /* CONVERT_*: who scales and converts decoded frames */
    int mixed, nvdec; /* --decode mixed: CPU decoders plus `nvdec` NVDEC ones */
    char **ids;
    int n_ids;
} opts;

typedef struct totals {
    int64_t videos, failed, skipped, frames2d, chunks3d, clips;
    int64_t no_file; /* ok videos without a file: caption-only imports awaiting theirs */
    int64_t unreadable; /* files that could not be read now (missing, permission, changed
                           since import): not marked, left for a later run */
    double seconds_video;
    /* where the engine thread's time went: which stage holds the others back */
    double net_s, wait_s, store_s;
    int decoders, dec_threads, batch, nvdec_decoders;
    int64_t on_nvdec;        /* videos written that NVDEC decoded (the rest: the CPU) */
    const char *scaler;      /* the run's kn_convert (NULL: libswscale only), for the summary */
    int64_t conv, conv_ext;  /* frames scaled; of them, by `scaler` (the rest: libswscale) */
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
    enum { O_STORE = 256, O_W2D, O_W3D, O_BACKEND, O_DECODE, O_CONVERT, O_BATCH, O_DECODERS,
           O_NVDEC, O_VERSION };
    static const struct option longs[] = {
        {"store", required_argument, 0, O_STORE},     {"weights-2d", required_argument, 0, O_W2D},
        {"weights-3d", required_argument, 0, O_W3D},  {"backend", required_argument, 0, O_BACKEND},
        {"decode", required_argument, 0, O_DECODE},   {"threads", required_argument, 0, 'j'},
        {"convert", required_argument, 0, O_CONVERT},
        {"nvdec-decoders", required_argument, 0, O_NVDEC},
        {"batch", required_argument, 0, O_BATCH},     {"decoders", required_argument, 0, O_DECODERS},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},                {"version", no_argument, 0, O_VERSION},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->batch = 0;   /* by backend, once it is known */
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
            else if (!strcmp(optarg, "mixed")) o->decode = FR_HW_AUTO, o->mixed = 1;
            else return usage_error("--decode: '%s' is not cpu, auto, cuda or mixed", optarg);
            break;
        case O_CONVERT:
            if (!strcmp(optarg, "swscale") || !strcmp(optarg, "cpu")) o->convert = CONVERT_SWSCALE;
            else if (!strcmp(optarg, "fast")) o->convert = CONVERT_FAST;
            else if (!strcmp(optarg, "gpu")) o->convert = CONVERT_GPU;
            else if (!strcmp(optarg, "auto")) o->convert = CONVERT_AUTO;
            else return usage_error("--convert: '%s' is not auto, swscale, fast or gpu", optarg);
            break;
        case 'j':
            if (parse_int(optarg, 0, &o->threads) < 0 || o->threads > 1024)
                return usage_error("-j: '%s' is not a thread count (0..1024; 0: all cores)",
                                   optarg);
            break;
        case O_BATCH:
            if (parse_int(optarg, 1, &o->batch) < 0 || o->batch > 4096)
                return usage_error("--batch: '%s' is not a batch size (1..4096)", optarg);
            break;
        case O_DECODERS:
            if (parse_int(optarg, 1, &o->decoders) < 0 || o->decoders > 256)
                return usage_error("--decoders: '%s' is not a count (1..256)", optarg);
            break;
        case O_NVDEC:
            if (parse_int(optarg, 1, &o->nvdec) < 0 || o->nvdec > 256)
                return usage_error("--nvdec-decoders: '%s' is not a count (1..256)", optarg);
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
    if (o->nvdec && !o->mixed)
        return usage_error("%s", "--nvdec-decoders goes with --decode mixed");
    if (o->convert == CONVERT_GPU && o->decode == FR_HW_NONE)
        return usage_error("%s", "--convert gpu converts NVDEC frames: it needs --decode cuda, "
                           "auto or mixed");
    if (o->convert == CONVERT_GPU && (o->backend == KN_BACKEND_CPU || o->backend == KN_BACKEND_REF))
        return usage_error("%s", "--convert gpu needs the cuda backend (--backend cuda or auto)");
    o->ids = argv + optind;
    o->n_ids = argc - optind;
    return 0;
}

/* ---- the pipeline: decoder threads -> bounded batch queue -> engine + store ----
 *
 * Decoder threads (--decoders, each with its own FFmpeg threads) take whole
 * videos and cut their frames into batches; the main thread runs the engine on
 * each batch as it arrives and, when a video's END item comes (always after its
 * batches: one producer per video and a FIFO queue), pools and commits it. Only
 * the main thread touches the engine and the store. The queue is bounded, so
 * decoding runs at most a few batches ahead of the network. */

typedef struct vjob {            /* one video (features_queue.h's struct vjob) */
    const qn_store_video *v;
    float *rows2d, *rows3d;      /* n × 2048, L2-normalised; main thread only */
    int64_t n2d, n3d, cap2d, cap3d;
    int rc;                      /* decode status, set before the END item */
    qn_error ferr;               /* decode error */
    double duration;
    int64_t conv, conv_ext;      /* frames scaled; of them, by kn_convert (not libswscale) */
    double shown;                /* seconds of it the progress bar counts; main thread only */
    int64_t decode_errors;       /* damaged packets the decoder skipped, as ffmpeg does */
    int hw;                      /* decoded on NVDEC */
} vjob;

typedef struct pipeline {
    fq_queue q;
    size_t next_video;   /* under q.mu */
    /* read-only while running */
    vjob *jobs;
    size_t n_jobs;
    int batch, dec_threads;
    const int *convert;  /* kn_frames_convert's mode for the decoders, or NULL (libswscale) */
} pipeline;

/* The frames sink of one decoder thread: fills batches, queues them when full. */
typedef struct wsink {
    pipeline *p;
    vjob *job;
    fq_item *b[4];               /* [FQ_2D], [FQ_3D] being filled */
} wsink;

static int add_frame(wsink *ws, int kind, const uint8_t *data, size_t bytes, int w, int h)
{
    fq_item *it = ws->b[kind];
    if (!it) {
        if (!(it = fq_get(&ws->p->q, bytes * ws->p->batch)))
            return QN_ENOMEM;
        it->job = ws->job;
        it->kind = kind;
        it->w = w;
        it->h = h;
        ws->b[kind] = it;
    }
    memcpy(it->data + bytes * it->n++, data, bytes);
    if (it->n < ws->p->batch)
        return QN_OK;
    ws->b[kind] = NULL;
    return fq_push(&ws->p->q, it);
}

static int on_2d(void *user, int64_t index, const uint8_t *rgb, int w, int h)
{
    (void)index;
    return add_frame(user, FQ_2D, rgb, (size_t)w * h * 3, w, h);
}

static int on_3d(void *user, int64_t index, const uint8_t *rgb, int n_real, int side)
{
    (void)index;
    (void)n_real;
    return add_frame(user, FQ_3D, rgb, (size_t)KN_3D_FRAMES * side * side * 3, side, side);
}

/* The file is the one quern-clips stored (size and mtime, where it recorded them): its
 * clips and captions were cut for that one. A replaced file is unreadable for this run
 * (qn_error_unreadable: skipped, not marked), until quern-clips has seen it again. The
 * frames layer marks the other files that cannot be read now (missing, access, I/O);
 * its other environment errors (no GPU, limits) are the whole run's. */
static int check_unchanged(const qn_store_video *v, qn_error *err)
{
    struct stat st;
    if (stat(v->path, &st) != 0 || !S_ISREG(st.st_mode))
        return QN_OK; /* fr_open names the reason */
    int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (v->size > 0 && st.st_size != v->size)
        return qn_error_unreadable(err, QN_EENV, "%s: changed since quern-clips stored it "
                                   "(%lld bytes now, %lld then): run quern-clips on it again",
                                   v->path, (long long)st.st_size, (long long)v->size);
    if (v->mtime_ns > 0 && mt != v->mtime_ns)
        return qn_error_unreadable(err, QN_EENV, "%s: modified since quern-clips stored it "
                                   "(another mtime): run quern-clips on it again", v->path);
    return QN_OK;
}

static void decode_one(pipeline *p, vjob *job, int hw)
{
    fr_opts fo;
    fr_opts_default(&fo);
    fo.threads = p->dec_threads;
    fo.hw = hw;
    if (p->convert) {
        fo.convert = kn_frames_convert;
        fo.convert_user = (void *)p->convert;
        fo.convert_all = 1; /* the glue declines what it cannot take: libswscale then */
    }
    qn_error_clear(&job->ferr);
    wsink ws = {.p = p, .job = job};
    fr_sink sink = {&ws, on_2d, on_3d};
    fr_video *fv = NULL;
    int rc = check_unchanged(job->v, &job->ferr);
    if (rc == QN_OK)
        rc = fr_open(&fv, job->v->path, &fo, &job->ferr);
    const fr_info *in = rc == QN_OK ? fr_get_info(fv) : NULL;
    if (in && (in->w2d > KN_2D_MAX_SIDE || in->h2d > KN_2D_MAX_SIDE))
        rc = qn_error_set(&job->ferr, QN_EINPUT, "%s: %dx%d frames scale to %dx%d, past the "
                          "network's %d (aspect ratio too extreme)", job->v->path, in->width,
                          in->height, in->w2d, in->h2d, KN_2D_MAX_SIDE);
    if (rc == QN_OK) {
        job->duration = in->duration;
        fr_stats fst;
        memset(&fst, 0, sizeof fst);
        rc = fr_run(fv, &sink, &fst, &job->ferr);
        job->conv = fst.converted;
        job->conv_ext = fst.converted_ext;
        job->decode_errors = fst.decode_errors;
        job->hw = fst.decoded_hw > 0;  /* NVDEC set up is not NVDEC used: count what it gave */
        if (rc < 0 && !job->ferr.status)
            qn_error_set(&job->ferr, rc, "%s: out of memory for a batch", job->v->path);
    }
    fr_close(fv);
    for (int k = FQ_2D; k <= FQ_3D; k++) {
        fq_item *it = ws.b[k];
        ws.b[k] = NULL;
        if (rc < 0)
            fq_put(&p->q, it);
        else if (it)
            fq_push(&p->q, it);   /* puts it back itself when the queue is stopping */
    }
    job->rc = rc;
    fq_item *end = calloc(1, sizeof *end);
    if (!end) {   /* cannot even say we are done: make the main thread give up */
        job->rc = qn_error_set(&job->ferr, QN_ENOMEM, "%s: out of memory", job->v->path);
        fq_close(&p->q); /* the main thread writes what is queued, then gives up */
        return;
    }
    end->job = job;
    end->kind = FQ_END;
    fq_push(&p->q, end);
}

typedef struct decoder {
    pipeline *p;
    int hw;       /* its fr_hw mode: --decode mixed gives the CPU to some, NVDEC to others */
} decoder;

static void *decoder_thread(void *arg)
{
    const decoder *d = arg;
    pipeline *p = d->p;
    for (;;) {
        pthread_mutex_lock(&p->q.mu);
        size_t i = p->next_video;
        int done = p->q.stop || i >= p->n_jobs;
        if (!done)
            p->next_video++;
        pthread_mutex_unlock(&p->q.mu);
        if (done)
            return NULL;
        decode_one(p, &p->jobs[i], d->hw);
    }
}

static int grow(float **rows, int64_t *cap, int64_t need)
{
    if (need <= *cap)
        return QN_OK;
    int64_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    float *q = realloc(*rows, (size_t)n * 2048 * sizeof *q);
    if (!q)
        return QN_ENOMEM;
    *rows = q;
    *cap = n;
    return QN_OK;
}

/* Runs the network on one batch, appending the rows to its video. A short batch
 * (a video's last) is padded with zero frames to `pad_to` when that is larger:
 * on the GPU one input shape means one set of cuDNN plans and one CUDA graph,
 * while every new batch size would be planned and captured afresh. */
static int run_item(kn_model *m2d, kn_model *m3d, fq_item *it, int pad_to, qn_error *err)
{
    vjob *j = it->job;
    int is2d = it->kind == FQ_2D;
    int n_run = it->n < pad_to ? pad_to : it->n;
    size_t frame = is2d ? (size_t)it->w * it->h * 3 : (size_t)KN_3D_FRAMES * it->w * it->h * 3;
    if (n_run > it->n)   /* the item's buffer holds a whole batch */
        memset(it->data + frame * it->n, 0, frame * (size_t)(n_run - it->n));
    float **rows = is2d ? &j->rows2d : &j->rows3d;
    int64_t *n = is2d ? &j->n2d : &j->n3d;
    if (grow(rows, is2d ? &j->cap2d : &j->cap3d, *n + n_run) < 0)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory for feature rows", j->v->path);
    float *out = *rows + *n * 2048;
    int rc = is2d ? kn_run_2d(m2d, it->data, n_run, it->h, it->w, out, KN_L2NORM, err)
                  : kn_run_3d(m3d, it->data, n_run, out, KN_L2NORM, err);
    *n += it->n;   /* the padding's rows are left past the end, overwritten next */
    return rc;
}

static void job_free(vjob *j)
{
    free(j->rows2d);
    free(j->rows3d);
    j->rows2d = j->rows3d = NULL;
}

/* ---- one finished video (pooling and writing: features_write.c) ---- */

/* After its END item: write it, mark it failed when its content cannot be decoded, or
 * skip it when the file cannot be read now. Returns QN_OK, 1 (failed input, recorded),
 * 2 (skipped) or a negative status (stop). */
/* The network's rows are finite, or nothing is written: NaN or infinity here comes from
 * the weights or the arithmetic (fp16 overflow), never from a video, so the run stops. */
static int check_finite(const vjob *j, qn_error *err)
{
    const float *r[2] = {j->rows2d, j->rows3d};
    int64_t n[2] = {j->n2d * 2048, j->n3d * 2048};
    for (int k = 0; k < 2; k++)
        for (int64_t i = 0; i < n[k]; i++)
            if (!isfinite(r[k][i]))
                return qn_error_set(err, QN_EINPUT, "%s: the %s network gave a non-finite "
                                    "feature (row %lld); nothing of it written (weights, or "
                                    "arithmetic overflow?)", j->v->path, k ? "3D" : "2D",
                                    (long long)(i / 2048));
    return QN_OK;
}

static int finish_video(qn_store *st, const fw_sets *fs, vjob *j, totals *t,
                        qn_progress *bar, const opts *o, qn_error *err)
{
    int rc;
    if (j->rc == QN_OK && j->decode_errors && !o->quiet) {
        qn_progress_finish(bar);
        fprintf(stderr, "%s: %s: %lld damaged packets skipped (as ffmpeg does); its features "
                "come from the frames that decoded\n", prog, j->v->path,
                (long long)j->decode_errors);
    }
    if (j->rc == QN_OK && (rc = check_finite(j, err)) < 0) {
        job_free(j);
        return rc;
    }
    if (j->rc == QN_OK) {
        int64_t n_clips;
        rc = fw_write_video(st, fs, j->v->id, j->rows2d, j->n2d, j->rows3d, j->n3d, &n_clips,
                            err);
        if (rc == QN_OK) {
            t->clips += n_clips;
            t->frames2d += j->n2d;
            t->chunks3d += j->n3d;
            t->seconds_video += j->duration;
            t->conv += j->conv;
            t->conv_ext += j->conv_ext;
            t->on_nvdec += j->hw;
        }
    } else if (j->rc == QN_EINPUT && j->ferr.status == QN_EINPUT) {
        qn_progress_finish(bar); /* the message on a line of its own; the bar is redrawn */
        fprintf(stderr, "%s: %s (video %s marked failed)\n", prog, j->ferr.msg, j->v->ext_id);
        rc = qn_store_video_set_status(st, j->v->id, QN_VIDEO_FAILED, j->ferr.msg, err);
        if (rc == QN_OK)
            rc = 1;
    } else if (j->rc == QN_EENV && j->ferr.unreadable) {
        /* this file, not the run: missing, unreadable, replaced; the next run retries it */
        qn_progress_finish(bar);
        fprintf(stderr, "%s: %s (video %s skipped, left for a later run)\n", prog, j->ferr.msg,
                j->v->ext_id);
        t->unreadable++;
        rc = 2;
    } else {
        rc = qn_error_set(err, j->ferr.status ? j->ferr.status : j->rc, "%s",
                          j->ferr.msg[0] ? j->ferr.msg : "decoding failed");
    }
    job_free(j);
    return rc;
}

/* ---- setup ---- */

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
    d->size = v->size;         /* QN_STORE_UNKNOWN (< 0) when not recorded */
    d->mtime_ns = v->mtime_ns;
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

/* The ids of the ok videos that have no 2D rows yet, ascending (the store's
 * "still to extract" list). A video under 0.5 s has an empty 2D entry, which
 * counts as done, so asking for it by id does not extract (and append) it again. */
static int pending_ids(qn_store *st, const fw_sets *fs, int64_t **ids, size_t *n,
                       qn_error *err)
{
    qn_video_filter f = {.status = QN_VIDEO_OK, .without_rows = fs->s2d};
    qn_video_iter *it;
    qn_store_video v;
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    int rc = qn_store_video_iter(st, &f, &it, err);
    if (rc < 0)
        return rc;
    while ((rc = qn_store_video_next(it, &v, err)) == 1) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            int64_t *p = realloc(*ids, cap * sizeof *p);
            if (!p) {
                rc = qn_error_set(err, QN_ENOMEM, "out of memory");
                break;
            }
            *ids = p;
        }
        (*ids)[(*n)++] = v.id;
    }
    qn_store_video_iter_free(it);
    return rc < 0 ? rc : QN_OK;
}

static int id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The videos to do: the given ids (each must exist; not-ok or done ones are
 * skipped with a note), or every ok video without 2D rows. */
static int find_videos(qn_store *st, const opts *o, const fw_sets *fs, todo *td,
                       totals *t, qn_error *err)
{
    qn_store_video v;
    int rc = QN_OK;
    if (o->n_ids) {
        int64_t *pend;
        size_t n_pend;
        if ((rc = pending_ids(st, fs, &pend, &n_pend, err)) < 0)
            return rc;
        char *taken = calloc(n_pend ? n_pend : 1, 1); /* an id given twice is done once */
        if (!taken) {
            free(pend);
            return qn_error_set(err, QN_ENOMEM, "out of memory");
        }
        for (int i = 0; i < o->n_ids && rc == QN_OK; i++) {
            int found;
            rc = qn_store_video_find(st, o->ids[i], &v, &found, err);
            if (rc < 0)
                break;
            if (!found) {
                rc = qn_error_set(err, QN_EINPUT, "%s: video %s is not in the store", o->store,
                                  o->ids[i]);
                break;
            }
            if (v.status == QN_VIDEO_OK && (!v.path || !*v.path)) {
                if (!o->quiet)
                    fprintf(stderr, "%s: video %s has no video file yet (caption-only import: "
                            "run quern-clips on its file first); skipped\n", prog, o->ids[i]);
                t->no_file++;
                continue;
            }
            if (v.status != QN_VIDEO_OK) {
                if (!o->quiet)
                    fprintf(stderr, "%s: video %s has status %s; skipped\n", prog, o->ids[i],
                            v.status == QN_VIDEO_FAILED ? "failed"
                            : v.status == QN_VIDEO_REJECTED ? "rejected" : "pending");
                t->skipped++;
                continue;
            }
            /* bsearch's base must not be NULL, even for zero elements */
            const int64_t *at = n_pend ? bsearch(&v.id, pend, n_pend, sizeof *pend, id_cmp) : NULL;
            if (!at) {
                t->skipped++;
                continue;
            }
            if (taken[at - pend]++)
                continue;
            if (todo_add(td, &v) < 0)
                rc = qn_error_set(err, QN_ENOMEM, "out of memory");
        }
        free(taken);
        free(pend);
        return rc;
    }
    qn_video_filter f = {.status = QN_VIDEO_OK, .without_rows = fs->s2d};
    qn_video_iter *it;
    if ((rc = qn_store_video_iter(st, &f, &it, err)) < 0)
        return rc;
    while ((rc = qn_store_video_next(it, &v, err)) == 1) {
        if (!v.path || !*v.path) { /* not an input: left as it is for a later run */
            t->no_file++;
            continue;
        }
        if (todo_add(td, &v) < 0) {
            rc = qn_error_set(err, QN_ENOMEM, "out of memory");
            break;
        }
    }
    qn_store_video_iter_free(it);
    return rc < 0 ? rc : QN_OK;
}

/* The cheap half of opening the networks: both files checked and hashed. */
static int open_weights(const opts *o, kn_weights **w2d, kn_weights **w3d, qn_error *err)
{
    int rc = kn_weights_open(o->w2d, KN_RESNET152, w2d, err);
    if (rc == QN_OK)
        rc = kn_weights_open(o->w3d, KN_RESNEXT101_3D, w3d, err);
    return rc;
}

/* The costly half: loading, BatchNorm folding, the backend (GPU context, plans). */
static int build_models(const opts *o, const kn_weights *w2d, const kn_weights *w3d,
                        kn_model **m2d, kn_model **m3d, qn_error *err)
{
    kn_options ko = {.backend = o->backend, .threads = o->threads};
    int rc = kn_model_build(w2d, &ko, m2d, err);
    if (rc == QN_OK)
        rc = kn_model_build(w3d, &ko, m3d, err);
    if (rc == QN_OK && !o->quiet && kn_model_notice(*m2d))
        fprintf(stderr, "%s: %s\n", prog, kn_model_notice(*m2d));
    if (rc == QN_OK && o->convert == CONVERT_GPU && kn_model_backend(*m2d) != KN_BACKEND_CUDA)
        rc = qn_error_set(err, QN_EENV, "--convert gpu needs the cuda backend; this run "
                          "uses %s", kn_backend_name(kn_model_backend(*m2d)));
    return rc;
}

static void summary(const opts *o, const totals *t, kn_model *m2d, double secs)
{
    if (o->quiet)
        return;
    char unread[96] = "";
    if (t->unreadable)
        snprintf(unread, sizeof unread, ", %lld unreadable now (left for a later run)",
                 (long long)t->unreadable);
    fprintf(stderr,
            "%s: %lld videos (%lld 2D frames, %lld 3D chunks, %lld clips) in %.1f s, "
            "%.1fx real time, backend %s; %lld failed, %lld skipped%s\n",
            prog, (long long)t->videos, (long long)t->frames2d, (long long)t->chunks3d,
            (long long)t->clips, secs, secs > 0 ? t->seconds_video / secs : 0.0,
            m2d ? kn_backend_name(kn_model_backend(m2d)) : "not started (nothing to do)",
            (long long)t->failed,
            (long long)t->skipped, unread);
    if (t->decoders) { /* a long wait means decoding holds the network back (more --decoders) */
        /* what NVDEC did, not what was asked: without a GPU its decoders fall back */
        char nv[96] = "";
        if (t->nvdec_decoders)
            snprintf(nv, sizeof nv, ", %d of them for NVDEC: %lld of %lld videos decoded there",
                     t->nvdec_decoders, (long long)t->on_nvdec, (long long)t->videos);
        else if (o->decode != FR_HW_NONE)
            snprintf(nv, sizeof nv, "; NVDEC decoded %lld of %lld videos", (long long)t->on_nvdec,
                     (long long)t->videos);
        /* from the counts: rotated videos and other pixel formats go to libswscale */
        char by[128] = "libswscale";
        if (t->scaler && t->conv_ext == t->conv)
            snprintf(by, sizeof by, "%s", t->scaler);
        else if (t->scaler && t->conv_ext)
            snprintf(by, sizeof by, "%s (%lld of %lld frames; libswscale the rest)", t->scaler,
                     (long long)t->conv_ext, (long long)t->conv);
        fprintf(stderr, "%s: time in the network %.1f s, waiting for decoded frames %.1f s, "
                "writing the store %.1f s (%d decoders x %d FFmpeg threads%s, frames scaled by "
                "%s, batch %d)\n", prog, t->net_s, t->wait_s, t->store_s, t->decoders,
                t->dec_threads, nv, by, t->batch);
    }
    if (t->no_file)
        fprintf(stderr, "%s: %lld ok videos have no video file yet (caption-only imports; "
                "quern-clips on their files adds them)\n", prog, (long long)t->no_file);
}

static int ncpu(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* The progress bar counts seconds of video, so that a long video moves it too and its
 * rate reads as the run's real-time factor: a 3D chunk counts its 16 frames at 24 fps
 * as the network finishes it, the rest of a video (the 2D frames are in step with the
 * chunks) when it is committed. Stores whose videos lack a duration (written by other
 * tools) get a bar of videos instead. */
static void progress_item(qn_progress *bar, double *done, vjob *job, const fq_item *it)
{
    double len = job->v->duration;
    double s = it->kind == FQ_END ? len - job->shown
             : it->kind == FQ_3D  ? it->n * (double)KN_3D_FRAMES / 24.0 : 0;
    if (s > len - job->shown)
        s = len - job->shown;
    if (s <= 0)
        return;
    job->shown += s;
    *done += s;
    qn_progress_update(bar, (uint64_t)(*done + 0.5));
}

/* Decodes and extracts every video of td: decoder threads + engine/store here. */
static int run_all(qn_store *st, const fw_sets *fs, const opts *o, kn_model *m2d,
                   kn_model *m3d, const todo *td, totals *t, qn_error *err)
{
    if (td->n == 0)
        return QN_OK;
    /* A GPU outruns any one decoder: with the cuda backend every thread decodes
     * its own video (no frame-threading overhead), fewer only when there are
     * fewer videos. On the CPU the network needs the cores: one video at a time. */
    int threads = o->threads ? o->threads : ncpu();
    int batch = o->batch ? o->batch : kn_model_backend(m2d) == KN_BACKEND_CUDA ? 32 : 8;
    int decoders = o->decoders ? o->decoders
                 : kn_model_backend(m2d) == KN_BACKEND_CUDA ? threads : 1;
    /* mixed: the CPU decoders above plus NVDEC ones, which need little CPU (all the more
     * with --convert gpu); each decoder takes the next video, so the rates add up */
    int nvdec = o->mixed ? (o->nvdec ? o->nvdec : 16) : 0;
    if (o->mixed && !o->decoders)
        decoders = threads;
    if ((size_t)nvdec > td->n)
        nvdec = (int)td->n;
    decoders += nvdec;
    if ((size_t)decoders > td->n)
        decoders = (int)td->n;
    /* a few batches per decoder keep the network fed; past 32 they only hold memory
     * (page-locked on the GPU) */
    int queue = 2 * decoders + 2 < 32 ? 2 * decoders + 2 : 32;
    pipeline p = {.n_jobs = td->n, .batch = batch};
    p.dec_threads = nvdec ? 1 : threads / decoders;
    if (p.dec_threads < 1)
        p.dec_threads = 1;
    /* auto: fast where decoding sets the pace (the GPU) and each decoder is one thread:
     * kn_convert_cpu runs on the decoder's conversion thread alone, where libswscale
     * would spread a many-threaded decoder's frames over its slice threads */
    int cuda = kn_model_backend(m2d) == KN_BACKEND_CUDA;
    if (o->convert == CONVERT_GPU)
        p.convert = &kn_frames_convert_cuda;
    else if (o->convert == CONVERT_FAST ||
             (o->convert == CONVERT_AUTO && cuda && p.dec_threads == 1))
        p.convert = &kn_frames_convert_cpu;
    if (getenv("QUERN_FEATURES_CONVERT_REF") && o->convert == CONVERT_AUTO)
        /* tests: every CPU-decoded frame through kn_convert's CPU version, the path
         * --convert gpu takes, with no GPU */
        p.convert = &kn_frames_convert_ref;
    t->nvdec_decoders = nvdec;
    t->decoders = decoders;
    t->dec_threads = p.dec_threads;
    t->batch = batch;
    t->scaler = p.convert == &kn_frames_convert_cuda  ? "kn_cuda_convert/kn_convert_cpu"
              : p.convert == &kn_frames_convert_cpu ? "kn_convert_cpu"
              : p.convert == &kn_frames_convert_ref ? "kn_convert_ref"
                                                    : NULL;
    const char *pad = getenv("QUERN_FEATURES_PAD_BATCHES"); /* 1/0: force (tests) */
    int pad_to = (pad && *pad ? *pad == '1' : kn_model_backend(m2d) == KN_BACKEND_CUDA)
                 ? batch : 0;
    p.jobs = calloc(td->n, sizeof *p.jobs);
    pthread_t *th = calloc((size_t)decoders, sizeof *th);
    decoder *dec = calloc((size_t)decoders, sizeof *dec);
    if (!p.jobs || !th || !dec) {
        free(p.jobs);
        free(th);
        free(dec);
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    }
    for (int i = 0; i < decoders; i++) /* mixed: the last `nvdec` ones on NVDEC */
        dec[i] = (decoder){&p, nvdec && i < decoders - nvdec ? FR_HW_NONE : o->decode};
    for (size_t i = 0; i < td->n; i++)
        p.jobs[i].v = &td->v[i];
    fq_init(&p.q, queue, m2d, kn_model_backend(m2d) == KN_BACKEND_CUDA);
    int started = 0, rc = QN_OK;
    for (; started < decoders; started++)
        if (pthread_create(&th[started], NULL, decoder_thread, &dec[started]) != 0)
            break;
    if (!started)
        rc = qn_error_set(err, QN_EENV, "cannot start a decoder thread");
    qn_progress bar;
    double total_s = 0, done_s = 0;
    int by_time = 1;
    for (size_t i = 0; i < td->n; i++) {
        by_time &= td->v[i].duration > 0;
        total_s += td->v[i].duration;
    }
    if (by_time)
        qn_progress_start(&bar, "features (s of video)", (uint64_t)(total_s + 0.5), o->quiet);
    else
        qn_progress_start(&bar, "features (videos)", td->n, o->quiet);
    for (size_t finished = 0; rc >= 0 && finished < td->n;) {
        double t0 = qn_now();
        fq_item *it = fq_pop(&p.q);
        double t1 = qn_now();
        t->wait_s += t1 - t0;
        if (!it) {
            rc = qn_error_set(err, QN_ENOMEM, "out of memory in a decoder thread");
            break;
        }
        if (it->kind == FQ_END) {
            rc = finish_video(st, fs, it->job, t, &bar, o, err);
            t->failed += rc == 1;
            t->videos += rc == QN_OK;
            finished++;
            if (by_time)
                progress_item(&bar, &done_s, it->job, it);
            else
                qn_progress_update(&bar, finished);
            t->store_s += qn_now() - t1;
        } else {
            rc = run_item(m2d, m3d, it, pad_to, err);
            t->net_s += qn_now() - t1;
            if (by_time)
                progress_item(&bar, &done_s, it->job, it);
        }
        fq_put(&p.q, it);
    }
    qn_progress_finish(&bar);
    fq_stop(&p.q);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    fq_stop(&p.q);   /* what the last pushes left */
    fq_destroy(&p.q);
    for (size_t i = 0; i < td->n; i++)
        job_free(&p.jobs[i]);
    free(p.jobs);
    free(th);
    free(dec);
    return rc < 0 ? rc : QN_OK;
}

int main(int argc, char **argv)
{
    qn_cli_init();
    opts o;
    int prc = parse_args(argc, argv, &o);
    if (prc)
        return prc < 0 ? 0 : prc;
    qn_error err;
    qn_error_clear(&err);
    qn_store *st = NULL;
    kn_weights *w2d = NULL, *w3d = NULL;
    kn_model *m2d = NULL, *m3d = NULL;
    fw_sets fs = {0};
    todo td = {0};
    totals t = {0};
    double t0 = qn_now();
    /* the store first: a busy lock or a bad directory fails before reading weights; the
     * weights' checks and hashes next, so that a run with nothing to do (cron) still says
     * when the files are wrong or differ from the store's, but never loads them */
    int rc = qn_store_open(o.store, QN_STORE_WRITE, &st, &err);
    if (rc == QN_OK)
        rc = open_weights(&o, &w2d, &w3d, &err);
    if (rc == QN_OK)
        rc = fw_find_sets(st, o.w2d, kn_weights_sha256(w2d), o.w3d, kn_weights_sha256(w3d),
                          &fs, &err);
    if (rc == QN_OK)
        rc = find_videos(st, &o, &fs, &td, &t, &err);
    if (rc == QN_OK && td.n && o.decode != FR_HW_NONE)
        fr_hw_prepare();   /* NVDEC first: it sets up the primary context the engine shares */
    if (rc == QN_OK && td.n)
        rc = build_models(&o, w2d, w3d, &m2d, &m3d, &err);
    /* only weights that loaded (values checked) are recorded with the sets */
    if (rc == QN_OK && td.n)
        rc = fw_open_sets(st, kn_weights_sha256(w2d), kn_weights_sha256(w3d), &fs, &err);
    kn_weights_close(w2d);
    kn_weights_close(w3d);
    if (rc == QN_OK && td.n)
        rc = run_all(st, &fs, &o, m2d, m3d, &td, &t, &err);
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", prog, err.msg[0] ? err.msg : "failed");
    if (rc >= 0 || t.videos || t.failed || t.unreadable) /* after an error: what is kept */
        summary(&o, &t, m2d, qn_now() - t0);
    qn_store_close(st);
    kn_model_close(m2d);
    kn_model_close(m3d);
    todo_free(&td);
    if (rc < 0)
        return qn_exit_code(rc);
    return t.failed || t.unreadable ? QN_EXIT_SKIPPED : QN_EXIT_OK;
}
