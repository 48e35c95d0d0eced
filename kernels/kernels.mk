# kernels/: the CNN feature engine (ResNet-18..152 2D, ResNeXt-101 3D; ref, cpu, cuda backends).
LIBS += kernels
kernels_SRCS := kernels/kn_arch.c kernels/kn_model.c kernels/kn_safetensors.c kernels/kn_ref.c \
                kernels/kn_cpu.c kernels/kn_cpu_gconv.c kernels/kn_ops_common.c kernels/kn_pool.c \
                kernels/kn_testgen.c kernels/kn_convert.c kernels/kn_convert_cpu.c
kernels_PKGS := jansson openblas
ifeq ($(HAVE_CUDA)$(wildcard kernels/cuda/kn_cuda.cu),1kernels/cuda/kn_cuda.cu)
  kernels_SRCS += kernels/cuda/kn_cuda.cu kernels/cuda/kn_cuda_dl.cu kernels/cuda/kn_cuda_convert.cu
  # cuDNN/cuBLAS are opened at run time (kn_cuda_dl.h) and cudart is static: a CUDA build
  # starts without any CUDA library and falls back to the CPU; the rpath is where dlopen
  # looks first for the toolkit's copies
  kernels_LDLIBS := -L/usr/local/cuda/lib64 -Wl,-rpath,/usr/local/cuda/lib64 -lcudart_static \
                    -ldl -lrt -lstdc++
else
  kernels_SRCS += kernels/kn_cuda_stub.c
  kernels_LDLIBS :=
endif

CHECKS += check_kernels_ops
check_kernels_ops_SRCS := tests/check_kernels_ops.c
check_kernels_ops_LIBS := kernels

CHECKS += check_kernels_golden
check_kernels_golden_SRCS := tests/check_kernels_golden.c
check_kernels_golden_LIBS := kernels

TEST_TOOLS += kn_bench
kn_bench_SRCS := kernels/tools/kn_bench.c
kn_bench_LIBS := kernels
