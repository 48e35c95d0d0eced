/* check_coco_mask.c — unit tests of converters/coco_mask against pycocotools.
 *
 * "Vectors" are the pycocotools results quoted in ../shared/docs/FORMATS.md §3.7,
 * embedded so they always run. "Golden" reads ../shared/data/golden/rle_vectors.txt
 * and rle_golden.jsonl (made with pycocotools; QUERN_SHARED overrides ../shared)
 * and skips, saying so, when they are absent. "Bad input" covers every rejection.
 */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "converters/coco_mask.h"
#include "qn_error.h"

/* ---- helpers ------------------------------------------------------------------ */

static char *str_of_counts(uint32_t h, uint32_t w, const uint32_t *c, size_t m)
{
    qn_rle r;
    qn_rle_init(&r);
    ck_assert_int_eq(qn_rle_from_counts(&r, h, w, c, m), QN_OK);
    char *s = qn_rle_to_string(&r);
    ck_assert_ptr_nonnull(s);
    qn_rle_free(&r);
    return s;
}

static void assert_counts(const qn_rle *r, const uint32_t *c, size_t m)
{
    ck_assert_uint_eq(r->m, m);
    for (size_t i = 0; i < m; i++)
        ck_assert_msg(r->cnts[i] == c[i], "count %zu: %u != %u", i, r->cnts[i], c[i]);
}

static void assert_string(const qn_rle *r, const char *want)
{
    char *s = qn_rle_to_string(r);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s, want);
    free(s);
}

static void assert_bbox(const qn_rle *r, double x, double y, double w, double h)
{
    double bb[4];
    qn_rle_bbox(r, bb);
    ck_assert_msg(bb[0] == x && bb[1] == y && bb[2] == w && bb[3] == h,
                  "bbox [%g,%g,%g,%g] != [%g,%g,%g,%g]", bb[0], bb[1], bb[2], bb[3], x, y, w, h);
}

/* Polygon -> string, area and box, as pycocotools frPyObjects + toBbox. */
static void check_poly(const double *xy, size_t k, uint32_t h, uint32_t w, const char *str,
                       uint64_t area, const double *bb)
{
    qn_rle r;
    qn_rle_init(&r);
    ck_assert_int_eq(qn_rle_from_poly(&r, xy, k, h, w), QN_OK);
    assert_string(&r, str);
    ck_assert_uint_eq(qn_rle_area(&r), area);
    if (bb)
        assert_bbox(&r, bb[0], bb[1], bb[2], bb[3]);
    qn_rle_free(&r);
}

/* A row-major 0/1 picture -> column-major mask -> RLE. */
static void encode_rows(qn_rle *r, const char *rows, uint32_t h, uint32_t w)
{
    uint8_t *m = malloc((size_t)h * w);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            m[(size_t)x * h + y] = rows[y * w + x] == '1';
    ck_assert_int_eq(qn_rle_encode(r, m, h, w), QN_OK);
    free(m);
}

static const char *shared_dir(void)
{
    const char *s = getenv("QUERN_SHARED");
    return s && *s ? s : "../shared";
}

/* ---- embedded vectors (FORMATS.md §3.7) ---------------------------------------- */

START_TEST(test_encode_small)
{
    qn_rle r;
    qn_rle_init(&r);
    uint8_t m[100] = {0};
    for (int x = 3; x <= 5; x++)
        for (int y = 2; y <= 3; y++)
            m[x * 10 + y] = 1;
    ck_assert_int_eq(qn_rle_encode(&r, m, 10, 10), QN_OK);
    assert_counts(&r, (uint32_t[]){32, 2, 8, 2, 8, 2, 46}, 7);
    assert_string(&r, "P128000V1");
    ck_assert_uint_eq(qn_rle_area(&r), 6);
    assert_bbox(&r, 3, 2, 3, 2);

    encode_rows(&r, "0111", 2, 2);
    assert_counts(&r, (uint32_t[]){1, 3}, 2);
    assert_string(&r, "13");
    ck_assert_uint_eq(qn_rle_area(&r), 3);
    assert_bbox(&r, 0, 0, 2, 2);

    encode_rows(&r, "00000000000000000000", 4, 5);
    assert_string(&r, "d0");
    assert_bbox(&r, 0, 0, 0, 0);
    encode_rows(&r, "11111111111111111111", 4, 5);
    assert_counts(&r, (uint32_t[]){0, 20}, 2);
    assert_string(&r, "0d0");
    assert_bbox(&r, 0, 0, 5, 4);

    char diag[37];
    for (int i = 0; i < 36; i++)
        diag[i] = i / 6 == i % 6 ? '1' : '0';
    diag[36] = 0;
    encode_rows(&r, diag, 6, 6);
    assert_string(&r, "016000000000");
    ck_assert_uint_eq(qn_rle_area(&r), 6);
    assert_bbox(&r, 0, 0, 6, 6);

    /* values other than 0/1 are foreground; 0-size masks give [0] */
    uint8_t v[4] = {0, 7, 255, 0};
    ck_assert_int_eq(qn_rle_encode(&r, v, 2, 2), QN_OK);
    assert_counts(&r, (uint32_t[]){1, 2, 1}, 3);
    ck_assert_int_eq(qn_rle_encode(&r, v, 0, 5), QN_OK);
    assert_counts(&r, (uint32_t[]){0}, 1);
    qn_rle_free(&r);
}
END_TEST

START_TEST(test_encode_large_rect)
{
    uint32_t h = 1024, w = 2048;
    uint8_t *m = calloc((size_t)h * w, 1);
    for (uint32_t x = 100; x < 700; x++)
        memset(m + (size_t)x * h + 50, 1, 850);
    qn_rle r;
    qn_rle_init(&r);
    ck_assert_int_eq(qn_rle_encode(&r, m, h, w), QN_OK);
    ck_assert_uint_eq(r.m, 1201);
    ck_assert_uint_eq(r.cnts[0], 102450);
    ck_assert_uint_eq(r.cnts[2], 174);
    ck_assert_uint_eq(r.cnts[1200], 1380476);
    char want[1212] = "bQT3bj0^5";
    memset(want + 9, '0', 1197);
    strcpy(want + 1206, "^nSZ1");
    assert_string(&r, want);
    ck_assert_uint_eq(qn_rle_area(&r), 510000);
    assert_bbox(&r, 100, 50, 600, 850);

    /* decode gives the mask back; the string gives the counts back */
    uint8_t *d = malloc((size_t)h * w);
    qn_rle_decode(&r, d);
    ck_assert_int_eq(memcmp(d, m, (size_t)h * w), 0);
    qn_rle s;
    qn_rle_init(&s);
    ck_assert_int_eq(qn_rle_from_string(&s, want, h, w), QN_OK);
    assert_counts(&s, r.cnts, r.m);
    qn_rle_free(&s);
    qn_rle_free(&r);
    free(d);
    free(m);
}
END_TEST

START_TEST(test_polygons)
{
    double sq[] = {1, 1, 8, 1, 8, 6, 1, 6};
    check_poly(sq, 4, 10, 10, ";5500000000000c0", 35, (double[]){1, 1, 7, 5});
    double sqh[] = {1.5, 1.5, 8.5, 1.5, 8.5, 6.5, 1.5, 6.5};
    check_poly(sqh, 4, 10, 10, "f055000000000008", 35, (double[]){2, 2, 7, 5});
    double rev[] = {1, 6, 8, 6, 8, 1, 1, 1};
    check_poly(rev, 4, 10, 10, ";5500000000000c0", 35, NULL);
    double dup[] = {1, 1, 8, 1, 8, 1, 8, 6, 1, 6, 1, 6};
    check_poly(dup, 6, 10, 10, ";5500000000000c0", 35, NULL);
    double full[] = {0, 0, 10, 0, 10, 10, 0, 10};
    check_poly(full, 4, 10, 10, "0T3", 100, (double[]){0, 0, 10, 10});
    double tri[] = {2, 1, 7, 3, 3, 8};
    check_poly(tri, 3, 10, 10, "e0382MO1O2Nl0", 16, (double[]){2, 1, 5, 6});
    double out[] = {-5, -5, 20, -5, 20, 20, -5, 20};
    check_poly(out, 4, 10, 10, "0T3", 100, NULL);
    double frac[] = {0.4, 0.4, 3.6, 0.4, 3.6, 2.6, 0.4, 2.6};
    check_poly(frac, 4, 5, 5, "032000005", 12, (double[]){0, 0, 4, 3});
    double bow[] = {0, 0, 8, 8, 8, 0, 0, 8};
    check_poly(bow, 4, 10, 10, "074N2N2N10O2N2N2c0", 32, NULL);
    double two[] = {1, 1, 8, 6};
    check_poly(two, 2, 10, 10, "T3", 0, (double[]){0, 0, 0, 0});
    check_poly(two, 0, 10, 10, "T3", 0, NULL);
    /* far outside the image: clipped away without walking every point */
    double far[] = {-1e5, 2, 1e5, 2, 1e5, 5, -1e5, 5};
    check_poly(far, 4, 10, 10, "23700000000000000000N", 30, (double[]){0, 2, 10, 3});
    double huge[] = {-1e8, 2, 1e8, 2, 1e8, 5, -1e8, 5};
    check_poly(huge, 4, 10, 10, "23700000000000000000N", 30, NULL);

    /* squares on the 1/5-pixel grid: pixels 1..5 until the edge passes 1.5 */
    static const double lo[] = {1.0, 1.1, 1.3, 1.39, 1.40, 1.41, 1.5, 1.6, 1.9};
    for (size_t i = 0; i < sizeof lo / sizeof *lo; i++) {
        double a = lo[i], b = lo[i] + 5;
        double p[] = {a, a, b, a, b, b, a, b};
        qn_rle r;
        qn_rle_init(&r);
        ck_assert_int_eq(qn_rle_from_poly(&r, p, 4, 10, 10), QN_OK);
        ck_assert_uint_eq(qn_rle_area(&r), 25);
        double first = lo[i] < 1.5 ? 1 : 2;
        assert_bbox(&r, first, first, 5, 5);
        qn_rle_free(&r);
    }

    qn_rle r;
    qn_rle_init(&r);
    ck_assert_int_eq(qn_rle_from_bbox(&r, (double[]){2, 3, 4, 5}, 10, 10), QN_OK);
    assert_string(&r, "g05500000U1");
    ck_assert_uint_eq(qn_rle_area(&r), 20);
    assert_bbox(&r, 2, 3, 4, 5);
    qn_rle_free(&r);
}
END_TEST

START_TEST(test_strings)
{
    static const struct {
        uint32_t c;
        const char *s;
    } one[] = {{0, "0"},     {1, "1"},       {15, "?"},      {16, "`0"},
               {31, "o0"},   {32, "P1"},     {47, "_1"},     {48, "`1"},
               {100, "T3"},  {1023, "oo0"},  {1024, "PP1"},  {2097152, "PPPP2"}};
    for (size_t i = 0; i < sizeof one / sizeof *one; i++) {
        char *s = str_of_counts(1, one[i].c, &one[i].c, 1);
        ck_assert_str_eq(s, one[i].s);
        free(s);
    }
    static const struct {
        uint32_t c[6];
        size_t m;
        const char *s;
    } many[] = {
        {{100, 5, 200, 4}, 4, "T35X6O"},   {{100, 50, 200, 35}, 4, "T3b1X6A"},
        {{100, 50, 200, 34}, 4, "T3b1X6@"}, {{100, 50, 200, 33}, 4, "T3b1X6_O"},
        {{100, 50, 200, 18}, 4, "T3b1X6PO"}, {{100, 50, 200, 17}, 4, "T3b1X6oN"},
        {{5000, 3, 70000, 2, 31, 40}, 6, "Xl43`[T2O_ekMV1"},
    };
    for (size_t i = 0; i < sizeof many / sizeof *many; i++) {
        uint32_t sum = 0;
        for (size_t j = 0; j < many[i].m; j++)
            sum += many[i].c[j];
        char *s = str_of_counts(1, sum, many[i].c, many[i].m);
        ck_assert_str_eq(s, many[i].s);
        free(s);
        qn_rle r;
        qn_rle_init(&r);
        ck_assert_int_eq(qn_rle_from_string(&r, many[i].s, 1, sum), QN_OK);
        assert_counts(&r, many[i].c, many[i].m);
        qn_rle_free(&r);
    }
    /* the 300x300 vector, and differences of the widest uint32 counts */
    qn_rle r;
    qn_rle_init(&r);
    ck_assert_int_eq(qn_rle_from_string(&r, "Xl43`[T2O_ekMV1", 300, 300), QN_OK);
    ck_assert_uint_eq(qn_rle_area(&r), 45);
    assert_bbox(&r, 16, 3, 235, 200);
    uint32_t wide[] = {1, 0xfffffff0u, 0, 0, 14};
    ck_assert_int_eq(qn_rle_from_counts(&r, 1, 0xffffffffu, wide, 5), QN_OK);
    char *s = qn_rle_to_string(&r);
    ck_assert_int_eq(qn_rle_from_string(&r, s, 1, 0xffffffffu), QN_OK);
    assert_counts(&r, wide, 5);
    free(s);
    /* an empty 0x0 RLE is the empty string */
    ck_assert_int_eq(qn_rle_from_string(&r, "", 0, 0), QN_OK);
    ck_assert_uint_eq(r.m, 0);
    assert_string(&r, "");
    qn_rle_free(&r);
    qn_rle_free(&r); /* twice is harmless */
    qn_rle_free(NULL);
}
END_TEST

static void square(qn_rle *r, int a, int b)
{
    uint8_t m[100] = {0};
    for (int x = a; x < b; x++)
        for (int y = a; y < b; y++)
            m[x * 10 + y] = 1;
    ck_assert_int_eq(qn_rle_encode(r, m, 10, 10), QN_OK);
}

START_TEST(test_merge_iou)
{
    qn_rle two[2], u;
    qn_rle_init(&two[0]);
    qn_rle_init(&two[1]);
    qn_rle_init(&u);
    square(&two[0], 0, 6);
    square(&two[1], 3, 9);
    ck_assert_int_eq(qn_rle_merge(&u, two, 2, 0), QN_OK);
    assert_string(&u, "06400003M0003M00007");
    ck_assert_uint_eq(qn_rle_area(&u), 63);
    assert_bbox(&u, 0, 0, 9, 9);
    ck_assert_int_eq(qn_rle_merge(&u, two, 2, 1), QN_OK);
    assert_string(&u, "Q137000U1");
    ck_assert_uint_eq(qn_rle_area(&u), 9);
    assert_bbox(&u, 3, 3, 3, 3);
    ck_assert_int_eq(qn_rle_merge(&u, two, 1, 0), QN_OK);
    assert_counts(&u, two[0].cnts, two[0].m);
    ck_assert_int_eq(qn_rle_merge(&u, two, 0, 0), QN_OK);
    ck_assert_uint_eq(u.m, 0);

    double o[4];
    ck_assert_int_eq(qn_rle_iou(&two[0], 1, &two[1], 1, NULL, o), QN_OK);
    ck_assert_double_eq_tol(o[0], 9.0 / 63, 1e-12);
    ck_assert_int_eq(qn_rle_iou(&two[0], 1, &two[1], 1, (uint8_t[]){1}, o), QN_OK);
    ck_assert_double_eq(o[0], 0.25);
    /* o[i + m*j]: dt i against gt j */
    ck_assert_int_eq(qn_rle_iou(two, 2, two, 2, NULL, o), QN_OK);
    ck_assert_double_eq(o[0], 1);
    ck_assert_double_eq_tol(o[1], 9.0 / 63, 1e-12);
    ck_assert_double_eq_tol(o[2], 9.0 / 63, 1e-12);
    ck_assert_double_eq(o[3], 1);
    /* disjoint boxes give 0; overlapping boxes of different image sizes give -1 */
    square(&u, 7, 10);
    ck_assert_int_eq(qn_rle_iou(&u, 1, &two[0], 1, NULL, o), QN_OK);
    ck_assert_double_eq(o[0], 0);
    uint32_t c[] = {0, 5, 95};
    ck_assert_int_eq(qn_rle_from_counts(&u, 5, 20, c, 3), QN_OK);
    ck_assert_int_eq(qn_rle_iou(&u, 1, &two[0], 1, NULL, o), QN_OK);
    ck_assert_double_eq(o[0], -1);
    /* zero-length runs survive a merge, as in pycocotools */
    uint32_t z[] = {3, 0, 2, 5};
    ck_assert_int_eq(qn_rle_from_counts(&two[0], 5, 2, z, 4), QN_OK);
    ck_assert_int_eq(qn_rle_from_counts(&two[1], 5, 2, (uint32_t[]){10}, 1), QN_OK);
    ck_assert_int_eq(qn_rle_merge(&u, two, 2, 0), QN_OK);
    assert_counts(&u, z, 4);
    /* the fork's rleToBbox on hand-made RLEs */
    assert_bbox(&two[0], 1, 0, 1, 5);
    ck_assert_int_eq(qn_rle_from_counts(&u, 29, 36, (uint32_t[]){11, 0, 1033}, 3), QN_OK);
    assert_bbox(&u, 36, 29, 4294967261.0, 4294967268.0);
    qn_rle_free(&two[0]);
    qn_rle_free(&two[1]);
    qn_rle_free(&u);
}
END_TEST

/* ---- label images --------------------------------------------------------------- */

/* Reference: for every id, the column-major mask (labels == id), encoded. */
static void check_labels(const uint16_t *lab, uint32_t h, uint32_t w, uint32_t min_id)
{
    qn_label_rles lr;
    ck_assert_int_eq(qn_rle_from_labels(&lr, lab, h, w, min_id), QN_OK);
    uint8_t *seen = calloc(65536, 1), *m = malloc((size_t)h * w + 1);
    size_t n = 0;
    for (size_t i = 0; i < (size_t)h * w; i++)
        if (lab[i] >= min_id && !seen[lab[i]]) {
            seen[lab[i]] = 1;
            n++;
        }
    ck_assert_uint_eq(lr.n, n);
    for (size_t i = 0; i < lr.n; i++) {
        ck_assert(seen[lr.ids[i]]);
        if (i)
            ck_assert_uint_lt(lr.ids[i - 1], lr.ids[i]);
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++)
                m[(size_t)x * h + y] = lab[(size_t)y * w + x] == lr.ids[i];
        qn_rle r;
        qn_rle_init(&r);
        ck_assert_int_eq(qn_rle_encode(&r, m, h, w), QN_OK);
        ck_assert_uint_eq(lr.rles[i].h, h);
        ck_assert_uint_eq(lr.rles[i].w, w);
        assert_counts(&lr.rles[i], r.cnts, r.m);
        qn_rle_free(&r);
    }
    qn_label_rles_free(&lr);
    qn_label_rles_free(&lr);
    free(seen);
    free(m);
}

START_TEST(test_labels)
{
    /* hand-made: runs continuing across columns, ids at the corners, 65535 */
    uint16_t a[] = {26000, 26000, 7,     65535,
                    26000, 24001, 24001, 65535,
                    7,     24001, 26000, 26000};
    check_labels(a, 3, 4, 24);
    check_labels(a, 3, 4, 0);
    check_labels(a, 3, 4, 65535);
    check_labels(a, 1, 12, 1);
    check_labels(a, 12, 1, 1);
    /* widths around the 16-pixel fast path, random blocky images */
    uint64_t s = 12345;
    for (uint32_t w = 1; w <= 40; w++) {
        uint32_t h = 1 + w % 7 * 3;
        uint16_t *img = malloc((size_t)h * w * 2);
        for (size_t i = 0; i < (size_t)h * w; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            img[i] = (s >> 60) < 12 && i >= w ? img[i - w] : (uint16_t)(24000 + (s >> 61));
        }
        check_labels(img, h, w, 24);
        free(img);
    }
    /* an empty image and an image without any id >= min_id */
    qn_label_rles lr;
    ck_assert_int_eq(qn_rle_from_labels(&lr, a, 0, 0, 0), QN_OK);
    ck_assert_uint_eq(lr.n, 0);
    ck_assert_int_eq(qn_rle_from_labels(&lr, a, 3, 4, 65536), QN_OK);
    ck_assert_uint_eq(lr.n, 0);
    uint16_t zero[6] = {0};
    ck_assert_int_eq(qn_rle_from_labels(&lr, zero, 2, 3, 1), QN_OK);
    ck_assert_uint_eq(lr.n, 0);
    qn_label_rles_free(&lr);
    qn_label_rles_free(NULL);
}
END_TEST

START_TEST(test_labels_cityscapes_size)
{
    /* 2048x1024 with a few overlapping instances, checked against the reference */
    uint32_t h = 1024, w = 2048;
    uint16_t *img = malloc((size_t)h * w * 2);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint16_t v = y < 300 + x % 97 ? 23 : y < 600 ? 11 : 7;
            if ((x - 500) * (x - 500) / 4 + (y - 700) * (y - 700) < 90 * 90)
                v = 26000;
            if (x >= 450 && x < 480 && y > 500 && y < 900)
                v = 24003;
            if (x >= 1900 && y >= 1000)
                v = 26;
            img[(size_t)y * w + x] = v;
        }
    check_labels(img, h, w, 24);
    free(img);
}
END_TEST

/* ---- bad input ---------------------------------------------------------------- */

START_TEST(test_bad_strings)
{
    qn_rle r;
    qn_rle_init(&r);
    static const char *bad[] = {
        "P1 2",     /* a space */
        "T3p",      /* 'p' (112) is past 'o' */
        "T3/",      /* '/' is before '0' */
        "T3\x7f",   /* DEL */
        "P",        /* ends with the continuation bit set */
        "PPPPPPPP", /* more groups than any uint32 difference needs */
        "T31",      /* 101 > 100 pixels */
        "T3O",      /* count -1 */
        "05:J",     /* a difference that goes negative: 5 - 6 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = qn_rle_from_string(&r, bad[i], 10, 10);
        ck_assert_msg(rc == QN_EINPUT, "\"%s\" gave %d", bad[i], rc);
    }
    /* runs short of h*w are accepted (pycocotools does), and decode zero-fills */
    ck_assert_int_eq(qn_rle_from_string(&r, "d0", 10, 10), QN_OK);
    ck_assert_int_eq(qn_rle_from_string(&r, "", 10, 10), QN_OK);
    ck_assert_uint_eq(r.m, 0);
    /* a huge run cannot overrun a small image, nor its decode buffer */
    ck_assert_int_eq(qn_rle_from_string(&r, "PPPP2", 2, 2), QN_EINPUT);
    ck_assert_int_eq(qn_rle_from_string(&r, "0oooooo3", 2, 2), QN_EINPUT);
    ck_assert_int_eq(qn_rle_from_counts(&r, 2, 2, (uint32_t[]){1, 1000000}, 2), QN_OK);
    uint8_t *m = malloc(4);
    qn_rle_decode(&r, m);
    ck_assert(m[0] == 0 && m[1] == 1 && m[2] == 1 && m[3] == 1);
    ck_assert_int_eq(qn_rle_from_counts(&r, 2, 2, (uint32_t[]){1}, 1), QN_OK);
    qn_rle_decode(&r, m); /* short counts leave zeros */
    ck_assert(m[0] == 0 && m[1] == 0 && m[2] == 0 && m[3] == 0);
    free(m);
    qn_rle_free(&r);
}
END_TEST

/* Random strings, mostly of the alphabet: each is refused or gives runs that fit
 * h*w; an accepted one decodes inside its buffer, and re-encoding the decoded mask
 * reaches a fixed point (string -> mask -> string -> mask is stable). Merge and IoU
 * of accepted pairs stay in range. Under ASan (SANITIZE=1) any overrun fails. */
START_TEST(test_random_strings)
{
    uint32_t r = 99;
    int ok = 0;
    for (int it = 0; it < 20000; it++) {
        char str[24];
        r = r * 1103515245u + 12345u;
        uint32_t h = 1 + (r >> 8) % 9, w = 1 + (r >> 16) % 9;
        int n = (int)((r >> 24) % 12);
        for (int i = 0; i < n; i++) {
            r = r * 1103515245u + 12345u;
            str[i] = (r >> 28) == 0 ? (char)(1 + (r >> 8) % 255) : (char)('0' + (r >> 8) % 64);
        }
        str[n] = 0;
        qn_rle a, b;
        qn_rle_init(&a);
        qn_rle_init(&b);
        if (qn_rle_from_string(&a, str, h, w) != QN_OK) {
            qn_rle_free(&a);
            continue;
        }
        ok++;
        uint64_t sum = 0;
        for (size_t i = 0; i < a.m; i++)
            sum += a.cnts[i];
        ck_assert_msg(sum <= (uint64_t)h * w, "\"%s\": runs past %ux%u", str, h, w);
        ck_assert(qn_rle_area(&a) <= (uint64_t)h * w);
        uint8_t m1[81], m2[81];
        qn_rle_decode(&a, m1);
        ck_assert_int_eq(qn_rle_encode(&b, m1, h, w), QN_OK);
        char *t = qn_rle_to_string(&b);
        ck_assert_int_eq(qn_rle_from_string(&a, t, h, w), QN_OK);
        qn_rle_decode(&a, m2);
        ck_assert_msg(!memcmp(m1, m2, (size_t)h * w), "\"%s\" -> \"%s\" decodes otherwise", str, t);
        free(t);
        qn_rle pair[2] = {a, b}, u;
        qn_rle_init(&u);
        ck_assert_int_eq(qn_rle_merge(&u, pair, 2, it & 1), QN_OK);
        double iou;
        ck_assert_int_eq(qn_rle_iou(&a, 1, &b, 1, NULL, &iou), QN_OK);
        ck_assert(iou == 1.0 || (iou == 0.0 && qn_rle_area(&a) == 0)); /* same mask */
        qn_rle_free(&u);
        qn_rle_free(&a);
        qn_rle_free(&b);
    }
    ck_assert_int_gt(ok, 2000);
}
END_TEST

START_TEST(test_bad_geometry)
{
    qn_rle r, two[2];
    qn_rle_init(&r);
    double nan_xy[] = {1, 1, NAN, 1, 8, 6};
    ck_assert_int_eq(qn_rle_from_poly(&r, nan_xy, 3, 10, 10), QN_EINPUT);
    double inf_xy[] = {1, 1, 5, INFINITY, 8, 6};
    ck_assert_int_eq(qn_rle_from_poly(&r, inf_xy, 3, 10, 10), QN_EINPUT);
    double big_xy[] = {1, 1, 5e8, 1, 8, 6};
    ck_assert_int_eq(qn_rle_from_poly(&r, big_xy, 3, 10, 10), QN_EINPUT);
    ck_assert_int_eq(qn_rle_from_bbox(&r, (double[]){0, 0, NAN, 1}, 10, 10), QN_EINPUT);
    double ok_xy[] = {1, 1, 5, 1, 8, 6};
    ck_assert_int_eq(qn_rle_from_poly(&r, ok_xy, 3, 70000, 70000), QN_EINPUT);
    uint8_t px[1] = {0};
    ck_assert_int_eq(qn_rle_encode(&r, px, 70000, 70000), QN_EINPUT);
    uint16_t lab[1] = {0};
    qn_label_rles lr;
    ck_assert_int_eq(qn_rle_from_labels(&lr, lab, 70000, 70000, 0), QN_EINPUT);
    ck_assert_uint_eq(lr.n, 0);

    /* merge: sizes differ, or runs that do not cover the image */
    qn_rle_init(&two[0]);
    qn_rle_init(&two[1]);
    square(&two[0], 0, 3);
    ck_assert_int_eq(qn_rle_from_counts(&two[1], 5, 20, (uint32_t[]){100}, 1), QN_OK);
    ck_assert_int_eq(qn_rle_merge(&r, two, 2, 0), QN_EINPUT);
    ck_assert_uint_eq(r.m, 0);
    ck_assert_uint_eq(r.h, 0);
    ck_assert_int_eq(qn_rle_from_counts(&two[1], 10, 10, (uint32_t[]){3, 4}, 2), QN_OK);
    ck_assert_int_eq(qn_rle_merge(&r, two, 2, 1), QN_EINPUT);
    double o[1];
    ck_assert_int_eq(qn_rle_iou(two, 1, &two[1], 1, NULL, o), QN_EINPUT);
    qn_rle_free(&two[0]);
    qn_rle_free(&two[1]);
    qn_rle_free(&r);
}
END_TEST

/* ---- golden files -------------------------------------------------------------- */

static size_t parse_u32_list(const char *p, uint32_t *out, size_t max)
{
    size_t n = 0;
    while (*p && *p != ']' && n < max) {
        char *e;
        unsigned long v = strtoul(p, &e, 10);
        if (e == p)
            return 0;
        out[n++] = (uint32_t)v;
        p = e;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return *p == ']' ? n : 0;
}

/* One counts vector: counts -> string, string -> counts, area and box. */
static void check_counts_vector(const char *what, uint32_t h, uint32_t w, const uint32_t *c,
                                size_t m, const char *str, long long area, const double *bb)
{
    qn_rle r;
    qn_rle_init(&r);
    ck_assert_int_eq(qn_rle_from_counts(&r, h, w, c, m), QN_OK);
    char *s = qn_rle_to_string(&r);
    ck_assert_msg(!strcmp(s, str), "%s: string %s != %s", what, s, str);
    free(s);
    if (area >= 0)
        ck_assert_msg(qn_rle_area(&r) == (uint64_t)area, "%s: area", what);
    if (bb) {
        double b[4];
        qn_rle_bbox(&r, b);
        ck_assert_msg(b[0] == bb[0] && b[1] == bb[1] && b[2] == bb[2] && b[3] == bb[3],
                      "%s: bbox [%.17g,%.17g,%.17g,%.17g]", what, b[0], b[1], b[2], b[3]);
    }
    ck_assert_int_eq(qn_rle_from_string(&r, str, h, w), QN_OK);
    ck_assert_msg(r.m == m && (m == 0 || !memcmp(r.cnts, c, m * 4)), "%s: decoded counts", what);
    qn_rle_free(&r);
}

/* Opens ../shared/data/golden/NAME (its path left in path), or says that the
 * cases it holds are skipped, and returns NULL, when the shared data is absent. */
static FILE *open_golden(const char *name, const char *what, char *path, size_t size)
{
    snprintf(path, size, "%s/data/golden/%s", shared_dir(), name);
    FILE *f = fopen(path, "r");
    if (!f)
        printf("check_coco_mask: %s absent, skipping %s\n", path, what);
    return f;
}

START_TEST(test_golden_vectors)
{
    char path[4096];
    FILE *f = open_golden("rle_vectors.txt", "the golden vectors", path, sizeof path);
    if (!f)
        return;
    char line[8192];
    int checked = 0;
    uint32_t c[1024];
    while (fgets(line, sizeof line, f)) {
        unsigned h, w, single;
        char str[1024];
        const char *p;
        if (strstr(line, "...") || strstr(line, "roundtrip"))
            continue;
        if ((p = strstr(line, " h=")) && sscanf(p, " h=%u w=%u", &h, &w) == 2 &&
            (p = strstr(line, "counts=["))) {
            size_t m = parse_u32_list(p + 8, c, 1024);
            const char *q = strstr(line, "str=\"");
            ck_assert_msg(m > 0 && q && sscanf(q, "str=\"%1023[^\"]\"", str) == 1, "%s", line);
            long long area = -1;
            double bb[4], *pb = NULL;
            if ((q = strstr(line, "area=")))
                area = atoll(q + 5);
            if ((q = strstr(line, "bbox=[")) &&
                sscanf(q, "bbox=[%lf,%lf,%lf,%lf]", &bb[0], &bb[1], &bb[2], &bb[3]) == 4)
                pb = bb;
            check_counts_vector(line, h, w, c, m, str, area, pb);
            checked++;
        } else if (sscanf(line, "single count %u -> \"%1023[^\"]\"", &single, str) == 2) {
            check_counts_vector(line, 1, single, &single, 1, str, -1, NULL);
            checked++;
        } else if (!strncmp(line, "counts [", 8) && (p = strstr(line, "-> \"")) &&
                   sscanf(p, "-> \"%1023[^\"]\"", str) == 1) {
            size_t m = parse_u32_list(line + 8, c, 1024);
            uint32_t sum = 0;
            for (size_t i = 0; i < m; i++)
                sum += c[i];
            check_counts_vector(line, 1, sum, c, m, str, -1, NULL);
            checked++;
        }
    }
    fclose(f);
    printf("check_coco_mask: %d vectors of %s checked\n", checked, path);
    ck_assert_int_ge(checked, 30);
}
END_TEST

static double *json_doubles(json_t *a, size_t *n)
{
    *n = json_array_size(a);
    double *v = malloc((*n ? *n : 1) * sizeof *v);
    for (size_t i = 0; i < *n; i++)
        v[i] = json_number_value(json_array_get(a, i));
    return v;
}

START_TEST(test_golden_jsonl)
{
    char path[4096];
    FILE *f = open_golden("rle_golden.jsonl", "the golden cases", path, sizeof path);
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    int n = 0, lineno = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        ck_assert_msg(o != NULL, "%s:%d: %s", path, lineno, je.text);
        const char *kind = json_string_value(json_object_get(o, "kind"));
        uint32_t h = (uint32_t)json_integer_value(json_object_get(o, "h"));
        uint32_t w = (uint32_t)json_integer_value(json_object_get(o, "w"));
        const char *str = json_string_value(json_object_get(o, "string"));
        size_t m, k2, nb;
        double *cd = json_doubles(json_object_get(o, "counts"), &m);
        double *bb = json_doubles(json_object_get(o, "bbox"), &nb);
        uint32_t *c = malloc((m ? m : 1) * sizeof *c);
        for (size_t i = 0; i < m; i++)
            c[i] = (uint32_t)cd[i];
        long long area = json_integer_value(json_object_get(o, "area"));
        char what[4200];
        snprintf(what, sizeof what, "%s:%d (%s)", path, lineno, kind);
        ck_assert(kind && str && nb == 4);
        if (!strcmp(kind, "polygon")) {
            double *xy = json_doubles(json_object_get(o, "polygon"), &k2);
            qn_rle r;
            qn_rle_init(&r);
            ck_assert_int_eq(qn_rle_from_poly(&r, xy, k2 / 2, h, w), QN_OK);
            ck_assert_msg(r.m == m && !memcmp(r.cnts, c, m * 4), "%s: counts", what);
            qn_rle_free(&r);
            free(xy);
        }
        check_counts_vector(what, h, w, c, m, str, area, bb);
        free(c);
        free(cd);
        free(bb);
        json_decref(o);
        n++;
    }
    free(line);
    fclose(f);
    printf("check_coco_mask: %d cases of %s checked\n", n, path);
    ck_assert_int_eq(n, 700);
}
END_TEST

Suite *coco_mask_suite(void)
{
    Suite *s = suite_create("coco_mask");
    TCase *tc = tcase_create("Vectors");
    tcase_add_test(tc, test_encode_small);
    tcase_add_test(tc, test_encode_large_rect);
    tcase_add_test(tc, test_polygons);
    tcase_add_test(tc, test_strings);
    tcase_add_test(tc, test_merge_iou);
    suite_add_tcase(s, tc);
    tc = tcase_create("Labels");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_labels);
    tcase_add_test(tc, test_labels_cityscapes_size);
    suite_add_tcase(s, tc);
    tc = tcase_create("Bad input");
    tcase_add_test(tc, test_bad_strings);
    tcase_add_test(tc, test_bad_geometry);
    tcase_add_test(tc, test_random_strings);
    suite_add_tcase(s, tc);
    tc = tcase_create("Golden");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_golden_vectors);
    tcase_add_test(tc, test_golden_jsonl);
    suite_add_tcase(s, tc);
    return s;
}

QN_CHECK_MAIN(coco_mask_suite)
