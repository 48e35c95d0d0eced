#!/bin/sh
# features_cnn.sh — CPU CNN throughput: quern's engine (cpu backend, OpenBLAS fp32)
# vs PyTorch CPU (Debian python3-torch, fp32 eager) on the same nets, side by side:
# ResNet-50 and ResNet-152, batch 8, 224×224, 2 threads each, and the ResNeXt-101 3D
# (batch 4 clips of 16×112×112; recorded, not a target). Weights are random
# (kernels/tools/make_fixtures.py's generator); speed does not depend on them.
# Needs /usr/bin/python3 with torch (apt-get install python3-torch). Ratios
# (ours / torch throughput; target >= 0.8x) are printed last, one per line.
# Env: ITERS (timed batches after one warm-up, default 2), THREADS (default 2).
set -eu
cd "$(dirname "$0")/.."
ITERS=${ITERS:-2}
THREADS=${THREADS:-2}
PY=${TORCH_PYTHON:-/usr/bin/python3}
make --no-print-directory -s build/rel/tests/kn_bench >/dev/null
if ! "$PY" -c 'import torch' 2>/dev/null; then
    echo "features_cnn.sh: $PY has no torch (apt-get install python3-torch)" >&2
    exit 2
fi
export OPENBLAS_NUM_THREADS="$THREADS" OMP_NUM_THREADS="$THREADS"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rate() { sed -n 's/.*: \([0-9.]*\) img\/s.*/\1/p' "$1"; }
# net:batch:H:W: the two 2D targets, and the 3D net (clips of 16xHxW; recorded, no target)
cases="resnet50:8:224:224 resnet152:8:224:224 resnext101-3d:4:112:112"
for c in $cases; do
    # shellcheck disable=SC2046 # split on purpose: net batch h w
    set -- $(echo "$c" | tr : ' ')
    build/rel/tests/kn_bench "$1" cpu "$2" "$3" "$4" "$ITERS" "$THREADS" | tee "$tmp/$1.ours"
    "$PY" bench/peers/torch_cnn.py "$1" cpu "$2" "$3" "$4" "$ITERS" "$THREADS" | tee "$tmp/$1.torch"
done
for c in $cases; do
    net=${c%%:*}
    case $net in *3d) target="no target" ;; *) target="target >= 0.8x" ;; esac
    awk -v a="$(rate "$tmp/$net.ours")" -v b="$(rate "$tmp/$net.torch")" -v n="$net" -v t="$target" \
        'BEGIN { printf "ratio %s_cpu_vs_torch: %.2fx (%s)\n", n, a / b, t }'
done
