/* via_geom.c — polygon checks, clipping to the image, bbox and area.
 *
 * Coordinates are VIA's: pixels from the image's top-left corner, so a vertex
 * may lie anywhere in [0, width] x [0, height] (the right and bottom edges of the
 * last pixels included). Area is the shoelace area of the polygon as written
 * (Detectron2's convention for polygons), or pycocotools' rasterised pixel count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coco_mask.h"
#include "via_int.h"

double via_shoelace(const double *xy, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = i + 1 == n ? 0 : i + 1;
        s += xy[2 * i] * xy[2 * j + 1] - xy[2 * j] * xy[2 * i + 1];
    }
    return fabs(s) / 2;
}

void via_bbox(const double *xy, size_t n, double bb[4])
{
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        x0 = fmin(x0, xy[2 * i]);
        x1 = fmax(x1, xy[2 * i]);
        y0 = fmin(y0, xy[2 * i + 1]);
        y1 = fmax(y1, xy[2 * i + 1]);
    }
    if (n == 0)
        x0 = y0 = x1 = y1 = 0;
    bb[0] = x0;
    bb[1] = y0;
    bb[2] = x1 - x0;
    bb[3] = y1 - y0;
}

/* One Sutherland-Hodgman pass: keeps the side where s*(coord[axis]) <= s*lim. */
static size_t clip_edge(const double *in, size_t n, double *out, int axis, double lim, double s)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const double *a = in + 2 * i, *b = in + 2 * ((i + 1) % n);
        int ain = s * a[axis] <= s * lim, bin = s * b[axis] <= s * lim;
        if (ain) {
            out[2 * m] = a[0];
            out[2 * m + 1] = a[1];
            m++;
        }
        if (ain != bin) {
            double t = (lim - a[axis]) / (b[axis] - a[axis]);
            double p[2];
            p[axis] = lim;
            p[!axis] = a[!axis] + t * (b[!axis] - a[!axis]);
            out[2 * m] = p[0];
            out[2 * m + 1] = p[1];
            m++;
        }
    }
    return m;
}

int via_clip(via_poly *p, double w, double h)
{
    const double lim[4] = {0, w, 0, h};
    const double sgn[4] = {-1, 1, -1, 1};
    double *tmp = NULL;
    size_t tcap = 0, n = p->n;
    for (int e = 0; e < 4 && n > 0; e++) {
        /* a pass adds at most one vertex per edge that leaves the kept side */
        size_t bound = n + n / 2 + 2;
        if (via_grow((void **)&tmp, &tcap, 2 * bound, sizeof *tmp) != QN_OK ||
            via_poly_reserve(p, bound) != QN_OK) {
            free(tmp);
            return QN_ENOMEM;
        }
        n = clip_edge(p->xy, n, tmp, e / 2, lim[e], sgn[e]);
        memcpy(p->xy, tmp, 2 * n * sizeof *tmp);
    }
    p->n = n;
    free(tmp);
    return QN_OK;
}

static int inside(const via_poly *p, uint32_t w, uint32_t h, size_t *bad)
{
    for (size_t i = 0; i < p->n; i++) {
        double x = p->xy[2 * i], y = p->xy[2 * i + 1];
        if (x < 0 || y < 0 || x > w || y > h) {
            *bad = i;
            return 0;
        }
    }
    return 1;
}

static int mask_area(const via_poly *p, uint32_t w, uint32_t h, double *area)
{
    qn_rle r;
    qn_rle_init(&r);
    int rc = qn_rle_from_poly(&r, p->xy, p->n, h, w);
    if (rc == QN_OK)
        *area = (double)qn_rle_area(&r);
    qn_rle_free(&r);
    return rc;
}

int via_geom_finish(via_poly *p, uint32_t w, uint32_t h, int clip, int area_mode, double bb[4],
                    double *area, int *outcome, const via_where *wh, qn_error *err)
{
    *outcome = VIA_GEOM_KEPT;
    if (p->n < 3)
        return via_fail(err, QN_EINPUT, wh, "polygon has %zu point%s (need at least 3)", p->n,
                        p->n == 1 ? "" : "s");
    /* beyond 1e15 products in the shoelace sum and clipping lose all precision */
    for (size_t i = 0; i < 2 * p->n; i++)
        if (!isfinite(p->xy[i]) || fabs(p->xy[i]) > 1e15)
            return via_fail(err, QN_EINPUT, wh, "vertex %zu is not a finite number%s", i / 2,
                            isfinite(p->xy[i]) ? " below 1e15" : "");
    if (via_shoelace(p->xy, p->n) == 0)
        return via_fail(err, QN_EINPUT, wh, "polygon has zero area");
    size_t bad;
    if (!inside(p, w, h, &bad)) {
        if (!clip)
            return via_fail(err, QN_EINPUT, wh,
                            "point %zu (%g, %g) lies outside the %ux%u image (use --clip to clip)",
                            bad, p->xy[2 * bad], p->xy[2 * bad + 1], w, h);
        if (via_clip(p, w, h) != QN_OK)
            return via_fail(err, QN_ENOMEM, wh, "out of memory");
        if (p->n < 3 || via_shoelace(p->xy, p->n) == 0) {
            *outcome = VIA_GEOM_OUTSIDE;
            return QN_OK;
        }
        *outcome = VIA_GEOM_CLIPPED;
    }
    via_bbox(p->xy, p->n, bb);
    *area = via_shoelace(p->xy, p->n);
    if (area_mode == VIA_AREA_MASK && mask_area(p, w, h, area) != QN_OK)
        return via_fail(err, QN_ENOMEM, wh, "out of memory");
    return QN_OK;
}
