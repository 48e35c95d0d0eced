/* qn_half.c — IEEE binary16 <-> binary32 conversion, shared by the store and the engine. The scalar code runs anywhere;
 * on x86-64 CPUs with F16C the bulk conversions (appends, pooling) use it, chosen once at
 * run time. f32 → f16 rounds to nearest even (what numpy's astype(float16) does) on both
 * paths; f16 → f32 is exact (a 64K-entry table on the scalar path). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "qn_half.h"

uint16_t qn_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t abs = x & 0x7fffffff;
    if (abs >= 0x7f800000) /* inf or nan (keep nan quiet and non-zero) */
        return sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 | ((abs >> 13) & 0x3ff) : 0);
    if (abs >= 0x477ff000) /* rounds to ≥ 65520: overflow */
        return sign | 0x7c00;
    if (abs < 0x38800000) { /* below the smallest normal half: subnormal or zero */
        if (abs < 0x33000000) /* < 2^-25: rounds to zero */
            return sign;
        uint32_t mant = (abs & 0x7fffff) | 0x800000;
        int shift = 126 - (int)(abs >> 23); /* 14..24 */
        uint32_t half = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1)))
            half++;
        return sign | half;
    }
    uint32_t h = ((abs - 0x38000000) >> 13);
    uint32_t rem = abs & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++;
    return sign | h;
}

static float half_table[65536];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static float half_slow(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, x;
    if (e == 0) {
        if (!m) {
            x = sign;
        } else { /* subnormal: normalise */
            e = 113;
            while (!(m & 0x400)) {
                m <<= 1;
                e--;
            }
            x = sign | (e << 23) | ((m & 0x3ff) << 13);
        }
    } else if (e == 31) {
        x = sign | 0x7f800000 | (m << 13);
    } else {
        x = sign | ((e + 112) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

static void to_f32_scalar(float *d, const uint16_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = half_table[s[i]];
}

static void max_f16_scalar(float *out, const uint16_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = half_table[s[i]];
        out[i] = v > out[i] ? v : out[i];
    }
}

static void to_f16_scalar(uint16_t *d, const float *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = qn_f32_to_f16(s[i]);
}

#if defined(__x86_64__)
__attribute__((target("avx,f16c"))) static void to_f32_f16c(float *d, const uint16_t *s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
    to_f32_scalar(d + i, s + i, n - i);
}

__attribute__((target("avx,f16c"))) static void max_f16_f16c(float *out, const uint16_t *s,
                                                              size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i)));
        _mm256_storeu_ps(out + i, _mm256_max_ps(v, _mm256_loadu_ps(out + i)));
    }
    max_f16_scalar(out + i, s + i, n - i);
}

__attribute__((target("avx,f16c"))) static void to_f16_f16c(uint16_t *d, const float *s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(d + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(s + i), _MM_FROUND_TO_NEAREST_INT));
    to_f16_scalar(d + i, s + i, n - i);
}
#endif

static void (*to_f32)(float *, const uint16_t *, size_t) = to_f32_scalar;
static void (*max_f16)(float *, const uint16_t *, size_t) = max_f16_scalar;
static void (*to_f16)(uint16_t *, const float *, size_t) = to_f16_scalar;

static void build_table(void)
{
    for (uint32_t i = 0; i < 65536; i++)
        half_table[i] = half_slow((uint16_t)i);
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c") &&
        !getenv("QUERN_NO_F16C")) {
        to_f32 = to_f32_f16c;
        max_f16 = max_f16_f16c;
        to_f16 = to_f16_f16c;
    }
#endif
}

float qn_f16_to_f32(uint16_t h)
{
    pthread_once(&table_once, build_table);
    return half_table[h];
}

void qn_f16_max_n(float *out, const uint16_t *row, size_t n)
{
    pthread_once(&table_once, build_table);
    max_f16(out, row, n);
}

void qn_f32_to_f16_n(uint16_t *dst, const float *src, size_t n)
{
    pthread_once(&table_once, build_table);
    to_f16(dst, src, n);
}

void qn_f16_to_f32_n(float *dst, const uint16_t *src, size_t n)
{
    pthread_once(&table_once, build_table);
    to_f32(dst, src, n);
}
