/* kn_testgen.c — the tiny seeded generator the golden fixtures are built from
 * (kernels/tools/make_fixtures.py computes the same numbers with numpy):
 *   key   = fnv1a32(tensor name) + seed            (mod 2^32)
 *   x_i   = fmix32(i * 0x9E3779B9 + key)            (murmur3 finaliser, mod 2^32)
 *   u_i   = (x_i >> 8) * 2^-24                      (exact in float and double)
 *   v_i   = (float)(lo + (hi - lo) * u_i)           (computed in double, rounded once)
 * Counter-based, so numpy can vectorise it and tensors are independent. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kn_internal.h"

uint32_t kn_fnv1a32(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static uint32_t fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

void kn_gen_uniform(const char *name, uint32_t seed, double lo, double hi, float *out, size_t n)
{
    uint32_t key = kn_fnv1a32(name) + seed;
    for (size_t i = 0; i < n; i++) {
        double u = (double)(fmix32((uint32_t)i * 0x9E3779B9u + key) >> 8) * (1.0 / 16777216.0);
        out[i] = (float)(lo + (hi - lo) * u);
    }
}

const float *kn_golden_tensor(const char *name, const int64_t *shape, int nd, void *ud)
{
    kn_golden *g = ud;
    size_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= (size_t)shape[i];
    if (n > g->cap) {
        float *p = realloc(g->buf, n * sizeof *p);
        if (!p)
            return NULL;
        g->buf = p;
        g->cap = n;
    }
    double lo, hi;
    if (nd >= 4) { /* conv weight */
        hi = sqrt(3.0 * (double)shape[0] / (double)n);
        lo = -hi;
    } else if (kn_ends_with(name, ".running_var")) {
        lo = 0.5, hi = 1.5;
    } else if (kn_ends_with(name, ".weight")) {
        lo = 0.25, hi = 0.75;
    } else {
        lo = -0.1, hi = 0.1; /* bias, running_mean */
    }
    kn_gen_uniform(name, g->seed, lo, hi, g->buf, n);
    return g->buf;
}

void kn_gen_u8(const char *name, uint32_t seed, uint8_t *out, size_t n)
{
    uint32_t key = kn_fnv1a32(name) + seed;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(fmix32((uint32_t)i * 0x9E3779B9u + key) >> 24);
}
