/* frames.h — one demux+decode pass per video, two sampled frame streams.
 *
 * HowTo100M's feature extractor runs the ffmpeg CLI twice per video:
 *   2D: -vf fps=1,scale=W:H            -pix_fmt rgb24  (short side 224, aspect kept)
 *   3D: -vf fps=24,scale=W:H,crop=112:112:x:y -pix_fmt rgb24  (short side 112)
 * This module decodes the video once and produces both streams with the same
 * frame choice as FFmpeg's fps filter (round=near, first tick at the first
 * frame's rounded timestamp, last tick before the rounded end of the last
 * frame, leading ticks filled as the CLI's constant-rate output does) and the
 * same libswscale conversion as the scale filter (bicubic, MPEG-2 chroma
 * siting for yuv420p, the frame's colour matrix and range), so the frame
 * counts equal the CLI's and the pixels equal them to the bit on CPU decode.
 * Only frames that a stream emits are converted; the rest are decoded (the
 * codec needs them) and dropped.
 *
 * Sizes follow the extractor's _get_output_dim on the stream's coded width and
 * height (swapped when the display matrix turns the picture by 90/270 degrees,
 * as the CLI autorotates): the short side becomes S and the long side
 * int(long*S/short), e.g. 1280x720 -> 398x224 (2D) and 199x112, centre crop at
 * x=int((199-112)/2)=43.
 *
 * Process-wide side effect: the first fr_open installs quern's one av_log
 * callback (extract/av_log_capture.h, shared with quern-clips): FFmpeg prints
 * nothing and each thread's last error line goes into our messages.
 *
 * Statuses (fr_open, fr_run), the contract with callers that keep a store:
 *   QN_EINPUT  the file's CONTENT is bad: not a regular file (FIFO, directory,
 *              device), empty, unknown format, no video stream (an attached
 *              picture is none), no decoder, damaged or truncated data (a read
 *              that ends early, an MP4 with fewer samples than its index, or any
 *              container whose packets all stop short of the duration it
 *              declares), no frame that decodes. It stays bad until the file
 *              changes: a caller may mark the video failed for good.
 *   QN_EENV    the environment. With err->unreadable set (qn_error_unreadable):
 *              this file cannot be READ now (missing, permission denied, an I/O
 *              error while reading: ENOENT ENOTDIR EACCES EPERM EIO ENODEV ENXIO
 *              ESTALE ETIMEDOUT ELOOP ENAMETOOLONG and kin, fr_env_errno in
 *              frames_open.c); a later run may succeed, so a caller skips the video
 *              without marking it. Without: the whole run's trouble (thread or
 *              file-descriptor limits, FR_HW_CUDA without a usable GPU, a GPU frame
 *              that cannot be downloaded), which no other video will escape.
 *   QN_ENOMEM  out of memory.
 * Every message is one line, "<path>: <what>: <reason>".
 *
 * Use:  fr_opts o; fr_opts_default(&o); o.threads = 2;
 *       fr_video *v; if (fr_open(&v, path, &o, &err) < 0) ...;
 *       fr_run(v, &sink, &stats, &err); fr_close(v);
 * A handle decodes one video once; it is not thread-safe, but distinct handles
 * may run in parallel threads. fr_run feeds the decoder (opts.threads frame
 * threads) from the calling thread and scales on one conversion thread of its
 * own (3D with opts.threads swscale slices); the sink is called on that
 * conversion thread, in order, never concurrently.
 */
#ifndef QN_FRAMES_H
#define QN_FRAMES_H

#include <stdint.h>
#include "qn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum fr_hw {
    FR_HW_NONE = 0, /* CPU decode */
    FR_HW_AUTO = 1, /* NVDEC through FFmpeg's cuda hwaccel when a GPU is present, else CPU */
    FR_HW_CUDA = 2  /* NVDEC or fail (QN_EENV) */
};

/* A decoded frame's planes, for fr_opts.convert (plain data, no FFmpeg types). */
typedef struct fr_planes {
    const uint8_t *y, *u, *v; /* NV12: u is the interleaved UV plane, v NULL */
    int y_pitch, uv_pitch;    /* bytes per row */
    int nv12;                 /* 1: NV12 (u holds U and V interleaved), 0: yuv420p */
    int device;               /* 1: the planes are in GPU memory (an NVDEC frame) */
    int w, h;
    int colorspace;           /* AVCOL_SPC_* as tagged */
    int full_range;           /* 1: JPEG range */
} fr_planes;

/* Converts a frame outside this module: scale f to dst_w x dst_h as the CPU path's
 * bicubic does, keep the crop_w x crop_h window at (crop_x, crop_y) and write it
 * as rgb24 (crop_h rows of crop_w*3 bytes) to `out`, in host memory. quern-features
 * converts NVDEC frames on the GPU this way (kn_cuda_convert), with no download and
 * no libswscale. Returns QN_OK, 1 to decline (libswscale converts that frame), or a
 * negative status with err filled (the module adds the video's path). */
typedef int (*fr_convert_fn)(void *user, const fr_planes *f, int dst_w, int dst_h, int crop_x,
                             int crop_y, int crop_w, int crop_h, uint8_t *out, qn_error *err);

typedef struct fr_opts {
    int threads;    /* decoder threads and 3D swscale slice threads (the CLI runs its
                     * scale filter threaded too); 0 = FFmpeg's automatic choice */
    int want_2d;    /* produce the 1 fps stream (default 1) */
    int want_3d;    /* produce the 24 fps chunk stream (default 1) */
    int fps_2d;     /* 1 */
    int short_2d;   /* 224 */
    int fps_3d;     /* 24 */
    int short_3d;   /* 112 */
    int crop_3d;    /* 112: square centre crop after scaling */
    int chunk_3d;   /* 16 frames per chunk; the last one zero-padded */
    int hw;         /* enum fr_hw, default FR_HW_NONE */
    fr_convert_fn convert; /* NULL (default): libswscale; else 8-bit NVDEC frames go to it
                            * (when in the primary context; others use libswscale) */
    void *convert_user;
    int convert_all;       /* 1: 8-bit 4:2:0 frames in host memory too: CPU-decoded
                            * yuv420p/yuvj420p, and NVDEC frames it declined, downloaded
                            * (NV12); rotated videos and other formats use libswscale */
} fr_opts;

void fr_opts_default(fr_opts *o);

/* Sets up NVDEC decoding for the whole process now (FR_HW_AUTO/CUDA do it at the
 * first fr_open otherwise): a program that also runs CUDA code calls this before
 * it, so that FFmpeg's decoders and its kernels share the GPU's primary context.
 * Does nothing useful and no harm without a GPU. */
void fr_hw_prepare(void);

typedef struct fr_video fr_video;   /* opaque: one open video */

/* What fr_open learnt; valid until fr_close. */
typedef struct fr_info {
    const char *path;
    const char *codec;       /* decoder name, e.g. "h264" or "h264 (cuda)" */
    int width, height;       /* the stream's coded size (what ffprobe reports) */
    double duration;         /* seconds, container or stream; 0 if unknown */
    double fps;              /* average frame rate; 0 if unknown */
    int rotation;            /* clockwise degrees the display matrix turns the picture
                                (0, 90, 180, 270); frames come out turned, as the CLI's */
    int w2d, h2d;            /* 2D frame size (rgb24, rows w2d*3 bytes, no padding) */
    int w3d, h3d;            /* 3D size before the crop */
    int crop_x, crop_y;      /* crop origin in the w3d x h3d image */
    int side3d;              /* crop side: 3D frames are side3d x side3d rgb24 */
    int64_t est_2d;          /* estimated 2D frames (from the duration; for sizing buffers) */
    int64_t est_3d_chunks;   /* estimated 3D chunks */
    int hw;                  /* 1 when frames come from NVDEC */
    char hw_note[256];       /* why FR_HW_AUTO fell back to the CPU ("" if it did not) */
} fr_info;

/* Receives the frames, in order. A callback returns QN_OK to go on or a negative
 * QN_E* status (after filling its own qn_error via user data) to stop fr_run,
 * which then returns that status. Buffers are only valid during the call. */
typedef struct fr_sink {
    void *user;
    /* 2D frame `index` (0, 1, ...: one per second): rgb24, h rows of w*3 bytes. */
    int (*on_2d)(void *user, int64_t index, const uint8_t *rgb, int w, int h);
    /* 3D chunk `index`: chunk_3d frames of side x side rgb24, (T,H,W,C) contiguous;
     * frames n_real.. are zero (only in the last chunk). */
    int (*on_3d)(void *user, int64_t index, const uint8_t *rgb, int n_real, int side);
} fr_sink;

typedef struct fr_stats {
    int64_t decoded;        /* frames out of the decoder */
    int64_t n2d;            /* 2D frames delivered */
    int64_t n3d;            /* real 3D frames (before padding) */
    int64_t chunks3d;       /* 3D chunks delivered */
    int64_t converted;      /* decoded frames that were scaled at least once */
    int64_t converted_ext;  /* of those, converted by fr_opts.convert (the GPU) */
    int64_t packets;        /* video packets read */
    int64_t decoded_hw;     /* of the decoded frames, those NVDEC gave (fr_info.hw only says
                             * it was set up: a stream it rejects is decoded in software) */
    int64_t decode_errors;  /* packets the decoder rejected (skipped, as ffmpeg does); worth
                             * a warning when > 0 on a run that succeeded */
    double seconds;         /* wall time of fr_run */
} fr_stats;

/* Opens and probes `path` (a regular file, or a symlink to one), picks the best
 * video stream and opens its decoder. On failure returns QN_EINPUT (not a regular
 * file, zero-byte, no moov, unknown format, no video stream, no decoder), QN_EENV
 * (missing, no permission, read error, limits) or QN_ENOMEM, as the contract above
 * says, and fills err with "<path>: <what>: <reason>", e.g. "v.mp4: cannot open:
 * No such file or directory" or "p: not a regular file (fifo)"; *out is then NULL. */
int fr_open(fr_video **out, const char *path, const fr_opts *o, qn_error *err);

const fr_info *fr_get_info(const fr_video *v);

/* Decodes the whole video once, calling the sink. Returns QN_OK, the sink's
 * status, QN_EINPUT when the content fails: damaged ("<path>: read error
 * (truncated or damaged file) at T s: <reason>"), truncated ("<path>: truncated:
 * the file ends at X s of its declared Y s", or for MP4 "... after N of M video
 * packets"), or no frame decodes ("<path>: no decodable video frames (N packets
 * rejected)"); QN_EENV when reading the file fails ("<path>: read error at T s:
 * Input/output error"); QN_ENOMEM. Packets the decoder rejects are otherwise
 * skipped as the CLI does and counted in st->decode_errors. Frames without
 * timestamps (raw .h264 streams) are timed by the stream's frame rate, as the CLI
 * does. `st` may be NULL. Call at most once per handle. */
int fr_run(fr_video *v, const fr_sink *sink, fr_stats *st, qn_error *err);

/* Frees everything. NULL is a harmless no-op. */
void fr_close(fr_video *v);

/* The extractor's output size: short side -> s, long side int(long*s/short).
 * Returns QN_OK or QN_EINPUT for non-positive sizes. */
int fr_scaled_size(int w, int h, int s, int *ow, int *oh);

#ifdef __cplusplus
}
#endif
#endif
