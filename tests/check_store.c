/* Unit tests of store/: round trips of every API call, batches, pooling, vocabulary, merge,
 * export, bad stores, disk full, read-only directories and concurrent readers. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "qn_half.h"
#include "store/store.h"
#include "store/store_internal.h"

/* ---- helpers ---- */

static char tmp[64];

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/qn_store_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown(void)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "chmod -R u+w %s 2>/dev/null; rm -rf %s", tmp, tmp);
    if (system(cmd) != 0) {
        /* leftovers in /tmp are harmless */
    }
}

static const char *sub(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
    return buf[k];
}

#define OK(call)                                                                         \
    do {                                                                                 \
        qn_error e_;                                                                     \
        qn_error_clear(&e_);                                                             \
        int rc_ = (call);                                                                \
        ck_assert_msg(rc_ == QN_OK, "%s -> %d: %s", #call, rc_, e_.msg);                 \
    } while (0)
/* OK() needs the call to use `&e_` as its error record. */
#define E (&e_)

static qn_store *open_store(const char *dir, int flags)
{
    qn_store *s = NULL;
    OK(qn_store_open(dir, flags, &s, E));
    return s;
}

static float feat_value(int64_t v, int64_t r, int j)
{
    return (float)((v * 31 + r * 7 + j) % 97) / 97.0f - 0.5f;
}

static void fill_rows(float *buf, int64_t v, int64_t n, int dim)
{
    for (int64_t r = 0; r < n; r++)
        for (int j = 0; j < dim; j++)
            buf[r * dim + j] = feat_value(v, r, j);
}

static int64_t add_video(qn_store *s, const char *ext, int status)
{
    qn_store_video v;
    qn_store_video_init(&v);
    v.ext_id = ext;
    v.status = status;
    v.reason = status == QN_VIDEO_REJECTED ? "duration > 2000 s" : NULL;
    int64_t id = 0;
    OK(qn_store_video_add(s, &v, &id, E));
    return id;
}

static qn_fset *make_set(qn_store *s, const char *name, int kind, int dim, int dtype, double rate)
{
    qn_fset_info spec = {0, name, kind, "test model", "ab12", dim, dtype, rate, 0};
    qn_fset *fs = NULL;
    OK(qn_fset_create(s, &spec, &fs, E));
    ck_assert_ptr_nonnull(fs);
    return fs;
}

static int expect_fail(int rc, const qn_error *e, int status, const char *needle)
{
    ck_assert_msg(rc == status, "status %d, expected %d (%s)", rc, status, e->msg);
    ck_assert_msg(strstr(e->msg, needle), "message '%s' lacks '%s'", e->msg, needle);
    return 1;
}

/* ---- videos ---- */

START_TEST(video_round_trip)
{
    qn_store *s = open_store(sub("s"), QN_STORE_WRITE | QN_STORE_CREATE);
    qn_store_video v;
    qn_store_video_init(&v);
    v.ext_id = "nVbIUDjzWY4";
    v.path = "/videos/nVbIUDjzWY4.mp4";
    v.size = 123456;
    v.mtime_ns = 1700000000123456789LL;
    v.sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    v.duration = 391.5;
    v.fps = 29.97;
    v.width = 640;
    v.height = 360;
    v.codec = "h264";
    v.status = QN_VIDEO_OK;
    v.views = 1000;
    v.rank = 27;
    v.task_id = 52907;
    v.category1 = "Cars & Other Vehicles";
    v.category2 = "Motorcycles";
    v.title = "How to \"fix\" a bike";
    v.n_words = 812;
    v.meta_json = "{\"uploader\":\"x\"}";
    int64_t id;
    OK(qn_store_video_add(s, &v, &id, E));
    ck_assert_int_eq(id, 1);
    qn_error e;
    qn_error_clear(&e);
    expect_fail(qn_store_video_add(s, &v, NULL, &e), &e, QN_EINPUT, "nVbIUDjzWY4 already");

    qn_store_video g;
    int found;
    OK(qn_store_video_find(s, "nVbIUDjzWY4", &g, &found, E));
    ck_assert_int_eq(found, 1);
    ck_assert_int_eq(g.id, 1);
    ck_assert_str_eq(g.path, v.path);
    ck_assert_int_eq(g.size, 123456);
    ck_assert_int_eq(g.mtime_ns, v.mtime_ns);
    ck_assert_str_eq(g.sha256, v.sha256);
    ck_assert(g.duration == 391.5 && g.fps == 29.97);
    ck_assert_int_eq(g.width, 640);
    ck_assert_int_eq(g.height, 360);
    ck_assert_str_eq(g.codec, "h264");
    ck_assert_int_eq(g.status, QN_VIDEO_OK);
    ck_assert_ptr_null(g.reason);
    ck_assert_int_eq(g.views, 1000);
    ck_assert_int_eq(g.rank, 27);
    ck_assert_int_eq(g.task_id, 52907);
    ck_assert_str_eq(g.category1, v.category1);
    ck_assert_str_eq(g.category2, v.category2);
    ck_assert_str_eq(g.title, v.title);
    ck_assert_int_eq(g.n_words, 812);
    ck_assert_str_eq(g.meta_json, v.meta_json);

    OK(qn_store_video_find(s, "absent", &g, &found, E));
    ck_assert_int_eq(found, 0);
    OK(qn_store_video_find_path(s, "/videos/nVbIUDjzWY4.mp4", &g, &found, E));
    ck_assert_int_eq(found, 1);
    ck_assert_int_eq(g.id, 1);

    /* update every field, then status only */
    int64_t id2 = add_video(s, "second", QN_VIDEO_PENDING);
    OK(qn_store_video_get(s, id2, &g, &found, E));
    ck_assert_int_eq(found, 1);
    ck_assert_int_eq(g.size, QN_STORE_UNKNOWN);
    ck_assert(g.duration == QN_STORE_UNKNOWN);
    ck_assert_ptr_null(g.path);
    qn_store_video u = v;
    u.id = id2;
    u.ext_id = "second";
    u.duration = 12;
    OK(qn_store_video_update(s, &u, E));
    OK(qn_store_video_set_status(s, id2, QN_VIDEO_REJECTED, "fewer than 100 words", E));
    OK(qn_store_video_get(s, id2, &g, &found, E));
    ck_assert(g.duration == 12);
    ck_assert_int_eq(g.status, QN_VIDEO_REJECTED);
    ck_assert_str_eq(g.reason, "fewer than 100 words");
    qn_error_clear(&e);
    expect_fail(qn_store_video_set_status(s, 99, QN_VIDEO_OK, NULL, &e), &e, QN_EINPUT,
                "no video with id 99");

    /* iterate: all, by status */
    qn_video_iter *it;
    OK(qn_store_video_iter(s, NULL, &it, E));
    int n = 0, r;
    while ((r = qn_store_video_next(it, &g, NULL)) == 1)
        n++;
    ck_assert_int_eq(r, 0);
    ck_assert_int_eq(n, 2);
    qn_store_video_iter_free(it);
    qn_video_filter f = {QN_VIDEO_REJECTED, NULL};
    OK(qn_store_video_iter(s, &f, &it, E));
    ck_assert_int_eq(qn_store_video_next(it, &g, NULL), 1);
    ck_assert_str_eq(g.ext_id, "second");
    ck_assert_int_eq(qn_store_video_next(it, &g, NULL), 0);
    qn_store_video_iter_free(it);
    qn_store_close(s);

    /* a reader sees the same, and cannot write */
    s = open_store(sub("s"), QN_STORE_READ);
    OK(qn_store_video_find(s, "second", &g, &found, E));
    ck_assert_int_eq(g.status, QN_VIDEO_REJECTED);
    qn_error_clear(&e);
    expect_fail(qn_store_video_add(s, &v, NULL, &e), &e, QN_EUSAGE, "read-only");
    qn_store_stats st;
    OK(qn_store_stats_get(s, &st, E));
    ck_assert_int_eq(st.n_videos, 2);
    ck_assert_int_eq(st.n_by_status[QN_VIDEO_OK], 1);
    ck_assert_int_eq(st.n_by_status[QN_VIDEO_REJECTED], 1);
    ck_assert_int_eq(st.schema_version, 3);
    ck_assert_int_eq(strlen(st.uuid), 36);
    ck_assert_str_eq(qn_store_path(s), sub("s"));
    qn_store_close(s);
}
END_TEST

static void count_reason(void *ctx, int status, const char *reason, int64_t count)
{
    char *out = ctx;
    char line[128];
    snprintf(line, sizeof line, "%d:%s:%lld;", status, reason, (long long)count);
    strcat(out, line);
}

START_TEST(reasons_counted)
{
    qn_store *s = open_store(sub("s"), QN_STORE_WRITE | QN_STORE_CREATE);
    add_video(s, "a", QN_VIDEO_REJECTED);
    add_video(s, "b", QN_VIDEO_REJECTED);
    int64_t c = add_video(s, "c", QN_VIDEO_OK);
    OK(qn_store_video_set_status(s, c, QN_VIDEO_FAILED, "moov atom not found", E));
    char out[512] = "";
    OK(qn_store_reasons(s, count_reason, out, E));
    ck_assert_str_eq(out, "2:duration > 2000 s:2;3:moov atom not found:1;");
    qn_store_close(s);
}
END_TEST

/* ---- clips ---- */

START_TEST(clip_round_trip)
{
    qn_store *s = open_store(sub("s"), QN_STORE_WRITE | QN_STORE_CREATE);
    int64_t v1 = add_video(s, "v1", QN_VIDEO_OK), v2 = add_video(s, "v2", QN_VIDEO_OK);
    int32_t tok[3] = {5, 0, 70000};
    qn_store_clip c[3] = {
        {0, 0, 0, 0.5, 2.25, "<c>Hello</c> world", "Hello world", "Hello world", tok, 3},
        {0, 0, 1, 2.25, 4.0, "um so", "um so", "", NULL, 0},
        {0, 0, 2, 4.0, 6.0, NULL, NULL, NULL, tok + 1, 1},
    };
    int64_t ids[3];
    OK(qn_store_begin(s, E));
    OK(qn_store_clips_add(s, v1, c, 3, ids, E));
    OK(qn_store_clips_add(s, v2, c, 1, NULL, E));
    OK(qn_store_commit(s, E));
    ck_assert_int_eq(ids[0], 1);
    ck_assert_int_eq(ids[2], 3);

    qn_error e;
    qn_error_clear(&e);
    expect_fail(qn_store_clips_add(s, v1, c, 1, NULL, &e), &e, QN_EINPUT, "video 1 already has clips");
    qn_error_clear(&e);
    expect_fail(qn_store_clips_add(s, 77, c, 1, NULL, &e), &e, QN_EINPUT, "no video with id 77");
    qn_store_clip bad = {0, 0, 0, 5.0, 4.0, NULL, NULL, NULL, NULL, 0};
    qn_error_clear(&e);
    expect_fail(qn_store_clips_add(s, v1, &bad, 1, NULL, &e), &e, QN_EINPUT, "bad span [5, 4]");

    int64_t n;
    OK(qn_store_clip_count(s, v1, &n, E));
    ck_assert_int_eq(n, 3);
    OK(qn_store_clip_count(s, 0, &n, E));
    ck_assert_int_eq(n, 4);

    qn_store_clip g;
    int found;
    OK(qn_store_clip_get(s, 1, &g, &found, E));
    ck_assert_int_eq(found, 1);
    ck_assert_int_eq(g.video_id, v1);
    ck_assert(g.start == 0.5 && g.end == 2.25);
    ck_assert_str_eq(g.raw, "<c>Hello</c> world");
    ck_assert_str_eq(g.clean, "Hello world");
    ck_assert_int_eq(g.n_tokens, 3);
    ck_assert_int_eq(g.tokens[2], 70000);
    OK(qn_store_clip_get(s, 3, &g, &found, E));
    ck_assert_ptr_null(g.raw);
    ck_assert_int_eq(g.n_tokens, 1);
    ck_assert_int_eq(g.tokens[0], 0);
    OK(qn_store_clip_get(s, 2, &g, &found, E));
    ck_assert_str_eq(g.filtered, "");
    ck_assert_ptr_null(g.tokens);
    OK(qn_store_clip_get(s, 99, &g, &found, E));
    ck_assert_int_eq(found, 0);

    qn_clip_iter *it;
    OK(qn_store_clip_iter(s, 0, &it, E));
    int k = 0, r;
    int64_t last_video = 0;
    while ((r = qn_store_clip_next(it, &g, NULL)) == 1) {
        ck_assert_int_ge(g.video_id, last_video);
        last_video = g.video_id;
        k++;
    }
    ck_assert_int_eq(k, 4);
    qn_store_clip_iter_free(it);
    OK(qn_store_clip_iter(s, v2, &it, E));
    ck_assert_int_eq(qn_store_clip_next(it, &g, NULL), 1);
    ck_assert_int_eq(g.id, 4);
    ck_assert_int_eq(g.n_tokens, 3);
    ck_assert_int_eq(qn_store_clip_next(it, &g, NULL), 0);
    qn_store_clip_iter_free(it);

    /* clear removes clips and mappings, keeps the video */
    qn_fset *pc = make_set(s, "pc", QN_FSET_PER_CLIP, 4, QN_F32, 0);
    float row[4] = {1, 2, 3, 4};
    OK(qn_fset_put_clips(s, pc, ids, row, QN_F32, 1, E));
    OK(qn_store_video_clear(s, v1, E));
    OK(qn_store_clip_count(s, v1, &n, E));
    ck_assert_int_eq(n, 0);
    const void *p;
    OK(qn_fset_clip_row(s, pc, ids[0], &p, E));
    ck_assert_ptr_null(p);
    qn_store_video gv;
    OK(qn_store_video_get(s, v1, &gv, &found, E));
    ck_assert_int_eq(found, 1);
    int64_t np;
    OK(qn_store_verify(s, NULL, NULL, &np, E));
    qn_store_close(s);
}
END_TEST

/* 37 clips in one clip_pack row: every text, NULL text and token list comes back; equal
 * texts are stored once; an index out of order is named and the call adds nothing. */
START_TEST(clip_pack_round_trip)
{
    qn_store *s = open_store(sub("s"), QN_STORE_WRITE | QN_STORE_CREATE);
    int64_t v1 = add_video(s, "v1", QN_VIDEO_OK), v2 = add_video(s, "v2", QN_VIDEO_OK);
    enum { N = 37 };
    qn_store_clip c[N];
    char text[N][16];
    int32_t tok[N];
    int64_t ids[N];
    size_t text_bytes = 0;
    for (int i = 0; i < N; i++) {
        snprintf(text[i], sizeof text[i], "clip %d", i);
        tok[i] = i * 3;
        /* filtered: the raw text (odd: shared) or NULL (even) */
        c[i] = (qn_store_clip){0, 0, i, i * 1.5, i * 1.5 + 1, text[i], text[i] + 5,
                               i % 2 ? text[i] : NULL, i % 3 ? &tok[i] : NULL, i % 3 ? 1 : 0};
        text_bytes += strlen(text[i]) + 1 + strlen(text[i] + 5) + 1;
    }
    OK(qn_store_clips_add(s, v1, c, N, ids, E));
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(ids[i], i + 1);
    qn_clip_iter *it;
    qn_store_clip g;
    OK(qn_store_clip_iter(s, v1, &it, E));
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(qn_store_clip_next(it, &g, NULL), 1);
        ck_assert_int_eq(g.id, i + 1);
        ck_assert_int_eq(g.index, i);
        ck_assert(g.start == i * 1.5 && g.end == i * 1.5 + 1);
        ck_assert_str_eq(g.raw, text[i]);
        ck_assert_str_eq(g.clean, text[i] + 5);
        if (i % 2)
            ck_assert_str_eq(g.filtered, text[i]);
        else
            ck_assert_ptr_null(g.filtered);
        ck_assert_int_eq(g.n_tokens, i % 3 ? 1 : 0);
        if (i % 3)
            ck_assert_int_eq(g.tokens[0], i * 3);
        else
            ck_assert_ptr_null(g.tokens);
    }
    ck_assert_int_eq(qn_store_clip_next(it, &g, NULL), 0);
    qn_store_clip_iter_free(it);

    /* the BLOB sizes of FORMAT.md: times 16n; texts 24n + each distinct text + NUL;
     * tokens 4 (n + 1 + ids) */
    sqlite3 *d;
    ck_assert_int_eq(sqlite3_open(sub("s/meta.db"), &d), SQLITE_OK);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(d, "SELECT n, first_id, length(times), length(texts),"
                                           " length(tokens) FROM clip_pack", -1, &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), N);
    ck_assert_int_eq(sqlite3_column_int(st, 1), 1);
    ck_assert_int_eq(sqlite3_column_int(st, 2), 16 * N);
    ck_assert_int_eq(sqlite3_column_int(st, 3), 24 * N + (int)text_bytes);
    ck_assert_int_eq(sqlite3_column_int(st, 4), 4 * (N + 1 + 24)); /* 24 of 37 have a token */
    sqlite3_finalize(st);
    sqlite3_close(d);

    c[20].index = 3;
    qn_error e;
    qn_error_clear(&e);
    expect_fail(qn_store_clips_add(s, v2, c, N, NULL, &e), &e, QN_EUSAGE, "clip 20 has index 3");
    int64_t n;
    OK(qn_store_clip_count(s, v2, &n, E));
    ck_assert_int_eq(n, 0);
    OK(qn_store_clip_count(s, 0, &n, E));
    ck_assert_int_eq(n, N);
    qn_store_close(s);
}
END_TEST

/* ---- feature sets ---- */

START_TEST(fset_round_trip)
{
    qn_store *s = open_store(sub("s"), QN_STORE_WRITE | QN_STORE_CREATE);
    int64_t v1 = add_video(s, "v1", QN_VIDEO_OK);
    int64_t v2 = add_video(s, "v2", QN_VIDEO_OK);
    qn_fset *f2d = make_set(s, "resnet152-2d", QN_FSET_PER_STEP, 16, QN_F16, 1.0);
    qn_fset *f3d = make_set(s, "resnext101-3d", QN_FSET_PER_STEP, 8, QN_F32, 1.5);
    ck_assert_ptr_eq(make_set(s, "resnet152-2d", QN_FSET_PER_STEP, 16, QN_F16, 1.0), f2d);
    qn_error e;
    qn_error_clear(&e);
    qn_fset_info other = {0, "resnet152-2d", QN_FSET_PER_STEP, "test model", "ab12", 32, QN_F16,
                          1.0, 0};
    qn_fset *x;
    expect_fail(qn_fset_create(s, &other, &x, &e), &e, QN_EINPUT, "another dim");
    other.name = "bad/name";
    qn_error_clear(&e);
    expect_fail(qn_fset_create(s, &other, &x, &e), &e, QN_EUSAGE, "not allowed");

    float buf[40 * 16];
    fill_rows(buf, v1, 40, 16);
    OK(qn_store_begin(s, E));
    OK(qn_fset_put_video(s, f2d, v1, buf, QN_F32, 40, E));
    fill_rows(buf, v2, 10, 16);
    OK(qn_fset_put_video(s, f2d, v2, buf, QN_F32, 10, E));
    fill_rows(buf, v1, 60, 8);
    OK(qn_fset_put_video(s, f3d, v1, buf, QN_F32, 60, E));
    OK(qn_store_commit(s, E));
    qn_error_clear(&e);
    expect_fail(qn_fset_put_clips(s, f2d, &v1, buf, QN_F32, 1, &e), &e, QN_EUSAGE,
                "is per_step, not per_clip");
    qn_store_close(s);

    s = open_store(sub("s"), QN_STORE_READ);
    ck_assert_int_eq(qn_fset_count(s), 2);
    ck_assert_ptr_null(qn_fset_at(s, 2));
    qn_fset *fs;
    OK(qn_fset_find(s, "resnet152-2d", &fs, E));
    ck_assert_ptr_eq(fs, qn_fset_at(s, 0));
    OK(qn_fset_find(s, "nope", &x, E));
    ck_assert_ptr_null(x);
    qn_fset_info fi;
    OK(qn_fset_get_info(s, fs, &fi, E));
    ck_assert_str_eq(fi.name, "resnet152-2d");
    ck_assert_int_eq(fi.kind, QN_FSET_PER_STEP);
    ck_assert_int_eq(fi.dim, 16);
    ck_assert_int_eq(fi.dtype, QN_F16);
    ck_assert_int_eq(fi.n_rows, 50);
    ck_assert_str_eq(fi.model, "test model");
    ck_assert_str_eq(fi.weights_sha256, "ab12");
    const void *rows;
    int64_t n;
    OK(qn_fset_video_rows(s, fs, v2, &rows, &n, E));
    ck_assert_int_eq(n, 10);
    const uint16_t *h = rows;
    for (int r = 0; r < 10; r++)
        for (int j = 0; j < 16; j++)
            ck_assert_uint_eq(h[r * 16 + j], qn_f32_to_f16(feat_value(v2, r, j)));
    OK(qn_fset_find(s, "resnext101-3d", &fs, E));
    OK(qn_fset_video_rows(s, fs, v1, &rows, &n, E));
    ck_assert_int_eq(n, 60);
    ck_assert(((const float *)rows)[59 * 8 + 7] == feat_value(v1, 59, 7));
    OK(qn_fset_video_rows(s, fs, v2, &rows, &n, E));
    ck_assert_ptr_null(rows);
    ck_assert_int_eq(n, 0);
    OK(qn_fset_rows(s, fs, 0, 60, &rows, E));
    qn_error_clear(&e);
    expect_fail(qn_fset_rows(s, fs, 50, 11, &rows, &e), &e, QN_EINPUT, "past its 60 committed");
    /* the "still to extract" filter */
    qn_video_filter f = {-1, fs};
    qn_video_iter *it;
    OK(qn_store_video_iter(s, &f, &it, E));
    qn_store_video v;
    ck_assert_int_eq(qn_store_video_next(it, &v, NULL), 1);
    ck_assert_str_eq(v.ext_id, "v2");
    ck_assert_int_eq(qn_store_video_next(it, &v, NULL), 0);
    qn_store_video_iter_free(it);
    qn_store_close(s);
}
END_TEST

/* A set with no rows is not yet bound to its model and weights: creating it again with
 * others re-records them (and they survive a reopen); rows being written or committed bind
 * it, and its layout (kind, dim, dtype, rate) is never changed. */
START_TEST(fset_repinned_while_empty)
{
    qn_store *s = open_store(sub("s"), QN_STORE_WRITE | QN_STORE_CREATE);
    int64_t v1 = add_video(s, "v1", QN_VIDEO_OK);
    qn_fset *fs = make_set(s, "resnet152-2d", QN_FSET_PER_STEP, 16, QN_F16, 1.0);
    qn_fset_info spec = {0, "resnet152-2d", QN_FSET_PER_STEP, "test model", "cd34", 16, QN_F16,
                         1.0, 0};
    qn_fset *x = NULL;
    qn_fset_info before;
    OK(qn_fset_get_info(s, fs, &before, E));
    OK(qn_fset_create(s, &spec, &x, E));
    ck_assert_ptr_eq(x, fs);
    qn_fset_info fi;
    OK(qn_fset_get_info(s, fs, &fi, E));
    ck_assert_str_eq(fi.weights_sha256, "cd34");
    ck_assert_str_eq(before.weights_sha256, "ab12"); /* strings stay valid until close */
    spec.model = "other model";
    OK(qn_fset_create(s, &spec, &x, E));
    qn_error e;
    qn_error_clear(&e);
    spec.dim = 32;
    expect_fail(qn_fset_create(s, &spec, &x, &e), &e, QN_EINPUT, "another dim");
    spec.dim = 16;
    /* inside a batch (quern-store merge): a rollback restores the old strings with the row,
     * twice over; a commit keeps the new ones */
    for (int round = 0; round < 2; round++) {
        OK(qn_store_begin(s, E));
        spec.weights_sha256 = "9999";
        OK(qn_fset_create(s, &spec, &x, E));
        spec.weights_sha256 = "8888";
        OK(qn_fset_create(s, &spec, &x, E));
        OK(qn_fset_get_info(s, fs, &fi, E));
        ck_assert_str_eq(fi.weights_sha256, "8888");
        OK(qn_store_rollback(s, E));
        OK(qn_fset_get_info(s, fs, &fi, E));
        ck_assert_str_eq(fi.weights_sha256, "cd34");
    }
    OK(qn_store_begin(s, E));
    spec.weights_sha256 = "7777";
    OK(qn_fset_create(s, &spec, &x, E));
    OK(qn_store_commit(s, E));
    OK(qn_store_rollback(s, NULL)); /* nothing open: no effect on the set */
    OK(qn_fset_get_info(s, fs, &fi, E));
    ck_assert_str_eq(fi.weights_sha256, "7777");
    spec.weights_sha256 = "cd34";
    OK(qn_fset_create(s, &spec, &x, E));
    /* rows in the open batch bind it already */
    float buf[4 * 16];
    fill_rows(buf, v1, 4, 16);
    OK(qn_store_begin(s, E));
    OK(qn_fset_put_video(s, fs, v1, buf, QN_F32, 4, E));
    spec.weights_sha256 = "ef56";
    qn_error_clear(&e);
    expect_fail(qn_fset_create(s, &spec, &x, &e), &e, QN_EINPUT, "another weights sha256");
    OK(qn_store_rollback(s, E));
    qn_store_close(s);

    s = open_store(sub("s"), QN_STORE_WRITE);
    OK(qn_fset_find(s, "resnet152-2d", &fs, E));
    OK(qn_fset_get_info(s, fs, &fi, E));
    ck_assert_str_eq(fi.weights_sha256, "cd34");
    ck_assert_str_eq(fi.model, "other model");
    ck_assert_int_eq(fi.n_rows, 0);
    spec.weights_sha256 = "cd34";
    OK(qn_store_begin(s, E));
    OK(qn_fset_put_video(s, fs, v1, buf, QN_F32, 4, E));
    OK(qn_store_commit(s, E));
    spec.weights_sha256 = "ef56";
    qn_error_clear(&e);
    expect_fail(qn_fset_create(s, &spec, &x, &e), &e, QN_EINPUT, "another weights sha256");
    qn_store_close(s);
}
END_TEST

START_TEST(fset_per_clip_and_items)
{
    qn_store *s = open_store(sub("s"), QN_STORE_WRITE | QN_STORE_CREATE);
    int64_t v = add_video(s, "v", QN_VIDEO_OK);
    qn_store_clip c[2] = {{0, 0, 0, 0, 1, "a", "a", "a", NULL, 0},
                          {0, 0, 1, 1, 2, "b", "b", "b", NULL, 0}};
    int64_t ids[2];
    OK(qn_store_clips_add(s, v, c, 2, ids, E));
    qn_fset *pc = make_set(s, "howto100m-4096", QN_FSET_PER_CLIP, 4, QN_F16, 0);
    qn_fset *pi = make_set(s, "items", QN_FSET_PER_ITEM, 3, QN_F32, 0);
    uint16_t half[8];
    for (int i = 0; i < 8; i++)
        half[i] = qn_f32_to_f16((float)i);
    int64_t rev[2] = {ids[1], ids[0]};
    OK(qn_fset_put_clips(s, pc, rev, half, QN_F16, 2, E));
    float it[6] = {1, 2, 3, 4, 5, 6};
    int64_t first;
    OK(qn_fset_put_items(s, pi, it, QN_F32, 2, &first, E));
    ck_assert_int_eq(first, 0);
    OK(qn_fset_put_items(s, pi, half, QN_F16, 1, &first, E)); /* f16 in, f32 stored */
    ck_assert_int_eq(first, 2);
    qn_error e;
    qn_error_clear(&e);
    int64_t missing = 999;
    expect_fail(qn_fset_put_clips(s, pc, &missing, half, QN_F16, 1, &e), &e, QN_EINPUT,
                "no clip with id 999");
    qn_store_close(s);

    s = open_store(sub("s"), QN_STORE_READ);
    qn_fset *fs;
    OK(qn_fset_find(s, "howto100m-4096", &fs, E));
    const void *row;
    OK(qn_fset_clip_row(s, fs, ids[0], &row, E));
    ck_assert_uint_eq(((const uint16_t *)row)[0], qn_f32_to_f16(4.0f));
    OK(qn_fset_clip_row(s, fs, ids[1], &row, E));
    ck_assert_uint_eq(((const uint16_t *)row)[3], qn_f32_to_f16(3.0f));
    OK(qn_fset_find(s, "items", &fs, E));
    const float *rows;
    OK(qn_fset_rows(s, fs, 0, 3, (const void **)&rows, E));
    ck_assert(rows[5] == 6 && rows[6] == 0 && rows[8] == 2);
    int64_t np;
    OK(qn_store_verify(s, NULL, NULL, &np, E));
    qn_store_close(s);
}
END_TEST

/* ---- batches ---- */

START_TEST(batch_rollback)
{
    qn_store *s = open_store(sub("s"), QN_STORE_WRITE | QN_STORE_CREATE);
    qn_fset *fs = make_set(s, "f", QN_FSET_PER_STEP, 4, QN_F32, 1.0);
    int64_t v = add_video(s, "keep", QN_VIDEO_OK);
    float buf[20 * 4];
    fill_rows(buf, v, 20, 4);
    OK(qn_fset_put_video(s, fs, v, buf, QN_F32, 20, E));
    struct stat sb0, sb1;
    ck_assert_int_eq(stat(sub("s/features/f.qnf"), &sb0), 0);
    ck_assert_int_eq(sb0.st_size, 4096 + 20 * 16);

    OK(qn_store_begin(s, E));
    int64_t w = add_video(s, "gone", QN_VIDEO_OK);
    OK(qn_fset_put_video(s, fs, w, buf, QN_F32, 20, E));
    qn_fset *tmpset = make_set(s, "tmpset", QN_FSET_PER_ITEM, 2, QN_F16, 0);
    ck_assert_int_eq(access(sub("s/features/tmpset.qnf"), F_OK), 0);
    qn_error e;
    qn_error_clear(&e);
    expect_fail(qn_store_begin(s, &e), &e, QN_EUSAGE, "already open");
    OK(qn_store_rollback(s, E));
    ck_assert_int_eq(stat(sub("s/features/f.qnf"), &sb1), 0);
    ck_assert_int_eq(sb1.st_size, sb0.st_size);
    ck_assert_int_eq(access(sub("s/features/tmpset.qnf"), F_OK), -1);
    qn_error_clear(&e);
    expect_fail(qn_fset_put_items(s, tmpset, buf, QN_F32, 1, NULL, &e), &e, QN_EUSAGE,
                "rolled back");
    qn_store_video g;
    int found;
    OK(qn_store_video_find(s, "gone", &g, &found, E));
    ck_assert_int_eq(found, 0);
    ck_assert_int_eq(qn_fset_count(s), 1);
    qn_error_clear(&e);
    expect_fail(qn_store_commit(s, &e), &e, QN_EUSAGE, "without a batch");

    /* rows appended after a rollback land where the rolled-back ones were */
    OK(qn_store_begin(s, E));
    int64_t w2 = add_video(s, "again", QN_VIDEO_OK);
    OK(qn_fset_put_video(s, fs, w2, buf, QN_F32, 5, E));
    OK(qn_store_commit(s, E));
    const void *rows;
    int64_t n;
    OK(qn_fset_video_rows(s, fs, w2, &rows, &n, E));
    ck_assert_int_eq(n, 5);
    ck_assert(((const float *)rows)[0] == buf[0]);
    qn_fset_info fi;
    OK(qn_fset_get_info(s, fs, &fi, E));
    ck_assert_int_eq(fi.n_rows, 25);

    /* an uncommitted tail (crash between append and commit) is cut by the next writer */
    int fd = open(sub("s/features/f.qnf"), O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, buf, 100), 100);
    close(fd);
    qn_store_close(s);
    s = open_store(sub("s"), QN_STORE_READ); /* readers do not touch it */
    qn_store_close(s);
    ck_assert_int_eq(stat(sub("s/features/f.qnf"), &sb1), 0);
    ck_assert_int_eq(sb1.st_size, 4096 + 25 * 16 + 100);
    s = open_store(sub("s"), QN_STORE_WRITE);
    ck_assert_int_eq(stat(sub("s/features/f.qnf"), &sb1), 0);
    ck_assert_int_eq(sb1.st_size, 4096 + 25 * 16);
    qn_store_close(s);
}
END_TEST

START_TEST(second_writer_locked)
{
    qn_store *s = open_store(sub("s"), QN_STORE_WRITE | QN_STORE_CREATE);
    qn_store *t = NULL;
    qn_error e;
    qn_error_clear(&e);
    char want[64];
    snprintf(want, sizeof want, "store is locked by pid %ld", (long)getpid());
    expect_fail(qn_store_open(sub("s"), QN_STORE_WRITE, &t, &e), &e, QN_EENV, want);
    ck_assert_ptr_null(t);
    qn_store *r = open_store(sub("s"), QN_STORE_READ); /* readers are never locked out */
    qn_store_close(r);
    qn_store_close(s);
    s = open_store(sub("s"), QN_STORE_WRITE);
    qn_store_close(s);
}
END_TEST

/* ---- pooling ---- */

START_TEST(pool_howto100m_rule)
{
    /* 5 rows of dim 2 at rate 1.5; row r = (r, -r) except row 2 = (10, 1) */
    float rows[10] = {0, 0, 1, -1, 10, 1, 3, -3, 4, -4};
    float out[2];
    /* [0.1, 1.2] at 1.5/s: rows [0, floor(1.8)+1=2) -> max(row0,row1) = (1, 0) */
    OK(qn_pool_rows(rows, QN_F32, 2, 5, 1.5, 0.1, 1.2, out, E));
    ck_assert(fabsf(out[0] - 1) < 1e-6 && fabsf(out[1]) < 1e-6);
    /* [1.4, 2.0]: rows [2, 4) -> (10, 1)/|.| */
    OK(qn_pool_rows(rows, QN_F32, 2, 5, 1.5, 1.4, 2.0, out, E));
    float norm = sqrtf(101.0f);
    ck_assert(fabsf(out[0] - 10 / norm) < 1e-6 && fabsf(out[1] - 1 / norm) < 1e-6);
    /* past the end: the last row, normalised */
    OK(qn_pool_rows(rows, QN_F32, 2, 5, 1.5, 100, 200, out, E));
    ck_assert(fabsf(out[0] - 4 / sqrtf(32)) < 1e-6 && fabsf(out[1] + 4 / sqrtf(32)) < 1e-6);
    /* a zero row stays zero */
    OK(qn_pool_rows(rows, QN_F32, 2, 5, 1.5, 0, 0.5, out, E));
    ck_assert(out[0] == 0 && out[1] == 0);
    qn_error e;
    qn_error_clear(&e);
    expect_fail(qn_pool_rows(rows, QN_F32, 2, 5, 1.5, 2, 1, out, &e), &e, QN_EINPUT, "bad window");
    qn_error_clear(&e);
    expect_fail(qn_pool_rows(rows, QN_F32, 2, 0, 1.5, 0, 1, out, &e), &e, QN_EINPUT, "no rows");

    /* the same through the store, f16 */
    qn_store *s = open_store(sub("s"), QN_STORE_WRITE | QN_STORE_CREATE);
    qn_fset *fs = make_set(s, "p", QN_FSET_PER_STEP, 2, QN_F16, 1.5);
    int64_t v = add_video(s, "v", QN_VIDEO_OK), w = add_video(s, "w", QN_VIDEO_OK);
    OK(qn_fset_put_video(s, fs, v, rows, QN_F32, 5, E));
    OK(qn_store_pool(s, fs, v, 1.4, 2.0, out, E));
    ck_assert(fabsf(out[0] - 10 / norm) < 1e-3 && fabsf(out[1] - 1 / norm) < 1e-3);
    qn_error_clear(&e);
    expect_fail(qn_store_pool(s, fs, w, 0, 1, out, &e), &e, QN_EINPUT, "has no rows");
    qn_store_close(s);
}
END_TEST

START_TEST(half_conversion)
{
    ck_assert_uint_eq(qn_f32_to_f16(1.0f), 0x3c00);
    ck_assert_uint_eq(qn_f32_to_f16(-2.0f), 0xc000);
    ck_assert_uint_eq(qn_f32_to_f16(65504.0f), 0x7bff);
    ck_assert_uint_eq(qn_f32_to_f16(65520.0f), 0x7c00);
    ck_assert_uint_eq(qn_f32_to_f16(5.9604645e-8f), 0x0001);
    ck_assert_uint_eq(qn_f32_to_f16(1.0f + 1.0f / 2048), 0x3c00); /* tie to even */
    ck_assert_uint_eq(qn_f32_to_f16(1.0f + 3.0f / 2048), 0x3c02);
    ck_assert_uint_eq(qn_f32_to_f16(0.1f), 0x2e66);
    for (uint32_t h = 0; h < 0x7c00; h++) /* every finite half round-trips */
        ck_assert_uint_eq(qn_f32_to_f16(qn_f16_to_f32((uint16_t)h)), h);
    ck_assert(isnan(qn_f16_to_f32(qn_f32_to_f16(NAN))));
    /* the bulk path (F16C where the CPU has it) rounds exactly like the scalar one */
    enum { N = 1 << 16 };
    static float f[N], back[N];
    static uint16_t h[N];
    uint32_t x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 1664525u + 1013904223u;
        uint32_t bits = (x & 0x8fffffffu) | ((x & 0x7u) << 27); /* mostly |v| < 2^17 */
        memcpy(&f[i], &bits, 4);
        if (isnan(f[i]))
            f[i] = 1.0f;
    }
    store_convert(h, QN_F16, f, QN_F32, N);
    for (int i = 0; i < N; i++)
        ck_assert_msg(h[i] == qn_f32_to_f16(f[i]), "%a: bulk %04x scalar %04x", f[i], h[i],
                      qn_f32_to_f16(f[i]));
    store_convert(back, QN_F32, h, QN_F16, N);
    for (int i = 0; i < N; i++)
        ck_assert(back[i] == qn_f16_to_f32(h[i]));
}
END_TEST

/* ---- vocabulary ---- */

static void write_w2v(const char *path, int count, int dim, int truncate_at)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%d %d\n", count, dim);
    const char *words[] = {"</s>", "the", "Hello", "caf\xc3\xa9", "don't"};
    long written = 0;
    for (int i = 0; i < count; i++) {
        fprintf(f, "%s ", words[i % 5]);
        for (int j = 0; j < dim; j++) {
            float x = (float)(i * 10 + j);
            fwrite(&x, 4, 1, f);
        }
        if (i % 2)
            fputc('\n', f);
        written++;
        if (truncate_at && written == truncate_at) {
            fwrite("half", 1, 4, f);
            break;
        }
    }
    fclose(f);
}

START_TEST(vocab_round_trip)
{
    qn_store *s = open_store(sub("s"), QN_STORE_WRITE | QN_STORE_CREATE);
    write_w2v(sub("w.bin"), 5, 3, 0);
    OK(qn_vocab_import_word2vec(s, sub("w.bin"), "word2vec", QN_F32, 0, NULL, NULL, E));
    ck_assert_int_eq(qn_vocab_size(s), 5);
    int32_t id;
    OK(qn_vocab_lookup(s, "Hello", &id, E));
    ck_assert_int_eq(id, 2);
    OK(qn_vocab_lookup(s, "hello", &id, E));
    ck_assert_int_eq(id, -1);
    OK(qn_vocab_lookup(s, "caf\xc3\xa9", &id, E));
    ck_assert_int_eq(id, 3);
    ck_assert_str_eq(qn_vocab_word(s, 4), "don't");
    ck_assert_ptr_null(qn_vocab_word(s, 5));
    const char *more[] = {"the", "new", "new"};
    int32_t ids[3];
    OK(qn_vocab_add(s, more, 3, ids, E));
    ck_assert(ids[0] == 1 && ids[1] == 5 && ids[2] == 5);
    qn_error e;
    qn_error_clear(&e);
    expect_fail(qn_vocab_import_word2vec(s, sub("w.bin"), "w2", QN_F32, 0, NULL, NULL, &e), &e,
                QN_EINPUT, "already has a vocabulary of 6 words");
    qn_store_close(s);

    s = open_store(sub("s"), QN_STORE_READ);
    qn_fset *fs;
    OK(qn_fset_find(s, "word2vec", &fs, E));
    const float *v;
    OK(qn_fset_rows(s, fs, 3, 1, (const void **)&v, E));
    ck_assert(v[0] == 30 && v[2] == 32);
    OK(qn_vocab_lookup(s, "new", &id, E));
    ck_assert_int_eq(id, 5);
    qn_store_close(s);

    /* truncated and malformed files: refused, store unchanged */
    s = open_store(sub("t"), QN_STORE_WRITE | QN_STORE_CREATE);
    write_w2v(sub("trunc.bin"), 5, 3, 3);
    qn_error_clear(&e);
    expect_fail(qn_vocab_import_word2vec(s, sub("trunc.bin"), "w", QN_F16, 0, NULL, NULL, &e), &e,
                QN_EINPUT, "word 4 of 5");
    ck_assert_int_eq(qn_vocab_size(s), 0);
    ck_assert_int_eq(qn_fset_count(s), 0);
    FILE *f = fopen(sub("hdr.bin"), "w");
    fputs("three 300\n", f);
    fclose(f);
    qn_error_clear(&e);
    expect_fail(qn_vocab_import_word2vec(s, sub("hdr.bin"), "w", QN_F16, 0, NULL, NULL, &e), &e,
                QN_EINPUT, "bad word2vec header");
    write_w2v(sub("w.bin"), 5, 3, 0);
    OK(qn_vocab_import_word2vec(s, sub("w.bin"), "w", QN_F16, 2, NULL, NULL, E));
    ck_assert_int_eq(qn_vocab_size(s), 2);
    qn_store_close(s);
}
END_TEST

/* ---- verify, merge, export, vacuum ---- */

/* A small store: n videos (ext PREFIXi), 3 clips each, per-step rows, per-clip rows. */
static void build_store(const char *dir, const char *prefix, int n)
{
    qn_store *s = open_store(dir, QN_STORE_WRITE | QN_STORE_CREATE);
    qn_fset *ps = make_set(s, "ps", QN_FSET_PER_STEP, 8, QN_F16, 1.0);
    qn_fset *pc = make_set(s, "pc", QN_FSET_PER_CLIP, 4, QN_F32, 0);
    const char *words[] = {"a", "b", "c"};
    OK(qn_vocab_add(s, words, 3, NULL, E));
    OK(qn_store_begin(s, E));
    for (int i = 0; i < n; i++) {
        char ext[64];
        snprintf(ext, sizeof ext, "%s%d", prefix, i);
        int64_t v = add_video(s, ext, QN_VIDEO_OK);
        int32_t tok[2] = {i % 3, 2};
        qn_store_clip c[3];
        for (int k = 0; k < 3; k++)
            c[k] = (qn_store_clip){0, 0, k, k * 2.0, k * 2.0 + 1.5, "Raw \"q\"\n", "clean",
                                   "filt", tok, 2};
        int64_t ids[3];
        OK(qn_store_clips_add(s, v, c, 3, ids, E));
        float buf[10 * 8];
        fill_rows(buf, i, 10, 8);
        OK(qn_fset_put_video(s, ps, v, buf, QN_F32, 10, E));
        OK(qn_fset_put_clips(s, pc, ids, buf, QN_F32, 3, E));
    }
    OK(qn_store_commit(s, E));
    qn_store_close(s);
}

START_TEST(verify_and_merge)
{
    build_store(sub("a"), "a", 4);
    build_store(sub("b"), "b", 3);
    build_store(sub("c"), "a", 2); /* a0, a1 again */
    qn_store *s = open_store(sub("out"), QN_STORE_WRITE | QN_STORE_CREATE);
    qn_merge_result r;
    OK(qn_store_merge(s, sub("a"), 0, &r, E));
    ck_assert_int_eq(r.videos, 4);
    ck_assert_int_eq(r.clips, 12);
    ck_assert_int_eq(r.rows, 40 + 12);
    OK(qn_store_merge(s, sub("b"), 0, &r, E));
    ck_assert_int_eq(r.videos, 3);
    OK(qn_store_merge(s, sub("a"), 0, &r, E));
    ck_assert_int_eq(r.already_merged, 1);
    qn_error e;
    qn_error_clear(&e);
    expect_fail(qn_store_merge(s, sub("c"), 0, &r, &e), &e, QN_EINPUT,
                "video a0 is already in");
    OK(qn_store_merge(s, sub("c"), 1, &r, E));
    ck_assert_int_eq(r.skipped_duplicates, 2);
    ck_assert_int_eq(r.videos, 0);
    ck_assert_int_eq(r.rows, 0); /* the skipped videos' rows are not copied either */
    int64_t np;
    OK(qn_store_verify(s, NULL, NULL, &np, E));
    ck_assert_int_eq(np, 0);
    qn_store_stats st;
    OK(qn_store_stats_get(s, &st, E));
    ck_assert_int_eq(st.n_videos, 7);
    ck_assert_int_eq(st.n_clips, 21);
    ck_assert_int_eq(st.n_vocab, 3);
    /* values follow their videos through the remap */
    qn_store_video v;
    int found;
    OK(qn_store_video_find(s, "b2", &v, &found, E));
    qn_fset *ps, *pc;
    OK(qn_fset_find(s, "ps", &ps, E));
    OK(qn_fset_find(s, "pc", &pc, E));
    const void *rows;
    int64_t n;
    OK(qn_fset_video_rows(s, ps, v.id, &rows, &n, E));
    ck_assert_int_eq(n, 10);
    ck_assert_uint_eq(((const uint16_t *)rows)[9 * 8 + 7], qn_f32_to_f16(feat_value(2, 9, 7)));
    qn_clip_iter *it;
    OK(qn_store_clip_iter(s, v.id, &it, E));
    qn_store_clip c;
    ck_assert_int_eq(qn_store_clip_next(it, &c, NULL), 1);
    ck_assert_int_eq(qn_store_clip_next(it, &c, NULL), 1);
    const void *row;
    OK(qn_fset_clip_row(s, pc, c.id, &row, E));
    ck_assert(((const float *)row)[3] == feat_value(2, 0, 7)); /* clip 1 = values 4..7 of buf */
    qn_store_clip_iter_free(it);
    qn_error_clear(&e);
    expect_fail(qn_store_merge(s, sub("out"), 0, &r, &e), &e, QN_EUSAGE, "into itself");
    /* a shard whose a0..a3 are here already: only a4's 10 + 3 rows come, at their new place */
    build_store(sub("e"), "a", 5);
    int64_t ps_before = 0;
    qn_fset_info fi;
    OK(qn_fset_get_info(s, ps, &fi, E));
    ps_before = fi.n_rows;
    OK(qn_store_merge(s, sub("e"), 1, &r, E));
    ck_assert_int_eq(r.skipped_duplicates, 4);
    ck_assert_int_eq(r.videos, 1);
    ck_assert_int_eq(r.rows, 13);
    OK(qn_fset_get_info(s, ps, &fi, E));
    ck_assert_int_eq(fi.n_rows, ps_before + 10);
    OK(qn_store_video_find(s, "a4", &v, &found, E));
    OK(qn_fset_video_rows(s, ps, v.id, &rows, &n, E));
    ck_assert_int_eq(n, 10);
    ck_assert_uint_eq(((const uint16_t *)rows)[3 * 8 + 5], qn_f32_to_f16(feat_value(4, 3, 5)));
    OK(qn_store_clip_iter(s, v.id, &it, E));
    ck_assert_int_eq(qn_store_clip_next(it, &c, NULL), 1);
    ck_assert_int_eq(qn_store_clip_next(it, &c, NULL), 1);
    OK(qn_fset_clip_row(s, pc, c.id, &row, E));
    ck_assert(((const float *)row)[3] == feat_value(4, 0, 7));
    qn_store_clip_iter_free(it);
    OK(qn_store_verify(s, NULL, NULL, &np, E));
    ck_assert_int_eq(np, 0);
    qn_store_close(s);

    /* a mismatching feature set is refused */
    s = open_store(sub("d"), QN_STORE_WRITE | QN_STORE_CREATE);
    make_set(s, "ps", QN_FSET_PER_STEP, 9, QN_F16, 1.0);
    qn_error_clear(&e);
    expect_fail(qn_store_merge(s, sub("a"), 0, &r, &e), &e, QN_EINPUT, "another dim");
    OK(qn_store_stats_get(s, &st, E));
    ck_assert_int_eq(st.n_videos, 0);
    qn_store_close(s);
}
END_TEST

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s missing", path);
    static char buf[1 << 16];
    *len = fread(buf, 1, sizeof buf - 1, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

/* Records the progress calls of an export: "what done/total;" each. */
static void count_progress(void *ctx, const char *what, int64_t done, int64_t total)
{
    size_t n = strlen(ctx);
    snprintf((char *)ctx + n, 256 - n, "%s %lld/%lld;", what, (long long)done, (long long)total);
}

START_TEST(export_formats)
{
    build_store(sub("a"), "x", 2);
    qn_store *s = open_store(sub("a"), QN_STORE_READ);
    int64_t n;
    char calls[256] = "";
    qn_store_set_progress(s, count_progress, calls);
    OK(qn_store_export_jsonl(s, sub("c.jsonl"), &n, E));
    ck_assert_int_eq(n, 6);
    ck_assert_str_eq(calls, "clips 1/2;clips 2/2;");
    qn_store_set_progress(s, NULL, NULL);
    size_t len;
    char *t = slurp(sub("c.jsonl"), &len);
    ck_assert_msg(!strncmp(t, "{\"video\":\"x0\",\"index\":0,\"start\":0,\"end\":1.5,"
                              "\"raw\":\"Raw \\\"q\\\"\\n\",\"clean\":\"clean\",\"filtered\":"
                              "\"filt\",\"tokens\":[0,2]}\n", 112), "got %s", t);
    OK(qn_store_export_caption_json(s, sub("caption.json"), 0, &n, E));
    ck_assert_int_eq(n, 2);
    t = slurp(sub("caption.json"), &len);
    ck_assert_str_eq(t, "{\n\"x0\": {\"start\": [0, 2, 4], \"end\": [1.5, 3.5, 5.5], \"text\": "
                        "[\"filt\", \"filt\", \"filt\"]},\n\"x1\": {\"start\": [0, 2, 4], "
                        "\"end\": [1.5, 3.5, 5.5], \"text\": [\"filt\", \"filt\", \"filt\"]}\n}\n");
    qn_fset *ps;
    OK(qn_fset_find(s, "ps", &ps, E));
    OK(qn_store_export_npy(s, ps, sub("npy"), &n, E));
    ck_assert_int_eq(n, 2);
    t = slurp(sub("npy/x1.npy"), &len);
    ck_assert_int_eq(len, 128 + 10 * 8 * 2);
    ck_assert(!memcmp(t, "\x93NUMPY\x01\x00\x76\x00{'descr': '<f2', 'fortran_order': False, "
                         "'shape': (10, 8), }", 10 + 60));
    ck_assert_int_eq(t[127], '\n');
    uint16_t h;
    memcpy(&h, t + 128 + 2 * 13, 2);
    ck_assert_uint_eq(h, qn_f32_to_f16(feat_value(1, 1, 5)));
    qn_fset *pc;
    OK(qn_fset_find(s, "pc", &pc, E));
    OK(qn_store_export_npy(s, pc, sub("npy"), &n, E));
    t = slurp(sub("npy/pc.clips.txt"), &len);
    ck_assert_str_eq(t, "x0 0\nx0 1\nx0 2\nx1 0\nx1 1\nx1 2\n");
    t = slurp(sub("npy/pc.npy"), &len);
    ck_assert_int_eq(len, 128 + 6 * 4 * 4);
    qn_error e;
    qn_error_clear(&e);
    expect_fail(qn_store_export_jsonl(s, sub("nodir/c.jsonl"), &n, &e), &e, QN_EINPUT, "nodir");
    qn_store_close(s);
}
END_TEST

/* Video ids that are not plain file names get distinct, reversible .npy names;
 * outputs that are not regular files (a FIFO here, /dev/null for a user) are
 * refused and left as they are. */
START_TEST(export_odd_names_and_targets)
{
    const char *ids[] = {"a/b", "a_b", "%41", ".hidden", "..", "x"};
    const char *files[] = {"a%2Fb.npy", "a_b.npy", "%2541.npy", "%2Ehidden.npy", "%2E..npy",
                           "x.npy"};
    enum { NV = sizeof ids / sizeof ids[0] };
    qn_store *s = open_store(sub("a"), QN_STORE_WRITE | QN_STORE_CREATE);
    qn_fset *ps = make_set(s, "ps", QN_FSET_PER_STEP, 8, QN_F32, 1.0);
    OK(qn_store_begin(s, E));
    for (int i = 0; i < NV; i++) {
        float buf[(i + 1) * 8];
        fill_rows(buf, i, i + 1, 8);
        OK(qn_fset_put_video(s, ps, add_video(s, ids[i], QN_VIDEO_OK), buf, QN_F32, i + 1, E));
    }
    OK(qn_store_commit(s, E));
    int64_t n;
    OK(qn_store_export_npy(s, ps, sub("npy"), &n, E));
    ck_assert_int_eq(n, NV);
    for (int i = 0; i < NV; i++) {
        char f[128];
        snprintf(f, sizeof f, "npy/%s", files[i]);
        size_t len;
        slurp(sub(f), &len);
        ck_assert_int_eq(len, 128 + (size_t)(i + 1) * 8 * 4); /* each video its own file */
    }
    ck_assert_int_eq(mkfifo(sub("fifo"), 0644), 0);
    qn_error e;
    qn_error_clear(&e);
    expect_fail(qn_store_export_jsonl(s, sub("fifo"), &n, &e), &e, QN_EUSAGE, "not a regular file");
    qn_error_clear(&e);
    expect_fail(qn_store_export_caption_json(s, sub("fifo"), 0, &n, &e), &e, QN_EUSAGE,
                "not a regular file");
    struct stat sb;
    ck_assert_int_eq(stat(sub("fifo"), &sb), 0);
    ck_assert(S_ISFIFO(sb.st_mode));
    qn_error_clear(&e); /* a missing parent is bad usage, not the environment */
    expect_fail(qn_store_export_npy(s, ps, sub("nodir/npy"), &n, &e), &e, QN_EINPUT, "nodir");
    qn_store_close(s);
}
END_TEST

/* Texts as found in subtitles may not be UTF-8 (a Latin-1 .srt): each bad byte is
 * written as \ufffd, well-formed sequences as they are, so every JSONL line and
 * caption.json stay valid JSON. */
START_TEST(export_text_not_utf8)
{
    qn_store *s = open_store(sub("a"), QN_STORE_WRITE | QN_STORE_CREATE);
    int64_t v = add_video(s, "v", QN_VIDEO_OK);
    /* bad lead, truncated 2-byte, surrogate, overlong, past U+10FFFF; then €, U+1F600 */
    const char *raw = "a\xff" "b\xc3" "\xed\xa0\x80" "\xc0\xaf" "\xf4\x90\x80\x80"
                      "\xe2\x82\xac\xf0\x9f\x98\x80\x01";
    qn_store_clip c = {0, 0, 0, 1.0, 2.0, raw, "caf\xe9", "caf\xc3\xa9", NULL, 0};
    int64_t id;
    OK(qn_store_clips_add(s, v, &c, 1, &id, E));
    int64_t n;
    OK(qn_store_export_jsonl(s, sub("c.jsonl"), &n, E));
    size_t len;
    char *t = slurp(sub("c.jsonl"), &len);
    ck_assert_str_eq(t, "{\"video\":\"v\",\"index\":0,\"start\":1,\"end\":2,\"raw\":\"a\\ufffdb"
                        "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"
                        "\xe2\x82\xac\xf0\x9f\x98\x80\\u0001\",\"clean\":\"caf\\ufffd\","
                        "\"filtered\":\"caf\xc3\xa9\",\"tokens\":[]}\n");
    OK(qn_store_export_caption_json(s, sub("caption.json"), 1, &n, E));
    t = slurp(sub("caption.json"), &len);
    ck_assert_str_eq(t, "{\n\"v\": {\"start\": [1], \"end\": [2], \"text\": [\"caf\\ufffd\"]}\n}\n");
    qn_store_close(s);
}
END_TEST

START_TEST(vacuum_keeps_data)
{
    build_store(sub("a"), "x", 3);
    qn_store *s = open_store(sub("a"), QN_STORE_WRITE);
    OK(qn_store_vacuum(s, E));
    int64_t np;
    OK(qn_store_verify(s, NULL, NULL, &np, E));
    qn_store_stats st;
    OK(qn_store_stats_get(s, &st, E));
    ck_assert_int_eq(st.n_clips, 9);
    ck_assert_int_eq(st.n_tokens, 18);
    qn_store_close(s);
}
END_TEST

/* ---- bad stores ---- */

static void expect_open_fails(const char *dir, int flags, int status, const char *needle)
{
    qn_store *s = NULL;
    qn_error e;
    qn_error_clear(&e);
    expect_fail(qn_store_open(dir, flags, &s, &e), &e, status, needle);
    ck_assert_ptr_null(s);
}

static void patch(const char *path, long off, const void *bytes, size_t n)
{
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, bytes, n, off), (ssize_t)n);
    close(fd);
}

static void sql(const char *db, const char *q)
{
    sqlite3 *d;
    ck_assert_int_eq(sqlite3_open(db, &d), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(d, q, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(d);
}

/* A schema-1 store as quern 0.1's library wrote it (store_schema.c's schema_v1, verbatim):
 * two videos, clips with distinct and with equal texts, NULL texts, tokens, a vocabulary. */
static const char v1_store_sql[] =
    "PRAGMA application_id=1364546126; PRAGMA user_version=1; PRAGMA journal_mode=WAL;"
    "CREATE TABLE store_info(key TEXT PRIMARY KEY, value ANY) STRICT;"
    "CREATE TABLE video("
    " id INTEGER PRIMARY KEY, ext_id TEXT NOT NULL UNIQUE, path TEXT, size INTEGER,"
    " mtime_ns INTEGER, sha256 TEXT, duration REAL, fps REAL, width INTEGER, height INTEGER,"
    " codec TEXT, status TEXT NOT NULL DEFAULT 'pending'"
    " CHECK (status IN ('pending','ok','rejected','failed')), reason TEXT,"
    " views INTEGER, rank INTEGER, task_id INTEGER, category1 TEXT, category2 TEXT,"
    " title TEXT, n_words INTEGER, meta_json TEXT) STRICT;"
    "CREATE INDEX video_path ON video(path);"
    "CREATE TABLE clip("
    " id INTEGER PRIMARY KEY, video_id INTEGER NOT NULL REFERENCES video(id),"
    " idx INTEGER NOT NULL, start_s REAL NOT NULL, end_s REAL NOT NULL,"
    " raw TEXT, clean TEXT, filtered TEXT, tokens BLOB, UNIQUE (video_id, idx)) STRICT;"
    "CREATE TABLE feature_set("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL CHECK (kind IN ('per_step','per_clip','per_item')),"
    " model TEXT NOT NULL, weights_sha256 TEXT, dim INTEGER NOT NULL,"
    " dtype TEXT NOT NULL CHECK (dtype IN ('f16','f32')), rate REAL NOT NULL,"
    " file TEXT NOT NULL, committed_rows INTEGER NOT NULL DEFAULT 0) STRICT;"
    "CREATE TABLE video_rows("
    " set_id INTEGER NOT NULL REFERENCES feature_set(id),"
    " video_id INTEGER NOT NULL REFERENCES video(id),"
    " first_row INTEGER NOT NULL, n_rows INTEGER NOT NULL,"
    " PRIMARY KEY (set_id, video_id)) STRICT, WITHOUT ROWID;"
    "CREATE TABLE clip_rows("
    " set_id INTEGER NOT NULL REFERENCES feature_set(id),"
    " clip_id INTEGER NOT NULL REFERENCES clip(id), row INTEGER NOT NULL,"
    " PRIMARY KEY (set_id, clip_id)) STRICT, WITHOUT ROWID;"
    "CREATE TABLE vocab(id INTEGER PRIMARY KEY, word TEXT NOT NULL UNIQUE) STRICT;"
    "CREATE TABLE merged_store(uuid TEXT PRIMARY KEY, path TEXT, merged_at INTEGER) STRICT;"
    "INSERT INTO store_info VALUES('uuid','0b7e4c1a-5d2f-4e8a-9c3b-1f6d2a7e8b90'),"
    " ('created',1764200000),('quern_version','0.1.0');"
    "INSERT INTO video(id,ext_id,path,size,duration,status,reason,n_words) VALUES"
    " (1,'vidA','/v/a.mp4',1000,12.5,'ok',NULL,7),(2,'vidB',NULL,NULL,NULL,'rejected','words',0);"
    "INSERT INTO clip VALUES"
    " (1,1,0,0.0,1.5,'<i>um hello</i> there','um hello there','hello there',x'0100000002000000'),"
    " (2,1,1,1.5,3.0,'same text','same text','same text',NULL),"
    " (3,1,2,3.0,4.0,NULL,NULL,NULL,x'00000000'),"
    " (4,1,3,4.0,5.5,'raw only','raw only','',NULL),"
    " (5,2,1,5.0,6.0,'b','b','b',NULL),(6,2,0,0.0,1.0,'a','a','a',NULL);"
    "INSERT INTO vocab VALUES(0,'there'),(1,'hello'),(2,'um');";

static void expect_v1_clips(qn_store *s, int64_t n_added)
{
    struct { double start, end; const char *raw, *clean, *filtered; int nt; int32_t t0; } w[] = {
        {0.0, 1.5, "<i>um hello</i> there", "um hello there", "hello there", 2, 1},
        {1.5, 3.0, "same text", "same text", "same text", 0, 0},
        {3.0, 4.0, NULL, NULL, NULL, 1, 0},
        {4.0, 5.5, "raw only", "raw only", "", 0, 0},
    };
    qn_clip_iter *it;
    qn_store_clip g;
    OK(qn_store_clip_iter(s, 1, &it, E));
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(qn_store_clip_next(it, &g, NULL), 1);
        ck_assert_int_eq(g.id, i + 1);
        ck_assert_int_eq(g.index, i);
        ck_assert(g.start == w[i].start && g.end == w[i].end);
        if (w[i].raw) {
            ck_assert_str_eq(g.raw, w[i].raw);
            ck_assert_str_eq(g.clean, w[i].clean);
            ck_assert_str_eq(g.filtered, w[i].filtered);
        } else {
            ck_assert(!g.raw && !g.clean && !g.filtered);
        }
        ck_assert_int_eq(g.n_tokens, w[i].nt);
        if (w[i].nt)
            ck_assert_int_eq(g.tokens[0], w[i].t0);
    }
    ck_assert_int_eq(qn_store_clip_next(it, &g, NULL), 0);
    qn_store_clip_iter_free(it);
    int64_t n;
    OK(qn_store_clip_count(s, 0, &n, E));
    ck_assert_int_eq(n, 6 + n_added);
    /* vidB's clips had ids 6, 5 in index order: renumbered after the last id, in order */
    OK(qn_store_clip_iter(s, 2, &it, E));
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(qn_store_clip_next(it, &g, NULL), 1);
        ck_assert_int_eq(g.id, 7 + i);
        ck_assert_int_eq(g.index, i);
        ck_assert_str_eq(g.filtered, i ? "b" : "a");
    }
    ck_assert_int_eq(qn_store_clip_next(it, &g, NULL), 0);
    qn_store_clip_iter_free(it);
}

/* The schema of a store (sqlite_master, in name order) as one string. */
static void schema_text(const char *db, char *out, size_t size)
{
    sqlite3 *d;
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(d, "SELECT group_concat(sql, ';') FROM (SELECT sql FROM"
                                           " sqlite_master WHERE sql IS NOT NULL ORDER BY name)",
                                        -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(d);
}

START_TEST(schema_1_migrates)
{
    mkdir(sub("v1"), 0777);
    sql(sub("v1/meta.db"), v1_store_sql);
    /* readers do not migrate: told how */
    expect_open_fails(sub("v1"), QN_STORE_READ, QN_EINPUT,
                      "schema version 1 is older than 3: open it once with a writer");
    qn_store *s = open_store(sub("v1"), QN_STORE_WRITE);
    qn_store_stats st;
    OK(qn_store_stats_get(s, &st, E));
    ck_assert_int_eq(st.schema_version, 3);
    ck_assert_int_eq(st.n_tokens, 3);
    ck_assert_str_eq(st.uuid, "0b7e4c1a-5d2f-4e8a-9c3b-1f6d2a7e8b90");
    ck_assert_int_eq(st.n_videos, 2);
    ck_assert_int_eq(st.n_vocab, 3);
    expect_v1_clips(s, 0);
    qn_store_video v;
    int found;
    OK(qn_store_video_find(s, "vidB", &v, &found, E));
    ck_assert_int_eq(found, 1);
    ck_assert_int_eq(v.status, QN_VIDEO_REJECTED);
    ck_assert_str_eq(v.reason, "words");
    /* new clips after the migration: equal texts stored once, read back whole */
    qn_store_clip c[2] = {
        {0, 0, 0, 0.0, 1.0, "a b", "a b", "a b", NULL, 0},
        {0, 0, 1, 1.0, 2.0, "<b>c</b> d", "c d", "c d", NULL, 0},
    };
    int64_t vid = add_video(s, "vidC", QN_VIDEO_OK), ids[2];
    OK(qn_store_clips_add(s, vid, c, 2, ids, E));
    qn_store_clip g;
    OK(qn_store_clip_get(s, ids[0], &g, &found, E));
    ck_assert(!strcmp(g.raw, "a b") && !strcmp(g.clean, "a b") && !strcmp(g.filtered, "a b"));
    OK(qn_store_clip_get(s, ids[1], &g, &found, E));
    ck_assert(!strcmp(g.raw, "<b>c</b> d") && !strcmp(g.clean, "c d") &&
              !strcmp(g.filtered, "c d"));
    int64_t np = -1;
    OK(qn_store_verify(s, NULL, NULL, &np, E));
    ck_assert_int_eq(np, 0);
    qn_store_close(s);

    /* readers now open it; the v1 rows (stored as written) and the new ones read back */
    s = open_store(sub("v1"), QN_STORE_READ);
    expect_v1_clips(s, 2);
    OK(qn_store_verify(s, NULL, NULL, &np, E));
    qn_store_close(s);
    sql(sub("v1/meta.db"), "PRAGMA wal_checkpoint(TRUNCATE);");
    char want[8192], got[8192];
    qn_store_close(open_store(sub("fresh"), QN_STORE_WRITE | QN_STORE_CREATE));
    schema_text(sub("fresh/meta.db"), want, sizeof want);
    schema_text(sub("v1/meta.db"), got, sizeof got);
    ck_assert_str_eq(got, want); /* a migrated store has exactly a new store's schema */
    /* one clip_pack row per video; the new clips' ids sit past the old ones; equal texts
     * stored once (texts = 24n table + distinct texts with their NULs) */
    sqlite3 *d;
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_open(sub("v1/meta.db"), &d), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(d, "SELECT group_concat(video_id || ':' || first_id ||"
                                           " ':' || n || ':' || length(texts), ' ')"
                                           " FROM (SELECT * FROM clip_pack ORDER BY video_id)",
                                        -1, &q, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(q, 0), "1:1:4:165 2:7:2:52 3:9:2:67");
    sqlite3_finalize(q);
    sqlite3_close(d);
    /* a text offset past the end of its BLOB: readers and verify name the video */
    sql(sub("v1/meta.db"), "UPDATE clip_pack SET texts = substr(texts, 1, 100) WHERE video_id=1;");
    s = open_store(sub("v1"), QN_STORE_READ);
    qn_error e;
    qn_error_clear(&e);
    expect_fail(qn_store_verify(s, NULL, NULL, &np, &e), &e, QN_EINPUT,
                "clip_pack of video 1: clip 0: text 0 [0, +21] is outside the texts BLOB");
    qn_clip_iter *it;
    OK(qn_store_clip_iter(s, 1, &it, E));
    qn_error_clear(&e);
    expect_fail(qn_store_clip_next(it, &g, &e), &e, QN_EINPUT, "clip_pack of video 1");
    qn_store_clip_iter_free(it);
    qn_store_close(s);
}
END_TEST

/* The 2 -> 3 migration moves clip_rows with the clips it renumbers: vidB's clips had ids
 * 6, 5 in index order and become 7, 8; a per-clip row mapped to old clip 6 is found under
 * clip 7, one mapped to clip 1 (kept) under clip 1. */
START_TEST(schema_1_migration_moves_clip_rows)
{
    mkdir(sub("v1"), 0777);
    mkdir(sub("v1/features"), 0777);
    sql(sub("v1/meta.db"), v1_store_sql);
    sql(sub("v1/meta.db"), "INSERT INTO feature_set VALUES(1,'pc','per_clip','m',NULL,4,'f32',0,"
                           "'features/pc.qnf',2);"
                           "INSERT INTO clip_rows VALUES(1,6,0),(1,1,1);");
    /* features/pc.qnf as FORMAT.md §3 lays it out: header, then 2 rows of 4 f32 */
    unsigned char h[4096 + 32] = {0};
    uint32_t u[6] = {1, 4096, 2, 4, 16, 2};
    int64_t set_id = 1;
    memcpy(h, "QUERNFT", 8);
    memcpy(h + 8, u, sizeof u);
    memcpy(h + 32, &set_id, 8);
    memcpy(h + 56, "0b7e4c1a-5d2f-4e8a-9c3b-1f6d2a7e8b90", 36);
    memcpy(h + 96, "pc", 2);
    memcpy(h + 160, "m", 1);
    float rows[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    memcpy(h + 4096, rows, sizeof rows);
    FILE *f = fopen(sub("v1/features/pc.qnf"), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(h, 1, sizeof h, f), sizeof h);
    fclose(f);

    qn_store *s = open_store(sub("v1"), QN_STORE_WRITE);
    qn_fset *pc;
    OK(qn_fset_find(s, "pc", &pc, E));
    const void *p;
    OK(qn_fset_clip_row(s, pc, 7, &p, E));
    ck_assert_ptr_nonnull(p);
    ck_assert(((const float *)p)[0] == 1 && ((const float *)p)[3] == 4);
    OK(qn_fset_clip_row(s, pc, 1, &p, E));
    ck_assert_ptr_nonnull(p);
    ck_assert(((const float *)p)[0] == 5);
    OK(qn_fset_clip_row(s, pc, 6, &p, E)); /* no clip has id 6 any more */
    ck_assert_ptr_null(p);
    int64_t np = -1;
    OK(qn_store_verify(s, NULL, NULL, &np, E));
    ck_assert_int_eq(np, 0);
    qn_store_close(s);
}
END_TEST

/* A v1/v2 clip of no video cannot be migrated (clip_pack's foreign key): the writer's open
 * names it and the repair, the store stays as it was; after the repair it migrates. */
START_TEST(schema_1_orphan_clip_named)
{
    mkdir(sub("v1"), 0777);
    sql(sub("v1/meta.db"), v1_store_sql);
    sql(sub("v1/meta.db"), "INSERT INTO clip VALUES (9,7,0,0.0,1.0,'x','x','x',NULL);");
    expect_open_fails(sub("v1"), QN_STORE_WRITE, QN_EINPUT,
                      "migrating to schema 3: clip 9 refers to missing video 7 (1 such clips;"
                      " delete them first");
    /* the failed step was undone: still version 2 (1 -> 2 committed on its own) */
    sqlite3 *d;
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_open(sub("v1/meta.db"), &d), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(d, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(q, 0), 2);
    sqlite3_finalize(q);
    sqlite3_close(d);
    sql(sub("v1/meta.db"), "DELETE FROM clip WHERE video_id NOT IN (SELECT id FROM video);");
    qn_store *s = open_store(sub("v1"), QN_STORE_WRITE);
    expect_v1_clips(s, 0);
    qn_store_close(s);
}
END_TEST

static void collect_problem(void *ctx, const char *problem);

/* A clip_pack row whose ids would pass INT64_MAX: verify says so, readers refuse it. */
START_TEST(pack_first_id_out_of_range)
{
    build_store(sub("good"), "g", 2);
    sql(sub("good/meta.db"), "UPDATE clip_pack SET first_id=9223372036854775806 WHERE video_id=1;");
    qn_store *s = open_store(sub("good"), QN_STORE_READ);
    int64_t np;
    qn_error e;
    qn_error_clear(&e);
    static char got[4096];
    got[0] = 0;
    ck_assert_int_eq(qn_store_verify(s, collect_problem, got, &np, &e), QN_EINPUT);
    ck_assert_msg(strstr(got, "clip: video 1 has first clip id 9223372036854775806"), "%s", got);
    ck_assert_msg(strstr(got, "clip_pack of video 1: first clip id 9223372036854775806"), "%s",
                  got);
    qn_clip_iter *it;
    qn_store_clip g;
    OK(qn_store_clip_iter(s, 1, &it, E));
    qn_error_clear(&e);
    expect_fail(qn_store_clip_next(it, &g, &e), &e, QN_EINPUT,
                "clip_pack of video 1: first clip id 9223372036854775806");
    qn_store_clip_iter_free(it);
    qn_store_close(s);
}
END_TEST

START_TEST(bad_stores_refused)
{
    char cmd[600];
    build_store(sub("good"), "g", 2);
    const char *cases[] = {"trunc", "magic", "dim", "uuid"};
    for (int i = 0; i < 4; i++) {
        snprintf(cmd, sizeof cmd, "cp -r %s %s", sub("good"), sub(cases[i]));
        ck_assert_int_eq(system(cmd), 0);
    }
    ck_assert_int_eq(truncate(sub("trunc/features/ps.qnf"), 4096 + 10 * 16), 0);
    expect_open_fails(sub("trunc"), QN_STORE_READ, QN_EINPUT,
                      "ps.qnf: truncated feature file: 4256 bytes hold 10 rows, meta.db says 20");
    expect_open_fails(sub("trunc"), QN_STORE_WRITE, QN_EINPUT, "truncated feature file");
    patch(sub("magic/features/pc.qnf"), 0, "JUNKJUNK", 8);
    expect_open_fails(sub("magic"), QN_STORE_READ, QN_EINPUT, "pc.qnf: bad magic");
    uint32_t dim = 7;
    patch(sub("dim/features/ps.qnf"), 20, &dim, 4);
    expect_open_fails(sub("dim"), QN_STORE_READ, QN_EINPUT, "dim 7 in the file, 8 in meta.db");
    patch(sub("uuid/features/ps.qnf"), 56, "00000000", 8);
    expect_open_fails(sub("uuid"), QN_STORE_READ, QN_EINPUT, "belongs to another store");

    /* SQLite files that are not ours, newer schema, not a database, not a store */
    mkdir(sub("foreign"), 0777);
    sql(sub("foreign/meta.db"), "CREATE TABLE t(x); PRAGMA application_id=42;");
    expect_open_fails(sub("foreign"), QN_STORE_WRITE, QN_EINPUT,
                      "not a quern store (application_id 0x0000002a");
    mkdir(sub("plain"), 0777);
    sql(sub("plain/meta.db"), "CREATE TABLE t(x);");
    expect_open_fails(sub("plain"), QN_STORE_READ, QN_EINPUT, "not a quern store");
    snprintf(cmd, sizeof cmd, "cp -r %s %s", sub("good"), sub("newer"));
    ck_assert_int_eq(system(cmd), 0);
    sql(sub("newer/meta.db"), "PRAGMA user_version=99;");
    expect_open_fails(sub("newer"), QN_STORE_WRITE, QN_EINPUT,
                      "schema version 99 is newer than this quern's 3: upgrade quern");
    /* ours but older than any migration: said as such to readers and writers alike
     * (readers used to be told to open it with a writer, which then refused) */
    snprintf(cmd, sizeof cmd, "cp -r %s %s", sub("good"), sub("older"));
    ck_assert_int_eq(system(cmd), 0);
    sql(sub("older/meta.db"), "PRAGMA user_version=0;");
    expect_open_fails(sub("older"), QN_STORE_READ, QN_EINPUT,
                      "schema version 0 is older than 3 and cannot be migrated");
    expect_open_fails(sub("older"), QN_STORE_WRITE, QN_EINPUT,
                      "schema version 0 is older than 3 and cannot be migrated");
    mkdir(sub("junk"), 0777);
    FILE *f = fopen(sub("junk/meta.db"), "w");
    fputs("this is not sqlite at all, just text that is long enough to be a header......\n"
          "...............................................................................\n",
          f);
    fclose(f);
    expect_open_fails(sub("junk"), QN_STORE_WRITE, QN_EINPUT, "not a quern store");
    mkdir(sub("empty"), 0777);
    expect_open_fails(sub("empty"), QN_STORE_READ, QN_EINPUT, "not a quern store (no meta.db)");
    expect_open_fails(sub("missing"), QN_STORE_READ, QN_EINPUT, "No such file");
    /* the foreign database was not modified (no WAL switch) */
    sqlite3 *d;
    ck_assert_int_eq(sqlite3_open(sub("foreign/meta.db"), &d), SQLITE_OK);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(d, "PRAGMA journal_mode", -1, &st, NULL);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "delete");
    sqlite3_finalize(st);
    sqlite3_close(d);

    /* verify reports a mapping out of range and a bad token id */
    snprintf(cmd, sizeof cmd, "cp -r %s %s", sub("good"), sub("map"));
    ck_assert_int_eq(system(cmd), 0);
    sql(sub("map/meta.db"), "UPDATE video_rows SET n_rows=50 WHERE video_id=2;"
                            "UPDATE clip_pack SET tokens=x'00000000020000000400000006000000"
                            "070000000200000000000000020000000000000002000000' WHERE video_id=1;");
    qn_store *s = open_store(sub("map"), QN_STORE_READ);
    int64_t np;
    qn_error e;
    qn_error_clear(&e);
    expect_fail(qn_store_verify(s, NULL, NULL, &np, &e), &e, QN_EINPUT,
                "set ps video 2 rows [10, 60) past its 20 committed rows");
    ck_assert_int_eq(np, 2);
    qn_store_close(s);
}
END_TEST

static void collect_problem(void *ctx, const char *problem)
{
    size_t n = strlen(ctx);
    snprintf((char *)ctx + n, 4096 - n, "%s\n", problem);
}

/* Damage that keeps every range in bounds: two videos or clips sharing rows, a
 * `file` column a Python reader would follow elsewhere, a mapping to a missing clip
 * (WITHOUT ROWID table: the message names the table, not "?"), an infinite end
 * (JSON cannot write it). */
START_TEST(verify_finds_shared_rows_and_bad_links)
{
    char cmd[600];
    build_store(sub("good"), "g", 2);
    snprintf(cmd, sizeof cmd, "cp -r %s %s", sub("good"), sub("bad"));
    ck_assert_int_eq(system(cmd), 0);
    sql(sub("bad/meta.db"), "UPDATE video_rows SET first_row=5 WHERE video_id=2;"
                            "UPDATE clip_rows SET row=0 WHERE clip_id=2;"
                            "UPDATE feature_set SET file='../x.qnf' WHERE name='ps';"
                            "UPDATE clip_pack SET times=x'000000000000000000000000000000400000000000001040000000000000f07f0000000000000c400000000000001640' WHERE video_id=1;"
                            "PRAGMA foreign_keys=OFF; DELETE FROM clip_pack WHERE video_id=2;");
    qn_store *s = open_store(sub("bad"), QN_STORE_READ);
    int64_t np;
    qn_error e;
    qn_error_clear(&e);
    static char got[4096];
    got[0] = 0;
    expect_fail(qn_store_verify(s, collect_problem, got, &np, &e), &e, QN_EINPUT,
                "set ps video 2 rows [5, 15) overlap rows of another video");
    const char *want[] = {"set ps video 2 rows [5, 15) overlap rows of another video",
                          "set pc row 0 is mapped to 2 clips",
                          "set ps: file '../x.qnf' is not features/ps.qnf",
                          "set pc row 5 is mapped to clip 6, which is not in the store",
                          "clip_pack of video 1: clip 1 spans [0, inf]"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(got, want[i]), "'%s' not among:\n%s", want[i], got);
    ck_assert_msg(np == 7, "%lld problems:\n%s", (long long)np, got);
    qn_store_close(s);
    s = open_store(sub("good"), QN_STORE_READ); /* and none of it in a sound store */
    OK(qn_store_verify(s, NULL, NULL, &np, E));
    ck_assert_int_eq(np, 0);
    qn_store_close(s);
}
END_TEST

/* Merge refuses an input that verify finds damaged (it would copy the damage into
 * a sound store); a store whose uuid is not a UUID is refused at open. */
START_TEST(merge_refuses_damaged_and_odd_inputs)
{
    build_store(sub("a"), "a", 2);
    build_store(sub("b"), "b", 2);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cp -r %s %s", sub("b"), sub("bad"));
    ck_assert_int_eq(system(cmd), 0);
    sql(sub("bad/meta.db"), "UPDATE video_rows SET first_row=5 WHERE video_id=2;");
    qn_store *s = open_store(sub("odd"), QN_STORE_WRITE | QN_STORE_CREATE);
    qn_store_close(s);
    sql(sub("odd/meta.db"), "UPDATE store_info SET value='x'' OR ''1''=''1' WHERE key='uuid';");

    s = open_store(sub("out"), QN_STORE_WRITE | QN_STORE_CREATE);
    qn_merge_result r;
    OK(qn_store_merge(s, sub("a"), 0, &r, E));
    qn_error e;
    qn_error_clear(&e);
    expect_fail(qn_store_merge(s, sub("bad"), 0, &r, &e), &e, QN_EINPUT,
                "bad: not merged: verify finds 1 problem (first: ");
    ck_assert_msg(strstr(e.msg, "set ps video 2 rows [5, 15) overlap rows of another video"),
                  "%s", e.msg);
    qn_error_clear(&e);
    expect_fail(qn_store_merge(s, sub("odd"), 0, &r, &e), &e, QN_EINPUT,
                "store_info has no valid uuid");
    int64_t np;
    OK(qn_store_verify(s, NULL, NULL, &np, E));
    qn_store_stats st;
    OK(qn_store_stats_get(s, &st, E));
    ck_assert_int_eq(st.n_videos, 2); /* a's only */
    qn_store_close(s);
}
END_TEST

/* A writer writes its pid into store.lock and replaces an orphaned feature file:
 * through a planted link either would overwrite the link's target. Refused / the
 * link replaced instead, the target intact. */
START_TEST(planted_links_are_not_followed)
{
    char victim[600]; /* sub() reuses its buffers */
    snprintf(victim, sizeof victim, "%s", sub("victim"));
    FILE *f = fopen(victim, "w");
    fputs("precious\n", f);
    fclose(f);
    qn_store *s = open_store(sub("st"), QN_STORE_WRITE | QN_STORE_CREATE);
    qn_store_close(s);
    char lock[600];
    snprintf(lock, sizeof lock, "%s/store.lock", sub("st"));
    ck_assert_int_eq(unlink(lock), 0);
    ck_assert_int_eq(symlink(victim, lock), 0);
    expect_open_fails(sub("st"), QN_STORE_WRITE, QN_EINPUT, "store.lock: is a symbolic link");
    size_t len;
    ck_assert_str_eq(slurp(victim, &len), "precious\n");
    ck_assert_int_eq(unlink(lock), 0);
    ck_assert_int_eq(link(victim, lock), 0);
    expect_open_fails(sub("st"), QN_STORE_WRITE, QN_EINPUT, "not a lock file of its own");
    ck_assert_str_eq(slurp(victim, &len), "precious\n");
    ck_assert_int_eq(unlink(lock), 0);
    /* an orphan features/NAME.qnf that is a link: replaced by the new set's file */
    char qnf[600];
    snprintf(qnf, sizeof qnf, "%s/features", sub("st"));
    mkdir(qnf, 0777);
    snprintf(qnf, sizeof qnf, "%s/features/ps.qnf", sub("st"));
    ck_assert_int_eq(symlink(victim, qnf), 0);
    s = open_store(sub("st"), QN_STORE_WRITE);
    make_set(s, "ps", QN_FSET_PER_STEP, 8, QN_F16, 1.0);
    qn_store_close(s);
    struct stat sb;
    ck_assert_int_eq(lstat(qnf, &sb), 0);
    ck_assert(S_ISREG(sb.st_mode) && sb.st_size == 4096);
    ck_assert_str_eq(slurp(victim, &len), "precious\n");
    /* a FIFO in a feature file's place: refused at once, readers do not wait on it */
    ck_assert_int_eq(unlink(qnf), 0);
    ck_assert_int_eq(mkfifo(qnf, 0644), 0);
    expect_open_fails(sub("st"), QN_STORE_READ, QN_EINPUT, "ps.qnf: feature set 'ps': not a "
                      "regular file");
}
END_TEST

/* ---- environment: disk full, read-only directory ---- */

static void snapshot(const char *dir, int64_t out[3])
{
    qn_store *s = open_store(dir, QN_STORE_READ);
    qn_store_stats st;
    OK(qn_store_stats_get(s, &st, E));
    int64_t np;
    OK(qn_store_verify(s, NULL, NULL, &np, E));
    out[0] = st.n_videos;
    out[1] = st.n_clips;
    out[2] = st.feature_bytes;
    qn_store_close(s);
}

/* In a child: the writer hits RLIMIT_FSIZE (EFBIG, SIGXFSZ ignored) while appending. */
static int child_disk_full(const char *dir, int big)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {64 * 1024, 64 * 1024};
    setrlimit(RLIMIT_FSIZE, &rl);
    qn_store *s;
    qn_error e;
    qn_error_clear(&e);
    if (qn_store_open(dir, QN_STORE_WRITE, &s, &e))
        return 10;
    qn_fset *fs;
    qn_fset_find(s, "ps", &fs, NULL);
    int rc = qn_store_begin(s, &e);
    qn_store_video v;
    qn_store_video_init(&v);
    v.ext_id = "full";
    int64_t id;
    if (!rc)
        rc = qn_store_video_add(s, &v, &id, &e);
    static float buf[20000 * 8];
    if (!rc && big)
        rc = qn_fset_put_video(s, fs, id, buf, QN_F32, 20000, &e);
    if (!rc && !big) { /* SQL grows past the limit instead */
        static char text[200000];
        memset(text, 'x', sizeof text - 1);
        qn_store_clip c = {0, 0, 0, 0, 1, text, text, text, NULL, 0};
        rc = qn_store_clips_add(s, id, &c, 1, NULL, &e);
        if (!rc)
            rc = qn_store_commit(s, &e);
    }
    if (rc)
        qn_store_rollback(s, NULL);
    qn_store_close(s);
    if (rc != QN_EENV || (!strstr(e.msg, "File too large") && !strstr(e.msg, "file size"))) {
        fprintf(stderr, "disk full (big=%d): status %d: %s\n", big, rc, e.msg);
        return 20;
    }
    return 0;
}

START_TEST(disk_full_leaves_store_unchanged)
{
    build_store(sub("a"), "x", 2);
    int64_t before[3], after[3];
    snapshot(sub("a"), before);
    for (int big = 0; big < 2; big++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(child_disk_full(sub("a"), big));
        int status;
        waitpid(pid, &status, 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child (big=%d) status %d",
                      big, status);
        snapshot(sub("a"), after);
        ck_assert_int_eq(before[0], after[0]);
        ck_assert_int_eq(before[1], after[1]);
        ck_assert_int_eq(before[2], after[2]);
    }
}
END_TEST

START_TEST(read_only_directory)
{
    build_store(sub("a"), "x", 2);
    int64_t before[3], after[3];
    snapshot(sub("a"), before);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "chmod -R a-w %s && chmod a+rx %s", sub("a"), tmp);
    ck_assert_int_eq(system(cmd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        /* root ignores permissions: become nobody to see what a user sees */
        if (getuid() == 0) {
            struct passwd *pw = getpwnam("nobody");
            if (!pw || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
                _exit(30);
        }
        qn_store *s;
        qn_error e;
        qn_error_clear(&e);
        int rc = qn_store_open(sub("a"), QN_STORE_WRITE, &s, &e);
        if (rc != QN_EENV || !strstr(e.msg, "Permission denied"))
            _exit(10);
        rc = qn_store_open(sub("new"), QN_STORE_WRITE | QN_STORE_CREATE, &s, &e);
        _exit(rc == QN_EENV ? 0 : 20);
    }
    int status;
    waitpid(pid, &status, 0);
    snprintf(cmd, sizeof cmd, "chmod -R u+w %s", sub("a"));
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    snapshot(sub("a"), after);
    ck_assert_int_eq(before[2], after[2]);
    ck_assert_int_eq(before[0], after[0]);
}
END_TEST

/* ---- concurrency: readers iterate and pool while a writer commits ---- */

enum { CC_DIM = 64, CC_ROWS = 30 };

static int cc_writer(const char *dir, int first, int batches)
{
    qn_store *s;
    if (qn_store_open(dir, QN_STORE_WRITE, &s, NULL))
        return 1;
    qn_fset *fs;
    qn_fset_find(s, "cc", &fs, NULL);
    static float buf[CC_ROWS * CC_DIM];
    for (int b = first; b < first + batches; b++) {
        if (qn_store_begin(s, NULL))
            return 2;
        for (int k = 0; k < 4; k++) {
            char ext[32];
            snprintf(ext, sizeof ext, "w%d-%d", b, k);
            qn_store_video v;
            qn_store_video_init(&v);
            v.ext_id = ext;
            v.status = QN_VIDEO_OK;
            int64_t id;
            if (qn_store_video_add(s, &v, &id, NULL))
                return 3;
            /* every value of a video's rows is its id: a torn row shows as a mix */
            for (int i = 0; i < CC_ROWS * CC_DIM; i++)
                buf[i] = (float)id;
            if (qn_fset_put_video(s, fs, id, buf, QN_F32, CC_ROWS, NULL))
                return 4;
        }
        if (qn_store_commit(s, NULL))
            return 5;
    }
    qn_store_close(s);
    return 0;
}

static int cc_reader(const char *dir, int rounds)
{
    qn_store *s;
    qn_error e;
    qn_error_clear(&e);
    if (qn_store_open(dir, QN_STORE_READ, &s, &e))
        return 11;
    qn_fset *fs;
    if (qn_fset_find(s, "cc", &fs, &e) || !fs)
        return 12;
    float out[CC_DIM];
    int64_t seen = 0;
    for (int r = 0; r < rounds; r++) {
        qn_video_iter *it;
        if (qn_store_video_iter(s, NULL, &it, &e))
            return 13;
        qn_store_video v;
        int k;
        while ((k = qn_store_video_next(it, &v, &e)) == 1) {
            const void *rows;
            int64_t n;
            if (qn_fset_video_rows(s, fs, v.id, &rows, &n, &e))
                return 14;
            if (n != CC_ROWS)
                return 15; /* a committed video always has all its rows */
            const float *f = rows;
            for (int i = 0; i < CC_ROWS * CC_DIM; i++)
                if (f[i] != (float)v.id)
                    return 16;
            if (qn_store_pool(s, fs, v.id, 1.0, 7.5, out, &e))
                return 17;
            if (fabsf(out[0] - 1.0f / sqrtf(CC_DIM)) > 1e-5)
                return 18;
            seen++;
        }
        qn_store_video_iter_free(it);
        if (k < 0)
            return 19;
    }
    qn_store_close(s);
    return seen > 0 ? 0 : 20;
}

START_TEST(readers_during_writes)
{
    qn_store *s = open_store(sub("cc"), QN_STORE_WRITE | QN_STORE_CREATE);
    make_set(s, "cc", QN_FSET_PER_STEP, CC_DIM, QN_F32, 4.0);
    qn_store_close(s);
    ck_assert_int_eq(cc_writer(sub("cc"), 0, 1), 0); /* readers find something at once */
    pid_t pids[3];
    for (int i = 0; i < 3; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(i == 0 ? cc_writer(sub("cc"), 1, 60) : cc_reader(sub("cc"), 25));
    }
    for (int i = 0; i < 3; i++) {
        int status;
        waitpid(pids[i], &status, 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "%s exited with status %d", i ? "reader" : "writer", status);
    }
    int64_t snap[3];
    snapshot(sub("cc"), snap);
    ck_assert_int_eq(snap[0], 61 * 4);
}
END_TEST

Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("api");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, video_round_trip);
    tcase_add_test(tc, reasons_counted);
    tcase_add_test(tc, clip_round_trip);
    tcase_add_test(tc, clip_pack_round_trip);
    tcase_add_test(tc, fset_round_trip);
    tcase_add_test(tc, fset_repinned_while_empty);
    tcase_add_test(tc, fset_per_clip_and_items);
    tcase_add_test(tc, batch_rollback);
    tcase_add_test(tc, second_writer_locked);
    tcase_add_test(tc, pool_howto100m_rule);
    tcase_add_test(tc, half_conversion);
    tcase_add_test(tc, vocab_round_trip);
    tcase_add_test(tc, verify_and_merge);
    tcase_add_test(tc, export_formats);
    tcase_add_test(tc, export_odd_names_and_targets);
    tcase_add_test(tc, export_text_not_utf8);
    tcase_add_test(tc, vacuum_keeps_data);
    suite_add_tcase(s, tc);
    TCase *bad = tcase_create("failures");
    tcase_add_checked_fixture(bad, setup, teardown);
    tcase_set_timeout(bad, 120);
    tcase_add_test(bad, bad_stores_refused);
    tcase_add_test(bad, schema_1_migrates);
    tcase_add_test(bad, schema_1_migration_moves_clip_rows);
    tcase_add_test(bad, schema_1_orphan_clip_named);
    tcase_add_test(bad, pack_first_id_out_of_range);
    tcase_add_test(bad, verify_finds_shared_rows_and_bad_links);
    tcase_add_test(bad, merge_refuses_damaged_and_odd_inputs);
    tcase_add_test(bad, planted_links_are_not_followed);
    tcase_add_test(bad, disk_full_leaves_store_unchanged);
    tcase_add_test(bad, read_only_directory);
    tcase_add_test(bad, readers_during_writes);
    suite_add_tcase(s, bad);
    return s;
}

QN_CHECK_MAIN(store_suite)
