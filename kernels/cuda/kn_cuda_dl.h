/* kn_cuda_dl.h — cuDNN and cuBLAS loaded at run time (dlopen), so that a binary built with
 * CUDA starts on a machine without them and falls back to the CPU with one notice line,
 * like one without a GPU; the CUDA runtime is linked statically for the same reason (it
 * opens the driver itself). Include after <cudnn.h> and <cublas_v2.h>: every cuDNN/cuBLAS
 * call of kn_cuda.cu below goes through a pointer filled by kn_cuda_dl_load(). */
#ifndef KN_CUDA_DL_H
#define KN_CUDA_DL_H

#include <stddef.h>

/* X(function) for each library function the backend calls (cublas_v2.h maps cublasCreate
 * and friends to their _v2 symbols, which are what the library exports). cublasGemmEx is
 * apart: C++ sees an inline overload of it beside the exported C function. */
#define KN_CUDNN_FUNCS(X)                                                                  \
    X(cudnnCreate) X(cudnnDestroy) X(cudnnSetStream) X(cudnnGetErrorString)                \
    X(cudnnConvolutionForward) X(cudnnFindConvolutionForwardAlgorithm)                     \
    X(cudnnCreateConvolutionDescriptor) X(cudnnDestroyConvolutionDescriptor)               \
    X(cudnnCreateFilterDescriptor) X(cudnnDestroyFilterDescriptor)                         \
    X(cudnnCreateTensorDescriptor) X(cudnnDestroyTensorDescriptor)                         \
    X(cudnnSetConvolution2dDescriptor) X(cudnnSetConvolutionNdDescriptor)                  \
    X(cudnnSetConvolutionGroupCount) X(cudnnSetConvolutionMathType)                        \
    X(cudnnSetFilter4dDescriptor) X(cudnnSetFilterNdDescriptor)                            \
    X(cudnnSetTensor4dDescriptor) X(cudnnSetTensorNdDescriptorEx)
#define KN_CUBLAS_FUNCS(X)                                                                 \
    X(cublasCreate_v2) X(cublasGetStatusString) X(cublasSetStream_v2) X(cublasSetWorkspace_v2)

#define KN_DL_DECLARE(f) extern decltype(&f) kn_dl_##f;
KN_CUDNN_FUNCS(KN_DL_DECLARE)
KN_CUBLAS_FUNCS(KN_DL_DECLARE)
#undef KN_DL_DECLARE
typedef cublasStatus_t (*kn_dl_gemm_ex_fn)(cublasHandle_t, cublasOperation_t, cublasOperation_t,
                                          int, int, int, const void *, const void *,
                                          cudaDataType, int, const void *, cudaDataType, int,
                                          const void *, void *, cudaDataType, int,
                                          cublasComputeType_t, cublasGemmAlgo_t);
extern kn_dl_gemm_ex_fn kn_dl_cublasGemmEx;

/* Opens cuDNN 9 and cuBLAS 13 (QUERN_CUDNN_LIB / QUERN_CUBLAS_LIB name other files) and
 * resolves every function above, once per process. 0, or -1 with the reason in why. */
int kn_cuda_dl_load(char *why, size_t whylen);

#ifndef KN_CUDA_DL_IMPL
#define cudnnCreate (*kn_dl_cudnnCreate)
#define cudnnDestroy (*kn_dl_cudnnDestroy)
#define cudnnSetStream (*kn_dl_cudnnSetStream)
#define cudnnGetErrorString (*kn_dl_cudnnGetErrorString)
#define cudnnConvolutionForward (*kn_dl_cudnnConvolutionForward)
#define cudnnFindConvolutionForwardAlgorithm (*kn_dl_cudnnFindConvolutionForwardAlgorithm)
#define cudnnCreateConvolutionDescriptor (*kn_dl_cudnnCreateConvolutionDescriptor)
#define cudnnDestroyConvolutionDescriptor (*kn_dl_cudnnDestroyConvolutionDescriptor)
#define cudnnCreateFilterDescriptor (*kn_dl_cudnnCreateFilterDescriptor)
#define cudnnDestroyFilterDescriptor (*kn_dl_cudnnDestroyFilterDescriptor)
#define cudnnCreateTensorDescriptor (*kn_dl_cudnnCreateTensorDescriptor)
#define cudnnDestroyTensorDescriptor (*kn_dl_cudnnDestroyTensorDescriptor)
#define cudnnSetConvolution2dDescriptor (*kn_dl_cudnnSetConvolution2dDescriptor)
#define cudnnSetConvolutionNdDescriptor (*kn_dl_cudnnSetConvolutionNdDescriptor)
#define cudnnSetConvolutionGroupCount (*kn_dl_cudnnSetConvolutionGroupCount)
#define cudnnSetConvolutionMathType (*kn_dl_cudnnSetConvolutionMathType)
#define cudnnSetFilter4dDescriptor (*kn_dl_cudnnSetFilter4dDescriptor)
#define cudnnSetFilterNdDescriptor (*kn_dl_cudnnSetFilterNdDescriptor)
#define cudnnSetTensor4dDescriptor (*kn_dl_cudnnSetTensor4dDescriptor)
#define cudnnSetTensorNdDescriptorEx (*kn_dl_cudnnSetTensorNdDescriptorEx)
#define cublasCreate_v2 (*kn_dl_cublasCreate_v2)
#define cublasGemmEx (*kn_dl_cublasGemmEx)
#define cublasGetStatusString (*kn_dl_cublasGetStatusString)
#define cublasSetStream_v2 (*kn_dl_cublasSetStream_v2)
#define cublasSetWorkspace_v2 (*kn_dl_cublasSetWorkspace_v2)
#endif

#endif
