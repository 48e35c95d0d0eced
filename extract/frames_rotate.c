/* frames_rotate.c — the CLI's autorotation: a display matrix turns the picture.
 *
 * Phone videos are stored sideways with a display matrix saying how to show
 * them; the ffmpeg CLI (and so HowTo100M's extractor) inserts transpose/hflip/
 * vflip before any other filter (fftools/ffmpeg_filter.c, 5.1), so a portrait
 * clip is sampled as 224 x 398, not 398 x 224. We do the same lossless pixel
 * moves on the decoded frame, plane by plane, before scaling. Arbitrary angles
 * (the CLI's `rotate` filter, which interpolates) are not reproduced.
 */
#include "frames_priv.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

static const int32_t *display_matrix(const AVStream *st)
{
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(60, 29, 100)
    const AVPacketSideData *sd = av_packet_side_data_get(st->codecpar->coded_side_data,
                                                         st->codecpar->nb_coded_side_data,
                                                         AV_PKT_DATA_DISPLAYMATRIX);
    return sd && sd->size >= 9 * sizeof(int32_t) ? (const int32_t *)sd->data : NULL;
#else
    size_t size = 0;
    const uint8_t *d = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
    return d && size >= 9 * sizeof(int32_t) ? (const int32_t *)d : NULL;
#endif
}

int fr_rotation_of(const AVStream *st, int *degrees)
{
    const int32_t *m = display_matrix(st);
    *degrees = 0;
    if (!m)
        return FR_ROT_NONE;
    /* ffmpeg's get_rotation(): clockwise degrees in [0, 360) */
    double theta = -round(av_display_rotation_get(m));
    theta -= 360 * floor(theta / 360 + 0.9 / 360);
    *degrees = (int)lround(theta) % 360;
    if (fabs(theta - 90) < 1.0)
        return m[3] > 0 ? FR_ROT_CCLOCK_FLIP : FR_ROT_CLOCK;
    if (fabs(theta - 180) < 1.0)
        return (m[0] < 0 ? FR_ROT_HFLIP : 0) | (m[4] < 0 ? FR_ROT_VFLIP : 0);
    if (fabs(theta - 270) < 1.0)
        return m[3] < 0 ? FR_ROT_CLOCK_FLIP : FR_ROT_CCLOCK;
    if (fabs(theta) < 1.0)
        return m[4] < 0 ? FR_ROT_VFLIP : FR_ROT_NONE;
    *degrees = 0;   /* not reproduced: the frames come out as stored */
    return FR_ROT_NONE;
}

int fr_rotation_transposes(int rot)
{
    return rot >= FR_ROT_CLOCK;
}

/* Source coordinates of destination pixel (x, y) for a plane of source size w x h. */
static void src_of(int rot, int x, int y, int w, int h, int *sx, int *sy)
{
    switch (rot) {
    case FR_ROT_CLOCK: *sx = y; *sy = h - 1 - x; break;
    case FR_ROT_CCLOCK: *sx = w - 1 - y; *sy = x; break;
    case FR_ROT_CCLOCK_FLIP: *sx = y; *sy = x; break;
    case FR_ROT_CLOCK_FLIP: *sx = w - 1 - y; *sy = h - 1 - x; break;
    default:
        *sx = rot & FR_ROT_HFLIP ? w - 1 - x : x;
        *sy = rot & FR_ROT_VFLIP ? h - 1 - y : y;
    }
}

/* Byte offset of source pixel (sx, sy). */
static ptrdiff_t src_off(int sx, int sy, int sls, int esz)
{
    return (ptrdiff_t)sy * sls + (ptrdiff_t)sx * esz;
}

/* Moves a plane: along a destination row the source advances by a fixed step (a pixel
 * sideways or a row up or down), so src_of is asked twice per row, not per pixel. */
static void move_plane(int rot, const uint8_t *src, int sls, int w, int h, uint8_t *dst, int dls,
                       int dw, int dh, int esz)
{
    int sx, sy, sx1, sy1;
    src_of(rot, 0, 0, w, h, &sx, &sy);
    src_of(rot, 1, 0, w, h, &sx1, &sy1);
    ptrdiff_t step = src_off(sx1, sy1, sls, esz) - src_off(sx, sy, sls, esz);
    for (int y = 0; y < dh; y++) {
        uint8_t *d = dst + (size_t)y * dls;
        src_of(rot, 0, y, w, h, &sx, &sy);
        const uint8_t *s = src + src_off(sx, sy, sls, esz);
        if (esz == 1)
            for (int x = 0; x < dw; x++)
                d[x] = s[x * step];
        else
            for (int x = 0; x < dw; x++)
                memcpy(d + (size_t)x * esz, s + x * step, esz);
    }
}

/* A format the pixel moves cannot take (4:2:2, paletted, bit-packed...) goes to
 * yuv444p first with a bicubic swscale, as the CLI converts before transpose. */
static int to_planar(fr_rotator *r, const AVFrame *src, enum AVPixelFormat fmt,
                     const AVFrame **out, const char *path, qn_error *err)
{
    r->sws = sws_getCachedContext(r->sws, src->width, src->height, src->format, src->width,
                                  src->height, fmt, SWS_BICUBIC, NULL, NULL, NULL);
    if (!r->sws)
        return qn_error_set(err, QN_EINPUT, "%s: cannot convert pixel format %s to rotate it",
                            path, av_get_pix_fmt_name(src->format));
    if (!r->tmp && !(r->tmp = av_frame_alloc()))
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory for a rotated frame", path);
    av_frame_unref(r->tmp);
    r->tmp->format = fmt;
    r->tmp->width = src->width;
    r->tmp->height = src->height;
    if (av_frame_get_buffer(r->tmp, 0) < 0 || av_frame_copy_props(r->tmp, src) < 0)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory for a rotated frame", path);
    if (sws_scale_frame(r->sws, r->tmp, src) < 0)
        return qn_error_set(err, QN_EINPUT, "%s: cannot convert pixel format %s to rotate it",
                            path, av_get_pix_fmt_name(src->format));
    *out = r->tmp;
    return QN_OK;
}

void fr_rotator_free(fr_rotator *r)
{
    av_frame_free(&r->tmp);
    av_frame_free(&r->out);
    sws_freeContext(r->sws);
    r->sws = NULL;
}

int fr_rotate_frame(fr_rotator *r, const AVFrame *src, const AVFrame **rotated, const char *path,
                    qn_error *err)
{
    int rot = r->rot;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(src->format);
    int tr = fr_rotation_transposes(rot);
    if (!d || (d->flags & AV_PIX_FMT_FLAG_HWACCEL))
        return qn_error_set(err, QN_EINPUT, "%s: cannot rotate frames of pixel format %s",
                            path, d ? d->name : "?");
    /* To planar first: bit-packed and palette formats, and subsampled chroma that a
     * transpose would turn the wrong way, to 4:4:4; chroma packed with luma (yuyv422,
     * whose 2-byte pairs moved as pixels would swap U and V) to yuv422p, losslessly. */
    int packed422 = !(d->flags & AV_PIX_FMT_FLAG_PLANAR) && d->log2_chroma_w == 1 &&
                    d->log2_chroma_h == 0 && d->comp[0].depth == 8;
    if ((d->flags & (AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_PAL)) ||
        (d->log2_chroma_w != d->log2_chroma_h && (tr || !(d->flags & AV_PIX_FMT_FLAG_PLANAR)))) {
        int rc = to_planar(r, src, packed422 && !tr ? AV_PIX_FMT_YUV422P : AV_PIX_FMT_YUV444P,
                           &src, path, err);
        if (rc < 0)
            return rc;
        d = av_pix_fmt_desc_get(src->format);
    }
    if (!r->out && !(r->out = av_frame_alloc()))
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory for a rotated frame", path);
    AVFrame *dst = r->out;
    *rotated = dst;
    int dw = tr ? src->height : src->width, dh = tr ? src->width : src->height;
    if (dst->format != src->format || dst->width != dw || dst->height != dh) {
        av_frame_unref(dst);
        dst->format = src->format;
        dst->width = dw;
        dst->height = dh;
        if (av_frame_get_buffer(dst, 0) < 0)
            return qn_error_set(err, QN_ENOMEM, "%s: out of memory for a rotated frame", path);
    }
    int rc = av_frame_copy_props(dst, src);
    if (rc < 0)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory for a rotated frame", path);
    for (int c = 0; c < d->nb_components; c++) {
        int p = d->comp[c].plane, done = 0;
        for (int k = 0; k < c; k++)
            done |= d->comp[k].plane == p;
        if (done)
            continue;
        int chroma = (p == 1 || p == 2) && !(d->flags & AV_PIX_FMT_FLAG_RGB);
        int w = chroma ? AV_CEIL_RSHIFT(src->width, d->log2_chroma_w) : src->width;
        int h = chroma ? AV_CEIL_RSHIFT(src->height, d->log2_chroma_h) : src->height;
        move_plane(rot, src->data[p], src->linesize[p], w, h, dst->data[p], dst->linesize[p],
                   tr ? h : w, tr ? w : h, d->comp[c].step);
    }
    return QN_OK;
}
