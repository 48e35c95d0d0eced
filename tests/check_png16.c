/* check_png16.c — the 16-bit greyscale PNG reader: every row filter, split IDATs,
 * the libspng fallback (Adam7, 8-bit), and every kind of bad file, plus a mutation
 * fuzz that must never crash. PNGs are written here by a tiny encoder so that the
 * filter of every row and every byte of the file are under the test's control. */
#include <check.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "converters/png16.h"

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        ck_assert_ptr_nonnull(b->p);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put32(buf *b, uint32_t v)
{
    uint8_t q[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(b, q, 4);
}

static void chunk(buf *b, const char *type, const uint8_t *data, size_t n)
{
    put32(b, (uint32_t)n);
    size_t at = b->n;
    put(b, type, 4);
    if (n)
        put(b, data, n);
    put32(b, (uint32_t)libdeflate_crc32(0, b->p + at, n + 4));
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Filters one row of rb bytes (bytes per pixel bpp) with filter type f. */
static void filter_row(int f, const uint8_t *cur, const uint8_t *prev, size_t rb, int bpp,
                       uint8_t *out)
{
    out[0] = (uint8_t)f;
    for (size_t i = 0; i < rb; i++) {
        int a = i >= (size_t)bpp ? cur[i - bpp] : 0, b = prev ? prev[i] : 0;
        int c = prev && i >= (size_t)bpp ? prev[i - bpp] : 0, p = 0;
        switch (f) {
        case 1: p = a; break;
        case 2: p = b; break;
        case 3: p = (a + b) >> 1; break;
        case 4: p = paeth(a, b, c); break;
        }
        out[1 + i] = (uint8_t)(cur[i] - p);
    }
}

typedef struct opts {
    int depth, color, interlace;
    int filter;        /* -1: cycle 0..4 by row, else that filter for every row */
    size_t idat_split; /* IDAT payload size, 0 = one chunk */
    int extra_rows;    /* rows of data more (+) or fewer (-) than the header says */
} opts;

/* Encodes h×w samples (16-bit values, or 8-bit if depth 8, or RGB8 if color 2). */
static buf encode(const uint16_t *px, uint32_t w, uint32_t h, opts o)
{
    int bpp = o.color == 2 ? 3 : o.depth / 8;
    size_t rb = (size_t)w * bpp;
    buf raw = {0}, png = {0};
    uint8_t *cur = malloc(rb), *prev = malloc(rb), *out = malloc(rb + 1);
    /* Adam7 pass origins and steps; a plain image is one pass of step 1 */
    static const int ax[7] = {0, 4, 0, 2, 0, 1, 0}, ay[7] = {0, 0, 4, 0, 2, 0, 1};
    static const int sx[7] = {8, 8, 4, 4, 2, 2, 1}, sy[7] = {8, 8, 8, 4, 4, 2, 2};
    int passes = o.interlace ? 7 : 1;
    long rows_h = (long)h + o.extra_rows;
    for (int p = 0; p < passes; p++) {
        int x0 = o.interlace ? ax[p] : 0, y0 = o.interlace ? ay[p] : 0;
        int dx = o.interlace ? sx[p] : 1, dy = o.interlace ? sy[p] : 1;
        if ((uint32_t)x0 >= w || (uint32_t)y0 >= h)
            continue;
        size_t pw = (w - x0 + dx - 1) / dx, prb = pw * bpp;
        int first = 1;
        for (long y = y0; y < rows_h; y += dy) {
            for (size_t i = 0; i < pw; i++) {
                uint16_t v = px[((size_t)(y % h)) * w + x0 + i * dx];
                if (bpp == 2) {
                    cur[2 * i] = (uint8_t)(v >> 8);
                    cur[2 * i + 1] = (uint8_t)v;
                } else if (bpp == 3) {
                    cur[3 * i] = cur[3 * i + 1] = cur[3 * i + 2] = (uint8_t)v;
                } else {
                    cur[i] = (uint8_t)v;
                }
            }
            int f = o.filter >= 0 ? o.filter : (int)(y % 5);
            filter_row(f, cur, first ? NULL : prev, prb, bpp, out);
            put(&raw, out, prb + 1);
            memcpy(prev, cur, prb);
            first = 0;
        }
    }
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(6);
    size_t zcap = libdeflate_zlib_compress_bound(c, raw.n);
    uint8_t *z = malloc(zcap);
    size_t zn = libdeflate_zlib_compress(c, raw.p, raw.n, z, zcap);
    ck_assert_uint_gt(zn, 0);
    libdeflate_free_compressor(c);
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    put(&png, sig, 8);
    uint8_t ihdr[13] = {(uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w,
                        (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h,
                        (uint8_t)o.depth, (uint8_t)o.color, 0, 0, (uint8_t)o.interlace};
    chunk(&png, "IHDR", ihdr, 13);
    chunk(&png, "tEXt", (const uint8_t *)"Comment\0quern", 13);
    size_t step = o.idat_split ? o.idat_split : zn;
    for (size_t at = 0; at < zn; at += step)
        chunk(&png, "IDAT", z + at, zn - at < step ? zn - at : step);
    chunk(&png, "IEND", NULL, 0);
    free(z);
    free(raw.p);
    free(cur);
    free(prev);
    free(out);
    return png;
}

/* Instance-image-like content: runs of equal ids with some noise, all 16 bits used. */
static uint16_t *make_pixels_noise(uint32_t w, uint32_t h, unsigned seed, int noise)
{
    uint16_t *px = malloc((size_t)w * h * sizeof *px);
    srand(seed);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint16_t v = noise ? (uint16_t)((x / 7) * 1000 + y / 5)
                               : (uint16_t)((x / 29) * 1000 + (y / 3) * (x / 61));
            if (noise && rand() % 11 == 0)
                v = (uint16_t)rand();
            px[(size_t)y * w + x] = v;
        }
    return px;
}

static uint16_t *make_pixels(uint32_t w, uint32_t h, unsigned seed)
{
    return make_pixels_noise(w, h, seed, 1);
}

static const opts PLAIN = {16, 0, 0, -1, 0, 0};

static int decode(const buf *b, unsigned flags, qn_png16_image *img, qn_error *e)
{
    static qn_png16 *d;
    if (!d)
        d = qn_png16_new();
    qn_error_clear(e);
    return qn_png16_read_mem(d, b->p, b->n, "t.png", flags, img, e);
}

static void assert_same(const qn_png16_image *img, const uint16_t *px, uint32_t w, uint32_t h)
{
    ck_assert_uint_eq(img->w, w);
    ck_assert_uint_eq(img->h, h);
    for (size_t i = 0; i < (size_t)w * h; i++)
        if (img->px[i] != px[i])
            ck_abort_msg("pixel %zu: got %u want %u", i, img->px[i], px[i]);
}

/* _i = 0: noisy content (serial paths); 1: long flat runs (the 8-byte fast paths) */
START_TEST(every_filter)
{
    uint32_t w = _i ? 301 : 37, h = 23;
    uint16_t *px = make_pixels_noise(w, h, 1, !_i);
    for (int f = -1; f <= 4; f++) {
        opts o = PLAIN;
        o.filter = f;
        buf b = encode(px, w, h, o);
        qn_png16_image img;
        qn_error e;
        ck_assert_int_eq(decode(&b, 0, &img, &e), QN_OK);
        ck_assert_uint_eq(img.bit_depth, 16);
        assert_same(&img, px, w, h);
        /* libspng agrees */
        ck_assert_int_eq(decode(&b, QN_PNG16_FORCE_SPNG, &img, &e), QN_OK);
        assert_same(&img, px, w, h);
        free(b.p);
    }
    free(px);
}
END_TEST

START_TEST(tiny_and_split_idat)
{
    static const uint32_t sizes[][2] = {{1, 1}, {1, 9}, {9, 1}, {2, 2}, {300, 3}};
    for (size_t k = 0; k < 5; k++) {
        uint32_t w = sizes[k][0], h = sizes[k][1];
        uint16_t *px = make_pixels(w, h, 2 + (unsigned)k);
        opts o = PLAIN;
        o.idat_split = 3;
        buf b = encode(px, w, h, o);
        qn_png16_image img;
        qn_error e;
        ck_assert_int_eq(decode(&b, 0, &img, &e), QN_OK);
        assert_same(&img, px, w, h);
        free(b.p);
        free(px);
    }
}
END_TEST

START_TEST(adam7_via_spng)
{
    uint32_t w = 19, h = 13;
    uint16_t *px = make_pixels(w, h, 3);
    opts o = PLAIN;
    o.interlace = 1;
    buf b = encode(px, w, h, o);
    qn_png16_image img;
    qn_error e;
    ck_assert_msg(decode(&b, 0, &img, &e) == QN_OK, "%s", e.msg);
    assert_same(&img, px, w, h);
    free(b.p);
    free(px);
}
END_TEST

START_TEST(eight_bit)
{
    uint32_t w = 5, h = 3;
    uint16_t px[15];
    for (int i = 0; i < 15; i++)
        px[i] = (uint16_t)(i * 17);
    opts o = PLAIN;
    o.depth = 8;
    buf b = encode(px, w, h, o);
    qn_png16_image img;
    qn_error e;
    ck_assert_int_eq(decode(&b, 0, &img, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "t.png: 8-bit greyscale PNG, expected 16-bit (instance ids >= 1000 "
                            "need 16 bits)");
    ck_assert_int_eq(decode(&b, QN_PNG16_ALLOW_LOWDEPTH, &img, &e), QN_OK);
    ck_assert_uint_eq(img.bit_depth, 8);
    assert_same(&img, px, w, h);
    free(b.p);
}
END_TEST

START_TEST(colour_rejected)
{
    uint16_t px[4] = {1, 2, 3, 4};
    opts o = PLAIN;
    o.depth = 8;
    o.color = 2;
    buf b = encode(px, 2, 2, o);
    qn_png16_image img;
    qn_error e;
    ck_assert_int_eq(decode(&b, QN_PNG16_ALLOW_LOWDEPTH, &img, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "t.png: RGB PNG, expected 16-bit greyscale");
    free(b.p);
}
END_TEST

START_TEST(bad_files)
{
    uint32_t w = 16, h = 8;
    uint16_t *px = make_pixels(w, h, 4);
    buf good = encode(px, w, h, PLAIN);
    qn_png16_image img;
    qn_error e;

    buf b = {0};
    put(&b, "GIF89a....", 10);
    ck_assert_int_eq(decode(&b, 0, &img, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "t.png: not a PNG file");
    free(b.p);

    /* every truncation is an error, never a crash */
    for (size_t n = 0; n < good.n; n++) {
        buf t = {good.p, n, n};
        ck_assert_int_eq(decode(&t, 0, &img, &e), QN_EINPUT);
        ck_assert_ptr_nonnull(strstr(e.msg, "t.png: "));
    }
    buf t = {good.p, good.n - 12, good.n};
    decode(&t, 0, &img, &e);
    ck_assert_str_eq(e.msg, "t.png: truncated PNG (no IEND chunk)");

    /* a flipped byte in any chunk's data is a CRC error */
    b.p = malloc(good.n);
    memcpy(b.p, good.p, good.n);
    b.n = good.n;
    b.p[8 + 8 + 3] ^= 1; /* inside IHDR */
    ck_assert_int_eq(decode(&b, 0, &img, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "t.png: bad CRC in chunk IHDR at byte 8");
    free(b.p);

    /* data for fewer or more rows than the header says */
    opts o = PLAIN;
    o.extra_rows = -1;
    b = encode(px, w, h, o);
    ck_assert_int_eq(decode(&b, 0, &img, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "t.png: truncated image data (231 of 264 bytes)");
    free(b.p);
    o.extra_rows = 2;
    b = encode(px, w, h, o);
    ck_assert_int_eq(decode(&b, 0, &img, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "t.png: more image data than 16x8 needs");
    free(b.p);

    /* filter type 5 */
    o = PLAIN;
    o.filter = 5;
    b = encode(px, w, h, o);
    ck_assert_int_eq(decode(&b, 0, &img, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "t.png: bad filter type 5 on row 0");
    free(b.p);

    free(good.p);
    free(px);
}
END_TEST

/* zero_below: samples under the bound read as 0 on both paths, the others unchanged */
START_TEST(zero_below)
{
    uint32_t w = 29, h = 7;
    uint16_t *px = make_pixels(w, h, 9);
    for (uint32_t i = 0; i < w * h; i += 3)
        px[i] = (uint16_t)(i % 40); /* plenty of values around the bound */
    qn_png16 *d = qn_png16_new();
    for (int pass = 0; pass < 2; pass++) {
        opts o = PLAIN;
        o.interlace = pass; /* Adam7 goes through libspng */
        buf b = encode(px, w, h, o);
        qn_png16_image img;
        qn_error e;
        qn_error_clear(&e);
        qn_png16_zero_below(d, 24);
        ck_assert_int_eq(qn_png16_read_mem(d, b.p, b.n, "t.png", 0, &img, &e), QN_OK);
        for (uint32_t i = 0; i < w * h; i++)
            ck_assert_uint_eq(img.px[i], px[i] < 24 ? 0 : px[i]);
        qn_png16_zero_below(d, 0);
        ck_assert_int_eq(qn_png16_read_mem(d, b.p, b.n, "t.png", 0, &img, &e), QN_OK);
        assert_same(&img, px, w, h);
        free(b.p);
    }
    qn_png16_free(d);
    free(px);
}
END_TEST

START_TEST(missing_file)
{
    qn_png16 *d = qn_png16_new();
    qn_png16_image img;
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(qn_png16_read_file(d, "/nonexistent/x.png", 0, &img, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "/nonexistent/x.png: No such file or directory");
    qn_error_clear(&e);
    ck_assert_int_eq(qn_png16_read_file(d, "/", 0, &img, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "/: not a regular file");
    qn_png16_free(d);
    qn_png16_free(NULL);
}
END_TEST

/* Random byte mutations of a valid file: each decode succeeds or fails cleanly. */
START_TEST(mutation_fuzz)
{
    uint32_t w = 24, h = 12;
    uint16_t *px = make_pixels(w, h, 5);
    buf good = encode(px, w, h, PLAIN);
    buf b = {malloc(good.n), good.n, good.n};
    srand(7);
    int ok = 0;
    for (int k = 0; k < 3000; k++) {
        memcpy(b.p, good.p, good.n);
        int flips = 1 + rand() % 4;
        for (int f = 0; f < flips; f++)
            b.p[rand() % good.n] = (uint8_t)rand();
        qn_png16_image img;
        qn_error e;
        int rc = decode(&b, (unsigned)(k & 1) ? QN_PNG16_FORCE_SPNG : 0, &img, &e);
        ck_assert(rc == QN_OK || rc == QN_EINPUT);
        ok += rc == QN_OK;
    }
    ck_assert_int_lt(ok, 3000);
    free(b.p);
    free(good.p);
    free(px);
}
END_TEST

static Suite *png16_suite(void)
{
    Suite *s = suite_create("png16");
    TCase *c = tcase_create("decode");
    tcase_add_loop_test(c, every_filter, 0, 2);
    tcase_add_test(c, tiny_and_split_idat);
    tcase_add_test(c, adam7_via_spng);
    tcase_add_test(c, eight_bit);
    tcase_add_test(c, colour_rejected);
    tcase_add_test(c, zero_below);
    suite_add_tcase(s, c);
    TCase *bad = tcase_create("bad input");
    tcase_add_test(bad, bad_files);
    tcase_add_test(bad, missing_file);
    tcase_add_test(bad, mutation_fuzz);
    tcase_set_timeout(bad, 60);
    suite_add_tcase(s, bad);
    return s;
}

QN_CHECK_MAIN(png16_suite)
