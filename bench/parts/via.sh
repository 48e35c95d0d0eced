#!/bin/sh
# bench/parts/via.sh — quern-via2coco vs MMDetection's balloon tutorial converter.
#
# Workload: 500 images from ../shared/tools/gen_via.py (--format via1
# --region-attrs none, seed 0: the only form the balloon converter accepts).
# Peer: bench/peers/balloon_convert.py, MMDetection 3.x docs' convert_balloon_to_coco,
# which decodes every JPEG with mmcv.imread just to learn its size; quern reads the
# JPEG headers only (SOF + EXIF), so the work differs by design — that is the point.
# Both run as whole processes on warm page cache: 1 warm-up + 3 counted runs each,
# median wall time. Both write their JSON to tmpfs (/dev/shm when present), so the
# figure is the conversion, not the disk's flush latency (quern still fsyncs its
# output and directory, as every quern output is written atomically; on the build
# machine's disk that fsync alone costs ~0.1 s). The ratio is printed last:
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
if [ -d /dev/shm ] && [ -w /dev/shm ]; then OUT=$(mktemp -d /dev/shm/quern-via.XXXXXX); else OUT=$(mktemp -d); fi
trap 'rm -rf "$OUT"' EXIT INT TERM
cat "$WORK"/*.jpg > /dev/null # page cache

# "wall cpu" seconds (median of 3 counted runs after 1 warm-up) of a whole process
median3() {
    $PY - "$@" <<'PYEOF'
import resource, subprocess, sys, time
def one():
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return t1 - t0, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
one()
runs = sorted(one() for _ in range(3))
print("%.6f %.6f" % (runs[1][0], sorted(c for _, c in runs)[1]))
PYEOF
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
    printf "via: quern-via2coco %.4f s wall, %.4f s cpu (%.0f img/s); mmdet balloon converter %.3f s wall, %.3f s cpu (%.1f img/s); %d images\n",
           $1, $2, $5 / $1, $3, $4, $5 / $3, $5
    printf "via: cpu-time ratio %.0fx (the wall ratio below includes waiting for a CPU on a loaded machine)\n", $4 / $2
    printf "ratio via2coco_vs_mmdet_balloon: %.1fx (target >= 50x)\n", $3 / $1 }'
