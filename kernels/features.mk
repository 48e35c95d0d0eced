# kernels/features: quern-features — decode (extract/frames) + CNN engine (kernels) + store.
# the hook that hands NVDEC frames from extract/frames to kn_convert (GPU conversion)
LIBS += frconvert
frconvert_SRCS := kernels/frames_convert.c
frconvert_PKGS := libavutil

# the queue of decoded batches between the decoder threads and the engine
LIBS += featqueue
featqueue_SRCS := kernels/features_queue.c

PROGRAMS += quern-features
quern-features_SRCS := kernels/features_main.c kernels/features_write.c
quern-features_LIBS := featqueue frconvert frames avlog kernels store

CHECKS += check_features_queue
check_features_queue_SRCS := tests/check_features_queue.c
check_features_queue_LIBS := featqueue kernels

# Stands in for quern-clips in tests/test_features_e2e.py: a video + clips via the store API.
TEST_TOOLS += features_seed
features_seed_SRCS := tests/features_seed.c
features_seed_LIBS := store

# bench/convert.sh: libswscale vs kn_convert_cpu per frame
TEST_TOOLS += convert_frames
convert_frames_SRCS := bench/convert_frames.c
convert_frames_LIBS := frames avlog kernels
convert_frames_PKGS := libavutil

# bench/hash.sh: qn_sha256 (SHA extensions, portable) vs libavutil's SHA-256
TEST_TOOLS += hash_file
hash_file_SRCS := bench/hash_file.c
hash_file_PKGS := libavutil
