/* frames_priv.h — internals shared by extract/frames_*.c (not installed). */
#ifndef QN_FRAMES_PRIV_H
#define QN_FRAMES_PRIV_H

#include <stdint.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/rational.h>

#include "av_log_capture.h" /* FFmpeg's reasons: qn_av_reason, qn_avlog_* */
#include "frames.h"

/* ---- frames_fps.c: FFmpeg's fps filter (libavfilter/vf_fps.c, round=near,
 * eof_action=round, no start_time) as a pure timestamp machine, followed by the
 * CLI's constant-rate output (leading ticks before the first one filled with
 * the first frame). The caller keeps one pending frame; when the next frame
 * arrives (or at EOF) it asks how many output ticks the pending frame fills. */
typedef struct fr_fps {
    AVRational in_tb, out_tb;
    int started;       /* next is valid */
    int64_t next;      /* next output tick, in out_tb */
    int64_t emitted;   /* output frames so far */
    int fill_lead;     /* 1 (default): repeat the first frame over ticks before it, as
                        * the CLI does when the file has several streams; 0 for one */
} fr_fps;

void fr_fps_init(fr_fps *f, AVRational in_tb, AVRational out_tb);
/* The frame timestamp `in_pts` (in_tb) rounded to the output tick grid. */
int64_t fr_fps_tick(const fr_fps *f, int64_t in_pts);
/* A frame whose rounded tick is `tick` arrives; `has_pending` says whether a
 * previous frame is buffered. Returns how many copies of the pending frame to
 * output now (0 = it is dropped); the new frame becomes the pending one. */
int64_t fr_fps_push(fr_fps *f, int64_t tick, int has_pending);
/* End of stream at `end_tick` (the rounded end of the last frame): copies of the
 * pending frame still to output. */
int64_t fr_fps_eof(fr_fps *f, int64_t end_tick, int has_pending);

/* ---- frames_scale.c: one libswscale conversion set up as vf_scale does it. */
typedef struct fr_scaler {
    struct SwsContext *sws;
    int src_w, src_h, src_fmt;     /* what sws was made for */
    int cs, range;                 /* colour details last applied */
    int dst_w, dst_h;
    int threads;                   /* swscale slice threads */
    AVFrame *out;                  /* aligned rgb24 like ff_get_video_buffer */
} fr_scaler;

int fr_scaler_init(fr_scaler *s, int dst_w, int dst_h, int threads);
/* Converts `src` (a software frame) to s->out (dst_w x dst_h rgb24). */
int fr_scaler_run(fr_scaler *s, const AVFrame *src, const char *path, qn_error *err);
void fr_scaler_free(fr_scaler *s);

/* ---- frames_conv.c: the conversion thread (scale, crop, chunk, call the sink). */
enum { FR_CONV_DEPTH = 8 };   /* decoded frames queued for conversion at most */
typedef struct fr_conv fr_conv;
int fr_conv_start(fr_conv **out, fr_video *v, const fr_sink *sink, qn_error *err);
/* Queues frame `f` (the queue takes the reference) to be output k2 times in the 2D
 * stream and k3 times in the 3D stream; waits while the queue is full. Returns
 * QN_OK or, once the conversion side has failed, its status (f is then freed). */
int fr_conv_push(fr_conv *c, AVFrame *f, int64_t k2, int64_t k3);
/* End of stream: pads and delivers the last 3D chunk, waits for the thread, fills
 * the delivery counts of st; returns the first conversion/sink status. */
int fr_conv_finish(fr_conv *c, fr_stats *st, qn_error *err);
/* Stops the thread if still running (dropping queued frames) and frees. NULL ok. */
void fr_conv_free(fr_conv *c, qn_error *err);

/* ---- frames_hw.c: NVDEC through FFmpeg's cuda hwaccel. */
/* Tries to attach a CUDA device to `dec` before avcodec_open2. Returns 1 when
 * attached, 0 when not (note says why), negative status only for FR_HW_CUDA. */
int fr_hw_attach(AVCodecContext *dec, const AVCodec *codec, int mode, char *note,
                 size_t note_size, const char *path, qn_error *err);
/* 1 when NVDEC frames live in the GPU's primary context (the CUDA runtime's, so that
 * fr_opts.convert's CUDA code can read them); 0 with FFmpeg's own context or no GPU. */
int fr_hw_primary(void);
/* Returns a software view of `f`: f itself, or `tmp` filled by a download. */
int fr_hw_download(const AVFrame *f, AVFrame *tmp, const AVFrame **sw,
                   const char *path, qn_error *err);

/* ---- frames_rotate.c: the CLI's autorotation from the stream's display matrix. */
enum { FR_ROT_NONE = 0, FR_ROT_HFLIP = 1, FR_ROT_VFLIP = 2, /* 180 degrees: both */
       FR_ROT_CLOCK = 4, FR_ROT_CCLOCK, FR_ROT_CCLOCK_FLIP, FR_ROT_CLOCK_FLIP };
/* What the CLI would insert for `st` (transpose dir / hflip / vflip), or NONE;
 * *degrees: the clockwise turn applied (0 when none is). */
int fr_rotation_of(const AVStream *st, int *degrees);
/* 1 when `rot` swaps width and height. */
int fr_rotation_transposes(int rot);
typedef struct fr_rotator {
    int rot;                 /* FR_ROT_* */
    AVFrame *out, *tmp;      /* the turned frame; a yuv444p copy when the format needs one */
    struct SwsContext *sws;  /* to yuv444p */
} fr_rotator;
/* *rotated (r->out, valid until the next call) = src turned by r->rot. */
int fr_rotate_frame(fr_rotator *r, const AVFrame *src, const AVFrame **rotated,
                    const char *path, qn_error *err);
void fr_rotator_free(fr_rotator *r);

/* ---- frames_open.c */
/* 1 when errno `e` means the file cannot be read now (access, I/O, limits). */
int fr_env_errno(int e);
/* The status for FFmpeg's `averr` (the contract in frames.h): QN_ENOMEM, QN_EENV
 * or QN_EINPUT. `pb`: the file's I/O context when the error came while reading it
 * (then only a failed read recorded in pb->error, or a resource limit, is QN_EENV),
 * NULL when no file content was involved (opening the file, the decoder). */
int fr_av_status(int averr, const AVIOContext *pb);
/* 1 when that status is QN_EENV because the file could not be opened or read (not a
 * limit of the process): qn_error_unreadable's case. */
int fr_av_unreadable(int averr, const AVIOContext *pb);
/* The code to explain a failure with: pb->error when that read error decided the status. */
int fr_av_reason_code(int averr, const AVIOContext *pb);
struct fr_video {
    fr_opts opts;
    fr_info info;
    char *path;
    AVFormatContext *fmt;
    AVIOContext *pb;         /* the file, opened by us (fmt has AVFMT_FLAG_CUSTOM_IO) */
    AVCodecContext *dec;
    int stream;              /* video stream index */
    AVRational tb;           /* its time base */
    int64_t ts_offset;       /* added to timestamps, like the CLI's -start_time shift */
    int rot;                 /* FR_ROT_*: autorotation applied before scaling */
    int ran;
    char codec_name[64];
};

#endif
