# tests/: unit tests of common/ (each component's fragment adds its own CHECKS).
CHECKS += check_common
check_common_SRCS := tests/check_common.c
check_common_LIBS :=
