#!/bin/sh
# bench/store.sh — the store's speed, side by side with what a user would otherwise run.
#
# 1. C side (helper D's store_bench via bench/store_ingest.sh): clip rows/s (target 100,000),
#    f16 feature rows appended with fdatasync vs dd writing the same bytes, pooled clips/s of
#    the C reader with 2 threads.
# 2. Training reads (bench/store_read.py): a synthetic store of 2,000 videos (tests/store_synth:
#    2048-d f16 2D rows at 1/s and 3D rows at 1.5/s, HowTo100M-like captions every ~3 s) served
#    by quern_store.ClipDataset in random batches of 32 videos x 64 clips (4096-d, captions
#    merged to >= 5 s, pooled windows), vs the HowTo100M layout of the same data (one .npy per
#    video per modality) read by youtube_dataloader.py's own code: torch (np.load,
#    th.from_numpy, th.max and F.normalize per clip, th.cat, default collate) when the
#    interpreter has torch, else a numpy port of it; the output names the one that ran. Both
#    run in the same interpreter: $PYTHON if set, else python3 if it imports torch, else
#    /usr/bin/python3 if that one does (Debian's python3-torch), else python3 with the numpy
#    port. STORE_BENCH_PEER=both times the numpy port too. Each peer is checked to return
#    the same batch as quern before it is timed.
# Ratios come last, one per line. Takes about 2 minutes (most of it writing the two copies of
# the data); everything lives in a temp directory removed at the end.
# Knobs (environment): STORE_BENCH_VIDEOS (2000), STORE_BENCH_MIN_DUR / _MAX_DUR (30 / 120 s
# per video), STORE_BENCH_BATCHES (30 quern batches), STORE_BENCH_PEER_BATCHES (6),
# STORE_BENCH_PEER (auto | torch | numpy | both).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${QUERN_TEST_TOOLS:-$ROOT/build/rel/tests}
has_torch() { "$1" -c 'import torch, numpy' >/dev/null 2>&1; }
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif has_torch python3; then PY=python3
elif [ -x /usr/bin/python3 ] && has_torch /usr/bin/python3; then PY=/usr/bin/python3
else PY=python3
fi
VIDEOS=${STORE_BENCH_VIDEOS:-2000}
MIN_DUR=${STORE_BENCH_MIN_DUR:-30}
MAX_DUR=${STORE_BENCH_MAX_DUR:-120}
for t in store_synth store_bench; do
    [ -x "$TOOLS/$t" ] || make -C "$ROOT" -s "build/rel/tests/$t"
done
T=$(mktemp -d "${TMPDIR:-/tmp}/qn_store_read.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

echo "== C store: ingest and pooling (bench/store_ingest.sh)"
QUERN_TEST_TOOLS=$TOOLS sh "$ROOT/bench/store_ingest.sh" | tee "$T/c.out" | grep -v '^ratio'

echo "== training reads: quern ClipDataset vs HowTo100M per-video .npy ($VIDEOS videos)"
start=$(date +%s)
"$TOOLS/store_synth" create "$T/store" --videos "$VIDEOS" --seed 7 --min-dur "$MIN_DUR" \
    --max-dur "$MAX_DUR"
echo "store written in $(( $(date +%s) - start )) s"
"$PY" "$ROOT/bench/store_read.py" "$T/store" "$T/work" \
    --batches "${STORE_BENCH_BATCHES:-30}" --peer-batches "${STORE_BENCH_PEER_BATCHES:-6}" \
    --peer "${STORE_BENCH_PEER:-auto}" \
    | tee "$T/py.out" | grep -v '^ratio'

grep -h '^ratio' "$T/c.out" "$T/py.out" # store_ingest.sh's ratios, then the training reads
