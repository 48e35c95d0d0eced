#!/bin/sh
# gpu_ffmpeg.sh — builds, on this (build) machine, a minimal static FFmpeg of the same
# version as Debian's libavcodec-dev (same sources + Debian patches, so decoded and scaled
# frames are bit-identical to the normal build's) for bench/gpu_bundle.sh: a GPU machine
# has no FFmpeg libraries and cannot install any, and Debian's shared ones with their
# dependency chain (~199 MB) do not fit the 64 MiB a device call carries.
# Only what quern-features / quern-clips use: demuxers mov (mp4), matroska (mkv, webm),
# avi and the text subtitle formats; decoders h264, hevc, vp9, vp8, mpeg4 (+ av1, which
# FFmpeg 5.1 decodes only through a hwaccel) and the text subtitle decoders; their parsers;
# the file protocol; swscale; pthreads; NVDEC (cuda hwaccel: libcuda/libnvcuvid are opened
# at run time) when the nv-codec headers are installed (Debian: libffmpeg-nvenc-dev).
# x86 assembly is on (needs nasm) because Debian's build has it: swscale's SIMD paths
# must be the same ones.
# Needs: a deb-src line for the Debian mirror (apt-get source), dpkg-dev, nasm, pkg-config.
# Env: QUERN_FFMPEG (install prefix, /tmp/quern-ffmpeg), QUERN_FFMPEG_SRC (/tmp/quern-ffmpeg-src),
# JOBS (make -j, 2). Idempotent: does nothing when the prefix already holds this build.
set -eu
PREFIX=${QUERN_FFMPEG:-/tmp/quern-ffmpeg}
SRC=${QUERN_FFMPEG_SRC:-/tmp/quern-ffmpeg-src}
JOBS=${JOBS:-2}
die() {
    echo "gpu_ffmpeg.sh: $*" >&2
    exit 1
}
deb=$(dpkg-query -W -f '${source:Version}' libavcodec-dev 2>/dev/null) ||
    die "libavcodec-dev is not installed: its version is the one to build"
ver=${deb#*:}
ver=${ver%%-*} # 7:5.1.9-0+deb12u1 -> 5.1.9
nvdec=0
pkg-config --exists ffnvcodec 2>/dev/null && nvdec=1

DEMUXERS=mov,matroska,avi,srt,webvtt,ass
DECODERS=h264,hevc,vp9,vp8,mpeg4,av1,movtext,subrip,srt,ass,ssa,webvtt,text
PARSERS=h264,hevc,vp9,vp8,mpeg4video,av1
HWACCELS=h264_nvdec,hevc_nvdec,vp9_nvdec,vp8_nvdec,mpeg4_nvdec,av1_nvdec
set -- --prefix="$PREFIX" --disable-everything --disable-programs --disable-doc \
    --enable-static --disable-shared --disable-autodetect --enable-pic --enable-gpl \
    --enable-pthreads --disable-network --disable-avdevice --disable-avfilter \
    --disable-swresample --disable-postproc \
    --enable-avformat --enable-avcodec --enable-swscale --enable-protocol=file \
    --enable-demuxer=$DEMUXERS --enable-decoder=$DECODERS --enable-parser=$PARSERS
[ $nvdec = 1 ] && set -- "$@" --enable-ffnvcodec --enable-cuda --enable-nvdec \
    --enable-hwaccel=$HWACCELS
stamp="$ver $deb $*"
if [ -f "$PREFIX/.quern-stamp" ] && [ "$(cat "$PREFIX/.quern-stamp")" = "$stamp" ] &&
    [ -f "$PREFIX/lib/libavcodec.a" ]; then
    echo "gpu_ffmpeg.sh: FFmpeg $deb already in $PREFIX"
    exit 0
fi
command -v nasm >/dev/null 2>&1 || die "nasm not found (apt-get install nasm): Debian's FFmpeg has its x86 assembly"
command -v dpkg-source >/dev/null 2>&1 || die "dpkg-source not found (apt-get install dpkg-dev)"
[ $nvdec = 1 ] || echo "gpu_ffmpeg.sh: no nv-codec headers (libffmpeg-nvenc-dev): NVDEC left out" >&2

dir="$SRC/ffmpeg-$ver"
if [ ! -x "$dir/configure" ]; then
    mkdir -p "$SRC"
    (cd "$SRC" && apt-get source "ffmpeg=$deb") || die "apt-get source ffmpeg=$deb failed: add a deb-src line
for the Debian mirror, e.g. /etc/apt/sources.list.d/deb-src.sources with
  Types: deb-src / URIs: http://deb.debian.org/debian / Suites: bookworm bookworm-updates /
  Components: main (and the same for debian-security, bookworm-security), then apt-get update"
fi
[ -x "$dir/configure" ] || die "no $dir/configure after apt-get source"
t0=$(date +%s)
cd "$dir"
if [ -f ffbuild/config.mak ]; then make -s distclean >/dev/null 2>&1 || true; fi
./configure "$@" >"$SRC/configure.log" 2>&1 || {
    tail -20 "$SRC/configure.log" >&2
    die "configure failed (log: $SRC/configure.log)"
}
make -s -j"$JOBS" >"$SRC/make.log" 2>&1 || {
    tail -30 "$SRC/make.log" >&2
    die "make failed (log: $SRC/make.log)"
}
rm -rf "$PREFIX"
make -s install >>"$SRC/make.log" 2>&1 || die "make install failed (log: $SRC/make.log)"
printf '%s\n' "$stamp" >"$PREFIX/.quern-stamp"
echo "gpu_ffmpeg.sh: FFmpeg $deb (NVDEC: $nvdec) in $PREFIX, built in $(($(date +%s) - t0)) s"
