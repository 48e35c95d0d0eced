/* kn_cuda_stub.c — the CUDA backend's entry points in a build without CUDA:
 * the probe says so, and `auto` falls back to the CPU. */
#include "kn_convert.h"
#include "kn_cuda.h"

int kn_cuda_probe(int device, qn_error *err)
{
    return qn_error_set(err, QN_EENV, "built without CUDA");
}

int kn_cuda_libs_load(qn_error *err)
{
    return qn_error_set(err, QN_EENV, "built without CUDA");
}

const kn_ops *kn_cuda_ops(void)
{
    return NULL;
}

int kn_cuda_pool_clips(const float *rows2d, int n2d, int dim2d, double rate2d,
                       const float *rows3d, int n3d, int dim3d, double rate3d,
                       const double *starts, const double *ends, int nclips, float *out,
                       qn_error *err)
{
    return qn_error_set(err, QN_EENV, "built without CUDA");
}

void *kn_cuda_host_alloc(size_t bytes)
{
    (void)bytes;
    return NULL;
}

void kn_cuda_host_free(void *p)
{
    (void)p;
}

int kn_cuda_convert(const kn_convert_plan *p, const kn_yuv_frame *f, uint8_t *rgb,
                    qn_error *err)
{
    return qn_error_set(err, QN_EENV, "built without CUDA");
}
