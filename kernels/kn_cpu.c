/* kn_cpu.c — the fast CPU backend: convolutions as OpenBLAS sgemm calls on
 * channels-last activations.
 *
 * A conv is Y[M×Cout] = cols(X)[M×K] · W[K×Cout] per group, with M the output
 * positions and K = kd·kh·kw·Cin/groups ordered (kd,kh,kw,ci), so that im2col
 * copies contiguous channel runs; one im2col pass lays all groups side by side. A stride-1 unpadded 1×1 conv needs no im2col
 * at all: X itself is the M×Cin matrix. Grouped convs with 4k outputs per group
 * (ResNeXt's) skip im2col too: kn_cpu_gconv.c computes them directly.
 *
 * Threads are ours, OpenBLAS runs single-threaded: each thread takes a block of
 * Y's rows and does im2col, the GEMMs and the epilogue (bias, shortcut, ReLU)
 * on it, tile by tile, so an epilogue reads rows its GEMM just wrote. (With
 * OpenBLAS's own threads the GEMMs were split instead, and its idle workers
 * spun on sched_yield while our threads did the copies: 20% of the time.) The
 * im2col scratch stays 8 MB whatever the batch and thread count. */
#include <cblas.h>
#include <float.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kn_cpu_gconv.h"
#include "kn_internal.h"

#define SCRATCH_FLOATS (1u << 21) /* 8 MB of im2col, shared by the threads' tiles */
#define ROWS_PER_THREAD 64         /* fewer rows than this per thread: fewer threads */
#define MAX_THREADS 64

static int nthreads = 1;

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

/* Whether c goes through im2col (and needs scratch): not a plain 1×1 GEMM, and not
 * a grouped conv kn_cpu_gconv.c computes directly. */
static int uses_im2col(const kn_conv *c)
{
    return !kn_conv_is_plain_1x1(c) && !kn_cpu_gconv_ok(c);
}

/* im2col row length over all groups: columns ordered (g, kd, kh, kw, ci), so
 * group g's K_g columns are contiguous at g·K_g and one pass serves all groups. */
static size_t krow_of(const kn_conv *c) { return (size_t)c->groups * kg_of(c); }

/* Threads for a conv of M output rows. */
static int conv_threads(size_t M)
{
    size_t t = M / ROWS_PER_THREAD;
    if (t > (size_t)nthreads)
        t = (size_t)nthreads;
    if (t > MAX_THREADS)
        t = MAX_THREADS;
    return t < 1 ? 1 : (int)t;
}

/* Rows per im2col tile for one of T threads. */
static size_t tile_rows(const kn_conv *c, size_t M, int T)
{
    size_t t = SCRATCH_FLOATS / (size_t)T / krow_of(c), share = (M + (size_t)T - 1) / (size_t)T;
    if (t < 16)
        t = 16;
    return t < share ? t : share;
}

/* Enough for any thread count the conv may run with: the count is process-wide
 * (the last model opened sets it), and may change between this plan and the run. */
static size_t cpu_conv_scratch(const kn_conv *c, const kn_tensor *x, const kn_tensor *y)
{
    if (!uses_im2col(c))
        return 0;
    size_t M = (size_t)y->n * y->d * y->h * y->w, most = 0;
    size_t tmax = M / ROWS_PER_THREAD < MAX_THREADS ? M / ROWS_PER_THREAD : MAX_THREADS;
    for (int T = 1; T <= (int)(tmax < 1 ? 1 : tmax); T++) {
        size_t need = (size_t)T * tile_rows(c, M, T);
        most = need > most ? need : most;
    }
    return most * krow_of(c);
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
                if (G == 1 && rowok) {
                    /* one group: the in-bounds taps of this (kd, kh) are one contiguous run */
                    int iw0 = ow * c->s[2] - c->p[2], K = c->k[2];
                    int kw0 = iw0 < 0 ? (-iw0 < K ? -iw0 : K) : 0;
                    int kw1 = x->w - iw0 < K ? x->w - iw0 : K;
                    float *dst = row + (size_t)s * cig;
                    if (kw1 < kw0)
                        kw1 = kw0;
                    memset(dst, 0, (size_t)kw0 * cig * sizeof *dst);
                    if (kw1 > kw0)
                        memcpy(dst + (size_t)kw0 * cig, src + (size_t)(iw0 + kw0) * x->c,
                               (size_t)(kw1 - kw0) * cig * sizeof *dst);
                    memset(dst + (size_t)kw1 * cig, 0, (size_t)(K - kw1) * cig * sizeof *dst);
                    s += K;
                    continue;
                }
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

/* y[r] = relu?(y[r] + bias + res[r]) for rows [a, b); res may be NULL. Four
 * lanes at a time with GCC/Clang vector types (SSE, NEON): -O2 does not
 * vectorise loops of unknown length by itself. ReLU zeroes what is below 0 and
 * keeps NaN, as the reference and the GPU do. */
typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));

static inline v4f load4(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void epilogue_rows(const kn_conv *c, float *y, const float *res, int relu, size_t a,
                          size_t b)
{
    const float *bias = c->bias;
    int co = c->cout, co4 = co & ~3;
    const v4f zero = {0, 0, 0, 0};
    for (size_t r = a; r < b; r++) {
        float *v = y + r * (size_t)co;
        const float *s = res ? res + r * (size_t)co : NULL;
        int j = 0;
        for (; j < co4; j += 4) {
            v4f t = load4(v + j) + load4(bias + j);
            if (s)
                t += load4(s + j);
            if (relu)
                t = (v4f)((v4i)t & ~(t < zero));
            memcpy(v + j, &t, sizeof t);
        }
        for (; j < co; j++) {
            float t = v[j] + bias[j] + (s ? s[j] : 0.f);
            v[j] = relu && t < 0.f ? 0.f : t;
        }
    }
}

/* Rows per GEMM call of a 1×1 conv: tiles whose output stays in cache for the
 * epilogue, unless W is large enough that packing it for every tile costs more. */
static size_t plain_tile(const kn_conv *c, size_t rows)
{
    size_t w = (size_t)c->cin * c->cout, t = ((size_t)1 << 18) / (size_t)c->cout;
    if (w > ((size_t)1 << 18))
        return rows;
    return t < 256 ? 256 : t;
}

/* One thread's block of a conv: rows [a, b) of y. */
typedef struct conv_job {
    const kn_conv *c;
    const kn_tensor *x;
    kn_tensor *y;
    const float *res; /* added by the epilogue, or NULL */
    float beta;       /* 1 when the shortcut is y itself */
    int relu;
    size_t a, b, tile;
    float *cols;      /* this thread's im2col tile */
} conv_job;

static void *conv_rows(void *arg)
{
    conv_job *j = arg;
    const kn_conv *c = j->c;
    const float *W = c->packed;
    int co = c->cout;
    if (kn_conv_is_plain_1x1(c)) {
        size_t tile = plain_tile(c, j->b - j->a);
        for (size_t r0 = j->a; r0 < j->b; r0 += tile) {
            size_t rows = j->b - r0 < tile ? j->b - r0 : tile;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, co, c->cin, 1.0f,
                        j->x->data + r0 * (size_t)c->cin, c->cin, W, co, j->beta,
                        j->y->data + r0 * (size_t)co, co);
            epilogue_rows(c, j->y->data, j->res, j->relu, r0, r0 + rows);
        }
        return NULL;
    }
    if (kn_cpu_gconv_ok(c)) {
        size_t step = 512; /* rows per pass, so that the epilogue finds them in cache */
        for (size_t r0 = j->a; r0 < j->b; r0 += step) {
            size_t r1 = j->b - r0 < step ? j->b : r0 + step;
            kn_cpu_gconv_rows(c, j->x, j->y, r0, r1, j->beta != 0.f);
            epilogue_rows(c, j->y->data, j->res, j->relu, r0, r1);
        }
        return NULL;
    }
    int kg = kg_of(c), cog = cog_of(c);
    size_t krow = krow_of(c);
    for (size_t r0 = j->a; r0 < j->b; r0 += j->tile) {
        size_t rows = j->b - r0 < j->tile ? j->b - r0 : j->tile;
        im2col_rows(c, j->x, j->y, r0, 0, rows, j->cols);
        for (int g = 0; g < c->groups; g++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, cog, kg, 1.0f,
                        j->cols + (size_t)g * kg, (int)krow, W + (size_t)g * kg * cog, cog,
                        j->beta, j->y->data + r0 * (size_t)co + (size_t)g * cog, co);
        epilogue_rows(c, j->y->data, j->res, j->relu, r0, r0 + rows);
    }
    return NULL;
}

static void cpu_conv(const kn_conv *c, const kn_tensor *x, kn_tensor *y, const kn_tensor *res,
                     int relu, void *scratch)
{
    size_t M = (size_t)y->n * y->d * y->h * y->w;
    int T = conv_threads(M);
    size_t tile = uses_im2col(c) ? tile_rows(c, M, T) : 0;
    conv_job jobs[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int i = 0; i < T; i++) {
        jobs[i] = (conv_job){c, x, y, NULL, 0.f, relu, M * (size_t)i / (size_t)T,
                             M * (size_t)(i + 1) / (size_t)T, tile,
                             scratch ? (float *)scratch + (size_t)i * tile * krow_of(c) : NULL};
        if (res && res->data == y->data)
            jobs[i].beta = 1.f; /* the shortcut is y: the GEMM accumulates into it */
        else if (res)
            jobs[i].res = res->data;
    }
    for (int i = 1; i < T; i++)
        started[i] = pthread_create(&tid[i], NULL, conv_rows, &jobs[i]) == 0;
    for (int i = 1; i < T; i++)
        if (!started[i]) /* no thread: do that block here */
            conv_rows(&jobs[i]);
    conv_rows(&jobs[0]);
    for (int i = 1; i < T; i++)
        if (started[i])
            pthread_join(tid[i], NULL);
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
    openblas_set_num_threads(1); /* our threads split the rows (see the top) */
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
