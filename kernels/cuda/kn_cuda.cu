/* kn_cuda.cu — the CUDA backend: fp16 channels-last activations (NHWC for the
 * 2D nets, NDHWC for the 3D one), fp32 accumulation.
 *
 * - convolutions: cuDNN (legacy API, still shipped in cuDNN 9) with tensor-op
 *   math and group counts for ResNeXt; algorithms found once per layer and
 *   input shape (cudnnFindConvolutionForwardAlgorithm) and cached;
 * - stride-1 1×1 convs: one cuBLAS GEMM, Y[M×Cout] = X[M×Cin]·Wᵀ;
 * - the residual is copied into Y and accumulated by the conv/GEMM (beta = 1);
 *   folded-BN bias and ReLU are one element-wise kernel;
 * - own kernels: u8 → normalised fp16 input (3 channels padded to 8 so the
 *   stem can use tensor cores), max pooling, global mean, fp16 → fp32;
 * - the forward up to layer4 replayed as one CUDA graph per model, input shape
 *   and buffer set, from a shape's second use (QUERN_KN_CUDA_GRAPH=0: never);
 * Errors are asynchronous: ops record the first failure and sync() returns it.
 * One cuDNN/cuBLAS context per process (the first probed device). */
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/kn_cuda_dl.h"
#include "kernels/kn_cuda.h"

#define IN_C 8                          /* input channels after padding */
#define WS_LIMIT ((size_t)512 << 20)    /* largest cuDNN workspace we accept */

static struct {
    int ready, device;
    cudaStream_t stream;
    cudnnHandle_t dnn;
    cublasHandle_t blas;
    int status;
    char msg[600];
    uint8_t *u8; /* device copy of the input pixels */
    size_t u8cap;
    float *f32;  /* device fp32 staging (means, stage copies) */
    size_t f32cap;
} G;

static void fail(const char *what, const char *why, const char *file, int line)
{
    if (G.status)
        return;
    G.status = QN_EENV;
    snprintf(G.msg, sizeof G.msg, "%s:%d: %s: %s", file, line, what, why);
}

#define CK_CUDA(x)                                                          \
    do {                                                                    \
        cudaError_t e_ = (x);                                               \
        if (e_ != cudaSuccess)                                              \
            fail(#x, cudaGetErrorString(e_), __FILE__, __LINE__);           \
    } while (0)
#define CK_DNN(x)                                                           \
    do {                                                                    \
        cudnnStatus_t e_ = (x);                                             \
        if (e_ != CUDNN_STATUS_SUCCESS)                                     \
            fail(#x, cudnnGetErrorString(e_), __FILE__, __LINE__);          \
    } while (0)
#define CK_BLAS(x)                                                          \
    do {                                                                    \
        cublasStatus_t e_ = (x);                                            \
        if (e_ != CUBLAS_STATUS_SUCCESS)                                    \
            fail(#x, cublasGetStatusString(e_), __FILE__, __LINE__);        \
    } while (0)

static unsigned blocks_for(size_t n, unsigned threads)
{
    size_t b = (n + threads - 1) / threads;
    return (unsigned)(b > 65535u * 8 ? 65535u * 8 : (b ? b : 1));
}

/* ---- probe -------------------------------------------------------------- */

extern "C" int kn_cuda_libs_load(qn_error *err)
{
    char why[512];
    if (kn_cuda_dl_load(why, sizeof why) != 0)
        return qn_error_set(err, QN_EENV, "%s", why);
    return QN_OK;
}

extern "C" int kn_cuda_probe(int device, qn_error *err)
{
    if (G.ready)
        return device == G.device ? QN_OK
                                  : qn_error_set(err, QN_EENV, "the CUDA backend already uses "
                                                 "GPU %d in this process", G.device);
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess)
        return qn_error_set(err, QN_EENV, "cudaGetDeviceCount: %s", cudaGetErrorString(e));
    if (n < 1 || device < 0 || device >= n)
        return qn_error_set(err, QN_EENV, "no CUDA device %d (%d present)", device, n);
    if (kn_cuda_libs_load(err) != QN_OK)
        return QN_EENV;
    /* blocking sync: a thread waiting on the GPU sleeps instead of spinning on a core
     * the decoders could use (also the flags FFmpeg's NVDEC wants; fails harmlessly
     * when the primary context is already active) */
    if (cudaInitDevice(device, cudaDeviceScheduleBlockingSync, 0) != cudaSuccess)
        cudaGetLastError();
    if ((e = cudaSetDevice(device)) != cudaSuccess ||
        (e = cudaStreamCreateWithFlags(&G.stream, cudaStreamNonBlocking)) != cudaSuccess)
        return qn_error_set(err, QN_EENV, "CUDA device %d: %s", device, cudaGetErrorString(e));
    cudnnStatus_t ds = cudnnCreate(&G.dnn);
    if (ds != CUDNN_STATUS_SUCCESS) {
        cudaStreamDestroy(G.stream); /* a later probe creates it again */
        return qn_error_set(err, QN_EENV, "cudnnCreate: %s", cudnnGetErrorString(ds));
    }
    cublasStatus_t bs = cublasCreate(&G.blas);
    if (bs != CUBLAS_STATUS_SUCCESS) {
        cudnnDestroy(G.dnn);
        cudaStreamDestroy(G.stream);
        return qn_error_set(err, QN_EENV, "cublasCreate: %s", cublasGetStatusString(bs));
    }
    cudnnSetStream(G.dnn, G.stream);
    cublasSetStream(G.blas, G.stream);
    /* our own cuBLAS workspace, so that nothing allocates inside a graph capture */
    void *ws = NULL;
    if (cudaMalloc(&ws, (size_t)32 << 20) == cudaSuccess)
        cublasSetWorkspace(G.blas, ws, (size_t)32 << 20);
    else
        cudaGetLastError();
    G.ready = 1;
    G.device = device;
    return QN_OK;
}

/* ---- memory --------------------------------------------------------------- */

static void *d_alloc(size_t elems)
{
    void *p = NULL;
    if (cudaMalloc(&p, (elems ? elems : 1) * sizeof(__half)) != cudaSuccess) {
        cudaGetLastError(); /* clear the sticky-free error so later calls work */
        return NULL;
    }
    return p;
}

static void d_free(void *p)
{
    if (p)
        cudaFree(p);
}

static int grow(void **p, size_t *cap, size_t bytes)
{
    if (bytes <= *cap)
        return 1;
    if (*p)
        cudaFree(*p);
    *p = NULL;
    *cap = 0;
    if (cudaMalloc(p, bytes) != cudaSuccess) {
        fail("cudaMalloc", "out of device memory", __FILE__, __LINE__);
        return 0;
    }
    *cap = bytes;
    return 1;
}

/* ---- per-conv state ------------------------------------------------------ */

typedef struct cconv {
    __half *w;   /* filter, channels last: [cout][kd][kh][kw][cin/g] (cin padded for the stem) */
    float *bias; /* fp32 [cout] */
    int gemm;    /* stride-1 unpadded 1×1, groups 1: cuBLAS */
    int cin;     /* channels as the GPU sees them */
    int shape[4];  /* n, d, h, w of the planned input; n = 0: not planned */
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    cudnnConvolutionFwdAlgo_t algo;
    cudnnMathType_t math;
    size_t ws;
    int direct;  /* cuDNN offered no algorithm: our own direct kernel */
} cconv;

static void c_release(kn_conv *c);

static int c_prepare(kn_conv *c)
{
    cconv *g = (cconv *)calloc(1, sizeof *g);
    if (!g)
        return QN_ENOMEM;
    int cig = c->cin / c->groups, ksp = c->k[0] * c->k[1] * c->k[2];
    g->cin = c->cin == 3 ? IN_C : c->cin;
    int gcig = c->cin == 3 ? IN_C : cig;
    g->gemm = kn_conv_is_plain_1x1(c);
    size_t nw = (size_t)c->cout * ksp * gcig;
    __half *hw = (__half *)calloc(nw, sizeof *hw);
    if (!hw) {
        free(g);
        return QN_ENOMEM;
    }
    for (int o = 0; o < c->cout; o++)
        for (int i = 0; i < cig; i++)
            for (int s = 0; s < ksp; s++)
                hw[((size_t)o * ksp + s) * gcig + i] =
                    __float2half(c->w[((size_t)o * cig + i) * ksp + s]);
    /* copies on our stream, then waited for: a plain cudaMemcpy from pageable
     * memory may return before its DMA lands, and it runs on the legacy default
     * stream, which our non-blocking stream does not wait for */
    int ok = cudaMalloc(&g->w, nw * sizeof *hw) == cudaSuccess &&
             cudaMalloc(&g->bias, (size_t)c->cout * sizeof(float)) == cudaSuccess &&
             cudaMemcpyAsync(g->w, hw, nw * sizeof *hw, cudaMemcpyHostToDevice, G.stream) ==
                 cudaSuccess &&
             cudaMemcpyAsync(g->bias, c->bias, (size_t)c->cout * sizeof(float),
                             cudaMemcpyHostToDevice, G.stream) == cudaSuccess;
    ok = cudaStreamSynchronize(G.stream) == cudaSuccess && ok;
    free(hw);
    ok = ok && cudnnCreateTensorDescriptor(&g->xd) == CUDNN_STATUS_SUCCESS &&
         cudnnCreateTensorDescriptor(&g->yd) == CUDNN_STATUS_SUCCESS &&
         cudnnCreateFilterDescriptor(&g->wd) == CUDNN_STATUS_SUCCESS &&
         cudnnCreateConvolutionDescriptor(&g->cd) == CUDNN_STATUS_SUCCESS;
    c->packed = g;
    if (!ok) {
        cudaGetLastError();
        c_release(c); /* the model releases only convs that prepared */
        return QN_ENOMEM;
    }
    return QN_OK;
}

static void c_release(kn_conv *c)
{
    cconv *g = (cconv *)c->packed;
    if (!g)
        return;
    cudaFree(g->w);
    cudaFree(g->bias);
    if (g->xd)
        cudnnDestroyTensorDescriptor(g->xd);
    if (g->yd)
        cudnnDestroyTensorDescriptor(g->yd);
    if (g->wd)
        cudnnDestroyFilterDescriptor(g->wd);
    if (g->cd)
        cudnnDestroyConvolutionDescriptor(g->cd);
    free(g);
    c->packed = NULL;
}

static void set_tensor(cudnnTensorDescriptor_t d, int is3d, int n, int ch, int dd, int h, int w)
{
    if (!is3d) {
        CK_DNN(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NHWC, CUDNN_DATA_HALF, n, ch, h, w));
    } else {
        int dims[5] = {n, ch, dd, h, w};
        CK_DNN(cudnnSetTensorNdDescriptorEx(d, CUDNN_TENSOR_NHWC, CUDNN_DATA_HALF, 5, dims));
    }
}

/* Algorithms found so far, by conv geometry and input shape: ResNet-152 has
 * 155 convs but only a few dozen distinct ones, and Find benchmarks them all. */
typedef struct algo_key {
    int v[17];
} algo_key;
static struct {
    algo_key key;
    cudnnConvolutionFwdAlgo_t algo;
    cudnnMathType_t math;
    size_t ws;
    int direct;
} algo_cache[512];
static int algo_n;

static algo_key key_of(const kn_conv *c, const kn_tensor *x, int cin)
{
    algo_key k = {{cin, c->cout, c->groups, c->k[0], c->k[1], c->k[2], c->s[0], c->s[1], c->s[2],
                   c->p[0], c->p[1], c->p[2], x->n, x->d, x->h, x->w, 0}};
    return k;
}

/* Sets descriptors and finds the fastest algorithm for x's shape (cached). */
static void plan(const kn_conv *c, const kn_tensor *x, const kn_tensor *y)
{
    cconv *g = (cconv *)c->packed;
    int is3d = c->k[0] > 1 || x->d > 1;
    if (g->gemm || (g->shape[0] == x->n && g->shape[1] == x->d && g->shape[2] == x->h &&
                    g->shape[3] == x->w))
        return;
    int cig = g->cin / c->groups;
    set_tensor(g->xd, is3d, x->n, g->cin, x->d, x->h, x->w);
    set_tensor(g->yd, is3d, y->n, y->c, y->d, y->h, y->w);
    if (!is3d) {
        CK_DNN(cudnnSetFilter4dDescriptor(g->wd, CUDNN_DATA_HALF, CUDNN_TENSOR_NHWC, c->cout, cig,
                                          c->k[1], c->k[2]));
        CK_DNN(cudnnSetConvolution2dDescriptor(g->cd, c->p[1], c->p[2], c->s[1], c->s[2], 1, 1,
                                               CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    } else {
        int fd[5] = {c->cout, cig, c->k[0], c->k[1], c->k[2]}, dil[3] = {1, 1, 1};
        CK_DNN(cudnnSetFilterNdDescriptor(g->wd, CUDNN_DATA_HALF, CUDNN_TENSOR_NHWC, 5, fd));
        CK_DNN(cudnnSetConvolutionNdDescriptor(g->cd, 3, c->p, c->s, dil, CUDNN_CROSS_CORRELATION,
                                               CUDNN_DATA_FLOAT));
    }
    CK_DNN(cudnnSetConvolutionGroupCount(g->cd, c->groups));
    g->shape[0] = x->n, g->shape[1] = x->d, g->shape[2] = x->h, g->shape[3] = x->w;
    algo_key key = key_of(c, x, g->cin);
    for (int i = 0; i < algo_n; i++)
        if (!memcmp(&algo_cache[i].key, &key, sizeof key)) {
            g->algo = algo_cache[i].algo;
            g->math = algo_cache[i].math;
            g->ws = algo_cache[i].ws;
            g->direct = algo_cache[i].direct;
            CK_DNN(cudnnSetConvolutionMathType(g->cd, g->math));
            return;
        }
    /* tensor cores first; plain FMA math if no tensor-op kernel takes this
     * shape (e.g. 4 channels per group); our direct kernel as the last resort */
    static const cudnnMathType_t maths[2] = {CUDNN_TENSOR_OP_MATH, CUDNN_DEFAULT_MATH};
    static int force_direct = -1; /* QUERN_KN_CUDA_DIRECT=1 tests the fallback */
    if (force_direct < 0)
        force_direct = getenv("QUERN_KN_CUDA_DIRECT") && getenv("QUERN_KN_CUDA_DIRECT")[0] == '1';
    int pick = -1;
    cudnnConvolutionFwdAlgoPerf_t perf[8];
    for (int m = 0; m < 2 && pick < 0 && !force_direct; m++) {
        int got = 0;
        if (cudnnSetConvolutionMathType(g->cd, maths[m]) != CUDNN_STATUS_SUCCESS ||
            cudnnFindConvolutionForwardAlgorithm(G.dnn, g->xd, g->wd, g->cd, g->yd, 8, &got,
                                                 perf) != CUDNN_STATUS_SUCCESS)
            got = 0;
        for (int i = 0; i < got && pick < 0; i++)
            if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= WS_LIMIT)
                pick = i;
    }
    cudaGetLastError();
    g->direct = pick < 0;
    g->ws = 0;
    if (!g->direct) {
        g->algo = perf[pick].algo;
        g->math = perf[pick].mathType;
        g->ws = perf[pick].memory;
        CK_DNN(cudnnSetConvolutionMathType(g->cd, g->math));
    }
    if (algo_n < (int)(sizeof algo_cache / sizeof algo_cache[0])) {
        algo_cache[algo_n].key = key;
        algo_cache[algo_n].algo = g->algo;
        algo_cache[algo_n].math = g->math;
        algo_cache[algo_n].ws = g->ws;
        algo_cache[algo_n++].direct = g->direct;
    }
}

static size_t c_conv_scratch(const kn_conv *c, const kn_tensor *x, const kn_tensor *y)
{
    plan(c, x, y);
    cconv *g = (cconv *)c->packed;
    return g->gemm ? 0 : (g->ws + sizeof(__half) - 1) / sizeof(__half);
}

/* ---- kernels -------------------------------------------------------------- */

/* The conv's epilogue: y = relu?(y + bias[c] + res), res optional (the block's
 * shortcut, added here rather than copied into y before the conv: two passes
 * over the largest tensors fewer). One rounding to fp16. */
__global__ void k_bias_relu(__half *y, const __half *res, const float *bias, size_t n, int ch,
                            int relu)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float v = __half2float(y[i]) + bias[i % ch] + (res ? __half2float(res[i]) : 0.f);
        y[i] = __float2half(relu && v < 0.f ? 0.f : v);
    }
}

/* The same, 8 channels per thread with 16-byte loads (ch % 8 == 0, aligned buffers). */
__global__ void k_bias_relu8(uint4 *y, const uint4 *res, const float *bias, size_t n8, int ch,
                             int relu)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n8;
         i += (size_t)gridDim.x * blockDim.x) {
        uint4 v = y[i], r = res ? res[i] : make_uint4(0, 0, 0, 0);
        const float *b = bias + (i * 8) % (size_t)ch;
        __half2 *h = (__half2 *)&v;
        const __half2 *rh = (const __half2 *)&r;
        for (int k = 0; k < 4; k++) {
            float2 f = __half22float2(h[k]), q = __half22float2(rh[k]);
            f.x += b[2 * k] + q.x;
            f.y += b[2 * k + 1] + q.y;
            if (relu) {
                f.x = f.x < 0.f ? 0.f : f.x;
                f.y = f.y < 0.f ? 0.f : f.y;
            }
            h[k] = __floats2half2_rn(f.x, f.y);
        }
        y[i] = v;
    }
}

typedef struct shape5 {
    int n, d, h, w, c;
} shape5;

typedef struct convp {
    int cin, cout, groups, k[3], s[3], p[3];
} convp;

/* Direct convolution, one thread per output element, fp32 accumulation: the
 * fallback for shapes cuDNN declines. y = conv(x) + beta·y (bias comes later). */
__global__ void k_conv_direct(const __half *x, shape5 xs, const __half *w, convp c, __half *y,
                              shape5 ys, float beta)
{
    size_t n = (size_t)ys.n * ys.d * ys.h * ys.w * ys.c;
    int cig = c.cin / c.groups, cog = c.cout / c.groups;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        int co = (int)(i % ys.c);
        size_t q = i / ys.c;
        int ow = (int)(q % ys.w), oh = (int)(q / ys.w % ys.h), od = (int)(q / ys.w / ys.h % ys.d);
        int b = (int)(q / ys.w / ys.h / ys.d), g = co / cog;
        float acc = 0.f;
        const __half *wp = w + (size_t)co * c.k[0] * c.k[1] * c.k[2] * cig;
        for (int kd = 0; kd < c.k[0]; kd++) {
            int id = od * c.s[0] - c.p[0] + kd;
            for (int kh = 0; kh < c.k[1]; kh++) {
                int ih = oh * c.s[1] - c.p[1] + kh;
                for (int kw = 0; kw < c.k[2]; kw++, wp += cig) {
                    int iw = ow * c.s[2] - c.p[2] + kw;
                    if (id < 0 || id >= xs.d || ih < 0 || ih >= xs.h || iw < 0 || iw >= xs.w)
                        continue;
                    const __half *xp =
                        x + ((((size_t)b * xs.d + id) * xs.h + ih) * xs.w + iw) * xs.c + g * cig;
                    for (int ci = 0; ci < cig; ci++)
                        acc += __half2float(xp[ci]) * __half2float(wp[ci]);
                }
            }
        }
        /* beta = 0: y is not read (fresh device memory may hold NaN bits, 0·NaN = NaN) */
        y[i] = __float2half(beta != 0.f ? acc + beta * __half2float(y[i]) : acc);
    }
}

__constant__ float c_mean[3], c_scale[3];

/* u8 pixels → (u·scale - mean) per channel, padded to IN_C channels. */
__global__ void k_input(const uint8_t *in, __half *out, size_t pixels)
{
    for (size_t p = blockIdx.x * (size_t)blockDim.x + threadIdx.x; p < pixels;
         p += (size_t)gridDim.x * blockDim.x) {
        for (int c = 0; c < 3; c++)
            out[p * IN_C + c] = __float2half((float)in[p * 3 + c] * c_scale[c] - c_mean[c]);
        for (int c = 3; c < IN_C; c++)
            out[p * IN_C + c] = __float2half(0.f);
    }
}

__global__ void k_maxpool(const __half *x, shape5 xs, __half *y, shape5 ys, int3 k, int3 s, int3 p)
{
    size_t n = (size_t)ys.n * ys.d * ys.h * ys.w * ys.c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(i % ys.c);
        size_t q = i / ys.c;
        int ow = (int)(q % ys.w), oh = (int)(q / ys.w % ys.h), od = (int)(q / ys.w / ys.h % ys.d);
        int b = (int)(q / ys.w / ys.h / ys.d);
        float m = -65504.f;
        for (int kd = 0; kd < k.x; kd++) {
            int id = od * s.x - p.x + kd;
            if (id < 0 || id >= xs.d)
                continue;
            for (int kh = 0; kh < k.y; kh++) {
                int ih = oh * s.y - p.y + kh;
                if (ih < 0 || ih >= xs.h)
                    continue;
                for (int kw = 0; kw < k.z; kw++) {
                    int iw = ow * s.z - p.z + kw;
                    if (iw < 0 || iw >= xs.w)
                        continue;
                    float v = __half2float(
                        x[((((size_t)b * xs.d + id) * xs.h + ih) * xs.w + iw) * xs.c + c]);
                    m = v > m ? v : m;
                }
            }
        }
        y[i] = __float2half(m);
    }
}

/* out[n][c] = mean over the sp positions; one thread per (n, c). */
__global__ void k_mean(const __half *x, int n, size_t sp, int ch, float *out)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n * ch)
        return;
    int b = i / ch, c = i % ch;
    float s = 0.f;
    for (size_t p = 0; p < sp; p++)
        s += __half2float(x[((size_t)b * sp + p) * ch + c]);
    out[i] = s / (float)sp;
}

__global__ void k_to_f32(const __half *x, float *y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] = __half2float(x[i]);
}

/* Clip pooling: block (clip, modality); threads stride over the dim features
 * taking the max over the clip's rows, then a block reduction of the squares
 * for the L2 norm. range[2*(clip*2+mod)] = first row, +1 = end (end <= first:
 * modality absent → zeros). */
__global__ void k_pool_clips(const float *rows2d, int dim2d, const float *rows3d, int dim3d,
                             const int *range, float *out)
{
    int clip = blockIdx.x, mod = blockIdx.y;
    const float *rows = mod ? rows3d : rows2d;
    int dim = mod ? dim3d : dim2d, b = range[2 * (clip * 2 + mod)],
        e = range[2 * (clip * 2 + mod) + 1];
    float *o = out + (size_t)clip * (dim2d + dim3d) + (mod ? dim2d : 0);
    __shared__ float part[256];
    float ss = 0.f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        float m = 0.f;
        if (e > b) {
            m = rows[(size_t)b * dim + i];
            for (int r = b + 1; r < e; r++)
                m = fmaxf(m, rows[(size_t)r * dim + i]);
        }
        o[i] = m;
        ss += m * m;
    }
    part[threadIdx.x] = ss;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s)
            part[threadIdx.x] += part[threadIdx.x + s];
        __syncthreads();
    }
    float nrm = fmaxf(sqrtf(part[0]), 1e-12f);
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        o[i] /= nrm;
}

extern "C" int kn_cuda_pool_clips(const float *rows2d, int n2d, int dim2d, double rate2d,
                                  const float *rows3d, int n3d, int dim3d, double rate3d,
                                  const double *starts, const double *ends, int nclips,
                                  float *out, qn_error *err)
{
    if (!G.ready)
        return qn_error_set(err, QN_EENV, "kn_cuda_pool_clips: no GPU probed");
    if (n2d < 0 || n3d < 0 || dim2d < 0 || dim3d < 0 || nclips < 0 || !(rate2d > 0) ||
        !(rate3d > 0) || !isfinite(rate2d) || !isfinite(rate3d))
        return qn_error_set(err, QN_EUSAGE, "kn_cuda_pool_clips: bad counts or rates");
    /* as kn_pool_clips: kn_clip_rows must not see NaN/inf times */
    for (int c = 0; c < nclips; c++)
        if (!isfinite(starts[c]) || !isfinite(ends[c]))
            return qn_error_set(err, QN_EUSAGE, "kn_cuda_pool_clips: clip %d: non-finite time", c);
    if (!nclips)
        return QN_OK;
    /* an absent modality (rows NULL, or no rows) is uploaded as nothing: its
     * range stays empty and its part comes out as zeros */
    if (!rows2d)
        n2d = 0;
    if (!rows3d)
        n3d = 0;
    int *range = (int *)malloc((size_t)nclips * 4 * sizeof *range);
    if (!range)
        return qn_error_set(err, QN_ENOMEM, "kn_cuda_pool_clips: out of memory");
    for (int c = 0; c < nclips; c++) {
        int *r = range + 4 * c;
        r[0] = r[1] = r[2] = r[3] = 0;
        if (n2d > 0)
            kn_clip_rows(n2d, rate2d, starts[c], ends[c], &r[0], &r[1]);
        if (n3d > 0)
            kn_clip_rows(n3d, rate3d, starts[c], ends[c], &r[2], &r[3]);
    }
    size_t b2 = (size_t)n2d * dim2d * sizeof(float), b3 = (size_t)n3d * dim3d * sizeof(float),
           bo = (size_t)nclips * (dim2d + dim3d) * sizeof(float), br = (size_t)nclips * 4 * sizeof(int);
    char *dmem = NULL;
    CK_CUDA(cudaMalloc(&dmem, b2 + b3 + bo + br + 64));
    if (dmem) {
        float *d2 = (float *)dmem, *d3 = (float *)(dmem + b2), *dout = (float *)(dmem + b2 + b3);
        int *dr = (int *)(dmem + b2 + b3 + bo);
        if (b2)
            CK_CUDA(cudaMemcpyAsync(d2, rows2d, b2, cudaMemcpyHostToDevice, G.stream));
        if (b3)
            CK_CUDA(cudaMemcpyAsync(d3, rows3d, b3, cudaMemcpyHostToDevice, G.stream));
        CK_CUDA(cudaMemcpyAsync(dr, range, br, cudaMemcpyHostToDevice, G.stream));
        k_pool_clips<<<dim3(nclips, 2), 256, 0, G.stream>>>(d2, dim2d, d3, dim3d, dr, dout);
        CK_CUDA(cudaGetLastError());
        CK_CUDA(cudaMemcpyAsync(out, dout, bo, cudaMemcpyDeviceToHost, G.stream));
        CK_CUDA(cudaStreamSynchronize(G.stream));
        cudaFree(dmem);
    } else {
        cudaGetLastError(); /* reported below; must not fail the next sync() too */
    }
    free(range);
    int rc = G.status;
    if (rc)
        qn_error_set(err, rc, "cuda backend: %s", G.msg);
    G.status = 0;
    return rc;
}

/* ---- ops ------------------------------------------------------------------ */

static void c_input(const uint8_t *in, size_t pixels, int is3d, kn_tensor *x)
{
    /* 2D: (u/255 - mean)/(std + 1e-8) = u·scale - mean/(std+1e-8); 3D: u - mean */
    static const float m2[3] = {0.485f, 0.456f, 0.406f}, s2[3] = {0.229f, 0.224f, 0.225f},
                       m3[3] = {110.6f, 103.2f, 96.3f};
    float mean[3], scale[3];
    for (int c = 0; c < 3; c++) {
        double sd = (double)s2[c] + 1e-8;
        mean[c] = is3d ? m3[c] : (float)(m2[c] / sd);
        scale[c] = is3d ? 1.f : (float)(1.0 / (255.0 * sd));
    }
    CK_CUDA(cudaMemcpyToSymbolAsync(c_mean, mean, sizeof mean, 0, cudaMemcpyHostToDevice, G.stream));
    CK_CUDA(cudaMemcpyToSymbolAsync(c_scale, scale, sizeof scale, 0, cudaMemcpyHostToDevice,
                                    G.stream));
    if (!grow((void **)&G.u8, &G.u8cap, pixels * 3))
        return;
    CK_CUDA(cudaMemcpyAsync(G.u8, in, pixels * 3, cudaMemcpyHostToDevice, G.stream));
    k_input<<<blocks_for(pixels, 256), 256, 0, G.stream>>>(G.u8, (__half *)x->data, pixels);
    CK_CUDA(cudaGetLastError());
}

static void c_conv(const kn_conv *c, const kn_tensor *x, kn_tensor *y, const kn_tensor *res,
                   int relu, void *scratch)
{
    if (G.status)
        return;
    cconv *g = (cconv *)c->packed;
    size_t M = (size_t)y->n * y->d * y->h * y->w, ny = M * (size_t)y->c;
    float alpha = 1.f, beta = 0.f;
    const __half *radd = NULL; /* added by the epilogue kernel */
    if (res && res->data == y->data)
        beta = 1.f;            /* the shortcut is y itself: the conv accumulates into it */
    else if (res)
        radd = (const __half *)res->data;
    if (g->gemm) {
        /* column-major view: Yᵀ[Cout×M] = W[Cin×Cout]ᵀ · Xᵀ[Cin×M] */
        CK_BLAS(cublasGemmEx(G.blas, CUBLAS_OP_T, CUBLAS_OP_N, c->cout, (int)M, c->cin, &alpha,
                             g->w, CUDA_R_16F, c->cin, x->data, CUDA_R_16F, c->cin, &beta, y->data,
                             CUDA_R_16F, c->cout, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    } else {
        plan(c, x, y);
        if (g->direct) {
            shape5 xs = {x->n, x->d, x->h, x->w, g->cin}, ys = {y->n, y->d, y->h, y->w, y->c};
            convp cp = {g->cin, c->cout, c->groups, {c->k[0], c->k[1], c->k[2]},
                        {c->s[0], c->s[1], c->s[2]}, {c->p[0], c->p[1], c->p[2]}};
            k_conv_direct<<<blocks_for(ny, 256), 256, 0, G.stream>>>(
                (const __half *)x->data, xs, g->w, cp, (__half *)y->data, ys, beta);
        } else {
            CK_DNN(cudnnConvolutionForward(G.dnn, &alpha, g->xd, x->data, g->wd, g->w, g->cd,
                                           g->algo, scratch, g->ws, &beta, g->yd, y->data));
        }
    }
    if (y->c % 8 == 0 && (uintptr_t)y->data % 16 == 0 && (uintptr_t)radd % 16 == 0)
        k_bias_relu8<<<blocks_for(ny / 8, 256), 256, 0, G.stream>>>(
            (uint4 *)y->data, (const uint4 *)radd, g->bias, ny / 8, y->c, relu);
    else
        k_bias_relu<<<blocks_for(ny, 256), 256, 0, G.stream>>>((__half *)y->data, radd, g->bias,
                                                               ny, y->c, relu);
    CK_CUDA(cudaGetLastError());
}

static shape5 s5(const kn_tensor *t)
{
    shape5 s = {t->n, t->d, t->h, t->w, t->c};
    return s;
}

static void c_maxpool(const kn_pool *p, const kn_tensor *x, kn_tensor *y)
{
    size_t n = kn_numel(y);
    k_maxpool<<<blocks_for(n, 256), 256, 0, G.stream>>>(
        (const __half *)x->data, s5(x), (__half *)y->data, s5(y), make_int3(p->k[0], p->k[1], p->k[2]),
        make_int3(p->s[0], p->s[1], p->s[2]), make_int3(p->p[0], p->p[1], p->p[2]));
    CK_CUDA(cudaGetLastError());
}

static void c_global_mean(const kn_tensor *x, float *out)
{
    size_t nc = (size_t)x->n * x->c;
    if (!grow((void **)&G.f32, &G.f32cap, nc * sizeof(float)))
        return;
    k_mean<<<(unsigned)((nc + 255) / 256), 256, 0, G.stream>>>(
        (const __half *)x->data, x->n, (size_t)x->d * x->h * x->w, x->c, G.f32);
    CK_CUDA(cudaMemcpyAsync(out, G.f32, nc * sizeof(float), cudaMemcpyDeviceToHost, G.stream));
    CK_CUDA(cudaStreamSynchronize(G.stream));
}

static void c_to_host(const kn_tensor *t, float *host)
{
    size_t n = kn_numel(t);
    if (!grow((void **)&G.f32, &G.f32cap, n * sizeof(float)))
        return;
    k_to_f32<<<blocks_for(n, 256), 256, 0, G.stream>>>((const __half *)t->data, G.f32, n);
    CK_CUDA(cudaMemcpyAsync(host, G.f32, n * sizeof(float), cudaMemcpyDeviceToHost, G.stream));
    CK_CUDA(cudaStreamSynchronize(G.stream));
}

static int c_sync(qn_error *err)
{
    CK_CUDA(cudaStreamSynchronize(G.stream));
    CK_CUDA(cudaGetLastError());
    int rc = G.status;
    if (rc)
        qn_error_set(err, rc, "cuda backend: %s", G.msg);
    G.status = 0;
    G.msg[0] = 0;
    return rc;
}

static void c_threads(int)
{
}

/* Whole-forward CUDA graphs: after the first (planning) pass every op of a
 * given model/shape/buffer set is fixed, so the ~500 launches of a ResNet-152
 * forward replay as one graph. A shape is captured on its second use: a
 * video's last, partial batch has a size that rarely comes back, and a
 * capture costs more than one eager forward. QUERN_KN_CUDA_GRAPH=0 turns
 * graphs off, =1 captures on first use (the golden tests run each shape once). */
static struct {
    kn_graph_key key;
    cudaGraphExec_t exec;
    unsigned long used;
} graphs[16];
static unsigned long graph_tick;
static kn_graph_key graph_seen[64]; /* shapes run once, eagerly (a ring) */
#define KN_GRAPH_REFUSED 16
static kn_graph_key graph_refused[KN_GRAPH_REFUSED]; /* captures that failed (a ring) */
static int graph_refused_next;
static int graph_seen_next;

static int graphs_mode(void) /* 0 off, 1 capture on first use, 2 on second use */
{
    static int mode = -1;
    if (mode < 0) {
        const char *e = getenv("QUERN_KN_CUDA_GRAPH");
        mode = e && e[0] == '0' ? 0 : e && e[0] == '1' ? 1 : 2;
    }
    return mode;
}

/* In second-use mode: 1 when k ran before (capture it now), else remembers it. */
static int graph_seen_before(const kn_graph_key *k)
{
    const int ns = (int)(sizeof graph_seen / sizeof graph_seen[0]);
    for (int i = 0; i < ns; i++)
        if (!memcmp(&graph_seen[i], k, sizeof *k))
            return 1;
    graph_seen[graph_seen_next] = *k;
    graph_seen_next = (graph_seen_next + 1) % ns;
    return 0;
}

static void graph_forget(int i)
{
    if (graphs[i].exec)
        cudaGraphExecDestroy(graphs[i].exec);
    memset(&graphs[i], 0, sizeof graphs[i]);
}

static int c_graph(int phase, const kn_graph_key *k)
{
    const int ng = (int)(sizeof graphs / sizeof graphs[0]);
    if (phase == KN_GRAPH_DROP) {
        for (int i = 0; i < ng; i++)
            if (graphs[i].exec && graphs[i].key.model == k->model)
                graph_forget(i);
        return QN_OK;
    }
    /* END must end the capture whatever happened since BEGIN: a stream left
     * capturing would swallow every later op of the process */
    if (phase != KN_GRAPH_END && (!graphs_mode() || G.status))
        return phase == KN_GRAPH_REPLAY ? 0 : QN_EUSAGE;
    if (phase == KN_GRAPH_REPLAY) {
        for (int i = 0; i < ng; i++)
            if (graphs[i].exec && !memcmp(&graphs[i].key, k, sizeof *k)) {
                graphs[i].used = ++graph_tick;
                CK_CUDA(cudaGraphLaunch(graphs[i].exec, G.stream));
                return 1;
            }
        return 0;
    }
    if (phase == KN_GRAPH_BEGIN) {
        for (int i = 0; i < KN_GRAPH_REFUSED; i++)
            if (!memcmp(&graph_refused[i], k, sizeof *k))
                return QN_EUSAGE; /* its capture failed once: eager */
        if (graphs_mode() == 2 && !graph_seen_before(k))
            return QN_EUSAGE; /* first use: eager */
        cudaError_t e = cudaStreamBeginCapture(G.stream, cudaStreamCaptureModeRelaxed);
        if (e != cudaSuccess) {
            cudaGetLastError();
            return QN_EENV;
        }
        return QN_OK;
    }
    cudaGraph_t gr = NULL; /* KN_GRAPH_END */
    cudaError_t e = cudaStreamEndCapture(G.stream, &gr);
    static int fail_test = -1; /* QUERN_KN_CUDA_GRAPH_FAIL=1: every capture fails (gpu_check) */
    if (fail_test < 0)
        fail_test = getenv("QUERN_KN_CUDA_GRAPH_FAIL") && getenv("QUERN_KN_CUDA_GRAPH_FAIL")[0] == '1';
    if (e != cudaSuccess || !gr || G.status || fail_test) {
        /* Nothing ran while capturing, so nothing is half done: forget the capture and
         * its error (another thread's synchronising call can invalidate a capture), run
         * this forward eagerly, and never capture this shape again. A real fault shows
         * again in the eager run. */
        if (gr)
            cudaGraphDestroy(gr);
        cudaGetLastError();
        G.status = 0;
        G.msg[0] = 0;
        graph_refused[graph_refused_next] = *k;
        graph_refused_next = (graph_refused_next + 1) % KN_GRAPH_REFUSED;
        return KN_GRAPH_RETRY_EAGER;
    }
    int slot = 0;
    for (int i = 0; i < ng; i++)
        if (graphs[i].used < graphs[slot].used)
            slot = i;
    graph_forget(slot);
    cudaGraphExec_t exec = NULL;
    CK_CUDA(cudaGraphInstantiate(&exec, gr, 0));
    cudaGraphDestroy(gr);
    if (!exec)
        return QN_EENV;
    graphs[slot].key = *k;
    graphs[slot].exec = exec;
    graphs[slot].used = ++graph_tick;
    CK_CUDA(cudaGraphLaunch(exec, G.stream));
    return G.status;
}

static const kn_ops cuda_ops = {
    "cuda",        /* name */
    1,             /* device */
    IN_C,          /* in_channels */
    d_alloc,
    d_free,
    c_prepare,
    c_release,
    c_input,
    c_conv,
    c_conv_scratch,
    c_maxpool,
    c_global_mean,
    c_to_host,
    c_sync,
    c_threads,
    c_graph,
};

/* Page-locked host memory: a copy from it to the GPU runs at full speed with no
 * staging copy. Portable, so any thread and context may use it. */
extern "C" void *kn_cuda_host_alloc(size_t bytes)
{
    void *p = NULL;
    if (cudaHostAlloc(&p, bytes ? bytes : 1, cudaHostAllocPortable) != cudaSuccess) {
        cudaGetLastError();
        return NULL;
    }
    return p;
}

extern "C" void kn_cuda_host_free(void *p)
{
    if (p)
        cudaFreeHost(p);
}

extern "C" const kn_ops *kn_cuda_ops(void)
{
    return &cuda_ops;
}
