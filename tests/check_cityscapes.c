/* check_cityscapes.c — the cityscapes converter's pieces: the label table, the JSON text
 * (Python json.dump's escaping and number forms), per-image annotation, and the Pillow
 * polygon fill on shapes whose pixels Pillow 13 gives (expected rows printed by Pillow). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "converters/cityscapes.h"
#include "converters/cityscapes_json.h"
#include "converters/cityscapes_labels.h"
#include "converters/cityscapes_poly.h"

/* Runs fn into a memory stream and compares with want. */
static void expect_text(void (*fn)(FILE *, const void *), const void *arg, const char *want)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    fn(f, arg);
    fclose(f);
    ck_assert_str_eq(buf, want);
    free(buf);
}

static void put_string(FILE *f, const void *s)
{
    cs_json_string(f, s);
}

START_TEST(labels)
{
    ck_assert_str_eq(cs_label_by_id(26)->name, "car");
    ck_assert_ptr_null(cs_label_by_id(34));
    ck_assert_ptr_null(cs_label_by_id(-1));
    ck_assert_int_eq(cs_label_by_name("license plate")->id, -1);
    ck_assert_int_eq(cs_label_by_name("polegroup")->id, 18);
    ck_assert_ptr_null(cs_label_by_name("cargroup"));
    static const int want[CS_NUM_EVAL] = {24, 25, 26, 27, 28, 31, 32, 33};
    for (int i = 0; i < CS_NUM_EVAL; i++) {
        ck_assert_int_eq(cs_eval_labels[i]->id, want[i]);
        ck_assert_int_eq(cs_eval_index(want[i]), i + 1);
    }
    ck_assert_int_eq(cs_eval_index(29), 0); /* caravan: ignoreInEval */
    ck_assert_int_eq(cs_eval_index(30), 0);
    ck_assert_int_eq(cs_eval_index(7), 0);
}
END_TEST

START_TEST(json_strings)
{
    /* each expectation is what Python's json.dumps gives for the same str */
    expect_text(put_string, "aachen/a_b.png", "\"aachen/a_b.png\"");
    expect_text(put_string, "q\"\\\n\r\t\b\f\x01\x7f", "\"q\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u007f\"");
    expect_text(put_string, "z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x98\x80",
                "\"z\\u00fcrich \\u20ac \\ud83d\\ude00\"");
    /* invalid UTF-8 bytes as surrogateescape gives them: \udcXX per byte */
    expect_text(put_string, "a\xff\xc3(\xed\xa0\x80", "\"a\\udcff\\udcc3(\\udced\\udca0\\udc80\"");
}
END_TEST

static void put_ann(FILE *f, const void *a)
{
    cs_json_ann(f, a, 1024, 2048, 7, 42);
}

static void put_image(FILE *f, const void *unused)
{
    cs_json_image(f, "c/x_leftImg8bit.png", "c/x_gtFine_labelIds.png", 1024, 2048, 3);
}

static void put_cats(FILE *f, const void *contiguous)
{
    cs_json_categories(f, *(const int *)contiguous);
}

START_TEST(json_records)
{
    cs_ann a = {26000, 26, 0, 35, {1, 2, 7, 5}, (char *)"P1\\o0"};
    expect_text(put_ann, &a,
                "{\"iscrowd\": 0, \"category_id\": 26, \"bbox\": [1.0, 2.0, 7.0, 5.0], "
                "\"area\": 35, \"segmentation\": {\"size\": [1024, 2048], \"counts\": "
                "\"P1\\\\o0\"}, \"image_id\": 7, \"id\": 42}");
    expect_text(put_image, NULL,
                "{\"file_name\": \"c/x_leftImg8bit.png\", \"height\": 1024, \"width\": 2048, "
                "\"segm_file\": \"c/x_gtFine_labelIds.png\", \"id\": 3}");
    int raw = 0, contiguous = 1;
    expect_text(put_cats, &raw,
                "[{\"id\": 24, \"name\": \"person\"}, {\"id\": 25, \"name\": \"rider\"}, "
                "{\"id\": 26, \"name\": \"car\"}, {\"id\": 27, \"name\": \"truck\"}, "
                "{\"id\": 28, \"name\": \"bus\"}, {\"id\": 31, \"name\": \"train\"}, "
                "{\"id\": 32, \"name\": \"motorcycle\"}, {\"id\": 33, \"name\": \"bicycle\"}]");
    expect_text(put_cats, &contiguous,
                "[{\"id\": 1, \"name\": \"person\"}, {\"id\": 2, \"name\": \"rider\"}, "
                "{\"id\": 3, \"name\": \"car\"}, {\"id\": 4, \"name\": \"truck\"}, "
                "{\"id\": 5, \"name\": \"bus\"}, {\"id\": 6, \"name\": \"train\"}, "
                "{\"id\": 7, \"name\": \"motorcycle\"}, {\"id\": 8, \"name\": \"bicycle\"}]");
}
END_TEST

START_TEST(annotate)
{
    /* 4 rows x 5 columns */
    uint16_t px[20] = {7,     26000, 26000, 26,    29000,
                       7,     26000, 24000, 26,    29000,
                       23,    7,     24000, 33001, 1,
                       24,    24,    7,     7,     7};
    cs_anns l = {0};
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(cs_annotate(px, 5, 4, 0, &l, "x.png", &e), QN_OK);
    /* ascending pixel id: 24 (crowd), 26 (crowd), 24000, 26000, 33001; 29000 dropped */
    static const uint32_t ids[] = {24, 26, 24000, 26000, 33001};
    static const int cat[] = {24, 26, 24, 26, 33}, crowd[] = {1, 1, 0, 0, 0};
    static const uint64_t area[] = {2, 2, 2, 3, 1};
    ck_assert_uint_eq(l.n, 5);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_uint_eq(l.a[i].pixel_id, ids[i]);
        ck_assert_int_eq(l.a[i].category_id, cat[i]);
        ck_assert_int_eq(l.a[i].iscrowd, crowd[i]);
        ck_assert_uint_eq(l.a[i].area, area[i]);
    }
    /* car 26000: columns 1..2, rows 0..1 -> bbox [1, 0, 2, 2]; column-major RLE */
    ck_assert(l.a[3].bbox[0] == 1 && l.a[3].bbox[1] == 0 && l.a[3].bbox[2] == 2 &&
              l.a[3].bbox[3] == 2);
    ck_assert_str_eq(l.a[3].counts, "422O9"); /* pycocotools.mask.encode gives this */
    cs_anns_clear(&l);
    ck_assert_int_eq(cs_annotate(px, 5, 4, 1, &l, "x.png", &e), QN_OK);
    ck_assert_int_eq(l.a[4].category_id, 8);
    cs_anns_clear(&l);

    px[19] = 50001;
    ck_assert_int_eq(cs_annotate(px, 5, 4, 0, &l, "x.png", &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "x.png: pixel value 50001 is not a Cityscapes id (no label 50)");
    qn_error_clear(&e);
    px[19] = 500;
    cs_anns_clear(&l);
    ck_assert_int_eq(cs_annotate(px, 5, 4, 0, &l, "x.png", &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "x.png: pixel value 500 is not a Cityscapes id (no label 500)");
    cs_anns_free(&l);
    cs_anns_free(NULL);
}
END_TEST

/* Fills on an 8x7 canvas and compares with Pillow 13's rows ('#' = filled). */
static void expect_fill(const int *xy, size_t n, const char *const rows[7])
{
    uint16_t px[56] = {0};
    ck_assert_int_eq(cs_poly_fill(px, 8, 7, xy, n, 5), QN_OK);
    for (int y = 0; y < 7; y++)
        for (int x = 0; x < 8; x++)
            if ((px[y * 8 + x] == 5) != (rows[y][x] == '#'))
                ck_abort_msg("pixel (%d,%d) differs from Pillow", x, y);
}

START_TEST(pillow_fill)
{
    static const int square[] = {1, 1, 6, 1, 6, 4, 1, 4};
    static const char *const square_rows[7] = {"........", ".######.", ".######.", ".######.",
                                               ".######.", "........", "........"};
    expect_fill(square, 4, square_rows);
    static const int tri[] = {0, 0, 7, 2, 2, 6};
    static const char *const tri_rows[7] = {"#.......", "####....", ".#######", ".######.",
                                            ".####...", "..##....", "..#....."};
    expect_fill(tri, 3, tri_rows);
    static const int bow[] = {1, 1, 7, 6, 7, 1, 1, 6};
    static const char *const bow_rows[7] = {"........", ".#.....#", ".##...##", ".###.###",
                                            ".###.###", ".##...##", ".#.....#"};
    expect_fill(bow, 4, bow_rows);
    static const int line[] = {2, 0, 2, 5};
    static const char *const line_rows[7] = {"..#.....", "..#.....", "..#.....", "..#.....",
                                             "..#.....", "..#.....", "........"};
    expect_fill(line, 2, line_rows);
}
END_TEST

START_TEST(canvas_free)
{
    cs_canvas c = {0};
    cs_canvas_free(&c);
    cs_canvas_free(NULL);
}
END_TEST

static Suite *cityscapes_suite(void)
{
    Suite *s = suite_create("cityscapes");
    TCase *c = tcase_create("core");
    tcase_add_test(c, labels);
    tcase_add_test(c, json_strings);
    tcase_add_test(c, json_records);
    tcase_add_test(c, annotate);
    tcase_add_test(c, pillow_fill);
    tcase_add_test(c, canvas_free);
    suite_add_tcase(s, c);
    return s;
}

QN_CHECK_MAIN(cityscapes_suite)
