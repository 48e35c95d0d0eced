#!/bin/sh
# Install what quern needs to build, test and benchmark, only when it is missing.
# Debian packages via apt-get (sudo when not root); Python packages used only by
# tests and benchmarks via pip into the python3 on PATH.
# Usage: pipelines/deps.sh [--bench]
set -eu

DEBS="build-essential pkg-config libjansson-dev libturbojpeg0-dev libspng-dev libpng-dev
libdeflate-dev zlib1g-dev libsqlite3-dev sqlite3 libavformat-dev libavcodec-dev libavutil-dev
libswscale-dev check ffmpeg libopenblas-dev python3 python3-venv python3-pip time"
PIPS="numpy pycocotools pytest pillow"
# Debian packages only the benchmarks need (torch for the CNN peer, /usr/bin/python3).
BENCH_DEBS="python3-torch hyperfine time nasm dpkg-dev libffmpeg-nvenc-dev"
BENCH_PIPS="opencv-python-headless cityscapesscripts mmengine mmcv-lite webvtt-py"

want_debs="$DEBS"
[ "${1:-}" = "--bench" ] && want_debs="$DEBS $BENCH_DEBS"
missing=""
for p in $want_debs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "deps: installing Debian packages:$missing"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Python: the python3 on PATH when its pip may install (pyenv, a venv); otherwise
# (Debian's externally managed python3) a project venv at .venv, which the Makefile
# then prefers.
PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null 2>&1; then
    PY=/usr/bin/python3
fi
if [ -x .venv/bin/python3 ]; then
    PY=.venv/bin/python3
elif ! "$PY" -m pip --version >/dev/null 2>&1 ||
     [ -e "$("$PY" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED" ]; then
    echo "deps: creating .venv (the python3 on PATH cannot pip install)"
    "$PY" -m venv --system-site-packages .venv
    PY=.venv/bin/python3
fi
want="$PIPS"
[ "${1:-}" = "--bench" ] && want="$want $BENCH_PIPS"
pmissing=""
for p in $want; do
    mod=$(echo "$p" | sed 's/-headless//; s/opencv-python/cv2/; s/mmcv-lite/mmcv/; s/webvtt-py/webvtt/; s/^pillow$/PIL/')
    $PY -c "import $mod" >/dev/null 2>&1 || pmissing="$pmissing $p"
done
if [ -n "$pmissing" ]; then
    echo "deps: installing Python packages:$pmissing"
    $PY -m pip install -q $pmissing
fi
exit 0
