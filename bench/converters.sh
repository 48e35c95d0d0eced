#!/bin/sh
# bench/converters.sh — the COCO converters against their peers, side by side, ratios last.
#   bench/parts/cityscapes.sh  quern-cityscapes2coco vs MMDetection 3.3 cityscapes.py (and
#                              vs the bare PNG-decode floor)
#   bench/parts/via.sh         quern-via2coco vs MMDetection's balloon converter (run when
#                              present)
# Each part's full output is shown; then every "ratio " line again, one per line.
# Needs the peers: pipelines/deps.sh --bench. Env: see each part.
set -eu
cd "$(dirname "$0")/.."
T=$(mktemp)
trap 'rm -f "$T" "$T.rc"' EXIT INT TERM
status=0
for part in bench/parts/cityscapes.sh bench/parts/via.sh; do
    [ -f "$part" ] || { echo "converters.sh: $part absent, skipped"; continue; }
    echo "== $part"
    { sh "$part" 2>&1; echo $? > "$T.rc"; } | tee -a "$T"
    if [ "$(cat "$T.rc")" != 0 ]; then
        echo "converters.sh: $part failed" >&2
        status=1
    fi
done
echo "== ratios"
grep '^ratio ' "$T" || true
exit $status
