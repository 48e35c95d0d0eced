/* kn_cpu.c — the fast CPU backend: convolutions as OpenBLAS sgemm calls on
 * channels-last activations.
 *
 * A conv is Y[M×Cout] = cols(X)[M×K] · W[K×Cout] per group, with M the output
 * positions and K = kd·kh·kw·Cin/groups ordered (kd,kh,kw,ci), so that im2col
 * copies contiguous channel runs; one im2col pass lays all groups side by side. A stride-1 unpadded 1×1 conv needs no im2col
 * at all: X itself is the M×Cin matrix. Rows are processed in tiles so the
 * im2col scratch stays a few MB whatever the batch. The residual is copied into
 * Y first and accumulated by the GEMM (beta = 1); bias and ReLU are one pass. */
#include <cblas.h>
#include <float.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kn_internal.h"

#define SCRATCH_FLOATS (1u << 21) /* 8 MB of im2col per tile */
#define PAR_MIN ((size_t)1 << 16)  /* elements below which one thread does the copy */

static int nthreads = 1;

/* Row-range parallel for: fn(ctx, r0, r1) on up to nthreads threads (the
 * caller's thread takes the first share). GEMMs are threaded by OpenBLAS; this
 * covers im2col and the epilogue, which are memory-bound copies. */
typedef void (*range_fn)(void *ctx, size_t r0, size_t r1);
typedef struct par_job {
    range_fn fn;
    void *ctx;
    size_t r0, r1;
} par_job;

static void *par_run(void *a)
{
    par_job *j = a;
    j->fn(j->ctx, j->r0, j->r1);
    return NULL;
}

static void par_for(size_t rows, size_t work, range_fn fn, void *ctx)
{
    int t = nthreads > 8 ? 8 : nthreads;
    if (t < 2 || work < PAR_MIN || rows < (size_t)t) {
        fn(ctx, 0, rows);
        return;
    }
    par_job jobs[8];
    pthread_t tid[8];
    int started[8] = {0};
    for (int i = 0; i < t; i++)
        jobs[i] = (par_job){fn, ctx, rows * (size_t)i / (size_t)t, rows * (size_t)(i + 1) / (size_t)t};
    for (int i = 1; i < t; i++)
        started[i] = pthread_create(&tid[i], NULL, par_run, &jobs[i]) == 0;
    for (int i = 1; i < t; i++)
        if (!started[i]) /* no thread: do that share here */
            par_run(&jobs[i]);
    par_run(&jobs[0]);
    for (int i = 1; i < t; i++)
        if (started[i])
            pthread_join(tid[i], NULL);
}

static int cig_of(const kn_conv *c) { return c->cin / c->groups; }
static int cog_of(const kn_conv *c) { return c->cout / c->groups; }
static int kg_of(const kn_conv *c) { return c->k[0] * c->k[1] * c->k[2] * cig_of(c); }

/* packed[g][K][cout_g], K ordered (kd,kh,kw,ci). Written in blocks of 16
 * output channels so that both sides stay cache-friendly (load time matters:
 * ResNet-152 has 60 M weights). */
static int cpu_prepare(kn_conv *c)
{
    int cig = cig_of(c), cog = cog_of(c), kg = kg_of(c), ksp = c->k[0] * c->k[1] * c->k[2];
    float *p = malloc((size_t)c->groups * kg * cog * sizeof *p);
    if (!p)
        return QN_ENOMEM;
    for (int g = 0; g < c->groups; g++)
        for (int jb = 0; jb < cog; jb += 16) {
            int je = jb + 16 < cog ? jb + 16 : cog;
            for (int row = 0; row < kg; row++) {
                int s = row / cig, ci = row % cig;
                float *dst = p + ((size_t)g * kg + row) * cog;
                for (int j = jb; j < je; j++)
                    dst[j] = c->w[(((size_t)g * cog + j) * cig + ci) * ksp + s];
            }
        }
    c->packed = p;
    return QN_OK;
}

static void cpu_release(kn_conv *c)
{
    free(c->packed);
    c->packed = NULL;
}

/* im2col row length over all groups: columns ordered (g, kd, kh, kw, ci), so
 * group g's K_g columns are contiguous at g·K_g and one pass serves all groups. */
static size_t krow_of(const kn_conv *c) { return (size_t)c->groups * kg_of(c); }

static int tile_rows(const kn_conv *c, size_t M)
{
    size_t t = SCRATCH_FLOATS / krow_of(c);
    if (t < 16)
        t = 16;
    return (int)(t < M ? t : M);
}

static size_t cpu_conv_scratch(const kn_conv *c, const kn_tensor *x, const kn_tensor *y)
{
    if (kn_conv_is_plain_1x1(c))
        return 0;
    size_t M = (size_t)y->n * y->d * y->h * y->w;
    return (size_t)tile_rows(c, M) * krow_of(c);
}

/* Copies n floats; short runs (the 3-channel stem, 4-channel groups) inline. */
static inline void copy_run(float *d, const float *s, int n)
{
    if (n <= 8)
        for (int i = 0; i < n; i++)
            d[i] = s[i];
    else
        memcpy(d, s, (size_t)n * sizeof *d);
}

/* Rows [r0+a, r0+b) of the im2col matrix into cols (rows × krow). */
static void im2col_rows(const kn_conv *c, const kn_tensor *x, const kn_tensor *y, size_t r0,
                        size_t a, size_t b, float *cols)
{
    int cig = cig_of(c), kg = kg_of(c), G = c->groups;
    size_t krow = krow_of(c);
    for (size_t r = a; r < b; r++) {
        size_t q = r0 + (size_t)r;
        int ow = (int)(q % (size_t)y->w), oh = (int)(q / y->w % (size_t)y->h);
        int od = (int)(q / ((size_t)y->w * y->h) % (size_t)y->d);
        int n = (int)(q / ((size_t)y->w * y->h * y->d));
        float *row = cols + (size_t)r * krow;
        int s = 0; /* kernel tap index (kd, kh, kw) */
        for (int kd = 0; kd < c->k[0]; kd++) {
            int id = od * c->s[0] - c->p[0] + kd;
            for (int kh = 0; kh < c->k[1]; kh++) {
                int ih = oh * c->s[1] - c->p[1] + kh;
                int rowok = id >= 0 && id < x->d && ih >= 0 && ih < x->h;
                const float *src = x->data +
                    ((((size_t)n * x->d + (rowok ? id : 0)) * x->h + (rowok ? ih : 0)) * x->w) *
                        x->c;
                for (int kw = 0; kw < c->k[2]; kw++, s++) {
                    int iw = ow * c->s[2] - c->p[2] + kw;
                    float *dst = row + (size_t)s * cig;
                    if (rowok && iw >= 0 && iw < x->w) {
                        const float *px = src + (size_t)iw * x->c;
                        for (int g = 0; g < G; g++)
                            copy_run(dst + (size_t)g * kg, px + (size_t)g * cig, cig);
                    } else {
                        for (int g = 0; g < G; g++)
                            memset(dst + (size_t)g * kg, 0, (size_t)cig * sizeof *dst);
                    }
                }
            }
        }
    }
}

typedef struct conv_ctx {
    const kn_conv *c;
    const kn_tensor *x;
    kn_tensor *y;
    size_t r0;
    int relu;
    float *cols;
} conv_ctx;

static void im2col_part(void *p, size_t a, size_t b)
{
    conv_ctx *k = p;
    im2col_rows(k->c, k->x, k->y, k->r0, a, b, k->cols);
}

static void epilogue_part(void *p, size_t a, size_t b)
{
    conv_ctx *k = p;
    const kn_conv *c = k->c;
    int co = c->cout, relu = k->relu;
    for (size_t r = a; r < b; r++) {
        float *v = k->y->data + r * co;
        if (relu)
            for (int j = 0; j < co; j++) {
                float t = v[j] + c->bias[j];
                v[j] = t > 0 ? t : 0;
            }
        else
            for (int j = 0; j < co; j++)
                v[j] += c->bias[j];
    }
}

static void epilogue(const kn_conv *c, kn_tensor *y, int relu)
{
    size_t M = (size_t)y->n * y->d * y->h * y->w;
    conv_ctx k = {c, NULL, y, 0, relu, NULL};
    par_for(M, M * (size_t)c->cout, epilogue_part, &k);
}

static void cpu_conv(const kn_conv *c, const kn_tensor *x, kn_tensor *y, const kn_tensor *res,
                     int relu, void *scratch)
{
    size_t M = (size_t)y->n * y->d * y->h * y->w;
    float beta = 0;
    if (res) {
        if (res->data != y->data)
            memcpy(y->data, res->data, M * (size_t)c->cout * sizeof(float));
        beta = 1;
    }
    const float *W = c->packed;
    if (kn_conv_is_plain_1x1(c)) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, c->cout, c->cin, 1.0f,
                    x->data, c->cin, W, c->cout, beta, y->data, c->cout);
    } else {
        int kg = kg_of(c), cog = cog_of(c), T = tile_rows(c, M);
        size_t krow = krow_of(c);
        float *cols = scratch;
        for (size_t r0 = 0; r0 < M; r0 += (size_t)T) {
            int rows = (int)(M - r0 < (size_t)T ? M - r0 : (size_t)T);
            conv_ctx k = {c, x, y, r0, 0, cols};
            par_for((size_t)rows, (size_t)rows * krow, im2col_part, &k);
            for (int g = 0; g < c->groups; g++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, cog, kg, 1.0f,
                            cols + (size_t)g * kg, (int)krow, W + (size_t)g * kg * cog, cog, beta,
                            y->data + r0 * c->cout + (size_t)g * cog, c->cout);
        }
    }
    epilogue(c, y, relu);
}

static void cpu_maxpool(const kn_pool *p, const kn_tensor *x, kn_tensor *y)
{
    int C = y->c;
    for (int n = 0; n < y->n; n++)
        for (int od = 0; od < y->d; od++)
            for (int oh = 0; oh < y->h; oh++)
                for (int ow = 0; ow < y->w; ow++) {
                    float *o = y->data + ((((size_t)n * y->d + od) * y->h + oh) * y->w + ow) * C;
                    for (int j = 0; j < C; j++)
                        o[j] = -FLT_MAX;
                    for (int kd = 0; kd < p->k[0]; kd++) {
                        int id = od * p->s[0] - p->p[0] + kd;
                        if (id < 0 || id >= x->d)
                            continue;
                        for (int kh = 0; kh < p->k[1]; kh++) {
                            int ih = oh * p->s[1] - p->p[1] + kh;
                            if (ih < 0 || ih >= x->h)
                                continue;
                            for (int kw = 0; kw < p->k[2]; kw++) {
                                int iw = ow * p->s[2] - p->p[2] + kw;
                                if (iw < 0 || iw >= x->w)
                                    continue;
                                const float *v = x->data +
                                    ((((size_t)n * x->d + id) * x->h + ih) * x->w + iw) * C;
                                for (int j = 0; j < C; j++)
                                    o[j] = v[j] > o[j] ? v[j] : o[j];
                            }
                        }
                    }
                }
}

static void cpu_threads(int t)
{
    nthreads = t > 0 ? t : 1;
    openblas_set_num_threads(nthreads);
}

const kn_ops kn_cpu_ops = {
    .name = "cpu",
    .in_channels = 3,
    .alloc = kn_host_alloc,
    .dealloc = kn_host_dealloc,
    .prepare_conv = cpu_prepare,
    .input = kn_host_input,
    .sync = kn_host_sync,
    .release_conv = cpu_release,
    .conv = cpu_conv,
    .conv_scratch = cpu_conv_scratch,
    .maxpool = cpu_maxpool,
    .global_mean = kn_host_global_mean,
    .set_threads = cpu_threads,
};
