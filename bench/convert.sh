#!/bin/sh
# bench/convert.sh — frame conversion: libswscale (quern's CPU path, as the FFmpeg CLI)
# vs kn_convert_cpu (quern-features --convert fast, the default with the cuda backend),
# side by side:
#  1. per frame (build/rel/tests/convert_frames): 640x360 and 1280x720 frames to the
#     3D input (199x112, crop 112x112) and the 2D input (398x224), one thread each;
#  2. decoding throughput when the CPU is the limit, as on a GPU machine where every
#     core decodes a video of its own: NPROC x 2 frames_dump -j 1 at once on a
#     generated 60 s 640x360 H.264 video at HowTo100M's bitrate (350 kbit/s), both
#     streams produced; wall time for the lot, best of RUNS.
# Ratios (swscale time / ours) are printed last. Env: RUNS (default 2), ITERS (frames
# per timing round in step 1, default 200), QUERN_BENCH_DIR (default /tmp/quern-bench).
set -eu
cd "$(dirname "$0")/.."
RUNS=${RUNS:-2}
ITERS=${ITERS:-200}
DIR=${QUERN_BENCH_DIR:-/tmp/quern-bench}
command -v ffmpeg > /dev/null || { echo "convert.sh: ffmpeg CLI not installed" >&2; exit 1; }
make -s build/rel/tests/convert_frames build/rel/tests/frames_dump > /dev/null
mkdir -p "$DIR"
V=$DIR/video_360p_60s.mp4
if [ ! -f "$V" ]; then
    ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=640x360:rate=30:duration=60 \
        -c:v libx264 -preset fast -b:v 350k -g 300 -bf 2 -pix_fmt yuv420p "$V.tmp.mp4"
    mv "$V.tmp.mp4" "$V"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

build/rel/tests/convert_frames "$ITERS" | tee "$tmp/frames"

n=$(($(nproc) * 2))
# wall seconds for n frames_dump -j 1 at once with extra options $*
wall() {
    best=
    for _ in $(seq "$RUNS"); do
        s=$(date +%s.%N)
        for _ in $(seq "$n"); do
            build/rel/tests/frames_dump -j 1 "$@" "$V" - - > /dev/null &
        done
        wait
        e=$(date +%s.%N)
        best=$(echo "$s $e $best" | awk '{t = $2 - $1; if ($3 != "" && $3 < t) t = $3; print t}')
    done
    echo "$best"
}
sws=$(wall)
fast=$(wall --convert cpu)
echo "$n x 60 s of 360p decoded at once: libswscale $sws s, kn_convert_cpu $fast s"

grep '^ratio' "$tmp/frames"
awk -v a="$sws" -v b="$fast" \
    'BEGIN { printf "ratio decode_360p_cpu_bound: %.2fx\n", a / b }'
