/* via_util.c — error context, growable arrays, JSON files, names of flavours, defaults. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "via_int.h"

int via_fail(qn_error *err, int status, const via_where *w, const char *fmt, ...)
{
    char what[768], prefix[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int n = snprintf(prefix, sizeof prefix, "%s:", w && w->file ? w->file : "?");
    if (w && w->image && n >= 0 && (size_t)n < sizeof prefix)
        n += snprintf(prefix + n, sizeof prefix - (size_t)n, " image \"%s\"", w->image);
    if (w && w->region && n >= 0 && (size_t)n < sizeof prefix)
        snprintf(prefix + n, sizeof prefix - (size_t)n, " region %s", w->region);
    if (w && (w->image || w->region)) {
        size_t l = strlen(prefix);
        if (l + 1 < sizeof prefix)
            strcat(prefix, ":");
    }
    return qn_error_set(err, status, "%s %s", prefix, what);
}

int via_grow(void **p, size_t *cap, size_t n, size_t sz)
{
    if (n <= *cap)
        return QN_OK;
    size_t c = *cap ? *cap : 16;
    while (c < n) {
        if (c > SIZE_MAX / 2 / sz)
            return QN_ENOMEM;
        c *= 2;
    }
    void *q = realloc(*p, c * sz);
    if (!q)
        return QN_ENOMEM;
    *p = q;
    *cap = c;
    return QN_OK;
}

/* Reads the whole file, skips a UTF-8 byte order mark (Windows editors add one,
 * jansson refuses it) and parses it; errors name file:line:col (jansson's). */
int via_load_json(const char *path, json_t **out, qn_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) /* missing: bad input (2); not ours to read: environment (3) */
        return qn_error_errno(err, QN_EINPUT, errno, "%s", path);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = QN_OK;
    for (;;) {
        if (via_grow((void **)&buf, &cap, len + 65536, 1) != QN_OK) {
            rc = qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
            break;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                rc = qn_error_errno(err, QN_EINPUT, errno, "%s: read error", path);
            break;
        }
    }
    fclose(f);
    if (rc == QN_OK) {
        size_t skip = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        json_error_t je;
        *out = json_loadb(buf + skip, len - skip, JSON_REJECT_DUPLICATES, &je);
        if (!*out)
            rc = qn_error_set(err, QN_EINPUT, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    }
    free(buf);
    return rc;
}

void via_poly_free(via_poly *p)
{
    if (!p)
        return;
    free(p->xy);
    p->xy = NULL;
    p->n = p->cap = 0;
}

int via_poly_reserve(via_poly *p, size_t n)
{
    if (n > SIZE_MAX / 4)
        return QN_ENOMEM;
    return via_grow((void **)&p->xy, &p->cap, 2 * n, sizeof(double));
}

static const char *const format_names[] = {"auto", "via1", "via2", "via2-project", "via3"};

const char *via_format_name(int format)
{
    if (format < 0 || format > VIA_FMT_VIA3)
        return "?";
    return format_names[format];
}

int via_format_parse(const char *name)
{
    for (int i = 0; i <= VIA_FMT_VIA3; i++)
        if (strcmp(name, format_names[i]) == 0)
            return i;
    return -1;
}

void via_options_init(via_options *o)
{
    memset(o, 0, sizeof *o);
    o->format = VIA_FMT_AUTO;
    o->area = VIA_AREA_POLYGON;
    o->start_id = 1;
}

uint64_t via_stats_skipped(const via_stats *st)
{
    return st->skipped_unknown + st->skipped_missing + st->skipped_outside;
}
