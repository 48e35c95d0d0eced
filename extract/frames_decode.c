/* frames_decode.c — the single decode pass: demux, decode, pick, hand over to conversion.
 *
 * One pending frame is kept. When the next frame arrives (or the stream ends)
 * both fps machines say how many output ticks the pending frame fills in their
 * stream; only if either says "at least one" is a reference to it queued for
 * the conversion thread (frames_conv.c), which downloads (GPU) and scales it
 * once per stream however many ticks it fills. This thread only demuxes, feeds
 * the decoder's frame threads and picks, so the decoder is never starved while
 * frames are being scaled.
 *
 * Like the CLI, a packet the decoder rejects is skipped and counted; a read
 * error before the end of the file (truncated or damaged container) fails the
 * video, so a caller never stores features of half a file.
 */
#include "frames_priv.h"

#include <stdlib.h>
#include <string.h>

#include <libavutil/mathematics.h>

#include "qn_progress.h"

typedef struct run {
    fr_video *v;
    fr_stats *st;
    qn_error *err;
    fr_conv *conv;
    fr_fps f2, f3;
    AVFrame *pending, *frame;
    int has_pending;
    int64_t packets;       /* video packets read */
    int64_t last_ts, last_dur, default_dur;
} run;

/* Hands the pending frame to the conversion thread if a stream outputs it. */
static int emit(run *r, int64_t k2, int64_t k3)
{
    if (k2 <= 0 && k3 <= 0)
        return QN_OK;
    AVFrame *f = av_frame_alloc();
    if (!f)
        return qn_error_set(r->err, QN_ENOMEM, "%s: out of memory", r->v->path);
    av_frame_move_ref(f, r->pending);
    return fr_conv_push(r->conv, f, k2, k3);
}

static int on_frame(run *r, AVFrame *f)
{
    r->st->decoded++;
    int64_t ts = f->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) {
        if (!r->has_pending)
            return QN_OK;          /* vf_fps drops initial frames without a timestamp */
        ts = r->last_ts + r->last_dur;
    } else {
        ts += r->v->ts_offset;
    }
    const fr_opts *o = &r->v->opts;
    int64_t k2 = o->want_2d ? fr_fps_push(&r->f2, fr_fps_tick(&r->f2, ts), r->has_pending) : 0;
    int64_t k3 = o->want_3d ? fr_fps_push(&r->f3, fr_fps_tick(&r->f3, ts), r->has_pending) : 0;
    int rc = r->has_pending ? emit(r, k2, k3) : QN_OK;
    av_frame_unref(r->pending);
    av_frame_move_ref(r->pending, f);
    r->has_pending = 1;
    r->last_ts = ts;
    r->last_dur = r->pending->pkt_duration > 0 ? r->pending->pkt_duration : r->default_dur;
    return rc;
}

/* The CLI ends the filter input at the last frame's pts plus its duration,
 * passed through microseconds and back (ffmpeg.c send_filter_eof). */
static int on_eof(run *r)
{
    if (!r->has_pending)
        return QN_OK;
    int64_t us = av_rescale_q(r->last_ts, r->v->tb, AV_TIME_BASE_Q) +
                 av_rescale_q(r->last_dur, r->v->tb, AV_TIME_BASE_Q);
    int64_t end = av_rescale_q_rnd(us, AV_TIME_BASE_Q, r->v->tb,
                                   AV_ROUND_NEAR_INF | AV_ROUND_PASS_MINMAX);
    const fr_opts *o = &r->v->opts;
    int64_t k2 = o->want_2d ? fr_fps_eof(&r->f2, fr_fps_tick(&r->f2, end), 1) : 0;
    int64_t k3 = o->want_3d ? fr_fps_eof(&r->f3, fr_fps_tick(&r->f3, end), 1) : 0;
    return emit(r, k2, k3);
}

static int fail_av(run *r, int averr, const char *what)
{
    char why[512];
    int status = averr == AVERROR(ENOMEM) ? QN_ENOMEM : QN_EINPUT;
    double t = r->has_pending ? r->last_ts * av_q2d(r->v->tb) : 0.0;
    return qn_error_set(r->err, status, "%s: %s at %.3f s: %s", r->v->path, what, t,
                        qn_av_reason(averr, why, sizeof why));
}

static int drain(run *r)
{
    for (;;) {
        int rc = avcodec_receive_frame(r->v->dec, r->frame);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return QN_OK;
        if (rc == AVERROR(ENOMEM))
            return fail_av(r, rc, "decoding failed");
        if (rc < 0) {
            r->st->decode_errors++;   /* a damaged frame: the CLI goes on too */
            continue;
        }
        rc = on_frame(r, r->frame);
        av_frame_unref(r->frame);
        if (rc < 0)
            return rc;
    }
}

static int send(run *r, const AVPacket *pkt)
{
    for (;;) {
        int rc = avcodec_send_packet(r->v->dec, pkt);
        if (rc == AVERROR(EAGAIN)) {
            if ((rc = drain(r)) < 0)
                return rc;
            continue;
        }
        if (rc == AVERROR(ENOMEM))
            return fail_av(r, rc, "decoding failed");
        if (rc < 0 && rc != AVERROR_EOF)
            r->st->decode_errors++;
        return drain(r);
    }
}

static int decode_all(run *r, AVPacket *pkt)
{
    fr_video *v = r->v;
    int rc;
    qn_avlog_reset();
    while ((rc = av_read_frame(v->fmt, pkt)) >= 0) {
        int s = QN_OK;
        if (pkt->stream_index == v->stream) {
            r->packets++;
            s = send(r, pkt);
        }
        av_packet_unref(pkt);
        if (s < 0)
            return s;
    }
    if (rc != AVERROR_EOF)
        return fail_av(r, rc, "read error (truncated or damaged file)");
    if (v->fmt->pb && v->fmt->pb->error < 0)
        return fail_av(r, v->fmt->pb->error, "read error (truncated or damaged file)");
    /* Demuxers with an index (MP4) just stop at a cut: compare with the count. */
    int64_t want = v->fmt->streams[v->stream]->nb_frames;
    if (want > 0 && r->packets < want)
        return qn_error_set(r->err, QN_EINPUT,
                            "%s: truncated: the file ends after %lld of %lld video packets "
                            "(%.3f s)", v->path, (long long)r->packets, (long long)want,
                            r->has_pending ? r->last_ts * av_q2d(v->tb) : 0.0);
    if ((rc = send(r, NULL)) < 0)
        return rc;
    return on_eof(r);
}

static int setup(run *r)
{
    fr_video *v = r->v;
    fr_fps_init(&r->f2, v->tb, (AVRational){1, v->opts.fps_2d});
    fr_fps_init(&r->f3, v->tb, (AVRational){1, v->opts.fps_3d});
    AVStream *st = v->fmt->streams[v->stream];
    AVRational rate = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    r->default_dur = rate.num > 0 && rate.den > 0 ? av_rescale_q(1, av_inv_q(rate), v->tb) : 1;
    r->pending = av_frame_alloc();
    r->frame = av_frame_alloc();
    if (!r->pending || !r->frame)
        return qn_error_set(r->err, QN_ENOMEM, "%s: out of memory", v->path);
    return QN_OK;
}

static void teardown(run *r)
{
    av_frame_free(&r->pending);
    av_frame_free(&r->frame);
}

int fr_run(fr_video *v, const fr_sink *sink, fr_stats *st, qn_error *err)
{
    fr_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    if (v->ran)
        return qn_error_set(err, QN_EINTERNAL, "%s: fr_run called twice", v->path);
    v->ran = 1;
    double t0 = qn_now();
    run r = {.v = v, .st = st, .err = err};
    AVPacket *pkt = av_packet_alloc();
    int rc = pkt ? setup(&r) : qn_error_set(err, QN_ENOMEM, "%s: out of memory", v->path);
    if (rc == QN_OK)
        rc = fr_conv_start(&r.conv, v, sink, err);
    if (rc == QN_OK)
        rc = decode_all(&r, pkt);
    if (rc == QN_OK)
        rc = fr_conv_finish(r.conv, st, err);
    fr_conv_free(r.conv, err);
    av_packet_free(&pkt);
    teardown(&r);
    st->seconds = qn_now() - t0;
    return rc;
}
