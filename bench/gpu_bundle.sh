#!/bin/sh
# gpu_bundle.sh — prepares, on this (build) machine, what bench/gpu_check.sh needs on a GPU
# machine that cannot install packages, packed into .gpu/bundle.tar.xz (ignored by git;
# gpu_check.sh unpacks it into .gpu/ there):
#   .gpu/bin   the CUDA-enabled test programs (check_kernels_golden, kn_bench) and, for the
#              end-to-end step, quern-features (HAVE_CUDA=1, FFmpeg linked in statically:
#              bench/gpu_ffmpeg.sh builds Debian's FFmpeg version, minimal, with NVDEC),
#              quern-store, features_seed (puts a video's clips into a store) and
#              frames_dump (decoding alone, CPU or NVDEC);
#   .gpu/lib   the shared libraries they need that such a machine lacks (jansson, OpenBLAS
#              and its Fortran runtime, subunit, SQLite, libatomic);
#   .gpu/video 360p.mp4 and 720p.mp4: generated H.264 test videos (E2E_SECONDS, 60 s each;
#              the 360p one at HowTo100M's bitrate, ~3 MB; the 720p one ~5 MB).
# The CUDA libraries (cudart, cuBLAS, cuDNN) are not copied: the GPU machine has its own
# (toolkit or PyTorch's nvidia wheels), and gpu_check.sh finds them. Weights are not carried
# either (230 MB): gpu_check.sh writes seeded ones there (bench/gpu_weights.py). Carry it:
#   run(command="NO_BUILD=1 sh bench/gpu_check.sh", carry=[".gpu"], timeout_s=600)
# Everything is built in build/gpu (make B=build/gpu BIN=build/gpu/bin), apart from the
# normal build. Needs nvcc (HAVE_CUDA=1 build); for the end-to-end part also what
# bench/gpu_ffmpeg.sh needs, and the ffmpeg CLI with libx264 for the video (E2E=0: leave the
# end-to-end part out). Prints the bundle's size (the device tool carries 64 MiB in all).
set -eu
cd "$(dirname "$0")/.."
E2E=${E2E:-1}
E2E_SECONDS=${E2E_SECONDS:-60}
command -v "${NVCC:-nvcc}" >/dev/null 2>&1 || {
    echo "gpu_bundle.sh: nvcc not found: the bundle needs the CUDA build" >&2
    exit 1
}
G=build/gpu
targets="$G/tests/check_kernels_golden $G/tests/kn_bench"
if [ "$E2E" = 1 ]; then
    sh bench/gpu_ffmpeg.sh
    targets="$targets $G/bin/quern-features $G/bin/quern-store $G/tests/features_seed"
    targets="$targets $G/tests/frames_dump" # decode-only throughput (gpu_check.sh step 4)
    export PKG_CONFIG_PATH="${QUERN_FFMPEG:-/tmp/quern-ffmpeg}/lib/pkgconfig"
fi
make --no-print-directory -s -j"${JOBS:-2}" HAVE_CUDA=1 B=$G BIN=$G/bin $targets
# everything links the static FFmpeg (a binary built before, without it, would drag the
# system's libav* and their X11/VA-API dependencies into the bundle)
for b in $targets; do
    if [ "$E2E" = 1 ] && ldd "$b" | grep -q -E 'lib(avcodec|avformat|avutil|swscale)'; then
        echo "gpu_bundle.sh: $b loads a shared FFmpeg: stale build? (rm -rf $G)" >&2
        exit 1
    fi
done
S=$G/bundle # staged here, then packed into .gpu/bundle.tar.xz
rm -rf $S
mkdir -p $S/bin $S/lib
cp $targets $S/bin/
strip --strip-debug $S/bin/* 2>/dev/null || true
# every library the programs load, except the C runtime and CUDA's own
for b in $S/bin/*; do ldd "$b"; done | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u |
    grep -v -E '/(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux[^/]*)\.so|/libcud|/libcublas|/libnv' |
    while read -r lib; do cp -L "$lib" $S/lib/; done
# video NAME SIZE X264-RATE-OPTIONS: .gpu/video/NAME.mp4, E2E_SECONDS of testsrc2 at 30 fps
video() {
    vid=/tmp/quern-e2e-$1-${E2E_SECONDS}s.mp4 # kept: encoding takes a minute on 2 cores
    if [ ! -s "$vid" ]; then
        # shellcheck disable=SC2086 # $3: several options
        ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=$2:rate=30:duration=$E2E_SECONDS" \
            -c:v libx264 -preset veryfast $3 -pix_fmt yuv420p -movflags +faststart "$vid.tmp.mp4"
        mv "$vid.tmp.mp4" "$vid"
    fi
    cp "$vid" "$S/video/$1.mp4"
    echo "$E2E_SECONDS" >"$S/video/$1.seconds"
}
if [ "$E2E" = 1 ]; then
    mkdir -p $S/video
    # HowTo100M's files: about 200 kbit/s in all, 240p-360p (../shared/docs/HOWTO100M.md)
    video 360p 640x360 "-b:v 350k -maxrate 400k -bufsize 800k"
    video 720p 1280x720 "-crf 38"
fi
ls $S/bin $S/lib
du -sh $S
# packed: OpenBLAS alone is 35 MB, the whole 63 MB; xz makes it about 16 (gpu_check.sh unpacks)
rm -rf .gpu
mkdir .gpu
git rev-parse HEAD >$S/COMMIT 2>/dev/null || echo unknown >$S/COMMIT
git diff --quiet HEAD 2>/dev/null || echo "gpu_bundle.sh: note: uncommitted changes are in the bundle" >&2
tar -cf - -C $S . | xz -T"${JOBS:-2}" -6 >.gpu/bundle.tar.xz
du -sh .gpu/bundle.tar.xz
size=$(du -sm .gpu | cut -f1)
if [ "$size" -gt 56 ]; then
    echo "gpu_bundle.sh: .gpu is $size MB: with the working tree it may not fit the 64 MiB carried" >&2
    exit 1
fi
