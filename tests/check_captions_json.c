/* Streaming caption.json reader and info.json fields (extract/captions.h) on fixtures written
 * here: escapes, problems per entry, syntax errors with line:col, and streaming through a
 * pipe with a tiny read buffer (every token crosses a refill) giving the same result. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "extract/captions.h"

extern size_t cap_json_buf_init;

typedef struct seen {
    int n;
    char ids[8][32];
    size_t caps[8];
    char problem[8][96];
    char text0[8][64];
    double start_last[8], end0[8];
    uint64_t line[8];
    double sum;
    uint64_t total;
} seen;

static int on_video(void *ud, const cap_json_video *v, qn_error *err)
{
    seen *s = ud;
    if (s->n < 8) {
        snprintf(s->ids[s->n], 32, "%.*s", (int)v->id_len, v->id);
        s->caps[s->n] = v->n;
        snprintf(s->problem[s->n], 96, "%s", v->problem ? v->problem : "");
        snprintf(s->text0[s->n], 64, "%s", v->n_text ? v->text[0] : "");
        s->start_last[s->n] = v->n_start ? v->start[v->n_start - 1] : -1;
        s->end0[s->n] = v->n_end ? v->end[0] : -1;
        s->line[s->n] = v->line;
    }
    for (size_t i = 0; i < v->n; i++)
        s->sum += v->start[i] + v->end[i] + (double)v->text_len[i];
    s->total += v->n;
    s->n++;
    return QN_OK;
}

static const char *doc =
    "{\n"
    "  \"vid1\": {\"start\": [0.5, 3.25, 1e1], \"end\": [3.0, 5.5, 12.25],\n"
    "            \"text\": [\"hello \\\"world\\\"\", \"caf\\u00e9\", \"\\ud83d\\ude00 ok\\n\"]},\n"
    "  \"vid-2\": {\"text\": [], \"start\": [], \"end\": [], \"other\": {\"x\": [1, {\"y\": null}]}},\n"
    "  \"bad\": {\"start\": [1, \"x\"], \"end\": [2, 3], \"text\": [\"a\", \"b\"]},\n"
    "  \"short\": {\"start\": [1, 2], \"end\": [2], \"text\": [\"a\", \"b\"]},\n"
    "  \"nan\": {\"start\": [NaN], \"end\": [1], \"text\": [\"x\"]},\n"
    "  \"notobj\": [1, 2]\n"
    "}\n";

static void check_doc(const seen *s)
{
    ck_assert_int_eq(s->n, 6);
    ck_assert_str_eq(s->ids[0], "vid1");
    ck_assert_uint_eq(s->caps[0], 3);
    ck_assert_str_eq(s->problem[0], "");
    ck_assert_str_eq(s->text0[0], "hello \"world\"");
    ck_assert(s->start_last[0] == 10.0);
    ck_assert(s->end0[0] == 3.0);
    ck_assert_uint_eq(s->line[0], 2);
    ck_assert_str_eq(s->ids[1], "vid-2");
    ck_assert_uint_eq(s->caps[1], 0);
    ck_assert_str_eq(s->problem[1], "");
    ck_assert_str_eq(s->problem[2], "start[1] is not a number");
    ck_assert_str_eq(s->problem[3], "start, end and text differ in length");
    ck_assert_uint_eq(s->caps[3], 1);
    ck_assert_str_eq(s->problem[4], "start[0] is not a finite number");
    ck_assert_str_eq(s->problem[5], "value is not an object");
    ck_assert_uint_eq(s->line[5], 8);
}

START_TEST(json_mem)
{
    seen s = {0};
    uint64_t nv = 0;
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(cap_json_stream_mem(doc, strlen(doc), "caption.json", on_video, &s, &nv, &e), QN_OK);
    ck_assert_uint_eq(nv, 6);
    check_doc(&s);
}
END_TEST

/* A writer child feeds the pipe slowly in small pieces. */
static int pipe_from(const char *data, size_t len, size_t piece)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        for (size_t i = 0; i < len; i += piece) {
            size_t n = len - i < piece ? len - i : piece;
            if (write(p[1], data + i, n) != (ssize_t)n)
                _exit(1);
        }
        _exit(0);
    }
    close(p[1]);
    return p[0];
}

START_TEST(json_fd_tiny_buffer)
{
    for (size_t bufsz = 1; bufsz <= 64; bufsz *= 4) {
        cap_json_buf_init = bufsz;
        int fd = pipe_from(doc, strlen(doc), 5);
        seen s = {0};
        uint64_t nv = 0;
        qn_error e;
        qn_error_clear(&e);
        ck_assert_int_eq(cap_json_stream_fd(fd, "caption.json", on_video, &s, &nv, &e), QN_OK);
        close(fd);
        wait(NULL);
        ck_assert_uint_eq(nv, 6);
        check_doc(&s);
    }
    cap_json_buf_init = 1 << 20;
}
END_TEST

static void expect_error(const char *text, const char *msg)
{
    qn_error e;
    qn_error_clear(&e);
    seen s = {0};
    ck_assert_int_eq(cap_json_stream_mem(text, strlen(text), "c.json", on_video, &s, NULL, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, msg);
    /* The same through a pipe with a tiny buffer. */
    cap_json_buf_init = 3;
    int fd = pipe_from(text, strlen(text), 2);
    qn_error_clear(&e);
    ck_assert_int_eq(cap_json_stream_fd(fd, "c.json", on_video, &s, NULL, &e), QN_EINPUT);
    close(fd);
    wait(NULL);
    cap_json_buf_init = 1 << 20;
    ck_assert_str_eq(e.msg, msg);
}

START_TEST(json_errors)
{
    expect_error("", "c.json: empty file");
    expect_error("[1]", "c.json:1:1: expected '{' (a caption.json object)");
    expect_error("{\"a\": {\"start\": [1,]}}", "c.json:1:20: expected a number");
    expect_error("{\n\"a\": {\"start\": [1 2]}}", "c.json:2:19: expected ',' or ']'");
    expect_error("{\"a\": {\"text\": [\"x\\q\"]}}", "c.json:1:19: expected a valid string escape");
    expect_error("{\"a\": {\"text\": [\"x\"]}", "c.json:1:22: expected more input before the end of the file");
    expect_error("{\"a\": {}} x", "c.json:1:11: expected end of input after the top-level object");
}
END_TEST

static int stop_cb(void *ud, const cap_json_video *v, qn_error *err)
{
    return qn_error_set(err, QN_EENV, "store full at %.*s", (int)v->id_len, v->id);
}

START_TEST(json_callback_stops)
{
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(cap_json_stream_mem(doc, strlen(doc), "c.json", stop_cb, NULL, NULL, &e), QN_EENV);
    ck_assert_str_eq(e.msg, "store full at vid1");
}
END_TEST

/* A generated HowTo100M-shaped file (2,000 videos x 110 captions) through a pipe. */
START_TEST(json_generated_stream)
{
    size_t cap = 64u << 20, n = 0;
    char *b = malloc(cap);
    n += (size_t)sprintf(b + n, "{");
    for (int v = 0; v < 2000; v++) {
        n += (size_t)sprintf(b + n, "%s\"vid%07d\": {\"start\": [", v ? ", " : "", v);
        for (int c = 0; c < 110; c++)
            n += (size_t)sprintf(b + n, "%s%d.%02d", c ? ", " : "", c * 3, c % 100);
        n += (size_t)sprintf(b + n, "], \"end\": [");
        for (int c = 0; c < 110; c++)
            n += (size_t)sprintf(b + n, "%s%d.%02d", c ? ", " : "", c * 3 + 4, c % 100);
        n += (size_t)sprintf(b + n, "], \"text\": [");
        for (int c = 0; c < 110; c++)
            n += (size_t)sprintf(b + n, "%s\"word%d pan oil\"", c ? ", " : "", c);
        n += (size_t)sprintf(b + n, "]}");
    }
    n += (size_t)sprintf(b + n, "}");
    cap_json_buf_init = 4096;
    int fd = pipe_from(b, n, 65536);
    seen s = {0};
    uint64_t nv = 0;
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(cap_json_stream_fd(fd, "big.json", on_video, &s, &nv, &e), QN_OK);
    close(fd);
    wait(NULL);
    cap_json_buf_init = 1 << 20;
    ck_assert_uint_eq(nv, 2000);
    ck_assert_uint_eq(s.total, 220000);
    ck_assert_str_eq(s.ids[7], "vid0000007");
    seen m = {0};
    ck_assert_int_eq(cap_json_stream_mem(b, n, "big.json", on_video, &m, NULL, &e), QN_OK);
    ck_assert(m.sum == s.sum);
    free(b);
}
END_TEST

START_TEST(info_fields)
{
    const char *j = "{\"id\": \"dQw4w9WgXcQ\", \"title\": \"A \\u00e9 \\\"title\\\"\", \"formats\": "
                    "[{\"format_id\": \"18\", \"fps\": 30.0, \"x\": null, \"y\": [true, false]}],"
                    " \"duration\": 212, \"view_count\": 1500000000, \"categories\": [\"Music\", \"Howto & Style\"],"
                    " \"is_live\": false}";
    cap_info info;
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(cap_info_parse(&info, "x.info.json", j, strlen(j), &e), QN_OK);
    ck_assert_str_eq(info.id, "dQw4w9WgXcQ");
    ck_assert_str_eq(info.title, "A \xC3\xA9 \"title\"");
    ck_assert(info.duration == 212.0);
    ck_assert_int_eq(info.view_count, 1500000000);
    ck_assert_uint_eq(info.n_categories, 2);
    ck_assert_str_eq(info.categories[1], "Howto & Style");
    cap_info_free(&info);
    cap_info_free(NULL);

    const char *k = "{\"id\": \"x\", \"view_count\": null, \"duration\": 12.5}";
    ck_assert_int_eq(cap_info_parse(&info, "y.info.json", k, strlen(k), &e), QN_OK);
    ck_assert_int_eq(info.view_count, -1);
    ck_assert(info.duration == 12.5);
    ck_assert_ptr_null(info.title);
    ck_assert_uint_eq(info.n_categories, 0);
    cap_info_free(&info);

    const char *bad = "{\"id\": \"x\",\n \"duration\": }";
    ck_assert_int_eq(cap_info_parse(&info, "z.info.json", bad, strlen(bad), &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "z.info.json:2:14: expected a number");
    ck_assert_ptr_null(info.id);
}
END_TEST

static Suite *json_suite(void)
{
    Suite *s = suite_create("captions_json");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, json_mem);
    tcase_add_test(tc, json_fd_tiny_buffer);
    tcase_add_test(tc, json_errors);
    tcase_add_test(tc, json_callback_stops);
    tcase_add_test(tc, json_generated_stream);
    tcase_add_test(tc, info_fields);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

QN_CHECK_MAIN(json_suite)
