/* convert_frames — per-frame cost of turning a decoded yuv420p frame into the CNN
 * inputs: libswscale set up as quern's CPU path does it (extract/frames_scale.c,
 * one thread, as each decoder of a many-decoder run has) vs kn_convert_cpu
 * (quern-features --convert fast), side by side on the same frames.
 *
 *   convert_frames [ITERS]
 *
 * Sources 640x360 (HowTo100M's typical size) and 1280x720; outputs the 2D frame
 * (398x224) and the 3D frame (199x112, centre crop 112x112), as quern-features
 * makes them. Frames are a smooth gradient with a sharp-edged block and noise,
 * so both filters overshoot as on real video. Prints one line per case with
 * microseconds per frame, the mean absolute difference of the two outputs, and
 * "ratio convert_<case>: Nx" (swscale time / ours) last. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavutil/frame.h>

#include "extract/frames_priv.h"
#include "kernels/kn_convert.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static AVFrame *make_frame(int w, int h)
{
    AVFrame *f = av_frame_alloc();
    if (!f)
        return NULL;
    f->format = AV_PIX_FMT_YUV420P;
    f->width = w;
    f->height = h;
    f->colorspace = AVCOL_SPC_BT709;
    f->color_range = AVCOL_RANGE_MPEG;
    if (av_frame_get_buffer(f, 0) < 0) {
        av_frame_free(&f);
        return NULL;
    }
    uint32_t s = 7;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            s = s * 1103515245u + 12345u;
            int block = x > w / 3 && x < w / 2 && y > h / 4 && y < h / 2;
            f->data[0][y * f->linesize[0] + x] =
                (uint8_t)(block ? 235 : 16 + (x * 200 / w + y * 19 / h) + (s >> 28));
        }
    for (int p = 1; p <= 2; p++)
        for (int y = 0; y < (h + 1) / 2; y++)
            for (int x = 0; x < (w + 1) / 2; x++)
                f->data[p][y * f->linesize[p] + x] = (uint8_t)(p == 1 ? 60 + x * 120 / w
                                                                        : 200 - y * 120 / h);
    return f;
}

static int run_case(const char *name, AVFrame *src, int dw, int dh, int cx, int cy, int cw,
                    int ch, int iters)
{
    fr_scaler sc;
    qn_error err = {0};
    if (fr_scaler_init(&sc, dw, dh, 1) != QN_OK)
        return 1;
    kn_convert_geom g = {src->width, src->height, dw, dh, cx, cy, cw, ch};
    const kn_convert_plan *plan;
    if (kn_convert_plan_get(&g, &plan, &err) != QN_OK) {
        fprintf(stderr, "convert_frames: %s\n", err.msg);
        return 1;
    }
    kn_yuv_frame yf = {src->data[0], src->data[1], src->data[2], src->linesize[0],
                       src->linesize[1], 0, src->width, src->height, src->colorspace, 0};
    uint8_t *ours = malloc((size_t)cw * ch * 3);
    double best_sws = 1e30, best_ours = 1e30;
    for (int round = 0; round < 3; round++) { /* best of 3 rounds, each ITERS frames */
        double t0 = now();
        for (int i = 0; i < iters; i++)
            if (fr_scaler_run(&sc, src, "bench", &err) != QN_OK) {
                fprintf(stderr, "convert_frames: %s\n", err.msg);
                return 1;
            }
        double t1 = now();
        for (int i = 0; i < iters; i++)
            if (kn_convert_cpu(plan, &yf, ours, &err) != QN_OK) {
                fprintf(stderr, "convert_frames: %s\n", err.msg);
                return 1;
            }
        double t2 = now();
        best_sws = t1 - t0 < best_sws ? t1 - t0 : best_sws;
        best_ours = t2 - t1 < best_ours ? t2 - t1 : best_ours;
    }
    double diff = 0;
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw * 3; x++) {
            int a = sc.out->data[0][(size_t)(y + cy) * sc.out->linesize[0] + (size_t)cx * 3 + x];
            int b = ours[((size_t)y * cw) * 3 + x];
            diff += abs(a - b);
        }
    printf("%-10s %4dx%-4d -> %dx%d crop %dx%d: libswscale %.1f us, kn_convert_cpu %.1f us "
           "per frame (mean abs diff %.3f)\n", name, src->width, src->height, dw, dh, cw, ch,
           1e6 * best_sws / iters, 1e6 * best_ours / iters, diff / ((double)cw * ch * 3));
    printf("ratio convert_%s: %.2fx\n", name, best_sws / best_ours);
    free(ours);
    fr_scaler_free(&sc);
    return 0;
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 200;
    if (iters < 1) {
        fprintf(stderr, "usage: convert_frames [ITERS]\n");
        return 2;
    }
    static const struct { const char *name; int w, h; } src[] = {
        {"360p", 640, 360}, {"720p", 1280, 720}};
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        AVFrame *f = make_frame(src[i].w, src[i].h);
        if (!f)
            return 1;
        char name[32];
        snprintf(name, sizeof name, "3d_%s", src[i].name);
        rc |= run_case(name, f, 199, 112, 43, 0, 112, 112, iters);
        snprintf(name, sizeof name, "2d_%s", src[i].name);
        rc |= run_case(name, f, 398, 224, 0, 0, 398, 224, iters / 8 + 1);
        av_frame_free(&f);
    }
    return rc;
}
