/* kn_convert.c — kn_convert.h's filter tables and the CPU version of the conversion. */
#include "kn_convert.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* No fused multiply-add (aarch64 compilers fuse by default): every product is
 * rounded, as in kn_convert_cpu and the CUDA kernel (__fmul_rn, __fadd_rn). */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* swscale's bicubic: Mitchell–Netravali with B = 0, C = 0.6 (its defaults). */
static double bicubic(double t)
{
    const double B = 0.0, C = 0.6;
    t = fabs(t);
    if (t < 1)
        return ((12 - 9 * B - 6 * C) * t * t * t + (-18 + 12 * B + 6 * C) * t * t + (6 - 2 * B)) /
               6;
    if (t < 2)
        return ((-B - 6 * C) * t * t * t + (6 * B + 30 * C) * t * t + (-12 * B - 48 * C) * t +
                (8 * B + 24 * C)) /
               6;
    return 0;
}

/* Taps for n outputs whose centres sit at pos[i] in a plane of `len` samples,
 * shrinking by `scale` (>= 1 widens the kernel). */
static int axis_make(kn_axis *a, const double *pos, int n, double scale, int len)
{
    if (scale < 1)
        scale = 1;
    a->n = n;
    a->k = (int)ceil(4 * scale) + 1;
    a->idx = malloc((size_t)n * a->k * sizeof *a->idx);
    a->w = malloc((size_t)n * a->k * sizeof *a->w);
    if (!a->idx || !a->w)
        return QN_ENOMEM;
    for (int i = 0; i < n; i++) {
        int first = (int)floor(pos[i] - 2 * scale) + 1;
        double sum = 0, w[512];
        for (int t = 0; t < a->k; t++)
            sum += w[t] = bicubic((first + t - pos[i]) / scale);
        for (int t = 0; t < a->k; t++) {
            int j = first + t;
            a->idx[i * a->k + t] = j < 0 ? 0 : j >= len ? len - 1 : j;
            a->w[i * a->k + t] = (float)(w[t] / sum);
        }
    }
    return QN_OK;
}

static void axis_free(kn_axis *a)
{
    free(a->idx);
    free(a->w);
}

void kn_convert_plan_free(kn_convert_plan *p)
{
    if (!p)
        return;
    kn_convert_cpu_release(p);
    axis_free(&p->lx);
    axis_free(&p->ly);
    axis_free(&p->cx);
    axis_free(&p->cy);
    free(p);
}

int kn_convert_plan_make(const kn_convert_geom *g, kn_convert_plan **out, qn_error *err)
{
    *out = NULL;
    if (g->src_w < 2 || g->src_h < 2 || g->dst_w < 2 || g->dst_h < 2 || g->src_w > 16384 ||
        g->src_h > 16384 || g->dst_w > 16384 || g->dst_h > 16384 || g->crop_x < 0 ||
        g->crop_y < 0 || g->crop_w < 1 || g->crop_h < 1 || g->crop_x + g->crop_w > g->dst_w ||
        g->crop_y + g->crop_h > g->dst_h ||
        (double)g->src_w / g->dst_w > 100 || (double)g->src_h / g->dst_h > 100)
        return qn_error_set(err, QN_EUSAGE, "kn_convert: %dx%d -> %dx%d crop %dx%d+%d+%d: "
                            "sizes out of range", g->src_w, g->src_h, g->dst_w, g->dst_h,
                            g->crop_w, g->crop_h, g->crop_x, g->crop_y);
    kn_convert_plan *p = calloc(1, sizeof *p);
    double *px = malloc((size_t)g->crop_w * sizeof *px);
    double *py = malloc((size_t)g->crop_h * sizeof *py);
    double *qx = malloc((size_t)g->crop_w * sizeof *qx);
    double *qy = malloc((size_t)g->crop_h * sizeof *qy);
    int rc = p && px && py && qx && qy ? QN_OK : QN_ENOMEM;
    if (rc == QN_OK) {
        p->g = *g;
        p->pairs = g->dst_w % 2 == 0; /* swscale: an odd width forces full chroma */
        double sx = (double)g->src_w / g->dst_w, sy = (double)g->src_h / g->dst_h;
        int cw = (g->src_w + 1) / 2, ch = (g->src_h + 1) / 2;
        for (int i = 0; i < g->crop_w; i++) {
            int x = g->crop_x + i;
            px[i] = (x + 0.5) * sx - 0.5;
            /* chroma, centre-sited: a pixel's own position, or its pair's */
            qx[i] = p->pairs ? (x / 2 + 0.5) * sx - 0.5 : (px[i] + 0.5) / 2 - 0.5;
        }
        for (int i = 0; i < g->crop_h; i++) {
            py[i] = (g->crop_y + i + 0.5) * sy - 0.5;
            qy[i] = (py[i] + 0.5) / 2 - 0.5;
        }
        if ((rc = axis_make(&p->lx, px, g->crop_w, sx, g->src_w)) == QN_OK &&
            (rc = axis_make(&p->ly, py, g->crop_h, sy, g->src_h)) == QN_OK &&
            /* chroma planes are half size: a pixel-rate chroma axis shrinks by half as much */
            (rc = axis_make(&p->cx, qx, g->crop_w, p->pairs ? sx : sx / 2, cw)) == QN_OK)
            rc = axis_make(&p->cy, qy, g->crop_h, sy / 2, ch);
        if (rc == QN_OK)
            rc = kn_convert_cpu_prepare(p);
    }
    free(px);
    free(py);
    free(qx);
    free(qy);
    if (rc < 0) {
        kn_convert_plan_free(p);
        return qn_error_set(err, rc, "kn_convert: out of memory");
    }
    *out = p;
    return QN_OK;
}

float kn_convert_offset(const kn_convert_plan *p, int full_range)
{
    return p->pairs && !full_range ? KN_CONVERT_PAIR_OFFSET : 0.f;
}

void kn_convert_matrix(int colorspace, int full_range, float m[7])
{
    double kr = 0.299, kb = 0.114; /* BT.601 */
    switch (colorspace) {
    case 1: /* BT.709 */
        kr = 0.2126, kb = 0.0722;
        break;
    case 4: /* FCC */
        kr = 0.30, kb = 0.11;
        break;
    case 7: /* SMPTE 240M */
        kr = 0.212, kb = 0.087;
        break;
    case 9: /* BT.2020 */
    case 10:
        kr = 0.2627, kb = 0.0593;
        break;
    }
    double kg = 1 - kr - kb;
    double ys = full_range ? 1 : 255.0 / 219, cs = full_range ? 1 : 255.0 / 224;
    m[0] = (float)ys;
    m[1] = (float)(2 * (1 - kr) * cs);             /* v -> r */
    m[2] = (float)(2 * kb * (1 - kb) / kg * cs);   /* u -> g (subtracted) */
    m[3] = (float)(2 * kr * (1 - kr) / kg * cs);   /* v -> g (subtracted) */
    m[4] = (float)(2 * (1 - kb) * cs);             /* u -> b */
    m[5] = full_range ? 0.f : 16.f;
    m[6] = 128.f;
}

/* One plane sample filtered at output (i, j): rows from ay, columns from ax. */
static float sample(const uint8_t *plane, int pitch, int step, const kn_axis *ax,
                    const kn_axis *ay, int i, int j)
{
    float acc = 0;
    for (int ty = 0; ty < ay->k; ty++) {
        const uint8_t *row = plane + (size_t)ay->idx[i * ay->k + ty] * pitch;
        float racc = 0;
        for (int tx = 0; tx < ax->k; tx++)
            racc += ax->w[j * ax->k + tx] * row[(size_t)ax->idx[j * ax->k + tx] * step];
        /* swscale keeps the horizontal pass in 15 bits: overshoot past 255 is cut there */
        acc += ay->w[i * ay->k + ty] * (racc < KN_CONVERT_HMAX ? racc : KN_CONVERT_HMAX);
    }
    return acc;
}

static uint8_t to_u8(float v, float offset)
{
    v = floorf(v + 0.5f) - offset;
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

int kn_convert_ref(const kn_convert_plan *p, const kn_yuv_frame *f, uint8_t *rgb, qn_error *err)
{
    if (f->w != p->g.src_w || f->h != p->g.src_h)
        return qn_error_set(err, QN_EUSAGE, "kn_convert_ref: a %dx%d frame for a %dx%d plan",
                            f->w, f->h, p->g.src_w, p->g.src_h);
    float m[7];
    kn_convert_matrix(f->colorspace, f->full_range, m);
    const uint8_t *u = f->u, *v = f->nv12 ? f->u + 1 : f->v;
    int step = f->nv12 ? 2 : 1;
    float off = kn_convert_offset(p, f->full_range);
    for (int i = 0; i < p->g.crop_h; i++)
        for (int j = 0; j < p->g.crop_w; j++) {
            float y = (sample(f->y, f->y_pitch, 1, &p->lx, &p->ly, i, j) - m[5]) * m[0];
            float cu = sample(u, f->uv_pitch, step, &p->cx, &p->cy, i, j) - m[6];
            float cv = sample(v, f->uv_pitch, step, &p->cx, &p->cy, i, j) - m[6];
            uint8_t *o = rgb + ((size_t)i * p->g.crop_w + j) * 3;
            o[0] = to_u8(y + m[1] * cv, off);
            o[1] = to_u8(y - m[2] * cu - m[3] * cv, off);
            o[2] = to_u8(y + m[4] * cu, off);
        }
    return QN_OK;
}

/* ---- plans by geometry, for the whole process ---------------------------- */

#include <pthread.h>

/* Two plans per video resolution, a few dozen resolutions in a corpus: a list that
 * only grows (plans are never freed, so pointers handed out stay valid). */
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static kn_convert_plan **cache;
static size_t cache_n, cache_cap;

int kn_convert_plan_get(const kn_convert_geom *g, const kn_convert_plan **out, qn_error *err)
{
    pthread_mutex_lock(&cache_mu);
    int rc = QN_OK;
    *out = NULL;
    for (size_t i = 0; i < cache_n && !*out; i++)
        if (!memcmp(&cache[i]->g, g, sizeof *g))
            *out = cache[i];
    if (!*out && cache_n == cache_cap) {
        size_t cap = cache_cap ? 2 * cache_cap : 64;
        kn_convert_plan **c = realloc(cache, cap * sizeof *c);
        if (c) {
            cache = c;
            cache_cap = cap;
        } else {
            rc = qn_error_set(err, QN_ENOMEM, "kn_convert: out of memory");
        }
    }
    if (!*out && rc == QN_OK && (rc = kn_convert_plan_make(g, &cache[cache_n], err)) == QN_OK)
        *out = cache[cache_n++];
    pthread_mutex_unlock(&cache_mu);
    return rc;
}
