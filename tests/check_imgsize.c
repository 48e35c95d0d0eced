/* Unit tests for converters/imgsize: header-only sizes against libjpeg-turbo's own
 * header reader, EXIF orientation, PNG IHDR, and every kind of broken header. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "check_main.h"
#include "converters/imgsize.h"

/* A real JPEG from libjpeg-turbo (caller frees with tjFree). */
static unsigned char *make_jpeg(int w, int h, int gray, int progressive, unsigned long *size)
{
    tjhandle tj = tjInitCompress();
    ck_assert_ptr_nonnull(tj);
    int ps = gray ? 1 : 3;
    unsigned char *px = malloc((size_t)w * h * ps);
    for (int i = 0; i < w * h * ps; i++)
        px[i] = (unsigned char)(i * 7);
    unsigned char *jpg = NULL;
    int flags = progressive ? TJFLAG_PROGRESSIVE : 0;
    ck_assert_int_eq(tjCompress2(tj, px, w, 0, h, gray ? TJPF_GRAY : TJPF_RGB, &jpg, size,
                                 gray ? TJSAMP_GRAY : TJSAMP_420, 85, flags), 0);
    free(px);
    tjDestroy(tj);
    return jpg;
}

/* Inserts a segment (marker + payload) right after SOI. */
static unsigned char *with_segment(const unsigned char *jpg, size_t n, int marker,
                                   const unsigned char *payload, size_t plen, size_t *out_n)
{
    unsigned char *o = malloc(n + plen + 4);
    memcpy(o, jpg, 2);
    o[2] = 0xFF;
    o[3] = (unsigned char)marker;
    o[4] = (unsigned char)((plen + 2) >> 8);
    o[5] = (unsigned char)(plen + 2);
    memcpy(o + 6, payload, plen);
    memcpy(o + 6 + plen, jpg + 2, n - 2);
    *out_n = n + plen + 4;
    return o;
}

/* An EXIF APP1 payload with one IFD0 entry: Orientation = o. */
static size_t exif_payload(unsigned char *p, int o, int little)
{
    static const unsigned char be[] = {'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 0, 0, 8,
                                       0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char le[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0,
                                       1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(p, little ? le : be, sizeof be);
    if (little)
        p[24] = (unsigned char)o;
    else
        p[25] = (unsigned char)o;
    return sizeof be;
}

START_TEST(jpeg_matches_turbojpeg)
{
    static const int sizes[][2] = {{1, 1}, {17, 9}, {640, 480}, {333, 1001}, {4000, 16}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int variant = 0; variant < 3; variant++) {
            unsigned long n;
            unsigned char *jpg = make_jpeg(sizes[i][0], sizes[i][1], variant == 1, variant == 2, &n);
            tjhandle tj = tjInitDecompress();
            int w, h, ss, cs;
            ck_assert_int_eq(tjDecompressHeader3(tj, jpg, n, &w, &h, &ss, &cs), 0);
            tjDestroy(tj);
            imgsize_info info;
            qn_error e;
            qn_error_clear(&e);
            ck_assert_int_eq(imgsize_probe_mem(jpg, n, "x.jpg", &info, &e), QN_OK);
            ck_assert_int_eq(info.width, (uint32_t)w);
            ck_assert_int_eq(info.height, (uint32_t)h);
            ck_assert_int_eq(info.orientation, 1);
            ck_assert_int_eq(info.kind, IMGSIZE_JPEG);
            tjFree(jpg);
        }
}
END_TEST

START_TEST(jpeg_exif_orientation)
{
    unsigned long n;
    unsigned char *jpg = make_jpeg(64, 32, 0, 0, &n);
    for (int o = 1; o <= 9; o++)
        for (int little = 0; little < 2; little++) {
            unsigned char p[64];
            size_t plen = exif_payload(p, o, little), m;
            unsigned char *x = with_segment(jpg, n, 0xE1, p, plen, &m);
            imgsize_info info;
            qn_error e;
            qn_error_clear(&e);
            ck_assert_int_eq(imgsize_probe_mem(x, m, "x.jpg", &info, &e), QN_OK);
            int want = o <= 8 ? o : 1; /* 9 is not an orientation: ignored */
            ck_assert_int_eq(info.orientation, want);
            ck_assert_int_eq(info.raw_width, 64);
            ck_assert_int_eq(info.width, want >= 5 ? 32 : 64);
            ck_assert_int_eq(info.height, want >= 5 ? 64 : 32);
            free(x);
        }
    tjFree(jpg);
}
END_TEST

START_TEST(jpeg_big_segment_and_fill_bytes_from_file)
{
    unsigned long n;
    unsigned char *jpg = make_jpeg(300, 200, 0, 1, &n);
    size_t plen = 65000, m, m2;
    unsigned char *icc = calloc(plen, 1);
    unsigned char *x = with_segment(jpg, n, 0xE2, icc, plen, &m); /* a big ICC-like block */
    unsigned char p[64];
    size_t elen = exif_payload(p, 8, 1);
    unsigned char *y = with_segment(x, m, 0xE1, p, elen, &m2);
    /* fill bytes before the APP2 marker: FF FF FF E2 */
    unsigned char *z = malloc(m2 + 2);
    size_t app2 = 2 + 4 + elen;
    memcpy(z, y, app2);
    z[app2] = 0xFF;
    z[app2 + 1] = 0xFF;
    memcpy(z + app2 + 2, y + app2, m2 - app2);
    char path[] = "/tmp/check_imgsize_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, z, m2 + 2), (ssize_t)(m2 + 2));
    close(fd);
    imgsize_info info;
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(imgsize_probe(path, &info, &e), QN_OK);
    ck_assert_int_eq(info.width, 200);
    ck_assert_int_eq(info.height, 300);
    ck_assert_int_eq(info.orientation, 8);
    /* truncated in the middle of the big segment: an error naming the file */
    ck_assert_int_eq(truncate(path, 40000), 0);
    ck_assert_int_eq(imgsize_probe(path, &info, &e), QN_EINPUT);
    ck_assert(strstr(e.msg, path) && strstr(e.msg, "truncated"));
    unlink(path);
    free(icc);
    free(x);
    free(y);
    free(z);
    tjFree(jpg);
}
END_TEST

START_TEST(png_ihdr)
{
    unsigned char png[33] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13,
                             'I', 'H', 'D', 'R', 0, 0, 0x07, 0xD0, 0, 0, 0x01, 0x2C, 8, 2};
    imgsize_info info;
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(imgsize_probe_mem(png, sizeof png, "a.png", &info, &e), QN_OK);
    ck_assert_int_eq(info.width, 2000);
    ck_assert_int_eq(info.height, 300);
    ck_assert_int_eq(info.kind, IMGSIZE_PNG);
    ck_assert_int_eq(imgsize_probe_mem(png, 20, "a.png", &info, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "a.png: truncated PNG (no IHDR)");
    png[19] = 0;
    png[18] = 0;
    qn_error_clear(&e);
    ck_assert_int_eq(imgsize_probe_mem(png, sizeof png, "a.png", &info, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "a.png: PNG IHDR has an invalid width or height");
    png[12] = 'X';
    qn_error_clear(&e);
    ck_assert_int_eq(imgsize_probe_mem(png, sizeof png, "a.png", &info, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "a.png: corrupt PNG (IHDR is not the first chunk)");
}
END_TEST

START_TEST(broken_headers)
{
    static const struct { const char *bytes; size_t n; const char *msg; } cases[] = {
        {"", 0, "b: not a JPEG or PNG file"},
        {"GIF89a....", 10, "b: not a JPEG or PNG file"},
        {"\xFF\xD8", 2, "b: truncated JPEG (no frame header)"},
        {"\xFF\xD8\xFF\xE0\x00", 5, "b: truncated JPEG (no frame header)"},
        {"\xFF\xD8\xFF\xDA\x00\x08", 6, "b: JPEG has no frame header before its scan"},
        {"\xFF\xD8\xFF\xD9", 4, "b: JPEG has no frame header before its scan"},
        {"\xFF\xD8\x12\x34", 4, "b: corrupt JPEG (marker expected)"},
        {"\xFF\xD8\xFF\xE0\x00\x01", 6, "b: corrupt JPEG (segment length < 2)"},
        {"\xFF\xD8\xFF\xC0\x00\x11\x08\x00", 8, "b: truncated JPEG frame header"},
        {"\xFF\xD8\xFF\xC2\x00\x11\x08\x00\x00\x00\x10", 11,
         "b: JPEG frame header has zero width or height (DNL not supported)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        imgsize_info info;
        qn_error e;
        qn_error_clear(&e);
        ck_assert_int_eq(imgsize_probe_mem((const uint8_t *)cases[i].bytes, cases[i].n, "b", &info,
                                           &e), QN_EINPUT);
        ck_assert_str_eq(e.msg, cases[i].msg);
    }
    imgsize_info info;
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(imgsize_probe("/nonexistent/x.jpg", &info, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "/nonexistent/x.jpg: No such file or directory");
    qn_error_clear(&e);
    ck_assert_int_eq(imgsize_probe("/tmp", &info, &e), QN_EINPUT);
    ck_assert(strstr(e.msg, "/tmp: reading the header") != NULL);
    char fifo[] = "/tmp/check_imgsize_fifo_XXXXXX"; /* refused at once, not waited on */
    ck_assert_ptr_nonnull(mkdtemp(fifo));
    char path[64];
    snprintf(path, sizeof path, "%s/a.jpg", fifo);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    qn_error_clear(&e);
    ck_assert_int_eq(imgsize_probe(path, &info, &e), QN_EINPUT);
    ck_assert_msg(strstr(e.msg, "a.jpg: not a regular file") != NULL, "%s", e.msg);
    unlink(path);
    rmdir(fifo);
}
END_TEST

START_TEST(exif_malformed_is_ignored)
{
    unsigned char p[64];
    size_t n = exif_payload(p, 6, 0);
    ck_assert_int_eq(imgsize_exif_orientation(p, n), 6);
    ck_assert_int_eq(imgsize_exif_orientation(p, 13), 1);  /* too short */
    ck_assert_int_eq(imgsize_exif_orientation(p, 20), 1);  /* entry cut off */
    p[6] = 'X';                                            /* bad byte order */
    ck_assert_int_eq(imgsize_exif_orientation(p, n), 1);
    n = exif_payload(p, 6, 0);
    p[13] = 200;                                           /* IFD offset past the end */
    ck_assert_int_eq(imgsize_exif_orientation(p, n), 1);
    n = exif_payload(p, 6, 0);
    p[19] = 4;                                             /* LONG, not SHORT */
    ck_assert_int_eq(imgsize_exif_orientation(p, n), 1);
    ck_assert_int_eq(imgsize_exif_orientation((const uint8_t *)"JFIF\0\0abcdefghijk", 17), 1);
}
END_TEST

/* Random damage to real headers (a JPEG with EXIF, a PNG): flipped, set and cut
 * bytes. Every outcome is a size or one "b: ..." line, never a read past the buffer
 * (run under ASan by make check SANITIZE=1). */
START_TEST(random_damage_never_crashes)
{
    unsigned long n;
    unsigned char *jpg = make_jpeg(40, 24, 0, 1, &n);
    unsigned char ex[64];
    size_t exn = exif_payload(ex, 6, 1), wn;
    unsigned char *w = with_segment(jpg, n, 0xE1, ex, exn, &wn);
    static const unsigned char png[33] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0,
                                          13, 'I', 'H', 'D', 'R', 0, 0, 0x07, 0xD0, 0, 0, 0x01,
                                          0x2C, 8, 2};
    const unsigned char *src[2] = {w, png};
    size_t len[2] = {wn < 700 ? wn : 700, sizeof png};
    unsigned char buf[700];
    uint32_t r = 12345;
    int ok = 0;
    for (int it = 0; it < 20000; it++) {
        int k = it & 1;
        memcpy(buf, src[k], len[k]);
        size_t m = len[k];
        for (int j = 0, nm = 1 + (int)((r >> 8) % 4); j < nm; j++) {
            r = r * 1103515245u + 12345u;
            size_t at = (r >> 8) % m;
            buf[at] = (r >> 20) & 1 ? (unsigned char)(r >> 24) : buf[at] ^ (1u << ((r >> 4) & 7));
        }
        r = r * 1103515245u + 12345u;
        if ((r >> 16) % 3 == 0)
            m = (r >> 4) % (m + 1);
        imgsize_info info;
        qn_error e;
        qn_error_clear(&e);
        int rc = imgsize_probe_mem(buf, m, "b", &info, &e);
        if (rc == QN_OK) {
            ck_assert(info.width > 0 && info.height > 0 && info.orientation >= 1 &&
                      info.orientation <= 8);
            ok++;
        } else {
            ck_assert_int_eq(rc, QN_EINPUT);
            ck_assert_msg(!strncmp(e.msg, "b: ", 3) && !strchr(e.msg, '\n'), "%s", e.msg);
        }
    }
    ck_assert_int_gt(ok, 1000); /* the damage does not only make garbage */
    free(w);
    tjFree(jpg);
}
END_TEST

static Suite *imgsize_suite(void)
{
    Suite *s = suite_create("imgsize");
    TCase *tc = tcase_create("headers");
    tcase_add_test(tc, jpeg_matches_turbojpeg);
    tcase_add_test(tc, jpeg_exif_orientation);
    tcase_add_test(tc, jpeg_big_segment_and_fill_bytes_from_file);
    tcase_add_test(tc, png_ihdr);
    tcase_add_test(tc, broken_headers);
    tcase_add_test(tc, exif_malformed_is_ignored);
    tcase_add_test(tc, random_damage_never_crashes);
    suite_add_tcase(s, tc);
    return s;
}

QN_CHECK_MAIN(imgsize_suite)
