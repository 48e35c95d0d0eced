/* kn_cuda.h — the CUDA backend as the model code sees it. Built from
 * kernels/cuda/kn_cuda.cu when HAVE_CUDA=1; otherwise kn_cuda_stub.c answers
 * "built without CUDA". The backend owns a device copy of the folded weights
 * (fp16, NDHWC filters) and runs the whole forward on the GPU. */
#ifndef KN_CUDA_H
#define KN_CUDA_H

#include "kn_internal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kn_cuda kn_cuda;

/* QN_OK when a GPU can be used; otherwise QN_EENV and a one-line reason. */
int kn_cuda_probe(int device, qn_error *err);

/* Uploads the folded convs; the arrays stay owned by the caller. */
int kn_cuda_create(const kn_arch_desc *desc, const kn_conv *convs, int nconv,
                   const kn_block *blocks, int nblock, const int stage_start[5], int device,
                   kn_cuda **out, qn_error *err);

/* u8 NDHWC input (d=1 for 2D) → n×dim fp32 rows (before L2-norm). hook, when
 * non-NULL, receives each stage as fp32 NDHWC host tensors (slow; tests only). */
int kn_cuda_forward(kn_cuda *g, const uint8_t *in, int n, int d, int h, int w, float *out,
                    kn_stage_fn hook, void *ud, qn_error *err);

void kn_cuda_destroy(kn_cuda *g);

/* The model's CUDA state (NULL unless its backend is cuda); kn_model.c. */
kn_cuda *kn_model_cuda(const kn_model *m);

#ifdef __cplusplus
}
#endif
#endif
