/* kn_cuda_stub.c — the CUDA backend's entry points in a build without CUDA:
 * every probe says so, and the engine falls back to the CPU. */
#include "kn_cuda.h"

int kn_cuda_probe(int device, qn_error *err)
{
    return qn_error_set(err, QN_EENV, "built without CUDA");
}

int kn_cuda_create(const kn_arch_desc *desc, const kn_conv *convs, int nconv,
                   const kn_block *blocks, int nblock, const int stage_start[5], int device,
                   kn_cuda **out, qn_error *err)
{
    *out = NULL;
    return qn_error_set(err, QN_EENV, "built without CUDA");
}

int kn_cuda_forward(kn_cuda *g, const uint8_t *in, int n, int d, int h, int w, float *out,
                    kn_stage_fn hook, void *ud, qn_error *err)
{
    return qn_error_set(err, QN_EENV, "built without CUDA");
}

void kn_cuda_destroy(kn_cuda *g)
{
}
