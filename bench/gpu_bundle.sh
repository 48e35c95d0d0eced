#!/bin/sh
# gpu_bundle.sh — prepares, on this (build) machine, what bench/gpu_check.sh needs on a GPU
# machine that cannot install packages: the CUDA-enabled test programs (check_kernels_golden,
# kn_bench) in .gpu/bin and the shared libraries they need that such a machine lacks
# (jansson, OpenBLAS and its Fortran runtime, subunit) in .gpu/lib. The CUDA libraries
# (cudart, cuBLAS, cuDNN) are not copied: the GPU machine has its own (toolkit or PyTorch's
# nvidia wheels), and gpu_check.sh finds them. .gpu/ is ignored by git; carry it:
#   run(command="NO_BUILD=1 sh bench/gpu_check.sh", carry=[".gpu"], timeout_s=600)
# Needs nvcc (HAVE_CUDA=1 build). Prints the bundle's size (the device tool carries 64 MiB).
set -eu
cd "$(dirname "$0")/.."
command -v "${NVCC:-nvcc}" >/dev/null 2>&1 || {
    echo "gpu_bundle.sh: nvcc not found: the bundle needs the CUDA build" >&2
    exit 1
}
make --no-print-directory -s HAVE_CUDA=1 build/rel/tests/check_kernels_golden \
    build/rel/tests/kn_bench
rm -rf .gpu
mkdir -p .gpu/bin .gpu/lib
cp build/rel/tests/check_kernels_golden build/rel/tests/kn_bench .gpu/bin/
strip --strip-debug .gpu/bin/* 2>/dev/null || true
# every library the programs load, except the C runtime and CUDA's own
for b in .gpu/bin/*; do ldd "$b"; done | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u |
    grep -v -E '/(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux[^/]*)\.so|/libcud|/libcublas|/libnv' |
    while read -r lib; do cp -L "$lib" .gpu/lib/; done
ls .gpu/lib
du -sh .gpu
size=$(du -sm .gpu | cut -f1)
if [ "$size" -gt 56 ]; then
    echo "gpu_bundle.sh: .gpu is $size MB: with the working tree it may not fit the 64 MiB carried" >&2
    exit 1
fi
