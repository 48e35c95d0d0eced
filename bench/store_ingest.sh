#!/bin/sh
# bench/store_ingest.sh — C-side store figures: clip rows/s, feature rows at disk bandwidth
# (side by side with dd writing the same bytes with fdatasync), pooled clips/s with 2 threads.
# Usage: sh bench/store_ingest.sh [store_bench options, e.g. --videos 2000 --rows 20]
# Needs `make tests-built` (store_bench is a TEST_TOOL). Sizes are kept small: the store is
# created in a temp directory under ${TMPDIR:-/tmp} and removed at the end.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOL=${QUERN_TEST_TOOLS:-$ROOT/build/rel/tests}/store_bench
[ -x "$TOOL" ] || make -C "$ROOT" -s "build/rel/tests/store_bench"
T=$(mktemp -d "${TMPDIR:-/tmp}/qn_store_bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
"$TOOL" "$T/store" --batch 500 "$@" | tee "$T/out"
# dd of the same byte count as the feature rows, one fdatasync at the end
bytes=$(du -sb "$T/store/features" | cut -f1)
mb=$((bytes / 1048576 + 1))
start=$(date +%s.%N)
dd if=/dev/zero of="$T/dd.bin" bs=1M count=$mb conv=fdatasync status=none
end=$(date +%s.%N)
dd_mbps=$(echo "$mb $start $end" | awk '{printf "%.1f", $1*1.048576/($3-$2)}')
echo "dd_MB_per_s $dd_mbps MB/s ($mb MiB, conv=fdatasync)"
ours=$(awk '/^feature_MB_per_s/ {print $2}' "$T/out")
clips=$(awk '/^clip_rows_per_s/ {print $2}' "$T/out")
echo "$clips" | awk '{printf "ratio ingest_clip_rows: %.2fx (target >= 1x of 100,000 clip rows/s; %d/s)\n", $1/100000, $1}'
echo "$ours $dd_mbps" | awk '{printf "ratio ingest_feature_rows_vs_dd: %.2fx (target ~1x: disk bandwidth, dd conv=fdatasync)\n", $1/$2}'
