/* kn_cuda_convert.cu — kn_convert.h's conversion on the GPU: an NVDEC frame
 * (device planes) to the scaled, cropped RGB24 the CPU path makes, one thread
 * per output pixel, the same taps and float arithmetic as kn_convert_ref.
 *
 * Called from the frames module's conversion threads (one per video being
 * decoded), so nothing here touches the engine's stream or error state: work
 * goes to the calling thread's per-thread default stream, and errors are
 * returned. Filter tables are uploaded once per plan (plans live for the
 * process: kn_convert_plan_get). */
#include <cuda_runtime.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "kernels/kn_convert.h"

namespace {

struct dev_axis {
    const int32_t *idx;
    const float *w;
    int k;
};

struct dev_plan { /* hangs off its kn_convert_plan (plans live for the process) */
    dev_axis lx, ly, cx, cy; /* all four axes' tables in one device allocation */
};

pthread_mutex_t plans_mu = PTHREAD_MUTEX_INITIALIZER;
int pools;       /* stream-ordered allocation usable (cudaMallocAsync); set once */

__device__ float sample(const uint8_t *plane, int pitch, int step, dev_axis ax, dev_axis ay,
                        int i, int j)
{
    float acc = 0.f;
    for (int ty = 0; ty < ay.k; ty++) {
        const uint8_t *row = plane + (size_t)ay.idx[i * ay.k + ty] * pitch;
        float racc = 0.f;
        for (int tx = 0; tx < ax.k; tx++) /* _rn: no fused multiply-add, as on the CPU */
            racc = __fadd_rn(racc, __fmul_rn(ax.w[j * ax.k + tx],
                                             (float)row[(size_t)ax.idx[j * ax.k + tx] * step]));
        acc = __fadd_rn(acc, __fmul_rn(ay.w[i * ay.k + ty], fminf(racc, KN_CONVERT_HMAX)));
    }
    return acc;
}

__device__ uint8_t to_u8(float v, float offset)
{
    v = __fsub_rn(floorf(__fadd_rn(v, 0.5f)), offset);
    return v < 0.f ? 0 : v > 255.f ? 255 : (uint8_t)v;
}

struct conv_args {
    const uint8_t *y, *u, *v;
    int y_pitch, uv_pitch, step, w, h;
    float offset;
    float m[7];
};

__global__ void k_convert(conv_args a, dev_axis lx, dev_axis ly, dev_axis cx, dev_axis cy,
                          uint8_t *out)
{
    int j = blockIdx.x * blockDim.x + threadIdx.x, i = blockIdx.y;
    if (j >= a.w || i >= a.h)
        return;
    float y = __fmul_rn(__fsub_rn(sample(a.y, a.y_pitch, 1, lx, ly, i, j), a.m[5]), a.m[0]);
    float cu = __fsub_rn(sample(a.u, a.uv_pitch, a.step, cx, cy, i, j), a.m[6]);
    float cv = __fsub_rn(sample(a.v, a.uv_pitch, a.step, cx, cy, i, j), a.m[6]);
    uint8_t *o = out + ((size_t)i * a.w + j) * 3;
    o[0] = to_u8(__fadd_rn(y, __fmul_rn(a.m[1], cv)), a.offset);
    o[1] = to_u8(__fsub_rn(__fsub_rn(y, __fmul_rn(a.m[2], cu)), __fmul_rn(a.m[3], cv)), a.offset);
    o[2] = to_u8(__fadd_rn(y, __fmul_rn(a.m[4], cu)), a.offset);
}

size_t axis_bytes(const kn_axis *a)
{
    return (size_t)a->n * a->k * (sizeof(int32_t) + sizeof(float));
}

/* Uploads one axis at *off within mem (from host staging h). */
dev_axis axis_put(const kn_axis *a, char *mem, char *h, size_t *off)
{
    size_t ni = (size_t)a->n * a->k;
    memcpy(h + *off, a->idx, ni * sizeof(int32_t));
    memcpy(h + *off + ni * sizeof(int32_t), a->w, ni * sizeof(float));
    dev_axis d = {(const int32_t *)(mem + *off), (const float *)(mem + *off + ni * sizeof(int32_t)),
                  a->k};
    *off += axis_bytes(a);
    return d;
}

/* The device copy of p's tables, made on first use. */
int device_plan(const kn_convert_plan *p, dev_plan *out, qn_error *err)
{
    pthread_mutex_lock(&plans_mu);
    int rc = QN_OK;
    if (!p->device) {
        size_t n = axis_bytes(&p->lx) + axis_bytes(&p->ly) + axis_bytes(&p->cx) +
                   axis_bytes(&p->cy);
        char *h = (char *)malloc(n), *mem = NULL;
        dev_plan *d = (dev_plan *)malloc(sizeof *d);
        cudaError_t e = h && d ? cudaMalloc(&mem, n) : cudaErrorMemoryAllocation;
        if (e == cudaSuccess) {
            size_t off = 0;
            d->lx = axis_put(&p->lx, mem, h, &off);
            d->ly = axis_put(&p->ly, mem, h, &off);
            d->cx = axis_put(&p->cx, mem, h, &off);
            d->cy = axis_put(&p->cy, mem, h, &off);
            e = cudaMemcpy(mem, h, n, cudaMemcpyHostToDevice);
            if (e == cudaSuccess)
                ((kn_convert_plan *)p)->device = d; /* the one field set after making */
            else
                cudaFree(mem);
        }
        free(h);
        if (e != cudaSuccess) {
            free(d);
            cudaGetLastError(); /* not left for this thread's next launch to report */
            rc = qn_error_set(err, QN_EENV, "kn_cuda_convert: filter tables: %s",
                              cudaGetErrorString(e));
        }
    }
    if (rc == QN_OK)
        *out = *(const dev_plan *)p->device;
    pthread_mutex_unlock(&plans_mu);
    return rc;
}

/* Once: stream-ordered allocation when the device has memory pools, with the default
 * pool kept between calls (its release threshold is 0 by default: every synchronise
 * would hand the memory back and the next call allocate it again). */
void pools_probe(void)
{
    int ok = 0;
    cudaMemPool_t pool;
    if (cudaDeviceGetAttribute(&ok, cudaDevAttrMemoryPoolsSupported, 0) == cudaSuccess && ok &&
        cudaDeviceGetDefaultMemPool(&pool, 0) == cudaSuccess) {
        uint64_t keep = (uint64_t)64 << 20;
        cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
    } else {
        ok = 0;
    }
    cudaGetLastError();
    pools = ok;
}

pthread_once_t pools_once = PTHREAD_ONCE_INIT;

} // namespace

extern "C" int kn_cuda_convert(const kn_convert_plan *p, const kn_yuv_frame *f, uint8_t *rgb,
                               qn_error *err)
{
    if (f->w != p->g.src_w || f->h != p->g.src_h)
        return qn_error_set(err, QN_EUSAGE, "kn_cuda_convert: a %dx%d frame for a %dx%d plan",
                            f->w, f->h, p->g.src_w, p->g.src_h);
    /* FFmpeg's CUDA device is GPU 0 (quern names none), in its primary context: the
     * runtime's for device 0, current in this (conversion) thread once set */
    cudaError_t e = cudaSetDevice(0);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return qn_error_set(err, QN_EENV, "kn_cuda_convert: %s", cudaGetErrorString(e));
    }
    dev_plan d;
    int rc = device_plan(p, &d, err);
    if (rc < 0)
        return rc;
    conv_args a;
    a.y = f->y;
    a.u = f->u;
    a.v = f->nv12 ? f->u + 1 : f->v;
    a.y_pitch = f->y_pitch;
    a.uv_pitch = f->uv_pitch;
    a.step = f->nv12 ? 2 : 1;
    a.w = p->g.crop_w;
    a.h = p->g.crop_h;
    a.offset = kn_convert_offset(p, f->full_range);
    kn_convert_matrix(f->colorspace, f->full_range, a.m);
    size_t bytes = (size_t)a.w * a.h * 3;
    /* The per-thread default stream is a blocking stream: it waits for FFmpeg's map of
     * the surface on the legacy default stream. A non-blocking stream would race it. */
    cudaStream_t s = cudaStreamPerThread;
    pthread_once(&pools_once, pools_probe);
    uint8_t *out = NULL;
    e = pools ? cudaMallocAsync(&out, bytes, s) : cudaMalloc(&out, bytes);
    if (e == cudaSuccess) {
        dim3 grid((unsigned)((a.w + 127) / 128), (unsigned)a.h);
        k_convert<<<grid, 128, 0, s>>>(a, d.lx, d.ly, d.cx, d.cy, out);
        e = cudaGetLastError();
        if (e == cudaSuccess)
            e = cudaMemcpyAsync(rgb, out, bytes, cudaMemcpyDeviceToHost, s);
        if (pools)
            cudaFreeAsync(out, s);
        cudaError_t e2 = cudaStreamSynchronize(s);
        if (!pools)
            cudaFree(out);
        if (e == cudaSuccess)
            e = e2;
    }
    if (e != cudaSuccess) {
        cudaGetLastError();
        return qn_error_set(err, QN_EENV, "kn_cuda_convert: %s", cudaGetErrorString(e));
    }
    return QN_OK;
}
