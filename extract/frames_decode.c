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
 * video, so a caller never stores features of half a file. Demuxers without an
 * index (Matroska, WebM, AVI...) just stop at a cut, so at the end the packets'
 * reach is compared with the duration the container declares; and a video none
 * of whose frames decodes fails too rather than yield nothing.
 */
#include "frames_priv.h"

#include <stdlib.h>
#include <string.h>

#include <libavutil/mathematics.h>
#include <libavutil/time.h>

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
    int has_rate;          /* the stream declares a frame rate (default_dur is from it) */
    int64_t reach;         /* latest end (pts + duration) of any stream's packet, in
                            * AV_TIME_BASE; AV_NOPTS_VALUE while none had a timestamp */
    int64_t all_packets;   /* packets of every stream */
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
    r->st->decoded_hw += f->format == AV_PIX_FMT_CUDA;
    int64_t ts = f->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) {
        /* A raw elementary stream (.h264) has no timestamps at all: like the CLI,
         * which dates its packets itself, time the frames by the stream's rate,
         * the first at 0 and each next one a frame duration later. */
        if (r->has_pending)
            ts = r->last_ts + r->last_dur;
        else if (r->has_rate)
            ts = 0;
        else
            return QN_OK;          /* no rate either: vf_fps drops it */
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

/* pb: the file's I/O context for a demuxing error, NULL for a decoder's. */
static int fail_av(run *r, int averr, const AVIOContext *pb, const char *what)
{
    char why[512];
    int status = fr_av_status(averr, pb);
    if (pb && status == QN_EENV)
        what = "read error";   /* the file could not be read, not a damaged one */
    double t = r->has_pending ? r->last_ts * av_q2d(r->v->tb) : 0.0;
    const char *reason = qn_av_reason(fr_av_reason_code(averr, pb), why, sizeof why);
    if (fr_av_unreadable(averr, pb))
        return qn_error_unreadable(r->err, status, "%s: %s at %.3f s: %s", r->v->path, what, t,
                                   reason);
    return qn_error_set(r->err, status, "%s: %s at %.3f s: %s", r->v->path, what, t, reason);
}

static int drain(run *r)
{
    for (;;) {
        int rc = avcodec_receive_frame(r->v->dec, r->frame);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return QN_OK;
        if (rc == AVERROR(ENOMEM))
            return fail_av(r, rc, NULL, "decoding failed");
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
            return fail_av(r, rc, NULL, "decoding failed");
        if (rc < 0 && rc != AVERROR_EOF)
            r->st->decode_errors++;
        return drain(r);
    }
}

static void note_reach(run *r, const AVPacket *pkt)
{
    r->all_packets++;
    int64_t t = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    if (t == AV_NOPTS_VALUE || (unsigned)pkt->stream_index >= r->v->fmt->nb_streams)
        return;
    AVRational tb = r->v->fmt->streams[pkt->stream_index]->time_base;
    int64_t end = av_rescale_q(t + (pkt->duration > 0 ? pkt->duration : 0), tb, AV_TIME_BASE_Q);
    if (r->reach == AV_NOPTS_VALUE || end > r->reach)
        r->reach = end;
}

/* The duration the file declares, in AV_TIME_BASE from *start; 0 when it declares
 * none we can trust (none at all, or one guessed from the bitrate). In an AVI the
 * video stream's frame count over its rate counts too: the demuxer shortens the
 * duration it reports for a cut file, but keeps the header's frame count. Only
 * there: an MP4 cut with `-ss T -c copy` counts the pre-roll frames its edit list
 * hides (300 frames for 6 s shown). */
static int64_t declared(const fr_video *v, int64_t *start)
{
    const AVFormatContext *fmt = v->fmt;
    const AVStream *st = fmt->streams[v->stream];
    int64_t dur = 0;
    if (fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE)
        return 0;
    if (fmt->duration > 0) {
        *start = fmt->start_time != AV_NOPTS_VALUE ? fmt->start_time : 0;
        dur = fmt->duration;
    } else if (st->duration > 0) {
        *start = st->start_time != AV_NOPTS_VALUE
               ? av_rescale_q(st->start_time, st->time_base, AV_TIME_BASE_Q) : 0;
        dur = av_rescale_q(st->duration, st->time_base, AV_TIME_BASE_Q);
    }
    AVRational rate = st->avg_frame_rate;
    if (dur > 0 && !strcmp(fmt->iformat->name, "avi") && st->nb_frames > 0 && rate.num > 0 &&
        rate.den > 0) {
        int64_t counted = av_rescale_q(st->nb_frames, av_inv_q(rate), AV_TIME_BASE_Q);
        if (counted > dur)
            dur = counted;
    }
    return dur;
}

/* The demuxer reached the end of the file: did every stream's packets reach the
 * declared duration? The latest packet end over all streams is compared, so a
 * file whose audio outlasts its video passes; a cut file's streams all stop
 * early. The slack, max(0.5 s, 2%, two video frames), covers muxers' rounding
 * and last packets stored without a duration (a slideshow's frames are long);
 * 1 s would let 60% of a 2 s Matroska file through. `tight` asks for the reach
 * within two frames (0.1 s at least) instead: for MP4s whose index says samples
 * are missing. A file that starts late (-output_ts_offset, a -copyts remux of a
 * broadcast capture) may have been given its end time as its duration by its
 * muxer: where the declared duration lies past the start, reaching it as an end
 * time passes too (a video marked failed stays failed). */
typedef struct reach {
    int loose, tight;      /* complete by either slack; 1 when nothing can be compared */
    int as_end;            /* the message compares end times */
    double got, want;      /* seconds, for the message */
} reach;

static void measure_reach(run *r, reach *m)
{
    int64_t start = 0, dur = declared(r->v, &start);
    m->loose = m->tight = 1;
    m->as_end = 0;
    if (dur <= 0 || (r->reach == AV_NOPTS_VALUE && r->all_packets > 0))
        return;             /* nothing declared, or packets without timestamps */
    double s0 = start / (double)AV_TIME_BASE, want = dur / (double)AV_TIME_BASE;
    double end = r->reach == AV_NOPTS_VALUE ? s0 : r->reach / (double)AV_TIME_BASE;
    double len = end > s0 ? end - s0 : 0.0;
    double tight = r->has_rate ? 2.0 * r->default_dur * av_q2d(r->v->tb) : 0.0;
    if (tight < 0.1)
        tight = 0.1;
    double slack = want * 0.02 > 0.5 ? want * 0.02 : 0.5;
    if (tight > slack)
        slack = tight;
    int may_be_end = s0 > 0 && want > s0;
    m->loose = len >= want - slack || (may_be_end && end >= want - slack);
    m->tight = len >= want - tight || (may_be_end && end >= want - tight);
    m->as_end = may_be_end;
    m->got = may_be_end ? end : len;
    m->want = want;
}

static int decode_all(run *r, AVPacket *pkt)
{
    fr_video *v = r->v;
    int rc;
    qn_avlog_reset();
    int again = 0;
    for (;;) {
        rc = av_read_frame(v->fmt, pkt);
        if (rc == AVERROR(EAGAIN) && again++ < 500) { /* as the CLI: wait, then retry */
            av_usleep(10000);
            continue;
        }
        if (rc < 0)
            break;
        again = 0;
        int s = QN_OK;
        note_reach(r, pkt);
        if (pkt->stream_index == v->stream) {
            r->packets++;
            r->st->packets++;
            s = send(r, pkt);
        }
        av_packet_unref(pkt);
        if (s < 0)
            return s;
    }
    const char *bad = "read error (truncated or damaged file)";
    if (rc != AVERROR_EOF)
        return fail_av(r, rc, v->pb, bad);
    if (v->pb->error < 0)
        return fail_av(r, v->pb->error, v->pb, bad);
    /* MP4's index lists every sample, and its demuxer just stops at a cut: compare
     * with the count. Only there: an AVI header's frame count, say, may include a
     * frame the demuxer never returns (the CLI reads such files whole). Fewer
     * packets pass only with the packets' reach at the declared end, to a frame or
     * two: an edit list that stops early (a pass-through trim) leaves samples in
     * the index that the CLI never plays. */
    const AVStream *st = v->fmt->streams[v->stream];
    int64_t want = strstr(v->fmt->iformat->name, "mp4") ? st->nb_frames : 0;
    reach m;
    measure_reach(r, &m);
    if (want > 0 && r->packets < want && !m.tight)
        return qn_error_set(r->err, QN_EINPUT,
                            "%s: truncated: the file ends after %lld of %lld video packets "
                            "(%.3f s)", v->path, (long long)r->packets, (long long)want,
                            r->has_pending ? r->last_ts * av_q2d(v->tb) : 0.0);
    if (!m.loose)
        return qn_error_set(r->err, QN_EINPUT, m.as_end
                            ? "%s: truncated: its packets end at %.3f s, short of its declared "
                              "end or duration %.3f s"
                            : "%s: truncated: the file ends at %.3f s of its declared %.3f s",
                            v->path, m.got, m.want);
    if ((rc = send(r, NULL)) < 0)
        return rc;
    if (r->st->decoded == 0)   /* zeroed or random data, a codec mismatch */
        return qn_error_set(r->err, QN_EINPUT, "%s: no decodable video frames "
                            "(%lld packets rejected)", v->path, (long long)r->st->decode_errors);
    return on_eof(r);
}

static int setup(run *r)
{
    fr_video *v = r->v;
    fr_fps_init(&r->f2, v->tb, (AVRational){1, v->opts.fps_2d});
    fr_fps_init(&r->f3, v->tb, (AVRational){1, v->opts.fps_3d});
    r->f2.fill_lead = r->f3.fill_lead = v->fmt->nb_streams > 1;   /* "vscfr", frames_fps.c */
    AVStream *st = v->fmt->streams[v->stream];
    AVRational rate = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    r->has_rate = rate.num > 0 && rate.den > 0;
    r->default_dur = r->has_rate ? av_rescale_q(1, av_inv_q(rate), v->tb) : 1;
    if (r->default_dur <= 0)
        r->default_dur = 1;
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
    run r = {.v = v, .st = st, .err = err, .reach = AV_NOPTS_VALUE};
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
