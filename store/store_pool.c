/* store_pool.c — HowTo100M's clip pooling (FORMAT.md §5): rows [floor(s·r), floor(e·r)+1)
 * clamped to the video, max over time, L2-normalised. */
#include <math.h>
#include <string.h>

#include "qn_half.h"
#include "store_internal.h"

/* [a, b) for window [start, end] over n rows at rate r; a window past the end gets the
 * last row, like DESIGN.md says (HowTo100M would leave zeros there). */
static void window_rows(int64_t n, double rate, double start, double end, int64_t *a,
                        int64_t *b)
{
    double fa = floor(start * rate), fb = floor(end * rate) + 1;
    int64_t lo = fa < 0 ? 0 : fa >= (double)n ? n - 1 : (int64_t)fa;
    int64_t hi = fb > (double)n ? n : fb < 0 ? 0 : (int64_t)fb;
    if (hi <= lo)
        hi = lo + 1;
    *a = lo;
    *b = hi;
}

static void max_rows(const void *rows, int dtype, int32_t dim, int64_t a, int64_t b, float *out)
{
    if (dtype == QN_F32) {
        const float *r = (const float *)rows + (size_t)a * (size_t)dim;
        memcpy(out, r, (size_t)dim * 4);
        for (int64_t i = a + 1; i < b; i++) {
            r += dim;
            for (int32_t j = 0; j < dim; j++)
                out[j] = r[j] > out[j] ? r[j] : out[j];
        }
        return;
    }
    const uint16_t *r = (const uint16_t *)rows + (size_t)a * (size_t)dim;
    store_convert(out, QN_F32, r, QN_F16, (size_t)dim);
    for (int64_t i = a + 1; i < b; i++) {
        r += dim;
        qn_f16_max_n(out, r, (size_t)dim);
    }
}

static void l2_normalise(float *v, int32_t dim)
{
    double ss = 0;
    for (int32_t j = 0; j < dim; j++)
        ss += (double)v[j] * v[j];
    if (ss > 0) {
        float inv = (float)(1.0 / sqrt(ss));
        for (int32_t j = 0; j < dim; j++)
            v[j] *= inv;
    }
}

int qn_pool_rows(const void *rows, int dtype, int32_t dim, int64_t n, double rate, double start,
                 double end, float *out, qn_error *err)
{
    if (n <= 0 || !rows)
        return qn_error_set(err, QN_EINPUT, "pool: no rows to pool");
    if (!(end >= start) || !(rate > 0) || !qn_dtype_size(dtype) || dim <= 0)
        return qn_error_set(err, QN_EINPUT, "pool: bad window [%g, %g] or rate %g", start, end,
                            rate);
    int64_t a, b;
    window_rows(n, rate, start, end, &a, &b);
    max_rows(rows, dtype, dim, a, b, out);
    l2_normalise(out, dim);
    return QN_OK;
}

int qn_store_pool(qn_store *s, qn_fset *fs, int64_t video_id, double start, double end,
                  float *out, qn_error *err)
{
    if (fs->kind != QN_FSET_PER_STEP)
        return qn_error_set(err, QN_EUSAGE, "%s: feature set '%s' is not per-step", s->dir,
                            fs->name);
    const void *rows;
    int64_t n;
    int rc = qn_fset_video_rows(s, fs, video_id, &rows, &n, err);
    if (rc)
        return rc;
    if (n == 0)
        return qn_error_set(err, QN_EINPUT, "%s: video %lld has no rows in '%s'", s->dir,
                            (long long)video_id, fs->name);
    return qn_pool_rows(rows, fs->dtype, fs->dim, n, fs->rate, start, end, out, err);
}
