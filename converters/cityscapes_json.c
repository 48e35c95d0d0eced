/* cityscapes_json.c — see cityscapes_json.h. */
#include "cityscapes_json.h"

#include <string.h>

#include "cityscapes_labels.h"

/* Decodes one UTF-8 sequence at s (strict: no overlongs, no surrogates, <= U+10FFFF).
 * Returns its length and sets *cp, or 0 if the byte at s does not start a valid one. */
static int utf8_decode(const unsigned char *s, uint32_t *cp)
{
    unsigned c = s[0];
    int n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

void cs_json_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    putc('"', f);
    while (*s) {
        uint32_t cp;
        int n = utf8_decode(s, &cp);
        if (n == 0) { /* surrogateescape: the byte becomes U+DC80+byte */
            fprintf(f, "\\u%04x", 0xdc00u + *s);
            s++;
            continue;
        }
        s += n;
        switch (cp) {
        case '"': fputs("\\\"", f); continue;
        case '\\': fputs("\\\\", f); continue;
        case '\n': fputs("\\n", f); continue;
        case '\r': fputs("\\r", f); continue;
        case '\t': fputs("\\t", f); continue;
        case '\b': fputs("\\b", f); continue;
        case '\f': fputs("\\f", f); continue;
        }
        if (cp >= 0x20 && cp < 0x7f) {
            putc((int)cp, f);
        } else if (cp < 0x10000) {
            fprintf(f, "\\u%04x", cp);
        } else {
            cp -= 0x10000;
            fprintf(f, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
        }
    }
    putc('"', f);
}

void cs_json_image(FILE *f, const char *file_name, const char *segm_file, uint32_t h,
                   uint32_t w, size_t id)
{
    fputs("{\"file_name\": ", f);
    cs_json_string(f, file_name);
    fprintf(f, ", \"height\": %u, \"width\": %u, \"segm_file\": ", h, w);
    cs_json_string(f, segm_file);
    fprintf(f, ", \"id\": %zu}", id);
}

void cs_json_ann(FILE *f, const cs_ann *a, uint32_t h, uint32_t w, size_t image_id, size_t id)
{
    /* bbox values are whole numbers: Python's repr of such a float is "N.0" */
    fprintf(f, "{\"iscrowd\": %d, \"category_id\": %d, \"bbox\": [%.1f, %.1f, %.1f, %.1f], "
               "\"area\": %llu, \"segmentation\": {\"size\": [%u, %u], \"counts\": \"",
            a->iscrowd, a->category_id, a->bbox[0], a->bbox[1], a->bbox[2], a->bbox[3],
            (unsigned long long)a->area, h, w);
    /* RLE characters are '0'..'o'; of those only the backslash needs escaping */
    for (const char *c = a->counts; *c; c++) {
        const char *bs = strchr(c, '\\');
        size_t n = bs ? (size_t)(bs - c) : strlen(c);
        fwrite(c, 1, n, f);
        if (!bs)
            break;
        fputs("\\\\", f);
        c = bs;
    }
    fprintf(f, "\"}, \"image_id\": %zu, \"id\": %zu}", image_id, id);
}

void cs_json_categories(FILE *f, int contiguous_ids)
{
    putc('[', f);
    for (int i = 0; i < CS_NUM_EVAL; i++)
        fprintf(f, "%s{\"id\": %d, \"name\": \"%s\"}", i ? ", " : "",
                contiguous_ids ? i + 1 : cs_eval_labels[i]->id, cs_eval_labels[i]->name);
    putc(']', f);
}
