# kernels/features: quern-features — decode (extract/frames) + CNN engine (kernels) + store.
PROGRAMS += quern-features
quern-features_SRCS := kernels/features_main.c
quern-features_LIBS := frames kernels store
