/* cap_jsonscan.c — incremental JSON scanning for the caption.json and info.json readers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cap_jsonscan.h"
#include "cap_priv.h"

#define MAX_DEPTH 512

static int end_of(js *j)
{
    if (j->eof) {
        j->err = "more input before the end of the file";
        return JS_ERR;
    }
    return JS_MORE;
}

static int fail(js *j, const char *what)
{
    j->err = what;
    return JS_ERR;
}

int js_ws(js *j)
{
    while (j->pos < j->n) {
        char c = j->b[j->pos];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            return JS_OK;
        j->pos++;
    }
    return end_of(j);
}

int js_expect(js *j, char c, const char *what)
{
    int r = js_ws(j);
    if (r)
        return r;
    if (j->b[j->pos] != c)
        return fail(j, what);
    j->pos++;
    return JS_OK;
}

static int reserve(jbuf *b, size_t more)
{
    if (b->n + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

void jbuf_free(jbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

static int hex4(const char *s, uint32_t *v)
{
    *v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

/* Finds the closing quote; returns its index or 0 with *r set. */
static size_t closing_quote(js *j, size_t i, int *r)
{
    for (;;) {
        const char *q = memchr(j->b + i, '"', j->n - i);
        if (!q) {
            *r = end_of(j);
            return 0;
        }
        size_t k = (size_t)(q - j->b), bs = 0;
        while (k - bs > i && j->b[k - bs - 1] == '\\')
            bs++;
        if (bs % 2 == 0)
            return k;
        i = k + 1;
    }
}

/* Decodes one escape at s[i] == '\\' into o; returns bytes consumed or 0 when invalid. */
static size_t unescape(const char *s, size_t i, size_t end, char *o, size_t *ol)
{
    if (i + 1 >= end)
        return 0;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *p = memchr(from, s[i + 1], 8);
    if (p && s[i + 1]) {
        o[0] = to[p - from];
        *ol = 1;
        return 2;
    }
    uint32_t cp, lo;
    if (s[i + 1] != 'u' || i + 6 > end || hex4(s + i + 2, &cp))
        return 0;
    size_t used = 6;
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 12 <= end && s[i + 6] == '\\' && s[i + 7] == 'u' &&
        !hex4(s + i + 8, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        used = 12;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        cp = 0xFFFD;
    *ol = cap_utf8_encode(cp, o);
    return used;
}

int js_string(js *j, jbuf *out, size_t *off, size_t *len)
{
    int r = JS_OK;
    size_t a = j->pos + 1, e = closing_quote(j, a, &r);
    if (!e)
        return r;
    if (!out) {
        j->pos = e + 1;
        return JS_OK;
    }
    if (reserve(out, e - a + 1))
        return fail(j, "out of memory");
    char *o = out->p + out->n;
    size_t n = 0, i = a;
    while (i < e) {
        const char *bs = memchr(j->b + i, '\\', e - i);
        size_t stop = bs ? (size_t)(bs - j->b) : e;
        memcpy(o + n, j->b + i, stop - i);
        n += stop - i;
        i = stop;
        if (i < e) {
            size_t ol, u = unescape(j->b, i, e, o + n, &ol);
            if (!u) {
                j->pos = i;
                return fail(j, "a valid string escape");
            }
            n += ol;
            i += u;
        }
    }
    o[n] = 0;
    *off = out->n;
    *len = n;
    out->n += n + 1;
    j->pos = e + 1;
    return JS_OK;
}

static int is_num_char(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Exact fast path: up to 15 significant digits and a small decimal exponent are computed
 * with one correctly rounded division (or multiplication); the rest goes to strtod. */
static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int fast_number(const char *s, size_t n, double *v)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && s[i] == '-')
        neg = 1, i++;
    if (i >= n || s[i] < '0' || s[i] > '9' || (s[i] == '0' && i + 1 < n && s[i + 1] >= '0' &&
                                               s[i + 1] <= '9'))
        return -1;
    uint64_t m = 0;
    int nd = 0, frac = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        m = m * 10 + (uint64_t)(s[i++] - '0'), nd++;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || s[i] < '0' || s[i] > '9')
            return -1;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            m = m * 10 + (uint64_t)(s[i++] - '0'), nd++, frac++;
    }
    if (i != n || nd > 15)
        return -2; /* exponent or long: strtod */
    double d = (double)m;
    d = frac ? d / p10[frac] : d;
    *v = neg ? -d : d;
    return 0;
}

int js_number(js *j, double *v)
{
    size_t a = j->pos, i = a;
    while (i < j->n && is_num_char(j->b[i]))
        i++;
    if (i == j->n && !j->eof)
        return JS_MORE;
    size_t n = i - a;
    if (n == 0) {
        static const struct { const char *w; double v; } lit[] = {
            {"NaN", NAN}, {"Infinity", INFINITY}, {"-Infinity", -INFINITY}};
        for (size_t k = 0; k < 3; k++) {
            size_t l = strlen(lit[k].w);
            if (j->n - a < l && !j->eof && memcmp(j->b + a, lit[k].w, j->n - a) == 0)
                return JS_MORE;
            if (j->n - a >= l && memcmp(j->b + a, lit[k].w, l) == 0) {
                *v = lit[k].v;
                j->pos = a + l;
                return JS_OK;
            }
        }
        return fail(j, "a number");
    }
    if (n == 1 && j->b[a] == '-' && !j->eof && j->n - a < 9 &&
        memcmp(j->b + a, "-Infinity", j->n - a) == 0)
        return JS_MORE;
    if (n == 1 && j->b[a] == '-' && j->n - a >= 9 && memcmp(j->b + a, "-Infinity", 9) == 0) {
        *v = -INFINITY;
        j->pos = a + 9;
        return JS_OK;
    }
    int r = fast_number(j->b + a, n, v);
    if (r == -1)
        return fail(j, "a number");
    if (r == -2) {
        char tmp[64];
        if (n >= sizeof tmp)
            return fail(j, "a number (too long)");
        memcpy(tmp, j->b + a, n);
        tmp[n] = 0;
        char *e;
        *v = strtod(tmp, &e);
        if (e != tmp + n)
            return fail(j, "a number");
    }
    j->pos = i;
    return JS_OK;
}

static int skip_literal(js *j)
{
    static const char *lit[] = {"true", "false", "null"};
    for (size_t k = 0; k < 3; k++) {
        size_t l = strlen(lit[k]), have = j->n - j->pos;
        if (have < l && !j->eof && memcmp(j->b + j->pos, lit[k], have) == 0)
            return JS_MORE;
        if (have >= l && memcmp(j->b + j->pos, lit[k], l) == 0) {
            j->pos += l;
            return JS_OK;
        }
    }
    double v;
    return js_number(j, &v);
}

int js_skip(js *j)
{
    char stack[MAX_DEPTH];
    int depth = 0, r;
    /* expect_value: a value must come next (after '[', ':', ','). */
    for (;;) {
        if ((r = js_ws(j)))
            return r;
        char c = j->b[j->pos];
        if (c == '{' || c == '[') {
            if (depth == MAX_DEPTH)
                return fail(j, "less nesting");
            stack[depth++] = c == '{' ? '}' : ']';
            j->pos++;
            if ((r = js_ws(j)))
                return r;
            if (j->b[j->pos] == stack[depth - 1]) {
                j->pos++;
                depth--;
            } else if (c == '{') {
                if (j->b[j->pos] != '"')
                    return fail(j, "a key string");
                if ((r = js_string(j, NULL, NULL, NULL)) || (r = js_expect(j, ':', "':'")))
                    return r;
                continue;
            } else {
                continue;
            }
        } else if (c == '"') {
            if ((r = js_string(j, NULL, NULL, NULL)))
                return r;
        } else if ((r = skip_literal(j))) {
            return r;
        }
        /* A value ended: close containers or move to the next element. */
        for (;;) {
            if (depth == 0)
                return JS_OK;
            if ((r = js_ws(j)))
                return r;
            char d = j->b[j->pos];
            if (d == stack[depth - 1]) {
                j->pos++;
                depth--;
                continue;
            }
            if (d != ',')
                return fail(j, "',' or a closing bracket");
            j->pos++;
            if (stack[depth - 1] == '}') {
                if ((r = js_ws(j)))
                    return r;
                if (j->b[j->pos] != '"')
                    return fail(j, "a key string");
                if ((r = js_string(j, NULL, NULL, NULL)) || (r = js_expect(j, ':', "':'")))
                    return r;
            }
            break;
        }
    }
}
