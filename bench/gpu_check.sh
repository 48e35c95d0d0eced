#!/bin/sh
# gpu_check.sh — one short run on a GPU machine (well under 10 minutes):
#   1. builds the engine with CUDA (nvcc on PATH or NVCC=...),
#   2. runs the golden tests on the cuda backend (fp16: rel err <= 1e-2 and
#      cosine >= 0.999 per stage against the committed PyTorch fixtures),
#   3. times ResNet-152 at 224×398 and the 3D ResNeXt-101 (16×112×112) against
#      PyTorch eager (channels_last + autocast fp16) at the same batch size.
#   4. end to end (issue 5): checks the GPU frame conversion (frames_dump --convert cuda)
#      against the CPU path, times decoding alone, then writes seeded full-size weights
#      (bench/gpu_weights.py), puts copies of the carried test videos
#      (.gpu/video/{360p,720p}.mp4, 60 s of H.264 each) into a store (features_seed) and
#      runs quern-features --backend cuda on it while nvidia-smi samples the GPU's
#      utilisation every 200 ms, with CPU, NVDEC and mixed decoding (E2E_CASES; E2E_NVDEC=0
#      leaves NVDEC out). Needs the bundle (bench/gpu_bundle.sh, NO_BUILD=1); skipped without.
# Ratios (ours / torch throughput; target >= 1.0x) and the GPU's busy-ness during the end
# to end run (target >= 80%) are printed last.
# Env: BATCH2D (64), BATCH3D (32), ITERS (5), TORCH_PYTHON (python3),
# E2E_CASES (NAME:DECODE:COPIES[:OPTIONS] ..., see step 4 below),
# E2E_ARGS (quern-features options, default "--batch 32"; e.g. "--batch 64 --decoders 8"),
# E2E_ONLY=1 (step 4 alone), E2E=0 (no step 4), E2E_NVDEC=0, NVCC (nvcc, else
# /usr/local/cuda/bin/nvcc), BUDGET (seconds for the whole script, 560: every step runs
# under `timeout` so that the summary is printed inside a 10-minute slot).
# cuDNN/cuBLAS: the CUDA toolkit's, else the ones PyTorch's pip wheels ship (nvidia-cudnn-*).
# NO_BUILD=1: use the programs as they are, built elsewhere with HAVE_CUDA=1 and carried here
# (a device image has no jansson/openblas/check): bench/gpu_bundle.sh's .gpu/bundle.tar.xz,
# unpacked into .gpu/{bin,lib,video}, else build/rel/tests/{check_kernels_golden,kn_bench}.
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
if [ "${NO_BUILD:-0}" = 1 ] && [ -f .gpu/bundle.tar.xz ] && [ ! -d .gpu/bin ]; then
    # bench/gpu_bundle.sh's programs, libraries and videos, packed to fit what is carried
    tar -xJf .gpu/bundle.tar.xz -C .gpu 2>/dev/null ||
        "$PY" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
            .gpu/bundle.tar.xz .gpu ||
        { echo "gpu_check.sh: cannot unpack .gpu/bundle.tar.xz" >&2; exit 1; }
fi
if [ -f .gpu/COMMIT ]; then # the bundle was built from this commit
    here=$(git rev-parse HEAD 2>/dev/null || echo unknown)
    echo "bundle built from $(cat .gpu/COMMIT); this tree: $here"
    [ "$here" = unknown ] || [ "$here" = "$(cat .gpu/COMMIT)" ] ||
        echo "gpu_check.sh: WARNING: the bundle is from another commit (rerun bench/gpu_bundle.sh)"
fi
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
golden=skip e2e_fail=0 convert_fail=0
if [ "${E2E_ONLY:-0}" != 1 ]; then
    echo "== golden tests on the cuda backend"
    step 120 env QUERN_KN_BACKEND=cuda QUERN_KN_VERBOSE=1 $T/check_kernels_golden
    golden=$?
    if [ $golden != 0 ] && command -v compute-sanitizer >/dev/null 2>&1; then
        echo "== golden tests failed: once more under compute-sanitizer (memcheck)"
        step 90 compute-sanitizer --tool memcheck --print-limit 20 \
            env QUERN_KN_BACKEND=cuda $T/check_kernels_golden
    fi
    echo "== golden tests on the cuda backend with CUDA graphs (kn_run_* replays a captured forward)"
    step 90 env QUERN_KN_BACKEND=cuda QUERN_KN_CUDA_GRAPH=1 $T/check_kernels_golden || golden=1
    echo "== golden tests with every graph capture failing (QUERN_KN_CUDA_GRAPH_FAIL=1: eager fallback)"
    step 90 env QUERN_KN_BACKEND=cuda QUERN_KN_CUDA_GRAPH=1 QUERN_KN_CUDA_GRAPH_FAIL=1 \
        $T/check_kernels_golden || golden=1
    echo "== golden tests with the direct-convolution fallback forced (QUERN_KN_CUDA_DIRECT=1)"
    step 90 env QUERN_KN_BACKEND=cuda QUERN_KN_CUDA_DIRECT=1 $T/check_kernels_golden || golden=1
    echo "== timing"
    step 90 $T/kn_bench resnet152 cuda "$BATCH2D" 224 398 "$ITERS" | tee "$tmp/r152.ours"
    step 90 $T/kn_bench resnext101-3d cuda "$BATCH3D" 112 112 "$ITERS" | tee "$tmp/x3d.ours"
    echo "(without CUDA graphs, QUERN_KN_CUDA_GRAPH=0:)"
    step 75 env QUERN_KN_CUDA_GRAPH=0 $T/kn_bench resnet152 cuda "$BATCH2D" 224 398 "$ITERS"
    step 75 env QUERN_KN_CUDA_GRAPH=0 $T/kn_bench resnext101-3d cuda "$BATCH3D" 112 112 "$ITERS"
    if "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
        step 60 "$PY" bench/peers/torch_cnn.py resnet152 cuda "$BATCH2D" 224 398 "$ITERS" | tee "$tmp/r152.torch"
        step 60 "$PY" bench/peers/torch_cnn.py resnext101-3d cuda "$BATCH3D" 112 112 "$ITERS" | tee "$tmp/x3d.torch"
    else
        echo "gpu_check.sh: $PY has no CUDA torch; peer timings skipped"
    fi
fi
# ---- 4. end to end: video -> store, the GPU's utilisation sampled meanwhile
# First the GPU converter against the CPU path, then decoding alone: E2E_DECODE_ONLY
# ("MODE:PARALLEL ...", default "none:16 fast:16 cuda:16 nvfast:16 cuda:48 gpuconv:16 gpuconv:48")
# runs that many frames_dump processes on the 360p video at once.
# Cases "NAME:DECODE:COPIES[:OPTIONS]": NAME is .gpu/video/NAME.mp4 (60 s each); 360p is what
# HowTo100M's files are (about 200 kbit/s, 240p-360p), 720p the heavy case; OPTIONS are more
# quern-features options, comma-separated (--decoders=48). DECODE mixed: CPU decoders on every
# core plus 16 NVDEC ones. Some NVDEC cases try more decoders than cores: an NVDEC decoder
# mostly waits for its frame, so one per core may leave NVDEC idle.
FEAT=$T/quern-features
SEED=$T/features_seed
E2E_CASES=${E2E_CASES:-360p:cpu:64 360p:cpu:64:--convert=swscale 360p:cuda:64:--convert=gpu 360p:mixed:64:--convert=gpu 360p:cuda:64:--convert=gpu,--decoders=48 720p:cpu:16 720p:mixed:32:--convert=gpu 360p:cuda:64:--decoders=48}
# e2e NAME MODE COPIES CAP OPTIONS: one quern-features run (--backend cuda --decode MODE)
# over a fresh store of COPIES videos; prints the rate and busy-ness, leaves the busy mean in
# $tmp/e2e.NAME.TAG.busy (TAG: MODE, and the options when there are some)
e2e() {
    name=$1 mode=$2 copies=$3 extra=$(echo "$5" | tr ',' ' ') st="$tmp/store.$1.$2" i=0
    tag=$mode${5:+$(printf %s "$5" | tr -c 'A-Za-z0-9' _ | tr -s _)}
    video=.gpu/video/$name.mp4
    secs=$(cat ".gpu/video/$name.seconds" 2>/dev/null || echo 60)
    [ -s "$video" ] || { echo "gpu_check.sh: no $video (bench/gpu_bundle.sh makes it)" >&2; return 1; }
    awk -v d="$secs" 'BEGIN { for (s = 0; s + 4 <= d; s += 5) printf "%d %d clip %d\n", s, s + 4, s / 5 }' \
        >"$tmp/clips.txt"
    while [ $i -lt "$copies" ]; do
        i=$((i + 1))
        "$SEED" "$st" "e2e_$i" "$PWD/$video" "$tmp/clips.txt" >/dev/null ||
            { echo "gpu_check.sh: features_seed failed" >&2; return 1; }
    done
    nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits -lms 200 \
        >"$tmp/util.$name.$tag" 2>/dev/null &
    smi=$!
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086 # E2E_ARGS, $extra: several options
    step "$4" "$FEAT" --store "$st" --weights-2d "$tmp/w/resnet152.safetensors" \
        --weights-3d "$tmp/w/resnext101.safetensors" --backend cuda --decode "$mode" \
        ${E2E_ARGS:---batch 32} $extra
    rc=$?
    t1=$(date +%s.%N)
    kill "$smi" 2>/dev/null
    wait "$smi" 2>/dev/null
    rm -rf "$st"
    if [ $rc != 0 ]; then
        echo "gpu_check.sh: quern-features --decode $mode exited $rc" >&2
        return 1
    fi
    # mean over the whole run (weights loading included) and over the busy stretch
    # (first to last non-zero sample)
    awk -v a="$t0" -v b="$t1" -v v=$((copies * secs)) -v m="$name --decode $mode${extra:+ $extra}" \
        -v out="$tmp/e2e.$name.$tag.busy" '
        $1 ~ /^[0-9.]+$/ { u[n++] = $1 + 0 }
        END {
            s = 0; f = -1; l = -1
            for (i = 0; i < n; i++) { s += u[i]; if (u[i] > 0) { if (f < 0) f = i; l = i } }
            ss = 0; for (i = f; f >= 0 && i <= l; i++) ss += u[i]
            busy = n ? sprintf("%.0f%%", s / n) : "n/a"
            t = b - a
            printf "e2e (%s): %.1f s for %d s of video (%.1fx real time), GPU busy mean %s (target >= 80%%)", m, t, v, v / t, busy
            if (f >= 0) printf "; %.0f%% over the busy stretch (%d of %d samples)", ss / (l - f + 1), l - f + 1, n
            printf "\n"
            print busy > out
        }' "$tmp/util.$name.$tag"
}
echo "== end to end: video -> store (quern-features, cuda backend)"
if [ "${E2E:-1}" = 0 ]; then
    echo "(E2E=0: skipped)"
elif [ ! -x "$FEAT" ] || [ ! -x "$SEED" ] || [ ! -d .gpu/video ]; then
    echo "gpu_check.sh: end-to-end step skipped: $T has no quern-features + features_seed or" \
        "there is no .gpu/video (make them with sh bench/gpu_bundle.sh, run with NO_BUILD=1)"
else
    # the GPU converter (kn_cuda_convert: NVDEC frames scaled on the GPU) against the CPU
    # path (CPU decode + libswscale): same frames, pixels as close as kn_convert.h says
    if [ -x "$T/frames_dump" ]; then
        echo "== GPU frame conversion vs the CPU path (frames_dump --hw cuda --convert cuda)"
        v=.gpu/video/360p.mp4
        # three runs: libswscale (the CPU path), kn_convert_ref on the CPU, the GPU
        step 60 "$T/frames_dump" -j 2 "$v" "$tmp/cpu2" "$tmp/cpu3" >"$tmp/cpu.txt" &&
            step 60 "$T/frames_dump" -j 2 --convert ref "$v" "$tmp/ref2" "$tmp/ref3" \
                >"$tmp/ref.txt" &&
            step 60 "$T/frames_dump" -j 2 --hw cuda --convert cuda "$v" "$tmp/gpu2" "$tmp/gpu3" \
                >"$tmp/gpu.txt" 2>"$tmp/gpu.err" &&
            "$PY" -c '
import sys, numpy as np
d = sys.argv[1]
def stats(name):
    return dict(l.split(" ", 1) for l in open(d + "/" + name + ".txt").read().splitlines())
cpu, gpu = stats("cpu"), stats("gpu")
conv = gpu["decoded"].split()[2]
ok = gpu["external"] == conv != "0" and gpu["decoded"].endswith("hw 1")
print("frames: 2d %s, 3d %s (CPU path: %s, %s); converted on the GPU: %s of %s; %s"
      % (gpu["2d"], gpu["3d"], cpu["2d"], cpu["3d"], gpu["external"], conv, gpu["decoded"]))
ok = ok and gpu["2d"] == cpu["2d"] and gpu["3d"] == cpu["3d"]
for k, lim in (("2", 0.5), ("3", 0.1)):
    a = np.fromfile(d + "/cpu" + k, np.uint8).astype(int)
    r = np.fromfile(d + "/ref" + k, np.uint8).astype(int)
    b = np.fromfile(d + "/gpu" + k, np.uint8).astype(int)
    same = len(a) == len(b) == len(r) and len(a) > 0
    e = np.abs(a - b) if same else np.array([999])
    f = np.abs(r - b) if same else np.array([999])
    print("%sD: vs the CPU path mean abs diff %.4f, max %d (limit: mean <= %.1f); vs kn_convert_ref "
          "%d bytes differ, max %d (limit: <= 1e-4 of %d, max 1)"
          % (k, e.mean(), e.max(), lim, (f > 0).sum(), f.max(), len(b)))
    ok = ok and same and e.mean() <= lim and (f > 0).sum() <= 1e-4 * len(b) and f.max() <= 1
print("gpu convert:", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)' "$tmp" || { convert_fail=1; cat "$tmp/gpu.txt" "$tmp/gpu.err"; }
        rm -f "$tmp"/cpu2 "$tmp"/cpu3 "$tmp"/ref2 "$tmp"/ref3 "$tmp"/gpu2 "$tmp"/gpu3
    fi
    # decoding alone (frames_dump: both streams, converted, thrown away), P videos at once:
    # what the decoders can feed, with no network and no store in the way. MODE: none (CPU
    # decode + libswscale), fast (CPU decode + kn_convert_cpu, quern-features' default with
    # the cuda backend), cuda (NVDEC + libswscale), nvfast (NVDEC, frames downloaded and
    # converted by kn_convert_cpu: what --decode cuda gets by default now; checks that path),
    # gpuconv (NVDEC + kn_cuda_convert)
    if [ -x "$T/frames_dump" ]; then
        for d in ${E2E_DECODE_ONLY:-none:16 fast:16 cuda:16 nvfast:16 cuda:48 gpuconv:16 gpuconv:48}; do
            hw=${d%%:*} par=${d#*:} i=0 conv=""
            [ "$hw" = gpuconv ] && hw=cuda conv="--convert cuda"
            [ "$hw" = fast ] && hw=none conv="--convert cpu"
            [ "$hw" = nvfast ] && hw=cuda conv="--convert cpu"
            left=$((end - $(date +%s) - 15))
            if [ "$left" -lt 70 ]; then
                echo "gpu_check.sh: out of time, skipped: decode only $d" >&2
                continue
            fi
            # NVDEC's own busy share (nvidia-smi dmon's "dec" column, 1 s samples): tells
            # whether the decoders or the engines set an NVDEC run's pace
            dmon=
            if [ "$hw" = cuda ]; then
                nvidia-smi dmon -s u -d 1 >"$tmp/dmon" 2>/dev/null &
                dmon=$!
            fi
            t0=$(date +%s.%N)
            pids=
            while [ $i -lt "$par" ]; do
                i=$((i + 1))
                # shellcheck disable=SC2086 # $conv: two words or none
                timeout -k 5 60 "$T/frames_dump" -j 1 --hw "$hw" $conv .gpu/video/360p.mp4 \
                    /dev/null /dev/null >"$tmp/fd.$i" 2>&1 &
                pids="$pids $!"
            done
            # shellcheck disable=SC2086 # the decoders' pids, not dmon's
            wait $pids
            t1=$(date +%s.%N)
            nvdec=
            if [ -n "$dmon" ]; then
                kill "$dmon" 2>/dev/null
                wait "$dmon" 2>/dev/null
                nvdec=$(awk '/^# *gpu/ { for (i = 2; i <= NF; i++) if ($i == "dec") c = i - 1 }
                    !/^#/ && c && $c ~ /^[0-9]+$/ && $c > 0 { s += $c; n++ }
                    END { if (n) printf "%.0f%% over %d s", s / n, n; else print "n/a" }' \
                    "$tmp/dmon")
            fi
            # ran as asked: on NVDEC when asked, and with every converted frame converted
            # by the --convert one (external N equal to converted N)
            ok=$(grep -l "hw $([ "$hw" = cuda ] && echo 1 || echo 0)\$" "$tmp"/fd.* 2>/dev/null |
                while read -r f; do
                    cn=$(sed -n 's/^decoded [0-9]* converted \([0-9]*\).*/\1/p' "$f")
                    en=$(sed -n 's/^external //p' "$f")
                    [ -z "$conv" ] || { [ -n "$cn" ] && [ "$cn" != 0 ] && [ "$cn" = "$en" ]; } ||
                        continue
                    echo "$f"
                done | wc -l)
            awk -v a="$t0" -v b="$t1" -v p="$par" -v h="$hw${conv:+ $conv}" -v ok="$ok" \
                -v nv="$nvdec" 'BEGIN {
                printf "decode only (360p, --hw %s, %d at once): %.1f s, %.0fx real time (%d of %d ran as asked)%s\n",
                    h, p, b - a, p * 60 / (b - a), ok, p, nv == "" ? "" : "; NVDEC busy " nv }'
            rm -f "$tmp"/fd.*
        done
    fi
    if step 90 "$PY" bench/gpu_weights.py "$tmp/w"; then
        for c in $E2E_CASES; do
            n=$(echo "$c" | cut -d: -f1) mode=$(echo "$c" | cut -d: -f2)
            copies=$(echo "$c" | cut -d: -f3) opts=$(echo "$c" | cut -s -d: -f4)
            [ "${E2E_NVDEC:-1}" = 0 ] && [ "$mode" != cpu ] && continue
            e2e "$n" "$mode" "$copies" 120 "$opts" || e2e_fail=1
        done
    else
        echo "gpu_check.sh: could not write the weights ($PY bench/gpu_weights.py: numpy?)" >&2
        e2e_fail=1
    fi
fi
rate() { sed -n 's/.*: \([0-9.]*\) img\/s.*/\1/p' "$1" 2>/dev/null; }
case $golden in 0) echo "golden cuda: PASS" ;; skip) echo "golden cuda: skipped (E2E_ONLY=1)" ;; *) echo "golden cuda: FAIL" ;; esac
[ $e2e_fail = 0 ] || echo "e2e: FAIL (see above)"
if [ -x "$T/frames_dump" ] && [ "${E2E:-1}" != 0 ]; then
    [ $convert_fail = 0 ] && echo "gpu convert: PASS" || echo "gpu convert: FAIL (see above)"
fi
for n in r152:resnet152_224x398 x3d:resnext101_3d; do
    a=$(rate "$tmp/${n%%:*}.ours"); b=$(rate "$tmp/${n%%:*}.torch")
    if [ -n "$a" ] && [ -n "$b" ]; then
        awk -v a="$a" -v b="$b" -v n="${n#*:}" \
            'BEGIN { printf "ratio %s_gpu_vs_torch: %.2fx (target >= 1.0x)\n", n, a / b }'
    else
        echo "ratio ${n#*:}_gpu_vs_torch: n/a"
    fi
done
for f in "$tmp"/e2e.*.busy; do
    [ -f "$f" ] || continue
    c=${f#"$tmp"/e2e.}
    c=${c%.busy}
    echo "ratio e2e_gpu_busy_${c%%.*}_decode_${c#*.}: $(cat "$f") (target >= 80%)"
done
case $golden in 0 | skip) exit $((e2e_fail | convert_fail)) ;; *) exit 1 ;; esac
