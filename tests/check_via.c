/* Unit tests for the via library internals: shapes, geometry, attribute
 * resolution, category tables, number formatting, error messages. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "converters/via_int.h"

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    ck_assert_msg(j != NULL, "bad test JSON: %s", je.text);
    return j;
}

static const via_where W = {"in.json", "a.jpg", "3"};

START_TEST(fail_message_format)
{
    qn_error e;
    qn_error_clear(&e);
    via_fail(&e, QN_EINPUT, &W, "bad %d", 7);
    ck_assert_str_eq(e.msg, "in.json: image \"a.jpg\" region 3: bad 7");
    via_where w2 = {"in.json", NULL, NULL};
    qn_error_clear(&e);
    via_fail(&e, QN_EINPUT, &w2, "top");
    ck_assert_str_eq(e.msg, "in.json: top");
}
END_TEST

START_TEST(fmt_double_shortest)
{
    static const struct { double v; const char *s; } t[] = {
        {3, "3.0"}, {0, "0.0"}, {-0.0, "0.0"}, {-2.5, "-2.5"}, {0.1, "0.1"}, {332.935, "332.935"},
        {1e20, "1e+20"}, {1.0 / 3, "0.3333333333333333"}, {123456789012.0, "123456789012.0"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char b[32];
        via_fmt_double(b, t[i].v);
        ck_assert_str_eq(b, t[i].s);
        if (t[i].v != 0)
            ck_assert(strtod(b, NULL) == t[i].v);
    }
}
END_TEST

START_TEST(shapes_v2)
{
    via_poly p = {0};
    int kind;
    qn_error e;
    json_t *s = J("{\"name\":\"rect\",\"x\":1,\"y\":2,\"width\":3,\"height\":4}");
    ck_assert_int_eq(via_shape_v2(s, &p, &kind, &W, &e), QN_OK);
    ck_assert_int_eq(p.n, 4);
    ck_assert(p.xy[4] == 4 && p.xy[5] == 6);
    json_decref(s);

    s = J("{\"name\":\"circle\",\"cx\":50,\"cy\":50,\"r\":10}");
    ck_assert_int_eq(via_shape_v2(s, &p, &kind, &W, &e), QN_OK);
    ck_assert_int_eq(p.n, VIA_ROUND_VERTICES);
    ck_assert(p.xy[0] == 60 && p.xy[1] == 50);
    /* a regular 72-gon: 0.5 * 72 * r^2 * sin(5 deg) */
    ck_assert(fabs(via_shoelace(p.xy, p.n) - 36 * 100 * sin(M_PI / 36)) < 0.05);
    json_decref(s);

    /* theta = pi/2 turns a wide ellipse into a tall one */
    s = J("{\"name\":\"ellipse\",\"cx\":50,\"cy\":50,\"rx\":20,\"ry\":5,\"theta\":1.5707963267948966}");
    ck_assert_int_eq(via_shape_v2(s, &p, &kind, &W, &e), QN_OK);
    double bb[4];
    via_bbox(p.xy, p.n, bb);
    ck_assert(fabs(bb[2] - 10) < 1e-9 && fabs(bb[3] - 40) < 1e-9);
    json_decref(s);

    s = J("{\"name\":\"point\",\"cx\":1,\"cy\":2}");
    ck_assert_int_eq(via_shape_v2(s, &p, &kind, &W, &e), QN_OK);
    ck_assert_int_eq(kind, VIA_SHAPE_POINT);
    json_decref(s);
    s = J("{\"name\":\"polyline\",\"all_points_x\":[1,2],\"all_points_y\":[1,2]}");
    ck_assert_int_eq(via_shape_v2(s, &p, &kind, &W, &e), QN_OK);
    ck_assert_int_eq(kind, VIA_SHAPE_POLYLINE);
    json_decref(s);
    via_poly_free(&p);
}
END_TEST

START_TEST(shapes_v2_errors)
{
    static const struct { const char *json, *msg; } t[] = {
        {"{\"name\":\"polygon\",\"all_points_x\":[1,2],\"all_points_y\":[1,2,3]}",
         "in.json: image \"a.jpg\" region 3: polygon has 2 x but 3 y coordinates"},
        {"{\"name\":\"polygon\",\"all_points_x\":[1,2],\"all_points_y\":[1,2]}",
         "in.json: image \"a.jpg\" region 3: polygon has 2 points (need at least 3)"},
        {"{\"name\":\"polygon\",\"all_points_x\":[1,2,\"x\"],\"all_points_y\":[1,2,3]}",
         "in.json: image \"a.jpg\" region 3: polygon point 2 is not a pair of numbers"},
        {"{\"name\":\"polygon\"}",
         "in.json: image \"a.jpg\" region 3: polygon needs lists \"all_points_x\" and \"all_points_y\""},
        {"{\"name\":\"rect\",\"x\":1,\"y\":2,\"width\":3}",
         "in.json: image \"a.jpg\" region 3: rect has no \"height\""},
        {"{\"name\":\"rect\",\"x\":1,\"y\":2,\"width\":-3,\"height\":1}",
         "in.json: image \"a.jpg\" region 3: rect has a negative width or height"},
        {"{\"name\":\"circle\",\"cx\":\"1\",\"cy\":2,\"r\":3}",
         "in.json: image \"a.jpg\" region 3: \"cx\" is not a number"},
        {"{\"name\":\"hexagon\"}", "in.json: image \"a.jpg\" region 3: unknown shape \"hexagon\""},
        {"{\"x\":1}", "in.json: image \"a.jpg\" region 3: shape has no \"name\""},
        {"[]", "in.json: image \"a.jpg\" region 3: no \"shape_attributes\" object"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        via_poly p = {0};
        int kind;
        qn_error e;
        qn_error_clear(&e);
        json_t *s = J(t[i].json);
        ck_assert_int_eq(via_shape_v2(s, &p, &kind, &W, &e), QN_EINPUT);
        ck_assert_str_eq(e.msg, t[i].msg);
        json_decref(s);
        via_poly_free(&p);
    }
}
END_TEST

START_TEST(shapes_v3)
{
    via_poly p = {0};
    int kind;
    qn_error e;
    qn_error_clear(&e);
    json_t *s = J("[7, 0,0, 10,0, 10,10, 0,10]");
    ck_assert_int_eq(via_shape_v3(s, &p, &kind, &W, &e), QN_OK);
    ck_assert_int_eq(p.n, 4);
    ck_assert(via_shoelace(p.xy, p.n) == 100);
    json_decref(s);
    s = J("[2, 5, 6, 10, 20]");
    ck_assert_int_eq(via_shape_v3(s, &p, &kind, &W, &e), QN_OK);
    ck_assert(via_shoelace(p.xy, p.n) == 200);
    json_decref(s);
    s = J("[8, 5,0, 10,5, 5,10, 0,5]"); /* extreme rectangle: left/top/right/bottom points */
    ck_assert_int_eq(via_shape_v3(s, &p, &kind, &W, &e), QN_OK);
    double bb[4];
    via_bbox(p.xy, p.n, bb);
    ck_assert(bb[0] == 0 && bb[1] == 0 && bb[2] == 10 && bb[3] == 10 && p.n == 4);
    json_decref(s);
    s = J("[9, 10,0, 0,10, -10,0]"); /* circle through 3 points: centre (0,0), r 10 */
    ck_assert_int_eq(via_shape_v3(s, &p, &kind, &W, &e), QN_OK);
    via_bbox(p.xy, p.n, bb);
    ck_assert(fabs(bb[0] + 10) < 1e-9 && fabs(bb[2] - 20) < 1e-9);
    json_decref(s);
    s = J("[3, 5, 5, 2]");
    ck_assert_int_eq(via_shape_v3(s, &p, &kind, &W, &e), QN_OK);
    ck_assert_int_eq(p.n, VIA_ROUND_VERTICES);
    json_decref(s);
    s = J("[4, 5, 5, 4, 2]");
    ck_assert_int_eq(via_shape_v3(s, &p, &kind, &W, &e), QN_OK);
    json_decref(s);
    for (int id = 1; id <= 6; id += 5) {
        char b[64];
        snprintf(b, sizeof b, "[%d, 1, 2, 3, 4]", id);
        s = J(b);
        ck_assert_int_eq(via_shape_v3(s, &p, &kind, &W, &e), QN_OK);
        ck_assert_int_eq(kind, id == 1 ? VIA_SHAPE_POINT : VIA_SHAPE_POLYLINE);
        json_decref(s);
    }
    static const struct { const char *json, *msg; } bad[] = {
        {"[7, 0,0, 10,0]", "polygon needs an even number >= 6 coordinates in xy, has 4"},
        {"[2, 1, 2, 3]", "rectangle needs 4 coordinates in xy, has 3"},
        {"[9, 0,0, 1,1, 2,2]", "extreme circle points are collinear (zero area)"},
        {"[12, 1, 2]", "unknown VIA 3 shape id 12"},
        {"[\"7\", 1, 2]", "\"xy\" is not [shape_id, coordinates...]"},
        {"[7, 0,0, 10,0, 10,null]", "xy[6] is not a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        qn_error_clear(&e);
        s = J(bad[i].json);
        ck_assert_int_eq(via_shape_v3(s, &p, &kind, &W, &e), QN_EINPUT);
        ck_assert_msg(strstr(e.msg, bad[i].msg) != NULL, "%s", e.msg);
        json_decref(s);
    }
    via_poly_free(&p);
}
END_TEST

static via_poly poly_of(const double *xy, size_t n)
{
    via_poly p = {0};
    via_poly_reserve(&p, n);
    memcpy(p.xy, xy, 2 * n * sizeof *xy);
    p.n = n;
    return p;
}

START_TEST(geometry_finish)
{
    double bb[4], area;
    int outcome;
    qn_error e;
    qn_error_clear(&e);
    /* FORMATS.md 3.7: square (1,1)-(8,6) in 10x10: mask area 35; triangle: 16 */
    const double sq[] = {1, 1, 8, 1, 8, 6, 1, 6};
    via_poly p = poly_of(sq, 4);
    ck_assert_int_eq(via_geom_finish(&p, 10, 10, 0, VIA_AREA_MASK, bb, &area, &outcome, &W, &e), 0);
    ck_assert(area == 35 && bb[0] == 1 && bb[1] == 1 && bb[2] == 7 && bb[3] == 5);
    via_poly_free(&p);
    const double tri[] = {2, 1, 7, 3, 3, 8};
    p = poly_of(tri, 3);
    ck_assert_int_eq(via_geom_finish(&p, 10, 10, 0, VIA_AREA_MASK, bb, &area, &outcome, &W, &e), 0);
    ck_assert(area == 16);
    ck_assert_int_eq(via_geom_finish(&p, 10, 10, 0, VIA_AREA_POLYGON, bb, &area, &outcome, &W, &e), 0);
    ck_assert(area == 16.5 && outcome == VIA_GEOM_KEPT);
    via_poly_free(&p);

    /* half outside: an error without --clip, clipped to the image with it */
    const double half[] = {-10, 0, 10, 0, 10, 10, -10, 10};
    p = poly_of(half, 4);
    ck_assert_int_eq(via_geom_finish(&p, 20, 20, 0, 0, bb, &area, &outcome, &W, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "in.json: image \"a.jpg\" region 3: point 0 (-10, 0) lies outside the "
                            "20x20 image (use --clip to clip)");
    ck_assert_int_eq(via_geom_finish(&p, 20, 20, 1, 0, bb, &area, &outcome, &W, &e), QN_OK);
    ck_assert(outcome == VIA_GEOM_CLIPPED && area == 100 && bb[0] == 0 && bb[2] == 10);
    via_poly_free(&p);
    const double away[] = {30, 30, 40, 30, 40, 40};
    p = poly_of(away, 3);
    ck_assert_int_eq(via_geom_finish(&p, 20, 20, 1, 0, bb, &area, &outcome, &W, &e), QN_OK);
    ck_assert_int_eq(outcome, VIA_GEOM_OUTSIDE);
    via_poly_free(&p);
    /* a big triangle over all four edges keeps the whole image */
    const double big[] = {-100, -100, 300, -100, -100, 300};
    p = poly_of(big, 3);
    ck_assert_int_eq(via_geom_finish(&p, 20, 10, 1, 0, bb, &area, &outcome, &W, &e), QN_OK);
    ck_assert(area == 200 && bb[2] == 20 && bb[3] == 10);
    via_poly_free(&p);

    const double flat[] = {0, 0, 5, 5, 10, 10};
    p = poly_of(flat, 3);
    qn_error_clear(&e);
    ck_assert_int_eq(via_geom_finish(&p, 20, 20, 1, 0, bb, &area, &outcome, &W, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "in.json: image \"a.jpg\" region 3: polygon has zero area");
    p.xy[0] = NAN;
    qn_error_clear(&e);
    ck_assert_int_eq(via_geom_finish(&p, 20, 20, 1, 0, bb, &area, &outcome, &W, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "in.json: image \"a.jpg\" region 3: vertex 0 is not a finite number");
    via_poly_free(&p);
}
END_TEST

static int resolve(const char *defs, const char *attr, const char *attrs, int v3, const char **name,
                   char *why)
{
    static char scratch[256];
    json_t *d = J(defs), *a = J(attrs);
    via_attrdef def;
    if (v3)
        via_attrdef_v3(d, attr, &def);
    else
        via_attrdef_v2(d, attr, &def);
    int rc = via_class_resolve(&def, a, v3, name, scratch, sizeof scratch, why, 512);
    if (rc == VIA_CLASS_OK && *name != scratch) { /* borrowed from a: keep a copy */
        snprintf(scratch, sizeof scratch, "%s", *name);
        *name = scratch;
    }
    json_decref(d);
    json_decref(a);
    return rc;
}

START_TEST(class_resolution)
{
    const char *defs = "{\"type\":{\"type\":\"dropdown\",\"options\":{\"h\":\"Human\",\"c\":\"\"}},"
                       "\"q\":{\"type\":\"checkbox\",\"options\":{\"a\":\"Blur\",\"b\":\"Good\"}},"
                       "\"name\":{\"type\":\"text\"}}";
    const char *n;
    char why[512];
    ck_assert_int_eq(resolve(defs, "type", "{\"type\":\"h\"}", 0, &n, why), VIA_CLASS_OK);
    ck_assert_str_eq(n, "Human");
    ck_assert_int_eq(resolve(defs, "type", "{\"type\":\"c\"}", 0, &n, why), VIA_CLASS_OK);
    ck_assert_str_eq(n, "c"); /* empty label: the option id */
    ck_assert_int_eq(resolve(defs, "type", "{\"type\":\"zz\"}", 0, &n, why), VIA_CLASS_UNKNOWN);
    ck_assert_str_eq(why, "\"type\" value \"zz\" is not one of its defined options");
    ck_assert_int_eq(resolve(defs, "q", "{\"q\":{\"b\":true}}", 0, &n, why), VIA_CLASS_OK);
    ck_assert_str_eq(n, "Good");
    ck_assert_int_eq(resolve(defs, "q", "{\"q\":{\"a\":true,\"b\":true}}", 0, &n, why),
                     VIA_CLASS_UNKNOWN);
    ck_assert_str_eq(why, "checkbox \"q\" has 2 options checked (need exactly one)");
    ck_assert_int_eq(resolve(defs, "q", "{\"q\":{\"a\":false}}", 0, &n, why), VIA_CLASS_MISSING);
    ck_assert_int_eq(resolve(defs, "name", "{\"name\":\"Plato\"}", 0, &n, why), VIA_CLASS_OK);
    ck_assert_str_eq(n, "Plato");
    ck_assert_int_eq(resolve(defs, "name", "{\"name\":\"\"}", 0, &n, why), VIA_CLASS_MISSING);
    ck_assert_str_eq(why, "\"name\" is empty");
    ck_assert_int_eq(resolve(defs, "name", "{}", 0, &n, why), VIA_CLASS_MISSING);
    ck_assert_str_eq(why, "no \"name\" attribute");
    /* no definition: values as they are, numbers as text */
    ck_assert_int_eq(resolve("{}", "track", "{\"track\":320}", 0, &n, why), VIA_CLASS_OK);
    ck_assert_str_eq(n, "320");
    ck_assert_int_eq(resolve("{}", "track", "{\"track\":[1]}", 0, &n, why), VIA_CLASS_UNKNOWN);

    /* VIA 3: by aname, values keyed by aid, checkbox as "id,id" */
    const char *v3 = "{\"1\":{\"aname\":\"kind\",\"anchor_id\":\"FILE1_Z0_XY1\",\"type\":4,"
                     "\"options\":{\"0\":\"cat\",\"1\":\"dog\"}},"
                     "\"2\":{\"aname\":\"tags\",\"type\":2,\"options\":{\"0\":\"x\",\"1\":\"y\"}}}";
    ck_assert_int_eq(resolve(v3, "kind", "{\"1\":\"1\"}", 1, &n, why), VIA_CLASS_OK);
    ck_assert_str_eq(n, "dog");
    ck_assert_int_eq(resolve(v3, "tags", "{\"2\":\"1\"}", 1, &n, why), VIA_CLASS_OK);
    ck_assert_str_eq(n, "y");
    ck_assert_int_eq(resolve(v3, "tags", "{\"2\":\"0,1\"}", 1, &n, why), VIA_CLASS_UNKNOWN);
    ck_assert_int_eq(resolve(v3, "tags", "{\"2\":\"\"}", 1, &n, why), VIA_CLASS_MISSING);
}
END_TEST

/* Writes text to path and loads it as a --categories file into a fresh c. */
static int load_cats(const char *path, const char *text, const char *super, via_cats *c,
                     qn_error *e)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    via_cats_init(c);
    qn_error_clear(e);
    return via_cats_load(c, path, super, e);
}

START_TEST(categories_open_fixed_pinned)
{
    via_cats c;
    size_t i, j, k;
    via_cats_init(&c);
    c.open = 1;
    ck_assert_int_eq(via_cats_add(&c, "zebra", "", 0, &i), QN_OK);
    ck_assert_int_eq(via_cats_add(&c, "ant", "", 0, &j), QN_OK);
    ck_assert_int_eq(via_cats_add(&c, "zebra", "", 0, &k), QN_OK);
    ck_assert(k == i && c.n == 2);
    for (int n = 0; n < 500; n++) { /* grow past the first hash size */
        char b[16];
        snprintf(b, sizeof b, "c%03d", n);
        ck_assert_int_eq(via_cats_add(&c, b, "", 0, &k), QN_OK);
    }
    ck_assert(via_cats_find(&c, "c123", &k) && strcmp(c.v[k].name, "c123") == 0);
    ck_assert_int_eq(via_cats_finish(&c), QN_OK);
    ck_assert_int_eq(c.v[j].id, 1);   /* "ant" sorts first */
    ck_assert_int_eq(c.v[i].id, 502); /* "zebra" last */
    ck_assert_str_eq(c.v[c.order[1]].name, "c000");
    via_cats_free(&c);

    char path[] = "/tmp/check_via_cats_XXXXXX";
    close(mkstemp(path));
    qn_error e;
    ck_assert_int_eq(load_cats(path, "{\"categories\":[{\"id\":7,\"name\":\"dog\",\"supercategory\":"
                               "\"animal\"},{\"id\":3,\"name\":\"cat\"}]}", "pets", &c, &e), QN_OK);
    ck_assert_int_eq(via_cats_finish(&c), QN_OK);
    ck_assert(via_cats_find(&c, "cat", &k) && c.v[k].id == 3 && strcmp(c.v[k].super, "pets") == 0);
    ck_assert(!via_cats_find(&c, "cow", &k));
    ck_assert_str_eq(c.v[c.order[0]].name, "dog"); /* file order */
    via_cats_free(&c);

    ck_assert_int_eq(load_cats(path, "# classes\nballoon\n\n  kite  \nballoon\n", "", &c, &e),
                     QN_EINPUT);
    ck_assert(strstr(e.msg, ":5: category \"balloon\" is listed twice") != NULL);
    via_cats_free(&c);
    ck_assert_int_eq(load_cats(path, "# classes\nballoon\n\n  kite  \n", "", &c, &e), QN_OK);
    ck_assert(via_cats_find(&c, "kite", &k) && c.v[k].id == 2);
    via_cats_free(&c);
    ck_assert_int_eq(load_cats(path, "[{\"id\":1,\"name\":\"a\"},{\"id\":1,\"name\":\"b\"}]", "", &c,
                               &e), QN_EINPUT);
    ck_assert(strstr(e.msg, "categories \"a\" and \"b\" share id 1") != NULL);
    via_cats_free(&c);
    ck_assert_int_eq(load_cats(path, "[{\"id\":1,\"name\":\"a\"},\n{\"id\":2 \"name\":\"b\"}]", "", &c,
                               &e), QN_EINPUT);
    ck_assert_msg(strstr(e.msg, ":2:") != NULL, "%s", e.msg); /* file:line:col */
    via_cats_free(&c);
    via_cats_init(&c); /* a directory opens but reads as nothing: say what it is */
    qn_error_clear(&e);
    ck_assert_int_eq(via_cats_load(&c, "/tmp", "", &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "/tmp: Is a directory");
    via_cats_free(&c);
    unlink(path);
}
END_TEST

START_TEST(detect_flavours)
{
    static const struct { const char *json; int fmt; } t[] = {
        {"{\"a.jpg1\":{\"filename\":\"a.jpg\",\"regions\":{}}}", VIA_FMT_VIA1},
        {"{\"a.jpg1\":{\"filename\":\"a.jpg\",\"regions\":[]}}", VIA_FMT_VIA2},
        {"{}", VIA_FMT_VIA2},
        {"{\"_via_img_metadata\":{},\"_via_attributes\":{}}", VIA_FMT_VIA2_PROJECT},
        {"{\"project\":{},\"file\":{},\"view\":{},\"metadata\":{}}", VIA_FMT_VIA3},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        json_t *j = J(t[i].json);
        int fmt;
        qn_error e;
        qn_error_clear(&e);
        ck_assert_int_eq(via_detect(j, VIA_FMT_AUTO, &fmt, "in.json", &e), QN_OK);
        ck_assert_int_eq(fmt, t[i].fmt);
        json_decref(j);
    }
    json_t *j = J("{\"_via_img_metadata\":{}}");
    int fmt;
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(via_detect(j, VIA_FMT_VIA3, &fmt, "in.json", &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "in.json: --format via3 given, but this looks like via2-project");
    json_decref(j);
    j = J("[1]");
    qn_error_clear(&e);
    ck_assert_int_eq(via_detect(j, VIA_FMT_AUTO, &fmt, "in.json", &e), QN_EINPUT);
    json_decref(j);
    ck_assert_int_eq(via_format_parse("via2-project"), VIA_FMT_VIA2_PROJECT);
    ck_assert_int_eq(via_format_parse("via4"), -1);
}
END_TEST

static Suite *via_suite(void)
{
    Suite *s = suite_create("via");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, fail_message_format);
    tcase_add_test(tc, fmt_double_shortest);
    tcase_add_test(tc, shapes_v2);
    tcase_add_test(tc, shapes_v2_errors);
    tcase_add_test(tc, shapes_v3);
    tcase_add_test(tc, geometry_finish);
    tcase_add_test(tc, class_resolution);
    tcase_add_test(tc, categories_open_fixed_pinned);
    tcase_add_test(tc, detect_flavours);
    suite_add_tcase(s, tc);
    return s;
}

QN_CHECK_MAIN(via_suite)
