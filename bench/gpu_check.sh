#!/bin/sh
# gpu_check.sh — one short run on a GPU machine (well under 10 minutes):
#   1. builds the engine with CUDA (nvcc on PATH or NVCC=...),
#   2. runs the golden tests on the cuda backend (fp16: rel err <= 1e-2 and
#      cosine >= 0.999 per stage against the committed PyTorch fixtures),
#   3. times ResNet-152 at 224×398 and the 3D ResNeXt-101 (16×112×112) against
#      PyTorch eager (channels_last + autocast fp16) at the same batch size.
# Ratios (ours / torch throughput; target >= 1.0x) are printed last.
# Env: BATCH2D (64), BATCH3D (32), ITERS (5), TORCH_PYTHON (python3), NVCC (nvcc, else
# /usr/local/cuda/bin/nvcc), BUDGET (seconds for the whole script, 560: every step runs
# under `timeout` so that the summary is printed inside a 10-minute slot).
# cuDNN/cuBLAS: the CUDA toolkit's, else the ones PyTorch's pip wheels ship (nvidia-cudnn-*).
# NO_BUILD=1: use the programs as they are, built elsewhere with HAVE_CUDA=1 and carried here
# (a device image has no jansson/openblas/check): .gpu/bin and .gpu/lib when present (made by
# bench/gpu_bundle.sh), else build/rel/tests/{check_kernels_golden,kn_bench}.
# Never part of CI: make check runs the cuda golden tests only through this script.
set -u
cd "$(dirname "$0")/.."
BATCH2D=${BATCH2D:-64}
BATCH3D=${BATCH3D:-32}
ITERS=${ITERS:-5}
PY=${TORCH_PYTHON:-python3}
end=$(($(date +%s) + ${BUDGET:-560}))
# step CAP CMD...: runs CMD under timeout, CAP seconds at most and never past the budget
step() {
    cap=$1
    shift
    left=$((end - $(date +%s) - 15)) # 15 s kept for the summary
    [ "$left" -lt "$cap" ] && cap=$left
    if [ "$cap" -lt 5 ]; then
        echo "gpu_check.sh: out of time, skipped: $*" >&2
        return 124
    fi
    timeout -k 5 "$cap" "$@"
}
if ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu_check.sh: no GPU on this machine (nvidia-smi -L failed); skipped"
    exit 0
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
T=build/rel/tests
if [ "${NO_BUILD:-0}" = 1 ] && [ -d .gpu/bin ]; then
    T=.gpu/bin
    LD_LIBRARY_PATH="$PWD/.gpu/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
[ -d /usr/local/cuda/lib64 ] && LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/local/cuda/lib64"
export LD_LIBRARY_PATH
NVCC=${NVCC:-nvcc}
if ! command -v "$NVCC" >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
    NVCC=/usr/local/cuda/bin/nvcc
fi
export NVCC
missing=""
[ "${NO_BUILD:-0}" = 1 ] || for p in jansson openblas check; do
    pkg-config --exists "$p" 2>/dev/null || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "gpu_check.sh: pkg-config does not find:$missing (needed to build the engine and its" \
        "tests: libjansson-dev libopenblas-dev check pkg-config)" >&2
    exit 1
fi
# cuDNN and cuBLAS: headers and libraries where nvcc and the linker find them
printf '#include <cudnn.h>\n#include <cublas_v2.h>\nint main(void) { return (int)cudnnGetVersion() - (int)cudnnGetVersion(); }\n' >"$tmp/probe.cu"
cuda_libs_ok() {
    "$NVCC" -o "$tmp/probe" "$tmp/probe.cu" -L/usr/local/cuda/lib64 -lcudnn -lcublas >"$tmp/probe.log" 2>&1
}
if ! cuda_libs_ok; then
    dirs=$("$PY" -c '
import glob, os
try:
    import nvidia
except ImportError:
    raise SystemExit(0)
seen = []
for root in nvidia.__path__:
    for pat in ("include/cudnn.h", "include/cublas_v2.h", "lib/libcudnn.so*", "lib/libcublas.so*"):
        for f in glob.glob(os.path.join(root, "**", pat), recursive=True):
            if os.path.dirname(f) not in seen:
                seen.append(os.path.dirname(f))
print(" ".join(seen))' 2>/dev/null)
    mkdir -p "$tmp/lib"
    for d in $dirs; do
        case $d in
        */include) CPATH="$d${CPATH:+:$CPATH}" ;;
        *)
            LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
            for f in "$d"/lib*.so.*; do # wheels ship libX.so.N only: -lX needs libX.so
                b=$(basename "$f")
                [ -e "$d/${b%%.so.*}.so" ] || ln -sf "$f" "$tmp/lib/${b%%.so.*}.so"
            done
            ;;
        esac
    done
    export CPATH LD_LIBRARY_PATH
    export LIBRARY_PATH="$tmp/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    if ! cuda_libs_ok; then
        echo "gpu_check.sh: cannot build against cuDNN + cuBLAS (not in the CUDA toolkit, nor in" \
            "$PY's nvidia wheels):" >&2
        tail -5 "$tmp/probe.log" >&2
        exit 1
    fi
    echo "cuDNN/cuBLAS from: $dirs"
fi
echo "== build (HAVE_CUDA=1)"
[ "${NO_BUILD:-0}" = 1 ] && echo "(NO_BUILD=1: using the binaries in $T)" ||
step 300 make --no-print-directory -s -j"$(nproc 2>/dev/null || echo 4)" HAVE_CUDA=1 \
    build/rel/tests/check_kernels_golden build/rel/tests/kn_bench \
    || { echo "gpu_check.sh: build failed" >&2; exit 1; }
echo "== golden tests on the cuda backend"
step 120 env QUERN_KN_BACKEND=cuda QUERN_KN_VERBOSE=1 $T/check_kernels_golden
golden=$?
echo "== golden tests on the cuda backend with CUDA graphs (kn_run_* replays a captured forward)"
step 90 env QUERN_KN_BACKEND=cuda QUERN_KN_CUDA_GRAPH=1 $T/check_kernels_golden || golden=1
echo "== golden tests with the direct-convolution fallback forced (QUERN_KN_CUDA_DIRECT=1)"
step 90 env QUERN_KN_BACKEND=cuda QUERN_KN_CUDA_DIRECT=1 $T/check_kernels_golden || golden=1
echo "== timing"
step 90 $T/kn_bench resnet152 cuda "$BATCH2D" 224 398 "$ITERS" | tee "$tmp/r152.ours"
step 90 $T/kn_bench resnext101-3d cuda "$BATCH3D" 112 112 "$ITERS" | tee "$tmp/x3d.ours"
echo "(with QUERN_KN_CUDA_GRAPH=1:)"
step 75 env QUERN_KN_CUDA_GRAPH=1 $T/kn_bench resnet152 cuda "$BATCH2D" 224 398 "$ITERS"
step 75 env QUERN_KN_CUDA_GRAPH=1 $T/kn_bench resnext101-3d cuda "$BATCH3D" 112 112 "$ITERS"
if "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    step 60 "$PY" bench/peers/torch_cnn.py resnet152 cuda "$BATCH2D" 224 398 "$ITERS" | tee "$tmp/r152.torch"
    step 60 "$PY" bench/peers/torch_cnn.py resnext101-3d cuda "$BATCH3D" 112 112 "$ITERS" | tee "$tmp/x3d.torch"
else
    echo "gpu_check.sh: $PY has no CUDA torch; peer timings skipped"
fi
rate() { sed -n 's/.*: \([0-9.]*\) img\/s.*/\1/p' "$1" 2>/dev/null; }
[ $golden = 0 ] && echo "golden cuda: PASS" || echo "golden cuda: FAIL"
for n in r152:resnet152_224x398 x3d:resnext101_3d; do
    a=$(rate "$tmp/${n%%:*}.ours"); b=$(rate "$tmp/${n%%:*}.torch")
    if [ -n "$a" ] && [ -n "$b" ]; then
        awk -v a="$a" -v b="$b" -v n="${n#*:}" \
            'BEGIN { printf "ratio %s_gpu_vs_torch: %.2fx (target >= 1.0x)\n", n, a / b }'
    else
        echo "ratio ${n#*:}_gpu_vs_torch: n/a"
    fi
done
exit $golden
