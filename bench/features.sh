#!/bin/sh
# bench/features.sh — quern-features speed, side by side with the peers, ratios last.
#   bench/features_decode.sh  one decode pass (2D + 3D inputs) vs HowTo100M's two ffmpeg runs
#   bench/features_cnn.sh     the engine vs PyTorch on the CPU (helper G's; run when present)
# Each part's full output is shown; then every "ratio " line, one per line.
set -eu
cd "$(dirname "$0")/.."
T=$(mktemp)
trap 'rm -f "$T" "$T.rc"' EXIT INT TERM
status=0
for part in bench/features_decode.sh bench/features_cnn.sh; do
    [ -f "$part" ] || { echo "features.sh: $part absent, skipped"; continue; }
    echo "== $part"
    { sh "$part" 2>&1; echo $? > "$T.rc"; } | tee -a "$T"
    if [ "$(cat "$T.rc")" != 0 ]; then
        echo "features.sh: $part failed" >&2
        status=1
    fi
done
echo "== ratios"
grep '^ratio ' "$T" || true
exit $status
