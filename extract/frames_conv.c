/* frames_conv.c — the conversion thread: scale, crop, chunk and deliver.
 *
 * The decode thread must keep feeding the decoder's frame threads; if it also
 * scaled every 3D frame, the decoder threads would sit idle while it does (the
 * 3D stream converts 24 of every 30 frames). So the decode thread only picks
 * frames (fps machines) and queues a reference to each frame a stream needs,
 * with its copy counts; this thread downloads (GPU) and converts each one once
 * per stream and calls the sink, in order. The queue is bounded, so at most
 * FR_CONV_DEPTH decoded frames wait here.
 */
#include "frames_priv.h"

#include <libavutil/hwcontext.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct job {
    AVFrame *f;       /* NULL: end of stream */
    int64_t k2, k3;
} job;

struct fr_conv {
    pthread_t th;
    int running;      /* th is to be joined */
    pthread_mutex_t mu;
    pthread_cond_t can_pop, can_push;
    job q[FR_CONV_DEPTH];
    int head, count;
    int failed;       /* status of the first conversion/sink error, 0 if none */
    int quit;         /* the decode side gave up: drop everything */
    /* conversion thread only */
    fr_video *v;
    const fr_sink *sink;
    qn_error cerr;
    AVFrame *dl;
    fr_rotator rot;   /* turns frames by the display matrix (v->rot != NONE) */
    fr_scaler s2, s3;
    uint8_t *buf2;    /* w2d*h2d*3 */
    uint8_t *buf3;    /* side3d*side3d*3: one externally converted 3D frame */
    int primary;      /* NVDEC frames are in the primary context (fr_hw_primary, at start) */
    uint8_t *chunk;   /* chunk_3d*side*side*3 */
    int in_chunk;
    int64_t idx2, idx3, n3d, converted, converted_ext;
};

static int deliver_2d(fr_conv *c, const AVFrame *sw, int64_t copies)
{
    const fr_info *in = &c->v->info;
    int rc = fr_scaler_run(&c->s2, sw, c->v->path, &c->cerr);
    if (rc < 0)
        return rc;
    size_t row = (size_t)in->w2d * 3;
    for (int y = 0; y < in->h2d; y++)
        memcpy(c->buf2 + y * row, c->s2.out->data[0] + (size_t)y * c->s2.out->linesize[0], row);
    for (int64_t i = 0; i < copies; i++) {
        rc = c->sink->on_2d ? c->sink->on_2d(c->sink->user, c->idx2, c->buf2, in->w2d, in->h2d)
                            : QN_OK;
        if (rc < 0)
            return rc;
        c->idx2++;
    }
    return QN_OK;
}

static int flush_chunk(fr_conv *c)
{
    const fr_info *in = &c->v->info;
    int n = c->in_chunk;
    size_t frame_bytes = (size_t)in->side3d * in->side3d * 3;
    memset(c->chunk + n * frame_bytes, 0, (size_t)(c->v->opts.chunk_3d - n) * frame_bytes);
    int rc = c->sink->on_3d ? c->sink->on_3d(c->sink->user, c->idx3, c->chunk, n, in->side3d)
                            : QN_OK;
    c->idx3++;
    c->in_chunk = 0;
    return rc;
}

static int deliver_3d(fr_conv *c, const AVFrame *sw, int64_t copies)
{
    const fr_info *in = &c->v->info;
    int rc = fr_scaler_run(&c->s3, sw, c->v->path, &c->cerr);
    if (rc < 0)
        return rc;
    int side = in->side3d;
    size_t row = (size_t)side * 3, frame_bytes = row * side;
    const AVFrame *o = c->s3.out;
    for (int64_t i = 0; i < copies; i++) {
        uint8_t *dst = c->chunk + c->in_chunk * frame_bytes;
        for (int y = 0; y < side; y++)
            memcpy(dst + y * row,
                   o->data[0] + (size_t)(y + in->crop_y) * o->linesize[0] + (size_t)in->crop_x * 3,
                   row);
        c->n3d++;
        if (++c->in_chunk == c->v->opts.chunk_3d && (rc = flush_chunk(c)) < 0)
            return rc;
    }
    return QN_OK;
}

/* ---- conversion outside the module (fr_opts.convert: the GPU) ---- */

/* The planes of f when the external converter takes it: 8-bit NV12 on the GPU, or
 * (convert_all) 8-bit 4:2:0 in host memory: yuv420p, or NV12 (an NVDEC frame the
 * converter declined on the GPU, downloaded); 0 when the CPU path must convert it. */
static int ext_planes(const fr_conv *c, const AVFrame *f, fr_planes *p)
{
    const fr_opts *o = &c->v->opts;
    if (!o->convert || c->v->rot != FR_ROT_NONE)
        return 0;
    memset(p, 0, sizeof *p);
    if (f->format == AV_PIX_FMT_CUDA) {
        const AVHWFramesContext *hf =
            f->hw_frames_ctx ? (const AVHWFramesContext *)f->hw_frames_ctx->data : NULL;
        /* 8-bit only, and in the runtime's (primary) context, where the converter runs */
        if (!hf || hf->sw_format != AV_PIX_FMT_NV12 || !c->primary)
            return 0;
        p->nv12 = p->device = 1;
    } else if (!o->convert_all) {
        return 0;
    } else if (f->format == AV_PIX_FMT_NV12) {
        p->nv12 = 1;
    } else if (f->format != AV_PIX_FMT_YUV420P && f->format != AV_PIX_FMT_YUVJ420P) {
        return 0;
    }
    p->y = f->data[0];
    p->u = f->data[1];
    p->v = p->nv12 ? NULL : f->data[2];
    p->y_pitch = f->linesize[0];
    p->uv_pitch = f->linesize[1];
    p->w = f->width;
    p->h = f->height;
    p->colorspace = f->colorspace;
    p->full_range = f->color_range == AVCOL_RANGE_JPEG || f->format == AV_PIX_FMT_YUVJ420P;
    return 1;
}

/* Converts both streams' images first, then delivers: a converter that declines
 * (returns 1) does so before anything went to the sink, and the frame goes the CPU
 * way. Returns QN_OK, 1 (declined) or a negative status. */
static int deliver_ext(fr_conv *c, const fr_planes *p, const job *j)
{
    const fr_info *in = &c->v->info;
    const fr_opts *o = &c->v->opts;
    int rc = QN_OK;
    if (j->k2 > 0)
        rc = o->convert(o->convert_user, p, in->w2d, in->h2d, 0, 0, in->w2d, in->h2d, c->buf2,
                        &c->cerr);
    if (rc == QN_OK && j->k3 > 0)
        rc = o->convert(o->convert_user, p, in->w3d, in->h3d, in->crop_x, in->crop_y,
                        in->side3d, in->side3d, c->buf3, &c->cerr);
    if (rc == 1)
        return 1;
    if (rc < 0) {
        qn_error e = c->cerr; /* the converter's message, with the video named */
        qn_error_clear(&c->cerr);
        return qn_error_set(&c->cerr, rc, "%s: %s", c->v->path, e.msg);
    }
    c->converted_ext++;
    for (int64_t i = 0; rc == QN_OK && i < j->k2; i++) {
        rc = c->sink->on_2d ? c->sink->on_2d(c->sink->user, c->idx2, c->buf2, in->w2d, in->h2d)
                            : QN_OK;
        if (rc == QN_OK)
            c->idx2++;
    }
    size_t frame_bytes = (size_t)in->side3d * in->side3d * 3;
    for (int64_t i = 0; rc == QN_OK && i < j->k3; i++) { /* k3 > 1: the fps filter repeats it */
        memcpy(c->chunk + c->in_chunk * frame_bytes, c->buf3, frame_bytes);
        c->n3d++;
        if (++c->in_chunk == o->chunk_3d)
            rc = flush_chunk(c);
    }
    return rc;
}

/* Frame f through the external converter when it takes it: QN_OK, a negative
 * status, or 1 when the CPU path must convert it. */
static int try_ext(fr_conv *c, const AVFrame *f, const job *j)
{
    fr_planes planes;
    if (!ext_planes(c, f, &planes))
        return 1;
    int rc = deliver_ext(c, &planes, j);
    if (rc != 1)
        c->converted++;
    return rc;
}

static int convert(fr_conv *c, const job *j)
{
    if (!j->f)
        return c->in_chunk > 0 ? flush_chunk(c) : QN_OK;
    int rc = try_ext(c, j->f, j);
    if (rc != 1)
        return rc;
    const AVFrame *sw;
    if ((rc = fr_hw_download(j->f, c->dl, &sw, c->v->path, &c->cerr)) < 0)
        return rc;
    /* downloaded: the host converter (convert_all) takes it as it takes CPU-decoded
     * frames, so that every frame of a run goes through the same function */
    if (sw != j->f && (rc = try_ext(c, sw, j)) != 1)
        return rc;
    if (c->v->rot != FR_ROT_NONE) {
        c->rot.rot = c->v->rot;
        if ((rc = fr_rotate_frame(&c->rot, sw, &sw, c->v->path, &c->cerr)) < 0)
            return rc;
    }
    c->converted++;
    if (j->k2 > 0 && (rc = deliver_2d(c, sw, j->k2)) < 0)
        return rc;
    if (j->k3 > 0 && (rc = deliver_3d(c, sw, j->k3)) < 0)
        return rc;
    return QN_OK;
}

static void *conv_thread(void *arg)
{
    fr_conv *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (!c->count && !c->quit)
            pthread_cond_wait(&c->can_pop, &c->mu);
        if (!c->count) {            /* quit with nothing queued */
            pthread_mutex_unlock(&c->mu);
            return NULL;
        }
        job j = c->q[c->head];
        int skip = c->failed || c->quit, is_end = !j.f;
        pthread_mutex_unlock(&c->mu);
        int rc = skip ? QN_OK : convert(c, &j);
        av_frame_free(&j.f);
        pthread_mutex_lock(&c->mu);
        c->head = (c->head + 1) % FR_CONV_DEPTH;
        c->count--;
        if (rc < 0 && !c->failed)
            c->failed = rc;
        pthread_cond_signal(&c->can_push);
        pthread_mutex_unlock(&c->mu);
        if (is_end)
            return NULL;
    }
}

int fr_conv_start(fr_conv **out, fr_video *v, const fr_sink *sink, qn_error *err)
{
    const fr_info *in = &v->info;
    fr_conv *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", v->path);
    c->v = v;
    c->sink = sink;
    c->primary = v->opts.convert && fr_hw_primary(); /* the device exists once fr_open ran */
    c->dl = av_frame_alloc();
    c->buf2 = malloc((size_t)in->w2d * in->h2d * 3);
    c->chunk = malloc((size_t)v->opts.chunk_3d * in->side3d * in->side3d * 3);
    c->buf3 = malloc((size_t)in->side3d * in->side3d * 3);
    int ok = c->dl && c->buf2 && c->chunk && c->buf3 && fr_scaler_init(&c->s2, in->w2d, in->h2d, 1) == QN_OK &&
             fr_scaler_init(&c->s3, in->w3d, in->h3d, v->opts.threads) == QN_OK;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->can_pop, NULL);
    pthread_cond_init(&c->can_push, NULL);
    if (ok && pthread_create(&c->th, NULL, conv_thread, c) == 0)
        c->running = 1;
    if (!c->running) {
        int status = ok ? QN_EENV : QN_ENOMEM;
        fr_conv_free(c, NULL);
        return qn_error_set(err, status, "%s: %s", v->path,
                            ok ? "cannot start the conversion thread" : "out of memory");
    }
    *out = c;
    return QN_OK;
}

int fr_conv_push(fr_conv *c, AVFrame *f, int64_t k2, int64_t k3)
{
    pthread_mutex_lock(&c->mu);
    while (c->count == FR_CONV_DEPTH && !c->failed)
        pthread_cond_wait(&c->can_push, &c->mu);
    int failed = c->failed;
    if (!failed) {
        c->q[(c->head + c->count) % FR_CONV_DEPTH] = (job){f, k2, k3};
        c->count++;
        pthread_cond_signal(&c->can_pop);
    }
    pthread_mutex_unlock(&c->mu);
    if (failed)
        av_frame_free(&f);
    return failed;
}

int fr_conv_finish(fr_conv *c, fr_stats *st, qn_error *err)
{
    int rc = fr_conv_push(c, NULL, 0, 0);
    if (rc == QN_OK) {
        pthread_join(c->th, NULL);
        c->running = 0;
        rc = c->failed;
    }
    st->n2d = c->idx2;
    st->n3d = c->n3d;
    st->chunks3d = c->idx3;
    st->converted = c->converted;
    st->converted_ext = c->converted_ext;
    if (rc < 0 && c->cerr.status)
        qn_error_set(err, c->cerr.status, "%s", c->cerr.msg);
    return rc;
}

void fr_conv_free(fr_conv *c, qn_error *err)
{
    if (!c)
        return;
    if (c->running) {  /* not finished: make the thread drop its queue and leave */
        pthread_mutex_lock(&c->mu);
        c->quit = 1;
        pthread_cond_broadcast(&c->can_pop);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->th, NULL);
        if (c->failed && c->cerr.status)
            qn_error_set(err, c->cerr.status, "%s", c->cerr.msg);
    }
    for (; c->count > 0; c->count--, c->head = (c->head + 1) % FR_CONV_DEPTH)
        av_frame_free(&c->q[c->head].f);
    pthread_cond_destroy(&c->can_pop);
    pthread_cond_destroy(&c->can_push);
    pthread_mutex_destroy(&c->mu);
    av_frame_free(&c->dl);
    fr_rotator_free(&c->rot);
    fr_scaler_free(&c->s2);
    fr_scaler_free(&c->s3);
    free(c->buf2);
    free(c->chunk);
    free(c->buf3);
    free(c);
}
