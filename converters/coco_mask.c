/* coco_mask.c — COCO run-length masks, bit-compatible with pycocotools' maskApi.c.
 *
 * Every function reproduces the reference's observable results (counts, strings,
 * areas, boxes, IoUs), including its quirks where they are observable (rleToBbox on
 * RLEs with zero-length runs, rleMerge keeping zero-length runs, rleFrPoly's 5×
 * upsampled boundary walk). Where the reference has undefined behaviour or no
 * bounds checks (0/0 slopes, over-long strings, RLEs whose runs do not cover the
 * image) we reject the input or pick the harmless reading, and say so below.
 *
 * Floating point: rleFrPoly's results depend on the exact rounding of `ys + s*t + .5`;
 * like the reference wheel we rely on the compiler not contracting it into an FMA
 * (x86-64 without -mfma never does).
 */
#include "coco_mask.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qn_error.h"

/* ---- a growable uint32 array -------------------------------------------------- */

typedef struct {
    uint32_t *v;
    size_t n, cap;
} u32vec;

static int vec_reserve(u32vec *a, size_t need)
{
    if (need <= a->cap)
        return QN_OK;
    size_t cap = a->cap ? a->cap : 16;
    while (cap < need)
        cap *= 2;
    uint32_t *v = realloc(a->v, cap * sizeof *v);
    if (!v)
        return QN_ENOMEM;
    a->v = v;
    a->cap = cap;
    return QN_OK;
}

static int vec_push(u32vec *a, uint32_t x)
{
    if (a->n == a->cap && vec_reserve(a, a->n + 1))
        return QN_ENOMEM;
    a->v[a->n++] = x;
    return QN_OK;
}

/* Hands the vector's storage to r (shrunk to fit), replacing what r held. */
static void rle_take(qn_rle *r, uint32_t h, uint32_t w, u32vec *a)
{
    qn_rle_free(r);
    r->h = h;
    r->w = w;
    r->m = a->n;
    if (a->n == 0) {
        free(a->v);
        r->cnts = NULL;
    } else {
        uint32_t *v = realloc(a->v, a->n * sizeof *v);
        r->cnts = v ? v : a->v;
    }
    a->v = NULL;
    a->n = a->cap = 0;
}

/* Sum of the counts; callers compare it with h*w. */
static uint64_t rle_sum(const qn_rle *r)
{
    uint64_t s = 0;
    for (size_t i = 0; i < r->m; i++)
        s += r->cnts[i];
    return s;
}

static int rle_well_formed(const qn_rle *r)
{
    return rle_sum(r) == (uint64_t)r->h * r->w && (r->m > 0 || (uint64_t)r->h * r->w == 0);
}

/* ---- basics ------------------------------------------------------------------- */

void qn_rle_init(qn_rle *r)
{
    r->h = r->w = 0;
    r->m = 0;
    r->cnts = NULL;
}

void qn_rle_free(qn_rle *r)
{
    if (!r)
        return;
    free(r->cnts);
    qn_rle_init(r);
}

int qn_rle_from_counts(qn_rle *r, uint32_t h, uint32_t w, const uint32_t *cnts, size_t m)
{
    uint32_t *c = NULL;
    if (m > 0) {
        if (!(c = malloc(m * sizeof *c)))
            return QN_ENOMEM;
        memcpy(c, cnts, m * sizeof *c);
    }
    qn_rle_free(r);
    r->h = h;
    r->w = w;
    r->m = m;
    r->cnts = c;
    return QN_OK;
}

/* ---- encode / decode ----------------------------------------------------------- */

#define ONES8 0x0101010101010101ULL
#define HIGHS8 0x8080808080808080ULL

/* Length of the run of bytes of the same class (zero / non-zero) starting at p;
 * skips eight bytes at a time, since masks are mostly long runs. */
static size_t class_run(const uint8_t *p, size_t n, int fg)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        int same = fg ? ((x - ONES8) & ~x & HIGHS8) == 0 : x == 0;
        if (!same)
            break;
    }
    while (i < n && (p[i] != 0) == fg)
        i++;
    return i;
}

int qn_rle_encode(qn_rle *r, const uint8_t *mask, uint32_t h, uint32_t w)
{
    size_t a = (size_t)h * w, j = 0;
    u32vec c = {0};
    int fg = 0;
    /* Runs always start with background, so a set first pixel gives a 0 count. */
    do {
        size_t n = class_run(mask + j, a - j, fg);
        if (vec_push(&c, (uint32_t)n)) {
            free(c.v);
            return QN_ENOMEM;
        }
        j += n;
        fg = !fg;
    } while (j < a);
    rle_take(r, h, w, &c);
    return QN_OK;
}

void qn_rle_decode(const qn_rle *r, uint8_t *mask)
{
    size_t a = (size_t)r->h * r->w, j = 0;
    uint8_t v = 0;
    /* Never writes past h*w, and zero-fills what short (malformed) counts leave. */
    for (size_t i = 0; i < r->m && j < a; i++, v = !v) {
        size_t n = r->cnts[i] < a - j ? r->cnts[i] : a - j;
        memset(mask + j, v, n);
        j += n;
    }
    memset(mask + j, 0, a - j);
}

/* ---- area, bbox ----------------------------------------------------------------- */

uint64_t qn_rle_area(const qn_rle *r)
{
    uint64_t s = 0;
    for (size_t i = 1; i < r->m; i += 2)
        s += r->cnts[i];
    return s;
}

/* rleToBbox of the PyPI wheel (ppwwyyxx/cocoapi), with its 32-bit unsigned
 * arithmetic: an RLE with runs but no foreground pixel gives [w, h, 1-w, 1-h]
 * wrapped to uint32 (e.g. 4294967261), and an odd trailing run is ignored. */
void qn_rle_bbox(const qn_rle *r, double bb[4])
{
    uint32_t h = r->h, w = r->w, xs = w, ys = h, xe = 0, ye = 0, cc = 0;
    size_t m = r->m / 2 * 2;
    if (m == 0) {
        bb[0] = bb[1] = bb[2] = bb[3] = 0;
        return;
    }
    for (size_t j = 0; j < m; j++) {
        uint32_t start = cc;
        cc += r->cnts[j];
        if (j % 2 == 0 || r->cnts[j] == 0 || h == 0) /* h == 0: malformed, never divide */
            continue;
        uint32_t y0 = start % h, x0 = start / h;
        uint32_t y1 = (cc - 1) % h, x1 = (cc - 1) / h;
        if (x0 < xs)
            xs = x0;
        if (x1 > xe)
            xe = x1;
        if (x0 < x1) { /* the run wraps into the next column: full height */
            ys = 0;
            ye = h - 1;
        } else {
            if (y0 < ys)
                ys = y0;
            if (y1 > ye)
                ye = y1;
        }
    }
    bb[0] = xs;
    bb[1] = ys;
    bb[2] = (uint32_t)(xe - xs + 1);
    bb[3] = (uint32_t)(ye - ys + 1);
}

/* ---- polygons ----------------------------------------------------------------- */

/* One polygon edge in rleFrPoly's 5× grid. Points are emitted for d = 0..n along
 * the major axis (x if dx >= dy); flip walks it backwards so the points keep the
 * edge's original direction while the slope is computed from the lower end. */
typedef struct {
    int xs, ys, n, xmajor, flip, zero;
    double s;
} edge;

static void edge_make(edge *e, int x0, int y0, int x1, int y1)
{
    int dx = abs(x1 - x0), dy = abs(y0 - y1);
    e->xmajor = dx >= dy;
    e->flip = (e->xmajor && x0 > x1) || (!e->xmajor && y0 > y1);
    if (e->flip) {
        int t = x0; x0 = x1; x1 = t;
        t = y0; y0 = y1; y1 = t;
    }
    e->xs = x0;
    e->ys = y0;
    e->n = e->xmajor ? dx : dy;
    /* A zero-length edge makes the reference divide 0 by 0; its single point shares
     * u with both neighbours, so it is never used: any finite value will do. */
    e->zero = dx == 0 && dy == 0;
    e->s = e->zero ? 0 : e->xmajor ? (double)(y1 - y0) / dx : (double)(x1 - x0) / dy;
}

static void edge_point(const edge *e, int d, int *u, int *v)
{
    int t = e->flip ? e->n - d : d;
    if (e->xmajor) {
        *u = t + e->xs;
        *v = (int)(e->ys + e->s * t + .5);
    } else {
        *v = t + e->ys;
        *u = (int)(e->xs + e->s * t + .5);
    }
}

static int edge_u(const edge *e, int d)
{
    int u, v;
    edge_point(e, d, &u, &v);
    return u;
}

/* u is monotone in d along an edge; returns the first d in [lo, hi] whose u is
 * >= x (rising) or <= x (falling), or hi + 1. */
static int edge_search(const edge *e, int lo, int hi, int x, int rising)
{
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, u = edge_u(e, mid);
        if (rising ? u >= x : u <= x)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return lo;
}

/* The d range of an edge whose points can become toggles: a point is kept only if
 * it and its predecessor both have u in [2, 5w-2] (the column test below), so
 * points far outside the image are skipped without walking them. */
static void edge_range(const edge *e, uint32_t w, int *d0, int *d1)
{
    int lo = 2, hi = (int)(5 * (int64_t)w - 2 > 0x3fffffff ? 0x3fffffff : 5 * (int64_t)w - 2);
    int rising = edge_u(e, e->n) >= edge_u(e, 0);
    if (rising) {
        *d0 = edge_search(e, 0, e->n, lo, 1);
        *d1 = edge_search(e, *d0, e->n, hi + 1, 1) - 1;
    } else {
        *d0 = edge_search(e, 0, e->n, hi, 0);
        *d1 = edge_search(e, *d0, e->n, lo - 1, 0) - 1;
    }
}

/* The reference's boundary test for consecutive points (pu,pv) -> (u,v): a step
 * in u through a pixel column's sample line toggles that column at row ceil(yd). */
static int poly_toggle(u32vec *a, int pu, int pv, int u, int v, uint32_t h, uint32_t w)
{
    if (u == pu)
        return QN_OK;
    double xd = (double)(u < pu ? u : u - 1);
    xd = (xd + .5) / 5 - .5;
    if (floor(xd) != xd || xd < 0 || xd > (double)w - 1)
        return QN_OK;
    double yd = (double)(v < pv ? v : pv);
    yd = (yd + .5) / 5 - .5;
    if (yd < 0)
        yd = 0;
    else if (yd > h)
        yd = h;
    yd = ceil(yd);
    return vec_push(a, (uint32_t)((int64_t)(int)xd * h + (int)yd));
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x > y ? 1 : x < y ? -1 : 0;
}

/* Sorted toggle positions -> counts, exactly as the reference: differences, where a
 * zero difference (two toggles at one pixel) folds the next difference into the
 * previous count. The last position is h*w. */
static int toggles_to_rle(qn_rle *r, u32vec *a, uint32_t h, uint32_t w)
{
    qsort(a->v, a->n, sizeof *a->v, cmp_u32);
    uint32_t p = 0;
    for (size_t j = 0; j < a->n; j++) {
        uint32_t t = a->v[j];
        a->v[j] -= p;
        p = t;
    }
    size_t m = 0, j = 0, k = a->n;
    a->v[m++] = a->v[j++];
    while (j < k) {
        if (a->v[j] > 0) {
            a->v[m++] = a->v[j++];
        } else {
            j++;
            if (j < k)
                a->v[m - 1] += a->v[j++];
        }
    }
    a->n = m;
    rle_take(r, h, w, a);
    return QN_OK;
}

/* Coordinates beyond this overflow the reference's int arithmetic. */
#define POLY_COORD_MAX 1e8

int qn_rle_from_poly(qn_rle *r, const double *xy, size_t k, uint32_t h, uint32_t w)
{
    if ((uint64_t)h * w > UINT32_MAX)
        return QN_EINPUT;
    for (size_t j = 0; j < 2 * k; j++)
        if (!(fabs(xy[j]) <= POLY_COORD_MAX))
            return QN_EINPUT;
    u32vec a = {0};
    int have_prev = 0, pu = 0, pv = 0, rc = QN_OK;
    for (size_t j = 0; j < k && rc == QN_OK; j++) {
        size_t j1 = j + 1 < k ? j + 1 : 0;
        edge e;
        edge_make(&e, (int)(5 * xy[2 * j] + .5), (int)(5 * xy[2 * j + 1] + .5),
                  (int)(5 * xy[2 * j1] + .5), (int)(5 * xy[2 * j1 + 1] + .5));
        int d0, d1;
        edge_range(&e, w, &d0, &d1);
        if (d0 > 0) { /* the predecessor of the first walked point */
            edge_point(&e, d0 - 1, &pu, &pv);
            have_prev = 1;
        }
        for (int d = d0; d <= d1 && rc == QN_OK; d++) {
            int u, v;
            edge_point(&e, d, &u, &v);
            if (have_prev)
                rc = poly_toggle(&a, pu, pv, u, v, h, w);
            pu = u;
            pv = v;
            have_prev = 1;
        }
        /* the edge's last point precedes the next edge's first */
        edge_point(&e, e.n, &pu, &pv);
        have_prev = 1;
    }
    if (rc == QN_OK)
        rc = vec_push(&a, h * w);
    if (rc == QN_OK)
        rc = toggles_to_rle(r, &a, h, w);
    free(a.v);
    return rc;
}

int qn_rle_from_bbox(qn_rle *r, const double bb[4], uint32_t h, uint32_t w)
{
    double xs = bb[0], xe = xs + bb[2], ys = bb[1], ye = ys + bb[3];
    double xy[8] = {xs, ys, xs, ye, xe, ye, xe, ys};
    return qn_rle_from_poly(r, xy, 4, h, w);
}

/* ---- strings ------------------------------------------------------------------ */

/* Each count (from the fourth on, its difference to the count two before) is
 * written as little-endian 5-bit groups in chars '0'..'o'; 0x20 marks "more
 * follows" and 0x10 of the last group is the sign. */
char *qn_rle_to_string(const qn_rle *r)
{
    char *s = malloc(r->m * 7 + 1); /* 7 groups cover any difference of uint32s */
    size_t p = 0;
    if (!s)
        return NULL;
    for (size_t i = 0; i < r->m; i++) {
        int64_t x = (int64_t)r->cnts[i];
        if (i > 2)
            x -= (int64_t)r->cnts[i - 2];
        int more = 1;
        while (more) {
            int c = (int)(x & 0x1f);
            x >>= 5; /* arithmetic shift: gcc and clang define it so */
            more = (c & 0x10) ? x != -1 : x != 0;
            if (more)
                c |= 0x20;
            s[p++] = (char)(c + 48);
        }
    }
    s[p] = 0;
    return s;
}

/* Reads one group-coded number at *p; QN_EINPUT on a character outside '0'..'o',
 * a string that ends mid-number, or more groups than a uint32 difference needs. */
static int read_number(const char **p, int64_t *out)
{
    int64_t x = 0;
    int k = 0, more = 1;
    while (more) {
        int c = (unsigned char)**p;
        if (c < 48 || c > 111 || k >= 7)
            return QN_EINPUT;
        c -= 48;
        x |= (int64_t)(c & 0x1f) << (5 * k);
        more = c & 0x20;
        (*p)++;
        k++;
        if (!more && (c & 0x10))
            x |= (int64_t)-1 * ((int64_t)1 << (5 * k));
    }
    *out = x;
    return QN_OK;
}

int qn_rle_from_string(qn_rle *r, const char *s, uint32_t h, uint32_t w)
{
    uint64_t a = (uint64_t)h * w, sum = 0;
    size_t len = strlen(s);
    u32vec c = {0};
    if (vec_reserve(&c, len ? len : 1))
        return QN_ENOMEM;
    const char *p = s;
    while (*p) {
        int64_t x;
        if (read_number(&p, &x))
            goto bad;
        if (c.n > 2)
            x += c.v[c.n - 2];
        if (x < 0 || (uint64_t)x > a - sum) /* a run past h*w */
            goto bad;
        sum += (uint64_t)x;
        c.v[c.n++] = (uint32_t)x;
    }
    /* Runs that stop short of h*w are accepted, as pycocotools does (decode
     * zero-fills the rest); merge and IoU reject them. */
    rle_take(r, h, w, &c);
    return QN_OK;
bad:
    free(c.v);
    return QN_EINPUT;
}

/* ---- merge and IoU ----------------------------------------------------------- */

/* Walks two RLEs' runs side by side (the reference's loop): calls back with each
 * stretch where neither changes, including the zero-length stretches that
 * zero-length runs create. Both must sum to the same total. */
typedef struct {
    const uint32_t *c;
    size_t m, i;
    uint32_t left;
    int v;
} runwalk;

static void walk_init(runwalk *k, const qn_rle *r)
{
    k->c = r->cnts;
    k->m = r->m;
    k->i = 1;
    k->left = r->m ? r->cnts[0] : 0;
    k->v = 0;
}

/* Consumes c from the current run and steps to the next run if it is used up. */
static uint32_t walk_take(runwalk *k, uint32_t c)
{
    k->left -= c;
    if (!k->left && k->i < k->m) {
        k->left = k->c[k->i++];
        k->v = !k->v;
    }
    return k->left;
}

static int merge2(u32vec *out, const qn_rle *A, const qn_rle *B, int intersect)
{
    runwalk a, b;
    walk_init(&a, A);
    walk_init(&b, B);
    u32vec o = {0};
    if (vec_reserve(&o, A->m + B->m + 1))
        return QN_ENOMEM;
    uint32_t cc = 0, ct = 1;
    int v = 0;
    while (ct > 0) {
        uint32_t c = a.left < b.left ? a.left : b.left;
        cc += c;
        ct = walk_take(&a, c);
        ct += walk_take(&b, c);
        int vp = v;
        v = intersect ? (a.v && b.v) : (a.v || b.v);
        if (v != vp || ct == 0) {
            if (o.n == o.cap && vec_reserve(&o, o.n + 1)) {
                free(o.v);
                return QN_ENOMEM;
            }
            o.v[o.n++] = cc;
            cc = 0;
        }
    }
    free(out->v);
    *out = o;
    return QN_OK;
}

int qn_rle_merge(qn_rle *out, const qn_rle *rles, size_t n, int intersect)
{
    if (n == 0) {
        qn_rle_free(out);
        return QN_OK;
    }
    for (size_t i = 0; i < n; i++)
        if (!rle_well_formed(&rles[i]) || rles[i].h != rles[0].h || rles[i].w != rles[0].w) {
            qn_rle_free(out); /* the reference gives an empty 0×0 RLE */
            return QN_EINPUT;
        }
    u32vec acc = {0};
    qn_rle cur = rles[0];
    int rc = QN_OK;
    if (n == 1)
        return qn_rle_from_counts(out, cur.h, cur.w, cur.cnts, cur.m);
    for (size_t i = 1; i < n && rc == QN_OK; i++) {
        rc = merge2(&acc, &cur, &rles[i], intersect);
        cur.cnts = acc.v;
        cur.m = acc.n;
    }
    if (rc != QN_OK) {
        free(acc.v);
        return rc;
    }
    rle_take(out, rles[0].h, rles[0].w, &acc);
    return QN_OK;
}

/* The reference's bbIou: box overlap over union (or over the dt box for crowd gt). */
static double bb_iou(const double D[4], const double G[4], int crowd)
{
    double ga = G[2] * G[3], da = D[2] * D[3];
    double w = fmin(D[2] + D[0], G[2] + G[0]) - fmax(D[0], G[0]);
    if (w <= 0)
        return 0;
    double h = fmin(D[3] + D[1], G[3] + G[1]) - fmax(D[1], G[1]);
    if (h <= 0)
        return 0;
    double i = w * h, u = crowd ? da : da + ga - i;
    return i / u;
}

static double rle_iou1(const qn_rle *d, const qn_rle *g, int crowd)
{
    runwalk a, b;
    walk_init(&a, d);
    walk_init(&b, g);
    uint32_t i = 0, u = 0, ct = 1;
    while (ct > 0) {
        uint32_t c = a.left < b.left ? a.left : b.left;
        if (a.v || b.v) {
            u += c;
            if (a.v && b.v)
                i += c;
        }
        ct = walk_take(&a, c);
        ct += walk_take(&b, c);
    }
    if (i == 0)
        u = 1;
    else if (crowd)
        u = (uint32_t)qn_rle_area(d);
    return (double)i / (double)u;
}

int qn_rle_iou(const qn_rle *dt, size_t m, const qn_rle *gt, size_t n,
               const uint8_t *iscrowd, double *o)
{
    for (size_t i = 0; i < m; i++)
        if (!rle_well_formed(&dt[i]))
            return QN_EINPUT;
    for (size_t j = 0; j < n; j++)
        if (!rle_well_formed(&gt[j]))
            return QN_EINPUT;
    for (size_t j = 0; j < n; j++) {
        double gb[4];
        int crowd = iscrowd && iscrowd[j];
        qn_rle_bbox(&gt[j], gb);
        for (size_t i = 0; i < m; i++) {
            double db[4];
            qn_rle_bbox(&dt[i], db);
            double v = bb_iou(db, gb, crowd);
            /* like the reference, boxes that do not overlap give 0 before sizes
             * are compared */
            if (v > 0)
                v = (dt[i].h != gt[j].h || dt[i].w != gt[j].w) ? -1 : rle_iou1(&dt[i], &gt[j], crowd);
            o[i + m * j] = v;
        }
    }
    return QN_OK;
}

/* ---- label images: every id's RLE in one pass --------------------------------- */

/* A change of label down a column: at row y of column x the label becomes lab.
 * Found row by row (streaming through the row-major image, comparing each row
 * with the one above eight pixels at a time), then bucketed by column with a
 * counting sort, so the per-id RLEs can be built in column-major order without
 * transposing the image or comparing it once per id. */
typedef struct {
    uint32_t x, y;
    uint16_t lab;
} lab_change;

typedef struct {
    lab_change *v;
    size_t n, cap;
} change_vec;

static int change_push(change_vec *c, uint32_t x, uint32_t y, uint16_t lab)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4096;
        lab_change *v = realloc(c->v, cap * sizeof *v);
        if (!v)
            return QN_ENOMEM;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = (lab_change){x, y, lab};
    return QN_OK;
}

/* Appends the changes between row and the row above it. */
static int row_changes(change_vec *c, uint32_t *colcnt, const uint16_t *row,
                       const uint16_t *up, uint32_t y, uint32_t w)
{
    uint32_t x = 0;
    for (; x + 16 <= w; x += 16) {
        uint64_t a[4], b[4];
        memcpy(a, row + x, 32);
        memcpy(b, up + x, 32);
        if (((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0)
            continue; /* the common case: runs go on down all 16 columns */
        for (uint32_t k = x; k < x + 16; k++)
            if (row[k] != up[k]) {
                if (change_push(c, k, y, row[k]))
                    return QN_ENOMEM;
                colcnt[k]++;
            }
    }
    for (; x < w; x++)
        if (row[x] != up[x]) {
            if (change_push(c, x, y, row[x]))
                return QN_ENOMEM;
            colcnt[x]++;
        }
    return QN_OK;
}

/* Per-id RLE under construction. */
typedef struct {
    u32vec c;
    uint32_t end; /* column-major index just past the id's last foreground run */
} id_rle;

typedef struct {
    int32_t *slot;   /* 65536 entries: id -> index in ids, or -1 */
    id_rle *ids;
    uint32_t *idval; /* the id of each slot */
    size_t n, cap;
    uint32_t min_id;
} id_table;

/* Adds foreground run [p, p+n) to id lab's RLE; a run that starts where the
 * previous one ended (bottom of a column, top of the next) extends it. */
static int id_add_run(id_table *t, uint16_t lab, uint32_t p, uint32_t n)
{
    if (lab < t->min_id)
        return QN_OK;
    int32_t s = t->slot[lab];
    if (s < 0) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? 2 * t->cap : 64;
            id_rle *v = realloc(t->ids, cap * sizeof *v);
            if (!v)
                return QN_ENOMEM;
            t->ids = v;
            uint32_t *iv = realloc(t->idval, cap * sizeof *iv);
            if (!iv)
                return QN_ENOMEM;
            t->idval = iv;
            t->cap = cap;
        }
        s = t->slot[lab] = (int32_t)t->n;
        t->ids[s] = (id_rle){{0}, 0};
        t->idval[s] = lab;
        t->n++;
    }
    id_rle *r = &t->ids[s];
    if (r->c.n > 0 && r->end == p) {
        r->c.v[r->c.n - 1] += n;
    } else {
        if (vec_reserve(&r->c, r->c.n + 2))
            return QN_ENOMEM;
        r->c.v[r->c.n++] = p - r->end;
        r->c.v[r->c.n++] = n;
    }
    r->end = p + n;
    return QN_OK;
}

/* Walks column x's runs (first label from row 0, then its changes) in order. */
static int column_runs(id_table *t, const uint16_t *row0, const lab_change *ch, size_t nch,
                       uint32_t x, uint32_t h)
{
    uint16_t cur = row0[x];
    uint32_t y0 = 0, base = x * h;
    for (size_t i = 0; i < nch; i++) {
        if (id_add_run(t, cur, base + y0, ch[i].y - y0))
            return QN_ENOMEM;
        cur = ch[i].lab;
        y0 = ch[i].y;
    }
    return id_add_run(t, cur, base + y0, h - y0);
}

static void id_table_free(id_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->ids[i].c.v);
    free(t->ids);
    free(t->idval);
    free(t->slot);
}

/* Moves the finished RLEs into out in ascending id order. */
static int id_table_output(qn_label_rles *out, id_table *t, uint32_t h, uint32_t w)
{
    uint32_t a = h * w;
    out->ids = t->n ? malloc(t->n * sizeof *out->ids) : NULL;
    out->rles = t->n ? malloc(t->n * sizeof *out->rles) : NULL;
    if (t->n && (!out->ids || !out->rles)) {
        free(out->ids);
        free(out->rles);
        out->ids = NULL;
        out->rles = NULL;
        return QN_ENOMEM;
    }
    size_t k = 0;
    for (uint32_t id = t->min_id; id < 65536 && k < t->n; id++) {
        int32_t s = t->slot[id];
        if (s < 0)
            continue;
        id_rle *r = &t->ids[s];
        if (r->end < a && vec_push(&r->c, a - r->end)) {
            for (size_t i = 0; i < k; i++)
                qn_rle_free(&out->rles[i]);
            free(out->ids);
            free(out->rles);
            out->ids = NULL;
            out->rles = NULL;
            return QN_ENOMEM;
        }
        out->ids[k] = id;
        qn_rle_init(&out->rles[k]);
        rle_take(&out->rles[k], h, w, &r->c);
        k++;
    }
    out->n = k;
    return QN_OK;
}

int qn_rle_from_labels(qn_label_rles *out, const uint16_t *labels, uint32_t h, uint32_t w,
                       uint32_t min_id)
{
    out->n = 0;
    out->ids = NULL;
    out->rles = NULL;
    if ((uint64_t)h * w > UINT32_MAX)
        return QN_EINPUT;
    if (h == 0 || w == 0 || min_id > 65535)
        return QN_OK;
    change_vec ch = {0};
    id_table t = {0};
    t.min_id = min_id;
    uint32_t *colcnt = calloc((size_t)w + 1, sizeof *colcnt);
    lab_change *bycol = NULL;
    int rc = colcnt ? QN_OK : QN_ENOMEM;
    for (uint32_t y = 1; y < h && rc == QN_OK; y++)
        rc = row_changes(&ch, colcnt, labels + (size_t)y * w, labels + (size_t)(y - 1) * w, y, w);
    if (rc == QN_OK && ch.n && !(bycol = malloc(ch.n * sizeof *bycol)))
        rc = QN_ENOMEM;
    if (rc == QN_OK) { /* counting sort by column; rows stay ascending within one */
        uint32_t sum = 0;
        for (uint32_t x = 0; x <= w; x++) {
            uint32_t c = colcnt[x];
            colcnt[x] = sum;
            sum += c;
        }
        for (size_t i = 0; i < ch.n; i++)
            bycol[colcnt[ch.v[i].x]++] = ch.v[i];
        /* colcnt[x] now ends column x's changes; column x starts where x-1 ended */
        t.slot = malloc(65536 * sizeof *t.slot);
        rc = t.slot ? QN_OK : QN_ENOMEM;
        if (t.slot)
            memset(t.slot, 0xff, 65536 * sizeof *t.slot);
    }
    for (uint32_t x = 0; x < w && rc == QN_OK; x++) {
        uint32_t b = x ? colcnt[x - 1] : 0;
        rc = column_runs(&t, labels, bycol + b, colcnt[x] - b, x, h);
    }
    if (rc == QN_OK)
        rc = id_table_output(out, &t, h, w);
    id_table_free(&t);
    free(bycol);
    free(colcnt);
    free(ch.v);
    return rc;
}

void qn_label_rles_free(qn_label_rles *out)
{
    if (!out)
        return;
    for (size_t i = 0; i < out->n; i++)
        qn_rle_free(&out->rles[i]);
    free(out->rles);
    free(out->ids);
    out->n = 0;
    out->rles = NULL;
    out->ids = NULL;
}
