/* cap_csv.c — CSV captions and metadata: MIL-NCE per-video `start,end,text` files and
 * HowTo100M_v1.csv rows. RFC 4180 records: quoted fields may hold commas, "" and newlines;
 * records end at LF, CRLF or CR. Columns are found by header name.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cap_priv.h"

#define MAX_FIELDS 32

typedef struct csv {
    const char *s;
    size_t len, pos;
    uint64_t line;   /* line where the current record starts */
    uint64_t next_line;
    char *scratch;   /* unquoted fields, NUL-terminated; as large as the input + fields */
    size_t cap;
} csv;

typedef struct field {
    const char *p;
    size_t n;
} field;

/* Reads one record; returns the number of fields (0 at the end of input), -1 on ENOMEM. */
static int record(csv *c, field *f)
{
    if (c->pos >= c->len)
        return 0;
    size_t need = (c->len - c->pos) + MAX_FIELDS + 1;
    if (need > c->cap) {
        char *p = realloc(c->scratch, need);
        if (!p)
            return -1;
        c->scratch = p;
        c->cap = need;
    }
    c->line = c->next_line;
    char *o = c->scratch;
    size_t nf = 0, n = 0;
    const char *s = c->s;
    size_t i = c->pos;
    for (;;) {
        size_t a = n;
        if (i < c->len && s[i] == '"') {
            i++;
            while (i < c->len) {
                if (s[i] == '"') {
                    if (i + 1 < c->len && s[i + 1] == '"') {
                        o[n++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (s[i] == '\n')
                    c->next_line++;
                o[n++] = s[i++];
            }
        }
        /* Unquoted part (or junk after a closing quote, kept as text). */
        while (i < c->len && s[i] != ',' && s[i] != '\n' && s[i] != '\r')
            o[n++] = s[i++];
        if (nf < MAX_FIELDS)
            f[nf] = (field){o + a, n - a};
        nf++;
        o[n++] = 0;
        if (i < c->len && s[i] == ',') {
            i++;
            continue;
        }
        break;
    }
    if (i < c->len && s[i] == '\r')
        i++;
    if (i < c->len && s[i] == '\n')
        i++;
    c->next_line++;
    c->pos = i;
    return nf > MAX_FIELDS ? MAX_FIELDS : (int)nf;
}

static int col(const field *f, int nf, const char *name)
{
    for (int k = 0; k < nf; k++) {
        size_t a = 0, b = f[k].n;
        while (a < b && f[k].p[a] == ' ')
            a++;
        while (b > a && f[k].p[b - 1] == ' ')
            b--;
        if (b - a == strlen(name) && memcmp(f[k].p + a, name, b - a) == 0)
            return k;
    }
    return -1;
}

static int number(const field *f, double *v)
{
    char *e;
    if (f->n == 0)
        return -1;
    *v = strtod(f->p, &e);
    while (*e == ' ')
        e++;
    return *e || !isfinite(*v) ? -1 : 0; /* "inf", "nan", 1e999 are not times */
}

static void csv_init(csv *c, const char *s, size_t len)
{
    memset(c, 0, sizeof *c);
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3, len -= 3;
    c->s = s;
    c->len = len;
    c->next_line = 1;
}

int cap_parse_csv(cap_track *t, const char *name, const char *s, size_t len, qn_error *err)
{
    csv c;
    csv_init(&c, s, len);
    field f[MAX_FIELDS];
    int nf = record(&c, f), rc = QN_OK;
    if (nf <= 0) /* an empty file: no cues */
        return nf < 0 ? QN_ENOMEM : QN_OK;
    size_t added = 0, bad = 0;
    int cs = col(f, nf, "start"), ce = col(f, nf, "end"), ct = col(f, nf, "text");
    int header = cs >= 0 || ce >= 0 || ct >= 0;
    if (header && (cs < 0 || ce < 0 || ct < 0)) {
        free(c.scratch);
        return qn_error_set(err, QN_EINPUT, "%s:1: CSV header lacks %s", name,
                            cs < 0 ? "start" : ce < 0 ? "end" : "text");
    }
    if (!header)
        cs = 0, ce = 1, ct = 2;
    for (int first = !header; rc == QN_OK; first = 0) {
        if (!first && (nf = record(&c, f)) <= 0) {
            rc = nf < 0 ? QN_ENOMEM : QN_OK;
            break;
        }
        if (nf == 1 && f[0].n == 0)
            continue; /* empty line */
        double st, en;
        if (nf <= cs || nf <= ce || nf <= ct || number(&f[cs], &st) || number(&f[ce], &en)) {
            cap_track_warn(t, "%s:%llu: row without numeric start,end,text skipped", name,
                           (unsigned long long)c.line);
            t->stats.skipped_bad++;
            bad++;
            continue;
        }
        rc = cap_track_add(t, st, en, f[ct].p, f[ct].n, CAP_SRC_PLAIN, (uint32_t)c.line);
        added++;
    }
    free(c.scratch);
    if (rc == QN_OK && added == 0 && bad > 0)
        return qn_error_set(err, QN_EINPUT, "%s: not a CSV caption file (no row with numeric "
                            "start,end,text)", name);
    return rc;
}

static int64_t int_field(const field *f, int k, int nf)
{
    if (k < 0 || k >= nf || f[k].n == 0)
        return -1;
    char *e;
    long long v = strtoll(f[k].p, &e, 10);
    return *e || v < 0 ? -1 : (int64_t)v;
}

int cap_meta_csv_parse(const char *name, const char *buf, size_t len, cap_meta_cb cb, void *ud,
                       uint64_t *n_skipped, qn_error *err)
{
    csv c;
    csv_init(&c, buf, len);
    field f[MAX_FIELDS];
    uint64_t skipped = 0;
    int nf = record(&c, f), rc = QN_OK;
    if (nf < 0)
        return QN_ENOMEM;
    int kv = col(f, nf, "video_id"), k1 = col(f, nf, "category_1"), k2 = col(f, nf, "category_2"),
        kr = col(f, nf, "rank"), kt = col(f, nf, "task_id");
    if (kv < 0) {
        free(c.scratch);
        return qn_error_set(err, QN_EINPUT, "%s:1: header lacks video_id", name);
    }
    while (rc == QN_OK && (nf = record(&c, f)) > 0) {
        if (nf == 1 && f[0].n == 0)
            continue;
        if (kv >= nf || f[kv].n == 0) {
            skipped++;
            continue;
        }
        cap_meta_row row = {
            .video_id = f[kv].p,
            .category_1 = k1 >= 0 && k1 < nf ? f[k1].p : "",
            .category_2 = k2 >= 0 && k2 < nf ? f[k2].p : "",
            .rank = int_field(f, kr, nf),
            .task_id = int_field(f, kt, nf),
            .line = c.line,
        };
        rc = cb(ud, &row, err);
    }
    if (nf < 0)
        rc = QN_ENOMEM;
    free(c.scratch);
    if (n_skipped)
        *n_skipped = skipped;
    return rc;
}
