#!/bin/sh
# bench/converters.sh — the COCO converters against their peers, side by side, ratios last.
#   bench/parts/cityscapes.sh  quern-cityscapes2coco vs MMDetection 3.3 cityscapes.py (and
#                              vs the bare PNG-decode floor)
#   bench/parts/via.sh         quern-via2coco vs MMDetection's balloon converter (run when
#                              present)
#   bench/parts/mask.sh        qn_rle_from_labels vs per-instance compare+encode (the way
#                              MMDetection's converter masks each instance), both in C
# Each part's full output is shown; then every "ratio " line again, one per line.
# Needs the peers: pipelines/deps.sh --bench. Env: see each part.
set -eu
cd "$(dirname "$0")/.."
exec sh bench/run_parts.sh converters.sh bench/parts/cityscapes.sh bench/parts/via.sh \
    bench/parts/mask.sh
