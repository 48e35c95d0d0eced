/* kn_cuda_stub.c — the CUDA backend's entry points in a build without CUDA:
 * the probe says so, and `auto` falls back to the CPU. */
#include "kn_cuda.h"

int kn_cuda_probe(int device, qn_error *err)
{
    return qn_error_set(err, QN_EENV, "built without CUDA");
}

const kn_ops *kn_cuda_ops(void)
{
    return NULL;
}
