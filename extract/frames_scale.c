/* frames_scale.c — libswscale set up the way FFmpeg 5.1's scale filter does it,
 * so our pixels equal `ffmpeg -vf scale=W:H:flags=bicubic -pix_fmt rgb24`:
 *  - SWS_BICUBIC with default parameters, output straight to rgb24
 *    (format negotiation makes the filter convert and scale in one call);
 *  - yuv420p input gets MPEG-2 chroma siting (src_v_chr_pos 128), which the
 *    filter forces and which plain sws_getContext would not;
 *  - the colour matrix is the frame's (`in_color_matrix=auto`: unknown and
 *    reserved values mean BT.601) and the input range the frame's when tagged;
 *  - the output lives in an aligned buffer like ff_get_video_buffer's, because
 *    swscale may take different code paths for unaligned destinations.
 */
#include "frames_priv.h"

#include <libavutil/frame.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

int fr_scaler_init(fr_scaler *s, int dst_w, int dst_h, int threads)
{
    memset(s, 0, sizeof *s);
    s->threads = threads;
    s->src_fmt = AV_PIX_FMT_NONE;
    s->cs = -1;
    s->range = -1;
    s->dst_w = dst_w;
    s->dst_h = dst_h;
    s->out = av_frame_alloc();
    if (!s->out)
        return QN_ENOMEM;
    s->out->format = AV_PIX_FMT_RGB24;
    s->out->width = dst_w;
    s->out->height = dst_h;
    if (av_frame_get_buffer(s->out, 0) < 0) {
        av_frame_free(&s->out);
        return QN_ENOMEM;
    }
    return QN_OK;
}

void fr_scaler_free(fr_scaler *s)
{
    if (!s)
        return;
    sws_freeContext(s->sws);
    s->sws = NULL;
    av_frame_free(&s->out);
}

static int make_sws(fr_scaler *s, const AVFrame *src)
{
    sws_freeContext(s->sws);
    s->sws = sws_alloc_context();
    if (!s->sws)
        return QN_ENOMEM;
    struct SwsContext *c = s->sws;
    av_opt_set_int(c, "srcw", src->width, 0);
    av_opt_set_int(c, "srch", src->height, 0);
    av_opt_set_int(c, "src_format", src->format, 0);
    av_opt_set_int(c, "dstw", s->dst_w, 0);
    av_opt_set_int(c, "dsth", s->dst_h, 0);
    av_opt_set_int(c, "dst_format", AV_PIX_FMT_RGB24, 0);
    av_opt_set_int(c, "sws_flags", SWS_BICUBIC, 0);
    av_opt_set_int(c, "threads", s->threads > 0 ? s->threads : 1, 0);
    av_opt_set_int(c, "src_h_chr_pos", -513, 0);
    av_opt_set_int(c, "src_v_chr_pos", src->format == AV_PIX_FMT_YUV420P ? 128 : -513, 0);
    av_opt_set_int(c, "dst_h_chr_pos", -513, 0);
    av_opt_set_int(c, "dst_v_chr_pos", -513, 0);
    if (sws_init_context(c, NULL, NULL) < 0) {
        sws_freeContext(c);
        s->sws = NULL;
        return QN_EINPUT;
    }
    s->src_w = src->width;
    s->src_h = src->height;
    s->src_fmt = src->format;
    s->cs = -1;
    s->range = -1;
    return QN_OK;
}

/* vf_scale's per-frame colour setup, applied only when it would change. */
static void apply_colour(fr_scaler *s, const AVFrame *src)
{
    int cs = src->colorspace, range = src->color_range;
    if (cs == s->cs && range == s->range)
        return;
    int *inv_table, *table, in_full, out_full, bri, con, sat;
    sws_getColorspaceDetails(s->sws, &inv_table, &in_full, &table, &out_full,
                             &bri, &con, &sat);
    int m = cs;
    if (m < 1 || m > 10 || m == 8)
        m = AVCOL_SPC_BT470BG;
    const int *coef = sws_getCoefficients(m);
    if (range != AVCOL_RANGE_UNSPECIFIED)
        in_full = range == AVCOL_RANGE_JPEG;
    sws_setColorspaceDetails(s->sws, coef, in_full, coef, out_full, bri, con, sat);
    s->cs = cs;
    s->range = range;
}

int fr_scaler_run(fr_scaler *s, const AVFrame *src, const char *path, qn_error *err)
{
    if (!s->sws || src->width != s->src_w || src->height != s->src_h ||
        src->format != s->src_fmt) {
        int rc = make_sws(s, src);
        if (rc < 0) {
            const char *fmt = av_get_pix_fmt_name(src->format);
            return qn_error_set(err, rc, "%s: cannot convert %dx%d %s frames to %dx%d rgb24",
                                path, src->width, src->height, fmt ? fmt : "?",
                                s->dst_w, s->dst_h);
        }
    }
    apply_colour(s, src);
    /* sws_scale_frame, not sws_scale: only it spreads slices over the threads, as
     * vf_scale does; the slices are independent, so the pixels do not change. */
    int rc = sws_scale_frame(s->sws, s->out, src);
    if (rc < 0) {
        char why[512];
        return qn_error_set(err, QN_EINPUT, "%s: scaling a %dx%d frame failed: %s", path,
                            src->width, src->height, qn_av_reason(rc, why, sizeof why));
    }
    return QN_OK;
}
