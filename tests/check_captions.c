/* Unit tests for the caption text core (extract/captions.h) on fixtures written here: one
 * per quirk of WebVTT, SRT, ASS, charsets, YouTube rolling captions, cleaning, stop words,
 * tokens and the MIL-NCE / HowTo100M CSVs. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract/captions.h"
#include "check_main.h"

static cap_track *parse_fmt(enum cap_format fmt, const char *name, const char *s, size_t len,
                            const cap_opts *o)
{
    cap_track *t = cap_track_new();
    qn_error e;
    qn_error_clear(&e);
    int rc = cap_parse(t, fmt, name, s, len, o, &e);
    ck_assert_msg(rc == QN_OK, "%s: %s", name, e.msg);
    return t;
}

static cap_track *parse(const char *name, const char *s)
{
    return parse_fmt(CAP_FMT_AUTO, name, s, strlen(s), NULL);
}

#define ck_time(a, b) ck_assert_msg(fabs((a) - (b)) < 1e-6, "time %.6f != %.6f", (double)(a), (double)(b))

/* ------------------------------------------------------------------ WebVTT */

START_TEST(vtt_header_blocks_ids_settings)
{
    const char *s = "\xEF\xBB\xBFWEBVTT - some title\n"
                    "Kind: captions\n"
                    "Language: en\n"
                    "\n"
                    "STYLE\n"
                    "::cue { color: lime }\n"
                    "\n"
                    "NOTE this comment\n"
                    "spans lines\n"
                    "\n"
                    "intro\n"
                    "00:01.000 --> 00:02.500 line:0 position:20% align:start\n"
                    "<v Roger Bingham>We are <i>in</i> <b>New</b> <c.yellow>York</c>\n"
                    "\n"
                    "REGION\n"
                    "id:fred width:40%\n"
                    "\n"
                    "2\n"
                    "1:02:03.004 --> 1:02:04.5\n"
                    "Tom &amp; Jerry &lt;3 &nbsp;x&#33; &#x263A;\n"
                    "\n"
                    "NOTE after cues\n"
                    "\n"
                    "00:00:05.000 --> 00:00:06.000\n"
                    "last\n";
    cap_track *t = parse("a.vtt", s);
    ck_assert_uint_eq(t->n, 3);
    ck_assert_uint_eq(t->n_warnings, 0);
    ck_time(t->cues[0].start, 1.0);
    ck_time(t->cues[0].end, 2.5);
    ck_assert_str_eq(t->cues[0].text, "We are in New York");
    ck_assert_str_eq(t->cues[0].raw, "<v Roger Bingham>We are <i>in</i> <b>New</b> <c.yellow>York</c>");
    ck_assert_uint_eq(t->cues[0].line, 12);
    ck_time(t->cues[1].start, 3723.004);
    ck_time(t->cues[1].end, 3724.5);
    ck_assert_str_eq(t->cues[1].text, "Tom & Jerry <3 x! \xE2\x98\xBA");
    ck_assert_str_eq(t->cues[2].text, "last");
    cap_track_free(t);
}
END_TEST

START_TEST(vtt_bad_cue_skipped_with_line)
{
    const char *s = "WEBVTT\n\n"
                    "00:00:01.000 --> 00:00:02.000\none\n\n"
                    "00:00:05,000 --> 00:00:xx.000\nbroken\n\n" /* line 6 */
                    "00:00:03.000 --> 00:00:04.000\nthree\n\n"
                    "lonely text\n\n"                           /* line 12 */
                    "00:00:04.000 --> 00:00:05.000\nfour\n";
    cap_track *t = parse("b.vtt", s);
    ck_assert_uint_eq(t->n, 3);
    ck_assert_str_eq(t->cues[2].text, "four");
    ck_assert_uint_eq(t->stats.skipped_bad, 1);
    ck_assert_uint_eq(t->n_warnings, 2);
    ck_assert_str_eq(t->warnings[0], "b.vtt:6: bad cue timing '00:00:05,000 --> 00:00:xx.000', cue skipped");
    ck_assert_str_eq(t->warnings[1], "b.vtt:12: text outside a cue skipped");
    cap_track_free(t);
}
END_TEST

START_TEST(vtt_no_blank_before_timing_and_space_line)
{
    /* A cue timing right after text starts a new cue; a " " line is cue text, not a break;
     * CRLF line ends; mm:ss timing; comma accepted as decimal mark. */
    const char *s = "WEBVTT\r\n\r\n00:01.000 --> 00:02.000\r\nfirst\r\n \r\nsecond half\r\n"
                    "00:02.000 --> 00:03,250\r\nnext\r\n";
    cap_track *t = parse("c.vtt", s);
    ck_assert_uint_eq(t->n, 2);
    ck_assert_str_eq(t->cues[0].raw, "first\n \nsecond half");
    ck_assert_str_eq(t->cues[0].text, "first second half");
    ck_time(t->cues[1].end, 3.25);
    cap_track_free(t);
}
END_TEST

START_TEST(vtt_inline_timestamps_words)
{
    const char *s = "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n"
                    "hello<00:00:01.500><c> big</c><00:00:02.250><c> world</c>\n";
    cap_track *t = parse("d.vtt", s);
    ck_assert_uint_eq(t->n, 1);
    const cap_cue *c = &t->cues[0];
    ck_assert_str_eq(c->text, "hello big world");
    ck_assert_uint_eq(c->n_words, 3);
    ck_time(c->words[0].start, 1.0);
    ck_time(c->words[1].start, 1.5);
    ck_time(c->words[2].start, 2.25);
    ck_assert_int_eq(c->words[2].off, 10);
    ck_assert_int_eq(c->words[2].len, 5);
    cap_track_free(t);
}
END_TEST

START_TEST(vtt_not_webvtt_is_error)
{
    cap_track *t = cap_track_new();
    qn_error e;
    qn_error_clear(&e);
    const char *s = "WEBVTTX\n\n00:01.000 --> 00:02.000\nx\n";
    ck_assert_int_eq(cap_parse(t, CAP_FMT_VTT, "x.vtt", s, strlen(s), NULL, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "x.vtt:1: not a WebVTT file (no WEBVTT header)");
    cap_track_free(t);
}
END_TEST

/* ------------------------------------------------------------------ SRT */

START_TEST(srt_quirks)
{
    const char *s = "\xEF\xBB\xBF"
                    "0\r\n00:00:01,000 --> 00:00:02,000\r\n<i>zero</i> {\\an8}based\r\n\r\n"
                    "00:00:03.5 --> 00:00:04 X1:40 X2:600 Y1:20 Y2:50\r\nno index, dot\r\n\r\n"
                    "7\r\n0:00:05,25 --> 0:00:06,000\r\n<font color=\"#ff0000\">red</font>\r\ntwo lines\r\n"
                    "8\r\n00:00:07,000 --> 00:00:08,000\r\nno blank line before\r\n";
    cap_track *t = parse("q.srt", s);
    ck_assert_uint_eq(t->n, 4);
    ck_assert_uint_eq(t->n_warnings, 0);
    ck_assert_str_eq(t->cues[0].text, "zero based");
    ck_time(t->cues[1].start, 3.5);
    ck_time(t->cues[1].end, 4.0);
    ck_assert_str_eq(t->cues[1].text, "no index, dot");
    ck_time(t->cues[2].start, 5.25); /* FFmpeg reads ",25" as 25 ms; it is 250 ms */
    ck_assert_str_eq(t->cues[2].text, "red two lines");
    ck_assert_str_eq(t->cues[3].text, "no blank line before");
    ck_assert_uint_eq(t->cues[3].line, 13);
    cap_track_free(t);
}
END_TEST

START_TEST(srt_bare_cr_and_bad_cue)
{
    const char *s = "1\r00:00:01,000 --> 00:00:02,000\rcr only\r\r"
                    "2\r00:00:0x,000 --> 00:00:04,000\rbad\r\r"
                    "3\r00:00:05,000 --> 00:00:06,000\rthird\r";
    cap_track *t = parse("cr.srt", s);
    ck_assert_uint_eq(t->n, 2);
    ck_assert_str_eq(t->cues[1].text, "third");
    ck_assert_uint_eq(t->stats.skipped_bad, 1);
    ck_assert_str_eq(t->warnings[0], "cr.srt:6: bad cue timing '00:00:0x,000 --> 00:00:04,000', cue skipped");
    cap_track_free(t);
}
END_TEST

START_TEST(srt_not_srt)
{
    cap_track *t = cap_track_new();
    qn_error e;
    qn_error_clear(&e);
    const char *s = "just some text\nwith no timing\n";
    ck_assert_int_eq(cap_parse(t, CAP_FMT_SRT, "n.srt", s, strlen(s), NULL, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "n.srt: not a SubRip file (no cue timing found)");
    cap_track_free(t);
}
END_TEST

/* ------------------------------------------------------------------ ASS / SSA */

START_TEST(ass_dialogue)
{
    const char *s = "[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname\n"
                    "Style: Default,Arial\n\n[Events]\n"
                    "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
                    "Dialogue: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,{\\i1}Hello{\\i0}, world\\Nnext\\hline\n"
                    "Comment: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,not shown\n"
                    "Dialogue: 0,0:00:0x.00,0:00:04.00,Default,,0,0,0,,bad\n"
                    "Dialogue: 0,1:00:00.25,1:00:01.00,Default,,0,0,0,,late, with, commas\n";
    cap_track *t = parse("s.ass", s);
    ck_assert_uint_eq(t->n, 2);
    ck_time(t->cues[0].end, 2.5);
    ck_assert_str_eq(t->cues[0].text, "Hello, world next line");
    ck_time(t->cues[1].start, 3600.25);
    ck_assert_str_eq(t->cues[1].text, "late, with, commas");
    ck_assert_str_eq(t->warnings[0], "s.ass:12: bad Dialogue time '0:00:0x.00', skipped");
    cap_track_free(t);
}
END_TEST

START_TEST(ssa_marked_and_order)
{
    const char *s = "[Script Info]\n\n[Events]\n"
                    "Format: Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
                    "Dialogue: Marked=0,0:00:05.10,0:00:07.20,Default,NTP,0000,0000,0000,!Effect,ssa text\n";
    cap_track *t = parse("s.ssa", s);
    ck_assert_uint_eq(t->n, 1);
    ck_time(t->cues[0].start, 5.1);
    ck_assert_str_eq(t->cues[0].text, "ssa text");
    cap_track_free(t);
}
END_TEST

START_TEST(ass_event_from_ffmpeg)
{
    const char *ev = "0,0,Default,,0,0,0,,{\\an8}Hello,\\Nworld";
    const char *txt = cap_ass_event_text(ev);
    ck_assert_str_eq(txt, "{\\an8}Hello,\\Nworld");
    cap_track *t = cap_track_new();
    ck_assert_int_eq(cap_track_add(t, 1, 2, txt, strlen(txt), CAP_SRC_ASS, 0), QN_OK);
    ck_assert_str_eq(t->cues[0].text, "Hello, world");
    ck_assert_str_eq(cap_ass_event_text("no commas"), "no commas");
    cap_track_free(t);
}
END_TEST

/* ------------------------------------------------------------------ charsets */

START_TEST(charset_cp1252_fallback)
{
    const char s[] = "1\n00:00:01,000 --> 00:00:02,000\ncaf\xe9 \x93q\x94 \x80\n";
    cap_track *t = parse_fmt(CAP_FMT_AUTO, "w.srt", s, sizeof s - 1, NULL);
    ck_assert_str_eq(t->charset, "CP1252");
    ck_assert_str_eq(t->cues[0].text, "caf\xC3\xA9 \xE2\x80\x9Cq\xE2\x80\x9D \xE2\x82\xAC");
    cap_track_free(t);
}
END_TEST

START_TEST(charset_utf16_bom_and_bomless)
{
    const char *txt = "WEBVTT\n\n00:01.000 --> 00:02.000\nna\xC3\xAFve \xF0\x9F\x98\x80\n";
    /* Encode as UTF-16LE with BOM, and UTF-16BE without. */
    uint32_t cps[128];
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)txt; *p;) {
        if (*p < 0x80) cps[n++] = *p++;
        else if (*p < 0xE0) { cps[n++] = (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F); p += 2; }
        else { cps[n++] = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
                          (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F); p += 4; }
    }
    for (int be = 0; be < 2; be++) {
        unsigned char b[512];
        size_t m = 0;
        if (!be) b[m++] = 0xFF, b[m++] = 0xFE;
        for (size_t i = 0; i < n; i++) {
            uint32_t u[2] = {cps[i], 0};
            int k = 1;
            if (cps[i] >= 0x10000) {
                u[0] = 0xD800 + ((cps[i] - 0x10000) >> 10);
                u[1] = 0xDC00 + ((cps[i] - 0x10000) & 0x3FF);
                k = 2;
            }
            for (int j = 0; j < k; j++) {
                if (be) b[m++] = (unsigned char)(u[j] >> 8), b[m++] = (unsigned char)u[j];
                else b[m++] = (unsigned char)u[j], b[m++] = (unsigned char)(u[j] >> 8);
            }
        }
        cap_track *t = parse_fmt(CAP_FMT_AUTO, "u16.vtt", (const char *)b, m, NULL);
        ck_assert_str_eq(t->charset, be ? "UTF-16BE" : "UTF-16LE");
        ck_assert_uint_eq(t->n, 1);
        ck_assert_str_eq(t->cues[0].text, "na\xC3\xAFve \xF0\x9F\x98\x80");
        cap_track_free(t);
    }
}
END_TEST

START_TEST(charset_forced)
{
    cap_opts o = CAP_OPTS_DEFAULT;
    o.charenc = "UTF-8";
    const char s[] = "1\n00:00:01,000 --> 00:00:02,000\ncaf\xe9\n";
    cap_track *t = cap_track_new();
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(cap_parse(t, CAP_FMT_SRT, "f.srt", s, sizeof s - 1, &o, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "f.srt: not valid UTF-8 (try --sub-charenc CP1252)");
    cap_track_free(t);
    o.charenc = "ISO-8859-15"; /* via iconv: 0xA4 is the euro sign there */
    const char s2[] = "1\n00:00:01,000 --> 00:00:02,000\n5 \xa4\n";
    t = parse_fmt(CAP_FMT_SRT, "i.srt", s2, sizeof s2 - 1, &o);
    ck_assert_str_eq(t->cues[0].text, "5 \xE2\x82\xAC");
    cap_track_free(t);
    o.charenc = "NO-SUCH-CHARSET";
    t = cap_track_new();
    qn_error_clear(&e);
    ck_assert_int_eq(cap_parse(t, CAP_FMT_SRT, "i.srt", s2, sizeof s2 - 1, &o, &e), QN_EUSAGE);
    ck_assert_str_eq(e.msg, "i.srt: unknown character set 'NO-SUCH-CHARSET'");
    cap_track_free(t);
}
END_TEST

/* ------------------------------------------------------------------ cleaning */

START_TEST(clean_sound_tags_and_finish)
{
    const char *s = "1\n00:00:01,000 --> 00:00:02,000\n[Music]\n\n"
                    "2\n00:00:02,000 --> 00:00:03,000\n\xE2\x99\xAA la la [Applause] yes\n\n"
                    "3\n00:00:04,000 --> 00:00:04,000\nzero\n\n"
                    "4\n00:00:06,000 --> 00:00:05,000\ninverted\n\n"
                    "5\n00:00:09,000 --> 00:00:12,000\nclamped\n\n"
                    "6\n00:00:12,000 --> 00:00:13,000\nbeyond\n\n"
                    "7\n00:00:07,000 --> 00:00:08,000\n   \n\n";
    cap_track *t = parse("m.srt", s);
    ck_assert_uint_eq(t->n, 7);
    cap_track_finish(t, 10.0);
    ck_assert_uint_eq(t->n, 2);
    ck_assert_str_eq(t->cues[0].text, "la la yes");
    ck_assert_str_eq(t->cues[1].text, "clamped");
    ck_time(t->cues[1].end, 10.0);
    ck_assert_uint_eq(t->stats.dropped_empty, 2);
    ck_assert_uint_eq(t->stats.dropped_zero, 1);
    ck_assert_uint_eq(t->stats.dropped_inverted, 1);
    ck_assert_uint_eq(t->stats.dropped_beyond, 1);
    ck_assert_uint_eq(t->stats.clamped, 1);
    cap_track_free(t);

    cap_opts o = CAP_OPTS_DEFAULT;
    o.keep_sound_tags = 1;
    t = parse_fmt(CAP_FMT_SRT, "m.srt", s, strlen(s), &o);
    ck_assert_str_eq(t->cues[0].text, "[Music]");
    ck_assert_str_eq(t->cues[1].text, "\xE2\x99\xAA la la [Applause] yes");
    cap_track_free(t);
}
END_TEST

START_TEST(clean_text_edges)
{
    char out[128];
    const char *in = "  a <b>b</b>\t&unknown; 1 < 2 &#0; {not override} {\\pos(1,2)}c \xC2\xA0 d  ";
    size_t n = cap_clean_text(in, strlen(in), 0, out);
    ck_assert_str_eq(out, "a b &unknown; 1 < 2 \xEF\xBF\xBD {not override} c d");
    ck_assert_uint_eq(n, strlen(out));
    n = cap_clean_text("", 0, 0, out);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(finish_drops_nonfinite_before_sorting)
{
    cap_track *t = cap_track_new();
    const double st[] = {5, NAN, 1, 3, NAN, 2};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(cap_track_add(t, st[i], st[i] == st[i] ? st[i] + 1 : 9, "x", 1, CAP_SRC_PLAIN, 0), QN_OK);
    cap_track_finish(t, 0);
    ck_assert_uint_eq(t->n, 4);
    ck_assert_uint_eq(t->stats.dropped_inverted, 2);
    for (size_t i = 1; i < t->n; i++)
        ck_assert(t->cues[i].start > t->cues[i - 1].start);
    cap_track_free(t);
}
END_TEST

START_TEST(finish_sorts_stably)
{
    const char *s = "WEBVTT\n\n00:05.000 --> 00:06.000\nc\n\n00:01.000 --> 00:02.000\na\n\n"
                    "00:01.000 --> 00:03.000\nb\n";
    cap_track *t = parse("o.vtt", s);
    cap_track_finish(t, 0);
    ck_assert_uint_eq(t->n, 3);
    ck_assert_str_eq(t->cues[0].text, "a");
    ck_assert_str_eq(t->cues[1].text, "b");
    ck_assert_str_eq(t->cues[2].text, "c");
    cap_track_free(t);
}
END_TEST

/* ------------------------------------------------------------------ YouTube rolling */

/* Three spoken lines in YouTube's layout: build cue, 10 ms hold cue, next build cue. */
static const char *yt =
    "WEBVTT\nKind: captions\nLanguage: en\n\n"
    "00:00:00.160 --> 00:00:03.429 align:start position:0%\n"
    " \n"
    "Linus,<00:00:00.960><c> do</c><00:00:01.520><c> your</c>\n\n"
    "00:00:03.429 --> 00:00:03.439 align:start position:0%\n"
    "Linus, do your\n"
    " \n\n"
    "00:00:03.439 --> 00:00:06.000 align:start position:0%\n"
    "Linus, do your\n"
    "kids<00:00:04.000><c> think</c>\n\n"
    "00:00:06.000 --> 00:00:06.010 align:start position:0%\n"
    "kids think\n"
    " \n\n"
    "00:00:06.010 --> 00:00:08.000 align:start position:0%\n"
    "kids think\n"
    "kids<00:00:06.500><c> think</c>\n\n"
    "00:00:08.000 --> 00:00:08.010 align:start position:0%\n"
    "kids think\n"
    " \n";

START_TEST(youtube_spoken)
{
    /* Without dedupe: the 6 cues as in the file. */
    cap_opts o = CAP_OPTS_DEFAULT;
    o.no_dedupe = 1;
    cap_track *t = parse_fmt(CAP_FMT_AUTO, "yt.en.vtt", yt, strlen(yt), &o);
    ck_assert_uint_eq(t->n, 6);
    ck_assert(!t->rolling);
    ck_assert(cap_youtube_is_rolling(t));
    ck_assert_str_eq(t->cues[2].text, "Linus, do your kids think");
    cap_track_free(t);
    /* cap_parse merges the rolling layout itself; a later cap_youtube_dedupe is a no-op. */
    t = parse("yt.en.vtt", yt);
    ck_assert(t->rolling);
    ck_assert_uint_eq(t->stats.parsed, 6);
    ck_assert_int_eq(cap_youtube_dedupe(t, CAP_SPAN_SPOKEN), QN_OK);
    cap_track_finish(t, 0);
    /* Each line once; a line said twice ("kids think" / "kids think") stays twice. */
    ck_assert_uint_eq(t->n, 3);
    ck_assert_str_eq(t->cues[0].text, "Linus, do your");
    ck_assert_str_eq(t->cues[1].text, "kids think");
    ck_assert_str_eq(t->cues[2].text, "kids think");
    ck_assert_uint_eq(t->stats.deduped, 3);
    ck_time(t->cues[0].start, 0.160);
    ck_time(t->cues[0].end, 3.439);
    ck_time(t->cues[1].start, 3.439);
    ck_time(t->cues[1].end, 6.010);
    ck_time(t->cues[2].start, 6.010);
    ck_time(t->cues[2].end, 8.0);
    ck_assert_uint_eq(t->cues[0].n_words, 3);
    ck_time(t->cues[0].words[1].start, 0.960);
    ck_time(t->cues[0].words[2].start, 1.520);
    ck_assert_uint_eq(t->cues[1].n_words, 2);
    ck_time(t->cues[1].words[1].start, 4.0);
    for (size_t i = 1; i < t->n; i++)
        ck_assert(t->cues[i].start >= t->cues[i - 1].end);
    cap_track_free(t);
}
END_TEST

START_TEST(youtube_displayed)
{
    cap_opts o = CAP_OPTS_DEFAULT;
    o.span = CAP_SPAN_DISPLAYED;
    cap_track *t = parse_fmt(CAP_FMT_AUTO, "yt.en.vtt", yt, strlen(yt), &o);
    cap_track_finish(t, 0);
    ck_assert_uint_eq(t->n, 3);
    /* On screen from its build cue to the end of the next build cue (HowTo100M overlap). */
    ck_time(t->cues[0].start, 0.160);
    ck_time(t->cues[0].end, 6.0);
    ck_time(t->cues[1].start, 3.439);
    ck_time(t->cues[1].end, 8.0);
    ck_time(t->cues[2].start, 6.010);
    ck_time(t->cues[2].end, 8.010);
    cap_track_free(t);
}
END_TEST

/* quern-clips feeds embedded subtitle packets through cap_track_add; dedupe is explicit. */
START_TEST(youtube_added_cues)
{
    cap_track *t = cap_track_new();
    const char *c1 = " \nhow<00:00:01.500><c> to</c>", *c2 = "how to\n ",
               *c3 = "how to\nbake<00:00:03.000><c> bread</c>";
    ck_assert_int_eq(cap_track_add(t, 1.0, 2.0, c1, strlen(c1), CAP_SRC_VTT, 0), QN_OK);
    ck_assert_int_eq(cap_track_add(t, 2.0, 2.01, c2, strlen(c2), CAP_SRC_VTT, 0), QN_OK);
    ck_assert_int_eq(cap_track_add(t, 2.01, 4.0, c3, strlen(c3), CAP_SRC_VTT, 0), QN_OK);
    ck_assert_str_eq(t->cues[2].text, "how to bake bread");
    ck_assert(cap_youtube_is_rolling(t));
    ck_assert_int_eq(cap_youtube_dedupe(t, CAP_SPAN_SPOKEN), QN_OK);
    ck_assert_uint_eq(t->n, 2);
    ck_assert_str_eq(t->cues[0].text, "how to");
    ck_time(t->cues[0].end, 2.01);
    ck_assert_str_eq(t->cues[1].text, "bake bread");
    ck_time(t->cues[1].words[1].start, 3.0);
    cap_track_free(t);
}
END_TEST

/* YouTube captions converted to SRT: tags gone, repeats kept; cap_parse merges them too. */
START_TEST(youtube_converted_srt)
{
    const char *s = "1\n00:00:00,160 --> 00:00:03,429\n \nLinus, do your\n\n"
                    "2\n00:00:03,429 --> 00:00:03,439\nLinus, do your\n \n\n"
                    "3\n00:00:03,439 --> 00:00:06,000\nLinus, do your\nkids think\n\n"
                    "4\n00:00:06,000 --> 00:00:06,010\nkids think\n \n\n";
    cap_track *t = parse("yt.srt", s);
    ck_assert(t->rolling);
    cap_track_finish(t, 0);
    ck_assert_uint_eq(t->n, 2);
    ck_assert_str_eq(t->cues[0].text, "Linus, do your");
    ck_time(t->cues[0].end, 3.439);
    ck_assert_str_eq(t->cues[1].text, "kids think");
    ck_time(t->cues[1].end, 6.0);
    cap_track_free(t);
}
END_TEST

START_TEST(youtube_not_rolling_plain)
{
    const char *s = "WEBVTT\n\n00:01.000 --> 00:02.000\none\n\n00:02.000 --> 00:03.000\ntwo\n\n"
                    "00:03.000 --> 00:04.000\nthree\n";
    cap_track *t = parse("p.vtt", s);
    ck_assert(!cap_youtube_is_rolling(t));
    cap_track_free(t);
}
END_TEST

START_TEST(youtube_growing_line_without_timings)
{
    /* Some rolling styles grow a line word by word before moving it up. */
    const char *s = "WEBVTT\n\n00:01.000 --> 00:02.000\nhow to\n\n00:02.000 --> 00:03.000\nhow to bake\n\n"
                    "00:03.000 --> 00:04.000\nhow to bake\nbread today\n\n"
                    "00:04.000 --> 00:05.000\nbread today\nfirst step\n";
    cap_track *t = parse("g.vtt", s);
    ck_assert(t->rolling);
    ck_assert_uint_eq(t->n, 3);
    ck_assert_str_eq(t->cues[0].text, "how to bake");
    ck_time(t->cues[0].start, 1.0);
    ck_time(t->cues[0].end, 3.0);
    ck_assert_str_eq(t->cues[1].text, "bread today");
    ck_assert_str_eq(t->cues[2].text, "first step");
    ck_time(t->cues[2].end, 5.0);
    cap_track_free(t);
}
END_TEST

/* ------------------------------------------------------------------ words */

START_TEST(stopwords_filter)
{
    ck_assert_uint_eq(cap_stopword_count(), 370);
    ck_assert(cap_is_stopword("the", 3));
    ck_assert(cap_is_stopword("The", 3));
    ck_assert(cap_is_stopword("don't", 5));
    ck_assert(cap_is_stopword("youtube", 7));
    ck_assert(!cap_is_stopword("bread", 5));
    char out[256];
    const char *in = "So today we're gonna bake Bread, OK? It's easy: 2 cups of flour_mix";
    size_t words = 0, n = cap_filter_stopwords(in, strlen(in), out, &words);
    ck_assert_str_eq(out, "bake Bread 2 cups flour_mix");
    ck_assert_uint_eq(n, strlen(out));
    ck_assert_uint_eq(words, cap_count_words(in, strlen(in)));
    ck_assert_uint_eq(words, 13);
    cap_track *t = parse("sw.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nthe monica's art hall\n"
                                   "\n00:02.000 --> 00:03.000\nand more words\n");
    ck_assert_int_eq(t->words, -1);
    ck_assert_int_eq(cap_track_filter(t), QN_OK);
    ck_assert_str_eq(t->cues[0].filtered, "monica's art hall");
    ck_assert_int_eq(t->words, 7);
    cap_track_free(t);
}
END_TEST

START_TEST(tokens_rule)
{
    cap_token tk[8];
    const char *s = "Don't stop--it's 4:30, caf\xC3\xA9 na\xC3\xAFve \xE2\x80\x94 x_y \xF0\x9F\x98\x80ok";
    size_t n = cap_tokenize(s, strlen(s), tk, 8);
    ck_assert_uint_eq(n, 9);
    const char *want[] = {"Don't", "stop", "it's", "4", "30", "caf\xC3\xA9", "na\xC3\xAFve", "x_y"};
    for (int i = 0; i < 8; i++) {
        ck_assert_uint_eq(tk[i].len, strlen(want[i]));
        ck_assert(memcmp(s + tk[i].off, want[i], tk[i].len) == 0);
    }
    ck_assert_uint_eq(cap_count_words(s, strlen(s)), 9);
    ck_assert_uint_eq(cap_tokenize("", 0, tk, 8), 0);
}
END_TEST

/* ------------------------------------------------------------------ CSV */

START_TEST(csv_milnce)
{
    const char *s = "start,end,text\n0.41,3.91,check pic tonight pick\n"
                    "3.92,5.9,\"quoted, with \"\"comma\"\"\nand newline\"\r\n"
                    "x,1,bad row\n"
                    "6,7,last\n";
    cap_track *t = parse("v.csv", s);
    ck_assert_uint_eq(t->n, 3);
    ck_time(t->cues[0].start, 0.41);
    ck_assert_str_eq(t->cues[1].raw, "quoted, with \"comma\"\nand newline");
    ck_assert_str_eq(t->cues[1].text, "quoted, with \"comma\" and newline");
    ck_assert_str_eq(t->cues[2].text, "last");
    ck_assert_str_eq(t->warnings[0], "v.csv:5: row without numeric start,end,text skipped");
    cap_track_free(t);
    /* Found by fuzz_csv: an infinite end time made the rolling merge produce NaN starts that
     * the sort then left out of order. Non-finite times are rejected per row now. */
    t = parse("inf.csv", "start,end,text\n0.4,3.4e13901,a b\n0.4,inf,a b\n1,nan,x\n2,3,ok\n");
    ck_assert_uint_eq(t->n, 1);
    ck_assert_uint_eq(t->stats.skipped_bad, 3);
    ck_assert_str_eq(t->cues[0].text, "ok");
    cap_track_free(t);
    /* Column order from the header. */
    t = parse("w.csv", "text,end,start\nhello,2.5,1\n");
    ck_time(t->cues[0].start, 1.0);
    ck_time(t->cues[0].end, 2.5);
    cap_track_free(t);
    /* An empty file or a header alone: no cues, no warning. */
    t = parse("empty.csv", "");
    ck_assert_uint_eq(t->n, 0);
    ck_assert_uint_eq(t->n_warnings, 0);
    cap_track_free(t);
    t = parse("head.csv", "start,end,text\r\n");
    ck_assert_uint_eq(t->n, 0);
    ck_assert_uint_eq(t->n_warnings, 0);
    cap_track_free(t);
}
END_TEST

START_TEST(csv_not_captions)
{
    /* Like SubRip: a file with rows but none of them captions is not such a file. */
    cap_track *t = cap_track_new();
    qn_error e;
    qn_error_clear(&e);
    const char *s = "hello world\nnot, captions, at all\n";
    ck_assert_int_eq(cap_parse(t, CAP_FMT_CSV, "x.csv", s, strlen(s), NULL, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "x.csv: not a CSV caption file (no row with numeric start,end,text)");
    ck_assert_uint_eq(t->n, 0);
    qn_error_clear(&e);
    s = "start,end,text\nx,y,z\n";
    ck_assert_int_eq(cap_parse(t, CAP_FMT_CSV, "y.csv", s, strlen(s), NULL, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "y.csv: not a CSV caption file (no row with numeric start,end,text)");
    cap_track_free(t);
}
END_TEST

typedef struct rows {
    int n;
    char ids[4][16], c1[4][40];
    int64_t rank[4], task[4];
} rows;

static int row_cb(void *ud, const cap_meta_row *r, qn_error *err)
{
    rows *rs = ud;
    if (rs->n < 4) {
        snprintf(rs->ids[rs->n], 16, "%s", r->video_id);
        snprintf(rs->c1[rs->n], 40, "%s", r->category_1);
        rs->rank[rs->n] = r->rank;
        rs->task[rs->n] = r->task_id;
    }
    rs->n++;
    return QN_OK;
}

START_TEST(csv_howto100m_meta)
{
    const char *s = "video_id,category_1,category_2,rank,task_id\n"
                    "nVbIUDjzWY4,Cars & Other Vehicles,Motorcycles,27,52907\n"
                    ",Food,Food,1,2\n"
                    "abc,\"Food, Drink\",X,,7\n";
    rows rs = {0};
    uint64_t skipped = 0;
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(cap_meta_csv_parse("HowTo100M_v1.csv", s, strlen(s), row_cb, &rs, &skipped, &e), QN_OK);
    ck_assert_int_eq(rs.n, 2);
    ck_assert_uint_eq(skipped, 1);
    ck_assert_str_eq(rs.ids[0], "nVbIUDjzWY4");
    ck_assert_str_eq(rs.c1[0], "Cars & Other Vehicles");
    ck_assert_int_eq(rs.rank[0], 27);
    ck_assert_int_eq(rs.task[0], 52907);
    ck_assert_str_eq(rs.c1[1], "Food, Drink");
    ck_assert_int_eq(rs.rank[1], -1);
    const char *bad = "id,rank\nx,1\n";
    ck_assert_int_eq(cap_meta_csv_parse("m.csv", bad, strlen(bad), row_cb, &rs, NULL, &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "m.csv:1: header lacks video_id");
}
END_TEST

START_TEST(format_guess)
{
    ck_assert_int_eq(cap_format_guess("a.en.vtt", "", 0), CAP_FMT_VTT);
    ck_assert_int_eq(cap_format_guess("a.SRT", "", 0), CAP_FMT_SRT);
    ck_assert_int_eq(cap_format_guess("a.ssa", "", 0), CAP_FMT_ASS);
    ck_assert_int_eq(cap_format_guess(NULL, "\xEF\xBB\xBFWEBVTT\n", 9), CAP_FMT_VTT);
    ck_assert_int_eq(cap_format_guess("x", "[Script Info]\n", 14), CAP_FMT_ASS);
    ck_assert_int_eq(cap_format_guess("x", "1\n00:00:01,000 --> 00:00:02,000\n", 32), CAP_FMT_SRT);
}
END_TEST

START_TEST(track_reset_reuse)
{
    cap_track *t = cap_track_new();
    qn_error e;
    qn_error_clear(&e);
    for (int i = 0; i < 50; i++) {
        cap_track_reset(t);
        ck_assert_int_eq(cap_parse(t, CAP_FMT_VTT, "y.vtt", yt, strlen(yt), NULL, &e), QN_OK);
        ck_assert_uint_eq(t->n, 3);
        ck_assert_uint_eq(t->stats.parsed, 6);
    }
    cap_track_free(t);
    cap_track_free(NULL);
}
END_TEST

static Suite *captions_suite(void)
{
    Suite *s = suite_create("captions");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, vtt_header_blocks_ids_settings);
    tcase_add_test(tc, vtt_bad_cue_skipped_with_line);
    tcase_add_test(tc, vtt_no_blank_before_timing_and_space_line);
    tcase_add_test(tc, vtt_inline_timestamps_words);
    tcase_add_test(tc, vtt_not_webvtt_is_error);
    tcase_add_test(tc, srt_quirks);
    tcase_add_test(tc, srt_bare_cr_and_bad_cue);
    tcase_add_test(tc, srt_not_srt);
    tcase_add_test(tc, ass_dialogue);
    tcase_add_test(tc, ssa_marked_and_order);
    tcase_add_test(tc, ass_event_from_ffmpeg);
    tcase_add_test(tc, charset_cp1252_fallback);
    tcase_add_test(tc, charset_utf16_bom_and_bomless);
    tcase_add_test(tc, charset_forced);
    tcase_add_test(tc, clean_sound_tags_and_finish);
    tcase_add_test(tc, clean_text_edges);
    tcase_add_test(tc, finish_drops_nonfinite_before_sorting);
    tcase_add_test(tc, finish_sorts_stably);
    tcase_add_test(tc, youtube_spoken);
    tcase_add_test(tc, youtube_displayed);
    tcase_add_test(tc, youtube_added_cues);
    tcase_add_test(tc, youtube_converted_srt);
    tcase_add_test(tc, youtube_not_rolling_plain);
    tcase_add_test(tc, youtube_growing_line_without_timings);
    tcase_add_test(tc, stopwords_filter);
    tcase_add_test(tc, tokens_rule);
    tcase_add_test(tc, csv_milnce);
    tcase_add_test(tc, csv_not_captions);
    tcase_add_test(tc, csv_howto100m_meta);
    tcase_add_test(tc, format_guess);
    tcase_add_test(tc, track_reset_reuse);
    suite_add_tcase(s, tc);
    return s;
}

QN_CHECK_MAIN(captions_suite)
