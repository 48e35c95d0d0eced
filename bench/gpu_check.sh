#!/bin/sh
# gpu_check.sh — one short run on a GPU machine (well under 10 minutes):
#   1. builds the engine with CUDA (nvcc on PATH or NVCC=...),
#   2. runs the golden tests on the cuda backend (fp16: rel err <= 1e-2 and
#      cosine >= 0.999 per stage against the committed PyTorch fixtures),
#   3. times ResNet-152 at 224×398 and the 3D ResNeXt-101 (16×112×112) against
#      PyTorch eager (channels_last + autocast fp16) at the same batch size.
# Ratios (ours / torch throughput; target >= 1.0x) are printed last.
# Env: BATCH2D (64), BATCH3D (32), ITERS (5), TORCH_PYTHON (python3).
# Never part of CI: make check runs the cuda golden tests only through this script.
set -u
cd "$(dirname "$0")/.."
BATCH2D=${BATCH2D:-64}
BATCH3D=${BATCH3D:-32}
ITERS=${ITERS:-5}
PY=${TORCH_PYTHON:-python3}
if ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu_check.sh: no GPU on this machine (nvidia-smi -L failed); skipped"
    exit 0
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "== build (HAVE_CUDA=1)"
make --no-print-directory -s HAVE_CUDA=1 build/rel/tests/check_kernels_golden build/rel/tests/kn_bench \
    || { echo "gpu_check.sh: build failed" >&2; exit 1; }
echo "== golden tests on the cuda backend"
QUERN_KN_BACKEND=cuda QUERN_KN_VERBOSE=1 build/rel/tests/check_kernels_golden
golden=$?
echo "== golden tests on the cuda backend with CUDA graphs (kn_run_* replays a captured forward)"
QUERN_KN_BACKEND=cuda QUERN_KN_CUDA_GRAPH=1 build/rel/tests/check_kernels_golden || golden=1
echo "== golden tests with the direct-convolution fallback forced (QUERN_KN_CUDA_DIRECT=1)"
QUERN_KN_BACKEND=cuda QUERN_KN_CUDA_DIRECT=1 build/rel/tests/check_kernels_golden || golden=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "== timing"
build/rel/tests/kn_bench resnet152 cuda "$BATCH2D" 224 398 "$ITERS" | tee "$tmp/r152.ours"
build/rel/tests/kn_bench resnext101-3d cuda "$BATCH3D" 112 112 "$ITERS" | tee "$tmp/x3d.ours"
echo "(with QUERN_KN_CUDA_GRAPH=1:)"
QUERN_KN_CUDA_GRAPH=1 build/rel/tests/kn_bench resnet152 cuda "$BATCH2D" 224 398 "$ITERS"
QUERN_KN_CUDA_GRAPH=1 build/rel/tests/kn_bench resnext101-3d cuda "$BATCH3D" 112 112 "$ITERS"
if "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    "$PY" bench/peers/torch_cnn.py resnet152 cuda "$BATCH2D" 224 398 "$ITERS" | tee "$tmp/r152.torch"
    "$PY" bench/peers/torch_cnn.py resnext101-3d cuda "$BATCH3D" 112 112 "$ITERS" | tee "$tmp/x3d.torch"
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
