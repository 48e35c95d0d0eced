/* cap_vtt.c — WebVTT cue blocks into a caption track.
 *
 * Follows the WebVTT block rules where they matter for real files and forgives the rest:
 * blocks end at a truly empty line (YouTube's " " line is cue text, not a separator) or at
 * a line holding "-->" (a cue without a blank line before it); NOTE, STYLE and REGION blocks
 * are skipped wherever they appear (FFmpeg 5.1 returns nothing when STYLE comes first); a cue
 * whose timing does not parse is skipped with a warning naming its line, and parsing goes on
 * (FFmpeg stops at it and loses every later cue).
 */
#include <stdlib.h>
#include <string.h>

#include "cap_priv.h"

/* "NOTE", "STYLE", "REGION" followed by a blank, or alone on the line. */
static int is_keyword_block(const char *a, size_t n)
{
    static const char *kw[] = {"NOTE", "STYLE", "REGION"};
    for (size_t k = 0; k < 3; k++) {
        size_t l = strlen(kw[k]);
        if (n >= l && memcmp(a, kw[k], l) == 0 && (n == l || a[l] == ' ' || a[l] == '\t'))
            return 1;
    }
    return 0;
}


/* Skips the rest of a block: lines up to an empty one (or a timing line, left unread). */
static void skip_block(cap_lines *r)
{
    const char *a;
    size_t n;
    while (cap_lines_peek(r, &a, &n)) {
        if (n == 0 || cap_has_arrow(a, n))
            return;
        cap_lines_next(r, &a, &n);
    }
}

/* Reads the cue text after a timing line and adds the cue. With LF line ends the text is
 * one contiguous span of the input and is added as is; otherwise lines are joined by '\n'. */
static int read_cue(cap_track *t, cap_lines *r, cap_textbuf *b, double st, double en, uint32_t line)
{
    const char *a, *first = NULL, *last_end = NULL;
    size_t n;
    int contiguous = 1;
    b->n = 0;
    while (cap_lines_peek(r, &a, &n)) {
        if (n == 0 || cap_has_arrow(a, n))
            break;
        cap_lines_next(r, &a, &n);
        if (!first) {
            first = a;
        } else if (contiguous && (a != last_end + 1 || *last_end != '\n')) {
            /* CR or CRLF line ends: copy what was contiguous, then join line by line. */
            contiguous = 0;
            if (cap_textbuf_add(b, first, (size_t)(last_end - first)))
                return QN_ENOMEM;
        }
        last_end = a + n;
        if (!contiguous && cap_textbuf_add(b, a, n))
            return QN_ENOMEM;
    }
    if (first && contiguous)
        return cap_track_add(t, st, en, first, (size_t)(last_end - first), CAP_SRC_VTT, line);
    return cap_track_add(t, st, en, b->p ? b->p : "", b->n, CAP_SRC_VTT, line);
}

static int check_magic(const char *s, size_t len)
{
    if (len < 6 || memcmp(s, "WEBVTT", 6) != 0)
        return -1;
    return len == 6 || s[6] == ' ' || s[6] == '\t' || s[6] == '\n' || s[6] == '\r' ? 0 : -1;
}

/* The header runs to the first empty line. A timing line inside it (no blank line after the
 * header) starts the cues instead of being swallowed. */
static void skip_header(cap_lines *r)
{
    const char *a;
    size_t n;
    cap_lines_next(r, &a, &n); /* WEBVTT line */
    while (cap_lines_peek(r, &a, &n)) {
        if (n == 0 || cap_has_arrow(a, n))
            return;
        cap_lines_next(r, &a, &n);
    }
}

int cap_parse_vtt(cap_track *t, const char *name, const char *s, size_t len, qn_error *err)
{
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3, len -= 3;
    if (check_magic(s, len))
        return qn_error_set(err, QN_EINPUT, "%s:1: not a WebVTT file (no WEBVTT header)", name);
    cap_lines r;
    cap_lines_init(&r, s, len);
    skip_header(&r);
    cap_textbuf b = {0};
    int rc = QN_OK;
    const char *a;
    size_t n;
    while (rc == QN_OK && cap_lines_next(&r, &a, &n)) {
        if (n == 0)
            continue;
        uint32_t at = r.line;
        if (!cap_has_arrow(a, n)) {
            if (is_keyword_block(a, n)) {
                skip_block(&r);
                continue;
            }
            /* A cue identifier: the timing must be the next line. */
            const char *a2;
            size_t n2;
            if (!cap_lines_peek(&r, &a2, &n2) || !cap_has_arrow(a2, n2)) {
                cap_track_warn(t, "%s:%u: text outside a cue skipped", name, at);
                skip_block(&r);
                continue;
            }
            cap_lines_next(&r, &a, &n);
            at = r.line;
        }
        double st, en;
        if (cap_parse_timing(a, n, &st, &en)) {
            cap_track_warn(t, "%s:%u: bad cue timing '%.*s', cue skipped", name, at,
                           (int)(n > 60 ? 60 : n), a);
            t->stats.skipped_bad++;
            skip_block(&r);
            continue;
        }
        rc = read_cue(t, &r, &b, st, en, at);
    }
    free(b.p);
    return rc;
}
