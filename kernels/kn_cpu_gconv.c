/* kn_cpu_gconv.c — direct grouped convolution for the CPU backend.
 *
 * ResNeXt's 3×3×3 convs have 32 groups of 4 to 32 channels. As GEMMs they are
 * 32 tiny products (N = 4 output channels) over an im2col matrix built from
 * 4-float copies: 29% of the 3D net's time for 11% of its arithmetic. Here
 * each output is computed in place from the channels-last input instead: for a
 * block of P neighbouring output positions, the P input pixels of every kernel
 * tap are found once and shared by all groups; per group, P × cog accumulators
 * stay in registers while the tap's cig × cog weights (cpu_prepare's packing,
 * [g][kd][kh][kw][ci][cog]) stream past them.
 *
 * The block kernel is written once with GCC/Clang vector types and compiled
 * for the plain x86-64 / AArch64 baseline and, on x86-64, again for AVX2+FMA
 * (8 lanes), chosen at run time. Out-of-range taps read a zero pixel, so the
 * inner loops have no branches. */
#include <pthread.h>
#include <string.h>

#include "kn_cpu_gconv.h"

#define ZERO_FLOATS 8192 /* widest input this handles (cin); a zero pixel */
#define MAX_TAPS 343     /* 7×7×7 */
#define MAX_P 8          /* output positions per block */

static const float zero_pixel[ZERO_FLOATS];

int kn_cpu_gconv_ok(const kn_conv *c)
{
    int cog = c->cout / c->groups, taps = c->k[0] * c->k[1] * c->k[2];
    return c->groups > 1 && cog % 4 == 0 && c->cin <= ZERO_FLOATS && taps <= MAX_TAPS;
}

/* One block: P positions (np of them real) × one chunk of V·L output channels
 * of one group. src[t·MAX_P + p] is position p's input pixel for tap tap[t]. */
typedef struct gconv_block {
    const float *const *src;
    const int *tap;
    int ntaps, cig, cog, goff; /* goff: the group's first input channel */
    const float *w;            /* the group's packed weights at this chunk */
    float *y;                  /* position 0's output at this chunk */
    size_t ystride;            /* floats between positions' outputs */
    int np, accumulate;
} gconv_block;

/* The block kernel for vector type VT of L lanes, V vectors per position and P
 * positions; loops over V and P are unrolled so that acc lives in registers. */
#define GCONV_KERNEL(NAME, ATTR, VT, L, V, P)                                                     \
    ATTR static void NAME(const gconv_block *b)                                                    \
    {                                                                                              \
        VT acc[P][V];                                                                              \
        _Pragma("GCC unroll 8") for (int p = 0; p < P; p++)                                        \
            _Pragma("GCC unroll 8") for (int v = 0; v < V; v++) acc[p][v] = (VT){0};               \
        for (int t = 0; t < b->ntaps; t++) {                                                       \
            const float *wt = b->w + (size_t)b->tap[t] * b->cig * b->cog;                          \
            const float *const *s = b->src + (size_t)t * MAX_P;                                    \
            for (int ci = 0; ci < b->cig; ci++) {                                                  \
                VT wv[V];                                                                          \
                _Pragma("GCC unroll 8") for (int v = 0; v < V; v++)                                \
                    memcpy(&wv[v], wt + (size_t)ci * b->cog + v * L, sizeof wv[v]);                \
                _Pragma("GCC unroll 8") for (int p = 0; p < P; p++)                                \
                {                                                                                  \
                    float xb = s[p][b->goff + ci]; /* scalar op vector: one broadcast */    \
                    _Pragma("GCC unroll 8") for (int v = 0; v < V; v++) acc[p][v] += xb * wv[v];  \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
        for (int p = 0; p < b->np; p++)                                                            \
            for (int v = 0; v < V; v++) {                                                          \
                float *o = b->y + (size_t)p * b->ystride + v * L;                                  \
                VT r = acc[p][v];                                                                  \
                if (b->accumulate) {                                                               \
                    VT old;                                                                        \
                    memcpy(&old, o, sizeof old);                                                   \
                    r += old;                                                                      \
                }                                                                                  \
                memcpy(o, &r, sizeof r);                                                           \
            }                                                                                      \
    }

typedef float v4f __attribute__((vector_size(16)));
GCONV_KERNEL(k4_v1_p8, , v4f, 4, 1, 8)
GCONV_KERNEL(k4_v2_p4, , v4f, 4, 2, 4)
GCONV_KERNEL(k4_v4_p2, , v4f, 4, 4, 2)
GCONV_KERNEL(k4_v8_p1, , v4f, 4, 8, 1)

/* A kernel: chunk width (channels per call) and positions per block. */
typedef struct gconv_kernel {
    void (*fn)(const gconv_block *b);
    int width, P;
} gconv_kernel;

#if defined(__x86_64__) && defined(__GNUC__)
#define AVX2 __attribute__((target("avx2,fma")))
typedef float v8f __attribute__((vector_size(32)));
GCONV_KERNEL(a4_v1_p8, AVX2, v4f, 4, 1, 8)
GCONV_KERNEL(a8_v1_p8, AVX2, v8f, 8, 1, 8)
GCONV_KERNEL(a8_v2_p4, AVX2, v8f, 8, 2, 4)
GCONV_KERNEL(a8_v4_p3, AVX2, v8f, 8, 4, 3)

static pthread_once_t isa_once = PTHREAD_ONCE_INIT;
static int isa_avx2;

static void isa_probe(void)
{
    __builtin_cpu_init();
    isa_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int have_avx2(void)
{
    pthread_once(&isa_once, isa_probe);
    return isa_avx2;
}
#endif

static _Atomic int baseline_only; /* tests: the portable kernels even where AVX2 is there */

void kn_cpu_gconv_baseline(int on) { baseline_only = on; }

/* The kernel for cog output channels per group: the widest chunk that divides it. */
static gconv_kernel pick_kernel(int cog)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (!baseline_only && have_avx2()) {
        if (cog % 32 == 0)
            return (gconv_kernel){a8_v4_p3, 32, 3};
        if (cog % 16 == 0)
            return (gconv_kernel){a8_v2_p4, 16, 4};
        if (cog % 8 == 0)
            return (gconv_kernel){a8_v1_p8, 8, 8};
        return (gconv_kernel){a4_v1_p8, 4, 8};
    }
#endif
    if (cog % 32 == 0)
        return (gconv_kernel){k4_v8_p1, 32, 1};
    if (cog % 16 == 0)
        return (gconv_kernel){k4_v4_p2, 16, 2};
    if (cog % 8 == 0)
        return (gconv_kernel){k4_v2_p4, 8, 4};
    return (gconv_kernel){k4_v1_p8, 4, 8};
}

/* Taps of output row (n, od, oh) whose input row is in range, and for each
 * tap and block position its input pixel (or the zero pixel). */
static int block_sources(const kn_conv *c, const kn_tensor *x, int n, int od, int oh, int ow0,
                         int np, int *tap, const float **src)
{
    int ntaps = 0, s = 0;
    for (int kd = 0; kd < c->k[0]; kd++) {
        int id = od * c->s[0] - c->p[0] + kd;
        for (int kh = 0; kh < c->k[1]; kh++, s += c->k[2]) {
            int ih = oh * c->s[1] - c->p[1] + kh;
            if (id < 0 || id >= x->d || ih < 0 || ih >= x->h)
                continue;
            const float *line = x->data + (((size_t)n * x->d + id) * x->h + ih) * x->w * x->c;
            for (int kw = 0; kw < c->k[2]; kw++, ntaps++) {
                tap[ntaps] = s + kw;
                for (int p = 0; p < MAX_P; p++) {
                    int iw = (ow0 + p) * c->s[2] - c->p[2] + kw;
                    int ok = p < np && iw >= 0 && iw < x->w;
                    src[(size_t)ntaps * MAX_P + p] = ok ? line + (size_t)iw * x->c : zero_pixel;
                }
            }
        }
    }
    return ntaps;
}

void kn_cpu_gconv_rows(const kn_conv *c, const kn_tensor *x, kn_tensor *y, size_t a, size_t b,
                       int accumulate)
{
    int G = c->groups, cig = c->cin / G, cog = c->cout / G;
    size_t kg = (size_t)c->k[0] * c->k[1] * c->k[2] * cig;
    gconv_kernel k = pick_kernel(cog);
    int tap[MAX_TAPS];
    const float *src[MAX_TAPS * MAX_P];
    for (size_t r = a; r < b;) {
        int ow = (int)(r % (size_t)y->w), oh = (int)(r / y->w % (size_t)y->h);
        int od = (int)(r / ((size_t)y->w * y->h) % (size_t)y->d);
        int n = (int)(r / ((size_t)y->w * y->h * y->d));
        int np = y->w - ow < k.P ? y->w - ow : k.P;
        if ((size_t)np > b - r)
            np = (int)(b - r);
        gconv_block blk = {src, tap, block_sources(c, x, n, od, oh, ow, np, tap, src), cig, cog,
                           0, NULL, NULL, (size_t)c->cout, np, accumulate};
        for (int g = 0; g < G; g++)
            for (int j0 = 0; j0 < cog; j0 += k.width) {
                blk.goff = g * cig;
                blk.w = (const float *)c->packed + (size_t)g * kg * cog + j0;
                blk.y = y->data + r * (size_t)c->cout + (size_t)g * cog + j0;
                k.fn(&blk);
            }
        r += (size_t)np;
    }
}
