/* kn_convert.h — YUV 4:2:0 frames to scaled, cropped RGB24 the way quern's
 * CPU path (libswscale, bicubic, as `ffmpeg -vf scale=W:H:flags=bicubic`)
 * does it, as a function a GPU can compute: NVDEC frames are then converted
 * where they were decoded, with no download and no swscale on the CPU.
 *
 * The filter is swscale's bicubic (B = 0, C = 0.6), widened by the scale
 * factor when shrinking, taps clamped at the edges, chroma centre-sited; an
 * odd output width interpolates chroma for every pixel, an even one for pixel
 * pairs, as swscale does for packed RGB output. Measured against swscale on
 * 640×360 H.264 frames (tests/test_frames.py): to 199×112 equal but for rare
 * ±1 (mean 0.007); to 398×224 within a fraction of a grey level on average.
 * kn_convert_ref is the CPU version (the oracle, in tests); kn_cuda_convert
 * computes the same on the GPU from device planes. */
#ifndef KN_CONVERT_H
#define KN_CONVERT_H

#include <stdint.h>

#include "qn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The horizontal pass's ceiling (swscale's 15-bit intermediate, 32767/128). */
#define KN_CONVERT_HMAX 255.9921875f
/* swscale's pair path (even output widths: packed RGB from its lookup tables) comes
 * out about 2 levels darker than the matrix says for limited-range input: flat grey
 * Y=126 gives 126 there and 128 on the full-chroma path, white 253 and 255 (full-range
 * input: no offset). Measured with the FFmpeg 5.1 CLI; reproduced so that
 * GPU-converted frames match the CPU path. */
#define KN_CONVERT_PAIR_OFFSET 2.f

typedef struct kn_yuv_frame {
    const uint8_t *y, *u, *v; /* planes; NV12: u is the interleaved UV plane, v unused */
    int y_pitch, uv_pitch;    /* bytes per row */
    int nv12;                 /* 1: NV12 (NVDEC), 0: planar yuv420p */
    int w, h;                 /* luma size */
    int colorspace;           /* AVCOL_SPC_* (1 BT.709, 9/10 BT.2020, 7 SMPTE 240M, 4 FCC;
                               * anything else BT.601, as the CPU path) */
    int full_range;           /* 1: JPEG range */
} kn_yuv_frame;

/* The geometry: scale w×h to dst_w×dst_h, keep crop_w×crop_h at (crop_x, crop_y). */
typedef struct kn_convert_geom {
    int src_w, src_h, dst_w, dst_h, crop_x, crop_y, crop_w, crop_h;
} kn_convert_geom;

/* Per-axis filter tables: for output i, taps t < k: source index idx[i*k+t]
 * (clamped into the plane) with weight w[i*k+t] (they sum to 1). */
typedef struct kn_axis {
    int n, k;
    int32_t *idx;
    float *w;
} kn_axis;

typedef struct kn_convert_plan {
    kn_convert_geom g;
    int pairs;                /* even dst_w: one chroma value per pixel pair */
    kn_axis lx, ly, cx, cy;   /* luma and chroma, over the crop window's outputs */
    void *device;             /* kn_cuda_convert's copy of the tables, made on first use */
    void *cpu;                /* kn_convert_cpu's tables, made with the plan */
} kn_convert_plan;

/* QN_EUSAGE for sizes out of range (crop outside the output, sides < 2 or > 16384),
 * QN_ENOMEM. */
int kn_convert_plan_make(const kn_convert_geom *g, kn_convert_plan **out, qn_error *err);
void kn_convert_plan_free(kn_convert_plan *p);

/* The plan for g, made on first use and kept for the process (thread-safe): plans
 * are never freed, so callers may keep the pointer. */
int kn_convert_plan_get(const kn_convert_geom *g, const kn_convert_plan **out, qn_error *err);

/* CPU: f's planes in host memory, frame size equal to the plan's source; writes
 * crop_h rows of crop_w*3 bytes to rgb. */
int kn_convert_ref(const kn_convert_plan *p, const kn_yuv_frame *f, uint8_t *rgb, qn_error *err);

/* The same, byte for byte, fast (separable passes over the crop window only, 8
 * or 16 lanes: AVX2 or AVX-512 where the CPU has them): quern-features' --convert
 * fast. Planes in host memory, planar or NV12. Scratch is per thread, kept between
 * calls. QN_EUSAGE (wrong frame size), QN_ENOMEM. Byte identity needs IEEE
 * arithmetic as built (-ffast-math would break it). */
int kn_convert_cpu(const kn_convert_plan *p, const kn_yuv_frame *f, uint8_t *rgb, qn_error *err);

/* kn_convert_plan_make's part for kn_convert_cpu (p->cpu), and its release. */
int kn_convert_cpu_prepare(kn_convert_plan *p);
void kn_convert_cpu_release(kn_convert_plan *p);

/* Tests: which of kn_convert_cpu's entry points may run (process-wide): 0 the best
 * this CPU has (AVX-512, AVX2 or the baseline), 1 at most AVX2, 2 the baseline. */
void kn_convert_cpu_baseline(int level);

/* What is subtracted after rounding (KN_CONVERT_PAIR_OFFSET on swscale's pair path
 * for limited-range input; 0 otherwise). Shared with the CUDA kernel. */
float kn_convert_offset(const kn_convert_plan *p, int full_range);

/* The colour matrix applied to one pixel (shared with the CUDA kernel's setup):
 * m[0..3] = y scale, v→r, u→g, v→g, m[4] = u→b, m[5] = y offset, m[6] = c offset. */
void kn_convert_matrix(int colorspace, int full_range, float m[7]);

/* GPU: f's planes in device memory (an NVDEC frame); writes the RGB to host memory
 * `rgb`. p comes from kn_convert_plan_get: its tables are uploaded once and kept with it
 * (p->device) for the process. Safe from several threads; each uses its own CUDA stream.
 * QN_EENV without a GPU / CUDA build. */
int kn_cuda_convert(const kn_convert_plan *p, const kn_yuv_frame *f, uint8_t *rgb,
                    qn_error *err);

#ifdef __cplusplus
}
#endif
#endif
