/* kn_internal.h — what the engine's files share: tensors, folded convolutions,
 * the backend op table, the model layout and the stage hook the tests use.
 *
 * Layout everywhere: activations are N×D×H×W×C (channels last; a 2D net is the
 * D=1 case, so one set of ops serves both), fp32 in host memory for ref/cpu and
 * fp16 in device memory for cuda; weights keep the PyTorch order
 * [Cout][Cin/groups][kd][kh][kw] after BN folding, and a backend may repack
 * them in prepare_conv.
 */
#ifndef KN_INTERNAL_H
#define KN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine.h"
#include "qn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kn_tensor {
    float *data;       /* host fp32, or (cuda) device __half* stored here */
    int n, d, h, w, c; /* NDHWC */
} kn_tensor;

static inline size_t kn_numel(const kn_tensor *t)
{
    return (size_t)t->n * t->d * t->h * t->w * t->c;
}

/* One convolution with its BatchNorm folded in: y = conv(x, w) + bias. */
typedef struct kn_conv {
    char name[64];         /* PyTorch prefix, e.g. "layer1.0.conv2" (+ ".weight") */
    char bn[64];           /* its BatchNorm prefix, e.g. "layer1.0.bn2" */
    int cin, cout, groups;
    int k[3], s[3], p[3];  /* kernel, stride, padding: d, h, w */
    float *w;              /* [cout][cin/groups][kd][kh][kw], folded */
    float *bias;           /* [cout], folded */
    void *packed;          /* backend-owned repacked weights (NULL if none) */
} kn_conv;

static inline int kn_out_size(int in, int k, int s, int p)
{
    return (in + 2 * p - k) / s + 1;
}

/* Pooling window: kernel, stride, padding per d,h,w (padding counts as -inf). */
typedef struct kn_pool {
    int k[3], s[3], p[3];
} kn_pool;

/* What a captured forward depends on: the model, the input shape and every
 * buffer address (a graph replays fixed pointers). */
typedef struct kn_graph_key {
    uint64_t model;          /* kn_model serial, unique per open */
    int n, d, h, w;
    const void *ptrs[7];     /* buf[0..3], scratch, input, spare */
} kn_graph_key;

enum { KN_GRAPH_REPLAY = 0, KN_GRAPH_BEGIN, KN_GRAPH_END, KN_GRAPH_DROP };
/* KN_GRAPH_END's answer when the capture failed and was dropped (the work did not
 * run): the caller runs the forward again, op by op. */
enum { KN_GRAPH_RETRY_EAGER = 2 };

/* Backend op table. The model's forward walk (kn_model.c) is written once
 * against it. Tensors' data pointers live wherever the backend keeps its
 * activations: host fp32 for ref/cpu, device fp16 for cuda (`device` = 1);
 * sizes are always counted in elements of the backend's activation type. */
typedef struct kn_ops {
    const char *name;
    int device; /* 1: tensors are device memory; hooks get host copies via to_host */
    int in_channels; /* elements per input pixel the backend writes (3, or padded) */
    void *(*alloc)(size_t elems);
    void (*dealloc)(void *p);
    /* Repack/upload c->w and c->bias into c->packed; QN_OK or QN_ENOMEM/QN_EENV. */
    int (*prepare_conv)(kn_conv *c);
    void (*release_conv)(kn_conv *c);
    /* u8 NDHWC pixels (host) → normalised input tensor x (pre-shaped, C = 3). */
    void (*input)(const uint8_t *in, size_t pixels, int is3d, kn_tensor *x);
    /* y = [relu](conv(x) + bias [+ res]). y is pre-shaped by the caller; res,
     * when non-NULL, has y's shape and may be the same buffer as y. scratch has
     * conv_scratch() elements. */
    void (*conv)(const kn_conv *c, const kn_tensor *x, kn_tensor *y,
                 const kn_tensor *res, int relu, void *scratch);
    /* Scratch elements conv needs for these shapes (a backend may plan here). */
    size_t (*conv_scratch)(const kn_conv *c, const kn_tensor *x, const kn_tensor *y);
    void (*maxpool)(const kn_pool *p, const kn_tensor *x, kn_tensor *y);
    /* host out[n][c] = mean over d,h,w of x. */
    void (*global_mean)(const kn_tensor *x, float *out);
    /* host fp32 copy of t (device backends only; NULL otherwise). */
    void (*to_host)(const kn_tensor *t, float *host);
    /* Waits for queued work; returns the first error since the last call. */
    int (*sync)(qn_error *err);
    void (*set_threads)(int threads);
    /* Optional (NULL: none). Whole-forward capture: REPLAY launches the graph
     * stored under key (returns 1) or returns 0; BEGIN starts capturing (QN_OK,
     * or an error: run uncaptured); END stops, stores and launches it; DROP
     * forgets every graph of key->model. */
    int (*graph)(int phase, const kn_graph_key *key);
} kn_ops;

extern const kn_ops kn_ref_ops;
extern const kn_ops kn_cpu_ops;

/* Shared elementwise helpers (kn_ops_common.c). */
/* 2D input: u8 HWC → (x/255 - mean)/(std+1e-8), fp32 NDHWC with D=1. */
void kn_normalize_2d(const uint8_t *in, size_t pixels, float *out);
/* 3D input: u8 → x - (110.6,103.2,96.3). */
void kn_normalize_3d(const uint8_t *in, size_t pixels, float *out);
/* Rows of dim floats: x / max(||x||2, 1e-12), norm accumulated in double. */
void kn_l2norm_rows(float *x, int rows, int dim);
/* A clip's rows for kn_pool_clips (n >= 1): [floor(s·rate), floor(e·rate)+1)
 * clamped to [0,n), the last row when that is empty; e < s counts as e = s. */
void kn_clip_rows(int n, double rate, double s, double e, int *b, int *e_out);
/* Host-memory op-table pieces (malloc, normalise_2d/3d, mean, nothing to sync). */
void *kn_host_alloc(size_t elems);
void kn_host_dealloc(void *p);
void kn_host_input(const uint8_t *in, size_t pixels, int is3d, kn_tensor *x);
int kn_host_sync(qn_error *err);
/* Mean over D×H×W per sample and channel, accumulated in double. */
void kn_host_global_mean(const kn_tensor *x, float *out);

/* A 1×1(×1) convolution with stride 1, no padding, no groups: one GEMM over the pixels. */
static inline int kn_conv_is_plain_1x1(const kn_conv *c)
{
    return c->groups == 1 && c->k[0] * c->k[1] * c->k[2] == 1 &&
           c->s[0] * c->s[1] * c->s[2] == 1 && c->p[0] + c->p[1] + c->p[2] == 0;
}

static inline int kn_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Model layout: stem conv (+maxpool), 4 stages of blocks, global mean. */
typedef struct kn_block {
    int conv1, conv2, conv3, down; /* indices into convs; conv3/down -1 when absent */
} kn_block;

enum { KN_STAGE_STEM = 0, KN_STAGE_L1, KN_STAGE_L2, KN_STAGE_L3, KN_STAGE_L4, KN_STAGE_FINAL,
       KN_STAGE_COUNT };
extern const char *const kn_stage_names[KN_STAGE_COUNT];

/* Architecture description (kn_arch.c). */
typedef struct kn_arch_desc {
    const char *name;
    int is3d, bottleneck, resnext;
    int blocks[4];
    int dim;
} kn_arch_desc;
const kn_arch_desc *kn_arch_get(kn_arch a);

/* Builds the conv list (names, shapes, strides; w/bias NULL) and blocks.
 * Caller frees *convs and *blocks with free(). */
int kn_arch_build(kn_arch a, kn_conv **convs, int *nconv, kn_block **blocks, int *nblock,
                  int stage_start[5], qn_error *err);

/* Stage hook: called after stem (maxpool), layer1..4 with the NDHWC tensor, and
 * after the global mean with final (n×dim, before any L2-norm) as a 1×1×1 tensor. */
typedef void (*kn_stage_fn)(int stage, const kn_tensor *t, void *ud);

/* Forward a normalised NDHWC fp32 host input through the model (ref/cpu
 * backends only). out: n×dim. hook may be NULL. */
int kn_forward_f32(kn_model *m, const kn_tensor *x, float *out, kn_stage_fn hook, void *ud,
                   qn_error *err);
/* Forward u8 NDHWC input (one slice, any backend, the backend's own input
 * normalisation); stages reach hook as host fp32 tensors. */
int kn_forward_u8(kn_model *m, const uint8_t *in, int n, int d, int h, int w, float *out,
                  kn_stage_fn hook, void *ud, qn_error *err);

/* Opens the model from unfolded weights supplied by `get`, which returns the
 * float data of a named tensor of the given shape (valid until the next call),
 * or NULL. Used by the tests to build models from a generator without a file. */
typedef const float *(*kn_tensor_src)(const char *name, const int64_t *shape, int nd, void *ud);
int kn_model_open_src(kn_arch arch, kn_tensor_src get, void *ud, const kn_options *opts,
                      kn_model **out, qn_error *err);


/* Deterministic test weights (documented in kernels/tools/make_fixtures.py):
 * value i of tensor `name` = lo + (hi-lo) * u, u = fmix32(i*0x9E3779B9 + fnv1a(name)
 * + seed) >> 8 scaled by 2^-24, computed in double and rounded to float. */
uint32_t kn_fnv1a32(const char *s);
void kn_gen_uniform(const char *name, uint32_t seed, double lo, double hi, float *out, size_t n);
/* u8 test pixels: fmix32(i*0x9E3779B9 + fnv1a(name) + seed) >> 24. */
void kn_gen_u8(const char *name, uint32_t seed, uint8_t *out, size_t n);

/* The golden weights as a kn_tensor_src (ud: a kn_golden). By name: conv weights
 * U(-a,a), a = sqrt(3/fan_in); BN weight U(0.25,0.75), bias U(-0.1,0.1),
 * running_mean U(-0.1,0.1), running_var U(0.5,1.5). */
typedef struct kn_golden {
    uint32_t seed;
    float *buf;
    size_t cap;
} kn_golden;
const float *kn_golden_tensor(const char *name, const int64_t *shape, int nd, void *ud);

#ifdef __cplusplus
}
#endif
#endif
