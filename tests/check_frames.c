/* Unit tests for extract/frames: the fps-filter timestamp machine, the
 * extractor's output sizes, option checks and the open errors. Comparisons
 * with the ffmpeg CLI on real videos are in tests/test_frames.py. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "extract/frames.h"
#include "extract/frames_priv.h"

/* Runs n frames at pts[i] (time base tb) with end timestamp `end` through one fps
 * machine at `rate`; copies[i] receives how many outputs frame i fills. */
static int64_t run_fps(const int64_t *pts, int n, int64_t end, AVRational tb, int rate,
                       int64_t *copies)
{
    fr_fps f;
    fr_fps_init(&f, tb, (AVRational){1, rate});
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        int64_t k = fr_fps_push(&f, fr_fps_tick(&f, pts[i]), i > 0);
        if (i > 0)
            copies[i - 1] = k;
        total += k;
    }
    int64_t k = fr_fps_eof(&f, fr_fps_tick(&f, end), n > 0);
    if (n > 0)
        copies[n - 1] = k;
    return total + k;
}

static int64_t cfr(int n, int step, int64_t start, AVRational tb, int rate, int64_t *copies)
{
    int64_t *pts = malloc(sizeof *pts * (size_t)n);
    for (int i = 0; i < n; i++)
        pts[i] = start + (int64_t)i * step;
    int64_t t = run_fps(pts, n, start + (int64_t)n * step, tb, rate, copies);
    free(pts);
    return t;
}

START_TEST(fps_counts_follow_rounded_end)
{
    int64_t c[400];
    AVRational tb = {1, 12800};
    /* 25 fps: 3.5 s rounds up to 4 ticks, 3.4 s down to 3 (vf_fps round=near). */
    ck_assert_int_eq(cfr(88, 512, 0, tb, 1, c), 4);
    ck_assert_int_eq(cfr(85, 512, 0, tb, 1, c), 3);
    ck_assert_int_eq(cfr(88, 512, 0, tb, 24, c), 84);
    /* 30 fps for 3 s at 24 fps: 72 frames, every fifth input dropped. */
    ck_assert_int_eq(cfr(90, 512, 0, (AVRational){1, 15360}, 24, c), 72);
    int dropped = 0;
    for (int i = 0; i < 90; i++)
        dropped += c[i] == 0;
    ck_assert_int_eq(dropped, 18);
    /* 29.97 fps (1001/30000 per frame), 10 s: 10 ticks at 1 fps. */
    ck_assert_int_eq(cfr(300, 1001, 0, (AVRational){1, 30000}, 1, c), 10);
}
END_TEST

START_TEST(fps_picks_last_frame_rounding_to_tick)
{
    int64_t c[100];
    AVRational tb = {1, 100};
    /* 25 fps: tick 1 takes the last frame before 1.5 s, i.e. 1.48 s (frame 37). */
    ck_assert_int_eq(cfr(75, 4, 0, tb, 1, c), 3);
    ck_assert_int_eq(c[12], 1);   /* 0.48 s fills tick 0 */
    ck_assert_int_eq(c[37], 1);   /* 1.48 s fills tick 1 */
    ck_assert_int_eq(c[62], 1);   /* 2.48 s fills tick 2 */
    ck_assert_int_eq(c[0] + c[13] + c[38] + c[74], 0);
    /* ties round away from zero: a frame at exactly 0.5 s belongs to tick 1 */
    int64_t pts[] = {0, 50, 100};
    ck_assert_int_eq(run_fps(pts, 3, 150, tb, 1, c), 2);
    ck_assert_int_eq(c[0], 1);
    ck_assert_int_eq(c[1], 0);
    ck_assert_int_eq(c[2], 1);
}
END_TEST

START_TEST(fps_duplicates_over_gaps_and_fills_leading_ticks)
{
    int64_t c[4];
    AVRational tb = {1, 1000};
    int64_t gap[] = {0, 3000};
    ck_assert_int_eq(run_fps(gap, 2, 3040, tb, 1, c), 3);
    ck_assert_int_eq(c[0], 3);
    ck_assert_int_eq(c[1], 0);
    /* a stream starting at 2.3 s: ticks 0..2 all show the first frame (the CLI's
     * constant-rate output), then 3 from the second. */
    int64_t late[] = {2300, 3300};
    ck_assert_int_eq(run_fps(late, 2, 4300, tb, 1, c), 4);
    ck_assert_int_eq(c[0], 3);
    ck_assert_int_eq(c[1], 1);
    /* one stream in the file: the CLI's "vscfr" starts at the first frame's tick */
    fr_fps f;
    fr_fps_init(&f, tb, (AVRational){1, 1});
    f.fill_lead = 0;
    ck_assert_int_eq(fr_fps_push(&f, fr_fps_tick(&f, 2300), 0), 0);
    ck_assert_int_eq(fr_fps_push(&f, fr_fps_tick(&f, 3300), 1), 1);
    ck_assert_int_eq(fr_fps_eof(&f, fr_fps_tick(&f, 4300), 1), 1);
    /* no frames: nothing */
    ck_assert_int_eq(run_fps(late, 0, 0, tb, 1, c), 0);
    /* a single frame of 40 ms at 0: rounds to 0 ticks at 1 fps, 1 at 24 fps */
    int64_t one[] = {0};
    ck_assert_int_eq(run_fps(one, 1, 40, tb, 1, c), 0);
    ck_assert_int_eq(run_fps(one, 1, 40, tb, 24, c), 1);
}
END_TEST

START_TEST(sizes_like_the_extractor)
{
    int w, h;
    ck_assert_int_eq(fr_scaled_size(1280, 720, 224, &w, &h), QN_OK);
    ck_assert_int_eq(w, 398);
    ck_assert_int_eq(h, 224);
    fr_scaled_size(1280, 720, 112, &w, &h);
    ck_assert_int_eq(w, 199);
    fr_scaled_size(720, 1280, 224, &w, &h);
    ck_assert_int_eq(w, 224);
    ck_assert_int_eq(h, 398);
    fr_scaled_size(640, 480, 224, &w, &h);
    ck_assert_int_eq(w, 298);
    fr_scaled_size(100, 100, 112, &w, &h);
    ck_assert_int_eq(w * 1000 + h, 112112);
    ck_assert_int_eq(fr_scaled_size(0, 720, 224, &w, &h), QN_EINPUT);
}
END_TEST

START_TEST(open_errors_name_the_file)
{
    qn_error err;
    qn_error_clear(&err);
    fr_video *v = (fr_video *)1;
    /* missing: the environment's (retried later), not a bad video */
    ck_assert_int_eq(fr_open(&v, "/nonexistent/x.mp4", NULL, &err), QN_EENV);
    ck_assert_ptr_null(v);
    ck_assert_str_eq(err.msg, "/nonexistent/x.mp4: cannot open: No such file or directory");

    char path[] = "/tmp/qn_frames_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    qn_error_clear(&err);
    ck_assert_int_eq(fr_open(&v, path, NULL, &err), QN_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot open (empty file, 0 bytes): "));
    ck_assert_int_eq(strncmp(err.msg, path, strlen(path)), 0);

    FILE *f = fopen(path, "w");
    fputs("this is not a video at all, just some text\n", f);
    fclose(f);
    qn_error_clear(&err);
    ck_assert_int_eq(fr_open(&v, path, NULL, &err), QN_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, ": cannot open: "));
    unlink(path);

    /* a directory is no video: bad input, refused before FFmpeg sees it */
    qn_error_clear(&err);
    ck_assert_int_eq(fr_open(&v, "/tmp", NULL, &err), QN_EINPUT);
    ck_assert_str_eq(err.msg, "/tmp: not a regular file (directory)");

    fr_opts o;
    fr_opts_default(&o);
    o.crop_3d = 200;
    qn_error_clear(&err);
    ck_assert_int_eq(fr_open(&v, path, &o, &err), QN_EUSAGE);
    fr_close(NULL);
}
END_TEST

/* Which FFmpeg errors are the file's content and which the environment's. */
START_TEST(status_classes)
{
    /* no file content involved (opening the file, the decoder): by errno */
    ck_assert_int_eq(fr_av_status(AVERROR(ENOENT), NULL), QN_EENV);
    ck_assert_int_eq(fr_av_status(AVERROR(EACCES), NULL), QN_EENV);
    ck_assert_int_eq(fr_av_status(AVERROR(ENOTDIR), NULL), QN_EENV);
    ck_assert_int_eq(fr_av_status(AVERROR(EMFILE), NULL), QN_EENV);
    ck_assert_int_eq(fr_av_status(AVERROR(EAGAIN), NULL), QN_EENV);
    ck_assert_int_eq(fr_av_status(AVERROR(ESTALE), NULL), QN_EENV);
    ck_assert_int_eq(fr_av_status(AVERROR(ENOMEM), NULL), QN_ENOMEM);
    ck_assert_int_eq(fr_av_status(AVERROR_INVALIDDATA, NULL), QN_EINPUT);
    ck_assert_int_eq(fr_av_status(AVERROR_DECODER_NOT_FOUND, NULL), QN_EINPUT);
    ck_assert_int_eq(fr_av_status(AVERROR(EINVAL), NULL), QN_EINPUT);
    /* of those, the file's (a caller skips it) and the run's (limits: it stops) */
    ck_assert(fr_av_unreadable(AVERROR(ENOENT), NULL) && fr_av_unreadable(AVERROR(EACCES), NULL));
    ck_assert(fr_av_unreadable(AVERROR(ESTALE), NULL));
    ck_assert(!fr_av_unreadable(AVERROR(EMFILE), NULL) && !fr_av_unreadable(AVERROR(EAGAIN), NULL));
    ck_assert(!fr_av_unreadable(AVERROR_INVALIDDATA, NULL) && !fr_av_unreadable(AVERROR(ENOMEM), NULL));
    /* while reading the file: only a failed read (pb->error) is the environment's */
    uint8_t *buf = av_malloc(64);
    AVIOContext *pb = avio_alloc_context(buf, 64, 0, NULL, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(pb);
    ck_assert_int_eq(fr_av_status(AVERROR_EOF, pb), QN_EINPUT);   /* the file ends early */
    ck_assert_int_eq(fr_av_status(AVERROR(EIO), pb), QN_EINPUT);  /* a demuxer's own EIO */
    ck_assert_int_eq(fr_av_status(AVERROR(EMFILE), pb), QN_EENV); /* limits always are */
    ck_assert(!fr_av_unreadable(AVERROR(EMFILE), pb));             /* ...but the run's */
    pb->error = AVERROR(EIO);
    ck_assert_int_eq(fr_av_status(AVERROR_EOF, pb), QN_EENV);
    ck_assert(fr_av_unreadable(AVERROR_EOF, pb));                  /* this file's: skip it */
    ck_assert_int_eq(fr_av_reason_code(AVERROR_EOF, pb), AVERROR(EIO));
    ck_assert_int_eq(fr_av_status(AVERROR_INVALIDDATA, pb), QN_EENV);
    pb->error = AVERROR_INVALIDDATA;
    ck_assert_int_eq(fr_av_status(AVERROR_EOF, pb), QN_EINPUT);
    ck_assert_int_eq(fr_av_reason_code(AVERROR_EOF, pb), AVERROR_EOF);
    pb->error = AVERROR(ENOMEM);
    ck_assert_int_eq(fr_av_status(AVERROR_EOF, pb), QN_ENOMEM);
    av_freep(&pb->buffer);
    avio_context_free(&pb);
    ck_assert(fr_env_errno(ENAMETOOLONG) && fr_env_errno(ELOOP) && fr_env_errno(ENXIO));
    ck_assert(!fr_env_errno(EINVAL) && !fr_env_errno(ENOMEM) && !fr_env_errno(0));
}
END_TEST

/* ---- the decode pass through the API, on a generated video ---- */

static char video[64];

static void make_video(void)
{
    snprintf(video, sizeof video, "/tmp/qn_frames_%d.mp4", (int)getpid());
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=160x90:rate=30:duration=2.5 "
             "-c:v libx264 -pix_fmt yuv420p %s", video);
    ck_assert_int_eq(system(cmd), 0);
}

static void remove_video(void)
{
    unlink(video);
}

typedef struct counter {
    int n2d, n3d, stop_2d_at, stop_3d_at, last_real;
    long long sum;
} counter;

static int count_2d(void *u, int64_t index, const uint8_t *rgb, int w, int h)
{
    counter *c = u;
    ck_assert_int_eq(index, c->n2d);
    ck_assert_int_eq(w * 1000 + h, 398224);
    c->sum += rgb[0] + rgb[w * h * 3 - 1];
    return ++c->n2d == c->stop_2d_at ? QN_EENV : QN_OK;
}

static int count_3d(void *u, int64_t index, const uint8_t *rgb, int n_real, int side)
{
    counter *c = u;
    ck_assert_int_eq(index, c->n3d);
    ck_assert_int_eq(side, 112);
    c->last_real = n_real;
    c->sum += rgb[0];
    return ++c->n3d == c->stop_3d_at ? QN_ENOMEM : QN_OK;
}

START_TEST(run_counts_and_sink_stop)
{
    qn_error err;
    fr_video *v;
    fr_stats st;
    /* 2.5 s at 30 fps: 75 decoded; fps=1 -> 3 (2.5 rounds up); fps=24 -> 60 -> 4 chunks */
    counter c = {0};
    fr_sink sink = {&c, count_2d, count_3d};
    qn_error_clear(&err);
    ck_assert_int_eq(fr_open(&v, video, NULL, &err), QN_OK);
    const fr_info *in = fr_get_info(v);
    ck_assert_int_eq(in->w2d * 1000 + in->h2d, 398224);
    ck_assert_int_eq(in->crop_x * 1000 + in->crop_y, 43000);
    ck_assert_int_eq(fr_run(v, &sink, &st, &err), QN_OK);
    ck_assert_int_eq(c.n2d, 3);
    ck_assert_int_eq(c.n3d, 4);
    ck_assert_int_eq(c.last_real, 12);
    ck_assert_int_eq(st.decoded, 75);
    ck_assert_int_eq(st.n3d, 60);
    ck_assert_int_eq(st.converted, 60);
    ck_assert_int_eq(fr_run(v, &sink, &st, &err), QN_EINTERNAL);   /* once per handle */
    fr_close(v);

    /* a sink that stops: its status comes back, nothing hangs or leaks */
    for (int k = 0; k < 2; k++) {
        counter s = {.stop_2d_at = k == 0 ? 2 : 0, .stop_3d_at = k == 1 ? 1 : 0};
        fr_sink stop = {&s, count_2d, count_3d};
        qn_error_clear(&err);
        ck_assert_int_eq(fr_open(&v, video, NULL, &err), QN_OK);
        ck_assert_int_eq(fr_run(v, &stop, NULL, &err), k == 0 ? QN_EENV : QN_ENOMEM);
        fr_close(v);
    }
}
END_TEST

Suite *frames_suite(void)
{
    Suite *s = suite_create("frames");
    TCase *tc = tcase_create("fps");
    tcase_add_test(tc, fps_counts_follow_rounded_end);
    tcase_add_test(tc, fps_picks_last_frame_rounding_to_tick);
    tcase_add_test(tc, fps_duplicates_over_gaps_and_fills_leading_ticks);
    suite_add_tcase(s, tc);
    tc = tcase_create("open");
    tcase_add_test(tc, sizes_like_the_extractor);
    tcase_add_test(tc, open_errors_name_the_file);
    tcase_add_test(tc, status_classes);
    suite_add_tcase(s, tc);
    tc = tcase_create("run");
    tcase_add_unchecked_fixture(tc, make_video, remove_video);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, run_counts_and_sink_stop);
    suite_add_tcase(s, tc);
    return s;
}

QN_CHECK_MAIN(frames_suite)
