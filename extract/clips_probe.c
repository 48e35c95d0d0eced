/* clips_probe.c — open a video with libavformat, read its video stream's facts and decode its
 * first frame, so a truncated or undecodable file is caught here and recorded as failed.
 *
 * FFmpeg's terse codes get their detail from the shared log capture (av_log_capture.h),
 * appended to the reason: "Invalid data found when processing input (moov atom not found)".
 */
#include "extract/clips.h"
#include "extract/av_log_capture.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>

/* Sends packets of stream si to dec until one frame comes out (flushing at the end). */
static int first_frame(AVFormatContext *fc, int si, AVCodecContext *dec)
{
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    int rc = AVERROR(ENOMEM), got = 0, read_err = 0;
    if (!pkt || !fr)
        goto end;
    while (!got) {
        rc = av_read_frame(fc, pkt);
        if (rc < 0) {
            read_err = rc;
            avcodec_send_packet(dec, NULL); /* flush: decoders with delay hold frames back */
        } else if (pkt->stream_index != si) {
            av_packet_unref(pkt);
            continue;
        } else {
            rc = avcodec_send_packet(dec, pkt);
            av_packet_unref(pkt);
            if (rc < 0 && rc != AVERROR(EAGAIN))
                goto end;
        }
        rc = avcodec_receive_frame(dec, fr);
        if (rc == 0)
            got = 1;
        else if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF)
            goto end;
        else if (read_err) {
            rc = read_err == AVERROR_EOF ? AVERROR_INVALIDDATA : read_err;
            if (!qn_avlog_has())
                qn_avlog_note("no decodable video frame");
            goto end;
        }
    }
    rc = 0;
end:
    av_frame_free(&fr);
    av_packet_free(&pkt);
    return rc;
}

static int is_text_sub(enum AVCodecID id)
{
    return id == AV_CODEC_ID_MOV_TEXT || id == AV_CODEC_ID_SUBRIP || id == AV_CODEC_ID_SRT ||
           id == AV_CODEC_ID_ASS || id == AV_CODEC_ID_SSA || id == AV_CODEC_ID_WEBVTT ||
           id == AV_CODEC_ID_TEXT;
}

int clips_probe(const char *path, clips_probe_info *pi, char *reason, size_t rsize)
{
    AVFormatContext *fc = NULL;
    AVCodecContext *dec = NULL;
    const AVCodec *codec = NULL;
    memset(pi, 0, sizeof *pi);
    qn_avlog_capture();
    qn_avlog_reset();
    int rc = avformat_open_input(&fc, path, NULL, NULL);
    if (rc < 0)
        goto fail;
    if ((rc = avformat_find_stream_info(fc, NULL)) < 0)
        goto fail;
    int si = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (si < 0) {
        rc = si;
        qn_avlog_note(si == AVERROR_DECODER_NOT_FOUND ? "no decoder for its video stream"
                                                      : "no video stream");
        goto fail;
    }
    AVStream *st = fc->streams[si];
    for (unsigned i = 0; i < fc->nb_streams; i++)
        if (fc->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_SUBTITLE &&
            is_text_sub(fc->streams[i]->codecpar->codec_id))
            pi->n_subs++;
    if (fc->duration != AV_NOPTS_VALUE && fc->duration > 0)
        pi->duration = fc->duration / (double)AV_TIME_BASE;
    else if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        pi->duration = st->duration * av_q2d(st->time_base);
    AVRational fr = av_guess_frame_rate(fc, st, NULL);
    pi->fps = fr.num > 0 && fr.den > 0 ? av_q2d(fr) : 0;
    pi->width = st->codecpar->width;
    pi->height = st->codecpar->height;
    snprintf(pi->codec, sizeof pi->codec, "%s", avcodec_get_name(st->codecpar->codec_id));
    for (unsigned i = 0; i < fc->nb_streams; i++)
        if ((int)i != si)
            fc->streams[i]->discard = AVDISCARD_ALL;
    rc = AVERROR(ENOMEM);
    if (!(dec = avcodec_alloc_context3(codec)))
        goto fail;
    if ((rc = avcodec_parameters_to_context(dec, st->codecpar)) < 0)
        goto fail;
    dec->thread_count = 1;
    if ((rc = avcodec_open2(dec, codec, NULL)) < 0)
        goto fail;
    if ((rc = first_frame(fc, si, dec)) < 0)
        goto fail;
    avcodec_free_context(&dec);
    avformat_close_input(&fc);
    return 0;
fail:
    qn_av_reason(rc, reason, rsize);
    avcodec_free_context(&dec);
    avformat_close_input(&fc);
    return rc < 0 ? rc : AVERROR_UNKNOWN;
}

/* ---- embedded subtitle streams --------------------------------------------------------- */

/* ISO 639-1 codes with their ISO 639-2 /T and /B equivalents (MP4 and Matroska tag streams
 * with 639-2, other muxers and users write 639-1). */
static const char *const iso639[][3] = {
    {"en", "eng", "eng"}, {"fr", "fra", "fre"}, {"de", "deu", "ger"}, {"es", "spa", "spa"},
    {"it", "ita", "ita"}, {"pt", "por", "por"}, {"nl", "nld", "dut"}, {"ru", "rus", "rus"},
    {"zh", "zho", "chi"}, {"ja", "jpn", "jpn"}, {"ko", "kor", "kor"}, {"ar", "ara", "ara"},
    {"hi", "hin", "hin"}, {"tr", "tur", "tur"}, {"pl", "pol", "pol"}, {"sv", "swe", "swe"},
    {"no", "nor", "nor"}, {"da", "dan", "dan"}, {"fi", "fin", "fin"}, {"el", "ell", "gre"},
    {"he", "heb", "heb"}, {"cs", "ces", "cze"}, {"hu", "hun", "hun"}, {"ro", "ron", "rum"},
    {"uk", "ukr", "ukr"}, {"vi", "vie", "vie"}, {"th", "tha", "tha"}, {"id", "ind", "ind"},
    {"ms", "msa", "may"}, {"fa", "fas", "per"}, {"bn", "ben", "ben"}, {"ta", "tam", "tam"},
    {"ur", "urd", "urd"}, {"bg", "bul", "bul"}, {"hr", "hrv", "hrv"}, {"sr", "srp", "srp"},
    {"sk", "slk", "slo"}, {"sl", "slv", "slv"}, {"ca", "cat", "cat"}, {"lt", "lit", "lit"},
    {"lv", "lav", "lav"}, {"et", "est", "est"}, {"is", "isl", "ice"}, {"cy", "cym", "wel"},
    {"sq", "sqi", "alb"}, {"mk", "mkd", "mac"}, {"hy", "hye", "arm"}, {"ka", "kat", "geo"},
    {"tl", "tgl", "tgl"}, {"sw", "swa", "swa"}, {"af", "afr", "afr"}, {"eu", "eus", "baq"},
};

/* The language part of a tag ("en-US" -> "en"), lower case, as its ISO 639-1 code when it
 * is a known ISO 639-2 one ("eng" -> "en", "fre" -> "fr"). */
static void base_lang(const char *tag, char *out, size_t size)
{
    size_t n = strcspn(tag, "-_"), k = 0;
    for (; k < n && k + 1 < size; k++)
        out[k] = (char)tolower((unsigned char)tag[k]);
    out[k] = '\0';
    if (k != 3)
        return;
    for (size_t i = 0; i < sizeof iso639 / sizeof iso639[0]; i++)
        if (!strcmp(out, iso639[i][1]) || !strcmp(out, iso639[i][2])) {
            snprintf(out, size, "%s", iso639[i][0]);
            return;
        }
}

static int lang_matches(const AVStream *st, const char *lang)
{
    const AVDictionaryEntry *e = av_dict_get(st->metadata, "language", NULL, 0);
    if (!lang || !*lang)
        return 1;
    if (!e)
        return 0;
    /* "en" matches "en", "eng", "en-US"; "eng" matches "en" and "en-US" too; a region asked
     * for ("en-US") is matched as given. */
    if (!strncasecmp(e->value, lang, strlen(lang)))
        return 1;
    if (lang[strcspn(lang, "-_")])
        return 0;
    char a[8], b[8];
    base_lang(e->value, a, sizeof a);
    base_lang(lang, b, sizeof b);
    return a[0] && !strcmp(a, b);
}

/* The stream to use: the first text subtitle stream in lang, else the first without a
 * language tag (or "und": MP4 tags every track, "und" when nobody said), else -1. */
static int pick_sub(AVFormatContext *fc, const char *lang)
{
    int untagged = -1;
    for (unsigned i = 0; i < fc->nb_streams; i++) {
        AVStream *st = fc->streams[i];
        if (st->codecpar->codec_type != AVMEDIA_TYPE_SUBTITLE || !is_text_sub(st->codecpar->codec_id))
            continue;
        if (lang_matches(st, lang))
            return (int)i;
        const AVDictionaryEntry *e = av_dict_get(st->metadata, "language", NULL, 0);
        if (untagged < 0 && (!e || !strcmp(e->value, "und") || !e->value[0]))
            untagged = (int)i;
    }
    return untagged;
}

/* FFmpeg drops a subtitle whose text is not UTF-8 ("maybe missing -sub_charenc"); the
 * decoder runs with sub_charenc_mode IGNORE instead and each text is converted here like a
 * sidecar file's: --sub-charenc, else UTF-8, else CP1252. Unconvertible text is skipped with
 * a warning. */
static void add_text(cap_track *t, const char *path, double start, double end, const char *text,
                     int ass, const char *charenc)
{
    char *u = NULL;
    size_t ulen;
    int owned = 0;
    const char *used;
    qn_error e;
    qn_error_clear(&e);
    if (cap_to_utf8(path, text, strlen(text), charenc, &u, &ulen, &owned, &used,
                    &e) != QN_OK) {
        cap_track_warn(t, "%s (embedded subtitle at %.3f s), cue skipped", e.msg, start);
        return;
    }
    /* ASS hard line breaks (\N, \n) back to real ones, so the cue's lines stay lines (the
     * YouTube rolling-caption layout is recognised line by line) */
    char *lines = ass ? malloc(ulen + 1) : NULL;
    size_t n = 0;
    if (lines) {
        for (size_t i = 0; i < ulen; i++) {
            if (u[i] == '\\' && i + 1 < ulen && (u[i + 1] == 'N' || u[i + 1] == 'n')) {
                lines[n++] = '\n';
                i++;
            } else {
                lines[n++] = u[i];
            }
        }
        lines[n] = '\0';
    }
    cap_track_add(t, start, end, lines ? lines : u, lines ? n : ulen,
                  ass ? CAP_SRC_ASS : CAP_SRC_PLAIN, 0);
    free(lines);
    if (owned)
        free(u);
}

static void add_sub(cap_track *t, const char *path, const AVSubtitle *sub, const AVPacket *pkt,
                    AVRational tb, const char *charenc)
{
    double base = sub->pts != AV_NOPTS_VALUE ? sub->pts / (double)AV_TIME_BASE
                                             : pkt->pts * av_q2d(tb);
    double start = base + sub->start_display_time / 1000.0;
    double end = base + sub->end_display_time / 1000.0;
    if (sub->end_display_time == 0 && pkt->duration > 0)
        end = pkt->pts * av_q2d(tb) + pkt->duration * av_q2d(tb);
    for (unsigned r = 0; r < sub->num_rects; r++) {
        const AVSubtitleRect *rect = sub->rects[r];
        const char *text = rect->ass ? cap_ass_event_text(rect->ass) : rect->text;
        if (text && *text)
            add_text(t, path, start, end, text, rect->ass != NULL, charenc);
    }
}

int clips_embedded(const char *path, const char *lang, const char *charenc, cap_track *t,
                   char *which, size_t wsize, char *reason, size_t rsize)
{
    AVFormatContext *fc = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = NULL;
    int found = 0;
    qn_avlog_capture();
    qn_avlog_reset();
    int rc = avformat_open_input(&fc, path, NULL, NULL);
    if (rc < 0 || (rc = avformat_find_stream_info(fc, NULL)) < 0)
        goto fail;
    int si = pick_sub(fc, lang);
    if (si < 0)
        goto done;
    AVStream *st = fc->streams[si];
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec) {
        rc = AVERROR_DECODER_NOT_FOUND;
        goto fail;
    }
    const AVDictionaryEntry *e = av_dict_get(st->metadata, "language", NULL, 0);
    snprintf(which, wsize, "embedded %s stream #%d%s%s", codec->name, si, e ? " " : "",
             e ? e->value : "");
    for (unsigned i = 0; i < fc->nb_streams; i++)
        if ((int)i != si)
            fc->streams[i]->discard = AVDISCARD_ALL;
    rc = AVERROR(ENOMEM);
    if (!(dec = avcodec_alloc_context3(codec)) || !(pkt = av_packet_alloc()))
        goto fail;
    if ((rc = avcodec_parameters_to_context(dec, st->codecpar)) < 0)
        goto fail;
    dec->pkt_timebase = st->time_base; /* so sub->pts and end times come filled */
    dec->sub_charenc_mode = FF_SUB_CHARENC_MODE_IGNORE;
    if ((rc = avcodec_open2(dec, codec, NULL)) < 0)
        goto fail;
    found = 1;
    while ((rc = av_read_frame(fc, pkt)) >= 0) {
        if (pkt->stream_index == si) {
            AVSubtitle sub;
            int got = 0;
            if (avcodec_decode_subtitle2(dec, &sub, &got, pkt) >= 0 && got) {
                add_sub(t, path, &sub, pkt, st->time_base, charenc);
                avsubtitle_free(&sub);
            }
        }
        av_packet_unref(pkt);
    }
    if (rc != AVERROR_EOF)
        goto fail;
done:
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fc);
    return found;
fail:
    qn_av_reason(rc, reason, rsize);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fc);
    return rc < 0 ? rc : AVERROR_UNKNOWN;
}
