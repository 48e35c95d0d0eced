/* Caption parsers on the real files in ../shared/data/real/subtitles (QUERN_SHARED overrides
 * ../shared). Each test skips with a message when the files are absent. Expected counts and
 * texts were read off the files by hand. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check_main.h"
#include "extract/captions.h"

static const char *subs_dir(void)
{
    static char path[1024];
    const char *s = getenv("QUERN_SHARED");
    snprintf(path, sizeof path, "%s/data/real/subtitles", s && *s ? s : "../shared");
    return path;
}

/* Parses the file (auto format); NULL when absent (the test then skips). */
static cap_track *load_opts(const char *rel, const cap_opts *o)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", subs_dir(), rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "check_captions_real: %s absent, test skipped\n", path);
        return NULL;
    }
    struct stat st;
    fstat(fileno(f), &st);
    char *b = malloc((size_t)st.st_size + 1);
    size_t n = fread(b, 1, (size_t)st.st_size, f);
    fclose(f);
    cap_track *t = cap_track_new();
    qn_error e;
    qn_error_clear(&e);
    int rc = cap_parse(t, CAP_FMT_AUTO, rel, b, n, o, &e);
    free(b);
    ck_assert_msg(rc == QN_OK, "%s", e.msg);
    return t;
}

static cap_track *load(const char *rel)
{
    return load_opts(rel, NULL);
}

#define ck_time(a, b) ck_assert_msg(fabs((a) - (b)) < 1e-6, "time %.6f != %.6f", (double)(a), (double)(b))

START_TEST(youtube_fomc)
{
    cap_track *t = load("youtube_auto/FOMC_press_conference_2021-11-03.en.vtt");
    if (!t)
        return;
    ck_assert_uint_eq(t->stats.parsed, 3269);
    ck_assert(t->rolling);
    ck_assert_uint_eq(t->stats.deduped, 1634);
    cap_track_finish(t, 0);
    ck_assert_uint_eq(t->n, 1635);
    ck_assert_str_eq(t->cues[0].text, "good afternoon");
    ck_time(t->cues[0].start, 2.879);
    ck_time(t->cues[0].end, 5.440);
    ck_assert_str_eq(t->cues[1].text, "at the federal reserve we are strongly");
    ck_assert_uint_eq(t->cues[1].n_words, 7);
    ck_time(t->cues[1].words[6].start, 6.879);
    /* Each line once, in time order, clips never overlapping. */
    for (size_t i = 1; i < t->n; i++) {
        ck_assert(t->cues[i].start >= t->cues[i - 1].start);
        ck_assert(t->cues[i].start >= t->cues[i - 1].end - 1e-9);
        ck_assert_msg(strcmp(t->cues[i].text, t->cues[i - 1].text) != 0 ||
                          t->cues[i].start > t->cues[i - 1].end - 1e-9,
                      "line %zu repeated", i);
    }
    cap_track_free(t);
}
END_TEST

START_TEST(youtube_fomc_displayed)
{
    cap_opts o = CAP_OPTS_DEFAULT;
    o.span = CAP_SPAN_DISPLAYED;
    cap_track *t = load_opts("youtube_auto/FOMC_press_conference_2021-11-03.en.vtt", &o);
    if (!t)
        return;
    cap_track_finish(t, 0);
    ck_assert_uint_eq(t->n, 1635);
    ck_time(t->cues[0].start, 2.879);
    ck_time(t->cues[0].end, 7.349);
    ck_time(t->cues[1].start, 5.440);
    ck_time(t->cues[1].end, 8.950);
    /* HowTo100M's overlap: a line stays up until the line after next starts. */
    ck_assert(fabs(t->cues[0].end - t->cues[2].start) < 0.02);
    for (size_t i = 1; i < t->n; i++)
        ck_assert(t->cues[i].start >= t->cues[i - 1].start);
    cap_track_free(t);
}
END_TEST

START_TEST(youtube_dev_talk)
{
    cap_track *t = load("youtube_auto/embedded_dev_talk.en.vtt");
    if (!t)
        return;
    cap_track_finish(t, 0);
    ck_assert_uint_eq(t->n, 14);
    ck_assert_str_eq(t->cues[0].text, "when I started working on embedded");
    ck_assert_str_eq(t->cues[6].text, "hardware and working in");
    ck_time(t->cues[6].end, 14.080); /* not stretched over the cut in the file */
    ck_assert_str_eq(t->cues[9].text, "comfortable 72\xC2\xB0 your body is still");
    cap_track_free(t);
}
END_TEST

START_TEST(youtube_dl_style_header)
{
    cap_track *t = load("youtube_auto/webvtt-py_youtube_dl.vtt");
    if (!t)
        return;
    ck_assert_uint_eq(t->stats.parsed, 4); /* the cue without a blank line before it is its own */
    ck_assert_uint_eq(t->n_warnings, 0);
    ck_assert_uint_eq(t->n, 3);
    ck_assert_str_eq(t->cues[0].text, "yeah");
    ck_assert_str_eq(t->cues[1].text, "what");
    ck_assert_str_eq(t->cues[2].text, "this will happen is I'm telling");
    cap_track_free(t);
}
END_TEST

START_TEST(astisub_srt_family)
{
    static const char *files[] = {"astisub/example-in.srt", "astisub/missing-sequence-in.srt",
                                  "astisub/example-in-non-utf8.srt"};
    for (int k = 0; k < 3; k++) {
        cap_track *t = load(files[k]);
        if (!t)
            return;
        ck_assert_uint_eq(t->n, 6);
        ck_assert_uint_eq(t->n_warnings, 0);
        ck_time(t->cues[0].start, 99.0);
        ck_time(t->cues[0].end, 101.04);
        ck_assert_str_eq(t->cues[1].text, "MAN: How did we end up here?");
        cap_track_free(t);
    }
    cap_track *t = load("astisub/example-in-non-utf8.srt");
    if (!t)
        return;
    ck_assert_str_eq(t->charset, "UTF-16LE");
    cap_track_free(t);
}
END_TEST

START_TEST(astisub_entities_styles_cr)
{
    cap_track *t = load("astisub/example-in-html-entities.srt");
    if (!t)
        return;
    ck_assert_uint_eq(t->n, 3);
    ck_assert_str_eq(t->cues[0].text, "The man in black fled across the desert, & the gunslinger followed.");
    ck_assert_str_eq(t->cues[2].text, "there are other < worlds than these.");
    cap_track_free(t);
    if (!(t = load("astisub/example-in-styled.srt")))
        return;
    ck_assert_uint_eq(t->n, 10);
    ck_assert_str_eq(t->cues[0].text, ""); /* [instrumental music] in <font><b> */
    cap_track_finish(t, 0);
    ck_assert_uint_eq(t->n, 5);
    ck_assert_uint_eq(t->stats.dropped_empty, 5);
    ck_assert_str_eq(t->cues[0].text, "'The time is 7:35.'");
    ck_assert_str_eq(t->cues[4].text, "x^3 * x = 100");
    cap_track_free(t);
    if (!(t = load("astisub/example-in-carriage-return.srt")))
        return;
    ck_assert_uint_eq(t->n, 3);
    ck_assert_str_eq(t->cues[2].text, "at a busy bus stop or anywhere else for that matter.");
    cap_track_free(t);
}
END_TEST

START_TEST(astisub_vtt_style_region)
{
    cap_track *t = load("astisub/example-in.vtt");
    if (!t)
        return;
    /* Two STYLE blocks first (FFmpeg 5.1 returns nothing here), one with a blank line inside,
     * and old-draft "Region:" lines: both named in warnings, all 6 cues kept. */
    ck_assert_uint_eq(t->n, 6);
    ck_assert_uint_eq(t->n_warnings, 2);
    ck_assert_str_eq(t->warnings[0], "astisub/example-in.vtt:21: text outside a cue skipped");
    ck_time(t->cues[0].start, 99.0);
    ck_assert_str_eq(t->cues[0].text, "(deep rumbling)");
    cap_track_free(t);
}
END_TEST

START_TEST(webvtt_py_files)
{
    cap_track *t = load("webvtt-py/sample.vtt");
    if (!t)
        return;
    ck_assert_uint_eq(t->n, 16);
    cap_track_free(t);
    if (!(t = load("webvtt-py/captions_with_bom.vtt")))
        return;
    ck_assert_uint_eq(t->n, 4);
    ck_assert_str_eq(t->cues[0].text, "Caption text #1");
    cap_track_free(t);
    if (!(t = load("webvtt-py/missing_timeframe.vtt")))
        return;
    ck_assert_uint_eq(t->n, 6);
    ck_assert_str_eq(t->warnings[0], "webvtt-py/missing_timeframe.vtt:6: text outside a cue skipped");
    cap_track_free(t);
    if (!(t = load("webvtt-py/cue_tags.vtt")))
        return;
    ck_assert_uint_eq(t->n, 3);
    ck_assert_str_eq(t->cues[1].text, "Like a big-a pizza pie");
    cap_track_free(t);
    if (!(t = load("webvtt-py/missing_caption_text.srt")))
        return;
    ck_assert_uint_eq(t->n, 5);
    cap_track_finish(t, 0);
    ck_assert_uint_eq(t->n, 4);
    ck_assert_uint_eq(t->stats.dropped_empty, 1);
    cap_track_free(t);
    if (!(t = load("webvtt-py/invalid_timeframe.srt"))) /* comma/dot mixed: all accepted */
        return;
    ck_assert_uint_eq(t->n, 5);
    ck_time(t->cues[1].end, 11.89);
    cap_track_free(t);
}
END_TEST

START_TEST(misc_files)
{
    cap_track *t = load("misc/no_hour.vtt");
    if (!t)
        return;
    ck_assert_uint_eq(t->n, 7);
    ck_time(t->cues[0].start, 11.0);
    ck_assert_str_eq(t->cues[0].text, "We are in New York City");
    cap_track_free(t);
    if (!(t = load("misc/mediaelement.srt")))
        return;
    ck_assert_uint_eq(t->n, 15);
    ck_assert_str_eq(t->cues[0].text, "HTML5 <video> and <audio> was supposed to be awesome, powerful, and fun.");
    cap_track_free(t);
    if (!(t = load("misc/moviepy_subtitles-unicode.srt")))
        return;
    ck_assert_str_eq(t->cues[0].text, "\xC3\x81\xC3\x89\xC3\xAD\xC3\xB6\xC3\x99");
    cap_track_free(t);
    if (!(t = load("misc/crashcourse_youtube-dl_manual.vtt")))
        return;
    ck_assert_uint_eq(t->n, 13);
    ck_assert(!cap_youtube_is_rolling(t));
    cap_track_free(t);
}
END_TEST

START_TEST(milnce_csv)
{
    cap_track *t = load("howto100m_milnce/D_6boo5jI0U.csv");
    if (!t)
        return;
    ck_assert_uint_eq(t->n, 693);
    ck_time(t->cues[0].start, 34.14);
    ck_time(t->cues[0].end, 37.08);
    ck_assert_str_eq(t->cues[0].text, "hi yarnell school");
    cap_track_free(t);
    if (!(t = load("howto100m_milnce/-tCQ4tCQdWE.csv")))
        return;
    ck_assert_uint_eq(t->n, 20);
    ck_assert_str_eq(t->cues[1].text, "check pic tonight pick bowl");
    /* Released captions are already stop-word free: filtering them changes nothing. */
    cap_track_filter(t);
    for (size_t i = 0; i < t->n; i++)
        ck_assert_str_eq(t->cues[i].filtered, t->cues[i].text);
    cap_track_free(t);
}
END_TEST

static Suite *real_suite(void)
{
    Suite *s = suite_create("captions_real");
    TCase *tc = tcase_create("real");
    tcase_add_test(tc, youtube_fomc);
    tcase_add_test(tc, youtube_fomc_displayed);
    tcase_add_test(tc, youtube_dev_talk);
    tcase_add_test(tc, youtube_dl_style_header);
    tcase_add_test(tc, astisub_srt_family);
    tcase_add_test(tc, astisub_entities_styles_cr);
    tcase_add_test(tc, astisub_vtt_style_region);
    tcase_add_test(tc, webvtt_py_files);
    tcase_add_test(tc, misc_files);
    tcase_add_test(tc, milnce_csv);
    suite_add_tcase(s, tc);
    return s;
}

QN_CHECK_MAIN(real_suite)
