/* kn_cuda_dl.cu — kn_cuda_dl.h's loader: dlopen cuDNN and cuBLAS, dlsym each function. */
#define KN_CUDA_DL_IMPL
#include <cublas_v2.h>
#include <cudnn.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/cuda/kn_cuda_dl.h"

#define KN_DL_DEFINE(f) decltype(&f) kn_dl_##f = nullptr;
KN_CUDNN_FUNCS(KN_DL_DEFINE)
KN_CUBLAS_FUNCS(KN_DL_DEFINE)
kn_dl_gemm_ex_fn kn_dl_cublasGemmEx = nullptr;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char reason[512]; /* empty when loaded */

/* The first of the names that opens (RTLD_LOCAL: nothing leaks into the global namespace). */
static void *open_lib(const char *env, const char *const *names, const char *what)
{
    const char *forced = getenv(env);
    if (forced && *forced) {
        void *h = dlopen(forced, RTLD_NOW | RTLD_LOCAL);
        if (!h)
            snprintf(reason, sizeof reason, "%s: %s", what, dlerror());
        return h;
    }
    for (const char *const *n = names; *n; n++) {
        void *h = dlopen(*n, RTLD_NOW | RTLD_LOCAL);
        if (h)
            return h;
        if (n == names) /* the versioned name's error is the one worth showing */
            snprintf(reason, sizeof reason, "%s not found (%s)", what, dlerror());
    }
    return NULL;
}

#define KN_DL_RESOLVE(f)                                                                   \
    if (!reason[0] && !(kn_dl_##f = (decltype(&f))dlsym(lib, #f)))                        \
        snprintf(reason, sizeof reason, "%s has no %s", name, #f);

static void load(void)
{
    static const char *const dnn_names[] = {"libcudnn.so.9", "libcudnn.so", NULL};
    static const char *const blas_names[] = {"libcublas.so.13", "libcublas.so", NULL};
    void *lib = open_lib("QUERN_CUDNN_LIB", dnn_names, "cuDNN 9 (libcudnn.so.9)");
    const char *name = "cuDNN";
    if (!lib)
        return;
    KN_CUDNN_FUNCS(KN_DL_RESOLVE)
    if (reason[0])
        return;
    lib = open_lib("QUERN_CUBLAS_LIB", blas_names, "cuBLAS 13 (libcublas.so.13)");
    name = "cuBLAS";
    if (!lib)
        return;
    KN_CUBLAS_FUNCS(KN_DL_RESOLVE)
    if (!reason[0] && !(kn_dl_cublasGemmEx = (kn_dl_gemm_ex_fn)dlsym(lib, "cublasGemmEx")))
        snprintf(reason, sizeof reason, "cuBLAS has no cublasGemmEx");
}

int kn_cuda_dl_load(char *why, size_t whylen)
{
    pthread_once(&once, load);
    if (!reason[0])
        return 0;
    snprintf(why, whylen, "%s", reason);
    return -1;
}
