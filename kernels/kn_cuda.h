/* kn_cuda.h — the CUDA backend as the model code sees it: a probe and an op
 * table (kn_ops with device = 1: fp16 NHWC/NDHWC activations on the GPU).
 * Built from kernels/cuda/kn_cuda.cu when HAVE_CUDA=1; otherwise
 * kn_cuda_stub.c answers "built without CUDA" and the engine uses the CPU.
 * The backend keeps one cuDNN/cuBLAS context per process (one GPU). */
#ifndef KN_CUDA_H
#define KN_CUDA_H

#include "kn_internal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* QN_OK when GPU `device` can be used (it is then selected and the library
 * handles created); otherwise QN_EENV and a one-line reason. */
int kn_cuda_probe(int device, qn_error *err);

/* kn_pool_clips on the GPU (same contract and output; host arrays in and out,
 * one block per clip and modality). QN_EENV without a usable GPU. */
int kn_cuda_pool_clips(const float *rows2d, int n2d, int dim2d, double rate2d,
                       const float *rows3d, int n3d, int dim3d, double rate3d,
                       const double *starts, const double *ends, int nclips, float *out,
                       qn_error *err);

/* Opens cuDNN and cuBLAS and resolves the functions the backend calls (the probe does this
 * once a GPU is found; tests call it to check the libraries without one). QN_EENV naming the
 * library or function that is missing, or "built without CUDA". */
int kn_cuda_libs_load(qn_error *err);

/* Page-locked host memory (cudaHostAlloc, portable), or NULL: out of memory or
 * built without CUDA. Free with kn_cuda_host_free. */
void *kn_cuda_host_alloc(size_t bytes);
void kn_cuda_host_free(void *p);

/* The op table, or NULL in a build without CUDA. */
const kn_ops *kn_cuda_ops(void);

#ifdef __cplusplus
}
#endif
#endif
