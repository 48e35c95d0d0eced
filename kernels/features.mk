# kernels/features: quern-features — decode (extract/frames) + CNN engine (kernels) + store.
# the hook that hands NVDEC frames from extract/frames to kn_convert (GPU conversion)
LIBS += frconvert
frconvert_SRCS := kernels/frames_convert.c
frconvert_PKGS := libavutil

PROGRAMS += quern-features
quern-features_SRCS := kernels/features_main.c kernels/features_queue.c kernels/features_write.c
quern-features_LIBS := frconvert frames avlog kernels store

# Stands in for quern-clips in tests/test_features_e2e.py: a video + clips via the store API.
TEST_TOOLS += features_seed
features_seed_SRCS := tests/features_seed.c
features_seed_LIBS := store

# bench/convert.sh: libswscale vs kn_convert_cpu per frame
TEST_TOOLS += convert_frames
convert_frames_SRCS := bench/convert_frames.c
convert_frames_LIBS := frames avlog kernels
convert_frames_PKGS := libavutil
