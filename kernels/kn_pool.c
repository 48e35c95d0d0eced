/* kn_pool.c — per-clip pooling of per-step float feature rows (HowTo100M's
 * youtube_dataloader._get_video); the same rule as the store's qn_pool_rows. */
#include <math.h>
#include <string.h>

#include "kn_internal.h"

void kn_clip_rows(int n, double rate, double s, double e, int *b_out, int *e_out)
{
    if (e < s)
        e = s;
    double fb = floor(s * rate), fe = floor(e * rate) + 1;
    long b = fb < 0 ? 0 : fb > n ? n : (long)fb;
    long en = fe < 0 ? 0 : fe > n ? n : (long)fe;
    if (b >= n)
        b = n - 1;
    if (en <= b)
        en = b + 1;
    *b_out = (int)b;
    *e_out = (int)en;
}

/* Max over the clip's rows, L2-normalised, into out[dim]; zeros when the
 * modality is absent. */
static void pool_one(const float *rows, int n, int dim, double rate, double s, double e,
                     float *out)
{
    if (!rows || n <= 0 || dim <= 0) {
        memset(out, 0, (size_t)dim * sizeof *out);
        return;
    }
    int b, en;
    kn_clip_rows(n, rate, s, e, &b, &en);
    memcpy(out, rows + (size_t)b * dim, (size_t)dim * sizeof *out);
    for (int r = b + 1; r < en; r++) {
        const float *v = rows + (size_t)r * dim;
        for (int i = 0; i < dim; i++)
            if (v[i] > out[i])
                out[i] = v[i];
    }
    kn_l2norm_rows(out, 1, dim);
}

int kn_pool_clips(const float *rows2d, int n2d, int dim2d, double rate2d, const float *rows3d,
                  int n3d, int dim3d, double rate3d, const double *starts, const double *ends,
                  int nclips, float *out, qn_error *err)
{
    if (n2d < 0 || n3d < 0 || dim2d < 0 || dim3d < 0 || nclips < 0)
        return qn_error_set(err, QN_EUSAGE, "kn_pool_clips: negative count or dimension");
    if (!(rate2d > 0) || !(rate3d > 0) || !isfinite(rate2d) || !isfinite(rate3d))
        return qn_error_set(err, QN_EUSAGE, "kn_pool_clips: rates must be positive");
    for (int c = 0; c < nclips; c++)
        if (!isfinite(starts[c]) || !isfinite(ends[c]))
            return qn_error_set(err, QN_EUSAGE, "kn_pool_clips: clip %d: non-finite time", c);
    size_t row = (size_t)dim2d + dim3d;
    for (int c = 0; c < nclips; c++) {
        pool_one(rows2d, n2d, dim2d, rate2d, starts[c], ends[c], out + c * row);
        pool_one(rows3d, n3d, dim3d, rate3d, starts[c], ends[c], out + c * row + dim2d);
    }
    return QN_OK;
}
