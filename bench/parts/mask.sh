#!/bin/sh
# bench/parts/mask.sh — qn_rle_from_labels (all instances of a label image in one pass) vs
# the per-instance way MMDetection's Cityscapes converter works (per id: a full-image
# compare, a column-major copy, an RLE encode), both in C in one process so only the
# method differs.
#
# Workload: build/rel/tests/bench_mask_labels' synthetic Cityscapes-like 2048x1024
# instanceIds image (~25 instances with ids >= 24, a crowd region, stuff bands); it
# checks that both ways give the same runs. Timing: median of REPS runs of ours, of
# min(REPS, 5) of the per-instance way. The ratio is printed last:
#   ratio mask_labels_vs_per_instance: <N>x
# Env: QUERN_BENCH_REPS (default 30).
set -eu
cd "$(dirname "$0")/../.."
TOOL=build/rel/tests/bench_mask_labels
REPS=${QUERN_BENCH_REPS:-30}
make -s "$TOOL" > /dev/null || { echo "mask.sh: cannot build $TOOL" >&2; exit 1; }
T=$(mktemp)
trap 'rm -f "$T"' EXIT INT TERM
"$TOOL" -n "$REPS" > "$T"
# all lines but the last (the speed-up, a bare number) as they are
sed '$d' "$T" | sed 's/^/mask: /'
speedup=$(tail -n 1 "$T")
case $speedup in
    ''|*[!0-9.]*) echo "mask.sh: unexpected last line from $TOOL: $speedup" >&2; exit 1 ;;
esac
echo "ratio mask_labels_vs_per_instance: ${speedup}x"
