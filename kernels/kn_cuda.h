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

/* The op table, or NULL in a build without CUDA. */
const kn_ops *kn_cuda_ops(void);

#ifdef __cplusplus
}
#endif
#endif
