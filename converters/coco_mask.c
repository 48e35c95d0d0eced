/* coco_mask.c — COCO run-length masks, bit-compatible with pycocotools' maskApi.c.
 *
 * Every function reproduces the reference's observable results (counts, strings,
 * areas, boxes, IoUs), including its quirks where they are observable (rleToBbox on
 * RLEs with zero-length runs, rleMerge keeping zero-length runs, rleFrPoly's 5×
 * upsampled boundary walk). Where the reference has undefined behaviour or no
 * bounds checks (0/0 slopes, over-long strings, RLEs whose runs do not cover the
 * image) we reject the input or pick the harmless reading, and say so below.
 *
 * Where we differ, on input pycocotools mishandles: qn_rle_from_string rejects bad
 * characters, truncated numbers and runs past h*w (pycocotools reads past them);
 * merge and IoU reject RLEs whose runs do not sum to h*w (pycocotools can loop
 * forever on them); differences of 2^30 or more are decoded exactly (pycocotools'
 * int shifts overflow); polygons with non-finite or huge (> 1e8) coordinates and
 * images of more than 2^32 - 1 pixels are QN_EINPUT.
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
    if ((uint64_t)h * w > UINT32_MAX) /* runs are uint32 */
        return QN_EINPUT;
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

/* rleFrPoly in the reference: vertices are scaled by 5 and rounded; each edge is
 * walked one grid step at a time along its major axis, giving max(|dx|,|dy|)+1
 * points (u, v); then every pair of consecutive points whose u differ and whose
 * lower u is 5c+2 (the sample line of pixel column c, 0 <= c < w) toggles column c
 * at row ceil(clamp((min(v)+.5)/5 - .5, 0, h)). The toggles, sorted, are the run
 * boundaries (even-odd fill per column).
 *
 * Only those pairs matter, so instead of walking every point we go straight to
 * them: on an edge walked along x (|dx| >= |dy|) u steps by exactly 1, so column
 * c's pair is at a known step; on an edge walked along y, u changes at most |dx|
 * times and is monotone, so each column's crossing is guessed from the slope and
 * settled by evaluating the reference's own rounding around the guess.
 * Toggles are sorted afterwards, so their order does not matter. The points, the
 * rounding and the double arithmetic are the reference's. */
typedef struct {
    int xs, ys, n, xmajor;
    double s;
} edge;

/* Edge from (x0,y0) to (x1,y1), oriented so that its major coordinate rises (the
 * reference swaps the ends the same way; the walk order does not matter here). */
static void edge_make(edge *e, int x0, int y0, int x1, int y1)
{
    int dx = abs(x1 - x0), dy = abs(y0 - y1);
    e->xmajor = dx >= dy;
    if ((e->xmajor && x0 > x1) || (!e->xmajor && y0 > y1)) {
        int t = x0; x0 = x1; x1 = t;
        t = y0; y0 = y1; y1 = t;
    }
    e->xs = x0;
    e->ys = y0;
    e->n = e->xmajor ? dx : dy;
    /* A zero-length edge makes the reference divide 0 by 0; its single point shares
     * u with both neighbours, so it never toggles: any finite slope will do. */
    e->s = e->n == 0 ? 0 : e->xmajor ? (double)(y1 - y0) / dx : (double)(x1 - x0) / dy;
}

/* The point t steps from the edge's lower end. */
static void edge_point(const edge *e, int t, int *u, int *v)
{
    if (e->xmajor) {
        *u = t + e->xs;
        *v = (int)(e->ys + e->s * t + .5);
    } else {
        *v = t + e->ys;
        *u = (int)(e->xs + e->s * t + .5);
    }
}

static int edge_u(const edge *e, int t)
{
    int u, v;
    edge_point(e, t, &u, &v);
    return u;
}

/* The reference's row for a boundary pair whose lower v is vmin:
 * ceil(clamp((vmin + .5)/5 - .5, 0, h)). In doubles (vmin + .5)/5 - .5 is exactly
 * (vmin - 2)/5 when that is an integer and otherwise at least 0.2 away from one,
 * so integer arithmetic gives the same row. */
static uint32_t toggle_row(int vmin, uint32_t h)
{
    if (vmin <= 2)
        return 0;
    uint64_t row = ((uint64_t)vmin + 2) / 5; /* ceil((vmin - 2) / 5) */
    return row > h ? h : (uint32_t)row;
}

/* Toggle positions (column-major pixel indices) with the bucket each sorts into:
 * its column, or the next one when the row is h (the index is then the next
 * column's first pixel), so bucket order is index order. */
typedef struct {
    u32vec key, bucket;
    uint32_t bmin, bmax;
} toggles;

static int add_toggle(toggles *tg, uint32_t c, int vmin, uint32_t h)
{
    uint32_t row = toggle_row(vmin, h), b = c + (row == h);
    if (vec_push(&tg->key, c * h + row) || vec_push(&tg->bucket, b))
        return QN_ENOMEM;
    if (tg->key.n == 1 || b < tg->bmin)
        tg->bmin = b;
    if (tg->key.n == 1 || b > tg->bmax)
        tg->bmax = b;
    return QN_OK;
}

/* Floor division for possibly negative numerators. */
static int64_t floordiv5(int64_t x)
{
    return x >= 0 ? x / 5 : -((-x + 4) / 5);
}

/* Columns c whose pair (5c+2, 5c+3) lies within u in [ulo, uhi], clipped to the
 * image; false when there are none. */
static int column_span(int ulo, int uhi, uint32_t w, int64_t *c0, int64_t *c1)
{
    *c0 = -floordiv5(-((int64_t)ulo - 2)); /* ceil((ulo - 2) / 5) */
    *c1 = floordiv5((int64_t)uhi - 3);
    if (*c0 < 0)
        *c0 = 0;
    if (*c1 > (int64_t)w - 1)
        *c1 = (int64_t)w - 1;
    return *c0 <= *c1;
}

/* On an edge walked along y (|slope| < 1, u(0) <= m < u(n) when rising, u(n) <= m <
 * u(0) when falling): the first t whose u is past m (rising) or down to m
 * (falling). Guessed from the slope, then settled with the reference's own u. */
static int first_past(const edge *e, int m, int rising)
{
    double g = (m + .5 - e->xs) / e->s;
    g = rising ? ceil(g) : floor(g) + 1;
    int t = g < 1 ? 1 : g > e->n ? e->n : (int)g;
    if (rising) {
        while (t > 1 && edge_u(e, t - 1) > m)
            t--;
        while (t < e->n && edge_u(e, t) <= m)
            t++;
    } else {
        while (t > 1 && edge_u(e, t - 1) <= m)
            t--;
        while (t < e->n && edge_u(e, t) > m)
            t++;
    }
    return t;
}

/* Toggles from the pairs inside one edge. */
static int edge_toggles(toggles *a, const edge *e, uint32_t h, uint32_t w)
{
    int64_t c0, c1;
    if (e->n == 0)
        return QN_OK;
    if (e->xmajor) { /* u = xs + t: column c's pair is t = 5c+2-xs and t+1 */
        if (!column_span(e->xs, e->xs + e->n, w, &c0, &c1))
            return QN_OK;
        for (int64_t c = c0; c <= c1; c++) {
            int t = (int)(5 * c + 2 - e->xs), u, v0, v1;
            edge_point(e, t, &u, &v0);
            edge_point(e, t + 1, &u, &v1);
            if (add_toggle(a, (uint32_t)c, v0 < v1 ? v0 : v1, h))
                return QN_ENOMEM;
        }
        return QN_OK;
    }
    /* walked along y: u is monotone in t and moves by at most 1 per step */
    int ua = edge_u(e, 0), ub = edge_u(e, e->n), rising = ub >= ua;
    if (!column_span(rising ? ua : ub, rising ? ub : ua, w, &c0, &c1))
        return QN_OK;
    for (int64_t c = c0; c <= c1; c++) {
        int m = (int)(5 * c + 2), t = first_past(e, m, rising);
        /* points t-1 and t: v = ys + t, so the lower v is ys + t - 1 */
        if (add_toggle(a, (uint32_t)c, e->ys + t - 1, h))
            return QN_ENOMEM;
    }
    return QN_OK;
}

/* The reference's test for one pair of consecutive points, used where two edges
 * meet (the last point of one and the first of the next). */
static int pair_toggle(toggles *a, int pu, int pv, int u, int v, uint32_t h, uint32_t w)
{
    if (u == pu)
        return QN_OK;
    double xd = (double)(u < pu ? u : u - 1);
    xd = (xd + .5) / 5 - .5;
    if (floor(xd) != xd || xd < 0 || xd > (double)w - 1)
        return QN_OK;
    return add_toggle(a, (uint32_t)xd, v < pv ? v : pv, h);
}

static void insertion_sort(uint32_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint32_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x > y ? 1 : x < y ? -1 : 0;
}

/* Sorts the toggle positions: a counting sort by bucket (column) over the
 * polygon's column span, then each column's few rows in place. */
static int sort_toggles(toggles *tg)
{
    size_t n = tg->key.n;
    uint32_t *k = tg->key.v, *b = tg->bucket.v;
    if (n < 32) {
        insertion_sort(k, n);
        return QN_OK;
    }
    size_t span = (size_t)tg->bmax - tg->bmin + 1;
    size_t *start = calloc(span + 1, sizeof *start);
    uint32_t *out = malloc(n * sizeof *out);
    if (!start || !out) {
        free(start);
        free(out);
        return QN_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        start[b[i] - tg->bmin + 1]++;
    for (size_t c = 0; c < span; c++)
        start[c + 1] += start[c];
    for (size_t i = 0; i < n; i++)
        out[start[b[i] - tg->bmin]++] = k[i];
    /* start[c] is now the end of bucket c */
    for (size_t c = 0, lo = 0; c < span; lo = start[c++]) {
        size_t m = start[c] - lo;
        if (m > 32)
            qsort(out + lo, m, sizeof *out, cmp_u32);
        else
            insertion_sort(out + lo, m);
    }
    memcpy(k, out, n * sizeof *k);
    free(out);
    free(start);
    return QN_OK;
}

/* Toggle positions -> counts, exactly as the reference: sort, append h*w, take
 * differences, where a zero difference (two toggles at one pixel) folds the next
 * difference into the previous count. */
static int toggles_to_rle(qn_rle *r, toggles *tg, uint32_t h, uint32_t w)
{
    u32vec *a = &tg->key;
    if (sort_toggles(tg) || vec_push(a, h * w))
        return QN_ENOMEM;
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
    toggles a = {{0}, {0}, 0, 0};
    int rc = QN_OK, pu = 0, pv = 0;
    for (size_t j = 0; j < k && rc == QN_OK; j++) {
        size_t j1 = j + 1 < k ? j + 1 : 0;
        int x0 = (int)(5 * xy[2 * j] + .5), y0 = (int)(5 * xy[2 * j + 1] + .5);
        int x1 = (int)(5 * xy[2 * j1] + .5), y1 = (int)(5 * xy[2 * j1 + 1] + .5);
        edge e;
        edge_make(&e, x0, y0, x1, y1);
        int swapped = e.xs != x0 || e.ys != y0 || (e.n == 0);
        int fu, fv, lu, lv; /* the edge's first and last points in walk order */
        edge_point(&e, swapped ? e.n : 0, &fu, &fv);
        edge_point(&e, swapped ? 0 : e.n, &lu, &lv);
        if (e.n == 0)
            fv = lv = y0;
        if (j > 0)
            rc = pair_toggle(&a, pu, pv, fu, fv, h, w);
        if (rc == QN_OK)
            rc = edge_toggles(&a, &e, h, w);
        pu = lu;
        pv = lv;
    }
    if (rc == QN_OK)
        rc = toggles_to_rle(r, &a, h, w);
    free(a.key.v);
    free(a.bucket.v);
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

static int push_change(change_vec *c, uint32_t *colcnt, uint32_t x, uint32_t y, uint16_t lab)
{
    colcnt[x]++;
    return change_push(c, x, y, lab);
}

/* Appends the changes between row and the row above it: 32 pixels (a cache
 * line) per test, then the differing pixels of a differing 64-bit word found
 * from its set bits rather than by comparing all of them. */
static int row_changes(change_vec *c, uint32_t *colcnt, const uint16_t *row,
                       const uint16_t *up, uint32_t y, uint32_t w)
{
    uint32_t x = 0;
    for (; x + 32 <= w; x += 32) {
        uint64_t a[8], b[8], d[8], any = 0;
        memcpy(a, row + x, 64);
        memcpy(b, up + x, 64);
        for (int i = 0; i < 8; i++)
            any |= d[i] = a[i] ^ b[i];
        if (!any)
            continue; /* the common case: runs go on down all 32 columns */
        for (int i = 0; i < 8; i++)
            for (uint64_t m = d[i]; m; ) {
                int lane = __builtin_ctzll(m) / 16;
                uint32_t k = x + 4 * (uint32_t)i + (uint32_t)lane;
                m &= ~(0xffffULL << (16 * lane));
                if (push_change(c, colcnt, k, y, row[k]))
                    return QN_ENOMEM;
            }
    }
    for (; x < w; x++)
        if (row[x] != up[x] && push_change(c, colcnt, x, y, row[x]))
            return QN_ENOMEM;
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
