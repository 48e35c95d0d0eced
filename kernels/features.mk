# kernels/features: quern-features — decode (extract/frames) + CNN engine (kernels) + store.
PROGRAMS += quern-features
quern-features_SRCS := kernels/features_main.c
quern-features_LIBS := frames avlog kernels store

# Stands in for quern-clips in tests/test_features_e2e.py: a video + clips via the store API.
TEST_TOOLS += features_seed
features_seed_SRCS := tests/features_seed.c
features_seed_LIBS := store
