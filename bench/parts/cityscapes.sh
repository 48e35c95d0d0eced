#!/bin/sh
# bench/parts/cityscapes.sh — quern-cityscapes2coco vs MMDetection 3.3's converter, and vs
# the bare PNG-decode floor of the same instance files.
#
# Workload: ../shared/tools/gen_cityscapes.py, 200 train images of 2048x1024 (seed 0), plus
# 1 val and 1 test image, because MMDetection's main() converts train, val and test and
# asserts that each has images (so both tools convert the same 202 images).
# Peer: tools/dataset_converters/cityscapes.py exactly as the PyPI wheel mmdet==3.3.0
# ships it (mmdet/.mim/tools/...), run as `python cityscapes.py ROOT -o OUT --nproc 2`.
# The script never imports mmdet itself (only mmcv.imread, mmengine, cityscapesscripts,
# pycocotools), so it runs with mmcv-lite 2.2 although `import mmdet` would refuse that
# mmcv version; mmdet is installed with --no-deps for the file. quern runs with -j 2.
# Both write to tmpfs (/dev/shm when present): the figure is the conversion, not the
# disk's fsync latency (quern still fsyncs, as every quern output is atomic).
# Floor: build/rel/tests/cs_decode_floor -j 2 reads and decodes the 202 instanceIds PNGs
# and does nothing else, with quern's own decoder (libdeflate inflate + unfiltering) —
# the strict floor the target applies to — and, for reference, with libspng (zlib).
# Timing: whole processes, warm page cache (quern's and the floor's runs warm it first);
# MMDetection RUNS counted runs (no warm-up: one run is ~15 s unloaded, minutes on a
# busy machine), quern and the floor 1 warm-up + 5 counted runs, interleaved so load
# drift hits both alike; medians of wall time.
# Check: every split's annotations equal MMDetection's after sorting both by file name
# (and quern's bytes equal MMDetection's json.dump of the re-sorted output).
# Also printed: CPU time (user+sys of each process tree) and CPU-time ratios, steadier
# than wall time when the machine is shared. The ratios (wall time) are printed last:
#   ratio cityscapes2coco_vs_mmdet: <N>x (target >= 15x)
#   ratio cityscapes2coco_vs_decode_floor: <N>x (target >= 0.6x)
# Env: QUERN_BIN (default bin), QUERN_BENCH_DIR (default /tmp/quern-bench), QUERN_BENCH_RUNS
#      (MMDetection runs, default 2), PYTHON, QUERN_SHARED (default ../shared).
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BIN=${QUERN_BIN:-$ROOT/bin}
PY=${PYTHON:-python3}
SHARED=${QUERN_SHARED:-$ROOT/../shared}
WORK=${QUERN_BENCH_DIR:-/tmp/quern-bench}/cityscapes200
RUNS=${QUERN_BENCH_RUNS:-2}
N=200
FLOOR=build/rel/tests/cs_decode_floor

[ -x "$BIN/quern-cityscapes2coco" ] || { echo "cityscapes.sh: $BIN/quern-cityscapes2coco not built (run make)" >&2; exit 1; }
make -s "$FLOOR" > /dev/null || { echo "cityscapes.sh: cannot build $FLOOR" >&2; exit 1; }
$PY -c 'import mmcv, mmengine, cv2, cityscapesscripts, pycocotools' 2>/dev/null ||
    { echo "cityscapes.sh: peer needs mmcv-lite mmengine opencv-python-headless cityscapesscripts pycocotools: pipelines/deps.sh --bench" >&2; exit 1; }
find_mmdet() {
    $PY -c 'import importlib.util as u, os; s = u.find_spec("mmdet"); print(os.path.join(s.submodule_search_locations[0], ".mim/tools/dataset_converters/cityscapes.py") if s else "")'
}
MMDET=$(find_mmdet)
if [ -z "$MMDET" ] || [ ! -f "$MMDET" ]; then
    echo "cityscapes.sh: installing mmdet==3.3.0 (--no-deps, for its converter script)"
    $PY -m pip install -q --no-deps mmdet==3.3.0
    MMDET=$(find_mmdet)
fi
[ -f "$MMDET" ] || { echo "cityscapes.sh: MMDetection's cityscapes.py not found" >&2; exit 1; }

DATA=$WORK/data
if [ ! -f "$WORK/.done-$N" ]; then
    echo "cityscapes.sh: generating $N + 2 images of 2048x1024 into $DATA (once)"
    rm -rf "$WORK" && mkdir -p "$WORK"
    $PY "$SHARED/tools/gen_cityscapes.py" "$DATA" --images $N --seed 0 --jobs 2 -q
    $PY "$SHARED/tools/gen_cityscapes.py" "$DATA" --images 1 --seed 1 --split val -q
    $PY "$SHARED/tools/gen_cityscapes.py" "$DATA" --images 1 --seed 2 --split test -q
    touch "$WORK/.done-$N"
fi
OUTBASE=$WORK
[ -d /dev/shm ] && [ -w /dev/shm ] && OUTBASE=/dev/shm
OUT=$(mktemp -d "$OUTBASE/quern-cs-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT INT TERM

$PY - "$BIN/quern-cityscapes2coco" "$MMDET" "$DATA" "$OUT" "$RUNS" "$FLOOR" <<'EOF'
import glob, json, os, resource, statistics, subprocess, sys, time

ours, mmdet, data, out, runs, floor = sys.argv[1:7]
runs = int(runs)
files = sorted(glob.glob(os.path.join(data, "gtFine", "*", "*", "*_gtFine_instanceIds.png")))
n = len(files)
SPLITS = ("train", "val", "test")


CPU = {}   # command name -> list of user+sys seconds (children included)


def timed(cmd, key=None):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    cp = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cp.returncode != 0:
        sys.exit("cityscapes.sh: %s failed (%d): %s" % (cmd[0], cp.returncode, cp.stderr[-2000:]))
    if key:
        CPU.setdefault(key, []).append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return dt, cp.stdout


def floor_run(extra, key=None):
    return timed([floor, "-j", "2", *extra, *files], key)[0]   # whole process, as for the tools


ours_cmd = [ours, data, "-o", os.path.join(out, "quern"), "-j", "2", "-q"]
mm_cmd = [sys.executable, mmdet, data, "-o", os.path.join(out, "mmdet"), "--nproc", "2"]

timed(ours_cmd)
floor_run([])
t_ours, t_floor = [], []
for _ in range(5):   # interleaved, so load drift on a shared machine hits both alike
    t_ours.append(timed(ours_cmd, "ours")[0])
    t_floor.append(floor_run([], "floor"))
t_spng = [floor_run(["--spng"], "spng") for _ in range(3)]
t_mm = [timed(mm_cmd, "mmdet")[0] for _ in range(runs)]


def norm(d):
    byid = {i["id"]: i["file_name"] for i in d["images"]}
    anns = {}
    for a in d.get("annotations", []):
        anns.setdefault(byid[a["image_id"]], []).append(
            {k: v for k, v in a.items() if k not in ("id", "image_id")})
    imgs = sorted(({k: v for k, v in i.items() if k != "id"} for i in d["images"]),
                  key=lambda i: i["file_name"])
    return imgs, anns, d["categories"]


def resorted_dump(d):
    """MMDetection's output re-sorted by file name and renumbered, dumped as it dumps."""
    imgs = sorted(d["images"], key=lambda i: i["file_name"])
    by_img = {}
    for a in d.get("annotations", []):
        by_img.setdefault(a["image_id"], []).append(a)
    res = {"images": [], "categories": d["categories"], "annotations": []}
    k = 0
    for new_id, im in enumerate(imgs):
        for a in by_img.get(im["id"], []):
            a["image_id"], a["id"] = new_id, k
            k += 1
            res["annotations"].append(a)
        im["id"] = new_id
        res["images"].append(im)
    return json.dumps(res)


total_anns, same = 0, True
for s in SPLITS:
    name = "instancesonly_filtered_gtFine_%s.json" % s
    q_text = open(os.path.join(out, "quern", name)).read()
    q, m = json.loads(q_text), json.load(open(os.path.join(out, "mmdet", name)))
    eq = norm(q) == norm(m)
    beq = q_text == resorted_dump(m)
    total_anns += len(q["annotations"])
    print("%-5s  images %3d  annotations %5d (MMDetection %5d)  equal after sorting: %s  bytes: %s"
          % (s, len(q["images"]), len(q["annotations"]), len(m.get("annotations", [])),
             "yes" if eq else "NO", "identical" if beq else "differ"))
    same = same and eq

med = statistics.median
mo, mf, ms, mm = med(t_ours), med(t_floor), med(t_spng), med(t_mm)
print("workload: %d instanceIds PNGs 2048x1024 (%d annotations), 2 workers each" % (n, total_anns))
print("%-44s %8.3f s  %8.1f img/s   runs %s" % ("MMDetection 3.3 cityscapes.py --nproc 2", mm, n / mm,
                                               " ".join("%.2f" % t for t in t_mm)))
print("%-44s %8.3f s  %8.1f img/s   runs %s" % ("quern-cityscapes2coco -j 2", mo, n / mo,
                                               " ".join("%.3f" % t for t in t_ours)))
print("%-44s %8.3f s  %8.1f img/s   runs %s" % ("decode floor: quern png16 (libdeflate), -j 2", mf,
                                               n / mf, " ".join("%.3f" % t for t in t_floor)))
print("%-44s %8.3f s  %8.1f img/s   (reference: a zlib-based decoder)" % (
    "decode floor: libspng, -j 2", ms, n / ms))
print("quern reaches %.0f%% of the png16 decode floor and %.1fx the libspng decode" % (100 * mf / mo, ms / mo))
c = {k: med(v) for k, v in CPU.items()}
print("cpu (user+sys, median): MMDetection %.2f s, quern %.3f s, png16 floor %.3f s, libspng %.3f s"
      % (c["mmdet"], c["ours"], c["floor"], c["spng"]))
print("cpu-time ratios (steadier on a loaded machine; the ratio lines below use wall time): "
      "vs MMDetection %.1fx, vs png16 floor %.2fx" % (c["mmdet"] / c["ours"], c["floor"] / c["ours"]))
if not same:
    print("cityscapes.sh: annotations DIFFER from MMDetection's", file=sys.stderr)
    sys.exit(1)
print("ratio cityscapes2coco_vs_mmdet: %.1fx (target >= 15x)" % (mm / mo))
print("ratio cityscapes2coco_vs_decode_floor: %.2fx (target >= 0.6x)" % (mf / mo))
EOF
