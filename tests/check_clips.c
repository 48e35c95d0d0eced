/* check_clips.c — unit tests of quern-clips' own pieces: the id map, the directory scan, the
 * metadata filters, the duplicate naming and the run totals (the end-to-end behaviour is in
 * tests/test_clips.py). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "extract/clips.h"

START_TEST(map_put_get_grow)
{
    clips_map *m = clips_map_new(sizeof(int));
    ck_assert_ptr_nonnull(m);
    char key[32];
    for (int i = 0; i < 100000; i++) {
        int created;
        int len = snprintf(key, sizeof key, "vid%07d", i);
        int *v = clips_map_put(m, key, (size_t)len, &created);
        ck_assert_ptr_nonnull(v);
        ck_assert_int_eq(created, 1);
        ck_assert_int_eq(*v, 0);
        *v = i;
    }
    for (int i = 0; i < 100000; i += 997) {
        int len = snprintf(key, sizeof key, "vid%07d", i);
        int *v = clips_map_get(m, key, (size_t)len);
        ck_assert_ptr_nonnull(v);
        ck_assert_int_eq(*v, i);
        int created;
        ck_assert_ptr_eq(clips_map_put(m, key, (size_t)len, &created), v);
        ck_assert_int_eq(created, 0);
    }
    ck_assert_ptr_null(clips_map_get(m, "vid", 3));
    ck_assert_ptr_null(clips_map_get(m, "vid0000001x", 11));
    /* keys are byte strings: a prefix is another key */
    ck_assert_ptr_null(clips_map_get(m, "vid000000", 9));
    char *s = clips_map_strdup(m, "abc\0def", 7);
    ck_assert_mem_eq(s, "abc\0def", 8);
    clips_map_free(m);
    clips_map_free(NULL);
}
END_TEST

START_TEST(video_names)
{
    ck_assert(clips_is_video_name("a.mp4"));
    ck_assert(clips_is_video_name("A.MKV"));
    ck_assert(clips_is_video_name("x.en.webm"));
    ck_assert(!clips_is_video_name("a.en.vtt"));
    ck_assert(!clips_is_video_name("a.info.json"));
    ck_assert(!clips_is_video_name("mp4"));
    ck_assert(!clips_is_video_name("a.mp4.part"));
}
END_TEST

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
}

START_TEST(scan_sorted_recursive)
{
    char dir[] = "/tmp/check_clips_XXXXXX", p[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const char *files[] = {"b.mp4", "a.mkv", "sub/c.webm", "sub/deeper/a.mp4", "notes.txt",
                           "a.en.vtt", ".hidden.mp4"};
    snprintf(p, sizeof p, "%s/sub", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sub/deeper", dir);
    mkdir(p, 0755);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        touch(p);
    }
    /* two symlinks back up the tree: followed once, never in a cycle */
    snprintf(p, sizeof p, "%s/sub/deeper/up", dir);
    ck_assert_int_eq(symlink("..", p), 0);
    snprintf(p, sizeof p, "%s/sub/loop", dir);
    ck_assert_int_eq(symlink(dir, p), 0);
    char **list = NULL;
    size_t n = 0, cap = 0;
    qn_error err;
    qn_error_clear(&err);
    ck_assert_int_eq(clips_scan_dir(dir, &list, &n, &cap, &err), QN_OK);
    snprintf(p, sizeof p, "%s/sub/deeper/up", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/sub/loop", dir);
    unlink(p);
    ck_assert_uint_eq(n, 4);
    const char *want[] = {"a.mkv", "b.mp4", "sub/c.webm", "sub/deeper/a.mp4"};
    for (size_t i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, want[i]);
        ck_assert_str_eq(list[i], p);
        unlink(list[i]);
        free(list[i]);
    }
    free(list);
    list = NULL;
    n = cap = 0;
    snprintf(p, sizeof p, "%s/absent", dir);
    ck_assert_int_eq(clips_scan_dir(p, &list, &n, &cap, &err), QN_EINPUT);
    ck_assert(strstr(err.msg, "absent") != NULL);
    for (size_t i = 4; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/sub/deeper", dir);
    rmdir(p);
    snprintf(p, sizeof p, "%s/sub", dir);
    rmdir(p);
    rmdir(dir);
}
END_TEST

START_TEST(filters)
{
    clips_opts o;
    clips_opts_default(&o);
    qn_store_video v;
    clips_result r;
    qn_store_video_init(&v);
    memset(&r, 0, sizeof r);
    v.duration = 2000;
    ck_assert_int_eq(clips_filter_meta(&o, &v, &r), CLIPS_WHY_NONE);
    v.duration = 2000.5;
    ck_assert_int_eq(clips_filter_meta(&o, &v, &r), CLIPS_WHY_DURATION);
    ck_assert_str_eq(r.reason, "duration 2000.5 s > 2000 s");
    v.duration = 10;
    v.views = 99;
    ck_assert_int_eq(clips_filter_meta(&o, &v, &r), CLIPS_WHY_VIEWS);
    ck_assert_str_eq(r.reason, "views 99 < 100");
    v.views = 100;
    v.rank = 201;
    ck_assert_int_eq(clips_filter_meta(&o, &v, &r), CLIPS_WHY_RANK);
    ck_assert_str_eq(r.reason, "search rank 201 > 200");
    v.rank = 200;
    ck_assert_int_eq(clips_filter_meta(&o, &v, &r), CLIPS_WHY_NONE);
    /* unknown metadata passes; limits can be switched off */
    v.rank = QN_STORE_UNKNOWN;
    v.views = QN_STORE_UNKNOWN;
    ck_assert_int_eq(clips_filter_meta(&o, &v, &r), CLIPS_WHY_NONE);
    o.max_duration = 0;
    o.max_rank = -1;
    v.duration = 1e6;
    v.rank = 5000;
    ck_assert_int_eq(clips_filter_meta(&o, &v, &r), CLIPS_WHY_NONE);
}
END_TEST

START_TEST(totals)
{
    clips_totals t;
    memset(&t, 0, sizeof t);
    clips_result r;
    memset(&r, 0, sizeof r);
    r.status = QN_VIDEO_OK;
    r.n_clips = 5;
    r.n_words = 50;
    r.stats.dropped_zero = 1;
    r.stats.dropped_inverted = 2;
    r.stats.clamped = 1;
    clips_totals_add(&t, &r);
    r.status = QN_VIDEO_REJECTED;
    r.why = CLIPS_WHY_WORDS;
    r.n_clips = 0;
    r.n_words = 0;
    clips_totals_add(&t, &r);
    r.status = CLIPS_SKIPPED;
    clips_totals_add(&t, &r);
    ck_assert_int_eq(t.ok, 1);
    ck_assert_int_eq(t.rejected, 1);
    ck_assert_int_eq(t.by_why[CLIPS_WHY_WORDS], 1);
    ck_assert_int_eq(t.skipped, 1);
    ck_assert_int_eq(t.clips, 5);
    ck_assert_int_eq(t.dropped_spans, 6);
    ck_assert_int_eq(t.clamped, 2);
    ck_assert_str_eq(clips_why_name[CLIPS_WHY_NO_CAPTIONS], "no captions");
}
END_TEST

START_TEST(probe_errors)
{
    clips_probe_info pi;
    char why[512];
    ck_assert_int_lt(clips_probe("/nonexistent/x.mp4", &pi, why, sizeof why), 0);
    ck_assert_str_eq(why, "No such file or directory");
    char path[] = "/tmp/check_clips_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "not a video at all, just some text\n", 35), 35);
    close(fd);
    ck_assert_int_lt(clips_probe(path, &pi, why, sizeof why), 0);
    ck_assert(strstr(why, "Invalid data found when processing input") != NULL);
    cap_track *t = cap_track_new();
    char which[128] = "";
    ck_assert_int_lt(clips_embedded(path, "en", NULL, t, which, sizeof which, why, sizeof why), 0);
    ck_assert_uint_eq(t->n, 0);
    cap_track_free(t);
    unlink(path);
}
END_TEST

static Suite *clips_suite(void)
{
    Suite *s = suite_create("clips");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, map_put_get_grow);
    tcase_add_test(tc, video_names);
    tcase_add_test(tc, scan_sorted_recursive);
    tcase_add_test(tc, filters);
    tcase_add_test(tc, totals);
    tcase_add_test(tc, probe_errors);
    suite_add_tcase(s, tc);
    return s;
}

QN_CHECK_MAIN(clips_suite)
