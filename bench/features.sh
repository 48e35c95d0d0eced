#!/bin/sh
# bench/features.sh — quern-features speed, side by side with the peers, ratios last.
#   bench/features_decode.sh  one decode pass (2D + 3D inputs) vs HowTo100M's two ffmpeg runs
#   bench/features_cnn.sh     the engine vs PyTorch on the CPU (helper G's; run when present)
#   bench/convert.sh          frame conversion: kn_convert_cpu vs libswscale
#   bench/hash.sh             the weights' SHA-256: qn_sha256 vs libavutil, hashlib, sha256sum
# Each part's full output is shown; then every "ratio " line, one per line.
set -eu
cd "$(dirname "$0")/.."
exec sh bench/run_parts.sh features.sh bench/features_decode.sh bench/features_cnn.sh \
    bench/convert.sh bench/hash.sh
