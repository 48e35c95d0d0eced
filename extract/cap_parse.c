/* cap_parse.c — one entry point for sidecar caption files: charset, format, parser. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cap_priv.h"

static int ext_is(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return n > e && strcasecmp(name + n - e, ext) == 0;
}

/* Skips a UTF-8 BOM, UTF-16 zero bytes and blank lines for content sniffing. */
static int content_starts(const char *s, size_t len, const char *p)
{
    size_t pl = strlen(p), i = 0, k = 0;
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && (s[i] == '\n' || s[i] == '\r' || s[i] == ' ' || s[i] == 0 ||
                       (unsigned char)s[i] >= 0xFE))
        i++;
    for (; i < len && k < pl; i++) {
        if (s[i] == 0)
            continue;
        if (s[i] != p[k++])
            return 0;
    }
    return k == pl;
}

enum cap_format cap_format_guess(const char *name, const void *buf, size_t len)
{
    if (name) {
        if (ext_is(name, ".vtt") || ext_is(name, ".webvtt"))
            return CAP_FMT_VTT;
        if (ext_is(name, ".srt"))
            return CAP_FMT_SRT;
        if (ext_is(name, ".ass") || ext_is(name, ".ssa"))
            return CAP_FMT_ASS;
        if (ext_is(name, ".csv"))
            return CAP_FMT_CSV;
    }
    const char *s = buf;
    if (content_starts(s, len, "WEBVTT"))
        return CAP_FMT_VTT;
    if (content_starts(s, len, "[Script Info]") || content_starts(s, len, "[Events]"))
        return CAP_FMT_ASS;
    if (content_starts(s, len, "start,end,text") || content_starts(s, len, "\"start\""))
        return CAP_FMT_CSV;
    return CAP_FMT_SRT;
}

int cap_parse(cap_track *t, enum cap_format fmt, const char *name, const void *buf, size_t len,
              const cap_opts *o, qn_error *err)
{
    if (o)
        cap_track_set_opts(t, o);
    if (fmt == CAP_FMT_AUTO)
        fmt = cap_format_guess(name, buf, len);
    char *s;
    size_t n;
    int owned;
    const char *used = "UTF-8";
    int rc = cap_to_utf8(name, buf, len, t->priv->opts.charenc, &s, &n, &owned, &used, err);
    if (rc)
        return rc;
    const char *cs = cap_arena_strndup(t, used, strlen(used));
    t->charset = cs ? cs : "UTF-8";
    /* The parsers store cues raw: YouTube's rolling layout (WebVTT, or SubRip converted by
     * yt-dlp --convert-subs srt) is merged first, then what survives is cleaned, once. */
    size_t from = t->n;
    enum cap_src src = fmt == CAP_FMT_VTT ? CAP_SRC_VTT : fmt == CAP_FMT_ASS ? CAP_SRC_ASS
                       : fmt == CAP_FMT_CSV ? CAP_SRC_PLAIN : CAP_SRC_SRT;
    t->priv->defer = 1;
    switch (fmt) {
    case CAP_FMT_VTT: rc = cap_parse_vtt(t, name, s, n, err); break;
    case CAP_FMT_ASS: rc = cap_parse_ass(t, name, s, n, err); break;
    case CAP_FMT_CSV: rc = cap_parse_csv(t, name, s, n, err); break;
    default: rc = cap_parse_srt(t, name, s, n, err); break;
    }
    t->priv->defer = 0;
    if (owned)
        free(s);
    if (rc == QN_OK && (src == CAP_SRC_VTT || src == CAP_SRC_SRT) && !t->priv->opts.no_dedupe &&
        cap_youtube_is_rolling(t))
        rc = cap_youtube_dedupe(t, t->priv->opts.span);
    int rc2 = cap_track_clean_pending(t, from, src);
    return rc ? rc : rc2;
}
