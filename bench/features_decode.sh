#!/bin/sh
# bench/features_decode.sh — one decode pass for both CNN inputs vs HowTo100M's two ffmpeg runs.
#
# Workload (PEERS.md): a generated 10-minute 1280x720 30 fps H.264 High video
# (libx264 -preset fast -crf 23 -g 300, 2 B-frames) with an AAC track, made once.
# Peer: the two ffmpeg CLI runs antoine77340/video_feature_extractor makes per
# video (video_loader.py through ffmpeg-python), raw rgb24 to stdout (/dev/null
# here, cheaper than the Python pipe it really feeds):
#   2D: ffmpeg -threads J -i V -vf fps=1,scale=398:224 -pix_fmt rgb24 -f rawvideo -
#   3D: ffmpeg -threads J -i V -vf fps=24,scale=199:112,crop=112:112:43:0 -pix_fmt rgb24 -f rawvideo -
# quern: tests/frames_dump -j J V - -  (extract/frames: one demux+decode pass
# producing the same 2D frames and 3D chunks, bit-identical on CPU decode), and the
# same with --convert cpu (kn_convert_cpu, quern-features --convert fast; recorded).
# Same decoder thread count J on both sides. Runs are interleaved (ffmpeg 2D,
# ffmpeg 3D, quern) to spread the machine's drift; 1 warm-up round + RUNS counted
# rounds, medians of wall time; cpu = user+sys. The ratio is printed last:
#   ratio decode_one_pass_vs_two_ffmpeg: <N>x (target >= 1.5x)
# Env: QUERN_BENCH_THREADS (J, default 2), QUERN_BENCH_RUNS (default 3),
#      QUERN_BENCH_DIR (default /tmp/quern-bench), QUERN_BENCH_VIDEO (use this video instead).
set -eu
cd "$(dirname "$0")/.."
J=${QUERN_BENCH_THREADS:-2}
RUNS=${QUERN_BENCH_RUNS:-3}
DIR=${QUERN_BENCH_DIR:-/tmp/quern-bench}
V=${QUERN_BENCH_VIDEO:-$DIR/video_720p30_10min.mp4}
TOOL=build/rel/tests/frames_dump

command -v ffmpeg > /dev/null || { echo "features_decode.sh: ffmpeg CLI not installed" >&2; exit 1; }
make -s "$TOOL" > /dev/null || { echo "features_decode.sh: cannot build $TOOL" >&2; exit 1; }
mkdir -p "$DIR"
if [ ! -f "$V" ]; then
    echo "features_decode.sh: generating $V (once, a few minutes)" >&2
    ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30:duration=600 \
        -f lavfi -i sine=frequency=440:sample_rate=48000:duration=600 \
        -c:v libx264 -preset fast -crf 23 -g 300 -bf 2 -pix_fmt yuv420p -c:a aac -shortest \
        "$V.tmp.mp4"
    mv "$V.tmp.mp4" "$V"
fi
cat "$V" > /dev/null # page cache

# Sizes exactly as video_loader.py computes them from ffprobe's width and height.
set -- $(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 "$V" | tr ',' ' ')
W=$1 H=$2
set -- $(awk -v w="$W" -v h="$H" 'function d(s) { if (h >= w) { a = s; b = int(h * s / w) }
        else { a = int(w * s / h); b = s } return a " " b }
        BEGIN { split(d(224), p); split(d(112), q);
                print p[1], p[2], q[1], q[2], int((q[1] - 112) / 2), int((q[2] - 112) / 2) }')
W2=$1 H2=$2 W3=$3 H3=$4 X3=$5 Y3=$6

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM

# run NAME CMD...: appends "wall cpu" of one whole-process run to $T/NAME
run() {
    name=$1
    shift
    /usr/bin/time -f "%e %U %S" -o "$T/time" "$@" > "$T/$name.out" 2> "$T/err" ||
        { echo "features_decode.sh: failed: $*" >&2; cat "$T/err" >&2; exit 1; }
    awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$T/time" >> "$T/$name"
}
round() {
    run ff2d sh -c 'ffmpeg -nostdin -v error -threads "$1" -i "$2" -vf "$3" -pix_fmt rgb24 \
        -f rawvideo - > /dev/null' sh "$J" "$V" "fps=1,scale=$W2:$H2"
    run ff3d sh -c 'ffmpeg -nostdin -v error -threads "$1" -i "$2" -vf "$3" -pix_fmt rgb24 \
        -f rawvideo - > /dev/null' sh "$J" "$V" "fps=24,scale=$W3:$H3,crop=112:112:$X3:$Y3"
    run ours "$TOOL" -j "$J" "$V" - -
    run fast "$TOOL" -j "$J" --convert cpu "$V" - -
}
round
rm -f "$T/ff2d" "$T/ff3d" "$T/ours" "$T/fast"
i=0
while [ $i -lt "$RUNS" ]; do
    round
    i=$((i + 1))
done

# median of column $2 of file $1
med() { awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
f2=$(med "$T/ff2d" 1) f3=$(med "$T/ff3d" 1) q=$(med "$T/ours" 1)
c2=$(med "$T/ff2d" 2) c3=$(med "$T/ff3d" 2) cq=$(med "$T/ours" 2)
qf=$(med "$T/fast" 1) cf=$(med "$T/fast" 2)
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$V")
echo "video: $V (${W}x${H}, ${dur} s); decoder threads $J; median of $RUNS after 1 warm-up"
echo "quern frames: $(tr '\n' ';' < "$T/ours.out")"
awk -v f2="$f2" -v f3="$f3" -v q="$q" -v c2="$c2" -v c3="$c3" -v cq="$cq" -v d="$dur" \
    -v qf="$qf" -v cf="$cf" 'BEGIN {
    printf "%-44s %8s %8s %10s\n", "run", "wall s", "cpu s", "x realtime"
    printf "%-44s %8.2f %8.2f %10.1f\n", "ffmpeg fps=1 scale 2D (HowTo100M run 1)", f2, c2, d / f2
    printf "%-44s %8.2f %8.2f %10.1f\n", "ffmpeg fps=24 scale+crop 3D (run 2)", f3, c3, d / f3
    printf "%-44s %8.2f %8.2f %10.1f\n", "ffmpeg both runs", f2 + f3, c2 + c3, d / (f2 + f3)
    printf "%-44s %8.2f %8.2f %10.1f\n", "quern one pass, 2D + 3D", q, cq, d / q
    printf "%-44s %8.2f %8.2f %10.1f\n", "quern one pass, --convert fast", qf, cf, d / qf
    printf "cpu-time one_pass_vs_two_ffmpeg: %.2fx\n", (c2 + c3) / cq
    printf "cpu-time one_pass_fast_vs_two_ffmpeg: %.2fx (quern-features --convert fast)\n", (c2 + c3) / cf
    printf "ratio decode_one_pass_vs_two_ffmpeg: %.2fx (target >= 1.5x)\n", (f2 + f3) / q
}'
