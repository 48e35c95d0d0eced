/* frames_open.c — open and probe a video, open its decoder; FFmpeg's reasons.
 *
 * FFmpeg's terse codes get their detail from the shared log capture
 * (av_log_capture.h); qn_av_reason appends it: "Invalid data found when
 * processing input (moov atom not found)".
 */
#include "frames_priv.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavutil/log.h>

void fr_opts_default(fr_opts *o)
{
    memset(o, 0, sizeof *o);
    o->threads = 0;
    o->want_2d = 1;
    o->want_3d = 1;
    o->fps_2d = 1;
    o->short_2d = 224;
    o->fps_3d = 24;
    o->short_3d = 112;
    o->crop_3d = 112;
    o->chunk_3d = 16;
    o->hw = FR_HW_NONE;
}

int fr_scaled_size(int w, int h, int s, int *ow, int *oh)
{
    if (w <= 0 || h <= 0 || s <= 0)
        return QN_EINPUT;
    /* video_loader.py: h >= w -> (int(h*s/w), s) else (s, int(w*s/h)); the
     * division is a float one, so truncate the exact quotient. */
    if (h >= w) {
        *ow = s;
        *oh = (int)((int64_t)h * s / w);
    } else {
        *oh = s;
        *ow = (int)((int64_t)w * s / h);
    }
    return QN_OK;
}

static int check_opts(const fr_opts *o, const char *path, qn_error *err)
{
    if (o->fps_2d <= 0 || o->fps_3d <= 0 || o->short_2d <= 0 || o->short_3d <= 0 ||
        o->crop_3d <= 0 || o->crop_3d > o->short_3d || o->chunk_3d <= 0 || o->threads < 0)
        return qn_error_set(err, QN_EUSAGE, "%s: bad frame sampling options", path);
    return QN_OK;
}

static int fail_av(qn_error *err, int averr, const char *path, const char *what)
{
    char why[512];
    int status = averr == AVERROR(ENOMEM) ? QN_ENOMEM
               : (averr == AVERROR(EACCES) || averr == AVERROR(EMFILE)) ? QN_EENV : QN_EINPUT;
    return qn_error_set(err, status, "%s: %s: %s", path, what, qn_av_reason(averr, why, sizeof why));
}

static int open_container(fr_video *v, qn_error *err)
{
    struct stat st;
    int empty = stat(v->path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
    qn_avlog_reset();
    int rc = avformat_open_input(&v->fmt, v->path, NULL, NULL);
    if (rc < 0)
        return fail_av(err, rc, v->path, empty ? "cannot open (empty file, 0 bytes)" : "cannot open");
    rc = avformat_find_stream_info(v->fmt, NULL);
    if (rc < 0)
        return fail_av(err, rc, v->path, "cannot read stream info");
    rc = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (rc < 0)
        return qn_error_set(err, QN_EINPUT, "%s: no video stream", v->path);
    v->stream = rc;
    return QN_OK;
}

static int open_decoder(fr_video *v, qn_error *err)
{
    AVStream *st = v->fmt->streams[v->stream];
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec)
        return qn_error_set(err, QN_EINPUT, "%s: no decoder for codec %s", v->path,
                            avcodec_get_name(st->codecpar->codec_id));
    v->dec = avcodec_alloc_context3(codec);
    if (!v->dec)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", v->path);
    int rc = avcodec_parameters_to_context(v->dec, st->codecpar);
    if (rc < 0)
        return fail_av(err, rc, v->path, "bad codec parameters");
    v->dec->pkt_timebase = st->time_base;
    int hw = 0;
    if (v->opts.hw != FR_HW_NONE) {
        hw = fr_hw_attach(v->dec, codec, v->opts.hw, v->info.hw_note, sizeof v->info.hw_note,
                          v->path, err);
        if (hw < 0)
            return hw;
    }
    if (hw)   /* surfaces held by the pending frame and the conversion queue */
        v->dec->extra_hw_frames = FR_CONV_DEPTH + 2;
    /* The library default is 1 thread; the CLI picks "auto". Say it explicitly. */
    v->dec->thread_count = hw ? 1 : v->opts.threads;
    v->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    qn_avlog_reset();
    rc = avcodec_open2(v->dec, codec, NULL);
    if (rc < 0)
        return fail_av(err, rc, v->path, "cannot open the decoder");
    v->info.hw = hw;
    snprintf(v->codec_name, sizeof v->codec_name, "%s%s", codec->name, hw ? " (cuda)" : "");
    v->info.codec = v->codec_name;
    return QN_OK;
}

static void fill_info(fr_video *v)
{
    AVStream *st = v->fmt->streams[v->stream];
    fr_info *in = &v->info;
    in->path = v->path;
    in->width = st->codecpar->width;
    in->height = st->codecpar->height;
    if (v->fmt->duration > 0)
        in->duration = v->fmt->duration / (double)AV_TIME_BASE;
    else if (st->duration > 0)
        in->duration = st->duration * av_q2d(st->time_base);
    if (st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0)
        in->fps = av_q2d(st->avg_frame_rate);
    v->tb = st->time_base;
    /* The CLI shifts every input timestamp by -start_time of the file. */
    v->ts_offset = v->fmt->start_time == AV_NOPTS_VALUE ? 0
                 : -av_rescale_q(v->fmt->start_time, AV_TIME_BASE_Q, st->time_base);
    in->est_2d = (int64_t)(in->duration * v->opts.fps_2d + 0.5);
    int64_t n3 = (int64_t)(in->duration * v->opts.fps_3d + 0.5);
    in->est_3d_chunks = (n3 + v->opts.chunk_3d - 1) / v->opts.chunk_3d;
}

static int set_sizes(fr_video *v, qn_error *err)
{
    fr_info *in = &v->info;
    v->rot = fr_rotation_of(v->fmt->streams[v->stream], &in->rotation);
    int tr = fr_rotation_transposes(v->rot);
    int w = tr ? in->height : in->width, h = tr ? in->width : in->height;
    if (fr_scaled_size(w, h, v->opts.short_2d, &in->w2d, &in->h2d) < 0 ||
        fr_scaled_size(w, h, v->opts.short_3d, &in->w3d, &in->h3d) < 0)
        return qn_error_set(err, QN_EINPUT, "%s: video stream has no frame size (%dx%d)",
                            v->path, in->width, in->height);
    in->side3d = v->opts.crop_3d;
    in->crop_x = (in->w3d - in->side3d) / 2;
    in->crop_y = (in->h3d - in->side3d) / 2;
    return QN_OK;
}

int fr_open(fr_video **out, const char *path, const fr_opts *o, qn_error *err)
{
    *out = NULL;
    qn_avlog_capture();
    fr_opts def;
    if (!o) {
        fr_opts_default(&def);
        o = &def;
    }
    int rc = check_opts(o, path, err);
    if (rc < 0)
        return rc;
    fr_video *v = calloc(1, sizeof *v);
    if (!v || !(v->path = strdup(path))) {
        free(v);
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
    }
    v->opts = *o;
    rc = open_container(v, err);
    if (rc == QN_OK) {
        fill_info(v);
        rc = set_sizes(v, err);
    }
    if (rc == QN_OK)
        rc = open_decoder(v, err);
    if (rc < 0) {
        fr_close(v);
        return rc;
    }
    *out = v;
    return QN_OK;
}

const fr_info *fr_get_info(const fr_video *v)
{
    return &v->info;
}

void fr_close(fr_video *v)
{
    if (!v)
        return;
    avcodec_free_context(&v->dec);
    avformat_close_input(&v->fmt);
    free(v->path);
    free(v);
}
