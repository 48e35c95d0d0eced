#!/bin/sh
# bench/hash.sh — SHA-256 of a weights-sized file (quern-features hashes both weights files
# on every run; quern-clips --sha256 every video): common/qn_sha256 (SHA extensions, and
# its portable blocks) vs libavutil's (quern's before), Python's hashlib (OpenSSL: what a
# PyTorch user's script would call) and coreutils' sha256sum, side by side, best of ROUNDS,
# the file in the page cache. Ratios (peer time / ours) are printed last.
# Env: SIZE_MB (default 256), ROUNDS (3), QUERN_BENCH_DIR (/tmp/quern-bench).
set -eu
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-256}
ROUNDS=${ROUNDS:-3}
DIR=${QUERN_BENCH_DIR:-/tmp/quern-bench}
make -s build/rel/tests/hash_file > /dev/null
mkdir -p "$DIR"
F=$DIR/hash_${SIZE_MB}mb.bin
[ -s "$F" ] || head -c "$((SIZE_MB * 1048576))" /dev/urandom > "$F"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build/rel/tests/hash_file "$F" "$ROUNDS" | tee "$tmp/ours"
python3 - "$F" "$ROUNDS" <<'PY' | tee "$tmp/py"
import hashlib, sys, time
data = open(sys.argv[1], "rb").read()
best = min((lambda t: (hashlib.sha256(data).hexdigest(), time.perf_counter() - t)[1])(
    time.perf_counter()) for _ in range(int(sys.argv[2])))
print("hashlib %.4f %.0f %s" % (best, len(data) / best / 1e6, hashlib.sha256(data).hexdigest()))
PY
best=""
i=0
while [ $i -lt "$ROUNDS" ]; do
    i=$((i + 1))
    t0=$(date +%s.%N)
    sum=$(sha256sum "$F" | cut -d' ' -f1)
    t1=$(date +%s.%N)
    best=$(awk -v a="$t0" -v b="$t1" -v c="$best" 'BEGIN { t = b - a; print (c == "" || t < c) ? t : c }')
done
echo "sha256sum $best $(awk -v t="$best" -v m="$SIZE_MB" 'BEGIN { printf "%.0f", m * 1.048576 / t }') $sum" | tee "$tmp/sum"
# every digest must agree
[ "$(cat "$tmp/ours" "$tmp/py" "$tmp/sum" | awk '{print $4}' | sort -u | wc -l)" = 1 ] ||
    { echo "hash.sh: digests differ" >&2; exit 1; }
cat "$tmp/ours" "$tmp/py" "$tmp/sum" | awk '
    { t[$1] = $2 }
    END {
        printf "ratio hash_libavutil_over_qn_sha256: %.2f\n", t["libavutil"] / t["qn_sha256"]
        printf "ratio hash_hashlib_over_qn_sha256: %.2f\n", t["hashlib"] / t["qn_sha256"]
        printf "ratio hash_sha256sum_over_qn_sha256: %.2f\n", t["sha256sum"] / t["qn_sha256"]
        printf "ratio hash_libavutil_over_qn_sha256_portable: %.2f\n", t["libavutil"] / t["qn_sha256_portable"]
    }'
