/* via_shapes.c — VIA region shapes to polygons.
 *
 * VIA 2 (and 1) describe a shape by name in shape_attributes; VIA 3 by a numeric
 * id heading an xy array. Both end here as one polygon, or as "point"/"polyline",
 * which COCO instances cannot hold and the caller skips and counts.
 * Round shapes become VIA_ROUND_VERTICES vertices (5-degree steps, as VIA 2's own
 * COCO export), rounded to 1/1000 pixel so libm differences cannot change bytes.
 */
#include <math.h>
#include <string.h>

#include "via_int.h"

static double round3(double v) { return round(v * 1000.0) / 1000.0; }

int via_round_shape(via_poly *out, double cx, double cy, double rx, double ry, double theta)
{
    if (via_poly_reserve(out, VIA_ROUND_VERTICES) != QN_OK)
        return QN_ENOMEM;
    double ct = cos(theta), st = sin(theta);
    for (int k = 0; k < VIA_ROUND_VERTICES; k++) {
        double t = 2.0 * M_PI * k / VIA_ROUND_VERTICES;
        double ex = rx * cos(t), ey = ry * sin(t);
        out->xy[2 * k] = round3(cx + ex * ct - ey * st);
        out->xy[2 * k + 1] = round3(cy + ex * st + ey * ct);
    }
    out->n = VIA_ROUND_VERTICES;
    return QN_OK;
}

static int set_rect(via_poly *out, double x, double y, double w, double h)
{
    if (via_poly_reserve(out, 4) != QN_OK)
        return QN_ENOMEM;
    double v[8] = {x, y, x + w, y, x + w, y + h, x, y + h};
    memcpy(out->xy, v, sizeof v);
    out->n = 4;
    return QN_OK;
}

static int oom(qn_error *err, const via_where *w) { return via_fail(err, QN_ENOMEM, w, "out of memory"); }

/* ---- VIA 1/2: shape_attributes ---- */

static int get_num(const json_t *shape, const char *key, int optional, double *v,
                   const via_where *w, qn_error *err)
{
    const json_t *j = json_object_get(shape, key);
    if (!j && optional)
        return QN_OK;
    if (!j)
        return via_fail(err, QN_EINPUT, w, "%s has no \"%s\"",
                        json_string_value(json_object_get(shape, "name")), key);
    if (!json_is_number(j))
        return via_fail(err, QN_EINPUT, w, "\"%s\" is not a number", key);
    *v = json_number_value(j);
    if (!isfinite(*v))
        return via_fail(err, QN_EINPUT, w, "\"%s\" is not a finite number", key);
    return QN_OK;
}

static int get_nums(const json_t *shape, const char *const *keys, int n, int nreq, double *v,
                    const via_where *w, qn_error *err)
{
    for (int i = 0; i < n; i++) {
        int rc = get_num(shape, keys[i], i >= nreq, &v[i], w, err);
        if (rc != QN_OK)
            return rc;
    }
    return QN_OK;
}

static int points_v2(const json_t *shape, via_poly *out, const via_where *w, qn_error *err)
{
    const json_t *px = json_object_get(shape, "all_points_x");
    const json_t *py = json_object_get(shape, "all_points_y");
    if (!json_is_array(px) || !json_is_array(py))
        return via_fail(err, QN_EINPUT, w, "polygon needs lists \"all_points_x\" and \"all_points_y\"");
    size_t n = json_array_size(px);
    if (n != json_array_size(py))
        return via_fail(err, QN_EINPUT, w, "polygon has %zu x but %zu y coordinates", n,
                        json_array_size(py));
    if (n < 3)
        return via_fail(err, QN_EINPUT, w, "polygon has %zu point%s (need at least 3)", n,
                        n == 1 ? "" : "s");
    if (via_poly_reserve(out, n) != QN_OK)
        return oom(err, w);
    for (size_t i = 0; i < n; i++) {
        const json_t *a = json_array_get(px, i), *b = json_array_get(py, i);
        if (!json_is_number(a) || !json_is_number(b))
            return via_fail(err, QN_EINPUT, w, "polygon point %zu is not a pair of numbers", i);
        out->xy[2 * i] = json_number_value(a);
        out->xy[2 * i + 1] = json_number_value(b);
    }
    out->n = n;
    return QN_OK;
}

int via_shape_v2(const json_t *shape, via_poly *out, int *kind, const via_where *w,
                 qn_error *err)
{
    static const char *const rect_k[] = {"x", "y", "width", "height"};
    static const char *const circ_k[] = {"cx", "cy", "r"};
    static const char *const ell_k[] = {"cx", "cy", "rx", "ry", "theta"};
    double v[5] = {0};
    int rc;
    *kind = VIA_SHAPE_POLYGON;
    out->n = 0;
    if (!json_is_object(shape))
        return via_fail(err, QN_EINPUT, w, "no \"shape_attributes\" object");
    const char *name = json_string_value(json_object_get(shape, "name"));
    if (!name)
        return via_fail(err, QN_EINPUT, w, "shape has no \"name\"");
    if (strcmp(name, "point") == 0) {
        *kind = VIA_SHAPE_POINT;
        return QN_OK;
    }
    if (strcmp(name, "polyline") == 0) {
        *kind = VIA_SHAPE_POLYLINE;
        return QN_OK;
    }
    if (strcmp(name, "polygon") == 0)
        return points_v2(shape, out, w, err);
    if (strcmp(name, "rect") == 0) {
        if ((rc = get_nums(shape, rect_k, 4, 4, v, w, err)))
            return rc;
        if (v[2] < 0 || v[3] < 0)
            return via_fail(err, QN_EINPUT, w, "rect has a negative width or height");
        return set_rect(out, v[0], v[1], v[2], v[3]) ? oom(err, w) : QN_OK;
    }
    if (strcmp(name, "circle") == 0) {
        if ((rc = get_nums(shape, circ_k, 3, 3, v, w, err)))
            return rc;
        if (v[2] < 0)
            return via_fail(err, QN_EINPUT, w, "circle has a negative radius");
        return via_round_shape(out, v[0], v[1], v[2], v[2], 0) ? oom(err, w) : QN_OK;
    }
    if (strcmp(name, "ellipse") == 0) {
        if ((rc = get_nums(shape, ell_k, 5, 4, v, w, err)))
            return rc;
        if (v[2] < 0 || v[3] < 0)
            return via_fail(err, QN_EINPUT, w, "ellipse has a negative radius");
        return via_round_shape(out, v[0], v[1], v[2], v[3], v[4]) ? oom(err, w) : QN_OK;
    }
    return via_fail(err, QN_EINPUT, w, "unknown shape \"%s\"", name);
}

/* ---- VIA 3: xy = [shape_id, coordinates...] ---- */

enum { V3_POINT = 1, V3_RECT, V3_CIRCLE, V3_ELLIPSE, V3_LINE, V3_POLYLINE, V3_POLYGON,
       V3_EXTREME_RECT, V3_EXTREME_CIRCLE };

/* Circle through three points; 0 if they are collinear. */
static int circumcircle(const double *p, double *cx, double *cy, double *r)
{
    double ax = p[0], ay = p[1], bx = p[2], by = p[3], qx = p[4], qy = p[5];
    double d = 2 * (ax * (by - qy) + bx * (qy - ay) + qx * (ay - by));
    if (d == 0 || !isfinite(d))
        return 0;
    double a2 = ax * ax + ay * ay, b2 = bx * bx + by * by, c2 = qx * qx + qy * qy;
    *cx = (a2 * (by - qy) + b2 * (qy - ay) + c2 * (ay - by)) / d;
    *cy = (a2 * (qx - bx) + b2 * (ax - qx) + c2 * (bx - ax)) / d;
    *r = hypot(ax - *cx, ay - *cy);
    return 1;
}

static int v3_coords(const json_t *xy, double *c, size_t n, const via_where *w, qn_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const json_t *j = json_array_get(xy, i + 1);
        if (!json_is_number(j))
            return via_fail(err, QN_EINPUT, w, "xy[%zu] is not a number", i + 1);
        c[i] = json_number_value(j);
    }
    return QN_OK;
}

static int v3_need(size_t have, size_t want, int exact, const char *what, const via_where *w,
                   qn_error *err)
{
    if (exact ? have == want : (have >= want && have % 2 == 0))
        return QN_OK;
    return via_fail(err, QN_EINPUT, w, "%s needs %s%zu coordinates in xy, has %zu", what,
                    exact ? "" : "an even number >= ", want, have);
}

int via_shape_v3(const json_t *xy, via_poly *out, int *kind, const via_where *w, qn_error *err)
{
    *kind = VIA_SHAPE_POLYGON;
    out->n = 0;
    if (!json_is_array(xy) || json_array_size(xy) < 1 || !json_is_integer(json_array_get(xy, 0)))
        return via_fail(err, QN_EINPUT, w, "\"xy\" is not [shape_id, coordinates...]");
    json_int_t id = json_integer_value(json_array_get(xy, 0));
    size_t n = json_array_size(xy) - 1;
    if (id == V3_POINT || id == V3_LINE || id == V3_POLYLINE) {
        *kind = id == V3_POINT ? VIA_SHAPE_POINT : VIA_SHAPE_POLYLINE;
        return QN_OK;
    }
    if (id < V3_RECT || id > V3_EXTREME_CIRCLE)
        return via_fail(err, QN_EINPUT, w, "unknown VIA 3 shape id %lld", (long long)id);
    if (via_poly_reserve(out, n / 2 + 1) != QN_OK)
        return oom(err, w);
    double c[6];
    int rc;
    switch (id) {
    case V3_RECT:
        if ((rc = v3_need(n, 4, 1, "rectangle", w, err)) || (rc = v3_coords(xy, c, 4, w, err)))
            return rc;
        if (c[2] < 0 || c[3] < 0)
            return via_fail(err, QN_EINPUT, w, "rectangle has a negative width or height");
        return set_rect(out, c[0], c[1], c[2], c[3]) ? oom(err, w) : QN_OK;
    case V3_CIRCLE:
        if ((rc = v3_need(n, 3, 1, "circle", w, err)) || (rc = v3_coords(xy, c, 3, w, err)))
            return rc;
        if (c[2] < 0)
            return via_fail(err, QN_EINPUT, w, "circle has a negative radius");
        return via_round_shape(out, c[0], c[1], c[2], c[2], 0) ? oom(err, w) : QN_OK;
    case V3_ELLIPSE:
        if (n != 5 && (rc = v3_need(n, 4, 1, "ellipse", w, err)))
            return rc;
        c[4] = 0; /* an optional 5th number is the rotation in radians */
        if ((rc = v3_coords(xy, c, n, w, err)))
            return rc;
        if (c[2] < 0 || c[3] < 0)
            return via_fail(err, QN_EINPUT, w, "ellipse has a negative radius");
        return via_round_shape(out, c[0], c[1], c[2], c[3], c[4]) ? oom(err, w) : QN_OK;
    case V3_POLYGON:
        if ((rc = v3_need(n, 6, 0, "polygon", w, err)) || (rc = v3_coords(xy, out->xy, n, w, err)))
            return rc;
        out->n = n / 2;
        return QN_OK;
    case V3_EXTREME_RECT: {
        if ((rc = v3_need(n, 4, 0, "extreme rectangle", w, err)) ||
            (rc = v3_coords(xy, out->xy, n, w, err)))
            return rc;
        double bb[4];
        via_bbox(out->xy, n / 2, bb);
        return set_rect(out, bb[0], bb[1], bb[2], bb[3]) ? oom(err, w) : QN_OK;
    }
    default: { /* V3_EXTREME_CIRCLE */
        double cx, cy, r;
        if ((rc = v3_need(n, 6, 0, "extreme circle", w, err)) || (rc = v3_coords(xy, c, 6, w, err)))
            return rc;
        if (!circumcircle(c, &cx, &cy, &r))
            return via_fail(err, QN_EINPUT, w, "extreme circle points are collinear (zero area)");
        return via_round_shape(out, cx, cy, r, r, 0) ? oom(err, w) : QN_OK;
    }
    }
}
