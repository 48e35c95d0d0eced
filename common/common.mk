# common/: the small library every stage links (errors, atomic output, progress).
LIBS += common
common_SRCS := common/qn_error.c common/qn_atomic.c common/qn_progress.c common/qn_half.c \
               common/qn_sha256.c
common_PKGS :=
