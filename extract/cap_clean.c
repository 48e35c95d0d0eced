/* cap_clean.c — caption text cleaning: markup out, entities decoded, whitespace collapsed.
 *
 * One pass over the raw cue, writing at most as many bytes as it reads (every construct
 * removed or decoded is at least as long as what replaces it), so callers size the output
 * as len + 1. Inline WebVTT timestamps are recorded as marks for word timings.
 */
#include <string.h>

#include "cap_priv.h"

#define SOUND_TAG_MAX 64 /* "[Music]", "[ __ ]", "[instrumental music]": short bracketed tags */
#define TAG_MAX 256

typedef struct outbuf {
    char *o;
    size_t n;
    int space; /* a space is pending: emitted before the next visible byte */
} outbuf;

static void put(outbuf *w, const char *s, size_t n)
{
    if (w->space && w->n)
        w->o[w->n++] = ' ';
    w->space = 0;
    memcpy(w->o + w->n, s, n);
    w->n += n;
}

/* `<...>`: returns the tag's length (incl. both brackets) or 0 when this '<' is text. */
static size_t tag_len(const char *s, size_t len, size_t i)
{
    if (i + 1 >= len)
        return 0;
    char c = s[i + 1];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '/' || c == '!';
    if (!ok)
        return 0;
    size_t lim = len - i < TAG_MAX ? len - i : TAG_MAX;
    /* One pass: the tag ends at '>'; a '<' or line break first means this '<' was text. */
    for (size_t k = 2; k < lim; k++) {
        char d = s[i + k];
        if (d == '>')
            return k + 1;
        if (d == '<' || d == '\n')
            return 0;
    }
    return 0;
}

/* `{\...}` override block (ASS, and SRT's {\an8}); 0 when not one. */
static size_t override_len(const char *s, size_t len, size_t i)
{
    if (i + 1 >= len || s[i + 1] != '\\')
        return 0;
    const char *e = memchr(s + i, '}', len - i < TAG_MAX ? len - i : TAG_MAX);
    return e ? (size_t)(e - (s + i)) + 1 : 0;
}

/* `[Music]`-style tag; 0 when not one. */
static size_t sound_len(const char *s, size_t len, size_t i)
{
    for (size_t k = i + 1; k < len && k - i < SOUND_TAG_MAX; k++) {
        if (s[k] == ']')
            return k - i + 1;
        if (s[k] == '[' || s[k] == '\n')
            return 0;
    }
    return 0;
}

static const struct {
    const char *name;
    const char *text;
} named[] = {
    {"amp;", "&"}, {"lt;", "<"}, {"gt;", ">"}, {"quot;", "\""}, {"apos;", "'"},
    {"nbsp;", " "}, {"lrm;", ""}, {"rlm;", ""},
};

/* Decodes an entity at s[i] == '&' into buf; returns its length or 0 when not one. */
static size_t entity(const char *s, size_t len, size_t i, char *buf, size_t *blen)
{
    size_t rest = len - i - 1;
    const char *p = s + i + 1;
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
        size_t nl = strlen(named[k].name);
        if (rest >= nl && memcmp(p, named[k].name, nl) == 0) {
            *blen = strlen(named[k].text);
            memcpy(buf, named[k].text, *blen);
            return nl + 1;
        }
    }
    if (rest < 3 || p[0] != '#')
        return 0;
    int hex = p[1] == 'x' || p[1] == 'X';
    size_t k = hex ? 2 : 1;
    uint32_t cp = 0;
    size_t nd = 0;
    for (; k < rest && nd < 8; k++, nd++) {
        char c = p[k];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : !hex                 ? -1
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            break;
        cp = cp * (hex ? 16 : 10) + (uint32_t)d;
    }
    if (nd == 0 || k >= rest || p[k] != ';')
        return 0;
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp == 0xA0 || cp < 0x20 || cp == 0x7F)
        cp = ' ';
    *blen = cap_utf8_encode(cp, buf);
    return k + 2;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

size_t cap_clean_marks(const char *raw, size_t len, unsigned flags, char *o, cap_mark *marks,
                       size_t max_marks, size_t *n_marks)
{
    outbuf w = {o, 0, 0};
    size_t nm = 0;
    const int ass = flags & CAP_CLEAN_ASS, sound = !(flags & CAP_CLEAN_KEEP_SOUND);
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)raw[i];
        size_t k;
        if (c >= 0x80) {
            /* U+00A0 no-break space counts as whitespace; ♪ ♫ are sound marks. */
            if (c == 0xC2 && i + 1 < len && (unsigned char)raw[i + 1] == 0xA0) {
                w.space = 1;
                i += 2;
                continue;
            }
            if (sound && c == 0xE2 && i + 2 < len && (unsigned char)raw[i + 1] == 0x99 &&
                ((unsigned char)raw[i + 2] == 0xAA || (unsigned char)raw[i + 2] == 0xAB)) {
                w.space = 1;
                i += 3;
                continue;
            }
            put(&w, raw + i, 1);
            i++;
        } else if (is_space(c)) {
            w.space = 1;
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            i++; /* control bytes (NUL included) never reach clean text */
        } else if (c == '<' && (k = tag_len(raw, len, i))) {
            double t;
            size_t u;
            if (raw[i + 1] >= '0' && raw[i + 1] <= '9' &&
                cap_parse_time(raw + i + 1, k - 2, 1, &u, &t) == 0 && u == k - 2) {
                if (nm < max_marks)
                    marks[nm] = (cap_mark){(uint32_t)w.n, t};
                nm++;
            }
            i += k;
        } else if (c == '{' && (k = override_len(raw, len, i))) {
            i += k;
        } else if (c == '&' && i + 1 < len) {
            char buf[8];
            size_t bl = 0;
            if ((k = entity(raw, len, i, buf, &bl))) {
                if (bl == 1 && buf[0] == ' ')
                    w.space = 1;
                else if (bl)
                    put(&w, buf, bl);
                i += k;
            } else {
                put(&w, raw + i, 1);
                i++;
            }
        } else if (ass && c == '\\' && i + 1 < len &&
                   (raw[i + 1] == 'N' || raw[i + 1] == 'n' || raw[i + 1] == 'h')) {
            w.space = 1;
            i += 2;
        } else if (sound && c == '[' && (k = sound_len(raw, len, i))) {
            w.space = 1;
            i += k;
        } else {
            /* Plain ASCII run: copy it in one go up to the next byte needing a decision. */
            size_t j = i + 1;
            while (j < len) {
                unsigned char d = (unsigned char)raw[j];
                if (d < 0x21 || d >= 0x7F || d == '<' || d == '&' || d == '{' || d == '[' ||
                    d == '\\')
                    break;
                j++;
            }
            put(&w, raw + i, j - i);
            i = j;
        }
    }
    o[w.n] = 0;
    if (n_marks)
        *n_marks = nm;
    return w.n;
}

size_t cap_clean_text(const char *raw, size_t len, unsigned flags, char *out)
{
    return cap_clean_marks(raw, len, flags, out, NULL, 0, NULL);
}
