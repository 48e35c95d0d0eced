#!/bin/sh
# bench/parts/via.sh — quern-via2coco vs MMDetection's balloon tutorial converter.
#
# Workload: 500 images from ../shared/tools/gen_via.py (--format via1
# --region-attrs none, seed 0: the only form the balloon converter accepts).
# Peer: bench/peers/balloon_convert.py, MMDetection 3.x docs' convert_balloon_to_coco,
# which decodes every JPEG with mmcv.imread just to learn its size; quern reads the
# JPEG headers only (SOF + EXIF), so the work differs by design — that is the point.
# Both run as whole processes on warm page cache: 1 warm-up + 3 counted runs each,
# median wall time. The ratio is printed last:
#   ratio via2coco_vs_mmdet_balloon: <N>x (target >= 50x)
# Env: QUERN_BIN (default bin), QUERN_BENCH_DIR (default /tmp/quern-bench), PYTHON.
# Needs: mmcv-lite mmengine opencv-python-headless (pipelines/deps.sh --bench), numpy, PIL.
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BIN=${QUERN_BIN:-$ROOT/bin}
PY=${PYTHON:-python3}
SHARED=${QUERN_SHARED:-$ROOT/../shared}
WORK=${QUERN_BENCH_DIR:-/tmp/quern-bench}/via500
N=500

[ -x "$BIN/quern-via2coco" ] || { echo "via.sh: $BIN/quern-via2coco not built (run make)" >&2; exit 1; }
$PY -c 'import mmcv, mmengine, cv2' 2>/dev/null ||
    { echo "via.sh: peer needs mmcv-lite mmengine opencv-python-headless: pipelines/deps.sh --bench" >&2; exit 1; }

if [ ! -f "$WORK/.done-$N" ]; then
    echo "via.sh: generating $N VIA images in $WORK (once)" >&2
    rm -rf "$WORK"
    $PY "$SHARED/tools/gen_via.py" "$WORK" --images $N --seed 0 --format via1 --region-attrs none -q
    touch "$WORK/.done-$N"
fi
ANN=$WORK/via_region_data.json
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT INT TERM
cat "$WORK"/*.jpg > /dev/null # page cache

# seconds of one whole-process run of "$@"
timed() {
    t0=$(date +%s.%N)
    "$@" > /dev/null 2>&1 || { echo "via.sh: failed: $*" >&2; exit 1; }
    t1=$(date +%s.%N)
    echo "$t0 $t1" | awk '{printf "%.6f\n", $2 - $1}'
}
# median of 3 counted runs after 1 warm-up
median3() {
    timed "$@" > /dev/null
    for i in 1 2 3; do timed "$@"; done | sort -g | sed -n 2p
}

q=$(median3 "$BIN/quern-via2coco" "$ANN" -o "$OUT/quern.json" --class balloon -q)
p=$(median3 $PY bench/peers/balloon_convert.py "$ANN" "$OUT/mmdet.json" "$WORK")

# Same images, same sizes, same number of annotations?
$PY - "$OUT/quern.json" "$OUT/mmdet.json" <<'PYEOF'
import json, sys
q, m = (json.load(open(p)) for p in sys.argv[1:3])
qs = {i['file_name']: (i['width'], i['height']) for i in q['images']}
ms = {i['file_name']: (i['width'], i['height']) for i in m['images']}
same = sum(qs.get(k) == v for k, v in ms.items())
print('via: images %d (sizes equal to the peer\'s: %d/%d), annotations quern %d, peer %d'
      % (len(qs), same, len(ms), len(q['annotations']), len(m['annotations'])))
if same != len(ms) or len(q['annotations']) != len(m['annotations']):
    sys.exit('via.sh: outputs disagree')
PYEOF
echo "$q $p $N" | awk '{
    printf "via: quern-via2coco %.4f s (%.0f img/s), mmdet balloon converter %.3f s (%.1f img/s), %d images\n",
           $1, $3 / $1, $2, $3 / $2, $3
    printf "ratio via2coco_vs_mmdet_balloon: %.1fx (target >= 50x)\n", $2 / $1 }'
