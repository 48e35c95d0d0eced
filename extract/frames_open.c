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

/* Access and environment errnos: the file cannot be read now (missing, no
 * permission, an I/O error, a limit of the process or the system), which a later
 * run may not meet; anything else an FFmpeg call returns is the content's fault. */
int fr_env_errno(int e)
{
    switch (e) {
    case ENOENT: case ENOTDIR: case EACCES: case EPERM: case EIO: case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EMFILE: case ENFILE: case ENODEV: case ENXIO: case ESTALE: case ETIMEDOUT:
    case ELOOP: case ENAMETOOLONG: case EINTR: case EBUSY: case ENOLINK: case EREMOTEIO:
    case ENOMEDIUM: case ENOTCONN: case ECONNRESET: case ECONNABORTED: case EHOSTDOWN:
    case EHOSTUNREACH: case ENETDOWN: case ENETUNREACH: case ENOSPC: case EDQUOT:
        return 1;
    default:
        return 0;
    }
}

/* Resource limits: the environment's whoever reports them. */
static int limit_errno(int e)
{
    return e == EMFILE || e == ENFILE || e == EAGAIN || e == EWOULDBLOCK;
}

int fr_av_status(int averr, const AVIOContext *pb)
{
    int pberr = pb && pb->error < 0 ? pb->error : 0;
    if (averr == AVERROR(ENOMEM) || pberr == AVERROR(ENOMEM))
        return QN_ENOMEM;
    if (!pb)
        return averr < 0 && fr_env_errno(AVUNERROR(averr)) ? QN_EENV : QN_EINPUT;
    /* Reading the file: only a failed read (recorded in pb->error) is the
     * environment's; demuxers return EIO themselves for some short reads. */
    if (pberr && fr_env_errno(AVUNERROR(pberr)))
        return QN_EENV;
    return averr < 0 && limit_errno(AVUNERROR(averr)) ? QN_EENV : QN_EINPUT;
}

int fr_av_unreadable(int averr, const AVIOContext *pb)
{
    if (fr_av_status(averr, pb) != QN_EENV)
        return 0;
    if (pb && pb->error < 0 && fr_env_errno(AVUNERROR(pb->error)) &&
        !limit_errno(AVUNERROR(pb->error)))
        return 1;   /* a failed read of the file */
    return !pb && !limit_errno(AVUNERROR(averr)); /* opening it: missing, access, I/O */
}

/* FFmpeg's reason for a failure while reading: the read error itself when there was one. */
int fr_av_reason_code(int averr, const AVIOContext *pb)
{
    if (pb && pb->error < 0 && pb->error != averr && fr_av_status(averr, pb) != QN_EINPUT)
        return pb->error;
    return averr;
}

static int fail_av(qn_error *err, int averr, const AVIOContext *pb, const char *path,
                   const char *what)
{
    char why[512];
    int status = fr_av_status(averr, pb);
    const char *reason = qn_av_reason(fr_av_reason_code(averr, pb), why, sizeof why);
    if (fr_av_unreadable(averr, pb))
        return qn_error_unreadable(err, status, "%s: %s: %s", path, what, reason);
    return qn_error_set(err, status, "%s: %s: %s", path, what, reason);
}

static const char *file_kind(mode_t m)
{
    return S_ISDIR(m) ? "directory" : S_ISFIFO(m) ? "fifo" : S_ISCHR(m) ? "character device"
         : S_ISBLK(m) ? "block device" : S_ISSOCK(m) ? "socket" : "not a plain file";
}

/* Only regular files (a symlink to one is fine): avformat_open_input blocks
 * forever on a FIFO with no writer, and a device or directory is no video. */
static int check_file(const char *path, int *empty, qn_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        return fail_av(err, AVERROR(e), NULL, path, "cannot open");
    }
    if (!S_ISREG(st.st_mode))
        return qn_error_set(err, QN_EINPUT, "%s: not a regular file (%s)", path,
                            file_kind(st.st_mode));
    *empty = st.st_size == 0;
    return QN_OK;
}

/* We open the file's I/O context ourselves (as "file:" + path, so that a name
 * with a colon is never taken for a protocol) and hand it to the demuxer: after
 * a failure its pb->error still tells a read error from bad content. */
static int open_io(fr_video *v, const char *what, qn_error *err)
{
    size_t n = strlen(v->path) + 6;
    char *url = malloc(n);
    if (!url)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", v->path);
    snprintf(url, n, "file:%s", v->path);
    int rc = avio_open2(&v->pb, url, AVIO_FLAG_READ, NULL, NULL);
    free(url);
    if (rc < 0)
        return fail_av(err, rc, NULL, v->path, what);
    if (!(v->fmt = avformat_alloc_context()))
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", v->path);
    v->fmt->pb = v->pb;
    return QN_OK;
}

/* The best video stream; a cover picture (an mp3's or m4a's attached picture) is none. */
static int pick_stream(fr_video *v, qn_error *err)
{
    int rc = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (rc < 0)
        return qn_error_set(err, QN_EINPUT, "%s: no video stream", v->path);
    if (v->fmt->streams[rc]->disposition & AV_DISPOSITION_ATTACHED_PIC) {
        for (unsigned i = 0; i < v->fmt->nb_streams; i++) {
            const AVStream *st = v->fmt->streams[i];
            if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
                !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
                return v->stream = (int)i, QN_OK;
        }
        return qn_error_set(err, QN_EINPUT, "%s: no video stream (only an attached picture)",
                            v->path);
    }
    v->stream = rc;
    return QN_OK;
}

static int open_container(fr_video *v, qn_error *err)
{
    int empty = 0;
    qn_avlog_reset();   /* no stale detail from an earlier video in our reasons */
    int rc = check_file(v->path, &empty, err);
    if (rc < 0)
        return rc;
    const char *what = empty ? "cannot open (empty file, 0 bytes)" : "cannot open";
    if ((rc = open_io(v, what, err)) < 0)
        return rc;
    rc = avformat_open_input(&v->fmt, v->path, NULL, NULL);   /* frees fmt on failure */
    if (rc < 0)
        return fail_av(err, rc, v->pb, v->path, what);
    rc = avformat_find_stream_info(v->fmt, NULL);
    if (rc < 0)
        return fail_av(err, rc, v->pb, v->path, "cannot read stream info");
    return pick_stream(v, err);
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
        return fail_av(err, rc, NULL, v->path, "bad codec parameters");
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
        return fail_av(err, rc, NULL, v->path, "cannot open the decoder");
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
    avformat_close_input(&v->fmt);   /* leaves our own pb open */
    avio_closep(&v->pb);
    free(v->path);
    free(v);
}
