/* via_write.c — the COCO instances JSON writer.
 *
 * Written by hand rather than through jansson's dump so that numbers come out
 * in their shortest exact form (as Python's json writes floats) and the whole
 * file is one pass over the document: one record per line, keys in a fixed
 * order, nothing that depends on time or the machine.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qn_version.h"
#include "via_int.h"

int via_fmt_double(char *buf, double v)
{
    if (!isfinite(v))
        return snprintf(buf, 32, "0.0"); /* never reached: geometry rejects these */
    if (v == floor(v) && fabs(v) < 1e15) { /* the common case, without printf */
        char tmp[24];
        int n = 0, len = 0;
        unsigned long long u = (unsigned long long)fabs(v);
        do
            tmp[n++] = (char)('0' + u % 10);
        while ((u /= 10) > 0);
        if (v < 0)
            buf[len++] = '-';
        while (n > 0)
            buf[len++] = tmp[--n];
        memcpy(buf + len, ".0", 3);
        return len + 2;
    }
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return n;
}

static void put_str(FILE *f, const char *s)
{
    putc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            putc('\\', f);
            putc(*p, f);
        } else if (*p < 0x20) {
            fprintf(f, "\\u%04x", *p);
        } else {
            putc(*p, f);
        }
    }
    putc('"', f);
}

static void put_num(FILE *f, double v)
{
    char b[32];
    int n = via_fmt_double(b, v);
    fwrite(b, 1, (size_t)n, f);
}

static void put_images(FILE *f, const via_doc *d)
{
    fputs("\"images\": [", f);
    for (size_t i = 0; i < d->nimg; i++) {
        fprintf(f, "%s\n{\"id\": %llu, \"file_name\": ", i ? "," : "",
                (unsigned long long)(d->start_id + i));
        put_str(f, d->img[i].file_name);
        fprintf(f, ", \"width\": %u, \"height\": %u}", d->img[i].width, d->img[i].height);
    }
    fputs(d->nimg ? "\n],\n" : "],\n", f);
}

static void put_ann(FILE *f, const via_doc *d, size_t i)
{
    const via_ann *a = &d->ann[i];
    fprintf(f, "{\"id\": %llu, \"image_id\": %llu, \"category_id\": %lld, \"segmentation\": [[",
            (unsigned long long)(d->start_id + i), (unsigned long long)(d->start_id + a->image),
            (long long)d->cats.v[a->cat].id);
    const double *xy = d->pts + 2 * a->off;
    for (size_t k = 0; k < 2 * a->n; k++) {
        if (k)
            putc(',', f);
        put_num(f, xy[k]);
    }
    fputs("]], \"area\": ", f);
    put_num(f, a->area);
    fputs(", \"bbox\": [", f);
    for (int k = 0; k < 4; k++) {
        if (k)
            putc(',', f);
        put_num(f, a->bbox[k]);
    }
    fputs("], \"iscrowd\": 0}", f);
}

void via_write_coco(FILE *f, const via_doc *d)
{
    fputs("{\"info\": {\"description\": \"COCO instances converted from VIA by quern-via2coco\", "
          "\"version\": \"" QUERN_VERSION "\"},\n\"licenses\": [],\n", f);
    put_images(f, d);
    fputs("\"annotations\": [", f);
    for (size_t i = 0; i < d->nann; i++) {
        fputs(i ? ",\n" : "\n", f);
        put_ann(f, d, i);
    }
    fputs(d->nann ? "\n],\n" : "],\n", f);
    fputs("\"categories\": [", f);
    for (size_t i = 0; i < d->cats.n; i++) {
        const via_cat *c = &d->cats.v[d->cats.order[i]];
        fprintf(f, "%s\n{\"id\": %lld, \"name\": ", i ? "," : "", (long long)c->id);
        put_str(f, c->name);
        fputs(", \"supercategory\": ", f);
        put_str(f, c->super);
        putc('}', f);
    }
    fputs(d->cats.n ? "\n]}\n" : "]}\n", f);
}
