#!/bin/sh
# gpu_bundle.sh — prepares, on this (build) machine, what bench/gpu_check.sh needs on a GPU
# machine that cannot install packages, in .gpu/ (ignored by git):
#   .gpu/bin   the CUDA-enabled test programs (check_kernels_golden, kn_bench) and, for the
#              end-to-end step, quern-features (HAVE_CUDA=1, FFmpeg linked in statically:
#              bench/gpu_ffmpeg.sh builds Debian's FFmpeg version, minimal, with NVDEC),
#              quern-store and features_seed (puts a video's clips into a store);
#   .gpu/lib   the shared libraries they need that such a machine lacks (jansson, OpenBLAS
#              and its Fortran runtime, subunit, SQLite, libatomic);
#   .gpu/video e2e.mp4: a generated 720p H.264 test video (E2E_SECONDS, 60 s; ~5 MB).
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
    export PKG_CONFIG_PATH="${QUERN_FFMPEG:-/tmp/quern-ffmpeg}/lib/pkgconfig"
fi
make --no-print-directory -s -j"${JOBS:-2}" HAVE_CUDA=1 B=$G BIN=$G/bin $targets
if [ "$E2E" = 1 ] && ldd $G/bin/quern-features | grep -q -E 'lib(avcodec|avformat|swscale)'; then
    echo "gpu_bundle.sh: $G/bin/quern-features loads a shared FFmpeg: stale objects? (rm -rf $G)" >&2
    exit 1
fi
rm -rf .gpu
mkdir -p .gpu/bin .gpu/lib
cp $targets .gpu/bin/
strip --strip-debug .gpu/bin/* 2>/dev/null || true
# every library the programs load, except the C runtime and CUDA's own
for b in .gpu/bin/*; do ldd "$b"; done | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u |
    grep -v -E '/(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux[^/]*)\.so|/libcud|/libcublas|/libnv' |
    while read -r lib; do cp -L "$lib" .gpu/lib/; done
if [ "$E2E" = 1 ]; then
    mkdir -p .gpu/video
    vid=/tmp/quern-e2e-720p-${E2E_SECONDS}s.mp4 # kept: encoding takes a minute on 2 cores
    if [ ! -s "$vid" ]; then
        ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=$E2E_SECONDS" \
            -c:v libx264 -preset veryfast -crf 38 -pix_fmt yuv420p -movflags +faststart "$vid.tmp.mp4"
        mv "$vid.tmp.mp4" "$vid"
    fi
    cp "$vid" .gpu/video/e2e.mp4
    echo "$E2E_SECONDS" >.gpu/video/e2e.seconds
fi
ls .gpu/bin .gpu/lib
du -sh .gpu
size=$(du -sm .gpu | cut -f1)
if [ "$size" -gt 56 ]; then
    echo "gpu_bundle.sh: .gpu is $size MB: with the working tree it may not fit the 64 MiB carried" >&2
    exit 1
fi
