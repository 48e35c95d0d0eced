/* cap_charset.c — caption text to UTF-8: BOMs, UTF-16, CP1252 fallback, iconv for the rest.
 *
 * Auto mode follows what players do: a BOM decides; else bytes that are valid UTF-8 are
 * UTF-8; else the file is taken as Windows-1252 (the common case for old .srt files).
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cap_priv.h"

/* Windows-1252 0x80..0x9F; 0 marks bytes the code page leaves undefined. */
static const uint16_t cp1252_hi[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

size_t cap_utf8_encode(uint32_t cp, char *o)
{
    unsigned char *u = (unsigned char *)o;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    u[0] = (unsigned char)(0xF0 | (cp >> 18));
    u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t cap_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (len < n) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (s[k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = v;
    return n;
}

int cap_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        /* ASCII fast path, 8 bytes at a time. */
        while (i + 8 <= len) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            if (v & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = cap_utf8_decode(s + i, len - i, &cp);
        if (cp == 0xFFFD && n == 1)
            return 0;
        i += n;
    }
    return 1;
}

static int from_cp1252(const unsigned char *s, size_t len, int latin1, char **out, size_t *olen)
{
    char *o = malloc(len * 3 + 1);
    if (!o)
        return QN_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint32_t cp = s[i];
        if (!latin1 && cp >= 0x80 && cp < 0xA0)
            cp = cp1252_hi[cp - 0x80] ? cp1252_hi[cp - 0x80] : 0xFFFD;
        n += cap_utf8_encode(cp, o + n);
    }
    o[n] = 0;
    *out = o;
    *olen = n;
    return QN_OK;
}

/* UTF-16 to UTF-8; unpaired surrogates become U+FFFD. */
static int from_utf16(const unsigned char *s, size_t len, int be, char **out, size_t *olen)
{
    char *o = malloc(len / 2 * 3 + 4);
    if (!o)
        return QN_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        uint32_t u = be ? (uint32_t)(s[i] << 8 | s[i + 1]) : (uint32_t)(s[i + 1] << 8 | s[i]);
        if (u >= 0xD800 && u <= 0xDBFF && i + 3 < len) {
            uint32_t l = be ? (uint32_t)(s[i + 2] << 8 | s[i + 3])
                            : (uint32_t)(s[i + 3] << 8 | s[i + 2]);
            if (l >= 0xDC00 && l <= 0xDFFF) {
                u = 0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00);
                i += 2;
            }
        }
        if (u >= 0xD800 && u <= 0xDFFF)
            u = 0xFFFD;
        n += cap_utf8_encode(u, o + n);
    }
    o[n] = 0;
    *out = o;
    *olen = n;
    return QN_OK;
}

static int via_iconv(const char *name, const char *cs, const char *buf, size_t len, char **out,
                     size_t *olen, qn_error *err)
{
    iconv_t cd = iconv_open("UTF-8", cs);
    if (cd == (iconv_t)-1)
        return qn_error_set(err, QN_EUSAGE, "%s: unknown character set '%s'", name, cs);
    size_t cap = len * 4 + 16;
    char *o = malloc(cap);
    if (!o) {
        iconv_close(cd);
        return QN_ENOMEM;
    }
    char *in = (char *)buf, *op = o;
    size_t inl = len, ol = cap - 1;
    size_t r = iconv(cd, &in, &inl, &op, &ol);
    int e = errno;
    iconv_close(cd);
    if (r == (size_t)-1) {
        free(o);
        if (e == E2BIG)
            return qn_error_set(err, QN_EINPUT, "%s: text too large to convert from %s", name, cs);
        return qn_error_set(err, QN_EINPUT, "%s: not valid %s at byte %zu", name, cs,
                            (size_t)(in - buf));
    }
    *op = 0;
    *out = o;
    *olen = (size_t)(op - o);
    return QN_OK;
}

static int bom_or_guess(const unsigned char *u, size_t len)
{
    if (len >= 2 && u[0] == 0xFF && u[1] == 0xFE)
        return 1; /* UTF-16LE */
    if (len >= 2 && u[0] == 0xFE && u[1] == 0xFF)
        return 2; /* UTF-16BE */
    /* No BOM, but ASCII text in UTF-16 has every other byte zero. */
    if (len >= 4 && u[0] && !u[1] && u[2] && !u[3])
        return 1;
    if (len >= 4 && !u[0] && u[1] && !u[2] && u[3])
        return 2;
    return 0;
}

int cap_to_utf8(const char *name, const void *buf, size_t len, const char *charenc, char **out,
                size_t *out_len, int *owned, const char **used, qn_error *err)
{
    const unsigned char *u = buf;
    const char *s = buf;
    *owned = 0;
    *out = (char *)s;
    *out_len = len;
    int rc = QN_OK;
    if (!charenc || !*charenc) {
        int w = bom_or_guess(u, len);
        if (w) {
            size_t skip = (len >= 2 && (u[0] == 0xFF || u[0] == 0xFE)) ? 2 : 0;
            rc = from_utf16(u + skip, len - skip, w == 2, out, out_len);
            *used = w == 2 ? "UTF-16BE" : "UTF-16LE";
        } else if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF &&
                   cap_utf8_valid(s + 3, len - 3)) {
            *out = (char *)s + 3;
            *out_len = len - 3;
            *used = "UTF-8";
        } else if (cap_utf8_valid(s, len)) {
            *used = "UTF-8";
            return QN_OK;
        } else {
            rc = from_cp1252(u, len, 0, out, out_len);
            *used = "CP1252";
        }
        if (rc == QN_OK && *out != s && *out != s + 3)
            *owned = 1;
        return rc;
    }
    if (!strcasecmp(charenc, "UTF-8") || !strcasecmp(charenc, "UTF8")) {
        size_t skip = (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) ? 3 : 0;
        if (!cap_utf8_valid(s + skip, len - skip))
            return qn_error_set(err, QN_EINPUT, "%s: not valid UTF-8 (try --sub-charenc CP1252)",
                                name);
        *out = (char *)s + skip;
        *out_len = len - skip;
        *used = "UTF-8";
        return QN_OK;
    }
    if (!strcasecmp(charenc, "UTF-16LE") || !strcasecmp(charenc, "UTF-16BE") ||
        !strcasecmp(charenc, "UTF-16")) {
        int be = !strcasecmp(charenc, "UTF-16BE") || (len >= 2 && u[0] == 0xFE && u[1] == 0xFF);
        size_t skip = (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF)))
                          ? 2 : 0;
        rc = from_utf16(u + skip, len - skip, be, out, out_len);
        *used = be ? "UTF-16BE" : "UTF-16LE";
    } else if (!strcasecmp(charenc, "CP1252") || !strcasecmp(charenc, "WINDOWS-1252")) {
        rc = from_cp1252(u, len, 0, out, out_len);
        *used = "CP1252";
    } else if (!strcasecmp(charenc, "ISO-8859-1") || !strcasecmp(charenc, "LATIN1")) {
        rc = from_cp1252(u, len, 1, out, out_len);
        *used = "ISO-8859-1";
    } else {
        rc = via_iconv(name, charenc, s, len, out, out_len, err);
        *used = charenc;
    }
    if (rc == QN_OK)
        *owned = 1;
    return rc;
}
