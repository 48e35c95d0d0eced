/* qn_half.h — IEEE binary16 (float16) <-> binary32 conversion.
 *
 * f32 -> f16 rounds to nearest even, as numpy's astype(float16) does (overflow to inf,
 * NaN kept quiet); f16 -> f32 is exact. The bulk calls use F16C on x86-64 CPUs that have
 * it (chosen once at run time; QUERN_NO_F16C=1 forces the portable code), with the same
 * results bit for bit. All calls are thread-safe.
 */
#ifndef QN_HALF_H
#define QN_HALF_H

#include <stddef.h>
#include <stdint.h>

uint16_t qn_f32_to_f16(float f);
float qn_f16_to_f32(uint16_t h);
void qn_f32_to_f16_n(uint16_t *dst, const float *src, size_t n);
void qn_f16_to_f32_n(float *dst, const uint16_t *src, size_t n);
/* out[i] = max(out[i], row[i] as float) */
void qn_f16_max_n(float *out, const uint16_t *row, size_t n);

#endif
