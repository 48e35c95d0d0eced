/* cap_time.c — caption timestamps and the line reader every text parser uses. */
#include <string.h>

#include "cap_priv.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads up to 18 digits as an integer; returns the count read. */
static size_t digits(const char *s, size_t len, size_t i, uint64_t *v)
{
    size_t n = 0;
    *v = 0;
    while (i + n < len && is_digit(s[i + n])) {
        if (n < 18)
            *v = *v * 10 + (uint64_t)(s[i + n] - '0');
        n++;
    }
    return n;
}

/* "hh:mm:ss.mmm" exactly (every WebVTT timing and YouTube word stamp): no loops. */
static int fast_time(const char *s, size_t len, size_t *used, double *out)
{
    if (len < 12 || (len > 12 && is_digit(s[12])) || s[2] != ':' || s[5] != ':' || s[8] != '.')
        return -1;
    static const int dig[9] = {0, 1, 3, 4, 6, 7, 9, 10, 11};
    for (int k = 0; k < 9; k++)
        if (!is_digit(s[dig[k]]))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0'),
        sec = (s[6] - '0') * 10 + (s[7] - '0');
    int ms = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (m >= 60 || sec >= 60)
        return -1;
    *used = 12;
    *out = (double)(h * 3600 + m * 60 + sec) + (double)ms / 1000.0;
    return 0;
}

int cap_parse_time(const char *s, size_t len, int need_colon, size_t *used, double *out)
{
    if (fast_time(s, len, used, out) == 0)
        return 0;
    uint64_t f[3];
    size_t nf = 0, i = 0;
    /* Up to three colon-separated integer fields: [h:]m:s, [m:]s. */
    for (;;) {
        size_t n = digits(s, len, i, &f[nf]);
        if (n == 0 || n > 18)
            return -1;
        i += n;
        nf++;
        if (nf < 3 && i + 1 < len && s[i] == ':' && is_digit(s[i + 1])) {
            i++;
            continue;
        }
        break;
    }
    if (need_colon && nf < 2)
        return -1;
    /* A unit below a larger one must be < 60 (rejects "00:75:00"). */
    if (nf >= 2 && (f[nf - 1] >= 60 || (nf == 3 && f[1] >= 60)))
        return -1;
    double v = 0;
    for (size_t k = 0; k < nf; k++)
        v = v * 60 + (double)f[k];
    if (i + 1 < len && (s[i] == '.' || s[i] == ',') && is_digit(s[i + 1])) {
        uint64_t fr;
        size_t n = digits(s, len, i + 1, &fr);
        if (n > 9)
            return -1;
        double scale = 1;
        for (size_t k = 0; k < n; k++)
            scale *= 10;
        v += (double)fr / scale;
        i += 1 + n;
    }
    *used = i;
    *out = v;
    return 0;
}

int cap_has_arrow(const char *s, size_t len)
{
    /* memchr finds candidate dashes fast; most cue text lines have none. */
    const char *p = s, *e = s + len;
    while (e - p >= 3 && (p = memchr(p, '-', (size_t)(e - p - 2)))) {
        if (p[1] == '-' && p[2] == '>')
            return 1;
        p++;
    }
    return 0;
}

static size_t skip_blank(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

int cap_parse_timing(const char *s, size_t len, double *start, double *end)
{
    size_t i = skip_blank(s, len, 0), u;
    if (cap_parse_time(s + i, len - i, 1, &u, start))
        return -1;
    i = skip_blank(s, len, i + u);
    if (i + 3 > len || memcmp(s + i, "-->", 3) != 0)
        return -1;
    i = skip_blank(s, len, i + 3);
    if (cap_parse_time(s + i, len - i, 1, &u, end))
        return -1;
    i += u;
    /* After the end time only settings may follow, separated by blanks. */
    if (i < len && s[i] != ' ' && s[i] != '\t')
        return -1;
    return 0;
}

void cap_lines_init(cap_lines *r, const char *s, size_t len)
{
    r->s = s;
    r->len = len;
    r->pos = 0;
    r->line = 0;
}

static size_t line_end(const char *s, size_t len, size_t pos)
{
    const char *p = s + pos;
    size_t n = len - pos;
    /* memchr for '\n' is the fast path; a bare '\r' before it also ends a line. */
    const char *nl = memchr(p, '\n', n);
    size_t lim = nl ? (size_t)(nl - p) : n;
    const char *cr = memchr(p, '\r', lim);
    return pos + (cr ? (size_t)(cr - p) : lim);
}

int cap_lines_peek(const cap_lines *r, const char **a, size_t *n)
{
    if (r->pos >= r->len)
        return 0;
    size_t e = line_end(r->s, r->len, r->pos);
    *a = r->s + r->pos;
    *n = e - r->pos;
    return 1;
}

int cap_lines_next(cap_lines *r, const char **a, size_t *n)
{
    if (r->pos >= r->len)
        return 0;
    size_t e = line_end(r->s, r->len, r->pos);
    *a = r->s + r->pos;
    *n = e - r->pos;
    if (e < r->len) {
        if (r->s[e] == '\r' && e + 1 < r->len && r->s[e + 1] == '\n')
            e++;
        e++;
    }
    r->pos = e;
    r->line++;
    return 1;
}
