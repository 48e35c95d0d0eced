/* qn_sha256.c — qn_sha256.h. Portable blocks per FIPS 180-4; on x86-64 a second version
 * with the SHA extensions (sha256rnds2 does two rounds on the state split as ABEF/CDGH,
 * sha256msg1/msg2 extend the message schedule four words at a time). */
#include "qn_sha256.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

/* first 32 bits of the fractional parts of the cube roots of the first 64 primes */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static inline uint32_t ror(uint32_t x, int n) { return x >> n | x << (32 - n); }

static inline uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void blocks_portable(uint32_t h[8], const uint8_t *p, size_t n)
{
    for (; n; n--, p += 64) {
        uint32_t w[64], v[8];
        for (int i = 0; i < 16; i++)
            w[i] = load_be32(p + 4 * i);
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        memcpy(v, h, sizeof v);
        /* eight rounds per pass, the variables' roles rotating instead of their values */
        for (int i = 0; i < 64; i += 8)
#pragma GCC unroll 8
            for (int r = 0; r < 8; r++) {
                uint32_t *a = &v[(8 - r) & 7], *b = &v[(9 - r) & 7], *c = &v[(10 - r) & 7],
                         *d = &v[(11 - r) & 7], *e = &v[(12 - r) & 7], *f = &v[(13 - r) & 7],
                         *g = &v[(14 - r) & 7], *hh = &v[(15 - r) & 7];
                uint32_t t1 = *hh + (ror(*e, 6) ^ ror(*e, 11) ^ ror(*e, 25)) +
                              ((*e & *f) ^ (~*e & *g)) + K[i + r] + w[i + r];
                uint32_t t2 = (ror(*a, 2) ^ ror(*a, 13) ^ ror(*a, 22)) +
                              ((*a & *b) ^ (*a & *c) ^ (*b & *c));
                *d += t1;
                *hh = t1 + t2;
            }
        for (int i = 0; i < 8; i++)
            h[i] += v[i];
    }
}

#if defined(__x86_64__)
__attribute__((target("sha,sse4.1,ssse3"))) static void blocks_shani(uint32_t h[8],
                                                                     const uint8_t *p, size_t n)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    /* h0..h7 as the two halves the instructions take: ABEF and CDGH */
    __m128i abcd = _mm_loadu_si128((const __m128i *)h);
    __m128i efgh = _mm_loadu_si128((const __m128i *)(h + 4));
    __m128i cdab = _mm_shuffle_epi32(abcd, 0xB1);
    efgh = _mm_shuffle_epi32(efgh, 0x1B);
    __m128i s0 = _mm_alignr_epi8(cdab, efgh, 8); /* ABEF */
    __m128i s1 = _mm_blend_epi16(efgh, cdab, 0xF0); /* CDGH */
    for (; n; n--, p += 64) {
        __m128i save0 = s0, save1 = s1, m[4];
        for (int i = 0; i < 4; i++)
            m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
        /* group g: rounds 4g..4g+3 with schedule words m[g & 3]; while it runs, the words
         * of group g+1 are completed (msg2) and those of group g+3 begun (msg1) */
#pragma GCC unroll 16
        for (int g = 0; g < 16; g++) {
            __m128i w = m[g & 3];
            __m128i k = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)(K + 4 * g)));
            s1 = _mm_sha256rnds2_epu32(s1, s0, k);
            if (g >= 3 && g < 15) {
                __m128i *next = &m[(g + 1) & 3];
                *next = _mm_add_epi32(*next, _mm_alignr_epi8(w, m[(g - 1) & 3], 4));
                *next = _mm_sha256msg2_epu32(*next, w);
            }
            s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(k, 0x0E));
            if (g >= 1 && g < 13)
                m[(g - 1) & 3] = _mm_sha256msg1_epu32(m[(g - 1) & 3], w);
        }
        s0 = _mm_add_epi32(s0, save0);
        s1 = _mm_add_epi32(s1, save1);
    }
    /* back from ABEF/CDGH to h0..h7 */
    __m128i feba = _mm_shuffle_epi32(s0, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(s1, 0xB1);
    _mm_storeu_si128((__m128i *)h, _mm_blend_epi16(feba, dchg, 0xF0));       /* ABCD */
    _mm_storeu_si128((__m128i *)(h + 4), _mm_alignr_epi8(dchg, feba, 8));    /* EFGH */
}

static int cpu_has_sha(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
        return 0;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}
#endif

typedef void (*blocks_fn)(uint32_t h[8], const uint8_t *p, size_t n);
static blocks_fn blocks = blocks_portable;
static pthread_once_t pick_once = PTHREAD_ONCE_INIT;

static void pick(void)
{
#if defined(__x86_64__)
    if (cpu_has_sha() && !getenv("QUERN_NO_SHA_NI"))
        blocks = blocks_shani;
#endif
}

int qn_sha256_force_portable(int on)
{
    pthread_once(&pick_once, pick);
    blocks = blocks_portable;
    if (!on)
        pick();
    return blocks != blocks_portable;
}

void qn_sha256_init(qn_sha256 *s)
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    pthread_once(&pick_once, pick);
    memcpy(s->h, h0, sizeof h0);
    s->bytes = 0;
    s->nbuf = 0;
}

void qn_sha256_update(qn_sha256 *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    s->bytes += n;
    if (s->nbuf) {
        size_t take = 64 - s->nbuf < n ? 64 - s->nbuf : n;
        memcpy(s->buf + s->nbuf, p, take);
        s->nbuf += take;
        p += take;
        n -= take;
        if (s->nbuf < 64)
            return;
        blocks(s->h, s->buf, 1);
        s->nbuf = 0;
    }
    if (n >= 64) {
        blocks(s->h, p, n / 64);
        p += n / 64 * 64;
        n %= 64;
    }
    memcpy(s->buf, p, n);
    s->nbuf = n;
}

void qn_sha256_final(qn_sha256 *s, uint8_t digest[32])
{
    uint64_t bits = s->bytes * 8;
    uint8_t pad[72] = {0x80};
    size_t npad = (s->nbuf < 56 ? 56 : 120) - s->nbuf;
    for (int i = 0; i < 8; i++)
        pad[npad + i] = (uint8_t)(bits >> (56 - 8 * i));
    qn_sha256_update(s, pad, npad + 8);
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 4; k++)
            digest[4 * i + k] = (uint8_t)(s->h[i] >> (24 - 8 * k));
}

void qn_sha256_hex(const uint8_t digest[32], char hex[65])
{
    static const char xd[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = xd[digest[i] >> 4];
        hex[2 * i + 1] = xd[digest[i] & 15];
    }
    hex[64] = 0;
}

void qn_sha256_buf_hex(const void *data, size_t n, char hex[65])
{
    qn_sha256 s;
    uint8_t d[32];
    qn_sha256_init(&s);
    qn_sha256_update(&s, data, n);
    qn_sha256_final(&s, d);
    qn_sha256_hex(d, hex);
}
