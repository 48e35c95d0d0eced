/* cap_srt.c — SubRip (.srt) cues into a caption track.
 *
 * Real SRT files break the format in every way: CRLF or bare CR, missing or zero-based
 * indexes, dots for commas, missing milliseconds, no blank line between cues, HTML-ish tags
 * and {\an8} overrides. A cue is an optional all-digit index line, a "START --> END" line
 * (anything after the end time, like X1:... coordinates, ignored) and text lines up to a
 * blank line or the next cue's start. A cue whose timing does not parse is skipped with a
 * warning naming its line.
 */
#include <stdlib.h>
#include <string.h>

#include "cap_priv.h"

static int is_blank(const char *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != ' ' && a[i] != '\t')
            return 0;
    return 1;
}

static int is_index(const char *a, size_t n)
{
    size_t i = 0, d = 0;
    while (i < n && (a[i] == ' ' || a[i] == '\t'))
        i++;
    while (i < n && a[i] >= '0' && a[i] <= '9')
        i++, d++;
    while (i < n && (a[i] == ' ' || a[i] == '\t'))
        i++;
    return d > 0 && i == n;
}

/* 1 when the next line starts a new cue: a timing line, or an index with a timing after it. */
static int next_is_cue(const cap_lines *r)
{
    const char *a;
    size_t n;
    if (!cap_lines_peek(r, &a, &n))
        return 0;
    if (cap_has_arrow(a, n))
        return 1;
    if (!is_index(a, n))
        return 0;
    cap_lines look = *r;
    cap_lines_next(&look, &a, &n);
    return cap_lines_peek(&look, &a, &n) && cap_has_arrow(a, n);
}

static void skip_text(cap_lines *r)
{
    const char *a;
    size_t n;
    while (cap_lines_peek(r, &a, &n) && !is_blank(a, n) && !next_is_cue(r))
        cap_lines_next(r, &a, &n);
}


int cap_parse_srt(cap_track *t, const char *name, const char *s, size_t len, qn_error *err)
{
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3, len -= 3;
    cap_lines r;
    cap_lines_init(&r, s, len);
    cap_textbuf b = {0};
    int rc = QN_OK;
    size_t before = t->n, bad = 0;
    const char *a;
    size_t n;
    while (rc == QN_OK && cap_lines_next(&r, &a, &n)) {
        if (is_blank(a, n))
            continue;
        if (!cap_has_arrow(a, n)) {
            const char *a2;
            size_t n2;
            if (!is_index(a, n) || !cap_lines_peek(&r, &a2, &n2) || !cap_has_arrow(a2, n2)) {
                cap_track_warn(t, "%s:%u: text outside a cue skipped", name, r.line);
                skip_text(&r);
                continue;
            }
            cap_lines_next(&r, &a, &n);
        }
        uint32_t at = r.line;
        double st, en;
        if (cap_parse_timing(a, n, &st, &en)) {
            cap_track_warn(t, "%s:%u: bad cue timing '%.*s', cue skipped", name, at,
                           (int)(n > 60 ? 60 : n), a);
            t->stats.skipped_bad++;
            bad++;
            skip_text(&r);
            continue;
        }
        b.n = 0;
        while (cap_lines_peek(&r, &a, &n) && !is_blank(a, n) && !next_is_cue(&r)) {
            cap_lines_next(&r, &a, &n);
            if ((rc = cap_textbuf_add(&b, a, n)))
                break;
        }
        if (rc == QN_OK)
            rc = cap_track_add(t, st, en, b.p ? b.p : "", b.n, CAP_SRC_SRT, at);
    }
    free(b.p);
    if (rc == QN_OK && t->n == before && bad == 0 && len > 0 && !is_blank(s, len))
        return qn_error_set(err, QN_EINPUT, "%s: not a SubRip file (no cue timing found)", name);
    return rc;
}
