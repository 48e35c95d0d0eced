/* cap_ass.c — ASS/SSA "Dialogue:" lines into a caption track.
 *
 * Only the [Events] section matters: its "Format:" line names the fields (Start, End, Text;
 * Text is always last and may contain commas), each "Dialogue:" line is one cue. Without a
 * Format line the ASS default order (Layer, Start, End, Style, Name, MarginL, MarginR,
 * MarginV, Effect, Text) is assumed. Times are h:mm:ss.cc. Override blocks {\...} and \N are
 * removed by the cleaner (CAP_SRC_ASS).
 */
#include <string.h>
#include <strings.h>

#include "cap_priv.h"

#define MAX_FIELDS 16

typedef struct fmt {
    int start, end, text, nfields;
} fmt;

static int starts(const char *a, size_t n, const char *p)
{
    size_t l = strlen(p);
    return n >= l && strncasecmp(a, p, l) == 0;
}

static size_t trim_left(const char *a, size_t n, size_t i)
{
    while (i < n && (a[i] == ' ' || a[i] == '\t'))
        i++;
    return i;
}

/* Reads "Format: Layer, Start, End, ..., Text". */
static int read_format(const char *a, size_t n, fmt *f)
{
    fmt g = {-1, -1, -1, 0};
    size_t i = trim_left(a, n, strlen("Format:"));
    while (i <= n && g.nfields < MAX_FIELDS) {
        const char *c = memchr(a + i, ',', n - i);
        size_t e = c ? (size_t)(c - a) : n, b = e;
        while (b > i && (a[b - 1] == ' ' || a[b - 1] == '\t'))
            b--;
        size_t l = b - i;
        if (l == 5 && !strncasecmp(a + i, "Start", 5))
            g.start = g.nfields;
        else if (l == 3 && !strncasecmp(a + i, "End", 3))
            g.end = g.nfields;
        else if (l == 4 && !strncasecmp(a + i, "Text", 4))
            g.text = g.nfields;
        g.nfields++;
        if (!c)
            break;
        i = trim_left(a, n, e + 1);
    }
    if (g.start < 0 || g.end < 0 || g.text != g.nfields - 1)
        return -1;
    *f = g;
    return 0;
}

static int parse_dialogue(cap_track *t, const char *name, const char *a, size_t n, uint32_t at,
                          const fmt *f)
{
    size_t i = trim_left(a, n, strlen("Dialogue:"));
    size_t fa[MAX_FIELDS], fb[MAX_FIELDS];
    int k = 0;
    /* Every field but the last ends at a comma; the text takes the rest of the line. */
    for (; k < f->nfields - 1; k++) {
        const char *c = memchr(a + i, ',', n - i);
        if (!c)
            break;
        fa[k] = i;
        fb[k] = (size_t)(c - a);
        i = (size_t)(c - a) + 1;
    }
    if (k < f->nfields - 1) {
        cap_track_warn(t, "%s:%u: Dialogue line with %d of %d fields, skipped", name, at, k + 1,
                       f->nfields);
        t->stats.skipped_bad++;
        return QN_OK;
    }
    fa[k] = i;
    fb[k] = n;
    double v[2];
    int idx[2] = {f->start, f->end};
    for (int j = 0; j < 2; j++) {
        size_t p = trim_left(a, fb[idx[j]], fa[idx[j]]), u;
        size_t e = fb[idx[j]];
        while (e > p && (a[e - 1] == ' ' || a[e - 1] == '\t'))
            e--;
        if (cap_parse_time(a + p, e - p, 1, &u, &v[j]) || u != e - p) {
            cap_track_warn(t, "%s:%u: bad Dialogue time '%.*s', skipped", name, at,
                           (int)(e - p > 40 ? 40 : e - p), a + p);
            t->stats.skipped_bad++;
            return QN_OK;
        }
    }
    return cap_track_add(t, v[0], v[1], a + fa[k], fb[k] - fa[k], CAP_SRC_ASS, at);
}

int cap_parse_ass(cap_track *t, const char *name, const char *s, size_t len, qn_error *err)
{
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3, len -= 3;
    fmt f = {1, 2, 9, 10};
    int in_events = 0, seen_section = 0, rc = QN_OK;
    cap_lines r;
    cap_lines_init(&r, s, len);
    const char *a;
    size_t n;
    while (rc == QN_OK && cap_lines_next(&r, &a, &n)) {
        size_t i = trim_left(a, n, 0);
        a += i, n -= i;
        if (n && a[0] == '[') {
            seen_section = 1;
            in_events = starts(a, n, "[Events]");
            continue;
        }
        if (!in_events)
            continue;
        if (starts(a, n, "Format:")) {
            if (read_format(a, n, &f)) {
                cap_track_warn(t, "%s:%u: unusable Format line, default field order kept", name,
                               r.line);
                f = (fmt){1, 2, 9, 10};
            }
        } else if (starts(a, n, "Dialogue:")) {
            rc = parse_dialogue(t, name, a, n, r.line, &f);
        }
    }
    if (rc == QN_OK && !seen_section)
        return qn_error_set(err, QN_EINPUT, "%s: not an ASS/SSA file (no [Script Info] or [Events])",
                            name);
    return rc;
}

const char *cap_ass_event_text(const char *ass)
{
    const char *p = ass;
    for (int k = 0; k < 8; k++) {
        const char *c = strchr(p, ',');
        if (!c)
            return ass;
        p = c + 1;
    }
    return p;
}
