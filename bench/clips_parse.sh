#!/bin/sh
# bench/clips_parse.sh — sidecar caption parsing+cleaning speed vs webvtt-py, and caption.json
# streaming memory at HowTo100M scale.
#
# Workload: ~100 MB of generated YouTube automatic-caption WebVTT files (bench/clips_parse.py:
# rolling two-line cues with <c> word timings + 10 ms hold cues, 500 KB each), made once.
# quern: build/rel/tests/cap_bench — cap_parse (UTF-8 check, WebVTT parse, rolling-caption
# merge, cleaning) + cap_track_finish per file, files read into memory first; best of RUNS.
# Peer: bench/peers/vtt_webvtt_py.py — webvtt-py parse + video2dataset's YouTube dedupe
# (sub_to_dict(dedupe=True)) on the same files in memory; one run (it is slow).
# Then a HowTo100M-sized caption.json (1.2 M videos x 110 captions, ~5.7 GB) is generated
# into a pipe and streamed by cap_json_stream_fd: time and peak RSS (target < 1 GB).
# The ratio is printed last:
#   ratio vtt_parse_vs_webvtt_py: <N>x (target >= 20x)
# Env: QUERN_BENCH_DIR (default /tmp/quern-bench), QUERN_BENCH_VTT_MB (default 100),
#      QUERN_BENCH_RUNS (default 3), QUERN_BENCH_JSON_VIDEOS (default 1200000; 0 skips).
set -eu
cd "$(dirname "$0")/.."
DIR=${QUERN_BENCH_DIR:-/tmp/quern-bench}/vtt
MB=${QUERN_BENCH_VTT_MB:-100}
RUNS=${QUERN_BENCH_RUNS:-3}
JV=${QUERN_BENCH_JSON_VIDEOS:-1200000}
PY=${PYTHON:-python3}
TOOL=build/rel/tests/cap_bench

make -s "$TOOL" > /dev/null || { echo "clips_parse.sh: cannot build $TOOL" >&2; exit 1; }
$PY -c "import webvtt" 2>/dev/null || { echo "clips_parse.sh: webvtt-py missing (pipelines/deps.sh --bench)" >&2; exit 1; }
if [ ! -f "$DIR/.done_$MB" ]; then
    rm -rf "$DIR" && mkdir -p "$DIR"
    $PY bench/clips_parse.py "$DIR" "$MB" && touch "$DIR/.done_$MB"
fi

best=""
i=0
while [ $i -lt "$RUNS" ]; do
    line=$($TOOL "$DIR"/*.vtt)
    echo "quern cap_bench: $line"
    r=$(echo "$line" | awk '{print $NF}')
    best=$(echo "$best $r" | awk '{m=$1; for(i=2;i<=NF;i++) if($i>m) m=$i; print m}')
    i=$((i + 1))
done
line=$($TOOL --filter "$DIR"/*.vtt)
echo "quern cap_bench + stop words: $line"
peer=$($PY bench/peers/vtt_webvtt_py.py "$DIR"/*.vtt)
echo "webvtt-py + video2dataset dedupe: $peer"
pr=$(echo "$peer" | awk '{print $NF}')

if [ "$JV" -gt 0 ]; then
    echo "caption.json: $JV videos x 110 captions through a pipe"
    j=$($TOOL --gen-json "$JV" 110 | $TOOL --json -)
    echo "quern caption.json stream: $j"
fi
echo "vtt parse+clean MB/s: quern $best, webvtt-py $pr"
echo "ratio vtt_parse_vs_webvtt_py: $(echo "$best $pr" | awk '{printf "%.1f", $1 / $2}')x (target >= 20x)"
