/* cityscapes_poly.c — see cityscapes_poly.h. The fill follows Pillow 13.0's
 * ImagingDrawPolygon + polygon_generic (non-alpha path) step by step, in float where
 * Pillow uses float, so the same pixels come out. */
#include "cityscapes_poly.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cityscapes_labels.h"
#include "png16.h"

/* Pillow's rounding: half away from zero (up) / half toward zero (down). */
#define ROUND_UP(f) ((int)((f) >= 0.0 ? floor((f) + 0.5F) : -floor(fabs(f) + 0.5F)))
#define ROUND_DOWN(f) ((int)((f) >= 0.0 ? ceil((f) - 0.5F) : -ceil(fabs(f) - 0.5F)))

typedef struct edge {
    int x0, y0, xmin, ymin, xmax, ymax;
    float dx;
} edge;

void cs_canvas_free(cs_canvas *c)
{
    if (!c)
        return;
    free(c->px);
    memset(c, 0, sizeof *c);
}

static void add_edge(edge *e, int x0, int y0, int x1, int y1)
{
    e->xmin = x0 <= x1 ? x0 : x1;
    e->xmax = x0 <= x1 ? x1 : x0;
    e->ymin = y0 <= y1 ? y0 : y1;
    e->ymax = y0 <= y1 ? y1 : y0;
    e->dx = y0 == y1 ? 0.0f : ((float)(x1 - x0)) / (y1 - y0);
    e->x0 = x0;
    e->y0 = y0;
}

/* hline32 with clipping (x1 inclusive). */
static void hline(uint16_t *px, uint32_t w, uint32_t h, int x0, int y, int x1, uint16_t ink)
{
    if (y < 0 || y >= (int)h)
        return;
    if (x0 < 0)
        x0 = 0;
    else if (x0 >= (int)w)
        return;
    if (x1 < 0)
        return;
    if (x1 >= (int)w)
        x1 = (int)w - 1;
    uint16_t *p = px + (size_t)y * w;
    for (; x0 <= x1; x0++)
        p[x0] = ink;
}

static int x_cmp(const void *a, const void *b)
{
    float d = *(const float *)a - *(const float *)b;
    return d < 0 ? -1 : d > 0 ? 1 : 0;
}

/* Pillow's "connect discontiguous corners" fix-up for intersection xx[j-1] of edge
 * `cur` (index i in the table) at scanline y. */
static void join_corner(edge **tab, int i, int y, float *xj)
{
    edge *cur = tab[i];
    for (int k = 0; k < i; k++) {
        edge *o = tab[k];
        if ((y != o->ymin && y != o->ymax) || o->dx == 0)
            continue;
        if (roundf(*xj) != roundf((y - o->y0) * o->dx + o->x0))
            continue;
        int off = y == cur->ymax ? -1 : 1;
        float adj = (y + off - cur->y0) * cur->dx + cur->x0;
        if (y + off >= o->ymin && y + off <= o->ymax) {
            float adj_o = (y + off - o->y0) * o->dx + o->x0;
            if (*xj > adj + 1 && *xj > adj_o + 1)
                *xj = roundf(fmax(adj, adj_o)) + 1;
            else if (*xj < adj - 1 && *xj < adj_o - 1)
                *xj = roundf(fmin(adj, adj_o)) - 1;
            break;
        }
    }
}

static int polygon_generic(uint16_t *px, uint32_t w, uint32_t h, edge *e, int n, uint16_t ink)
{
    if (n <= 0)
        return QN_OK;
    edge **tab = calloc((size_t)n, sizeof *tab);
    float *xx = calloc((size_t)n * 2 + 1, sizeof *xx);
    if (!tab || !xx) {
        free(tab);
        free(xx);
        return QN_ENOMEM;
    }
    int count = 0, ymin = (int)h - 1, ymax = 0;
    for (int i = 0; i < n; i++) {
        if (ymin > e[i].ymin)
            ymin = e[i].ymin;
        if (ymax < e[i].ymax)
            ymax = e[i].ymax;
        if (e[i].ymin == e[i].ymax) { /* horizontal edges are drawn as they are */
            hline(px, w, h, e[i].xmin, e[i].ymin, e[i].xmax, ink);
            continue;
        }
        tab[count++] = e + i;
    }
    if (ymin < 0)
        ymin = 0;
    if (ymax > (int)h)
        ymax = (int)h;
    for (; ymin <= ymax; ymin++) {
        int j = 0;
        for (int i = 0; i < count; i++) {
            edge *cur = tab[i];
            if (ymin < cur->ymin || ymin > cur->ymax)
                continue;
            xx[j++] = (ymin - cur->y0) * cur->dx + cur->x0;
            if (ymin == cur->ymax && ymin < ymax) {
                xx[j] = xx[j - 1];
                j++;
            } else if ((ymin == cur->ymin || ymin == cur->ymax) && cur->dx != 0) {
                join_corner(tab, i, ymin, &xx[j - 1]);
            }
        }
        qsort(xx, (size_t)j, sizeof(float), x_cmp);
        for (int i = 1; i < j; i += 2)
            hline(px, w, h, ROUND_UP(xx[i - 1]), ymin, ROUND_DOWN(xx[i]), ink);
    }
    free(xx);
    free(tab);
    return QN_OK;
}

int cs_poly_fill(uint16_t *px, uint32_t w, uint32_t h, const int *xy, size_t count, uint16_t ink)
{
    if (count == 0)
        return QN_OK;
    edge *e = calloc(count, sizeof *e);
    if (!e)
        return QN_ENOMEM;
    size_t i, n = 0;
    for (i = 0; i < count - 1; i++) {
        int x0 = xy[i * 2], y0 = xy[i * 2 + 1], x1 = xy[i * 2 + 2], y1 = xy[i * 2 + 3];
        if (y0 == y1 && i != 0 && y0 == xy[i * 2 - 1] && n > 0) {
            /* a horizontal edge right after another one extends it */
            edge *last = &e[n - 1];
            if (x1 > x0 && x0 > xy[i * 2 - 2]) {
                last->xmax = x1;
                continue;
            } else if (x1 < x0 && x0 < xy[i * 2 - 2]) {
                last->xmin = x1;
                continue;
            }
        }
        add_edge(&e[n++], x0, y0, x1, y1);
    }
    if (xy[i * 2] != xy[0] || xy[i * 2 + 1] != xy[1])
        add_edge(&e[n++], xy[i * 2], xy[i * 2 + 1], xy[0], xy[1]);
    int rc = polygon_generic(px, w, h, e, (int)n, ink);
    free(e);
    return rc;
}

/* Python truthiness of a JSON value (json2instanceImg: `if obj.deleted: continue`). */
static int truthy(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return json_object_size(v) != 0;
    case JSON_ARRAY: return json_array_size(v) != 0;
    case JSON_STRING: return json_string_length(v) != 0;
    case JSON_INTEGER: return json_integer_value(v) != 0;
    case JSON_REAL: return json_real_value(v) != 0.0;
    case JSON_TRUE: return 1;
    default: return 0;
    }
}

static int get_size(json_t *root, const char *key, uint32_t *out, const char *path,
                    qn_error *err)
{
    json_t *v = json_object_get(root, key);
    if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > 65535)
        return qn_error_set(err, QN_EINPUT, "%s: '%s' missing or not a positive integer",
                            path, key);
    *out = (uint32_t)json_integer_value(v);
    return QN_OK;
}

/* The polygon of object i as integer vertices (Pillow truncates toward zero). */
static int get_polygon(json_t *poly, int **xy, size_t *cap, size_t *n, const char *path,
                       size_t i, qn_error *err)
{
    if (!json_is_array(poly))
        return qn_error_set(err, QN_EINPUT, "%s: object %zu: 'polygon' missing or not a list",
                            path, i);
    size_t k = json_array_size(poly);
    if (2 * k + 2 > *cap) {
        int *p = realloc(*xy, (2 * k + 2) * sizeof *p);
        if (!p)
            return qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
        *xy = p;
        *cap = 2 * k + 2;
    }
    for (size_t j = 0; j < k; j++) {
        json_t *pt = json_array_get(poly, j);
        for (int c = 0; c < 2; c++) {
            json_t *v = json_is_array(pt) && json_array_size(pt) >= 2 ? json_array_get(pt, c)
                                                                      : NULL;
            double d = json_is_number(v) ? json_number_value(v) : NAN;
            if (!(fabs(d) <= 1e6)) /* keeps Pillow's int and float arithmetic in range */
                return qn_error_set(err, QN_EINPUT, "%s: object %zu: point %zu is not a pair "
                                    "of numbers within +-1e6", path, i, j);
            (*xy)[2 * j + c] = (int)d;
        }
    }
    *n = k;
    return QN_OK;
}

static int render(json_t *root, cs_canvas *c, const char *path, qn_error *err)
{
    uint32_t w = 0, h = 0;
    if (!json_is_object(root))
        return qn_error_set(err, QN_EINPUT, "%s: top level is not an object", path);
    int rc = get_size(root, "imgWidth", &w, path, err);
    if (!rc)
        rc = get_size(root, "imgHeight", &h, path, err);
    if (rc)
        return rc;
    json_t *objs = json_object_get(root, "objects");
    if (!json_is_array(objs))
        return qn_error_set(err, QN_EINPUT, "%s: 'objects' missing or not a list", path);
    size_t npx = (size_t)w * h;
    if (npx > QN_PNG16_MAX_PIXELS) /* the same bound the PNG route has */
        return qn_error_set(err, QN_EINPUT, "%s: image too large (%ux%u)", path, w, h);
    if (npx > c->cap) {
        uint16_t *p = realloc(c->px, npx * sizeof *p);
        if (!p)
            return qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
        c->px = p;
        c->cap = npx;
    }
    c->w = w;
    c->h = h;
    memset(c->px, 0, npx * sizeof *c->px); /* 'unlabeled' */
    unsigned ninst[34] = {0};
    int *xy = NULL;
    size_t cap = 0, n = 0;
    for (size_t i = 0; i < json_array_size(objs) && !rc; i++) {
        json_t *o = json_array_get(objs, i), *lab = json_object_get(o, "label");
        if (!json_is_object(o) || !json_is_string(lab)) {
            rc = qn_error_set(err, QN_EINPUT, "%s: object %zu: 'label' missing or not a "
                              "string", path, i);
            break;
        }
        json_t *del = json_object_get(o, "deleted");
        rc = get_polygon(json_object_get(o, "polygon"), &xy, &cap, &n, path, i, err);
        if (rc || (del && truthy(del)))
            continue;
        const char *name = json_string_value(lab);
        const cs_label *L = cs_label_by_name(name);
        int group = 0;
        size_t len = strlen(name);
        if (!L && len > 5 && strcmp(name + len - 5, "group") == 0) {
            char base[64];
            if (len - 5 < sizeof base) {
                memcpy(base, name, len - 5);
                base[len - 5] = '\0';
                L = cs_label_by_name(base);
                group = 1;
            }
        }
        if (!L) {
            rc = qn_error_set(err, QN_EINPUT, "%s: object %zu: unknown label '%s'", path, i,
                              name);
            break;
        }
        long id = L->id;
        if (L->has_instances && !group)
            id = id * 1000 + ninst[L->id]++;
        if (id < 0)
            continue;
        if (n < 2) { /* Pillow: "coordinate list must contain at least 2 coordinates" */
            rc = qn_error_set(err, QN_EINPUT, "%s: object %zu: polygon has %zu point%s, needs "
                              "at least 2", path, i, n, n == 1 ? "" : "s");
            break;
        }
        if (id > 65535) {
            rc = qn_error_set(err, QN_EINPUT, "%s: object %zu: instance id %ld does not fit "
                              "16 bits", path, i, id);
            break;
        }
        if (cs_poly_fill(c->px, w, h, xy, n, (uint16_t)id) != QN_OK)
            rc = qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
    }
    free(xy);
    return rc;
}

int cs_poly_render(const char *path, cs_canvas *c, qn_error *err)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        if (je.line < 0)
            return qn_error_set(err, QN_EINPUT, "%s: %s", path, je.text);
        return qn_error_set(err, QN_EINPUT, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    }
    int rc = render(root, c, path, err);
    json_decref(root);
    return rc;
}
