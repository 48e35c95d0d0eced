#!/bin/sh
# bench/run_parts.sh NAME PART... — runs benchmark parts in turn, showing each one's whole
# output, then prints every "ratio " line again at the end, one per line. A part that is
# absent is skipped with a line saying so; a part that fails makes the exit status 1.
set -eu
name=$1
shift
T=$(mktemp)
trap 'rm -f "$T" "$T.rc"' EXIT INT TERM
status=0
for part in "$@"; do
    [ -f "$part" ] || { echo "$name: $part absent, skipped"; continue; }
    echo "== $part"
    # (in `a; echo $?` set -e would leave before the echo and keep the last part's status)
    { sh "$part" 2>&1 && echo 0 > "$T.rc" || echo $? > "$T.rc"; } | tee -a "$T"
    if [ "$(cat "$T.rc")" != 0 ]; then
        echo "$name: $part failed" >&2
        status=1
    fi
done
echo "== ratios"
grep '^ratio ' "$T" || true
exit $status
