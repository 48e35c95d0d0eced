/* frames_hw.c — optional NVDEC decode through FFmpeg's cuda hwaccel.
 *
 * Nothing here needs CUDA at build time: libavcodec loads libcuda/libnvcuvid at
 * run time, so the code is always compiled and simply falls back to the CPU
 * when no driver or GPU is there (FR_HW_AUTO) or fails (FR_HW_CUDA). Frames
 * come back as CUDA surfaces (NV12); only the frames a stream emits are
 * downloaded and converted by the same libswscale path as CPU frames. NVDEC
 * output is bit-exact video decode, but swscale starts from NV12 instead of
 * yuv420p, so the pixels may differ from the CPU path by rounding.
 */
#include "frames_priv.h"

#include <pthread.h>
#include <stdio.h>

#include <libavutil/dict.h>
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>

static enum AVPixelFormat pick_cuda(AVCodecContext *c, const enum AVPixelFormat *fmts)
{
    for (const enum AVPixelFormat *p = fmts; *p != AV_PIX_FMT_NONE; p++)
        if (*p == AV_PIX_FMT_CUDA)
            return *p;
    /* The hwaccel cannot take this stream (profile, size): first software format. */
    for (const enum AVPixelFormat *p = fmts; *p != AV_PIX_FMT_NONE; p++) {
        const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(*p);
        if (d && !(d->flags & AV_PIX_FMT_FLAG_HWACCEL))
            return *p;
    }
    (void)c;
    return AV_PIX_FMT_NONE;
}

static int codec_has_cuda(const AVCodec *codec)
{
    for (int i = 0;; i++) {
        const AVCodecHWConfig *cfg = avcodec_get_hw_config(codec, i);
        if (!cfg)
            return 0;
        if ((cfg->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) &&
            cfg->device_type == AV_HWDEVICE_TYPE_CUDA)
            return 1;
    }
}

/* One CUDA device for every decoder of the process, on the GPU's primary
 * context: the context the CUDA runtime (and so the feature engine) uses. A
 * context per decoder would make the GPU switch between them, time-sliced,
 * and slow both the decoders and the network. FFmpeg wants the primary context
 * with blocking sync; when something made it active with other flags first, a
 * context of our own (one for all decoders) still works. Made once, kept until exit. */
static pthread_mutex_t dev_mu = PTHREAD_MUTEX_INITIALIZER;
static AVBufferRef *dev_shared;
static int dev_tried;
static int dev_primary; /* the shared device is the primary context (not the fallback) */
static char dev_why[400];

/* One attempt; on failure its reason (FFmpeg's log line, captured) goes to dev_why. */
static int device_create(const char *primary)
{
    AVDictionary *o = NULL;
    av_dict_set(&o, "primary_ctx", primary, 0);
    qn_avlog_reset();
    int rc = av_hwdevice_ctx_create(&dev_shared, AV_HWDEVICE_TYPE_CUDA, NULL, o, 0);
    av_dict_free(&o);
    if (rc < 0) {
        dev_shared = NULL;
        qn_av_reason(rc, dev_why, sizeof dev_why);
    }
    return rc;
}

static AVBufferRef *shared_device(char *why, size_t why_size)
{
    pthread_mutex_lock(&dev_mu);
    if (!dev_tried) {
        dev_tried = 1;
        qn_avlog_capture(); /* FFmpeg's messages become the reason, never raw stderr */
        int rc = device_create("1");
        dev_primary = rc >= 0;
        if (rc < 0 && rc != AVERROR(ENOMEM))
            device_create("0"); /* primary context refused: a context of its own */
    }
    AVBufferRef *ref = dev_shared ? av_buffer_ref(dev_shared) : NULL;
    snprintf(why, why_size, "%s", dev_shared ? "out of memory" : dev_why);
    pthread_mutex_unlock(&dev_mu);
    return ref;
}

int fr_hw_primary(void)
{
    pthread_mutex_lock(&dev_mu);
    int primary = dev_shared && dev_primary;
    pthread_mutex_unlock(&dev_mu);
    return primary;
}

void fr_hw_prepare(void)
{
    char why[8];
    AVBufferRef *ref = shared_device(why, sizeof why);
    av_buffer_unref(&ref);
}

int fr_hw_attach(AVCodecContext *dec, const AVCodec *codec, int mode, char *note,
                 size_t note_size, const char *path, qn_error *err)
{
    char why[512];
    if (!codec_has_cuda(codec)) {
        snprintf(note, note_size, "cuda: the %s decoder has no cuda hwaccel", codec->name);
    } else {
        AVBufferRef *dev = shared_device(why, sizeof why);
        if (dev) {
            dec->hw_device_ctx = dev;
            dec->get_format = pick_cuda;
            return 1;
        }
        snprintf(note, note_size, "cuda: no device: %s", why);
    }
    if (mode == FR_HW_CUDA)
        return qn_error_set(err, QN_EENV, "%s: GPU decode requested but unavailable: %s", path,
                            note);
    return 0;
}

int fr_hw_download(const AVFrame *f, AVFrame *tmp, const AVFrame **sw, const char *path,
                   qn_error *err)
{
    if (f->format != AV_PIX_FMT_CUDA) {
        *sw = f;
        return QN_OK;
    }
    av_frame_unref(tmp);
    int rc = av_hwframe_transfer_data(tmp, f, 0);
    if (rc < 0) {
        char why[512];
        return qn_error_set(err, QN_EENV, "%s: downloading a GPU frame failed: %s", path,
                            qn_av_reason(rc, why, sizeof why));
    }
    av_frame_copy_props(tmp, f);
    *sw = tmp;
    return QN_OK;
}
