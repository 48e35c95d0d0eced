/* kn_cpu_gconv.h — direct grouped convolution for the CPU backend (kn_cpu.c). */
#ifndef KN_CPU_GCONV_H
#define KN_CPU_GCONV_H

#include <stddef.h>

#include "kn_internal.h"

/* Whether c is computed by kn_cpu_gconv_rows rather than im2col + GEMM:
 * grouped, with a multiple of 4 output channels per group. */
int kn_cpu_gconv_ok(const kn_conv *c);

/* Output rows [a, b) of y (positions in n, d, h, w order, channels last) from
 * x, with c->packed laid out by kn_cpu.c's cpu_prepare. No bias: the caller's
 * epilogue adds it. accumulate: add to what y holds instead of overwriting. */
void kn_cpu_gconv_rows(const kn_conv *c, const kn_tensor *x, kn_tensor *y, size_t a, size_t b,
                       int accumulate);

/* Tests: 1 uses the portable kernels even on a CPU with AVX2 (process-wide). */
void kn_cpu_gconv_baseline(int on);

#endif
