/* engine.h — the CNN feature engine: ResNet-18..152 (2D) and the 2017 ResNeXt-101 3D.
 *
 * Contract in one paragraph: open a model from a safetensors file holding the
 * original PyTorch names (torchvision resnet*, kenshohara ResNeXt-101 3D; a
 * `module.` prefix is not expected, kernels/tools/export_weights.py strips it);
 * every tensor's name and shape is checked and BatchNorm is folded into the
 * convolutions at open time (eps 1e-5). Then run batches of u8 RGB frames
 * (2D, any H×W, e.g. 224×398) or u8 16×112×112 RGB chunks (3D) and get one
 * feature row per frame/chunk (mean over the last feature map; optionally
 * L2-normalised, as HowTo100M's extractor does by default). kn_pool_clips() pools
 * a video's float rows into per-clip 4096-d vectors (CPU, and CUDA through
 * kn_cuda_pool_clips); quern-features instead pools the rows it stores, rounded
 * to f16, with the store's qn_pool_rows, so that its pooled set equals what any
 * reader pools from the stored per-step sets.
 *
 * Backends (chosen at open time): `ref` plain C loops (the oracle, slow), `cpu`
 * OpenBLAS GEMMs + threads (fp32), `cuda` cuDNN/cuBLAS fp16 NHWC (only when
 * built with CUDA and a GPU is usable). `auto` = cuda if usable, else cpu; when it
 * falls back, kn_model_notice() returns one line for the program to print.
 *
 * Threading: a kn_model is used by one thread at a time. Library code never
 * prints; errors fill the qn_error record with one line naming the file/tensor.
 */
#ifndef KN_ENGINE_H
#define KN_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "qn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kn_arch {
    KN_RESNET18 = 0,   /* torchvision resnet18, BasicBlock [2,2,2,2], dim 512 */
    KN_RESNET34,       /* torchvision resnet34, BasicBlock [3,4,6,3], dim 512 */
    KN_RESNET50,       /* torchvision resnet50, Bottleneck [3,4,6,3], dim 2048 */
    KN_RESNET101,      /* torchvision resnet101, Bottleneck [3,4,23,3], dim 2048 */
    KN_RESNET152,      /* torchvision resnet152, Bottleneck [3,8,36,3], dim 2048 */
    KN_RESNEXT101_3D,  /* Hara et al. 2017 ResNeXt-101, card. 32, shortcut B, dim 2048 */
    KN_ARCH_COUNT
} kn_arch;

typedef enum kn_backend {
    KN_BACKEND_AUTO = 0, /* cuda if built and a GPU is usable, else cpu (+ notice) */
    KN_BACKEND_REF,      /* plain C loops, double accumulation: the oracle */
    KN_BACKEND_CPU,      /* OpenBLAS fp32 */
    KN_BACKEND_CUDA      /* cuDNN/cuBLAS fp16 NHWC/NDHWC; fails if no GPU */
} kn_backend;

/* Names: "resnet18" "resnet34" "resnet50" "resnet101" "resnet152" "resnext101-3d".
 * Returns QN_OK, or QN_EUSAGE naming the bad word and listing the valid ones. */
int kn_arch_from_name(const char *name, kn_arch *out, qn_error *err);
const char *kn_arch_name(kn_arch arch);
/* Names: "auto" "ref" "cpu" "cuda". */
int kn_backend_from_name(const char *name, kn_backend *out, qn_error *err);
const char *kn_backend_name(kn_backend b);

typedef struct kn_options {
    kn_backend backend; /* KN_BACKEND_AUTO by default (zeroed struct) */
    int threads;        /* CPU threads for the cpu/ref backends; 0 = all cores */
    int cuda_device;    /* GPU ordinal for the cuda backend (default 0) */
} kn_options;

typedef struct kn_model kn_model;

/* Opens `path` (safetensors) as `arch`. Checks: file structure (header size,
 * JSON, offsets in range and without holes), dtype F32 (F16/BF16 are widened),
 * every expected tensor present with the exact shape; `fc.*` and
 * `*.num_batches_tracked` are ignored, any other extra tensor is refused (a
 * resnet152 file holds every resnet101 tensor). Errors name the file and the
 * tensor, e.g. "r.safetensors: layer3.4.conv2.weight: shape [256,256,1,1],
 * expected [256,256,3,3]". opts may be NULL (auto backend, all cores).
 * On success *out owns the model; free it with kn_model_close(). */
int kn_model_open(const char *path, kn_arch arch, const kn_options *opts,
                  kn_model **out, qn_error *err);

/* The same in two steps, so that a program can learn the weights' hash and whether they
 * fit before it pays for loading them (quern-features with nothing to do never starts
 * the backend). kn_weights_open maps `path` and makes every check of kn_model_open but
 * the values' (NaN, infinity): structure, names, shapes, dtypes, extra tensors; and
 * hashes the file (qn_sha256: 1.5 GB/s here). kn_model_build loads, checks the values, folds
 * BatchNorm and prepares the backend; w stays the caller's. Close w with
 * kn_weights_close (NULL is a no-op) once no model is being built from it. */
typedef struct kn_weights kn_weights;
int kn_weights_open(const char *path, kn_arch arch, kn_weights **out, qn_error *err);
/* Lower-case hex sha256 of the file's bytes (64 chars + NUL). */
const char *kn_weights_sha256(const kn_weights *w);
void kn_weights_close(kn_weights *w);
int kn_model_build(const kn_weights *w, const kn_options *opts, kn_model **out,
                   qn_error *err);

/* Frees everything; NULL is a harmless no-op. */
void kn_model_close(kn_model *m);

kn_arch kn_model_arch(const kn_model *m);
/* The backend actually in use (never KN_BACKEND_AUTO). */
kn_backend kn_model_backend(const kn_model *m);
/* Feature size of one output row: 512 (resnet18/34) or 2048. */
int kn_model_dim(const kn_model *m);
/* Lower-case hex sha256 of the weights file's bytes (64 chars + NUL). */
const char *kn_model_sha256(const kn_model *m);
/* One line to print once when `auto` fell back to the CPU (e.g. "no usable GPU
 * (cudaGetDeviceCount: ...); using the cpu backend"), or NULL when there is none. */
const char *kn_model_notice(const kn_model *m);

/* Host memory for kn_run_* inputs: page-locked with the cuda backend (the copy
 * to the GPU then needs no staging copy and runs at full speed), plain heap
 * memory otherwise or when page-locked memory is refused. Aligned to 64 bytes.
 * NULL when out of memory. Free with kn_input_free (NULL is a no-op); any
 * thread may call both. */
void *kn_input_alloc(const kn_model *m, size_t bytes);
void kn_input_free(void *p);

/* Flags for kn_run_*. */
enum { KN_L2NORM = 1 }; /* L2-normalise each output row (x / max(||x||, 1e-12)) */

/* The 2D input sizes kn_run_2d takes (each of h and w). */
enum { KN_2D_MIN_SIDE = 32, KN_2D_MAX_SIDE = 8192 };

/* 2D: `frames` is n frames of h×w×3 u8 RGB, row-major, tightly packed
 * (frame i starts at frames + i*h*w*3). Pre-processing is HowTo100M's: /255,
 * minus ImageNet mean (0.485,0.456,0.406), divided by std (0.229,0.224,0.225)+1e-8.
 * Output: n rows of kn_model_dim() floats in `out`. Any h,w >= 32 works; the
 * network's last map is ceil-ish h/32 × w/32 (224×398 → 7×13), averaged.
 * Returns QN_EUSAGE for a 3D model or bad sizes, QN_ENOMEM, or a backend error. */
int kn_run_2d(kn_model *m, const uint8_t *frames, int n, int h, int w,
              float *out, unsigned flags, qn_error *err);

/* 3D: `chunks` is n chunks of 16 frames × 112×112×3 u8 RGB (t,h,w,c order,
 * tightly packed; zero frames pad the last chunk, as the reference does).
 * Pre-processing: minus (110.6,103.2,96.3) on the 0–255 scale, std 1.
 * Output: n rows of 2048 floats (mean over the 1×4×4 layer4 map). */
int kn_run_3d(kn_model *m, const uint8_t *chunks, int n, float *out,
              unsigned flags, qn_error *err);

enum { KN_3D_FRAMES = 16, KN_3D_SIZE = 112 };

/* Generic form of the above for any 3D input size (d >= 1, h,w >= 16): used by
 * the tests with small clips. kn_run_3d(m,c,n,o,f,e) == kn_run_3d_sized(m,c,n,16,112,112,o,f,e). */
int kn_run_3d_sized(kn_model *m, const uint8_t *chunks, int n, int d, int h, int w,
                    float *out, unsigned flags, qn_error *err);

/* Per-clip pooling (HowTo100M youtube_dataloader._get_video), per modality:
 * rows [floor(start·rate), floor(end·rate)+1) clamped to [0, n); a clip whose
 * range is empty after clamping (it starts past the last row) gets the last row;
 * max over those rows, then L2-normalise (eps 1e-12); the 2D part then the 3D
 * part are concatenated. Inputs: rows2d is n2d×dim2d (rate2d rows per second,
 * 1 for 2D), rows3d is n3d×dim3d (rate3d, 1.5 for 3D). A modality may be
 * absent (n=0 or rows NULL): its part is then all zeros. starts/ends are
 * seconds (end >= start expected; a reversed range is treated as [start,start]).
 * out receives nclips rows of dim2d+dim3d floats (4096 for the real models).
 * Returns QN_EUSAGE for negative counts/dims or non-finite times. */
int kn_pool_clips(const float *rows2d, int n2d, int dim2d, double rate2d,
                  const float *rows3d, int n3d, int dim3d, double rate3d,
                  const double *starts, const double *ends, int nclips,
                  float *out, qn_error *err);

#ifdef __cplusplus
}
#endif
#endif
