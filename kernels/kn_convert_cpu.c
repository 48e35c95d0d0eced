/* kn_convert_cpu.c — kn_convert_cpu: kn_convert_ref's function, fast.
 *
 * kn_convert_ref filters every output pixel from scratch. Here the passes are
 * separated, as swscale does, but only over the crop window (the 3D stream
 * keeps 112 of 199 columns): a horizontal pass over the source rows the
 * vertical filter reads, then the vertical pass and the colour matrix. Each
 * value is computed with the same float operations in the same order as
 * kn_convert_ref (lanes are different pixels, never partial sums), so the
 * output is byte-identical to it and to the GPU's (tests check all three).
 *
 * Horizontal pass: 8 source rows at once, one per lane. Their needed columns
 * are first turned into floats, transposed (column x of the 8 rows is one
 * vector), so that each tap is one vector load and one broadcast weight; 8
 * outputs are computed side by side so that their chains of adds overlap.
 * Vertical pass: 8 output columns per vector, contiguous in the rows the
 * horizontal pass wrote. On swscale's pair path two pixels share a chroma
 * value: it is computed once. What depends only on the geometry (tap tables
 * regrouped, spans, distinct outputs) is made once per plan. */
#include "kn_convert.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* No fused multiply-add: kn_convert_ref rounds every product, and so must this. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* 32-byte vectors passed between static functions: no ABI to keep */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

/* The whole conversion is inlined into entry points chosen at run time: the
 * x86-64 / AArch64 baseline, AVX2 (8 lanes native; no FMA, see above) and
 * AVX-512 (the horizontal pass on 16 rows at once: 3D frames 7% faster than
 * AVX2). (Not target_clones: its ifunc resolvers run before ThreadSanitizer is
 * set up.) */
#define INLINE static inline __attribute__((always_inline))
#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_AVX2_PATH 1
#endif

#define LANES 8
typedef float v8f __attribute__((vector_size(LANES * sizeof(float))));
typedef int32_t v8i __attribute__((vector_size(LANES * sizeof(int32_t))));

INLINE v8f load8(const float *p)
{
    v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Lane-wise m ? a : b (C has no ?: on vectors) */
#define SELECT8(m, a, b) (((a) & (m)) | ((b) & ~(m)))

/* ---- per-thread scratch: kept between frames, freed when the thread ends ---- */

typedef struct scratch {
    float *buf;
    size_t cap;
} scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok;

static void scratch_free(void *p)
{
    scratch *s = p;
    free(s->buf);
    free(s);
}

static void scratch_init(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

/* n floats of this thread's scratch, or NULL. */
static float *scratch_get(size_t n)
{
    pthread_once(&scratch_once, scratch_init);
    if (!scratch_key_ok)
        return NULL;
    scratch *s = pthread_getspecific(scratch_key);
    if (!s) {
        if (!(s = calloc(1, sizeof *s)) || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (s->cap < n) {
        float *b = realloc(s->buf, n * sizeof *b);
        if (!b)
            return NULL;
        s->buf = b;
        s->cap = n;
    }
    return s->buf;
}

/* ---- tables per plan (kn_convert_cpu_prepare): what does not change per frame ---- */

/* One plane's horizontal taps regrouped for pass_h: for each block of 8 distinct
 * outputs, tap t of output q at [t·8 + q], weight in w and column offset into the
 * transposed rows, (x - x0)·LANES, in off (past the last output: the last again). */
typedef struct hplan {
    int x0, x1, y0, y1;  /* source columns and rows the filters read */
    int nu;              /* distinct horizontal outputs: on swscale's pair path two
                          * pixels share one chroma value, computed once */
    int32_t *map;        /* [n]: output → its distinct one (NULL: the identity) */
    float *w;
    int32_t *off;
} hplan;

typedef struct cpu_tables {
    hplan luma, chroma;
} cpu_tables;

/* The range [lo, hi] of an axis's source indices. */
static void axis_span(const kn_axis *a, int *lo, int *hi)
{
    *lo = a->idx[0], *hi = a->idx[0];
    for (int i = 0; i < a->n * a->k; i++) {
        *lo = a->idx[i] < *lo ? a->idx[i] : *lo;
        *hi = a->idx[i] > *hi ? a->idx[i] : *hi;
    }
}

/* Outputs whose taps equal their left neighbour's are computed once: uo lists the
 * first of each run, map[o] its index in uo. Returns the number of runs. */
static int distinct_outputs(const kn_axis *a, int32_t *uo, int32_t *map)
{
    int nu = 0, k = a->k;
    for (int o = 0; o < a->n; o++) {
        const size_t at = (size_t)o * k, prev = at - (size_t)k;
        if (o == 0 || memcmp(a->idx + at, a->idx + prev, (size_t)k * sizeof *a->idx) ||
            memcmp(a->w + at, a->w + prev, (size_t)k * sizeof *a->w))
            uo[nu++] = o;
        map[o] = nu - 1;
    }
    return nu;
}

static int hplan_make(hplan *h, const kn_axis *ax, const kn_axis *ay, int dedupe)
{
    memset(h, 0, sizeof *h);
    axis_span(ax, &h->x0, &h->x1);
    axis_span(ay, &h->y0, &h->y1);
    int n = ax->n, k = ax->k;
    int32_t *uo = malloc((size_t)n * sizeof *uo);
    if (!uo)
        return QN_ENOMEM;
    h->nu = n;
    if (dedupe) {
        if (!(h->map = malloc((size_t)n * sizeof *h->map))) {
            free(uo);
            return QN_ENOMEM;
        }
        h->nu = distinct_outputs(ax, uo, h->map);
    }
    if (h->nu == n) { /* every output distinct: no map */
        for (int o = 0; o < n; o++)
            uo[o] = o;
        free(h->map);
        h->map = NULL;
    }
    size_t taps = (size_t)(h->nu + LANES - 1) / LANES * LANES * k;
    h->w = malloc(taps * sizeof *h->w);
    h->off = malloc(taps * sizeof *h->off);
    if (!h->w || !h->off) {
        free(uo);
        return QN_ENOMEM;
    }
    for (int o0 = 0; o0 < h->nu; o0 += LANES)
        for (int q = 0; q < LANES; q++) {
            int o = uo[o0 + q < h->nu ? o0 + q : h->nu - 1];
            for (int t = 0; t < k; t++) {
                size_t at = (size_t)o0 * k + (size_t)t * LANES + q;
                h->w[at] = ax->w[(size_t)o * k + t];
                h->off[at] = (ax->idx[(size_t)o * k + t] - h->x0) * LANES;
            }
        }
    free(uo);
    return QN_OK;
}

static void hplan_free(hplan *h)
{
    free(h->map);
    free(h->w);
    free(h->off);
}

void kn_convert_cpu_release(kn_convert_plan *p)
{
    cpu_tables *t = p->cpu;
    if (!t)
        return;
    hplan_free(&t->luma);
    hplan_free(&t->chroma);
    free(t);
    p->cpu = NULL;
}

int kn_convert_cpu_prepare(kn_convert_plan *p)
{
    cpu_tables *t = calloc(1, sizeof *t);
    if (!t)
        return QN_ENOMEM;
    p->cpu = t;
    if (hplan_make(&t->luma, &p->lx, &p->ly, 0) != QN_OK ||
        hplan_make(&t->chroma, &p->cx, &p->cy, 1) != QN_OK) {
        kn_convert_cpu_release(p);
        return QN_ENOMEM;
    }
    return QN_OK;
}

/* ---- one plane through both passes ---------------------------------------- */

typedef struct plane_job {
    const uint8_t *data;
    int pitch, step;          /* bytes per row; bytes between samples (2 in NV12's UV) */
    const kn_axis *ax, *ay;
    const hplan *h;
} plane_job;

/* Scratch floats for one plane: transposed rows, h, and v (when outputs are deduped). */
static size_t plane_scratch(const plane_job *j)
{
    size_t cols = (size_t)(j->h->x1 - j->h->x0 + 1), rows = (size_t)(j->h->y1 - j->h->y0 + 1);
    return cols * 2 * LANES + rows * (size_t)j->h->nu + (size_t)j->ay->n * j->h->nu;
}

/* tr[x][l] = rows[l][x * step] as float, for x < cols: column x of 8 rows becomes
 * one vector. Planar rows go 8×8 bytes at a time through SSE2's unpacks. */
INLINE void transpose_rows(const uint8_t *const rows[LANES], int step, int cols, float *tr,
                           int stride)
{
    int x = 0;
#if defined(__SSE2__)
    if (step == 1) {
        const __m128i z = _mm_setzero_si128();
        for (; x + 8 <= cols; x += 8) {
            __m128i r[LANES];
            for (int l = 0; l < LANES; l++)
                r[l] = _mm_loadl_epi64((const __m128i *)(rows[l] + x));
            /* bytes → (row pairs) → (row quads) → 8 rows per column, 2 columns per vector */
            __m128i a0 = _mm_unpacklo_epi8(r[0], r[1]), a1 = _mm_unpacklo_epi8(r[2], r[3]);
            __m128i a2 = _mm_unpacklo_epi8(r[4], r[5]), a3 = _mm_unpacklo_epi8(r[6], r[7]);
            __m128i b0 = _mm_unpacklo_epi16(a0, a1), b1 = _mm_unpackhi_epi16(a0, a1);
            __m128i b2 = _mm_unpacklo_epi16(a2, a3), b3 = _mm_unpackhi_epi16(a2, a3);
            __m128i c[4] = {_mm_unpacklo_epi32(b0, b2), _mm_unpackhi_epi32(b0, b2),
                            _mm_unpacklo_epi32(b1, b3), _mm_unpackhi_epi32(b1, b3)};
            float *o = tr + (size_t)x * stride;
            for (int q = 0; q < 4; q++) { /* c[q]: columns 2q and 2q+1 */
                __m128i lo = _mm_unpacklo_epi8(c[q], z), hi = _mm_unpackhi_epi8(c[q], z);
                float *c0 = o + (size_t)(2 * q) * stride, *c1 = c0 + stride;
                _mm_storeu_ps(c0, _mm_cvtepi32_ps(_mm_unpacklo_epi16(lo, z)));
                _mm_storeu_ps(c0 + 4, _mm_cvtepi32_ps(_mm_unpackhi_epi16(lo, z)));
                _mm_storeu_ps(c1, _mm_cvtepi32_ps(_mm_unpacklo_epi16(hi, z)));
                _mm_storeu_ps(c1 + 4, _mm_cvtepi32_ps(_mm_unpackhi_epi16(hi, z)));
            }
        }
    }
#endif
    for (; x < cols; x++)
        for (int l = 0; l < LANES; l++)
            tr[(size_t)x * stride + l] = rows[l][(size_t)x * step];
}

/* Horizontal pass: h[r - y0][j] for the source rows r in [y0, y1]. */
/* v[q][l] → v[l][q] for an 8×8 block: unpacks within 128-bit halves, then halves
 * swapped across (what AVX's unpcklps/shufps/vperm2f128 do). */
#if defined(__clang__)
#define SHUF8(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUF8(a, b, ...) __builtin_shuffle(a, b, (v8i){__VA_ARGS__})
#endif
#define TRANSPOSE8(v)                                                                          \
    do {                                                                                       \
        v8f t_[8], u_[8];                                                                      \
        for (int i_ = 0; i_ < 8; i_ += 2) {                                                    \
            t_[i_] = SHUF8(v[i_], v[i_ + 1], 0, 8, 1, 9, 4, 12, 5, 13);                        \
            t_[i_ + 1] = SHUF8(v[i_], v[i_ + 1], 2, 10, 3, 11, 6, 14, 7, 15);                  \
        }                                                                                      \
        for (int i_ = 0; i_ < 8; i_ += 4)                                                      \
            for (int h_ = 0; h_ < 2; h_++) {                                                   \
                u_[i_ + 2 * h_] = SHUF8(t_[i_ + h_], t_[i_ + h_ + 2], 0, 1, 8, 9, 4, 5, 12, 13); \
                u_[i_ + 2 * h_ + 1] =                                                          \
                    SHUF8(t_[i_ + h_], t_[i_ + h_ + 2], 2, 3, 10, 11, 6, 7, 14, 15);           \
            }                                                                                  \
        for (int i_ = 0; i_ < 4; i_++) {                                                       \
            v[i_] = SHUF8(u_[i_], u_[i_ + 4], 0, 1, 2, 3, 8, 9, 10, 11);                       \
            v[i_ + 4] = SHUF8(u_[i_], u_[i_ + 4], 4, 5, 6, 7, 12, 13, 14, 15);                 \
        }                                                                                      \
    } while (0)

/* Rows r0.. (up to `width`, 8 or 16, of them; missing lanes repeat the last row)
 * transposed into tr as `width` floats per column. Returns the rows that are real. */
INLINE int load_rows(const plane_job *j, int r0, int width, int cols, float *tr)
{
    const hplan *hp = j->h;
    int lanes = hp->y1 - r0 + 1 < width ? hp->y1 - r0 + 1 : width;
    const uint8_t *rows[2 * LANES];
    for (int l = 0; l < width; l++)
        rows[l] = j->data + (size_t)(r0 + (l < lanes ? l : lanes - 1)) * j->pitch +
                  (size_t)hp->x0 * j->step;
    for (int b = 0; b < width; b += LANES)
        transpose_rows(rows + b, j->step, cols, tr + b, width);
    return lanes;
}

/* Horizontal pass: h[r - y0][o] for the source rows r in [y0, y1]. 8 outputs at a
 * time, each its own chain of adds, interleaved so that the chains overlap. */
INLINE void pass_h(const plane_job *j, float *tr, float *h)
{
    const hplan *hp = j->h;
    const float *w = hp->w;
    const int32_t *off = hp->off;
    int cols = hp->x1 - hp->x0 + 1, n = hp->nu, k = j->ax->k;
    const v8f hmax = (v8f){0} + KN_CONVERT_HMAX;
    for (int r0 = hp->y0; r0 <= hp->y1; r0 += LANES) {
        int lanes = load_rows(j, r0, LANES, cols, tr);
        float *hb = h + (size_t)(r0 - hp->y0) * n;
        for (int o0 = 0; o0 < n; o0 += LANES) {
            const float *wb = w + (size_t)o0 * k;
            const int32_t *ob = off + (size_t)o0 * k;
            v8f acc[LANES];
#pragma GCC unroll 8
            for (int q = 0; q < LANES; q++)
                acc[q] = (v8f){0};
            for (int t = 0; t < k; t++, wb += LANES, ob += LANES)
#pragma GCC unroll 8
                for (int q = 0; q < LANES; q++)
                    acc[q] += wb[q] * load8(tr + ob[q]);
#pragma GCC unroll 8
            for (int q = 0; q < LANES; q++) /* swscale's 15-bit horizontal ceiling */
                acc[q] = (v8f)SELECT8(acc[q] < hmax, (v8i)acc[q], (v8i)hmax);
            int no = n - o0 < LANES ? n - o0 : LANES;
            if (no == LANES) { /* lanes are rows: turn the 8×8 block to store rows */
                TRANSPOSE8(acc);
                for (int l = 0; l < lanes; l++)
                    memcpy(hb + (size_t)l * n + o0, &acc[l], sizeof acc[l]);
            } else {
                for (int q = 0; q < no; q++)
                    for (int l = 0; l < lanes; l++)
                        hb[(size_t)l * n + o0 + q] = acc[q][l];
            }
        }
    }
}

#ifdef HAVE_AVX2_PATH
/* pass_h with 16 source rows per vector (AVX-512): the same sums per lane, half the
 * vector operations. The 8 outputs' 16-lane results go out as two 8×8 blocks. */
typedef float v16f __attribute__((vector_size(16 * sizeof(float))));
typedef int32_t v16i __attribute__((vector_size(16 * sizeof(int32_t))));

INLINE v16f load16(const float *p)
{
    v16f v;
    memcpy(&v, p, sizeof v);
    return v;
}

INLINE void pass_h16(const plane_job *j, float *tr, float *h)
{
    const hplan *hp = j->h;
    const float *w = hp->w;
    const int32_t *off = hp->off; /* in units of 8-lane columns: twice that here */
    int cols = hp->x1 - hp->x0 + 1, n = hp->nu, k = j->ax->k;
    const v16f hmax = (v16f){0} + KN_CONVERT_HMAX;
    for (int r0 = hp->y0; r0 <= hp->y1; r0 += 2 * LANES) {
        int lanes = load_rows(j, r0, 2 * LANES, cols, tr);
        float *hb = h + (size_t)(r0 - hp->y0) * n;
        for (int o0 = 0; o0 < n; o0 += LANES) {
            const float *wb = w + (size_t)o0 * k;
            const int32_t *ob = off + (size_t)o0 * k;
            v16f acc[LANES];
#pragma GCC unroll 8
            for (int q = 0; q < LANES; q++)
                acc[q] = (v16f){0};
            for (int t = 0; t < k; t++, wb += LANES, ob += LANES)
#pragma GCC unroll 8
                for (int q = 0; q < LANES; q++)
                    acc[q] += wb[q] * load16(tr + 2 * (ptrdiff_t)ob[q]);
            v8f lo[LANES], hi[LANES];
#pragma GCC unroll 8
            for (int q = 0; q < LANES; q++) { /* swscale's 15-bit horizontal ceiling */
                v16f a = (v16f)SELECT8(acc[q] < hmax, (v16i)acc[q], (v16i)hmax);
                memcpy(&lo[q], &a, sizeof lo[q]);
                memcpy(&hi[q], (const float *)&a + LANES, sizeof hi[q]);
            }
            int no = n - o0 < LANES ? n - o0 : LANES;
            if (no == LANES) {
                TRANSPOSE8(lo);
                TRANSPOSE8(hi);
                for (int l = 0; l < lanes; l++)
                    memcpy(hb + (size_t)l * n + o0, l < LANES ? &lo[l] : &hi[l - LANES],
                           sizeof lo[0]);
            } else {
                for (int q = 0; q < no; q++)
                    for (int l = 0; l < lanes; l++)
                        hb[(size_t)l * n + o0 + q] = l < LANES ? lo[q][l] : hi[q][l - LANES];
            }
        }
    }
}
#endif

/* Vertical pass: out[i][o] for the plan's output rows i. */
INLINE void pass_v(const plane_job *j, const float *h, float *out)
{
    const kn_axis *ay = j->ay;
    int n = j->h->nu, k = ay->k, n8 = n - n % LANES, y0 = j->h->y0;
    for (int i = 0; i < ay->n; i++) {
        const int32_t *idx = ay->idx + (size_t)i * k;
        const float *w = ay->w + (size_t)i * k;
        float *o = out + (size_t)i * n;
        for (int c = 0; c < n8; c += LANES) {
            v8f acc = (v8f){0};
            for (int t = 0; t < k; t++)
                acc += w[t] * load8(h + (size_t)(idx[t] - y0) * n + c);
            memcpy(o + c, &acc, sizeof acc);
        }
        for (int c = n8; c < n; c++) {
            float acc = 0;
            for (int t = 0; t < k; t++)
                acc += w[t] * h[(size_t)(idx[t] - y0) * n + c];
            o[c] = acc;
        }
    }
}


/* ---- colour ------------------------------------------------------------------ */

/* kn_convert_ref's to_u8 on 8 lanes: floor(v + 0.5) - offset, clamped, into q.
 * Truncation equals floor wherever the clamp does not decide (v + 0.5 >= 0). A
 * macro: GCC notes every 32-byte vector passed to a function (-Wpsabi). */
#define TO_U8(q, v, offset)                                                                    \
    do {                                                                                       \
        q = __builtin_convertvector((v) + 0.5f, v8i) - (offset);                               \
        q = SELECT8(q < 0, (v8i){0}, q);                                                       \
        q = SELECT8(q > 255, (v8i){0} + 255, q);                                               \
    } while (0)

INLINE void colour(const float m[7], int32_t offset, const float *Y, const float *U,
                   const float *V, size_t n, uint8_t *rgb)
{
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        v8f y = (load8(Y + i) - m[5]) * m[0], cu = load8(U + i) - m[6], cv = load8(V + i) - m[6];
        v8i r, g, b;
        TO_U8(r, y + m[1] * cv, offset);
        TO_U8(g, y - m[2] * cu - m[3] * cv, offset);
        TO_U8(b, y + m[4] * cu, offset);
        for (int l = 0; l < LANES; l++) {
            uint8_t *o = rgb + (i + (size_t)l) * 3;
            o[0] = (uint8_t)r[l], o[1] = (uint8_t)g[l], o[2] = (uint8_t)b[l];
        }
    }
    for (; i < n; i++) {
        float y = (Y[i] - m[5]) * m[0], cu = U[i] - m[6], cv = V[i] - m[6];
        v8f t = {y + m[1] * cv, y - m[2] * cu - m[3] * cv, y + m[4] * cu};
        v8i q;
        TO_U8(q, t, offset);
        rgb[i * 3] = (uint8_t)q[0], rgb[i * 3 + 1] = (uint8_t)q[1], rgb[i * 3 + 2] = (uint8_t)q[2];
    }
}

/* Everything after the checks, inlined into each ISA's entry point. */
INLINE void convert_all(const kn_convert_plan *p, const kn_yuv_frame *f, uint8_t *rgb, float *s,
                        size_t work, int wide)
{
    const cpu_tables *tb = p->cpu;
    int step = f->nv12 ? 2 : 1, cw = p->g.crop_w, ch = p->g.crop_h;
    size_t npx = (size_t)cw * ch;
    plane_job jobs[3] = {
        {f->y, f->y_pitch, 1, &p->lx, &p->ly, &tb->luma},
        {f->u, f->uv_pitch, step, &p->cx, &p->cy, &tb->chroma},
        {f->nv12 ? f->u + 1 : f->v, f->uv_pitch, step, &p->cx, &p->cy, &tb->chroma},
    };
    float *planes = s + work; /* Y, U, V at the output size */
    for (int c = 0; c < 3; c++) {
        const plane_job *j = &jobs[c];
        const hplan *hp = j->h;
        float *tr = s, *h = tr + (size_t)(hp->x1 - hp->x0 + 1) * 2 * LANES;
        float *v = h + (size_t)(hp->y1 - hp->y0 + 1) * hp->nu, *out = planes + (size_t)c * npx;
#ifdef HAVE_AVX2_PATH
        if (wide)
            pass_h16(j, tr, h);
        else
#endif
            pass_h(j, tr, h);
        pass_v(j, h, hp->map ? v : out);
        if (hp->map) /* distinct values back to every pixel */
            for (int i = 0; i < ch; i++)
                for (int o = 0; o < cw; o++)
                    out[(size_t)i * cw + o] = v[(size_t)i * hp->nu + hp->map[o]];
    }
    float m[7];
    kn_convert_matrix(f->colorspace, f->full_range, m);
    colour(m, (int32_t)kn_convert_offset(p, f->full_range), planes, planes + npx, planes + 2 * npx,
           npx, rgb);
}

static void convert_baseline(const kn_convert_plan *p, const kn_yuv_frame *f, uint8_t *rgb,
                             float *s, size_t work)
{
    convert_all(p, f, rgb, s, work, 0);
}

#ifdef HAVE_AVX2_PATH
__attribute__((target("avx2"))) static void convert_avx2(const kn_convert_plan *p,
                                                        const kn_yuv_frame *f, uint8_t *rgb,
                                                        float *s, size_t work)
{
    convert_all(p, f, rgb, s, work, 0);
}

__attribute__((target("avx512f"))) static void convert_avx512(const kn_convert_plan *p,
                                                            const kn_yuv_frame *f,
                                                            uint8_t *rgb, float *s, size_t work)
{
    convert_all(p, f, rgb, s, work, 1);
}

static pthread_once_t isa_once = PTHREAD_ONCE_INIT;
static int isa_avx2, isa_avx512;

static void isa_probe(void)
{
    __builtin_cpu_init();
    isa_avx2 = __builtin_cpu_supports("avx2");
    isa_avx512 = isa_avx2 && __builtin_cpu_supports("avx512f");
}
#endif

/* tests: 0 the best entry this CPU has, 1 at most AVX2, 2 the baseline */
static _Atomic int isa_cap;

void kn_convert_cpu_baseline(int level) { isa_cap = level; }

int kn_convert_cpu(const kn_convert_plan *p, const kn_yuv_frame *f, uint8_t *rgb, qn_error *err)
{
    if (f->w != p->g.src_w || f->h != p->g.src_h)
        return qn_error_set(err, QN_EUSAGE, "kn_convert_cpu: a %dx%d frame for a %dx%d plan",
                            f->w, f->h, p->g.src_w, p->g.src_h);
    if (!p->cpu)
        return qn_error_set(err, QN_EUSAGE, "kn_convert_cpu: a plan without its CPU tables");
    const cpu_tables *tb = p->cpu;
    plane_job jy = {NULL, 0, 1, &p->lx, &p->ly, &tb->luma};
    plane_job jc = {NULL, 0, 1, &p->cx, &p->cy, &tb->chroma};
    size_t a = plane_scratch(&jy), b = plane_scratch(&jc), work = a > b ? a : b;
    float *s = scratch_get(work + 3 * (size_t)p->g.crop_w * p->g.crop_h);
    if (!s)
        return qn_error_set(err, QN_ENOMEM, "kn_convert_cpu: out of memory");
#ifdef HAVE_AVX2_PATH
    pthread_once(&isa_once, isa_probe);
    int cap = isa_cap;
    if (isa_avx512 && cap == 0) {
        convert_avx512(p, f, rgb, s, work);
        return QN_OK;
    }
    if (isa_avx2 && cap <= 1) {
        convert_avx2(p, f, rgb, s, work);
        return QN_OK;
    }
#endif
    convert_baseline(p, f, rgb, s, work);
    return QN_OK;
}
